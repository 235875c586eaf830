"""The KPI service over a store: site calendars from the asset document, the `[kpi]` rules,
product runs feeding the ideal cycle, downtime by reason, and requests it refuses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.config import KpiSettings
from kiln.domain.asset_document import parse_asset_document
from kiln.domain.assets import SiteCalendar
from kiln.domain.batches import Bundle, StateBatch
from kiln.domain.product_runs import ProductChange
from kiln.domain.states import EquipmentState as S
from kiln.errors import BadInput
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService, Window
from kiln.kpi_service.periods import Period
from kiln.simulator.fleet import read_fleet
from kiln.simulator.world import build_city
from kiln.store.duckdb import DuckDBStore
from kiln.store.postgres import PostgresStore
from tests.conftest import BACKENDS, open_store
from tests.kpi_service.worked import at, press_works, worked_city, write_worked_shift
from tests.simulator.catalog_builder import catalog_of

NOW = at(23)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DuckDBStore]:
    s = open_store(request.param, request, tmp_path / "k.duckdb")
    yield s
    s.close()


def worked(store: DuckDBStore) -> int:
    return write_worked_shift(store, store.import_assets(worked_city()))


def row(store: DuckDBStore, settings: KpiSettings, press: int, **kw: Any) -> dict[str, Any]:
    req = KpiRequest(Level.EQUIPMENT, Window.SHIFT, at(7), None, energy=False, **kw)
    table = KpiService(store, settings).table(store.catalog(), [press], req, NOW)
    (found,) = table.to_pylist()
    return dict(found)


def test_a_site_keeps_its_calendar_through_the_store(store: DuckDBStore) -> None:
    cat = store.import_assets(worked_city())
    site = next(
        s for s in cat.sites.values() if cat.enterprises[s.enterprise_id].slug == "lone-tiles"
    )
    assert site.calendar == SiteCalendar("3x8", "mon-fri", "cn", "pdot")
    store.import_assets(
        {"enterprises": [{**press_works("lone-tiles"), "sites": [{"slug": "plant"}]}]}
    )
    again = store.catalog().sites[site.id]
    assert again.calendar == SiteCalendar()  # not given: planned around the clock


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("shifts", "4x6", "'4x6' is not one of 1x8, 2x12, 3x8, 24h"),
        ("workdays", "sundays", "'sundays' is not one of mon-fri, mon-sat, all"),
        ("holidays", "us", "'us' is not one of cn, none"),
        ("breaks", 30, "'breaks' must be str"),
        ("timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_a_bad_calendar_key_names_its_path(key: str, value: object, message: str) -> None:
    doc = worked_city()
    doc["enterprises"][1]["sites"][0][key] = value
    with pytest.raises(BadInput) as err:
        parse_asset_document(doc)
    assert message in err.value.what
    assert err.value.where.startswith("assets: enterprises[1].sites[0]")


def test_the_simulated_city_keeps_the_calendar_its_plants_run() -> None:
    doc = build_city(seed=7, enterprises=12)
    sites = {e["slug"]: e["sites"][0] for e in doc["enterprises"]}
    assert {s["shifts"] for s in sites.values()} == {"2x12"}
    assert {s["workdays"] for s in sites.values()} == {"all", "mon-sat"}
    for m in read_fleet(doc, catalog_of(doc), seed=7):
        if not m.template.continuous:
            expected = "mon-sat" if m.calendar.sunday_off else "all"
            assert sites[m.enterprise]["workdays"] == expected, m.enterprise


def test_a_template_mapping_books_idle_as_a_fault(store: DuckDBStore) -> None:
    press = worked(store)
    store.write(Bundle(states=StateBatch.of([press], [at(13, 30)], [S.IDLE], ["no_order"])))
    plain = row(store, KpiSettings(), press)
    mapped = row(store, KpiSettings(mapping={"press": {"idle": "adet"}}), press)
    assert (plain["adot_min"], plain["adet_min"]) == (30, 45)  # idle 13:30-14:00
    assert (mapped["adot_min"], mapped["adet_min"]) == (0, 75)


def test_the_micro_stop_threshold_comes_from_the_settings(store: DuckDBStore) -> None:
    press = worked(store)
    short = row(store, KpiSettings(micro_stop_s_by_template={"press": 1200}), press)
    assert short["adet_min"] == 0  # 15-minute faults are now minor stops, inside APT
    assert short["minor_stops_min"] == 45
    assert short["failures"] == 0


def test_a_product_run_without_a_cycle_reuses_its_last_known_one(store: DuckDBStore) -> None:
    press = worked(store)
    lid = [
        ProductChange(press, at(4), "lid", 20.0, 1, None),
        ProductChange(press, at(5), "door", None, 1, None),  # never rated: PRI unknown
        ProductChange(press, at(6), "lid", None, 1, None),  # rated before: 20 s again
    ]
    store.write_product_changes(lid[:2])
    unrated = row(store, KpiSettings(), press)
    assert unrated["oee"] is None
    assert "no ideal cycle time (PRI) for 700 of 700 units" in unrated["undefined"]
    store.write_product_changes(lid[2:])
    assert round(row(store, KpiSettings(), press)["oee"], 4) == round(20 * 665 / 27_000, 4)


def test_sites_with_other_shifts_cannot_share_a_row_above_the_site(store: DuckDBStore) -> None:
    cat = store.import_assets(worked_city())
    other = press_works("other-shifts")
    other["sites"][0]["shifts"] = "2x12"
    cat = store.import_assets({"enterprises": [other]})
    ids = sorted(cat.equipment)
    service = KpiService(store, KpiSettings())
    with pytest.raises(BadInput, match="different shifts") as err:
        service.table(cat, ids, KpiRequest(Level.CITY, Window.SHIFT, at(7)), NOW)
    assert err.value.where == "query: level"
    lines = service.table(cat, ids, KpiRequest(Level.LINE, Window.SHIFT, at(7)), NOW)
    assert set(lines.column("shift").to_pylist()) == {"early", "night"}  # 07:00 in each


def test_too_many_periods_are_refused(store: DuckDBStore) -> None:
    cat = store.import_assets(worked_city())
    service = KpiService(store, KpiSettings(max_windows=10))
    req = KpiRequest(Level.LINE, Window.DAY, at(7) - 20 * 86_400_000, at(7))
    with pytest.raises(BadInput, match="at most 10") as err:
        service.table(cat, sorted(cat.equipment), req, NOW)
    assert err.value.where == "query: end"


def test_short_stops_are_summed_as_minor_stops_in_the_pareto(store: DuckDBStore) -> None:
    press = worked(store)
    store.write(
        Bundle(
            states=StateBatch.of(
                [press, press], [at(11), at(11, 1)], [S.DOWN_FAULT, S.RUNNING], ["jam", None]
            )
        )
    )
    rows = KpiService(store, KpiSettings()).pareto(
        store.catalog(), [press], Period(at(6), at(14), "early"), NOW
    )
    minor = next(r for r in rows if r.state == "minor_stops")
    assert (minor.minutes, minor.events, minor.element) == (1.0, 1, "apt")
    assert "jam" not in {r.reason for r in rows}


@pytest.fixture(scope="module", params=BACKENDS)
def worked_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DuckDBStore]:
    if request.param == "postgres":
        s: DuckDBStore = PostgresStore(request.getfixturevalue("postgres_server").new_database())
    else:
        s = DuckDBStore(tmp_path_factory.mktemp("worked") / "k.duckdb")
    worked(s)
    yield s
    s.close()


ADDITIVE = ("pot_min", "pdot_min", "pbt_min", "apt_min", "aust_min", "adet_min", "unknown_min")


@settings(max_examples=25, deadline=None)
@given(cut_min=st.integers(1, 24 * 60 - 1))
def test_two_adjacent_windows_add_up_to_their_union(
    worked_store: DuckDBStore, cut_min: int
) -> None:
    service = KpiService(worked_store, KpiSettings())
    cat = worked_store.catalog()
    ids = sorted(cat.equipment)[:2]
    day, cut = at(0), at(0) + cut_min * 60_000

    def totals(a: int, b: int) -> list[float]:
        req = KpiRequest(Level.LINE, Window.CUSTOM, a, b, energy=False)
        (r,) = service.table(cat, ids, req, day + 2 * 86_400_000).to_pylist()
        return [r[k] for k in ADDITIVE] + [r["produced"], r["failures"]]

    halves = [x + y for x, y in zip(totals(day, cut), totals(cut, day + 86_400_000), strict=True)]
    assert halves == pytest.approx(totals(day, day + 86_400_000))
