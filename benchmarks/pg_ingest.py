"""pg_ingest: writing to PostgreSQL, against a bare binary COPY of the same rows.

A throwaway PostgreSQL 15 (Debian's binaries, fsync off, synchronous commit) on a free port.

* ``pg_store_write``: PostgresStore.write of 100,000-point batches (binary COPY built by NumPy,
  the day partitions checked, last values upserted, one transaction each), points a second,
  against the peer: the same rows, pre-serialised, COPYed bare into the same indexed,
  partitioned table in one transaction per batch. Target >= 0.8x.
* ``pg_store_write_idempotent``: the same with a batch id per batch (claimed in the same
  transaction): the cost of idempotency against plain appends. Target <= 20 % (>= 0.8x).
* ``pg_ingest_workers_1`` / ``_2``: through `kiln ingest` processes: 2,000 JetStream messages
  of 1,200 points each (press-1's 6 signals x 200 timestamps, JSON lists) published first, then
  1 or 2 workers started and timed from the first point stored to the last (start-up left
  out). Peer: the bare COPY rate of the first figure.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import nats
import numpy as np
import orjson
import psycopg

from benchmarks.common import Figure, cli, log, median, temp_dir
from kiln.domain.batches import Bundle, PointBatch
from kiln.store.postgres import PostgresStore
from kiln.store.postgres_binary import copy_in, copy_rows
from tests.conftest import small_city
from tests.nats import NatsServer
from tests.postgres import PostgresServer

BATCH = 100_000
ROUNDS = 8
T0 = 1_764_000_000_000  # 2025-11-24
MESSAGES = 2_000
SIGNALS, STAMPS = 10, 200  # per message: up to 2,000 points (press-1 has 6 signals)


def _batches(series: list[int], rounds: int, seed: int) -> list[PointBatch]:
    rng = np.random.default_rng(seed)
    out = []
    for r in range(rounds):
        n = BATCH // len(series)
        ts = T0 + r * 3_600_000 + np.arange(n, dtype=np.int64) * 1000
        out.append(
            PointBatch(
                np.repeat(np.asarray(series, np.int64), n),
                np.tile(ts, len(series)),
                rng.normal(50, 5, n * len(series)),
            )
        )
    return out


def _bare(url: str, batches: list[PointBatch]) -> float:
    """Seconds for the peer: bare binary COPY of pre-built payloads, one transaction each."""
    payloads = [copy_rows([(b.series, ">i4"), (b.ts_ms, ">i8"), (b.value, ">f8")]) for b in batches]
    with psycopg.connect(url) as con:
        t0 = time.perf_counter()
        for rows in payloads:
            with con.transaction():
                copy_in(con.cursor(), "points", ("series", "ts", "value"), rows)
        return time.perf_counter() - t0


def _truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("TRUNCATE points, series_last, batches")


def run_store(server: PostgresServer) -> list[Figure]:
    url = server.new_database()
    store = PostgresStore(url, pool_size=2)
    try:
        cat = store.import_assets(small_city())
        series = sorted(cat.signals)[:20]
        batches = _batches(series, ROUNDS, 1)
        for b in batches:  # the day partitions exist for the peer too; caches warm
            store.write(Bundle(points=b))
        plain, ids, bare = [], [], []
        for rep in range(3):
            _truncate(url)
            bare.append(_bare(url, batches))
            _truncate(url)
            t0 = time.perf_counter()
            for b in batches:
                store.write(Bundle(points=b))
            plain.append(time.perf_counter() - t0)
            _truncate(url)
            t0 = time.perf_counter()
            for k, b in enumerate(batches):
                store.write(Bundle(points=b), batch_id=f"bench-{rep}-{k}")
            ids.append(time.perf_counter() - t0)
    finally:
        store.close()
    points = BATCH * ROUNDS
    rate = points / median(plain)
    bare_rate = points / median(bare)
    id_rate = points / median(ids)
    log(f"pg_ingest: store {rate:,.0f}/s, bare COPY {bare_rate:,.0f}/s, ids {id_rate:,.0f}/s")
    write = Figure(
        "pg_store_write",
        f"PostgresStore.write, {ROUNDS} batches of {BATCH:,} points (20 series), one "
        "transaction each, into the day-partitioned points table with its (series, ts) index",
        rate,
        "points/s",
        peer="bare binary COPY, same rows and table",
        peer_value=bare_rate,
        target_ratio=0.8,
    )
    write.notes.append("runs (s): " + ", ".join(f"{t:.2f}" for t in plain))
    idem = Figure(
        "pg_store_write_idempotent",
        "as pg_store_write, each batch with a batch id claimed in the same transaction",
        id_rate,
        "points/s",
        peer="pg_store_write (plain appends)",
        peer_value=rate,
        target_ratio=0.8,
    )
    return [write, idem]


async def _publish(url: str, messages: list[tuple[str, bytes]]) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="KILN", subjects=["kiln.>"])
        for i in range(0, len(messages), 200):
            await asyncio.gather(*(js.publish(s, p) for s, p in messages[i : i + 200]))
    finally:
        await nc.close()


def _messages(signals: list[str], prefix: str) -> list[tuple[str, bytes]]:
    out = []
    for m in range(MESSAGES):
        ts = [T0 + (m * STAMPS + k) * 1000 for k in range(STAMPS)]
        values = {s: [float(m + k) for k in range(STAMPS)] for s in signals}
        out.append((f"{prefix}.telemetry", orjson.dumps({"ts": ts, "values": values})))
    return out


def _count(url: str) -> int:
    with psycopg.connect(url) as con:
        row = con.execute("SELECT count(*) FROM points").fetchone()
    return int(row[0]) if row else 0


def run_workers(server: PostgresServer, workers: int, bare_rate: float, tmp: Path) -> Figure:
    url = server.new_database()
    store = PostgresStore(url, pool_size=1)
    try:
        cat = store.import_assets(small_city())
        press = next(q for q in cat.equipment.values() if q.slug == "press-1")
        signals = sorted(cat.signals[s].name for s in cat.signals_of[press.id])[:SIGNALS]
    finally:
        store.close()
    broker = NatsServer(tmp / f"js-{workers}")
    try:
        prefix = "kiln.v1.acme-auto.nanhai-1.press-shop.tandem-a.op10.press-1"
        asyncio.run(_publish(broker.url, _messages(signals, prefix)))
        expected = MESSAGES * len(signals) * STAMPS
        conf = tmp / f"kiln-{workers}.toml"
        conf.write_text(
            f'[[ingest.nats]]\nname = "bus"\nservers = ["{broker.url}"]\nbatch = 50\n'
            "fetch_timeout_s = 0.2\n",
            encoding="utf-8",
        )
        env = {**os.environ, "KILN_STORE__BACKEND": "postgres", "KILN_STORE__URL": url}
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kiln.cli",
                    "ingest",
                    "--config",
                    str(conf),
                    "--metrics-port",
                    "0",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]
        try:
            # Timed from the first stored point (the workers' start-up is not throughput).
            while _count(url) == 0 and time.perf_counter() - started < 120:
                time.sleep(0.02)
            t0 = time.perf_counter()
            first = _count(url)
            while _count(url) < expected and time.perf_counter() - t0 < 300:
                time.sleep(0.05)
            took = time.perf_counter() - t0
            stored = _count(url) - first
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    finally:
        broker.stop()
    rate = stored / took
    log(f"pg_ingest: {workers} worker(s): {stored:,} points in {took:.1f} s")
    fig = Figure(
        f"pg_ingest_workers_{workers}",
        f"{workers} `kiln ingest` process(es) on one PostgreSQL: {MESSAGES:,} JetStream "
        f"messages of {len(signals) * STAMPS} points, from the first point stored to the last",
        rate,
        "points/s",
        peer="bare binary COPY (pg_store_write's peer)",
        peer_value=bare_rate,
    )
    fig.notes.append(f"{stored:,} points in {took:.2f} s after the first; {expected:,} in all")
    return fig


def run(quick: bool) -> list[Figure]:
    server = PostgresServer()
    try:
        figures = run_store(server)
        bare_rate = figures[0].peer_value or 0.0
        with temp_dir("pg-ingest") as tmp:
            for workers in (1, 2):
                figures.append(run_workers(server, workers, bare_rate, tmp))
    finally:
        server.close()
    return figures


if __name__ == "__main__":
    cli("pg_ingest", run)
