"""Auto-registration: choosing a template from a BIRTH, and the document that adds equipment."""

from __future__ import annotations

import pytest

from kiln.domain.catalog import AssetCatalog
from kiln.ingest.sparkplug.datatypes import DataType as T
from kiln.ingest.sparkplug.registration import choose_template, registration_doc
from kiln.store.duckdb import DuckDBStore
from tests.conftest import small_city
from tests.ingest.sparkplug.test_mapping import birth


@pytest.fixture(scope="module")
def catalog() -> AssetCatalog:
    store = DuckDBStore(":memory:")
    cat = store.import_assets(small_city())
    store.close()
    return cat


def test_the_template_is_named_by_the_birth_or_found_by_its_signals() -> None:
    named = birth([("meta/template", T.STRING), ("x", T.DOUBLE)], {"meta/template": "roller_kiln"})
    assert choose_template(named.table, named.columns) == ("roller_kiln", "")
    bad = birth([("meta/template", T.STRING)], {"meta/template": "toaster"})
    assert choose_template(bad.table, bad.columns) == (
        None,
        "meta/template 'toaster' is not a known template",
    )
    press = birth([("telemetry/tonnage", T.DOUBLE), ("lube_temp", T.DOUBLE)])
    assert choose_template(press.table, press.columns) == ("press", "")
    nothing = birth([("telemetry/flux", T.DOUBLE)])
    assert choose_template(nothing.table, nothing.columns)[0] is None


def test_a_registration_document_adds_equipment_and_keeps_existing_rows() -> None:
    store = DuckDBStore(":memory:")
    try:
        cat = store.import_assets(small_city())
        doc, why = registration_doc(
            cat, "acme-auto", "acme-auto.nanhai-1.press-shop", "tandem-a", "press-9", "press"
        )
        assert doc is not None
        assert why == ""
        new = store.import_assets(doc)
        eq = new.equipment_id("acme-auto", "press-9")
        assert eq is not None
        assert new.series_id(eq, "tonnage") is not None
        site = next(s for s in new.sites.values() if s.slug == "nanhai-1")
        assert site.name == "Nanhai plant 1"  # the existing site kept its name
        line = next(x for x in new.lines.values() if x.slug == "tandem-a")
        assert (line.name, line.area) == ("Tandem line A", "press-shop")
        assert new.enterprises[new.enterprise_by_slug["acme-auto"]].name_zh == "艾克米汽配"
        assert len(new.equipment) == len(cat.equipment) + 1
        # A group without site and area parts lands in a site named "sparkplug".
        doc, _ = registration_doc(new, "acme-auto", "acme-auto", "cell-7", "robot-9", "press")
        assert doc is not None
        assert doc["enterprises"][0]["sites"][0]["slug"] == "sparkplug"
    finally:
        store.close()


def test_a_registration_needs_a_known_enterprise_and_slugs(catalog: AssetCatalog) -> None:
    assert registration_doc(catalog, "nobody", "nobody", "n", "d", "press")[0] is None
    doc, why = registration_doc(catalog, "acme-auto", "acme-auto", "Line 1", "d", "press")
    assert doc is None
    assert "edge node id 'Line 1' is not a slug" in why
