"""Rollups in DuckDB: each series per minute and per hour, kept beside (and longer than) raw.

A row holds n, total, low, high and last of the points in its minute or hour, which is all
``buckets()`` needs to answer avg, min, max, last and count exactly for any bucket width that
is a multiple of it. Writes record the (series, hour)s they touch in ``rollup_dirty``: small
live batches when ``compact()`` moves them out of ``points_hot`` (so the hot path pays
nothing), big direct batches in their own transaction. ``roll_up`` then recomputes exactly those
hours from the raw points, from the earliest minute written on, so back-filled days are rolled
up like live ones and recomputing twice changes nothing. Reads (kiln.store.duckdb_buckets)
stitch in the raw points of the hours not rolled up yet, so answers are current.
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kiln.store.duckdb_buckets import Lag

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
READY_KEY = "rollups.ready"

_UPSERT_DIRTY = (
    "INSERT INTO rollup_dirty SELECT series, ts // 3600000 AS hour, min(ts) AS from_ms "
    "FROM {src} GROUP BY ALL "
    "ON CONFLICT DO UPDATE SET from_ms = least(rollup_dirty.from_ms, excluded.from_ms)"
)
# Every (series, hour) waiting for its rollup: the keyed table and the log of big writes.
DIRTY_COUNT = (
    "SELECT (SELECT count(*) FROM rollup_dirty) + (SELECT count(*) FROM rollup_hour_marks)"
)
# Totals are summed with fsum (correctly rounded): a sum of values with a few decimals then
# has a few decimals too, which DuckDB's ALP stores in half the bytes of a plain sum's.
_AGG_1M = (
    "count(*) AS n, fsum(value) AS total, min(value) AS low, max(value) AS high, "
    "arg_max(value, ts) AS last"
)
# Merging rows of one table into coarser ones; ``key`` orders them in time for ``last``.
_MERGE = (
    "sum(n)::BIGINT AS n, fsum(total) AS total, min(low) AS low, max(high) AS high, "
    "arg_max(last, key) AS last"
)


def prepare(con: duckdb.DuckDBPyConnection) -> Lag:
    """Mark every stored hour dirty once, in a file from before rollups; return how far the
    rollups lag the raw points."""
    ready = con.execute("SELECT value FROM meta WHERE key = ?", [READY_KEY]).fetchall()
    if not ready:
        con.execute("BEGIN TRANSACTION")
        con.execute(_UPSERT_DIRTY.format(src="points"))
        con.execute(_UPSERT_DIRTY.format(src="points_hot"))
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, '1')", [READY_KEY])
        con.execute("COMMIT")
    hot = con.execute("SELECT min(ts) FROM points_hot").fetchall()[0][0]
    return Lag(raw_cut(con), None if hot is None else int(hot), pending_rollups(con) > 0)


def pending_rollups(con: duckdb.DuckDBPyConnection) -> int:
    """The (series, hour)s written since their last rollup, and the hours big writes marked."""
    return int(con.execute(DIRTY_COUNT).fetchall()[0][0])


def raw_cut(con: duckdb.DuckDBPyConnection) -> int:
    """The latest raw cut over all series (0: retention never removed raw points)."""
    row = con.execute("SELECT coalesce(max(cut_ms), 0) FROM raw_cuts").fetchall()
    return int(row[0][0])


# Hours marked by big writes since the last fold, with the series range and earliest time of
# each mark: a write whose hours are covered already writes no mark (a back-fill writes one a
# new hour). Kept by the store, cleared when the marks are folded, under its write lock.
Marks = dict[int, list[tuple[int, int, int]]]
MASKS_UP_TO_HOURS = 64  # a batch spanning more hours is grouped by sorting, not by masks


def mark_dirty(con: duckdb.DuckDBPyConnection, points: pa.Table, marks: Marks) -> None:
    """Mark the hours of points about to be written straight into ``points`` (its own
    statement, before them: a mark whose points never came only asks for a recompute)."""
    series = points.column("series").to_numpy()
    ts = points.column("ts").to_numpy()
    if not len(ts):
        return
    rows = [
        (h, lo, hi, first)
        for h, lo, hi, first in _hours(series, ts)
        if not any(a <= lo and hi <= b and f <= first for a, b, f in marks.get(h, ()))
    ]
    if not rows:
        return
    _marks = pa.table(
        {
            "hour": pa.array([r[0] for r in rows], pa.int64()),
            "series_lo": pa.array([r[1] for r in rows], pa.int32()),
            "series_hi": pa.array([r[2] for r in rows], pa.int32()),
            "from_ms": pa.array([r[3] for r in rows], pa.int64()),
        }
    )
    con.execute("INSERT INTO rollup_hour_marks SELECT * FROM _marks")
    for h, lo, hi, first in rows:
        marks.setdefault(h, []).append((lo, hi, first))


def _hours(series: Any, ts: Any) -> list[tuple[int, int, int, int]]:
    """(hour, least series, greatest series, earliest ts) for each hour the points touch."""
    hour = ts // HOUR_MS
    h0, h1 = int(hour.min()), int(hour.max())
    if h1 - h0 < MASKS_UP_TO_HOURS:
        out = []
        for h in range(h0, h1 + 1):
            m = hour == h
            if m.any():
                s = series[m]
                out.append((h, int(s.min()), int(s.max()), int(ts[m].min())))
        return out
    order = np.argsort(hour, kind="stable")
    hour, series, ts = hour[order], series[order], ts[order]
    first = np.flatnonzero(np.r_[True, hour[1:] != hour[:-1]])
    lows = np.minimum.reduceat(series, first)
    highs = np.maximum.reduceat(series, first)
    earliest = np.minimum.reduceat(ts, first)
    return [
        (int(hour[i]), int(lo), int(hi), int(e))
        for i, lo, hi, e in zip(first, lows, highs, earliest, strict=True)
    ]


def fold_marks(con: duckdb.DuckDBPyConnection) -> None:
    """Expand the hour marks into the (series, hour)s of rollup_dirty that have points there
    (inside the caller's transaction), one zone-map-pruned scan per marked hour."""
    marked = con.execute(
        "SELECT hour, min(series_lo), max(series_hi), min(from_ms) FROM rollup_hour_marks "
        "GROUP BY hour ORDER BY hour"
    ).fetchall()
    for hour, lo, hi, first in marked:
        con.execute(
            "INSERT INTO rollup_dirty SELECT DISTINCT series, ?::BIGINT, ?::BIGINT FROM points "
            "WHERE ts >= ? AND ts < ? AND series BETWEEN ? AND ? ON CONFLICT DO UPDATE SET "
            "from_ms = least(rollup_dirty.from_ms, excluded.from_ms)",
            [hour, first, hour * HOUR_MS, (hour + 1) * HOUR_MS, lo, hi],
        )
    con.execute("DELETE FROM rollup_hour_marks")


def mark_hot_dirty(con: duckdb.DuckDBPyConnection) -> None:
    """Record the (series, hour)s of the points waiting in ``points_hot`` (before moving them)."""
    con.execute(_UPSERT_DIRTY.format(src="points_hot"))


def roll_up(con: duckdb.DuckDBPyConnection, lock: threading.Lock, marks: Marks) -> int:
    """Recompute the dirty hours, one UTC day per transaction, newest first (live data stays
    current while a long back-fill is worked through); return the rollup rows written."""
    with lock:
        con.execute("BEGIN TRANSACTION")
        try:
            fold_marks(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        marks.clear()  # under the lock: no write slips between the fold and this
    days = con.execute("SELECT DISTINCT hour // 24 FROM rollup_dirty ORDER BY 1 DESC").fetchall()
    rows = 0
    for (day,) in days:
        with lock:
            con.execute("BEGIN TRANSACTION")
            try:
                rows += _roll_up_day(con, int(day))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
    return rows


def _roll_up_day(con: duckdb.DuckDBPyConnection, day: int) -> int:
    first, end = day * 24, (day + 1) * 24
    pairs = con.sql(
        "SELECT d.series, d.hour, d.from_ms, coalesce(d.hour * 3600000 < c.cut_ms, false) AS late "
        "FROM rollup_dirty d LEFT JOIN raw_cuts c USING (series) "
        "WHERE d.hour >= $a AND d.hour < $b",
        params={"a": first, "b": end},
    ).to_arrow_table()
    late = pairs.filter(pc.field("late"))
    fresh = pairs.filter(~pc.field("late"))
    rows = _recompute(con, fresh) + _merge_late(con, late)
    con.execute("DELETE FROM rollup_dirty WHERE hour >= ? AND hour < ?", [first, end])
    return rows


def _recompute(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> int:
    """Replace the minutes from each pair's earliest write to its hour's end, then its hour."""
    if not pairs.num_rows:
        return 0
    _pairs = pairs
    hours = pc.min_max(pairs["hour"]).as_py()
    lo_min = int(pc.min(pairs["from_ms"]).as_py()) // MINUTE_MS
    args = {"lo": lo_min, "hlo": hours["min"], "hi": hours["max"] + 1}
    con.execute(
        "DELETE FROM rollup_1m USING _pairs p WHERE rollup_1m.minute >= $lo "
        "AND rollup_1m.minute < $hi * 60 AND rollup_1m.series = p.series "
        "AND rollup_1m.minute >= p.from_ms // 60000 AND rollup_1m.minute < (p.hour + 1) * 60",
        {"lo": lo_min, "hi": args["hi"]},
    )
    n1 = con.execute(
        f"INSERT INTO rollup_1m SELECT series, ts // 60000 AS minute, {_AGG_1M} FROM ("
        "SELECT points.series, points.ts, points.value FROM points JOIN _pairs p "
        "ON points.series = p.series AND points.ts >= p.from_ms // 60000 * 60000 "
        "AND points.ts < (p.hour + 1) * 3600000 "
        "WHERE points.ts >= $lo::BIGINT * 60000 AND points.ts < $hi::BIGINT * 3600000"
        ") GROUP BY 1, 2 ORDER BY 1, 2",
        {"lo": lo_min, "hi": args["hi"]},
    ).fetchall()[0][0]
    con.execute(
        "DELETE FROM rollup_1h USING _pairs p WHERE rollup_1h.hour >= $hlo "
        "AND rollup_1h.hour < $hi AND rollup_1h.series = p.series AND rollup_1h.hour = p.hour",
        {"hlo": args["hlo"], "hi": args["hi"]},
    )
    n2 = con.execute(
        f"INSERT INTO rollup_1h SELECT series, minute // 60 AS hour, {_MERGE} FROM ("
        "SELECT r.*, r.minute AS key FROM rollup_1m r SEMI JOIN _pairs p "
        "ON r.series = p.series AND r.minute // 60 = p.hour "
        "WHERE r.minute >= $hlo * 60 AND r.minute < $hi * 60"
        ") GROUP BY 1, 2 ORDER BY 1, 2",
        {"hlo": args["hlo"], "hi": args["hi"]},
    ).fetchall()[0][0]
    return int(n1) + int(n2)


def _merge_late(con: duckdb.DuckDBPyConnection, pairs: pa.Table) -> int:
    """Fold points that arrived for hours whose raw points retention already removed into the
    rollups (recomputing would lose what the rollups kept), then remove those points too.

    Within a minute, such a late point counts as the minute's last: the time of the last
    value rolled up before is no longer known.
    """
    if not pairs.num_rows:
        return 0
    _late = pairs
    hours = pc.min_max(pairs["hour"]).as_py()
    args = {"lo": hours["min"] * HOUR_MS, "hi": (hours["max"] + 1) * HOUR_MS}
    _minutes = con.sql(
        f"SELECT series, ts // 60000 AS minute, {_AGG_1M}, max(ts) AS newest FROM ("
        "SELECT series, ts, value FROM points SEMI JOIN _late d ON points.series = d.series "
        "AND points.ts // 3600000 = d.hour WHERE points.ts >= $lo AND points.ts < $hi"
        ") GROUP BY 1, 2",
        params=args,
    ).to_arrow_table()
    rows = 0
    for table, slot, minutes in (("rollup_1m", "minute", 1), ("rollup_1h", "hour", 60)):
        # ``key`` orders rows in time, in ms: a stored row by its start, a new one by its last.
        _delta = con.sql(
            f"SELECT series, minute // {minutes} AS slot, {_MERGE}, max(key) AS key "
            "FROM (SELECT * EXCLUDE (newest), newest AS key FROM _minutes) GROUP BY 1, 2"
        ).to_arrow_table()
        _merged = con.sql(
            f"SELECT series, slot, {_MERGE} FROM ("
            f"SELECT r.series, r.{slot} AS slot, r.n, r.total, r.low, r.high, r.last, "
            f"r.{slot}::BIGINT * {minutes * MINUTE_MS} AS key FROM {table} r "
            f"SEMI JOIN _delta d ON r.series = d.series AND r.{slot} = d.slot "
            "UNION ALL SELECT * FROM _delta) GROUP BY 1, 2 ORDER BY 1, 2"
        ).to_arrow_table()
        con.execute(
            f"DELETE FROM {table} USING _delta d WHERE {table}.series = d.series "
            f"AND {table}.{slot} = d.slot"
        )
        con.execute(f"INSERT INTO {table} SELECT * FROM _merged")
        rows += _merged.num_rows
    con.execute(
        "DELETE FROM points USING _late d WHERE points.series = d.series "
        "AND points.ts // 3600000 = d.hour AND points.ts >= $lo AND points.ts < $hi",
        args,
    )
    return rows


def resort_day(con: duckdb.DuckDBPyConnection, day_ms: int) -> int:
    """Rewrite a closed day's 1-minute rollups ordered by series and minute (compactions left
    them in five-minute runs), so a series' day is one run: zone maps prune a chart's read to
    it, and minutes compress. Rows rewritten; call in a transaction."""
    args = {"a": day_ms // MINUTE_MS, "b": (day_ms + DAY_MS) // MINUTE_MS}
    where = "minute >= $a AND minute < $b"
    # A temporary table, not Arrow: DuckDB spills it to disk under its memory limit.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE rollup_day AS SELECT * FROM rollup_1m WHERE {where} "
        "ORDER BY series, minute",
        args,
    )
    con.execute(f"DELETE FROM rollup_1m WHERE {where}", args)
    rows = con.execute("INSERT INTO rollup_1m SELECT * FROM rollup_day").fetchall()[0][0]
    con.execute("DROP TABLE rollup_day")
    return int(rows)
