"""lineproto_ingest: field values per second of InfluxDB line protocol over HTTP, Kiln vs
VictoriaMetrics, the same bodies in the same run.

``kiln serve`` runs as one subprocess on a temp data dir with the benchmark city (one
enterprise, 100 robots, 1,000 signals); VictoriaMetrics (Debian's ``/usr/bin/victoria-metrics``)
as another, on a free port, both up at once. Bodies are pre-built 5,000-line line-protocol
texts: one line per robot and second, ``robot-7,site=plant j1_torque=41.25,...`` with the
robot's 10 signals as fields and a nanosecond timestamp from the last hour, so 50,000 values
per body. Client threads in this process (one keep-alive httpx.Client and one device token
each, like separate gateways) post them to Kiln's ``POST /api/v2/write``, then to
VictoriaMetrics' ``POST /write``, in turns (3 turns of 5 s each after a 2 s warm-up; --quick:
2 of 3 s), so a change of load on the shared machine hits both about equally. A body counts
when the server answers 204: Kiln answers after its commit; VictoriaMetrics after buffering in
memory (searchable about a second later), which favours the peer.

Figures:
  lineproto_ingest        8 connections
  lineproto_ingest_2conn  2 connections

Target: >= 0.5x VictoriaMetrics' value rate.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from benchmarks.assets import ENTERPRISE, bench_city, write_yaml
from benchmarks.common import (
    KILN,
    VICTORIA_METRICS,
    Figure,
    clean_env,
    cli,
    free_port,
    log,
    mint_tokens,
    process,
    profiled,
    tail,
    temp_dir,
    wait_http,
)
from benchmarks.data import signal_values

SIGNALS = 1_000
LINES = 5_000  # per body
POOL = 16  # distinct bodies, cycled
THREADS = 8
FEW_THREADS = 2
TARGET_RATIO = 0.5


def _robots(doc: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(robot slug, its signal names) of the benchmark city, in id order."""
    from kiln.domain.templates import TEMPLATES

    out = []
    for line in doc["enterprises"][0]["sites"][0]["lines"]:
        for st in line["stations"]:
            for eq in st["equipment"]:
                out.append((eq["slug"], [s.name for s in TEMPLATES[eq["template"]].signals]))
    return out


def bodies(robots: list[tuple[str, list[str]]], t0_ms: int) -> tuple[list[bytes], int]:
    """POOL bodies of LINES lines (every robot, then the next second); and values per body."""
    seconds = LINES // len(robots)
    out = []
    values_per_body = 0
    for j in range(POOL):
        start_s = t0_ms // 1000 + j * seconds
        lines = []
        per_robot = []
        for r, (_, names) in enumerate(robots):
            ids = np.arange(r * len(names), (r + 1) * len(names))
            per_robot.append(signal_values(ids, start_s, seconds))
        for k in range(seconds):
            ts = (start_s + k) * 1_000_000_000
            for (slug, names), vals in zip(robots, per_robot, strict=True):
                fields = ",".join(
                    f"{n}={float(v)!r}" for n, v in zip(names, vals[:, k], strict=True)
                )
                lines.append(f"{slug},site=plant {fields} {ts}")
        out.append(("\n".join(lines) + "\n").encode())
        values_per_body = sum(len(names) for _, names in robots) * seconds
    return out, values_per_body


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ok = self.failed = self.limited = 0
        self.first_error = ""
        self.latencies: list[float] = []


def _client(
    url: str,
    headers: dict[str, str],
    pool: list[bytes],
    stop_at: float,
    counting_from: float,
    c: _Counters,
) -> None:
    ok = failed = limited = 0
    lat: list[float] = []
    err = ""
    with httpx.Client(headers=headers, timeout=60.0) as http:
        for k in range(1_000_000):
            t0 = time.perf_counter()
            if t0 >= stop_at:
                break
            try:
                r = http.post(url, content=pool[k % len(pool)])
            except httpx.HTTPError as e:
                failed += 1
                err = err or repr(e)
                continue
            if t0 < counting_from:
                continue
            if r.status_code == 204:
                ok += 1
                lat.append(time.perf_counter() - t0)
            elif r.status_code == 429:
                limited += 1
                time.sleep(float(r.headers.get("retry-after", "0.05") or 0.05))
            else:
                failed += 1
                err = err or f"{r.status_code}: {r.text[:200]}"
    with c.lock:
        c.ok += ok
        c.failed += failed
        c.limited += limited
        c.latencies += lat
        c.first_error = c.first_error or err


def _measure(
    name: str,
    url: str,
    headers: list[dict[str, str]],
    pool: list[bytes],
    server: psutil.Process,
    *,
    threads: int,
    warmup_s: float,
    measure_s: float,
) -> tuple[int, float, float]:
    """Post for warmup_s + measure_s from `threads` connections; 204s, seconds, server cores."""
    c = _Counters()
    now = time.perf_counter()
    counting_from, stop_at = now + warmup_s, now + warmup_s + measure_s
    workers = [
        threading.Thread(
            target=_client,
            args=(url, headers[i % len(headers)], pool, stop_at, counting_from, c),
            daemon=True,
        )
        for i in range(threads)
    ]
    for t in workers:
        t.start()
    time.sleep(max(0.0, counting_from - time.perf_counter()))
    cpu0, me0, t0 = server.cpu_times(), psutil.Process().cpu_times(), time.perf_counter()
    with profiled(server.pid, name):
        for t in workers:
            t.join(timeout=measure_s + 120)
        took = time.perf_counter() - t0
    cpu1, me1 = server.cpu_times(), psutil.Process().cpu_times()
    server_cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / took
    client_cpu = (me1.user + me1.system - me0.user - me0.system) / took
    lat = sorted(c.latencies) or [float("nan")]
    note = (
        f"{c.ok} bodies in {took:.1f} s, latency median {lat[len(lat) // 2] * 1e3:.0f} ms, "
        f"p99 {lat[int(len(lat) * 0.99)] * 1e3:.0f} ms; CPU server {server_cpu:.2f} cores, "
        f"client {client_cpu:.2f}"
    )
    if c.failed or c.limited:
        note += f"; {c.failed} failed, {c.limited} rate-limited; first: {c.first_error}"
    log(f"{name}: {c.ok / took:.1f} bodies/s ({note})")
    return c.ok, took, server_cpu


def run(quick: bool) -> list[Figure]:
    rounds, warmup_s, measure_s = (2, 1.0, 3.0) if quick else (3, 2.0, 5.0)
    with temp_dir("lineproto") as tmp:
        return _run(tmp, rounds, warmup_s, measure_s)


def _figures() -> list[Figure]:
    return [
        Figure(
            f"lineproto_ingest{suffix}",
            f"5,000-line InfluxDB line-protocol bodies (50,000 values) posted from {n} "
            "keep-alive connections: kiln serve POST /api/v2/write vs VictoriaMetrics POST /write",
            None,
            "values/s",
            peer="VictoriaMetrics",
            target_ratio=TARGET_RATIO,
        )
        for suffix, n in (("", THREADS), ("_2conn", FEW_THREADS))
    ]


@contextlib.contextmanager
def _kiln(tmp: Path, doc: dict[str, Any]) -> Iterator[tuple[str, list[str], psutil.Process]]:
    """kiln serve on the benchmark city; its write URL, device tokens and process."""
    assets = tmp / "assets.yaml"
    write_yaml(doc, assets)
    config = tmp / "kiln.toml"
    config.write_text(f'assets = ["{assets}"]\n', encoding="utf-8")
    data_dir = tmp / "data"
    tokens = mint_tokens(data_dir, THREADS, enterprise=ENTERPRISE, device=True, asset_doc=doc)
    port = free_port()
    args = [str(KILN), "serve", "--config", str(config), "--port", str(port)]
    log_path = tmp / "kiln-serve.log"
    with process([*args, "--data", str(data_dir)], log_path=log_path, env=clean_env()) as proc:
        try:
            wait_http(f"http://127.0.0.1:{port}/ping", timeout_s=120, proc=proc)
        except (TimeoutError, RuntimeError) as err:
            raise RuntimeError(f"kiln serve did not start: {err}: {tail(log_path, 5)}") from err
        url = f"http://127.0.0.1:{port}/api/v2/write?org=bench&bucket=bench&precision=ns"
        yield url, tokens, psutil.Process(proc.pid)


@contextlib.contextmanager
def _victoria(tmp: Path) -> Iterator[tuple[str, psutil.Process] | None]:
    """VictoriaMetrics on a free port (None when it is not installed); its /write URL."""
    if not VICTORIA_METRICS.exists():
        yield None
        return
    port = free_port()
    log_path = tmp / "victoria-metrics.log"
    args = [
        str(VICTORIA_METRICS),
        f"-storageDataPath={tmp / 'vm'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=1y",
        "-loggerLevel=ERROR",
    ]
    with process(args, log_path=log_path) as proc:
        try:
            wait_http(f"http://127.0.0.1:{port}/health", timeout_s=30, proc=proc)
        except (TimeoutError, RuntimeError) as err:
            raise RuntimeError(f"VictoriaMetrics did not start: {err}: {tail(log_path)}") from err
        yield f"http://127.0.0.1:{port}/write?db=bench", psutil.Process(proc.pid)


def _run(tmp: Path, rounds: int, warmup_s: float, measure_s: float) -> list[Figure]:
    """Both servers up at once, measured in turns (Kiln, peer, Kiln, peer...), so a load
    change on the shared machine hits both about equally."""
    figures = _figures()
    doc = bench_city(SIGNALS)
    pool, per_body = bodies(_robots(doc), int(time.time() * 1000) - 3_600_000)
    log(f"lineproto_ingest: {POOL} bodies of {len(pool[0]):,} bytes, {per_body:,} values each")
    with _kiln(tmp, doc) as (url, tokens, kiln), _victoria(tmp) as peer:
        headers = [{"authorization": f"Token {t}"} for t in tokens]
        if peer is None:
            for fig in figures:
                fig.notes.append(
                    f"peer missing: {VICTORIA_METRICS} (apt-get install victoria-metrics)"
                )
        for fig, threads in zip(figures, (THREADS, FEW_THREADS), strict=True):
            sides = [("kiln", url, headers, kiln)]
            if peer is not None:
                sides.append(("peer", peer[0], [{}], peer[1]))
            totals: dict[str, list[float]] = {}
            for k in range(rounds):
                for side, target, side_headers, proc in sides:
                    bodies_ok, took, cpu = _measure(
                        f"{fig.name}_{side}_{k + 1}", target, side_headers, pool, proc,
                        threads=threads, warmup_s=warmup_s, measure_s=measure_s,
                    )  # fmt: skip
                    t = totals.setdefault(side, [0.0, 0.0, 0.0])
                    t[0], t[1], t[2] = t[0] + bodies_ok, t[1] + took, t[2] + cpu * took
            _settle(fig, totals, per_body, rounds, measure_s)
    return figures


def _settle(
    fig: Figure, totals: dict[str, list[float]], per_body: int, rounds: int, measure_s: float
) -> None:
    for side, (ok, took, cpu_s) in totals.items():
        rate = ok * per_body / took
        note = (
            f"{'Kiln' if side == 'kiln' else 'VictoriaMetrics'}: {int(ok)} bodies in "
            f"{rounds} turns of {measure_s:.0f} s, {rate:,.0f} values/s, "
            f"server CPU {cpu_s / took:.2f} cores"
        )
        fig.notes.append(note)
        fig.details[f"{side}_bodies"] = ok
        fig.details[f"{side}_server_cpu"] = cpu_s / took
        if side == "kiln":
            fig.value = rate
        else:
            fig.peer_value = rate


if __name__ == "__main__":
    cli("lineproto_ingest", run)
