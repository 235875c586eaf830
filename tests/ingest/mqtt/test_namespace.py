"""Topics of the unified namespace resolve to equipment and signals through the catalogue."""

from __future__ import annotations

import pytest

from kiln.domain.catalog import AssetCatalog
from kiln.ingest.mqtt.namespace import Namespace, Refused, Route
from kiln.store.duckdb import DuckDBStore
from tests.conftest import small_city
from tests.ingest.mqtt.conftest import PRESS


@pytest.fixture(scope="module")
def catalog() -> AssetCatalog:
    store = DuckDBStore(":memory:")
    cat = store.import_assets(small_city())
    store.close()
    return cat


def route(topic: str, catalog: AssetCatalog, root: str = "fs/v1") -> Route:
    r = Namespace(root).route(topic, catalog)
    assert isinstance(r, Route), r
    return r


def refusal(topic: str, catalog: AssetCatalog, root: str = "fs/v1") -> Refused:
    r = Namespace(root).route(topic, catalog)
    assert isinstance(r, Refused), r
    return r


def test_a_signal_topic_names_its_series(catalog: AssetCatalog) -> None:
    r = route(f"{PRESS}/telemetry/tonnage", catalog)
    press = catalog.equipment_id("acme-auto", "press-1")
    assert (r.kind, r.equipment_id, r.series_id) == (
        "telemetry",
        press,
        catalog.series_id(press, "tonnage"),  # type: ignore[arg-type]
    )
    assert r.enterprise_id == catalog.enterprise_by_slug["acme-auto"]


def test_the_levels_between_enterprise_and_equipment_are_informational(
    catalog: AssetCatalog,
) -> None:
    full = route(f"{PRESS}/telemetry/tonnage", catalog)
    without_area = route(
        "fs/v1/acme-auto/nanhai-1/tandem-a/op10/press-1/telemetry/tonnage", catalog
    )
    other_names = route("fs/v1/acme-auto/x/y/z/w/press-1/telemetry/tonnage", catalog)
    assert full == without_area == other_names
    too_deep = refusal("fs/v1/acme-auto/a/b/c/d/e/press-1/telemetry/tonnage", catalog)
    assert "5 levels between enterprise and equipment" in too_deep.reason


def test_classes_without_a_signal_and_the_batch_topic(catalog: AssetCatalog) -> None:
    assert route(f"{PRESS}/telemetry", catalog).series_id == -1
    assert route(f"{PRESS}/state", catalog).kind == "state"
    assert route(f"{PRESS}/state/current", catalog).kind == "state"
    assert route(f"{PRESS}/state/online", catalog).kind == "online"
    assert route(f"{PRESS}/count", catalog).kind == "count"
    assert route(f"{PRESS}/count/good", catalog).kind == "count"
    assert route(f"{PRESS}/alarm/overload", catalog).kind == "skip"
    assert route(f"{PRESS}/kpi/oee", catalog).kind == "skip"
    assert route("fs/v1/acme-auto/_batch", catalog).kind == "batch"


def test_unknown_names_are_refused_with_the_enterprise_when_known(catalog: AssetCatalog) -> None:
    acme = catalog.enterprise_by_slug["acme-auto"]
    assert refusal("fs/v1/nobody/s/a/l/st/press-1/telemetry/tonnage", catalog) == Refused(
        "unknown enterprise 'nobody'"
    )
    assert refusal("fs/v1/acme-auto/s/a/l/st/press-9/telemetry/tonnage", catalog) == Refused(
        "unknown equipment 'press-9' of 'acme-auto'", acme
    )
    assert refusal(f"{PRESS}/telemetry/torque", catalog) == Refused(
        "unknown signal 'torque' of 'press-1'", acme
    )
    # Equipment slugs are per enterprise: the kiln is Huamei's, not Acme's.
    assert (
        "unknown equipment 'kiln-1'"
        in refusal(
            "fs/v1/acme-auto/plant/default/kiln-1/firing/kiln-1/telemetry/zone_temp", catalog
        ).reason
    )


def test_topics_outside_the_namespace_are_refused(catalog: AssetCatalog) -> None:
    assert "start with 'fs/v1/'" in refusal("plant/press-1/tonnage", catalog).reason
    assert "start with 'fs/v1/'" in refusal("fs/v2/acme-auto/_batch", catalog).reason
    no_class = refusal("fs/v1/acme-auto/nanhai-1/press-1/tonnage", catalog)
    assert "class one of telemetry, state, count, alarm, kpi" in no_class.reason
    assert no_class.enterprise_id == catalog.enterprise_by_slug["acme-auto"]


def test_the_root_comes_from_the_settings(catalog: AssetCatalog) -> None:
    topic = "plants/foshan/acme-auto/nanhai-1/x/tandem-a/op10/press-1/telemetry/tonnage"
    assert route(topic, catalog, root="plants/foshan/").kind == "telemetry"
    assert isinstance(Namespace("plants/foshan").route(f"{PRESS}/state", catalog), Refused)


def test_a_new_catalogue_is_seen_at_once(catalog: AssetCatalog) -> None:
    ns = Namespace()
    topic = "fs/v1/acme-auto/nanhai-1/x/tandem-a/op10/press-7/state"
    assert isinstance(ns.route(topic, catalog), Refused)
    doc = small_city()
    doc["enterprises"][0]["sites"][0]["lines"][0]["stations"][0]["equipment"].append(
        {"slug": "press-7", "template": "press"}
    )
    store = DuckDBStore(":memory:")
    bigger = store.import_assets(doc)
    store.close()
    assert isinstance(ns.route(topic, bigger), Route)
