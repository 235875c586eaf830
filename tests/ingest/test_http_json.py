"""Decoding Kiln's JSON batch: good batches become columns, every bad item is named."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.ingest.base import EARLIEST_MS
from kiln.ingest.http_json import decode
from kiln.store.duckdb import DuckDBStore
from tests.conftest import NOW_MS, small_city


@pytest.fixture(scope="module")
def catalog() -> AssetCatalog:
    store = DuckDBStore(":memory:")
    cat = store.import_assets(small_city())
    store.close()
    return cat


def batch(**sections: Any) -> dict[str, Any]:
    return {"enterprise": "acme-auto", **sections}


def reasons(doc: Any, catalog: AssetCatalog) -> list[tuple[str, int, str, str]]:
    return [
        (r.section, r.index, r.field, r.reason) for r in decode(doc, catalog, now_ms=NOW_MS).rejects
    ]


def test_a_good_batch_becomes_columns(catalog: AssetCatalog) -> None:
    t = NOW_MS - 10_000
    out = decode(
        batch(
            points=[
                {"equipment": "press-1", "signal": "tonnage", "ts": [t, t + 1000], "v": [1, 2.5]},
                {"equipment": "press-1", "signal": "lube_temp", "ts": t, "v": 41.2},
            ],
            states=[{"equipment": "press-1", "ts": t, "state": "IDLE", "reason": "starved"}],
            counts=[{"equipment": "press-1", "ts": t, "good": 12, "scrap": 1}],
        ),
        catalog,
        now_ms=NOW_MS,
    )
    assert out.rejects == []
    press = catalog.equipment_id("acme-auto", "press-1")
    assert press is not None
    tonnage, lube = catalog.series_id(press, "tonnage"), catalog.series_id(press, "lube_temp")
    assert out.bundle.points.series.tolist() == [tonnage, tonnage, lube]
    assert out.bundle.points.ts_ms.tolist() == [t, t + 1000, t]
    assert out.bundle.points.value.tolist() == [1.0, 2.5, 41.2]
    assert out.bundle.states.state.tolist() == [EquipmentState.IDLE]
    assert out.bundle.states.reasons() == ["starved"]
    assert out.bundle.counts.good.tolist() == [12]


@pytest.mark.parametrize(
    ("item", "field", "reason"),
    [
        (
            {"equipment": "press-9", "signal": "tonnage", "ts": 0, "v": 1},
            "equipment",
            "unknown equipment 'press-9'",
        ),
        (
            {"equipment": "press-1", "signal": "colour", "ts": 0, "v": 1},
            "signal",
            "unknown signal 'colour'",
        ),
        (
            {"equipment": "press-1", "signal": "tonnage", "ts": "now", "v": 1},
            "ts",
            "not an integer",
        ),
        ({"equipment": "press-1", "signal": "tonnage", "ts": 0, "v": "hot"}, "v", "not a number"),
        ({"equipment": "press-1", "signal": "tonnage", "ts": 0, "v": None}, "v", "not a number"),
        (
            {"equipment": "press-1", "signal": "tonnage", "ts": 2**70, "v": 1},
            "ts",
            "out of range",
        ),
        (
            {"equipment": "press-1", "signal": "tonnage", "ts": [0, 2**70], "v": [1, 2]},
            "ts",
            "must be an integer",
        ),
        (
            {"equipment": "press-1", "signal": "tonnage", "ts": [0, 1], "v": [1, "hot"]},
            "v",
            "must be a number",
        ),
        (
            {"equipment": "press-1", "signal": "tonnage", "ts": [0, 1], "v": [1]},
            "ts",
            "equal length",
        ),
        (
            {"equipment": "press-1", "signal": "tonnage", "ts": 0, "v": float("nan")},
            "v",
            "not finite",
        ),
        (
            {"equipment": "press-1", "signal": "tonnage", "ts": 0, "v": float("inf")},
            "v",
            "not finite",
        ),
        (
            {"equipment": "press-1", "signal": "tonnage", "ts": EARLIEST_MS - 1, "v": 1},
            "ts",
            "before 2000",
        ),
        (
            {"equipment": "press-1", "signal": "tonnage", "ts": NOW_MS + 600_001, "v": 1},
            "ts",
            "10 minutes ahead",
        ),
        ({"signal": "tonnage", "ts": 0, "v": 1}, "equipment", "missing"),
    ],
)
def test_a_bad_point_is_named_by_index_field_and_reason(
    catalog: AssetCatalog, item: dict[str, Any], field: str, reason: str
) -> None:
    good = {"equipment": "press-1", "signal": "tonnage", "ts": NOW_MS - 1000, "v": 1}
    if item.get("ts") == 0:
        item = {**item, "ts": NOW_MS - 1000}
    got = reasons(batch(points=[good, item]), catalog)
    assert len(got) == 1
    section, index, f, why = got[0]
    assert (section, index, f) == ("points", 1, field)
    assert reason in why


def test_a_bad_value_inside_a_list_names_its_item(catalog: AssetCatalog) -> None:
    t = NOW_MS - 5000
    doc = batch(
        points=[
            {"equipment": "press-1", "signal": "tonnage", "ts": [t, t + 1], "v": [1, 2]},
            {
                "equipment": "press-1",
                "signal": "lube_temp",
                "ts": [t, t + 1],
                "v": [1, float("nan")],
            },
        ]
    )
    assert reasons(doc, catalog) == [("points", 1, "v", "value nan is not finite")]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"equipment": "press-1", "ts": NOW_MS, "state": "dancing"}, "state"),
        ({"equipment": "press-1", "ts": NOW_MS}, "state"),
        ({"equipment": "press-1", "ts": NOW_MS, "state": "idle", "reason": 3}, "reason"),
        ({"equipment": "nope", "ts": NOW_MS, "state": "idle"}, "equipment"),
    ],
)
def test_bad_states_are_named(catalog: AssetCatalog, item: dict[str, Any], field: str) -> None:
    got = reasons(batch(states=[item]), catalog)
    assert [(s, i, f) for s, i, f, _ in got] == [("states", 0, field)]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"equipment": "press-1", "ts": NOW_MS, "good": -1}, "good"),
        ({"equipment": "press-1", "ts": NOW_MS, "good": 1, "scrap": 0.5}, "scrap"),
        ({"equipment": "press-1", "good": 1}, "ts"),
    ],
)
def test_bad_counts_are_named(catalog: AssetCatalog, item: dict[str, Any], field: str) -> None:
    got = reasons(batch(counts=[item]), catalog)
    assert [(s, i, f) for s, i, f, _ in got] == [("counts", 0, field)]


@pytest.mark.parametrize(
    ("doc", "field", "reason"),
    [
        ([1, 2], "", "JSON object"),
        ({"points": []}, "enterprise", "missing"),
        ({"enterprise": "nobody"}, "enterprise", "unknown enterprise"),
        ({"enterprise": "acme-auto"}, "", "no points"),
        ({"enterprise": "acme-auto", "pionts": []}, "pionts", "unknown field"),
        ({"enterprise": "acme-auto", "points": {}}, "", "must be a list"),
        ({"enterprise": "acme-auto", "batch_id": 5, "points": []}, "batch_id", "string"),
    ],
)
def test_bad_envelopes_are_named(catalog: AssetCatalog, doc: Any, field: str, reason: str) -> None:
    got = reasons(doc, catalog)
    assert got[0][2] == field
    assert reason in got[0][3]


def test_a_batch_with_one_bad_item_keeps_nothing(catalog: AssetCatalog) -> None:
    t = NOW_MS - 1000
    out = decode(
        batch(
            points=[
                {"equipment": "press-1", "signal": "tonnage", "ts": t, "v": 1},
                {"equipment": "press-1", "signal": "tonnage", "ts": t, "v": None},
            ]
        ),
        catalog,
        now_ms=NOW_MS,
    )
    assert len(out.rejects) == 1
    assert len(out.bundle) == 0


def test_the_caller_enterprise_cannot_be_overridden_by_the_body(catalog: AssetCatalog) -> None:
    doc = {"enterprise": "huamei-ceramics", "points": []}
    out = decode(doc, catalog, now_ms=NOW_MS, enterprise="acme-auto")
    assert out.rejects[0].field == "enterprise"


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(
        st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=50
    )
)
def test_every_finite_value_round_trips(values: list[float]) -> None:
    store = DuckDBStore(":memory:")
    cat = store.import_assets(small_city())
    store.close()
    ts = list(range(NOW_MS - len(values), NOW_MS))
    out = decode(
        batch(points=[{"equipment": "press-1", "signal": "tonnage", "ts": ts, "v": values}]),
        cat,
        now_ms=NOW_MS,
    )
    assert out.rejects == []
    np.testing.assert_array_equal(out.bundle.points.value, np.array(values))


def test_booleans_are_stored_as_one_and_zero_as_on_every_other_path(
    catalog: AssetCatalog,
) -> None:
    t = NOW_MS - 10_000
    out = decode(
        batch(
            points=[
                {"equipment": "press-1", "signal": "tonnage", "ts": [t, t + 1], "v": [True, 0]},
                {"equipment": "press-1", "signal": "lube_temp", "ts": t, "v": False},
            ]
        ),
        catalog,
        now_ms=NOW_MS,
    )
    assert out.rejects == []
    assert out.bundle.points.value.tolist() == [1.0, 0.0, 0.0]


def test_a_refused_list_leaves_nothing_behind_for_the_next_items(catalog: AssetCatalog) -> None:
    t = NOW_MS - 10_000
    out = decode(
        batch(
            points=[
                {"equipment": "press-1", "signal": "tonnage", "ts": [t, t + 1], "v": [1, "x"]},
                {"equipment": "press-1", "signal": "lube_temp", "ts": [t + 2], "v": [7]},
            ]
        ),
        catalog,
        now_ms=NOW_MS,
    )
    # A value left over from the refused item would misalign the columns (ValueError) or
    # shift the next item's timestamps into a bogus reject.
    assert [r.where() for r in out.rejects] == ["points[0].v"]


def test_counts_carry_rework_and_refuse_a_negative_one(catalog: AssetCatalog) -> None:
    t = NOW_MS - 10_000
    good = decode(
        batch(counts=[{"equipment": "press-1", "ts": t, "good": 9, "scrap": 1, "rework": 2}]),
        catalog,
        now_ms=NOW_MS,
    )
    assert good.rejects == []
    c = good.bundle.counts
    assert (c.good.tolist(), c.scrap.tolist(), c.rework.tolist()) == ([9], [1], [2])
    bad = decode(
        batch(counts=[{"equipment": "press-1", "ts": t, "good": 9, "rework": -1}]),
        catalog,
        now_ms=NOW_MS,
    )
    assert [r.where() for r in bad.rejects] == ["counts[0].rework"]
