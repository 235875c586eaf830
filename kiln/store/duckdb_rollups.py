"""Rollups in DuckDB: each series per minute and per hour, kept beside (and longer than) raw.

A row holds n, total, low, high and last of the points in its minute or hour, which is all
``buckets()`` needs to answer avg, min, max, last and count exactly for any bucket width that
is a multiple of it. Writes record the (series, hour)s they touch in ``rollup_dirty``: small
live batches when ``compact()`` moves them out of ``points_hot`` (so the hot path pays
nothing), big direct batches in their own transaction. ``roll_up`` then recomputes exactly those
hours from the raw points, from the earliest minute written on, so back-filled days are rolled
up like live ones and recomputing twice changes nothing. Reads stitch the raw points of the
hours not rolled up yet, so answers are current.
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# Bucket queries over longer ranges than these read the rollups (when the width is a multiple
# of the rollup's); shorter ones read raw points, which is as fast there and needs no stitching.
ROLLUP_1M_FROM_MS = 6 * HOUR_MS
ROLLUP_1H_FROM_MS = 2 * DAY_MS
READY_KEY = "rollups.ready"

_UPSERT_DIRTY = (
    "INSERT INTO rollup_dirty SELECT series, ts // 3600000 AS hour, min(ts) AS from_ms "
    "FROM {src} GROUP BY ALL "
    "ON CONFLICT DO UPDATE SET from_ms = least(rollup_dirty.from_ms, excluded.from_ms)"
)
_AGG_1M = (
    "count(*) AS n, sum(value) AS total, min(value) AS low, max(value) AS high, "
    "arg_max(value, ts) AS last"
)
# Merging rows of one table into coarser ones; ``key`` orders them in time for ``last``.
_MERGE = (
    "sum(n)::BIGINT AS n, sum(total) AS total, min(low) AS low, max(high) AS high, "
    "arg_max(last, key) AS last"
)


def prepare(con: duckdb.DuckDBPyConnection) -> int:
    """Mark every stored hour dirty once, in a file from before rollups; return the latest raw
    cut (the time before which some series' raw points may be gone), 0 if none."""
    ready = con.execute("SELECT value FROM meta WHERE key = ?", [READY_KEY]).fetchall()
    if not ready:
        con.execute("BEGIN TRANSACTION")
        con.execute(_UPSERT_DIRTY.format(src="points"))
        con.execute(_UPSERT_DIRTY.format(src="points_hot"))
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, '1')", [READY_KEY])
        con.execute("COMMIT")
    return raw_cut(con)


def raw_cut(con: duckdb.DuckDBPyConnection) -> int:
    """The latest raw cut over all series (0: retention never removed raw points)."""
    row = con.execute("SELECT coalesce(max(cut_ms), 0) FROM raw_cuts").fetchall()
    return int(row[0][0])


def mark_dirty(con: duckdb.DuckDBPyConnection, points: pa.Table) -> None:
    """Record the (series, hour)s of points written straight into ``points``."""
    _dirty_rows = points  # read by name in the SQL (a replacement scan)
    con.execute(_UPSERT_DIRTY.format(src="_dirty_rows"))


def mark_hot_dirty(con: duckdb.DuckDBPyConnection) -> None:
    """Record the (series, hour)s of the points waiting in ``points_hot`` (before moving them)."""
    con.execute(_UPSERT_DIRTY.format(src="points_hot"))


def roll_up(con: duckdb.DuckDBPyConnection, lock: threading.Lock) -> int:
    """Recompute the dirty hours, one UTC day per transaction, newest first (live data stays
    current while a long back-fill is worked through); return the rollup rows written."""
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
    args = {
        "lo": int(pc.min(pairs["from_ms"]).as_py()) // MINUTE_MS * MINUTE_MS,
        "hlo": hours["min"] * HOUR_MS,
        "hi": (hours["max"] + 1) * HOUR_MS,
    }
    in_pair = (
        "{t}.series = p.series AND {t}.ts >= p.from_ms // 60000 * 60000 "
        "AND {t}.ts < (p.hour + 1) * 3600000"
    )
    con.execute(
        "DELETE FROM rollup_1m USING _pairs p WHERE rollup_1m.ts >= $lo AND rollup_1m.ts < $hi "
        f"AND {in_pair.format(t='rollup_1m')}",
        {"lo": args["lo"], "hi": args["hi"]},
    )
    n1 = con.execute(
        f"INSERT INTO rollup_1m SELECT pt.series, pt.ts // 60000 * 60000 AS minute, {_AGG_1M} "
        "FROM (SELECT points.series, points.ts, points.value FROM points JOIN _pairs p "
        f"ON {in_pair.format(t='points')} WHERE points.ts >= $lo AND points.ts < $hi) pt "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        {"lo": args["lo"], "hi": args["hi"]},
    ).fetchall()[0][0]
    con.execute(
        "DELETE FROM rollup_1h USING _pairs p WHERE rollup_1h.ts >= $hlo AND rollup_1h.ts < $hi "
        "AND rollup_1h.series = p.series AND rollup_1h.ts = p.hour * 3600000",
        {"hlo": args["hlo"], "hi": args["hi"]},
    )
    n2 = con.execute(
        f"INSERT INTO rollup_1h SELECT series, ts // 3600000 * 3600000 AS hour, {_MERGE} FROM ("
        "SELECT r.*, r.ts AS key FROM rollup_1m r SEMI JOIN _pairs p "
        "ON r.series = p.series AND r.ts // 3600000 = p.hour WHERE r.ts >= $hlo AND r.ts < $hi"
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
    from_late = (
        "FROM points SEMI JOIN _late d ON points.series = d.series "
        "AND points.ts // 3600000 = d.hour WHERE points.ts >= $lo AND points.ts < $hi"
    )
    _minutes = con.sql(
        f"SELECT series, ts // 60000 * 60000 AS minute, {_AGG_1M}, max(ts) AS newest "
        f"FROM (SELECT series, ts, value {from_late}) GROUP BY 1, 2",
        params=args,
    ).to_arrow_table()
    rows = 0
    for table, width in (("rollup_1m", MINUTE_MS), ("rollup_1h", HOUR_MS)):
        _delta = con.sql(
            "SELECT series, bucket AS ts, n, total, low, high, last, newest AS key FROM ("
            f"SELECT series, minute // {width} * {width} AS bucket, {_MERGE}, max(key) AS newest "
            "FROM (SELECT * EXCLUDE (newest), newest AS key FROM _minutes) GROUP BY 1, 2)"
        ).to_arrow_table()
        _merged = con.sql(
            f"SELECT series, ts, {_MERGE} FROM (SELECT r.*, r.ts AS key FROM {table} r "
            "SEMI JOIN _delta d ON r.series = d.series AND r.ts = d.ts "
            "UNION ALL SELECT series, ts, n, total, low, high, last, key FROM _delta) "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        ).to_arrow_table()
        con.execute(
            f"DELETE FROM {table} USING _delta d WHERE {table}.series = d.series "
            f"AND {table}.ts = d.ts"
        )
        con.execute(f"INSERT INTO {table} SELECT * FROM _merged")
        rows += _merged.num_rows
    con.execute(
        "DELETE FROM points USING _late d WHERE points.series = d.series "
        "AND points.ts // 3600000 = d.hour AND points.ts >= $lo AND points.ts < $hi",
        args,
    )
    return rows


def rollup_width(start_ms: int, end_ms: int, width: int, raw_cut_ms: int) -> int:
    """The rollup a bucket query of this width reads: 3_600_000, 60_000, or 0 for raw points.

    Long ranges read the coarsest rollup the width is a multiple of; so does any range that
    starts where retention may have removed raw points.

    >>> rollup_width(0, 86_400_000, 60_000, 0), rollup_width(0, 3_600_000, 60_000, 0)
    (60000, 0)
    >>> rollup_width(0, 30 * 86_400_000, 3_600_000, 0), rollup_width(0, 3_600_000, 3_600_000, 1)
    (3600000, 3600000)
    """
    span, old = end_ms - start_ms, start_ms < raw_cut_ms
    if width % HOUR_MS == 0 and (span > ROLLUP_1H_FROM_MS or old):
        return HOUR_MS
    if width % MINUTE_MS == 0 and (span > ROLLUP_1M_FROM_MS or old):
        return MINUTE_MS
    return 0


def _ceil(t: int, step: int) -> int:
    return -(-t // step) * step


def read_buckets(
    con: duckdb.DuckDBPyConnection,
    series: int,
    start_ms: int,
    end_ms: int,
    width: int,
    raw_cut_ms: int,
) -> pa.Table:
    """(ts_ms, avg, min, max, last, count) per bucket of ``width``, from rollups where they
    serve (see ``rollup_width``), else from raw points; the same answer either way."""
    level = rollup_width(start_ms, end_ms, width, raw_cut_ms)
    a1, b1 = _ceil(start_ms, MINUTE_MS), end_ms // MINUTE_MS * MINUTE_MS
    if not level or a1 >= b1:
        return read_raw_buckets(con, series, start_ms, end_ms, width)
    a60, b60 = _ceil(start_ms, HOUR_MS), end_ms // HOUR_MS * HOUR_MS
    if level == MINUTE_MS or a60 >= b60:
        a60 = b60 = a1  # no hourly part
    # [start, a1) and [b1, end) are partial minutes: raw. So are hours not rolled up yet.
    args: dict[str, Any] = {
        "s": series,
        "a": start_ms,
        "b": end_ms,
        "a1": a1,
        "b1": b1,
        "a60": a60,
        "b60": b60,
        "w": width,
    }
    return con.sql(
        "WITH dirty AS ("
        "SELECT hour FROM rollup_dirty WHERE series = $s AND hour >= $a // 3600000 "
        "AND hour <= ($b - 1) // 3600000 "
        "UNION SELECT DISTINCT ts // 3600000 FROM points_hot "
        "WHERE series = $s AND ts >= $a AND ts < $b), "
        "raw AS (SELECT ts, value FROM points WHERE series = $s AND ts >= $a AND ts < $b "
        "AND (ts < $a1 OR ts >= $b1 OR ts // 3600000 IN (SELECT hour FROM dirty)) "
        "UNION ALL SELECT ts, value FROM points_hot WHERE series = $s AND ts >= $a AND ts < $b), "
        "parts AS ("
        f"SELECT ts // $w * $w AS bucket, max(ts) AS key, {_AGG_1M} FROM raw GROUP BY 1 "
        "UNION ALL SELECT ts // $w * $w, ts, n, total, low, high, last FROM rollup_1m "
        "WHERE series = $s AND ((ts >= $a1 AND ts < $a60) OR (ts >= $b60 AND ts < $b1)) "
        "AND ts // 3600000 NOT IN (SELECT hour FROM dirty) "
        "UNION ALL SELECT ts // $w * $w, ts, n, total, low, high, last FROM rollup_1h "
        "WHERE series = $s AND ts >= $a60 AND ts < $b60 "
        "AND ts // 3600000 NOT IN (SELECT hour FROM dirty)) "
        "SELECT bucket AS ts_ms, sum(total) / sum(n)::BIGINT AS avg, min(low) AS min, "
        "max(high) AS max, arg_max(last, key) AS last, sum(n)::BIGINT AS count "
        "FROM parts GROUP BY 1 ORDER BY 1",
        params=args,
    ).to_arrow_table()


def read_raw_buckets(
    con: duckdb.DuckDBPyConnection, series: int, start_ms: int, end_ms: int, width: int
) -> pa.Table:
    """(ts_ms, avg, min, max, last, count) per bucket of ``width``, from the raw points."""
    return con.sql(
        "SELECT (ts // $w) * $w AS ts_ms, avg(value) AS avg, min(value) AS min, "
        "max(value) AS max, arg_max(value, ts) AS last, count(*) AS count FROM ("
        "SELECT ts, value FROM points WHERE series = $s AND ts >= $a AND ts < $b "
        "UNION ALL SELECT ts, value FROM points_hot WHERE series = $s AND ts >= $a AND ts < $b"
        ") GROUP BY 1 ORDER BY 1",
        params={"w": width, "s": series, "a": start_ms, "b": end_ms},
    ).to_arrow_table()
