"""What the KPI service reads from the store: sums that no cut splits, intervals from changes,
product runs; with Hypothesis for the bucket and interval invariants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.domain.batches import Bundle, CountBatch, StateBatch
from kiln.domain.product_runs import ProductChange
from kiln.domain.states import EquipmentState as S
from kiln.kpi_service.inputs import intervals
from kiln.store.duckdb import DuckDBStore
from kiln.store.duckdb_kpi import HOUR_MS, buckets
from tests.conftest import BACKENDS, open_store, small_city

MINUTE_MS = 60_000
T0 = 1_704_384_000_000  # 2024-01-05 00:00 in Foshan


@given(
    span_h=st.integers(1, 24 * 40),
    cuts=st.lists(st.integers(0, 24 * 40 * HOUR_MS), max_size=12),
    origin=st.integers(0, HOUR_MS * 10),
)
def test_no_bucket_straddles_a_cut_unless_read_raw(
    span_h: int, cuts: list[int], origin: int
) -> None:
    start, end = origin, origin + span_h * HOUR_MS
    width, split = buckets([origin + c for c in cuts], start, end)
    assert width >= HOUR_MS
    for c in cuts:
        d = c
        if 0 < d < end - start:
            assert d % width == 0 or d // width in split
    assert len(split) <= len(cuts)


@settings(max_examples=50)
@given(
    rows=st.lists(
        st.tuples(st.integers(1, 3), st.integers(0, 10_000), st.integers(0, 6)), max_size=40
    ),
    lo=st.integers(-1_000, 5_000),
    length=st.integers(1, 10_000),
)
def test_intervals_from_changes_tile_the_range_from_the_first_change(
    rows: list[tuple[int, int, int]], lo: int, length: int
) -> None:
    seen = {(e, t) for e, t, _ in rows}  # the store keeps one change per (equipment, time)
    rows = [r for r in rows if (r[0], r[1]) in seen and seen.discard((r[0], r[1])) is None]
    changes = pa.table(
        {
            "equipment": pa.array([r[0] for r in rows], pa.int64()),
            "ts_ms": pa.array([r[1] for r in rows], pa.int64()),
            "state": pa.array([r[2] for r in rows], pa.int8()),
        }
    )
    hi = lo + length
    iv, _ = intervals(changes, lo, hi)
    for e in {r[0] for r in rows}:
        mine = iv.equipment == e
        a, b = iv.start_ms[mine], iv.end_ms[mine]
        order = np.argsort(a)
        a, b = a[order], b[order]
        assert (b > a).all()
        assert (a >= lo).all()
        assert (b <= hi).all()
        assert (a[1:] == b[:-1]).all()  # no gap, no overlap
        first = min(t for q, t, _ in rows if q == e)
        if len(a):
            assert a[0] == max(first, lo)
            assert b[-1] == hi


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(1, 3), st.integers(0, 300), st.integers(0, 6)), max_size=120
    ),
    shuffle=st.randoms(use_true_random=False),
    reasons=st.booleans(),
)
def test_intervals_hold_the_last_change_at_every_millisecond_in_any_order(
    rows: list[tuple[int, int, int]], shuffle: object, reasons: bool
) -> None:
    rows = list({(e, t): (e, t, s) for e, t, s in rows}.values())  # one per (equipment, time)
    lo, hi = 50, 250
    shuffle.shuffle(rows)  # type: ignore[attr-defined]
    cols = {
        "equipment": pa.array([r[0] for r in rows], pa.int32()),
        "ts_ms": pa.array([r[1] for r in rows], pa.int64()),
        "state": pa.array([r[2] for r in rows], pa.int8()),
    }
    if reasons:
        cols["reason"] = pa.array([f"r{r[1]}" for r in rows], pa.string())
    iv, why = intervals(pa.table(cols), lo, hi)
    for e in (1, 2, 3):
        for t in range(lo, hi):
            before = [(ts, s) for q, ts, s in rows if q == e and ts <= t]
            here = np.flatnonzero((iv.equipment == e) & (iv.start_ms <= t) & (iv.end_ms > t))
            assert len(here) == (1 if before else 0)
            if before:
                ts, s = max(before)
                assert int(iv.state[here[0]]) == s
                if reasons:  # every change keeps its own interval and reason
                    assert (int(iv.start_ms[here[0]]), why[here[0]]) == (max(ts, lo), f"r{ts}")


MINUTES = np.arange(0, 3 * 24 * 60, 7)
GOOD = MINUTES % 5 + 1
COUNT_TS = T0 + MINUTES * MINUTE_MS + 1_234


def _store(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> tuple[DuckDBStore, int]:
    store = open_store(backend, request, tmp_path / "k.duckdb")
    cat = store.import_assets(small_city())
    press = cat.equipment_id("acme-auto", "press-1")
    assert press is not None
    store.write(Bundle(counts=CountBatch.of([press] * len(MINUTES), COUNT_TS, GOOD, MINUTES % 2)))
    return store, press


@pytest.mark.parametrize("backend", BACKENDS)
def test_count_sums_are_the_same_however_they_are_cut(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    store, press = _store(tmp_path, backend, request)
    end = T0 + 3 * 86_400_000
    try:
        assert store.count_sums([press], T0, end, [T0, end]).num_rows == 1  # one bucket
        for cuts in ([T0 + 86_400_000], [T0 + 5_555_555, T0 + 30 * HOUR_MS], [T0 + 1_234]):
            part = store.count_sums([press], T0, end, cuts)
            ts = np.array(part.column("ts_ms").to_pylist())
            good = np.array(part.column("good").to_pylist())
            assert good.sum() == GOOD.sum()
            for c in cuts:  # every row lies wholly on one side of every cut
                assert good[ts < c].sum() == GOOD[c > COUNT_TS].sum()
    finally:
        store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_state_changes_carry_the_state_in_force_before_the_window(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    store, press = _store(tmp_path, backend, request)
    try:
        week_ago = T0 - 30 * 86_400_000  # older than the quick look-back
        store.write(
            Bundle(
                states=StateBatch.of(
                    [press, press], [week_ago, T0 + HOUR_MS], [S.RUNNING, S.IDLE], [None, "starved"]
                )
            )
        )
        got = store.state_changes([press], T0, T0 + 2 * HOUR_MS, reasons=True)
        rows = sorted(got.to_pylist(), key=lambda r: r["ts_ms"])
        assert [(r["ts_ms"], r["state"], r["reason"]) for r in rows] == [
            (week_ago, S.RUNNING, None),
            (T0 + HOUR_MS, S.IDLE, "starved"),
        ]
    finally:
        store.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_product_change_at_the_same_time_replaces_the_earlier_one(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    store, press = _store(tmp_path, backend, request)
    try:
        first = ProductChange(press, T0, "door", 6.0, 1, 1, 0, "ann")
        store.write_product_changes([first])
        store.write_product_changes([ProductChange(press, T0, "lid", None, 1, 1, 1, "bob")])
        rows = store.product_changes([press], T0 + 1).to_pylist()
        assert [(r["product"], r["ideal_cycle_s"], r["recorded_by"]) for r in rows] == [
            ("lid", None, "bob")
        ]
        assert store.product_changes([press], T0).num_rows == 0  # starts at end: not before
    finally:
        store.close()
