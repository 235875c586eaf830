"""Telemetry reads in PostgreSQL, answering with DuckDBStore's columns and types: raw points,
chart buckets, last values, state intervals and current states, and summed counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
import pyarrow as pa

from kiln.store.postgres_binary import fetch_table, rows_table

Connection = psycopg.Connection[Any]

POINTS = pa.schema([("series", pa.int32()), ("ts_ms", pa.int64()), ("value", pa.float64())])
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
INTERVALS = pa.schema(
    [
        ("equipment", pa.int32()),
        ("start_ms", pa.int64()),
        ("end_ms", pa.int64()),
        ("state", pa.int8()),
        ("reason", pa.string()),
    ]
)
STATES = pa.schema(
    [
        ("equipment", pa.int32()),
        ("ts_ms", pa.int64()),
        ("state", pa.int8()),
        ("reason", pa.string()),
    ]
)
COUNTS = pa.schema(
    [
        ("equipment", pa.int32()),
        ("ts_ms", pa.int64()),
        ("good", pa.int64()),
        ("scrap", pa.int64()),
        ("rework", pa.int64()),
    ]
)
# The last change of an equipment (eq.equipment) before $a: one backward index probe.
LAST_BEFORE = (
    "SELECT s.equipment, s.ts, s.state, s.reason FROM states s "
    "WHERE s.equipment = eq.equipment AND s.ts < %(a)s::bigint ORDER BY s.ts DESC LIMIT 1"
)


def read_points(conn: Connection, series: Sequence[int], start_ms: int, end_ms: int) -> pa.Table:
    """Raw points with start_ms <= ts_ms < end_ms, ordered by series, then ts_ms."""
    return fetch_table(
        conn,
        "SELECT series, ts AS ts_ms, value FROM points WHERE series = ANY(%s::int[]) "
        "AND ts >= %s::bigint AND ts < %s::bigint ORDER BY series, ts",
        [list(series), start_ms, end_ms],
        POINTS,
    )


def read_buckets(conn: Connection, series: int, start_ms: int, end_ms: int, width: int) -> pa.Table:
    """(ts_ms, avg, min, max, last, count) per bucket of width ms, in time order."""
    # One index-only pass aggregates every bucket and finds its newest ts; the last value is
    # then one index probe per bucket (cheaper than ordering each bucket's values).
    args = {"s": series, "a": start_ms, "b": end_ms, "w": width}
    window = "series = %(s)s::int AND ts >= %(a)s::bigint AND ts < %(b)s::bigint"
    rows = conn.execute(
        "WITH g AS (SELECT ts / %(w)s::bigint * %(w)s::bigint AS b, avg(value) AS avg, "
        "min(value) AS min, max(value) AS max, count(*) AS n, max(ts) AS newest "
        f"FROM points WHERE {window} GROUP BY 1) "
        "SELECT g.b, g.avg, g.min, g.max, l.value, g.n FROM g CROSS JOIN LATERAL "
        f"(SELECT value FROM points WHERE {window} AND ts = g.newest LIMIT 1) l ORDER BY 1",
        args,
    ).fetchall()
    return rows_table(rows, BUCKETS)


def read_last_values(conn: Connection, series: Sequence[int] | None) -> pa.Table:
    """The latest (series, ts_ms, value) of the asked series (all when None), by series."""
    where = "" if series is None else "WHERE series = ANY(%s::int[])"
    return fetch_table(
        conn,
        f"SELECT series, ts AS ts_ms, value FROM series_last {where} ORDER BY series",
        [] if series is None else [list(series)],
        POINTS,
    )


def read_state_intervals(
    conn: Connection, equipment: Sequence[int], start_ms: int, end_ms: int
) -> pa.Table:
    """Intervals (equipment, start_ms, end_ms, state, reason) clipped to the window; the last
    of an equipment runs to end_ms."""
    # The interval open at start_ms began with the last change before it; later changes close
    # each interval, and the last one runs to end_ms.
    rows = conn.execute(
        "WITH eq AS (SELECT unnest(%(e)s::int[]) AS equipment), "
        "chg AS (SELECT s.equipment, s.ts, s.state, s.reason FROM states s "
        "JOIN eq USING (equipment) WHERE s.ts >= %(a)s::bigint AND s.ts < %(b)s::bigint "
        f"UNION ALL SELECT l.* FROM eq CROSS JOIN LATERAL ({LAST_BEFORE}) l), "
        "ivl AS (SELECT equipment, greatest(ts, %(a)s::bigint) AS start_ms, "
        "lead(ts, 1, %(b)s::bigint) OVER (PARTITION BY equipment ORDER BY ts) AS end_ms, "
        "state, reason FROM chg) "
        "SELECT equipment, start_ms, end_ms, state, reason FROM ivl WHERE end_ms > start_ms "
        "ORDER BY equipment, start_ms",
        {"e": list(equipment), "a": start_ms, "b": end_ms},
    ).fetchall()
    return rows_table(rows, INTERVALS)


def read_current_states(conn: Connection, equipment: Sequence[int] | None) -> pa.Table:
    """The latest state change (equipment, ts_ms, state, reason) of each equipment."""
    if equipment is None:
        # Every equipment with a change: a skip scan of the index, one probe per equipment.
        eq = (
            "WITH RECURSIVE e(equipment) AS (SELECT min(equipment) FROM states UNION ALL "
            "SELECT (SELECT min(equipment) FROM states WHERE equipment > e.equipment) FROM e "
            "WHERE e.equipment IS NOT NULL) SELECT equipment FROM e WHERE equipment IS NOT NULL"
        )
        params: dict[str, Any] = {"a": 2**63 - 1}
    else:
        eq = "SELECT DISTINCT unnest(%(e)s::int[]) AS equipment"
        params = {"e": list(equipment), "a": 2**63 - 1}
    rows = conn.execute(
        f"SELECT l.* FROM ({eq}) eq CROSS JOIN LATERAL ({LAST_BEFORE}) l ORDER BY 1", params
    ).fetchall()
    return rows_table(rows, STATES)


def read_counts(
    conn: Connection, equipment: Sequence[int], start_ms: int, end_ms: int, bucket_ms: int
) -> pa.Table:
    """Summed good, scrap and rework per equipment (and per bucket when bucket_ms > 0)."""
    bucket = "ts / %(w)s::bigint * %(w)s::bigint" if bucket_ms > 0 else "%(a)s::bigint"
    rows = conn.execute(
        f"SELECT equipment, {bucket} AS ts_ms, sum(good)::bigint, sum(scrap)::bigint, "
        "sum(rework)::bigint FROM counts WHERE equipment = ANY(%(e)s::int[]) "
        "AND ts >= %(a)s::bigint AND ts < %(b)s::bigint GROUP BY 1, 2 ORDER BY 1, 2",
        {"e": list(equipment), "a": start_ms, "b": end_ms, "w": bucket_ms},
    ).fetchall()
    return rows_table(rows, COUNTS)
