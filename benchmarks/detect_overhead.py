"""detect_overhead: what the anomaly monitor adds to ingest, per point, beside the store write.

Kiln: ``AnomalyMonitor.observe(batch)`` on batches shaped like ingest: 10,000 series x 1 point
(live, one second) and 1,000 series x 100 points (a gateway's 100 s buffer). Peer: writing the
same batches to a DuckDB file with ``DuckDBStore.write`` (the store_write path), same run.
The figure is monitor time / store time over all batches of both shapes.

Target: <= 0.2 (detection adds under 20 % to the ingest cost).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import Figure, cli, log, temp_dir
from kiln.analytics.monitor import AnomalyMonitor
from kiln.domain.batches import Bundle, PointBatch
from kiln.domain.catalog import AssetCatalog
from kiln.store.duckdb import DuckDBStore

START_MS = 1_764_000_000_000


def make_batches(series: int, per_series: int, count: int) -> list[PointBatch]:
    """count consecutive batches: every series, per_series points 1 s apart, sorted by series."""
    rng = np.random.default_rng(series * per_series)
    ids = np.arange(1, series + 1, dtype=np.int64)
    out = []
    for k in range(count):
        ts = START_MS + (k * per_series + np.arange(per_series, dtype=np.int64)) * 1000
        value = 50.0 + rng.normal(0.0, 1.0, series * per_series)
        out.append(PointBatch(np.repeat(ids, per_series), np.tile(ts, series), value))
    return out


def time_both(batches: list[PointBatch], path: object) -> tuple[float, float, int]:
    """Seconds in monitor.observe and in store.write over the batches; points."""
    mon = AnomalyMonitor(AssetCatalog())
    store = DuckDBStore(path)  # type: ignore[arg-type]
    t_mon = t_store = 0.0
    for b in batches:
        t0 = time.perf_counter()
        mon.observe(b)
        t1 = time.perf_counter()
        store.write(Bundle(points=b))
        t_store += time.perf_counter() - t1
        t_mon += t1 - t0
    store.close()
    return t_mon, t_store, sum(len(b) for b in batches)


def run(quick: bool) -> list[Figure]:
    shapes = ((10_000, 1, 60 if quick else 300), (1_000, 100, 10 if quick else 60))
    total_mon = total_store = 0.0
    notes = []
    with temp_dir("detect-overhead") as tmp:
        for series, per, count in shapes:
            log(f"detect_overhead: {count} batches of {series:,} series x {per} points")
            t_mon, t_store, n = time_both(make_batches(series, per, count), tmp / f"s{per}.duckdb")
            total_mon += t_mon
            total_store += t_store
            notes.append(
                f"{series:,} x {per}: monitor {1e9 * t_mon / n:.0f} ns/point, store "
                f"{1e9 * t_store / n:.0f} ns/point, ratio {t_mon / t_store:.3f}"
            )
            log(notes[-1])
    fig = Figure(
        "detect_overhead",
        "AnomalyMonitor.observe time / DuckDBStore.write time, same batches (10k x 1, 1k x 100)",
        total_mon / total_store,
        "x store",
        higher_is_better=False,
        target_value=0.2,
    )
    fig.notes.extend(notes)
    return [fig]


if __name__ == "__main__":
    cli("detect_overhead", run)
