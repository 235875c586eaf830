"""store_write: ready columnar batches of 100,000 points into a DuckDB file.

Kiln: ``DuckDBStore.write(Bundle(points=batch))`` per batch. Peer: DuckDB's own
``INSERT INTO t SELECT * FROM arrow_table`` of the same Arrow tables into an equivalent table
(series INTEGER, ts BIGINT, value DOUBLE) in another file, same settings (memory limit, threads).
Both timings end with a CHECKPOINT, so the points are in the file, not just in the WAL. Rounds
alternate which side goes first; the figure is the median rate over rounds.

Target: >= 0.8x the peer (about 5 M points/s).
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from benchmarks.common import Figure, cli, log, median, temp_dir
from benchmarks.data import sorted_batch
from kiln.domain.batches import Bundle, PointBatch
from kiln.store.duckdb import DuckDBStore

BATCH_POINTS = 100_000
SERIES = 1_000
START_MS = 1_764_000_000_000  # 2025-11-24T16:00:00Z
MAX_ROUND_S = 120.0  # a round stops early (and says so) if it takes longer than this


def make_batches(count: int) -> list[PointBatch]:
    """count batches of 1000 series x 100 s at 1 Hz, each ordered by series then time."""
    series = np.arange(1, SERIES + 1, dtype=np.int64)
    seconds = BATCH_POINTS // SERIES
    return [sorted_batch(series, START_MS + k * seconds * 1000, seconds) for k in range(count)]


def to_arrow(batch: PointBatch) -> pa.Table:
    """The table DuckDB's own insert gets: the same columns, series already INTEGER."""
    return pa.table(
        {"series": batch.series.astype(np.int32), "ts": batch.ts_ms, "value": batch.value}
    )


def run_kiln(path: Path, batches: list[PointBatch]) -> tuple[float, int, int]:
    """Seconds to write every batch through DuckDBStore and checkpoint; points; file bytes."""
    store = DuckDBStore(path)
    n = 0
    t0 = time.perf_counter()
    for b in batches:
        store.write(Bundle(points=b))
        n += len(b)
        if time.perf_counter() - t0 > MAX_ROUND_S:
            break
    store._cursor().execute("CHECKPOINT")
    took = time.perf_counter() - t0
    store.close()
    return took, n, path.stat().st_size


def run_peer(path: Path, tables: list[pa.Table]) -> tuple[float, int, int]:
    """Seconds for DuckDB's own INSERT ... SELECT of the same tables and a checkpoint."""
    con = duckdb.connect(str(path), config={"memory_limit": "1GB", "threads": 2})
    con.execute("CREATE TABLE t (series INTEGER NOT NULL, ts BIGINT NOT NULL, value DOUBLE)")
    n = 0
    t0 = time.perf_counter()
    for arrow_table in tables:
        con.register("arrow_table", arrow_table)
        con.execute("INSERT INTO t SELECT * FROM arrow_table")
        con.unregister("arrow_table")
        n += arrow_table.num_rows
        if time.perf_counter() - t0 > MAX_ROUND_S:
            break
    con.execute("CHECKPOINT")
    took = time.perf_counter() - t0
    con.close()
    return took, n, path.stat().st_size


def run(quick: bool) -> list[Figure]:
    count, rounds = (20, 2) if quick else (50, 3)
    log(f"store_write: making {count} batches of {BATCH_POINTS:,} points")
    batches = make_batches(count)
    tables = [to_arrow(b) for b in batches]
    kiln_rates: list[float] = []
    peer_rates: list[float] = []
    sizes = (0, 0)
    points = 0
    with temp_dir("store-write") as tmp:
        for r in range(rounds):
            kpath, ppath = tmp / f"kiln-{r}.duckdb", tmp / f"peer-{r}.duckdb"
            sides = [
                ("kiln", lambda p=kpath: run_kiln(p, batches)),
                ("duckdb", lambda p=ppath: run_peer(p, tables)),
            ]
            if r % 2:
                sides.reverse()
            results = {}
            for name, fn in sides:
                results[name] = fn()
            (kt, kn, ks), (pt, pn, ps) = results["kiln"], results["duckdb"]
            kiln_rates.append(kn / kt)
            peer_rates.append(pn / pt)
            sizes, points = (ks, ps), kn
            log(
                f"round {r + 1}/{rounds}: kiln {kn / kt / 1e6:.2f} M points/s, "
                f"duckdb {pn / pt / 1e6:.2f} M points/s"
            )
            kpath.unlink(missing_ok=True)
            ppath.unlink(missing_ok=True)
    fig = Figure(
        "store_write",
        f"{count} sorted batches of {BATCH_POINTS:,} points (1000 series, 1 Hz) into a DuckDB "
        "file incl. final CHECKPOINT; peer: INSERT INTO t SELECT * FROM arrow_table, same run",
        median(kiln_rates),
        "points/s",
        peer="duckdb INSERT",
        peer_value=median(peer_rates),
        target_ratio=0.8,
    )
    fig.notes.append(
        "rounds (kiln / duckdb, M points/s): "
        + ", ".join(
            f"{k / 1e6:.2f}/{p / 1e6:.2f}" for k, p in zip(kiln_rates, peer_rates, strict=True)
        )
    )
    fig.notes.append(
        f"file bytes/point: kiln {sizes[0] / points:.2f}, duckdb {sizes[1] / points:.2f}"
    )
    return [fig]


if __name__ == "__main__":
    cli("store_write", run)
