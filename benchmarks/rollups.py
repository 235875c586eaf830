"""rollups: the equipment page's long-range charts from rollups vs raw points, and their cost.

A store holds 30 days of N signals at 1 Hz (full: 40, ``--quick``: 10), loaded day by day in
big sorted batches through ``write()``; after each day the store compacts (which rolls the day
up) and re-sorts the closed day, as the runtime does. The last five minutes arrive as small
live batches and stay in the hot table while charts are timed, so answers are stitched as they
are live. Timed on one signal, alternately: ``DuckDBStore.buckets()`` (rollups where they
serve) and the raw-points query it ran before rollups (``read_raw_buckets``), for 24 h (1-minute
buckets, and ~1,000 buckets as a chart 1,000 px wide asks), 7 days and 30 days (~1,000 buckets).
Figures are medians; the peer is the raw-points query on the same store.

Also: the rollup work per day of points (compaction after a day's load), one live compaction
(5 minutes of every signal: move plus rollup), and the rollups' bytes per raw point.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from benchmarks.assets import bench_city
from benchmarks.common import Figure, cli, log, median, temp_dir
from benchmarks.data import sorted_batch
from kiln.domain.batches import Bundle, PointBatch
from kiln.store.base import bucket_width_ms
from kiln.store.duckdb import DuckDBStore
from kiln.store.duckdb_buckets import read_raw_buckets

DAY_MS = 86_400_000
DAYS = 30
LIVE_S = 300
QUERIES = 30
MAX_QUERY_S = 30.0
WINDOWS = (  # (figure, window, max_points, bucket_ms)
    ("rollup_chart_24h_1m", DAY_MS, 2_000, 60_000),
    ("rollup_chart_24h", DAY_MS, 1_000, 0),
    ("rollup_chart_7d", 7 * DAY_MS, 1_000, 0),
    ("rollup_chart_30d", 30 * DAY_MS, 1_000, 0),
)


def _load(store: DuckDBStore, series: NDArray[np.int64], first_day: int, notes: list[str]) -> int:
    """30 days in big sorted batches, each day compacted (rolled up) and re-sorted after."""
    total = 0
    rollup_s = resort_s = 0.0
    for d in range(DAYS):
        day = first_day + d * DAY_MS
        for k in range(0, len(series), 10):
            batch = sorted_batch(series[k : k + 10], day, DAY_MS // 1000)
            store.write(Bundle(points=batch))
            total += len(batch)
        t0 = time.perf_counter()
        store.compact()
        rollup_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        store.reorganize()
        resort_s += time.perf_counter() - t0
        if d % 5 == 4:
            log(f"rollups: loaded day {d + 1}/{DAYS}")
    notes.append(
        f"load: {total:,} points; rolling up a day of {len(series)} signals took "
        f"{rollup_s / DAYS * 1e3:.0f} ms ({total / rollup_s / 1e6:.1f} M points/s); "
        f"re-sorting it {resort_s / DAYS * 1e3:.0f} ms"
    )
    return total


def _live(store: DuckDBStore, series: NDArray[np.int64], start: int) -> None:
    """Five minutes of every signal as one small batch a second, left in the hot table."""
    for s in range(LIVE_S):
        ts = np.full(len(series), start + s * 1000)
        store.write(Bundle(points=PointBatch.of(series, ts, np.full(len(series), 1.5))))


def run(quick: bool) -> list[Figure]:
    n = 10 if quick else 40
    now = int(time.time() * 1000)
    first_day = now - now % DAY_MS - DAYS * DAY_MS
    figures = [
        Figure(
            name,
            f"buckets() of one signal over {window // 3_600_000} h "
            f"({'1-min buckets' if bucket_ms else f'<= {max_points} buckets'}), out of {n} "
            f"signals x {DAYS} days at 1 Hz; rollups vs the raw-points query",
            None,
            "ms",
            peer="raw points",
            higher_is_better=False,
        )
        for name, window, max_points, bucket_ms in WINDOWS
    ]
    with temp_dir("rollups") as tmp:
        store = DuckDBStore(tmp / "kiln.duckdb")
        cat = store.import_assets(bench_city(n), where="benchmark")
        series = np.array(sorted(cat.signals)[:n], dtype=np.int64)
        log(f"rollups: loading {DAYS} days of {n} signals at 1 Hz")
        total = _load(store, series, first_day, figures[0].notes)
        end = first_day + DAYS * DAY_MS + LIVE_S * 1000 - 12_345  # unaligned, as "now" is
        _live(store, series, first_day + DAYS * DAY_MS)
        sid = int(series[len(series) // 2])
        con = store._cursor()
        for fig, (_, window, max_points, bucket_ms) in zip(figures, WINDOWS, strict=True):
            start = end - window
            width = bucket_width_ms(start, end, max_points, bucket_ms)

            def rolled(s: int = start, mp: int = max_points, b: int = bucket_ms) -> pa.Table:
                return store.buckets(sid, s, end, max_points=mp, bucket_ms=b)

            def raw(s: int = start, w: int = width) -> pa.Table:
                return read_raw_buckets(con, sid, s, end, w)

            a, b = rolled(), raw()
            same = a.drop(["avg"]).equals(b.drop(["avg"])) and np.allclose(a["avg"], b["avg"])
            tr, tw = _interleaved(rolled, raw)
            fig.value, fig.peer_value = median(tr) * 1e3, median(tw) * 1e3
            fig.notes.append(
                f"width {width // 1000} s, {a.num_rows} buckets; "
                f"same answer (avg to rounding): {same}; {len(tr)} queries each"
            )
        t0 = time.perf_counter()
        store.compact()
        live = Figure(
            "rollup_compaction",
            f"one live compaction: {LIVE_S} s of {n} signals in the hot table, moved and rolled up",
            (time.perf_counter() - t0) * 1e3,
            "ms",
            higher_is_better=False,
        )
        # The rollup's share: the same hours marked again and rolled up alone.
        store._cursor().execute(
            "INSERT OR IGNORE INTO rollup_dirty SELECT series, ts // 3600000, min(ts) FROM points "
            "WHERE ts >= ? GROUP BY ALL",
            [first_day + DAYS * DAY_MS],
        )
        t0 = time.perf_counter()
        rows = store.rollup()
        live.notes.append(
            f"of which the rollup: {(time.perf_counter() - t0) * 1e3:.1f} ms ({rows} rows)"
        )
        report = store.storage_report(now, days=1)
        size = Figure(
            "rollup_bytes_per_point",
            "bytes of rollup_1m + rollup_1h per raw point (blocks each table uses)",
            None,
            "bytes/point",
            higher_is_better=False,
        )
        usage = {t.name: t for t in report.tables}
        size.value = (usage["rollup_1m"].bytes + usage["rollup_1h"].bytes) / total
        size.notes.append(
            f"points {usage['points'].bytes / total:.2f} bytes/point; rollup_1m "
            f"{usage['rollup_1m'].rows:,} rows, {usage['rollup_1m'].bytes / 2**20:.1f} MB; "
            f"rollup_1h {usage['rollup_1h'].rows:,} rows, {usage['rollup_1h'].bytes / 2**20:.1f} MB"
        )
        store.close()
    return [*figures, live, size]


def _interleaved(
    a: Callable[[], object], b: Callable[[], object]
) -> tuple[list[float], list[float]]:
    """Warm both, then time a() and b() alternately (order swapped each round)."""
    for _ in range(3):
        a()
        b()
    ta: list[float] = []
    tb: list[float] = []
    deadline = time.perf_counter() + MAX_QUERY_S
    for k in range(QUERIES):
        for fn, out in ((a, ta), (b, tb)) if k % 2 == 0 else ((b, tb), (a, ta)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        if time.perf_counter() > deadline:
            break
    return ta, tb


if __name__ == "__main__":
    cli("rollups", run)
