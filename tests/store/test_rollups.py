"""Rollups: long-range buckets give raw points' answers, back-fills roll up, nothing twice.

Answers are checked against buckets computed here from the raw points (``store.points``), so
the checks hold for every backend; what the DuckDB rollup tables hold is checked on DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiln.domain.batches import Bundle, PointBatch
from kiln.store import duckdb_rollups
from kiln.store.base import Store, bucket_width_ms
from kiln.store.duckdb import DIRECT_ROWS, DuckDBStore
from kiln.store.duckdb_buckets import rollup_width
from kiln.store.retention import Keep, RetentionGroup, RetentionPlan, cut_ms
from tests.conftest import NOW_MS, small_city

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
TODAY = NOW_MS - NOW_MS % DAY


@pytest.fixture
def duck(tmp_path: Path) -> Iterator[DuckDBStore]:
    """A DuckDB store, for what its rollup tables hold."""
    s = DuckDBStore(tmp_path / "kiln.duckdb")
    s.import_assets(small_city())
    yield s
    s.close()


def series(store: Store) -> tuple[int, int]:
    cat = store.catalog()
    press = cat.equipment_id("acme-auto", "press-1")
    assert press is not None
    a, b = cat.series_id(press, "tonnage"), cat.series_id(press, "lube_temp")
    assert a is not None
    assert b is not None
    return a, b


def sampled(sid: int, start_ms: int, end_ms: int, every_ms: int, seed: int = 1) -> PointBatch:
    """A series sampled every every_ms (shifted a little), values with one decimal."""
    rng = np.random.default_rng(seed)
    ts = np.arange(start_ms, end_ms, every_ms) + int(rng.integers(1, every_ms // 2))
    ts = ts[ts < end_ms]
    return PointBatch.of(np.full(len(ts), sid), ts, np.round(rng.normal(50, 10, len(ts)), 1))


def from_raw(store: Store, sid: int, start: int, end: int, width: int) -> pa.Table:
    """The buckets, computed here from the raw points."""
    p = store.points([sid], start, end)
    ts, v = np.asarray(p["ts_ms"], dtype=np.int64), np.asarray(p["value"])
    keys = ts // width * width
    cols: dict[str, list[Any]] = {k: [] for k in ("ts_ms", "avg", "min", "max", "last", "count")}
    for k in np.unique(keys):
        sel = keys == k
        for name, x in zip(
            cols,
            (int(k), v[sel].mean(), v[sel].min(), v[sel].max(), v[sel][np.argmax(ts[sel])]),
            strict=False,
        ):
            cols[name].append(x)
        cols["count"].append(int(sel.sum()))
    return pa.table(cols)


def assert_same(got: pa.Table, want: pa.Table) -> None:
    """Equal buckets: exactly, but for averages, which differ by summation order only."""
    assert got.column_names == want.column_names
    for name in ("ts_ms", "min", "max", "last", "count"):
        assert got[name].to_pylist() == want[name].to_pylist(), name
    assert got["avg"].to_pylist() == pytest.approx(want["avg"].to_pylist(), rel=1e-12)


def check(store: Store, sid: int, start: int, end: int, **kw: int) -> pa.Table:
    """buckets(), asserted equal to the answer from raw points; returned."""
    got = store.buckets(sid, start, end, **kw)
    width = bucket_width_ms(start, end, kw.get("max_points", 2_000), kw.get("bucket_ms", 0))
    assert_same(got, from_raw(store, sid, start, end, width))
    return got


def rows(store: DuckDBStore, table: str) -> list[tuple[Any, ...]]:
    return store._cursor().execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def raw_cut_at_30_days(sid: int) -> RetentionPlan:
    group = RetentionGroup("default", Keep(30, None, None), (sid,), cut_ms(NOW_MS, 30), None, None)
    return RetentionPlan(NOW_MS, (group,))


# -- the answers (every backend) -------------------------------------------------------------


def test_long_ranges_give_the_raw_answer(store: Store) -> None:
    a, _ = series(store)
    store.write(Bundle(points=sampled(a, TODAY - 5 * DAY, NOW_MS, 10_000)))
    store.compact()
    # Unaligned edges: partial minutes and hours at both ends come from raw points.
    start, end = TODAY - 4 * DAY + 12_345, NOW_MS - 6_789
    for max_points in (2_000, 400, 90, 4):
        width = bucket_width_ms(start, end, max_points)
        assert rollup_width(start, end, width, 0) == (HOUR if width % HOUR == 0 else MIN)
        assert check(store, a, start, end, max_points=max_points).num_rows <= max_points


def test_points_not_yet_rolled_up_are_stitched_in(store: Store) -> None:
    a, _ = series(store)
    store.write(Bundle(points=sampled(a, TODAY - 2 * DAY, NOW_MS - HOUR, 10_000)))
    store.compact()
    # Live points wait to be compacted; a late one lands in an hour already rolled up.
    store.write(Bundle(points=sampled(a, NOW_MS - HOUR, NOW_MS, 5_000, seed=2)))
    store.write(Bundle(points=PointBatch.of([a], [TODAY - DAY + 5 * HOUR], [999.0])))
    start, end = TODAY - 2 * DAY, NOW_MS + 1
    got = check(store, a, start, end, bucket_ms=HOUR)
    assert max(got["max"].to_pylist()) == 999.0
    store.compact()
    assert_same(store.buckets(a, start, end, bucket_ms=HOUR), got)


def test_a_long_range_equals_its_short_pieces(store: Store) -> None:
    # A range over 6 h reads rollups, one under reads raw points.
    a, _ = series(store)
    store.write(Bundle(points=sampled(a, TODAY - DAY, NOW_MS, 7_000)))
    store.compact()
    start = TODAY - DAY + 3 * HOUR
    whole = store.buckets(a, start, start + 12 * HOUR, bucket_ms=MIN, max_points=720)
    pieces = [
        store.buckets(a, start + k * 4 * HOUR, start + (k + 1) * 4 * HOUR, bucket_ms=MIN)
        for k in range(3)
    ]
    assert_same(whole, pa.concat_tables(pieces))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    writes=st.lists(
        st.tuples(
            st.integers(0, 3 * 24 - 1),  # hour of the back-filled days
            st.integers(1, 400),  # points
            st.booleans(),  # compact after it
        ),
        min_size=1,
        max_size=8,
    ),
    edge_ms=st.integers(0, HOUR - 1),
    max_points=st.sampled_from([72, 300, 2_000]),
)
def test_rollups_always_answer_as_raw_points_do(
    store: Store, writes: list[tuple[int, int, bool]], edge_ms: int, max_points: int
) -> None:
    a, _ = series(store)
    base = TODAY - 100 * DAY  # the fixture outlives an example: the check reads all there is
    rng = np.random.default_rng(len(writes))
    for hour, n, compact in writes:
        ts = base + hour * HOUR + rng.integers(0, 2 * HOUR, n)
        # A value is a function of its time: a point sent twice is the same point.
        store.write(Bundle(points=PointBatch.of(np.full(n, a), ts, np.sin(ts / 1e5))))
        if compact:
            store.compact()
    check(store, a, base + edge_ms, base + 3 * DAY + 2 * HOUR - edge_ms, max_points=max_points)


def test_a_back_filled_week_gives_the_raw_answer(store: Store) -> None:
    a, b = series(store)
    store.write(Bundle(points=sampled(a, NOW_MS - HOUR, NOW_MS, 5_000)))
    store.compact()
    # A gateway back online sends the week it buffered: older timestamps, two series.
    week = PointBatch.concat(
        [sampled(s, TODAY - 8 * DAY, TODAY - DAY, 10_000, seed=s) for s in (a, b)]
    )
    store.write(Bundle(points=week), batch_id="gw-7")
    check(store, a, TODAY - 9 * DAY, NOW_MS, bucket_ms=HOUR)
    store.compact()
    check(store, a, TODAY - 9 * DAY, NOW_MS, bucket_ms=HOUR)
    check(store, b, TODAY - 6 * DAY - 17, TODAY - 2 * DAY + 17, max_points=1_000)


def test_late_points_before_the_raw_cut_are_merged_into_the_rollups(store: Store) -> None:
    a, _ = series(store)
    old = TODAY - 40 * DAY
    store.write(Bundle(points=PointBatch.of([a] * 4, old + np.arange(4) * 1_000, [1, 2, 3, 4])))
    store.retention(raw_cut_at_30_days(a))
    assert store.points([a], old, old + DAY).num_rows == 0
    # A gateway sends one more point of that minute, and one of the next, 40 days late.
    store.write(Bundle(points=PointBatch.of([a, a], [old + 9_000, old + MIN], [10.0, 20.0])))
    store.compact()
    got = store.buckets(a, old, old + DAY, bucket_ms=HOUR).to_pylist()
    assert got == [
        {"ts_ms": old, "avg": pytest.approx(40 / 6), "min": 1, "max": 20, "last": 20, "count": 6}
    ]
    assert store.points([a], old, old + DAY).num_rows == 0  # folded in, then removed
    store.compact()  # and never counted twice
    assert store.buckets(a, old, old + DAY, bucket_ms=HOUR)["count"].to_pylist() == [6]


def test_ranges_older_than_raw_retention_read_the_rollups(store: Store) -> None:
    a, _ = series(store)
    old = TODAY - 40 * DAY
    store.write(Bundle(points=sampled(a, old, old + 2 * HOUR, 10_000)))
    store.compact()
    want = check(store, a, old, old + HOUR, bucket_ms=MIN)  # one hour: raw points
    store.retention(raw_cut_at_30_days(a))
    assert store.points([a], old, old + HOUR).num_rows == 0
    assert_same(store.buckets(a, old, old + HOUR, bucket_ms=MIN), want)


# -- the rollup tables (DuckDB) --------------------------------------------------------------


def test_a_back_filled_week_is_rolled_up_at_the_next_compaction(duck: DuckDBStore) -> None:
    a, b = series(duck)
    week = PointBatch.concat(
        [sampled(s, TODAY - 8 * DAY, TODAY - DAY, 10_000, seed=s) for s in (a, b)]
    )
    assert len(week) >= DIRECT_ROWS  # straight into the sorted table, marked dirty there
    duck.write(Bundle(points=week))
    assert duck.storage_report(NOW_MS).pending_rollup == 7 * 24  # an hour mark each
    duck.compact()
    assert duck.storage_report(NOW_MS).pending_rollup == 0
    got = duck._cursor().execute(
        "SELECT count(*), sum(n) FROM rollup_1m WHERE series = ? AND minute < ?",
        [b, (TODAY - DAY) // MIN],
    )
    assert got.fetchall()[0] == (7 * 24 * 60, 7 * 24 * 360)


def test_the_hour_marks_of_big_writes_roll_each_hour_up_from_both_writes(
    duck: DuckDBStore,
) -> None:
    a, b = series(duck)
    day = PointBatch.concat([sampled(s, TODAY - 2 * DAY, TODAY - DAY, 1_000) for s in (a, b)])
    assert len(day) >= DIRECT_ROWS
    duck.write(Bundle(points=day))
    # A second big write into the same hours, earlier minutes first within each series.
    again = sampled(a, TODAY - 2 * DAY + 30 * MIN, TODAY - 2 * DAY + 90 * MIN, 100)
    pad = sampled(b, TODAY - 3 * DAY, TODAY - 3 * DAY + DIRECT_ROWS * 1_000, 1_000)
    duck.write(Bundle(points=PointBatch.concat([again, pad])))
    con = duck._cursor()
    assert con.execute("SELECT count(*) FROM rollup_hour_marks").fetchall()[0][0] > 0
    duck.compact()
    assert con.execute("SELECT count(*) FROM rollup_hour_marks").fetchall()[0][0] == 0
    assert duck.storage_report(NOW_MS).pending_rollup == 0
    got = con.execute(
        "SELECT count(*), sum(n) FROM rollup_1m WHERE series = ? AND minute >= ? AND minute < ?",
        [b, (TODAY - 2 * DAY) // MIN, (TODAY - DAY) // MIN],
    )
    assert got.fetchall()[0] == (24 * 60, 24 * 3_600)
    # Series a's hours written twice are rolled up from both writes' points.
    raw = con.execute(
        "SELECT count(*) FROM points WHERE series = ? AND ts >= ? AND ts < ?",
        [a, TODAY - 2 * DAY, TODAY - DAY],
    ).fetchall()[0][0]
    rolled = con.execute(
        "SELECT sum(n) FROM rollup_1h WHERE series = ? AND hour >= ? AND hour < ?",
        [a, (TODAY - 2 * DAY) // (60 * MIN), (TODAY - DAY) // (60 * MIN)],
    ).fetchall()[0][0]
    assert rolled == raw == 86_400 + 36_000


def test_a_redelivered_batch_and_a_second_rollup_change_nothing(duck: DuckDBStore) -> None:
    a, _ = series(duck)
    batch = sampled(a, TODAY - 3 * DAY, TODAY - DAY, 1_000)
    duck.write(Bundle(points=batch), batch_id="gw-1")
    duck.compact()
    before = rows(duck, "rollup_1m"), rows(duck, "rollup_1h")
    assert duck.write(Bundle(points=batch), batch_id="gw-1") == 0
    duck.compact()
    duck._cursor().execute(  # every hour dirty again: recomputing gives the same rows
        "INSERT OR IGNORE INTO rollup_dirty SELECT series, ts // 3600000, min(ts) "
        "FROM points GROUP BY ALL"
    )
    assert duck.rollup() > 0
    assert (rows(duck, "rollup_1m"), rows(duck, "rollup_1h")) == before


def test_compaction_recomputes_only_the_minutes_written(
    duck: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = series(duck)
    duck.write(Bundle(points=sampled(a, TODAY, TODAY + 10 * HOUR, 1_000)))
    duck.write(Bundle(points=sampled(b, TODAY, TODAY + 10 * HOUR, 1_000)))
    duck.compact()
    written: list[int] = []

    def spy(*args: Any) -> int:
        written.append(duckdb_rollups.roll_up(*args))
        return written[-1]

    monkeypatch.setattr("kiln.store.duckdb.roll_up", spy)
    # Two points of one series in the last minutes of one hour.
    duck.write(Bundle(points=PointBatch.of([a, a], [TODAY + 3 * HOUR - 90_000] * 2, [1, 2])))
    duck.compact()
    assert written == [2 + 1]  # its last two minutes, and its hour


def test_a_closed_day_of_rollups_is_resorted_one_run_per_series(duck: DuckDBStore) -> None:
    a, b = series(duck)
    day = TODAY - 2 * DAY
    for hour in range(24):  # live: every compaction appends a few minutes of every series
        for s in (a, b):
            duck.write(
                Bundle(points=sampled(s, day + hour * HOUR, day + (hour + 1) * HOUR, 60_000))
            )
        duck.compact()
    duck.write(Bundle(points=PointBatch.of([a], [NOW_MS], [1.0])))
    duck.compact()  # the day is closed
    before = check(duck, a, day, day + DAY, bucket_ms=MIN, max_points=1_440)

    def stored() -> list[int]:
        return [
            r[0]
            for r in duck._cursor()
            .execute(
                "SELECT series FROM rollup_1m WHERE minute >= ? AND minute < ?",
                [day // MIN, (day + DAY) // MIN],
            )
            .fetchall()
        ]

    assert stored() != sorted(stored())
    assert duck.reorganize() > 0
    assert stored() == sorted(stored())
    assert_same(duck.buckets(a, day, day + DAY, bucket_ms=MIN, max_points=1_440), before)
