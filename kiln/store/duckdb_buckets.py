"""Chart buckets in DuckDB: from raw points, or stitched from rollups and raw points.

A long range reads the rollups (kiln.store.duckdb_rollups) for its whole minutes and hours
that are rolled up, and raw points for the rest: the partial minutes at its ends, and the hours
written since their last rollup (``rollup_dirty``, and whatever waits in ``points_hot``). Each
piece is a plain range scan, so zone maps prune it; the pieces are summed per bucket here, in
NumPy, which on a small machine costs a third of DuckDB grouping them.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# Bucket queries over longer ranges than these read the rollups (when the width is a multiple
# of the rollup's); shorter ones read raw points, as fast there (benchmarks/rollups.py).
ROLLUP_1M_FROM_MS = 6 * HOUR_MS
ROLLUP_1H_FROM_MS = 2 * DAY_MS
MAX_DIRTY_RUNS = 16  # more separate runs of dirty hours are read as raw points from first to last

Ranges = list[tuple[int, int]]


@dataclass(slots=True)
class Lag:
    """How far the rollups lag the raw points, kept in memory by the store (which makes every
    write): reads stitch raw points in where they lag, and skip looking where they do not.

    Each write updates it before its rows become visible, and compaction clears it after, so a
    read may look at more than it needs, never at less.
    """

    raw_cut_ms: int = 0  # before this, some series' raw points may be gone (retention)
    hot_from_ms: int | None = None  # the earliest point waiting in points_hot
    dirty: bool = False  # rollup_dirty may hold rows

    def wrote(self, ts_min: int, *, hot: bool) -> None:
        """Points from ts_min on are being written, to points_hot or (dirty) to points."""
        if not hot:
            self.dirty = True
        elif self.hot_from_ms is None or ts_min < self.hot_from_ms:
            self.hot_from_ms = ts_min

    def hours(self, con: duckdb.DuckDBPyConnection, series: int, start: int, end: int) -> list[int]:
        """The hours of [start, end) of a series to read raw: written since their last rollup,
        or from the earliest hot point on; not before the raw cut, where raw points may be
        gone (a late point there shows once compaction has merged it)."""
        first, last = start // HOUR_MS, (end - 1) // HOUR_MS
        hours: list[int] = []
        if self.dirty:
            row = con.execute(
                "SELECT list(DISTINCT hour) FROM (SELECT hour FROM rollup_dirty WHERE series = $s "
                "AND hour BETWEEN $a AND $b UNION ALL SELECT hour FROM rollup_hour_marks "
                "WHERE $s BETWEEN series_lo AND series_hi AND hour BETWEEN $a AND $b)",
                {"s": series, "a": first, "b": last},
            ).fetchall()[0][0]
            hours += row or []
        if self.hot_from_ms is not None:
            hours += range(max(first, self.hot_from_ms // HOUR_MS), last + 1)
        cut = -(-self.raw_cut_ms // HOUR_MS)
        return [h for h in hours if h >= cut]


def rollup_width(start_ms: int, end_ms: int, width: int, raw_cut_ms: int = 0) -> int:
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


def _runs(hours: list[int]) -> Ranges:
    """Consecutive hours as [start_ms, end_ms) runs.

    >>> _runs([1, 2, 5])
    [(3600000, 10800000), (18000000, 21600000)]
    """
    out: Ranges = []
    for h in sorted(set(hours)):
        if out and out[-1][1] == h * HOUR_MS:
            out[-1] = (out[-1][0], (h + 1) * HOUR_MS)
        else:
            out.append((h * HOUR_MS, (h + 1) * HOUR_MS))
    if len(out) > MAX_DIRTY_RUNS:
        out = [(out[0][0], out[-1][1])]
    return out


def plan_ranges(
    start_ms: int, end_ms: int, level: int, dirty_hours: list[int]
) -> tuple[Ranges, Ranges, Ranges]:
    """Split [start, end) into what raw points, 1-minute and 1-hour rollups answer.

    >>> plan_ranges(30_000, 3 * HOUR_MS + 30_000, HOUR_MS, [])
    ([(30000, 60000), (10800000, 10830000)], [(60000, 3600000)], [(3600000, 10800000)])
    >>> plan_ranges(0, 3 * HOUR_MS, MINUTE_MS, [1])
    ([(3600000, 7200000)], [(0, 3600000), (7200000, 10800000)], [])
    """
    a1, b1 = _ceil(start_ms, MINUTE_MS), end_ms // MINUTE_MS * MINUTE_MS
    a60, b60 = _ceil(start_ms, HOUR_MS), end_ms // HOUR_MS * HOUR_MS
    if level == MINUTE_MS or a60 >= b60:
        a60 = b60 = a1  # no hourly part
    raw: Ranges = [(start_ms, a1), (b1, end_ms)]
    clean: Ranges = [(a1, b1)]
    for lo, hi in _runs(dirty_hours):
        lo, hi = max(lo, a1), min(hi, b1)
        if lo >= hi:
            continue
        raw.append((lo, hi))
        clean = [p for c in clean for p in ((c[0], min(c[1], lo)), (max(c[0], hi), c[1]))]
    minutes: Ranges = []
    hours: Ranges = []
    for lo, hi in clean:
        hours.append((max(lo, a60), min(hi, b60)))
        minutes += [(lo, min(hi, a60)), (max(lo, b60), hi)]
    return _nonempty(raw), _nonempty(minutes), _nonempty(hours)


def _nonempty(ranges: Ranges) -> Ranges:
    return sorted((lo, hi) for lo, hi in ranges if lo < hi)


def read_buckets(
    con: duckdb.DuckDBPyConnection,
    series: int,
    start_ms: int,
    end_ms: int,
    width: int,
    lag: Lag,
) -> pa.Table:
    """(ts_ms, avg, min, max, last, count) per bucket of ``width``, from rollups where they
    serve (see ``rollup_width``), else from raw points; the same answer either way."""
    level = rollup_width(start_ms, end_ms, width, lag.raw_cut_ms)
    if not level or _ceil(start_ms, MINUTE_MS) >= end_ms // MINUTE_MS * MINUTE_MS:
        return read_raw_buckets(con, series, start_ms, end_ms, width)
    raw, minutes, hours = plan_ranges(
        start_ms, end_ms, level, lag.hours(con, series, start_ms, end_ms)
    )
    # Every bound is an int computed here, so the pieces are written out whole.
    point = "ts AS key, 1::BIGINT AS n, value AS total, value AS low, value AS high, value AS last"
    pieces = [("points", "ts", 1, r) for r in raw] + [("points_hot", "ts", 1, (start_ms, end_ms))]
    pieces += [("rollup_1m", "minute", MINUTE_MS, r) for r in minutes]
    pieces += [("rollup_1h", "hour", HOUR_MS, r) for r in hours]
    rolled = "{col}::BIGINT * {unit} AS key, n, total, low, high, last"
    sql = " UNION ALL ".join(
        f"SELECT {point if unit == 1 else rolled.format(col=col, unit=unit)} "
        f"FROM {table} WHERE series = {int(series)} "
        f"AND {col} >= {int(lo) // unit} AND {col} < {int(hi) // unit}"
        for table, col, unit, (lo, hi) in pieces
    )
    return _per_bucket(con.sql(sql).to_arrow_table(), width)


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


def _per_bucket(parts: pa.Table, width: int) -> pa.Table:
    """Sum pieces (key, n, total, low, high, last) per bucket, as DuckDB's aggregates would:
    min skips NaN (DuckDB orders NaN above every number), max and sums keep it."""
    if not parts.num_rows:
        return BUCKETS.empty_table()
    order = np.argsort(np.asarray(parts["key"], dtype=np.int64), kind="stable")
    bucket = np.asarray(parts["key"], dtype=np.int64)[order] // width * width
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
