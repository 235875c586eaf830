"""demo_memory: the resident memory of `kiln demo` over 10 minutes (``--quick``: 2 minutes).

`kiln demo` starts as a subprocess on a fresh data dir and a free port (creating the city and
its default backfill, then streaming live). Once it answers HTTP, its RSS (with any children)
is sampled every 10 s. Reported: RSS at the first sample, at the end, the highest, and the
slope over the last half (least squares, MB per minute).

Targets: the highest RSS < 600 MB; not growing, read as a last-half slope <= 1 MB/min (60 MB
an hour; a short run cannot tell a slow leak from caches still filling, so look at the samples).
"""

from __future__ import annotations

import contextlib
import time

import numpy as np
import psutil

from benchmarks.common import (
    KILN,
    Figure,
    clean_env,
    cli,
    free_port,
    log,
    process,
    simulator_ready,
    tail,
    temp_dir,
    wait_http,
)

SAMPLE_S = 10.0
RSS_LIMIT_MB = 600.0
SLOPE_LIMIT = 1.0  # MB per minute


def _rss_mb(proc: psutil.Process) -> float:
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total / 2**20


def run(quick: bool) -> list[Figure]:
    minutes = 2 if quick else 10
    peak = Figure(
        "demo_memory",
        f"highest RSS of `kiln demo` sampled every {SAMPLE_S:.0f} s for {minutes} min",
        None,
        "MB",
        higher_is_better=False,
        target_value=RSS_LIMIT_MB,
    )
    slope = Figure(
        "demo_memory_slope",
        "RSS growth over the last half of the run (least-squares slope)",
        None,
        "MB/min",
        higher_is_better=False,
        target_value=SLOPE_LIMIT,
    )
    why = simulator_ready()
    if why:
        peak.notes.append(f"skipped: {why}")
        return [peak, slope]
    with temp_dir("demo-memory") as tmp:
        port = free_port()
        log_path = tmp / "kiln-demo.log"
        args = [str(KILN), "demo", "--port", str(port), "--data", str(tmp / "data")]
        log(f"demo_memory: starting kiln demo, then sampling for {minutes} min")
        with process(args, log_path=log_path, env=clean_env()) as proc:
            t_start = time.perf_counter()
            try:
                wait_http(
                    f"http://127.0.0.1:{port}/api/v1/districts",
                    timeout_s=300,
                    proc=proc,
                    any_status=True,
                )
            except (TimeoutError, RuntimeError) as err:
                peak.notes.append(f"kiln demo did not start: {err}: {tail(log_path, 5)}")
                return [peak, slope]
            ready_s = time.perf_counter() - t_start
            ps = psutil.Process(proc.pid)
            times: list[float] = []
            rss: list[float] = []
            t0 = time.perf_counter()
            for k in range(int(minutes * 60 / SAMPLE_S) + 1):
                if proc.poll() is not None:
                    peak.notes.append(
                        f"kiln demo exited with {proc.returncode} after "
                        f"{time.perf_counter() - t0:.0f} s: {tail(log_path, 5)}"
                    )
                    break
                times.append((time.perf_counter() - t0) / 60)
                rss.append(_rss_mb(ps))
                if k % 6 == 0:
                    log(f"demo_memory: {times[-1]:.1f} min, RSS {rss[-1]:.0f} MB")
                time.sleep(max(0.0, t0 + (k + 1) * SAMPLE_S - time.perf_counter()))
            cpu = ps.cpu_times()
    if len(rss) < 4:
        peak.notes.append("too few samples")
        return [peak, slope]
    half = len(rss) // 2
    fit = np.polyfit(np.array(times[half:]), np.array(rss[half:]), 1)
    peak.value = max(rss)
    slope.value = float(fit[0])
    peak.notes.append(
        f"ready (answering HTTP) {ready_s:.1f} s after start; RSS first sample "
        f"{rss[0]:.0f} MB, last {rss[-1]:.0f} MB, highest {max(rss):.0f} MB"
    )
    peak.notes.append("samples (MB): " + " ".join(f"{x:.0f}" for x in rss))
    peak.notes.append(
        f"CPU used by kiln demo: {cpu.user + cpu.system:.0f} s over "
        f"{(time.perf_counter() - t_start):.0f} s"
    )
    slope.notes.append(
        f"fit over the last {len(rss) - half} samples ({times[half]:.1f}-{times[-1]:.1f} min)"
    )
    peak.details.update(minutes=times, rss_mb=rss, ready_s=ready_s)
    return [peak, slope]


if __name__ == "__main__":
    cli("demo_memory", run)
