"""http_ingest: points per second through the real server's POST /api/v1/ingest.

``kiln serve`` runs as one subprocess on a temp data dir, with an asset file (one enterprise,
100 robots, 1,000 signals) named in a config TOML (``assets = [...]``). Client threads in this
process (one keep-alive httpx.Client and one device token each, as separate gateways would)
post pre-serialised 1,000-point JSON batches with timestamps from the last hour, for a fixed
time after a warm-up. A batch counts when the server answers 200 (i.e. after its commit). The
client threads share this process's one core-ish (GIL); the server gets its own process.

Shapes of the same 1,000 points, 16 client connections unless named:
  http_ingest            100 items (signal) x 10 timestamps each (lists), no batch_id
  http_ingest_4conn      the same from 4 connections
  http_ingest_scalar     1,000 items of one point each (a snapshot of every signal)
  http_ingest_batch_id   as http_ingest, each batch with a unique batch_id (idempotent resend)

Target: >= 300,000 points/s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import psutil

from benchmarks.assets import ENTERPRISE, bench_city, write_yaml
from benchmarks.common import (
    KILN,
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
BATCH_POINTS = 1_000
POOL = 64  # distinct pre-serialised bodies per shape, cycled
CLIENT_THREADS = 16  # concurrent gateways: each request waits for its commit, so concurrency
FEW_THREADS = 4  # ... sets how many batches a group commit holds; also measured with a few
TARGET = 300_000.0


def _signals(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(equipment slug, signal name) of every signal of the benchmark city, in id order."""
    from kiln.domain.templates import TEMPLATES

    out = []
    for line in doc["enterprises"][0]["sites"][0]["lines"]:
        for st in line["stations"]:
            for eq in st["equipment"]:
                out += [(eq["slug"], s.name) for s in TEMPLATES[eq["template"]].signals]
    return out[:SIGNALS]


def bodies_lists(signals: list[tuple[str, str]], t0_ms: int) -> list[bytes]:
    """POOL bodies of 100 signals x 10 s at 1 Hz (a gateway's buffered window)."""
    out = []
    per = BATCH_POINTS // 100
    for j in range(POOL):
        chosen = [signals[(j * 100 + k) % len(signals)] for k in range(100)]
        start = t0_ms + j * per * 1000
        ts = [start + i * 1000 for i in range(per)]
        values = signal_values(np.arange(j * 100, j * 100 + 100), start // 1000, per)
        out.append(
            orjson.dumps(
                {
                    "enterprise": ENTERPRISE,
                    "points": [
                        {"equipment": eq, "signal": sig, "ts": ts, "v": values[k].tolist()}
                        for k, (eq, sig) in enumerate(chosen)
                    ],
                }
            )
        )
    return out


def bodies_scalar(signals: list[tuple[str, str]], t0_ms: int) -> list[bytes]:
    """POOL bodies of one point of each of 1,000 signals (a snapshot per second)."""
    out = []
    ids = np.arange(len(signals))
    for j in range(POOL):
        ts = t0_ms + j * 1000
        values = signal_values(ids, ts // 1000, 1)[:, 0]
        out.append(
            orjson.dumps(
                {
                    "enterprise": ENTERPRISE,
                    "points": [
                        {"equipment": eq, "signal": sig, "ts": ts, "v": float(values[k])}
                        for k, (eq, sig) in enumerate(signals)
                    ],
                }
            )
        )
    return out


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ok = self.points = self.limited = self.failed = 0
        self.first_error = ""
        self.latencies: list[float] = []


def _client(
    url: str,
    token: str,
    bodies: list[bytes],
    body_for: Callable[[int, bytes], bytes],
    stop_at: float,
    counting_from: float,
    c: _Counters,
    max_posts: int,
) -> None:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    lat: list[float] = []
    ok = pts = limited = failed = 0
    err = ""
    with httpx.Client(headers=headers, timeout=60.0) as http:
        for k in range(max_posts):
            t0 = time.perf_counter()
            if t0 >= stop_at:
                break
            try:
                r = http.post(url, content=body_for(k, bodies[k % len(bodies)]))
            except httpx.HTTPError as e:
                failed += 1
                err = err or repr(e)
                continue
            t1 = time.perf_counter()
            if t0 < counting_from:
                continue  # warm-up
            if r.status_code == 200:
                ok += 1
                pts += int(r.json()["stored"])
                lat.append(t1 - t0)
            elif r.status_code == 429:
                limited += 1
                time.sleep(float(r.headers.get("retry-after", "0.05") or 0.05))
            else:
                failed += 1
                err = err or f"{r.status_code}: {r.text[:200]}"
    with c.lock:
        c.ok += ok
        c.points += pts
        c.limited += limited
        c.failed += failed
        c.latencies += lat
        c.first_error = c.first_error or err


def _measure(
    name: str,
    what: str,
    url: str,
    tokens: list[str],
    bodies: list[bytes],
    body_for: Callable[[int, bytes], bytes],
    server: psutil.Process,
    *,
    warmup_s: float,
    measure_s: float,
    threads: int = CLIENT_THREADS,
) -> Figure:
    c = _Counters()
    now = time.perf_counter()
    counting_from, stop_at = now + warmup_s, now + warmup_s + measure_s
    clients = [
        threading.Thread(
            target=_client,
            args=(url, tokens[i], bodies, body_for, stop_at, counting_from, c, 1_000_000),
            daemon=True,
        )
        for i in range(threads)
    ]
    for t in clients:
        t.start()
    time.sleep(max(0.0, counting_from - time.perf_counter()))
    cpu0, me0, t0 = server.cpu_times(), psutil.Process().cpu_times(), time.perf_counter()
    with profiled(server.pid, name):
        for t in clients:
            t.join(timeout=measure_s + 120)
        took = time.perf_counter() - t0
    cpu1, me1 = server.cpu_times(), psutil.Process().cpu_times()
    fig = Figure(name, what, c.points / took, "points/s", target_value=TARGET)
    server_cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / took
    client_cpu = (me1.user + me1.system - me0.user - me0.system) / took
    lat = sorted(c.latencies) or [float("nan")]
    fig.notes.append(
        f"{c.ok} batches of {BATCH_POINTS} in {took:.1f} s by {threads} "
        f"client threads; latency median {lat[len(lat) // 2] * 1e3:.1f} ms, "
        f"p99 {lat[int(len(lat) * 0.99)] * 1e3:.1f} ms"
    )
    fig.notes.append(
        f"CPU: server {server_cpu:.2f} cores, client {client_cpu:.2f} cores; "
        f"body {len(bodies[0]):,} bytes"
    )
    if c.limited or c.failed:
        fig.notes.append(
            f"{c.limited} answered 429 (rate limit), {c.failed} failed"
            + (f"; first: {c.first_error}" if c.first_error else "")
        )
    fig.details.update(
        batches=c.ok,
        seconds=took,
        server_cpu=server_cpu,
        client_cpu=client_cpu,
        limited=c.limited,
        failed=c.failed,
    )
    log(f"{name}: {c.points / took:,.0f} points/s (server CPU {server_cpu:.2f})")
    return fig


def run(quick: bool) -> list[Figure]:
    warmup_s, measure_s = (2.0, 5.0) if quick else (3.0, 15.0)
    with temp_dir("http-ingest") as tmp:
        return _run(tmp, warmup_s, measure_s)


def _run(tmp: Path, warmup_s: float, measure_s: float) -> list[Figure]:
    doc = bench_city(SIGNALS)
    assets = tmp / "assets.yaml"
    write_yaml(doc, assets)
    config = tmp / "kiln.toml"
    config.write_text(f'assets = ["{assets}"]\n', encoding="utf-8")
    data_dir = tmp / "data"
    tokens = mint_tokens(
        data_dir, CLIENT_THREADS, enterprise=ENTERPRISE, device=True, asset_doc=doc
    )
    signals = _signals(doc)
    t0_ms = int(time.time() * 1000) - 3_600_000
    lists, scalars = bodies_lists(signals, t0_ms), bodies_scalar(signals, t0_ms)
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1/ingest"
    log_path = tmp / "kiln-serve.log"
    args = [
        str(KILN),
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
        "--data",
        str(data_dir),
    ]
    figures: list[Figure] = []
    acknowledged = 0
    with process(args, log_path=log_path, env=clean_env()) as proc:
        try:
            wait_http(
                f"http://127.0.0.1:{port}/api/v1/districts",
                timeout_s=120,
                proc=proc,
                any_status=True,
            )
        except (TimeoutError, RuntimeError) as err:
            fig = Figure(
                "http_ingest", "kiln serve did not start", None, "points/s", target_value=TARGET
            )
            fig.notes.append(f"{err}: {tail(log_path, 5)}")
            return [fig]
        server = psutil.Process(proc.pid)
        log(f"http_ingest: kiln serve up (pid {proc.pid}); posting for {measure_s:.0f} s per shape")
        same: Callable[[int, bytes], bytes] = lambda k, b: b  # noqa: E731
        run_id = int(time.time())

        def with_id(k: int, b: bytes) -> bytes:
            tid = threading.get_ident() % 100_000
            return b'{"batch_id":"bench-%d-%d-%d",' % (run_id, tid, k) + b[1:]

        for name, what, bodies, body_for, threads in (
            (
                "http_ingest",
                f"1,000-point JSON batches (100 signals x 10 timestamps, lists) "
                f"to POST /api/v1/ingest of kiln serve, {CLIENT_THREADS} connections",
                lists,
                same,
                CLIENT_THREADS,
            ),
            (
                "http_ingest_4conn",
                f"as http_ingest, from {FEW_THREADS} connections",
                lists,
                same,
                FEW_THREADS,
            ),
            (
                "http_ingest_scalar",
                "1,000-point JSON batches (1,000 items of one point each)",
                scalars,
                same,
                CLIENT_THREADS,
            ),
            (
                "http_ingest_batch_id",
                "as http_ingest, each batch with a unique batch_id",
                lists,
                with_id,
                CLIENT_THREADS,
            ),
        ):
            figures.append(
                _measure(
                    name,
                    what,
                    url,
                    tokens,
                    bodies,
                    body_for,
                    server,
                    warmup_s=warmup_s,
                    measure_s=measure_s,
                    threads=threads,
                )
            )
            acknowledged += figures[-1].details["batches"] * BATCH_POINTS
        rss = server.memory_info().rss / 2**20
        figures[0].notes.append(f"server RSS at the end: {rss:.0f} MB")
    # The server stopped gracefully: count what the file holds (warm-up posts included).
    from kiln.store.duckdb import DuckDBStore

    store = DuckDBStore(data_dir / "kiln.duckdb")
    stored = store.stats().points
    store.close()
    figures[0].notes.append(
        f"stored in the file after stop: {stored:,} points "
        f"(>= {acknowledged:,} acknowledged in measured windows)"
    )
    return figures


if __name__ == "__main__":
    cli("http_ingest", run)
