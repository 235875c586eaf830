"""Mapping Sparkplug names onto the small city's assets, and DATA columns into bundles."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.ingest.sparkplug.codec import Birth, Metric, decode_birth, encode
from kiln.ingest.sparkplug.columns import DataPayload, decode_group
from kiln.ingest.sparkplug.datatypes import DataType as T
from kiln.ingest.sparkplug.mapping import (
    enterprise_slug,
    plan_scope,
    to_bundle,
)
from kiln.store.duckdb import DuckDBStore
from tests.conftest import NOW_MS, small_city

PRESS_BIRTH = [
    ("telemetry/tonnage", T.DOUBLE),
    ("lube_temp", T.FLOAT),
    ("telemetry/firmware", T.STRING),
    ("telemetry/no_such_signal", T.DOUBLE),
    ("state/current", T.STRING),
    ("state/reason", T.STRING),
    ("count/good", T.UINT32),
    ("count/scrap", T.UINT32),
    ("alarm/overload", T.BOOLEAN),
    ("Device Control/Reset", T.BOOLEAN),
]


@pytest.fixture(scope="module")
def catalog() -> AssetCatalog:
    store = DuckDBStore(":memory:")
    cat = store.import_assets(small_city())
    store.close()
    return cat


def birth(specs: list[tuple[str, int]], values: dict[str, object] | None = None) -> Birth:
    values = values or {}
    metrics = [
        Metric(name, k + 1, dt, values.get(name), NOW_MS) for k, (name, dt) in enumerate(specs)
    ]
    return decode_birth(encode(metrics, seq=1, ts_ms=NOW_MS))


def data(b: Birth, rows: list[tuple[str, object, int]]) -> DataPayload:
    alias = {name: k + 1 for k, name in enumerate(b.table.names)}
    dt = dict(zip(b.table.names, b.table.datatype.tolist(), strict=True))
    metrics = [Metric(None, alias[n], dt[n], v, ts, send_datatype=False) for n, v, ts in rows]
    return DataPayload(encode(metrics, seq=2, ts_ms=NOW_MS))


def test_the_group_names_the_enterprise_unless_configured() -> None:
    assert enterprise_slug("acme-auto.nanhai-1.press-shop", {}) == "acme-auto"
    assert enterprise_slug("line7", {"line7": "huamei-ceramics"}) == "huamei-ceramics"


def test_a_birth_resolves_signals_states_and_counts_and_names_the_rest(
    catalog: AssetCatalog,
) -> None:
    plan = plan_scope(catalog, "acme-auto", "press-1", birth(PRESS_BIRTH).table)
    eq = catalog.equipment_id("acme-auto", "press-1")
    assert eq is not None
    assert plan.equipment_id == eq
    assert plan.series[:2].tolist() == [
        catalog.series_id(eq, "tonnage"),
        catalog.series_id(eq, "lube_temp"),
    ]
    assert plan.target.tolist() == [1, 1, 0, 0, 2, 3, 4, 5, 0, 0]
    assert plan.unmapped == {
        "telemetry/firmware": "only numeric types are stored as telemetry (String)",
        "telemetry/no_such_signal": "unknown signal 'no_such_signal' of 'press-1'",
        "alarm/overload": "no mapping for metric class 'alarm' (Boolean)",
    }


def test_unknown_equipment_or_enterprise_maps_nothing_and_says_so(catalog: AssetCatalog) -> None:
    table = birth(PRESS_BIRTH[:2]).table
    plan = plan_scope(catalog, "acme-auto", "press-9", table)
    assert plan.equipment_id is None
    assert not plan.stores_anything
    assert plan.unmapped["telemetry/tonnage"] == "unknown equipment 'press-9' of 'acme-auto'"
    plan = plan_scope(catalog, "nobody", "press-1", table)
    assert plan.unmapped["lube_temp"] == "unknown enterprise 'nobody'"


def test_data_becomes_points_states_and_counts(catalog: AssetCatalog) -> None:
    b = birth(PRESS_BIRTH)
    plan = plan_scope(catalog, "acme-auto", "press-1", b.table)
    t = NOW_MS - 5_000
    cols = data(
        b,
        [
            ("telemetry/tonnage", 7_100.0, t),
            ("lube_temp", 41.5, t),
            ("telemetry/tonnage", 7_200.0, t + 1_000),
            ("telemetry/no_such_signal", 1.0, t),
            ("state/current", "idle", t + 2_000),
            ("state/reason", "starved", t + 2_000),
            ("count/good", 12, t + 3_000),
            ("count/scrap", 1, t + 3_000),
            ("count/good", 4, t + 4_000),
        ],
    ).columns(b.table)
    bundle, problems = to_bundle(plan, cols, now_ms=NOW_MS)
    assert problems == {}
    p = bundle.points
    assert p.value.tolist() == [7_100.0, 41.5, 7_200.0]
    assert p.ts_ms.tolist() == [t, t, t + 1_000]
    assert p.series.tolist() == plan.series[[0, 1, 0]].tolist()
    s = bundle.states
    assert s.state.tolist() == [EquipmentState.IDLE]
    assert s.reasons() == ["starved"]
    assert s.ts_ms.tolist() == [t + 2_000]
    assert s.equipment.tolist() == [plan.equipment_id]
    c = bundle.counts
    assert c.ts_ms.tolist() == [t + 3_000, t + 4_000]
    assert c.good.tolist() == [12, 4]
    assert c.scrap.tolist() == [1, 0]


def test_bad_timestamps_values_and_state_names_are_refused_and_the_rest_kept(
    catalog: AssetCatalog,
) -> None:
    b = birth(PRESS_BIRTH)
    plan = plan_scope(catalog, "acme-auto", "press-1", b.table)
    cols = data(
        b,
        [
            ("telemetry/tonnage", 1.0, 946_684_799_999),  # 1999
            ("telemetry/tonnage", 2.0, NOW_MS + 600_001),  # more than 10 minutes ahead
            ("telemetry/tonnage", float("nan"), NOW_MS),
            ("lube_temp", 40.0, NOW_MS + 600_000),  # just inside
            ("state/current", "exploded", NOW_MS),
        ],
    ).columns(b.table)
    bundle, problems = to_bundle(plan, cols, now_ms=NOW_MS)
    assert bundle.points.value.tolist() == [40.0]
    assert len(bundle.states) == 0
    said = problems[0]
    assert said[0] == (
        "metric 'telemetry/tonnage': timestamp 946684799999 is before 2000-01-01 (and 1 more)"
    )
    assert said[1] == "metric 'telemetry/tonnage': value nan is not finite"
    assert said[2].startswith("metric 'state/current': unknown state 'exploded'")
    assert list(problems) == [0]


def test_problems_are_named_per_message_of_a_group(catalog: AssetCatalog) -> None:
    b = birth(PRESS_BIRTH)
    plan = plan_scope(catalog, "acme-auto", "press-1", b.table)
    good = data(b, [("telemetry/tonnage", 1.0, NOW_MS), ("state/current", "idle", NOW_MS)])
    late = data(b, [("telemetry/tonnage", 2.0, 5), ("lube_temp", 3.0, 6)])
    odd = data(b, [("state/current", "idle", NOW_MS), ("state/reason", "starved", NOW_MS)])
    group = decode_group([good, late, good, odd], b.table)
    assert group.message.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert group.errors == {}
    bundle, problems = to_bundle(plan, group.columns, now_ms=NOW_MS, message=group.message)
    assert problems == {
        1: ["metric 'telemetry/tonnage': timestamp 5 is before 2000-01-01 (and 1 more)"]
    }
    assert bundle.points.value.tolist() == [1.0, 1.0]
    assert bundle.states.reasons() == [None, None, "starved"]  # a reason is its message's own


def test_one_faulty_payload_does_not_hold_back_its_group() -> None:
    b = birth(PRESS_BIRTH)
    good = data(b, [("telemetry/tonnage", 1.0, NOW_MS)])
    stray = DataPayload(
        encode([Metric(None, 99, T.DOUBLE, 1.0, NOW_MS, send_datatype=False)], seq=2, ts_ms=NOW_MS)
    )
    group = decode_group([good, stray, good], b.table)
    assert list(group.errors) == [1]
    assert str(group.errors[1]) == "unknown alias 99"
    assert group.message.tolist() == [0, 2]
    assert group.columns.value.tolist() == [1.0, 1.0]


def test_nulls_are_skipped_not_stored_as_zero(catalog: AssetCatalog) -> None:
    b = birth(PRESS_BIRTH)
    plan = plan_scope(catalog, "acme-auto", "press-1", b.table)
    cols = data(b, [("telemetry/tonnage", None, NOW_MS), ("lube_temp", 3.0, NOW_MS)])
    bundle, problems = to_bundle(plan, cols.columns(b.table), now_ms=NOW_MS)
    assert bundle.points.value.tolist() == [3.0]
    assert problems == {}


def test_a_birth_stores_values_and_states_but_not_counts(catalog: AssetCatalog) -> None:
    b = birth(
        PRESS_BIRTH,
        {"telemetry/tonnage": 7_000.0, "state/current": "running", "count/good": 5},
    )
    plan = plan_scope(catalog, "acme-auto", "press-1", b.table)
    bundle, _ = to_bundle(plan, b.columns, now_ms=NOW_MS, birth=True)
    assert bundle.points.value.tolist() == [7_000.0]
    assert bundle.states.state.tolist() == [EquipmentState.RUNNING]
    assert len(bundle.counts) == 0


def test_resolving_aliases_is_vectorised_over_the_table() -> None:
    b = birth(PRESS_BIRTH)
    aliases = np.arange(1, 11, dtype=np.uint64)
    assert b.table.resolve(aliases).tolist() == list(range(10))
