"""size: bytes on disk per stored point, for the simulator's signals, in the steady state.

The default city is backfilled day by day into a fresh store through the runtime (7 days;
``--quick``: 2), and after each day closes the store re-sorts it (``store.reorganize()``, which
the runtime runs after each compaction), as a store that has been running for a week would be.
The figure is the file's size (free blocks included) over the points stored. Free blocks are
what a re-sorted day leaves behind; the next day's points are written into them.
For reference, the same rows are copied, sorted, into a plain DuckDB table in a fresh file
(the peer: what DuckDB alone makes of these rows).

Target: <= 3.7 bytes/point.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from benchmarks.common import Figure, cli, log, simulator_ready, temp_dir

TARGET = 3.7
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def run(quick: bool) -> list[Figure]:
    days = 2 if quick else 7
    fig = Figure(
        "size",
        f"bytes on disk per point: {days} days of the default city backfilled day by day into "
        "a fresh store, each closed day re-sorted as the runtime does; file size incl. free "
        "blocks (peer: the same rows sorted into a plain DuckDB table in a fresh file)",
        None,
        "bytes/point",
        peer="plain DuckDB table",
        higher_is_better=False,
        target_value=TARGET,
    )
    why = simulator_ready()
    if why:
        fig.notes.append(f"skipped: {why}")
        return [fig]
    from kiln.config import load_settings
    from kiln.runtime import build_runtime
    from kiln.store.duckdb import DuckDBStore

    with temp_dir("size") as tmp:
        path = tmp / "kiln.duckdb"
        settings = load_settings(
            environ={},
            overrides={"store": {"path": str(path)}, "simulator": {"backfill_hours": 25}},
        )
        now = int(time.time() * 1000)
        first_day = now - now % DAY_MS - days * DAY_MS
        t0 = time.perf_counter()
        rt = build_runtime(settings, simulate=True)
        assert rt.simulator is not None
        rows = resorted = 0
        resort_s = 0.0
        for d in range(days):
            # Each day plus two hours, so the day is closed (past the late-data grace) when the
            # store re-sorts it; the next call continues where this one stopped.
            until = first_day + (d + 1) * DAY_MS + 2 * HOUR_MS
            log(f"size: backfilling day {d + 1}/{days}")
            rows += rt.simulator.catch_up(until)
            t1 = time.perf_counter()
            resorted += rt.store.reorganize()
            resort_s += time.perf_counter() - t1
        signals = len(rt.catalog.signals)
        rt.close()
        took = time.perf_counter() - t0
        store = DuckDBStore(path)
        stats = store.stats()
        store.close()
        fig.value = stats.bytes_per_point
        fig.details.update(
            points=stats.points,
            bytes=stats.bytes_on_disk,
            signals=signals,
            states=stats.states,
            counts=stats.counts,
        )
        fig.notes.append(
            f"{stats.points:,} points of {signals:,} signals, {stats.states:,} states, "
            f"{stats.counts:,} counts; file {stats.bytes_on_disk / 2**20:.1f} MB; backfill and "
            f"re-sort took {took:.1f} s ({rows:,} rows; re-sorting {resorted:,} points took "
            f"{resort_s:.1f} s)"
        )
        fig.notes += _breakdown(path, stats.points)
        fig.peer_value = _plain_copy(path, tmp / "plain.duckdb", stats.points)
    return [fig]


def _breakdown(path: Path, points: int) -> list[str]:
    """Where the bytes go: blocks per table, and the compression DuckDB chose per column."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        block = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
        total_blocks = con.execute("SELECT total_blocks FROM pragma_database_size()").fetchone()[0]
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() ORDER BY table_name"
            ).fetchall()
        ]
        per_table = []
        for t in tables:
            n = con.execute(
                f"SELECT count(DISTINCT block_id) FROM pragma_storage_info('{t}') "
                "WHERE block_id >= 0"
            ).fetchone()[0]
            if n:
                per_table.append((n, t))
        per_table.sort(reverse=True)
        free = con.execute("SELECT free_blocks FROM pragma_database_size()").fetchone()[0]
        notes = [
            f"file: {total_blocks} blocks of {block // 1024} KB, {free} free (used blocks: "
            f"{(total_blocks - free) * block / max(points, 1):.2f} bytes/point); blocks used "
            "per table: " + ", ".join(f"{t} {n}" for n, t in per_table[:6])
        ]
        comp = con.execute(
            "SELECT column_name, compression, count(*) FROM pragma_storage_info('points') "
            "WHERE segment_type <> 'VALIDITY' GROUP BY ALL ORDER BY 1, 3 DESC"
        ).fetchall()
        by_col: dict[str, list[str]] = {}
        for col, c, n in comp:
            by_col.setdefault(col, []).append(f"{c} x{n}")
        notes.append(
            "points compression (segments): "
            + "; ".join(f"{col}: {', '.join(v)}" for col, v in by_col.items())
        )
        return notes
    except duckdb.Error as err:
        return [f"breakdown unavailable: {err}"]
    finally:
        con.close()


def _plain_copy(src: Path, dst: Path, points: int) -> float | None:
    """Bytes/point of the same rows, sorted by (series, ts), in a fresh plain DuckDB table."""
    if not points:
        return None
    con = duckdb.connect(str(dst))
    try:
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        con.execute(
            "CREATE TABLE t AS SELECT series, ts, value FROM ("
            "SELECT * FROM src.points UNION ALL SELECT * FROM src.points_hot) "
            "ORDER BY series, ts"
        )
        con.execute("DETACH src")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return dst.stat().st_size / points


if __name__ == "__main__":
    cli("size", run)
