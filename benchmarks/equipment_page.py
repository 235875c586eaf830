"""equipment_page: the equipment page's queries on 100 million stored points, on both backends.

One data set, loaded alike into Kiln's DuckDB store, into Kiln's PostgreSQL store (a throwaway
PostgreSQL from Debian's binaries, as pg_ingest starts it) and into VictoriaMetrics: 400 signals
(40 robots of 10 signals) at 1 Hz for 250,000 s (~2.9 days), 100 M points (``--quick``: 40
signals, 10 M points). Written in big sorted batches of 20 signals (5 M points): DuckDB
``write()`` then ``compact()`` (which rolls the points up), PostgreSQL ``write()`` then
``compact()`` (vacuum, analyze, rollups), VictoriaMetrics by its JSON-lines import.

Timed for one robot (its 10 signals), as the equipment page asks when opened on each window:
``buckets(signal, start, end, max_points=1000)`` of each signal for the last 1 h, 8 h, 24 h and
7 d (a chart 1,000 px wide; long ranges are answered from the rollups), plus
``last_values(its signals)``: 41 calls, in-process. Peer: VictoriaMetrics over HTTP, the same
windows at the same step (the bucket width Kiln picks), one
``avg_over_time(bench_signal{series="N"}[step])`` query_range per signal (response cache off),
plus an instant query of the robot's 10 series for the last values. Each repeat times the whole
set on Kiln and on VictoriaMetrics alternately; a figure is the median of the repeats' totals.

Target: <= 2x VictoriaMetrics' time, on each backend.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray

from benchmarks.assets import bench_city
from benchmarks.common import VICTORIA_METRICS, Figure, cli, log, median, temp_dir
from benchmarks.data import signal_values
from benchmarks.victoria import METRIC, Victoria, victoria
from kiln.domain.batches import Bundle, PointBatch
from kiln.store.base import bucket_width_ms
from kiln.store.duckdb import DuckDBStore
from kiln.store.postgres import PostgresStore

HOUR_MS = 3_600_000
SECONDS = 250_000  # ~2.9 days at 1 Hz
SERIES_PER_LOAD = 20  # 20 signals x 250,000 s = 5 M points per write() and per VM import
MAX_POINTS = 1_000  # a chart 1,000 px wide (the page asks for its width, 100..2,000)
WINDOWS = (("1h", HOUR_MS), ("8h", 8 * HOUR_MS), ("24h", 24 * HOUR_MS), ("7d", 168 * HOUR_MS))
REPEATS = 15
MAX_QUERY_S = 60.0  # each timing loop stops early after this long

Backend = Any  # DuckDBStore | PostgresStore: the same read calls


def _sizes(quick: bool) -> int:
    return 40 if quick else 400


@contextlib.contextmanager
def _maybe_victoria(tmp: Path) -> Iterator[tuple[Victoria | None, Path | None]]:
    if not VICTORIA_METRICS.exists():
        yield None, None
        return
    with victoria(tmp) as (vm, data):
        yield vm, data


@contextlib.contextmanager
def _maybe_postgres() -> Iterator[Any]:
    """A throwaway PostgreSQL (tests.postgres), or None when its binaries are missing."""
    from tests import postgres

    if postgres._bin_dir() is None:
        yield None
        return
    server = postgres.PostgresServer()
    try:
        yield server
    finally:
        server.close()


def _dir_bytes(path: Path) -> int:
    return sum(
        p.stat().st_size
        for p in path.rglob("*")
        if p.is_file() and "cache" not in p.relative_to(path).parts
    )


def _wait_searchable(vm: Victoria, points: int, at_ms: int, timeout_s: float = 300.0) -> float:
    """Flush, then poll until VictoriaMetrics counts every point (the data spans > 2 days)."""
    t0 = time.perf_counter()
    vm.client.get("/internal/force_flush").raise_for_status()
    got = 0
    while time.perf_counter() - t0 < timeout_s:
        got = int(vm.instant(f"sum(count_over_time({METRIC}[5d]))", at_ms) or 0)
        if got >= points:
            return time.perf_counter() - t0
        time.sleep(0.5)
    raise TimeoutError(f"VictoriaMetrics counts {got} of {points} points after {timeout_s} s")


def _load(
    duck: DuckDBStore,
    pg: PostgresStore | None,
    vm: Victoria | None,
    series: NDArray[np.int64],
    start_ms: int,
) -> tuple[int, dict[str, float], int]:
    """Write every series into each store in big sorted batches; (points, seconds each, VM
    JSON bytes)."""
    ts = start_ms + np.arange(SECONDS, dtype=np.int64) * 1000
    took = {"duckdb": 0.0, "postgres": 0.0, "vm": 0.0}
    total = vm_bytes = 0
    for first in range(0, len(series), SERIES_PER_LOAD):
        chunk = series[first : first + SERIES_PER_LOAD]
        values = signal_values(chunk, start_ms // 1000, SECONDS)
        batch = PointBatch(np.repeat(chunk, SECONDS), np.tile(ts, len(chunk)), values.reshape(-1))
        t0 = time.perf_counter()
        duck.write(Bundle(points=batch))
        took["duckdb"] += time.perf_counter() - t0
        if pg is not None:
            t0 = time.perf_counter()
            pg.write(Bundle(points=batch))
            took["postgres"] += time.perf_counter() - t0
        if vm is not None:
            t0 = time.perf_counter()
            vm_bytes += vm.import_series(chunk, ts, values)
            took["vm"] += time.perf_counter() - t0
        total += len(batch)
        log(f"equipment_page: loaded {first + len(chunk)}/{len(series)} signals")
    return total, took, vm_bytes


def _page_calls(
    store: Backend, signals: list[int], end_ms: int
) -> list[tuple[str, Callable[[], object]]]:
    """The page's reads: per window, the buckets of each signal; then the last values."""
    calls: list[tuple[str, Callable[[], object]]] = []
    for name, window in WINDOWS:
        start = end_ms - window

        def charts(s: int = start) -> object:
            return [store.buckets(sid, s, end_ms, max_points=MAX_POINTS) for sid in signals]

        calls.append((name, charts))
    calls.append(("last", lambda: store.last_values(signals)))
    return calls


def _vm_calls(
    vm: Victoria, signals: list[int], end_ms: int
) -> list[tuple[str, Callable[[], object]]]:
    """The same windows at the same step (Kiln's bucket width) from VictoriaMetrics."""
    calls: list[tuple[str, Callable[[], object]]] = []
    for name, window in WINDOWS:
        start = end_ms - window
        step_s = bucket_width_ms(start, end_ms, MAX_POINTS) // 1000

        def charts(s: int = start, step: int = step_s) -> object:
            return [
                vm.query_range(
                    f'avg_over_time({METRIC}{{series="{sid}"}}[{step}s])', s, end_ms, step
                )
                for sid in signals
            ]

        calls.append((name, charts))
    regex = "|".join(str(s) for s in signals)
    calls.append(("last", lambda: vm.query_raw(f'{METRIC}{{series=~"{regex}"}}', end_ms)))
    return calls


def _time_set(calls: list[tuple[str, Callable[[], object]]]) -> dict[str, float]:
    out = {}
    for name, fn in calls:
        t0 = time.perf_counter()
        fn()
        out[name] = time.perf_counter() - t0
    return out


def _measure(
    fig: Figure,
    kiln: list[tuple[str, Callable[[], object]]],
    peer: list[tuple[str, Callable[[], object]]] | None,
) -> None:
    """Warm both, then time the whole set on each alternately (order swapped each round)."""
    for _ in range(2):
        _time_set(kiln)
        if peer:
            _time_set(peer)
    tk: list[dict[str, float]] = []
    tv: list[dict[str, float]] = []
    deadline = time.perf_counter() + MAX_QUERY_S
    for k in range(REPEATS):
        sides = [(kiln, tk), (peer, tv)] if k % 2 == 0 else [(peer, tv), (kiln, tk)]
        for calls, out in sides:
            if calls:
                out.append(_time_set(calls))
        if time.perf_counter() > deadline:
            break
    fig.value = median([sum(r.values()) for r in tk]) * 1e3
    if tv:
        fig.peer_value = median([sum(r.values()) for r in tv]) * 1e3
    parts = []
    for name, _ in kiln:
        k_ms = median([r[name] for r in tk]) * 1e3
        part = f"{name} {k_ms:.1f}"
        if tv:
            part += f" vs {median([r[name] for r in tv]) * 1e3:.1f}"
        parts.append(part)
    fig.notes.append(
        "medians (ms), kiln"
        + (" vs VM" if tv else "")
        + ": "
        + "; ".join(parts)
        + f"; {len(tk)} repeats"
    )
    fig.details["kiln_ms"] = {n: median([r[n] for r in tk]) * 1e3 for n, _ in kiln}
    if tv:
        fig.details["vm_ms"] = {n: median([r[n] for r in tv]) * 1e3 for n, _ in kiln}


def _check(store: Backend, signals: list[int], end_ms: int, vm: Victoria | None) -> str:
    """Bucket counts and mean of the avgs of the first signal per window, beside VM's."""
    out = []
    for name, window in WINDOWS:
        start = end_ms - window
        t = store.buckets(signals[0], start, end_ms, max_points=MAX_POINTS)
        avg = np.asarray(t.column("avg"), dtype=np.float64)
        part = f"{name}: {t.num_rows} buckets, mean {avg.mean():.3f}"
        if vm is not None:
            step = bucket_width_ms(start, end_ms, MAX_POINTS) // 1000
            res = vm.query_range(
                f'avg_over_time({METRIC}{{series="{signals[0]}"}}[{step}s])', start, end_ms, step
            )["data"]["result"]
            vals = np.array([float(v) for _, v in res[0]["values"]]) if res else np.array([])
            part += f" (VM {len(vals)} points, mean {vals.mean() if len(vals) else 0:.3f})"
        out.append(part)
    return "; ".join(out)


def run(quick: bool) -> list[Figure]:
    n = _sizes(quick)
    points = n * SECONDS
    end_ms = int(time.time()) * 1000 - 300_000  # ends 5 minutes ago (inside VM's retention)
    start_ms = end_ms - SECONDS * 1000
    what = (
        f"the equipment page's reads for one robot (10 signals): buckets (<= {MAX_POINTS}) of "
        "each signal over 1 h, 8 h, 24 h and 7 d, plus their last values (41 calls), "
        f"in-process; out of {n} signals x {SECONDS:,} s at 1 Hz ({points / 1e6:.0f} M points)"
    )
    duck_fig = Figure(
        "kiln_duckdb_equipment_page",
        what + "; DuckDBStore vs VM HTTP query_range (same windows, same step)",
        None,
        "ms",
        peer="VictoriaMetrics",
        higher_is_better=False,
        target_ratio=2.0,
    )
    pg_fig = Figure(
        "kiln_postgres_equipment_page",
        what + "; PostgresStore vs VM HTTP query_range (same windows, same step)",
        None,
        "ms",
        peer="VictoriaMetrics",
        higher_is_better=False,
        target_ratio=2.0,
    )
    figures = [duck_fig, pg_fig]
    if not VICTORIA_METRICS.exists():
        for f in figures:
            f.notes.append(
                f"peer missing: {VICTORIA_METRICS} is not installed "
                "(apt-get install victoria-metrics); ratio skipped"
            )
    with temp_dir("equipment-page") as tmp, _maybe_postgres() as server:
        with _maybe_victoria(tmp) as (vm, vm_data):
            _run(tmp, server, vm, n, start_ms, end_ms, duck_fig, pg_fig)
        if vm_data is not None:  # stopped gracefully: every part is on disk
            vm_size = _dir_bytes(vm_data)
            for f in figures:
                f.notes.append(
                    f"disk: VictoriaMetrics {vm_size / 2**20:,.0f} MB, "
                    f"{vm_size / points:.2f} bytes/point (data dir after stop, caches excluded)"
                )
    return figures


def _run(
    tmp: Path,
    server: Any,
    vm: Victoria | None,
    n: int,
    start_ms: int,
    end_ms: int,
    duck_fig: Figure,
    pg_fig: Figure,
) -> None:
    duck = DuckDBStore(tmp / "kiln.duckdb")
    pg_url = server.new_database() if server is not None else ""
    pg = PostgresStore(pg_url, pool_size=2) if pg_url else None
    if pg is None:
        pg_fig.notes.append("PostgreSQL is not installed (apt-get install postgresql): skipped")
    try:
        doc = bench_city(n)
        cat = duck.import_assets(doc, where="benchmark")
        if pg is not None:
            pg.import_assets(doc, where="benchmark")
        series = np.array(sorted(cat.signals)[:n], dtype=np.int64)
        log(
            f"equipment_page: loading {n} signals x {SECONDS:,} s into DuckDB"
            + (", PostgreSQL" if pg else "")
            + (" and VictoriaMetrics" if vm else "")
        )
        total, took, vm_bytes = _load(duck, pg, vm, series, start_ms)
        t0 = time.perf_counter()
        duck.compact()
        duck_compact = time.perf_counter() - t0
        size = duck.stats().bytes_on_disk
        duck_fig.notes.append(
            f"load: write() {took['duckdb']:.1f} s ({total / took['duckdb'] / 1e6:.2f} M "
            f"points/s) + compact() (rollups) {duck_compact:.1f} s; disk "
            f"{size / 2**20:,.0f} MB, {size / total:.2f} bytes/point (file after CHECKPOINT)"
        )
        if pg is not None:
            log("equipment_page: PostgreSQL compact() (vacuum, analyze, rollups)")
            t0 = time.perf_counter()
            pg.compact()
            pg_compact = time.perf_counter() - t0
            with psycopg.connect(pg_url, autocommit=True) as con:
                row = con.execute("SELECT pg_database_size(current_database())").fetchone()
            pg_size = int(row[0]) if row and row[0] else 0
            pg_fig.notes.append(
                f"load: write() {took['postgres']:.1f} s ({total / took['postgres'] / 1e6:.2f} "
                f"M points/s) + compact() (vacuum, analyze, rollups) {pg_compact:.1f} s; "
                f"database {pg_size / 2**20:,.0f} MB, {pg_size / total:.2f} bytes/point"
            )
        if vm is not None:
            waited = _wait_searchable(vm, total, end_ms)
            note = (
                f"VictoriaMetrics: JSON import {took['vm']:.1f} s ({total / took['vm'] / 1e6:.2f} "
                f"M points/s, {vm_bytes / total:.1f} JSON bytes/point), all searchable "
                f"{waited:.1f} s after"
            )
            duck_fig.notes.append(note)
            pg_fig.notes.append(note)
        duck_fig.details["points"] = pg_fig.details["points"] = total

        robot = len(series) // 2 // 10 * 10  # a robot in the middle: its 10 signals
        signals = [int(s) for s in series[robot : robot + 10]]
        edge = int(duck.last_values(signals).column("ts_ms")[0].as_py()) + 1  # the page's end
        peer = _vm_calls(vm, signals, edge) if vm is not None else None
        widths = [bucket_width_ms(edge - w, edge, MAX_POINTS) // 1000 for _, w in WINDOWS]
        for fig, store, label in ((duck_fig, duck, "DuckDB"), (pg_fig, pg, "PostgreSQL")):
            if store is None:
                continue
            fig.notes.append(f"check: {_check(store, signals, edge, vm)}")
            log(f"equipment_page: timing {label} vs VictoriaMetrics")
            _measure(fig, _page_calls(store, signals, edge), peer)
            fig.notes.append(
                "bucket widths (s) 1h/8h/24h/7d: "
                + "/".join(str(w) for w in widths)
                + "; VM computes avg only, Kiln avg, min, max, last and count per bucket"
            )
    finally:
        duck.close()
        if pg is not None:
            pg.close()


if __name__ == "__main__":
    cli("equipment_page", run)
