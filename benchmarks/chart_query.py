"""chart_query: 1-minute averages of one signal over a day, out of a day of 1,000 signals at 1 Hz.

Kiln: ``DuckDBStore.buckets(series, start, end, bucket_ms=60_000)`` (avg, min, max, last, count
per minute) on a store loaded with big sorted batches through ``write()`` and then compacted,
as the runtime does (a day is long enough to be answered from the 1-minute rollups); and the
same through ``GET /api/v1/series/{id}/buckets`` of a ``kiln serve`` on that file. Peer:
VictoriaMetrics loaded with the same points (JSON-lines import), answering
``avg_over_time(bench_signal{series="N"}[1m])`` via /api/v1/query_range, step=60s, response cache
off. Both sides are warmed, then queried alternately; figures are medians.

Also: the last value of every signal via ``DuckDBStore.last_values()`` (target <= 10 ms), with
VictoriaMetrics' instant query of the bare metric beside it for reference.

Targets: chart query <= 2x VictoriaMetrics' time; last values <= 10 ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

from benchmarks.assets import ENTERPRISE, bench_city
from benchmarks.common import (
    KILN,
    VICTORIA_METRICS,
    Figure,
    clean_env,
    cli,
    free_port,
    log,
    median,
    mint_token,
    process,
    profiled,
    tail,
    temp_dir,
    wait_http,
)
from benchmarks.data import signal_values
from benchmarks.victoria import METRIC, Victoria, victoria
from kiln.domain.batches import Bundle, PointBatch
from kiln.store.duckdb import DuckDBStore

DAY_S = 86_400
BUCKET_MS = 60_000
SERIES_PER_LOAD = 20  # 20 signals x a day = 1.7 M points per write() and per VM import
QUERIES = 50
MAX_QUERY_S = 60.0  # each timing loop stops early after this long


def _day() -> tuple[int, int]:
    """A whole day of minutes ending 5 minutes ago (inside VictoriaMetrics' retention)."""
    end = int(time.time() * 1000) // BUCKET_MS * BUCKET_MS - 5 * BUCKET_MS
    return end - DAY_S * 1000, end


def _interleaved(
    a: Callable[[], object], b: Callable[[], object], *, count: int, max_s: float, warmup: int = 5
) -> tuple[list[float], list[float]]:
    """Warm both, then time a() and b() alternately (order swapped each round)."""
    for _ in range(warmup):
        a()
        b()
    ta: list[float] = []
    tb: list[float] = []
    deadline = time.perf_counter() + max_s
    for k in range(count):
        for fn, out in ((a, ta), (b, tb)) if k % 2 == 0 else ((b, tb), (a, ta)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        if time.perf_counter() > deadline:
            break
    return ta, tb


def _load(
    store: DuckDBStore, vm: Victoria | None, series: np.ndarray, start_ms: int, notes: list[str]
) -> int:
    """Write a day of every series into the store (sorted batches) and into VictoriaMetrics."""
    ts = start_ms + np.arange(DAY_S, dtype=np.int64) * 1000
    kiln_s = vm_s = 0.0
    vm_bytes = 0
    total = 0
    for first in range(0, len(series), SERIES_PER_LOAD):
        chunk = series[first : first + SERIES_PER_LOAD]
        values = signal_values(chunk, start_ms // 1000, DAY_S)
        batch = PointBatch(np.repeat(chunk, DAY_S), np.tile(ts, len(chunk)), values.reshape(-1))
        t0 = time.perf_counter()
        store.write(Bundle(points=batch))
        kiln_s += time.perf_counter() - t0
        if vm is not None:
            t0 = time.perf_counter()
            vm_bytes += vm.import_series(chunk, ts, values)
            vm_s += time.perf_counter() - t0
        total += len(batch)
        if first % 200 == 0:
            log(f"loaded {first + len(chunk)}/{len(series)} signals")
    notes.append(
        f"load: kiln write() {total / kiln_s / 1e6:.2f} M points/s"
        + (
            f"; VictoriaMetrics JSON import {total / vm_s / 1e6:.2f} M points/s "
            f"({vm_bytes / total:.1f} JSON bytes/point)"
            if vm is not None
            else ""
        )
    )
    return total


def run(quick: bool) -> list[Figure]:
    n_signals = 100 if quick else 1_000
    start_ms, end_ms = _day()
    have_vm = VICTORIA_METRICS.exists()
    with temp_dir("chart-query") as tmp:
        if not have_vm:
            return _run(tmp, n_signals, start_ms, end_ms, None)
        with victoria(tmp) as (vm, vm_data):
            figures = _run(tmp, n_signals, start_ms, end_ms, vm)
        # Stopped (gracefully), VictoriaMetrics has every part on disk.
        vm_bytes = sum(
            p.stat().st_size
            for p in vm_data.rglob("*")
            if p.is_file() and "cache" not in p.relative_to(vm_data).parts
        )
        figures[0].notes.append(
            f"disk: VictoriaMetrics {vm_bytes / figures[0].details['points']:.2f} "
            "bytes/point (data dir after stop, caches excluded)"
        )
        return figures


def _run(
    tmp: Path, n_signals: int, start_ms: int, end_ms: int, vm: Victoria | None
) -> list[Figure]:
    what = (
        f"avg per 60 s of one signal over a day, out of {n_signals:,} signals x 86,400 "
        f"points ({n_signals * DAY_S / 1e6:.1f} M points)"
    )
    chart = Figure(
        "chart_query",
        what + "; Kiln in-process DuckDBStore.buckets() vs VM HTTP query_range",
        None,
        "ms",
        peer="VictoriaMetrics",
        higher_is_better=False,
        target_ratio=2.0,
    )
    chart_http = Figure(
        "chart_query_http",
        what + "; both over HTTP (kiln serve "
        "/api/v1/series/{id}/buckets vs VM /api/v1/query_range)",
        None,
        "ms",
        peer="VictoriaMetrics",
        higher_is_better=False,
        target_ratio=2.0,
    )
    last = Figure(
        "last_values",
        f"last value of each of {n_signals:,} signals, in-process "
        "DuckDBStore.last_values() (peer for reference: VM instant query of the "
        "metric over HTTP)",
        None,
        "ms",
        peer="VictoriaMetrics",
        higher_is_better=False,
        target_value=10.0,
    )
    if vm is None:
        for f in (chart, chart_http, last):
            f.notes.append(
                f"peer missing: {VICTORIA_METRICS} is not installed "
                "(apt-get install victoria-metrics); ratio skipped"
            )
    data_dir = tmp / "kiln"
    store = DuckDBStore(data_dir / "kiln.duckdb")
    cat = store.import_assets(bench_city(n_signals), where="benchmark")
    series = np.array(sorted(cat.signals)[:n_signals], dtype=np.int64)
    log(
        f"chart_query: loading a day of {n_signals} signals into Kiln"
        + (" and VictoriaMetrics" if vm else "")
    )
    total = _load(store, vm, series, start_ms, chart.notes)
    # A running Kiln compacts every few minutes, which rolls the day up (kiln.store.duckdb_rollups).
    t0 = time.perf_counter()
    store.compact()
    chart.notes.append(f"compaction (rolling the day up) took {time.perf_counter() - t0:.1f} s")
    chart.details["points"] = total
    stats = store.stats()
    chart.notes.append(
        f"disk: kiln {stats.bytes_on_disk / total:.2f} bytes/point (file after CHECKPOINT)"
    )
    if vm is not None:
        waited = vm.wait_searchable(total, end_ms)
        chart.notes.append(f"VictoriaMetrics searchable {waited:.1f} s after the last import")

    sid = int(series[len(series) // 2])
    promql = f'avg_over_time({METRIC}{{series="{sid}"}}[1m])'

    def kiln_chart() -> object:
        return store.buckets(sid, start_ms, end_ms, bucket_ms=BUCKET_MS)

    def vm_chart() -> object:
        return vm.query_range(promql, start_ms, end_ms, 60) if vm else None

    def check() -> None:
        k = kiln_chart()
        kavg = np.asarray(k.column("avg"))  # type: ignore[attr-defined]
        msg = f"kiln returns {len(kavg)} buckets (mean of avgs {kavg.mean():.3f})"
        if vm is not None:
            values = vm_chart()["data"]["result"][0]["values"]  # type: ignore[index]
            vavg = np.array([float(v) for _, v in values])
            msg += f"; VM {len(vavg)} points (mean {vavg.mean():.3f})"
        chart.notes.append(msg)

    check()
    log("chart_query: timing in-process buckets() vs VictoriaMetrics")
    if vm is not None:
        tk, tv = _interleaved(kiln_chart, vm_chart, count=QUERIES, max_s=MAX_QUERY_S)
        chart.peer_value = median(tv) * 1e3
    else:
        tk, _ = _interleaved(kiln_chart, lambda: None, count=QUERIES, max_s=MAX_QUERY_S)
    chart.value = median(tk) * 1e3
    chart.notes.append(f"{len(tk)} queries each; kiln min {min(tk) * 1e3:.2f} ms")

    def kiln_last() -> object:
        return store.last_values()

    def vm_last() -> object:
        return vm.query_raw(METRIC, end_ms) if vm else None

    rows = kiln_last().num_rows  # type: ignore[attr-defined]
    tk, tv = _interleaved(kiln_last, vm_last, count=QUERIES, max_s=MAX_QUERY_S)
    last.value = median(tk) * 1e3
    last.peer_value = median(tv) * 1e3 if vm is not None else None
    last.notes.append(
        f"{rows} rows; {len(tk)} calls; p90 {sorted(tk)[int(len(tk) * 0.9) - 1] * 1e3:.2f} ms"
    )
    store.close()

    log("chart_query: timing kiln serve over HTTP")
    try:
        headers = {"authorization": f"Bearer {mint_token(data_dir, enterprise=ENTERPRISE)}"}
    except Exception as err:  # the auth API is young: report, do not stop the run
        chart_http.notes.append(f"could not issue a token in-process: {err!r}")
        return [chart, chart_http, last]
    port = free_port()
    log_path = tmp / "kiln-serve.log"
    args = [str(KILN), "serve", "--port", str(port), "--data", str(data_dir)]
    with process(args, log_path=log_path, env=clean_env()) as proc:
        try:
            wait_http(
                f"http://127.0.0.1:{port}/api/v1/districts",
                timeout_s=120,
                proc=proc,
                headers=headers,
            )
        except (TimeoutError, RuntimeError) as err:
            chart_http.notes.append(f"kiln serve did not start: {err}: {tail(log_path, 3)}")
            return [chart, chart_http, last]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, headers=headers) as http:
            params = {"start": start_ms, "end": end_ms, "bucket_ms": BUCKET_MS}
            url = f"/api/v1/series/{sid}/buckets"
            first = http.get(url, params=params)
            if not first.is_success:
                chart_http.notes.append(
                    f"GET {url} answered {first.status_code}: {first.text[:200]}"
                )
                return [chart, chart_http, last]

            def kiln_http() -> object:
                return http.get(url, params=params).raise_for_status()

            with profiled(proc.pid, "chart_query_http"):
                tk, tv = _interleaved(kiln_http, vm_chart, count=QUERIES, max_s=MAX_QUERY_S)
            chart_http.value = median(tk) * 1e3
            chart_http.peer_value = median(tv) * 1e3 if vm is not None else None
            chart_http.notes.append(
                f"{len(tk)} requests each over keep-alive connections; "
                f"kiln body {len(first.content):,} bytes (6 columns)"
            )
    return [chart, chart_http, last]


if __name__ == "__main__":
    cli("chart_query", run)
