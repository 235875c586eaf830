"""Rollups in PostgreSQL: each series per minute and per hour, kept beside (and longer than) raw.

As in DuckDB (kiln.store.duckdb_rollups): every write records the (series, hour)s it touches in
``rollup_dirty``, in its own transaction, and ``roll_up`` recomputes exactly those hours from
the raw points, from the earliest minute written on, so back-filled days are rolled up like live
ones and recomputing twice changes nothing. Several processes share one database: each day is
rolled up under an advisory lock, and its dirty rows are taken with DELETE ... RETURNING, so no
hour is rolled up twice at once and a write racing the rollup marks its hour dirty again.
``read_buckets`` stitches in the raw points of the hours not rolled up yet.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg
import pyarrow as pa

from kiln.domain.batches import PointBatch
from kiln.store.duckdb_buckets import plan_ranges, rollup_width
from kiln.store.postgres_binary import fetch_table

Connection = psycopg.Connection[Any]

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
# pg_advisory_xact_lock key of the roll-up step: "kiln" in ASCII, then the lock's number.
ROLLUP_LOCK = 0x6B696C6E_00000002
_PAIRS = (
    "p AS (SELECT * FROM unnest(%(s)s::int[], %(h)s::bigint[], %(f)s::bigint[]) "
    "AS p(series, hour, from_ms))"
)
# The raw points of each pair: from its earliest minute written to its hour's end.
_IN_PAIR = (
    "{t}.series = p.series AND {t}.ts >= p.from_ms / 60000 * 60000 "
    "AND {t}.ts < (p.hour + 1) * 3600000 AND {t}.ts >= %(lo)s::bigint AND {t}.ts < %(hi)s::bigint"
)
_AGG_1M = (
    "count(*) AS n, sum(value) AS total, min(value) AS low, max(value) AS high, "
    "(array_agg(value ORDER BY ts DESC))[1] AS last"
)
_SET = (
    "ON CONFLICT (series, ts) DO UPDATE SET n = excluded.n, total = excluded.total, "
    "low = excluded.low, high = excluded.high, last = excluded.last"
)
PARTS = pa.schema(
    [
        ("key", pa.int64()),
        ("n", pa.int64()),
        ("total", pa.float64()),
        ("low", pa.float64()),
        ("high", pa.float64()),
        ("last", pa.float64()),
    ]
)
BUCKETS = pa.schema(
    [
        ("ts_ms", pa.int64()),
        ("avg", pa.float64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("last", pa.float64()),
        ("count", pa.int64()),
    ]
)


def dirty_hours(batch: PointBatch) -> tuple[list[int], list[int], list[int]]:
    """The (series, hour, earliest ts) a batch touches, ordered by series and hour.

    >>> dirty_hours(PointBatch.of([2, 1, 2], [7_200_001, 5, 7_200_000], [0.0, 0.0, 0.0]))
    ([1, 2], [0, 2], [5, 7200000])
    """
    series, ts = batch.series.astype(np.int64), batch.ts_ms.astype(np.int64)
    hour = ts // HOUR_MS
    order = np.lexsort((ts, hour, series))
    s, h, t = series[order], hour[order], ts[order]
    first = np.flatnonzero(np.r_[True, (s[1:] != s[:-1]) | (h[1:] != h[:-1])])
    return s[first].tolist(), h[first].tolist(), t[first].tolist()


def mark_dirty(conn: Connection, batch: PointBatch) -> None:
    """Record the (series, hour)s of a batch being written, in the writer's transaction (rows
    taken in key order, so writers sharing series never deadlock here)."""
    if not len(batch):
        return
    s, h, f = dirty_hours(batch)
    conn.execute(
        "INSERT INTO rollup_dirty SELECT * FROM unnest(%s::int[], %s::bigint[], %s::bigint[]) "
        "ON CONFLICT (series, hour) DO UPDATE "
        "SET from_ms = least(rollup_dirty.from_ms, excluded.from_ms) "
        "WHERE excluded.from_ms < rollup_dirty.from_ms",
        [s, h, f],
    )


def dirty_days(conn: Connection) -> list[int]:
    """The UTC days holding hours written since their last rollup, newest first."""
    rows = conn.execute("SELECT DISTINCT hour / 24 FROM rollup_dirty ORDER BY 1 DESC").fetchall()
    return [int(r[0]) for r in rows]


def pending_rollups(conn: Connection) -> int:
    """The (series, hour)s written since their last rollup."""
    row = conn.execute("SELECT count(*) FROM rollup_dirty").fetchone()
    return int(row[0]) if row else 0


def roll_up_day(conn: Connection, day: int) -> int:
    """Recompute the dirty hours of one UTC day (in the caller's transaction); rows written."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
    taken = conn.execute(
        "WITH d AS (DELETE FROM rollup_dirty WHERE hour >= %s AND hour < %s RETURNING *) "
        "SELECT d.series, d.hour, d.from_ms, coalesce(d.hour * 3600000 < c.cut_ms, false) "
        "FROM d LEFT JOIN raw_cuts c USING (series) ORDER BY 1, 2",
        [day * 24, (day + 1) * 24],
    ).fetchall()
    fresh = [r[:3] for r in taken if not r[3]]
    late = [r[:3] for r in taken if r[3]]
    return _recompute(conn, fresh) + _merge_late(conn, late)


def _pair_args(pairs: list[tuple[Any, ...]]) -> dict[str, Any]:
    s, h, f = (list(c) for c in zip(*pairs, strict=True))
    return {
        "s": s,
        "h": h,
        "f": f,
        "lo": min(f) // MINUTE_MS * MINUTE_MS,
        "hlo": min(h) * HOUR_MS,
        "hi": (max(h) + 1) * HOUR_MS,
    }


def _recompute(conn: Connection, pairs: list[tuple[Any, ...]]) -> int:
    """Replace the minutes from each pair's earliest write to its hour's end, then its hour."""
    if not pairs:
        return 0
    args = _pair_args(pairs)
    conn.execute(
        f"WITH {_PAIRS} DELETE FROM rollup_1m USING p WHERE {_IN_PAIR.format(t='rollup_1m')}",
        args,
    )
    n1 = conn.execute(
        f"WITH {_PAIRS} INSERT INTO rollup_1m SELECT pt.series, pt.ts / 60000 * 60000, "
        f"{_AGG_1M} FROM points pt JOIN p ON {_IN_PAIR.format(t='pt')} GROUP BY 1, 2 {_SET}",
        args,
    ).rowcount
    in_hour = (
        "r.series = p.series AND r.ts >= p.hour * 3600000 AND r.ts < (p.hour + 1) * 3600000 "
        "AND r.ts >= %(hlo)s::bigint AND r.ts < %(hi)s::bigint"
    )
    conn.execute(f"WITH {_PAIRS} DELETE FROM rollup_1h r USING p WHERE {in_hour}", args)
    n2 = conn.execute(
        f"WITH {_PAIRS} INSERT INTO rollup_1h SELECT r.series, r.ts / 3600000 * 3600000, "
        "sum(r.n)::bigint, sum(r.total), min(r.low), max(r.high), "
        f"(array_agg(r.last ORDER BY r.ts DESC))[1] FROM rollup_1m r JOIN p ON {in_hour} "
        f"GROUP BY 1, 2 {_SET}",
        args,
    ).rowcount
    return n1 + n2


def _merge_late(conn: Connection, pairs: list[tuple[Any, ...]]) -> int:
    """Fold points that arrived for hours whose raw points retention already removed into the
    rollups (recomputing would lose what the rollups kept), then remove those points too.

    Within a minute, such a late point counts as the minute's last: the time of the last
    value rolled up before is no longer known.
    """
    if not pairs:
        return 0
    args = _pair_args(pairs)
    in_hour = (
        "pt.series = p.series AND pt.ts >= p.hour * 3600000 AND pt.ts < (p.hour + 1) * 3600000 "
        "AND pt.ts >= %(hlo)s::bigint AND pt.ts < %(hi)s::bigint"
    )
    merge = (
        "ON CONFLICT (series, ts) DO UPDATE SET n = {t}.n + excluded.n, "
        "total = {t}.total + excluded.total, low = least({t}.low, excluded.low), "
        "high = greatest({t}.high, excluded.high), last = excluded.last"
    )
    # A data-modifying WITH runs to completion whether or not the main query reads it.
    rows = conn.execute(
        f"WITH {_PAIRS}, m AS (SELECT pt.series, pt.ts / 60000 * 60000 AS ts, {_AGG_1M}, "
        f"max(pt.ts) AS newest FROM points pt JOIN p ON {in_hour} GROUP BY 1, 2), "
        "a AS (INSERT INTO rollup_1m SELECT series, ts, n, total, low, high, last FROM m "
        f"{merge.format(t='rollup_1m')}) "
        "INSERT INTO rollup_1h SELECT series, ts / 3600000 * 3600000, sum(n)::bigint, "
        "sum(total), min(low), max(high), (array_agg(last ORDER BY newest DESC))[1] FROM m "
        f"GROUP BY 1, 2 {merge.format(t='rollup_1h')}",
        args,
    ).rowcount
    conn.execute(f"WITH {_PAIRS} DELETE FROM points pt USING p WHERE {in_hour}", args)
    return rows


def read_rollup_buckets(
    conn: Connection, series: int, start_ms: int, end_ms: int, width: int
) -> pa.Table | None:
    """(ts_ms, avg, min, max, last, count) per bucket from the rollups and the raw points of
    the hours not rolled up yet; None when raw points alone answer (short ranges)."""
    if not rollup_width(start_ms, end_ms, width, 2**62):
        return None  # no raw cut could make this range read the rollups
    first, last = start_ms // HOUR_MS, (end_ms - 1) // HOUR_MS
    row = conn.execute(
        "SELECT (SELECT cut_ms FROM raw_cuts WHERE series = %(s)s), (SELECT array_agg(hour) "
        "FROM rollup_dirty WHERE series = %(s)s AND hour BETWEEN %(a)s AND %(b)s)",
        {"s": series, "a": first, "b": last},
    ).fetchone()
    assert row is not None
    cut = int(row[0] or 0)
    level = rollup_width(start_ms, end_ms, width, cut)
    if not level or -(-start_ms // MINUTE_MS) * MINUTE_MS >= end_ms // MINUTE_MS * MINUTE_MS:
        return None
    # Hours before the raw cut may have lost their raw points: a late point there shows once
    # compaction has merged it.
    dirty = [int(h) for h in row[1] or [] if int(h) * HOUR_MS >= cut]
    raw, minutes, hours = plan_ranges(start_ms, end_ms, level, dirty)
    point = "ts AS key, 1::bigint AS n, value AS total, value AS low, value AS high, value AS last"
    rolled = "ts AS key, n, total, low, high, last"
    pieces = [("points", point, r) for r in raw] + [("rollup_1m", rolled, r) for r in minutes]
    pieces += [("rollup_1h", rolled, r) for r in hours]
    # Every bound is an int computed here, so the pieces are written out whole.
    sql = " UNION ALL ".join(
        f"SELECT {cols} FROM {table} WHERE series = {int(series)} "
        f"AND ts >= {int(lo)} AND ts < {int(hi)}"
        for table, cols, (lo, hi) in pieces
    )
    return per_bucket(fetch_table(conn, sql, [], PARTS), width)


def per_bucket(parts: pa.Table, width: int) -> pa.Table:
    """Sum pieces (key, n, total, low, high, last) per bucket, as PostgreSQL's aggregates
    would: min skips NaN (PostgreSQL orders NaN above every number), max and sums keep it.

    >>> t = pa.table({"key": [60_000, 0, 5], "n": [2, 1, 1], "total": [3.0, 1.0, 2.0],
    ...     "low": [1.0, 1.0, 2.0], "high": [2.0, 1.0, 2.0], "last": [2.0, 1.0, 2.0]})
    >>> per_bucket(t, 60_000).to_pydict()["count"]
    [2, 2]
    """
    if not parts.num_rows:
        return BUCKETS.empty_table()
    keys = np.asarray(parts["key"], dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    bucket = keys[order] // width * width
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(bucket)] - 1
    col = {name: np.asarray(parts[name])[order] for name in ("n", "total", "low", "high", "last")}
    n = np.add.reduceat(col["n"], starts)
    columns = [
        bucket[starts],
        np.add.reduceat(col["total"], starts) / n,
        np.fmin.reduceat(col["low"], starts),
        np.maximum.reduceat(col["high"], starts),
        col["last"][ends],
        n,
    ]
    return pa.Table.from_arrays([pa.array(c) for c in columns], schema=BUCKETS)
