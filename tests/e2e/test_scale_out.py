"""Scale-out under faults: a known data set streamed through JetStream to three `kiln ingest`
workers sharing one PostgreSQL; one worker killed with SIGKILL and started again, the broker
restarted, or PostgreSQL restarted, mid-stream. Every value is stored exactly once at the end:
the count and checksums of what is stored equal the ground truth.

Real processes throughout: nats-server with JetStream, PostgreSQL, and the workers as
`python -m kiln.cli ingest` subprocesses; loopback only, bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import orjson
import psycopg
import pytest

from kiln.store.postgres import PostgresStore
from tests.conftest import NOW_MS, small_city
from tests.nats import NatsServer
from tests.postgres import PostgresServer

KILN = [sys.executable, "-m", "kiln.cli"]
SUBJECT = "kiln.v1.acme-auto.nanhai-1.press-shop.tandem-a.op10.press-1.telemetry.tonnage"
MESSAGES = 12_000  # values of the ground truth, one per message
RATE = 1_500  # messages a second: the stream lasts about 8 s, faults land in the middle
WORKERS = 3
T0 = NOW_MS - 86_400_000


def value(k: int) -> float:
    """The ground truth's k-th value (distinct, so a duplicate shows in the sums)."""
    return float(k % 997) + k / 1e6


class Publisher(threading.Thread):
    """Publishes the ground truth at RATE, retrying each message until JetStream acknowledges
    it; the message id makes a retried publish count once in the stream."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._publish())
        except BaseException as err:  # reported by the test
            self.error = err

    async def _publish(self) -> None:
        nc = await nats.connect(
            self.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2
        )
        js = nc.jetstream()
        start = time.monotonic()
        try:
            for k in range(MESSAGES):
                body = orjson.dumps({"v": value(k), "ts": T0 + k})
                while True:
                    try:
                        await js.publish(SUBJECT, body, headers={"Nats-Msg-Id": f"gt-{k}"})
                        break
                    except Exception:
                        await asyncio.sleep(0.1)
                self.sent = k + 1
                ahead = (k + 1) / RATE - (time.monotonic() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        finally:
            with contextlib.suppress(Exception):
                await nc.close()


def worker(conf: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    """One `kiln ingest` process on the shared PostgreSQL."""
    env = {
        **os.environ,
        "KILN_STORE__BACKEND": "postgres",
        "KILN_STORE__URL": url,
        "KILN_STORE__POOL_SIZE": "2",
    }
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            [*KILN, "ingest", "--config", str(conf), "--metrics-port", "0"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stored(url: str) -> tuple[int, float, int]:
    """(count, sum of values, sum of timestamps) of the tonnage points in PostgreSQL."""
    with psycopg.connect(url, connect_timeout=2) as con:
        row = con.execute(
            "SELECT count(*), coalesce(sum(value), 0), coalesce(sum(ts), 0) FROM points"
        ).fetchone()
    assert row is not None
    return int(row[0]), float(row[1]), int(row[2])


@pytest.fixture
def stack(
    tmp_path: Path, postgres_server: PostgresServer
) -> Iterator[tuple[PostgresServer, str, NatsServer, Path]]:
    url = postgres_server.new_database()
    store = PostgresStore(url, pool_size=1)
    try:
        store.import_assets(small_city())
    finally:
        store.close()
    broker = NatsServer(tmp_path / "jetstream")
    conf = tmp_path / "kiln.toml"
    conf.write_text(
        "[[ingest.nats]]\n"
        'name = "bus"\n'
        f'servers = ["{broker.url}"]\n'
        "batch = 200\n"
        "fetch_timeout_s = 0.2\n"
        "ack_wait_s = 4.0\n"
        "reconnect_max_s = 0.5\n",
        encoding="utf-8",
    )
    try:
        yield postgres_server, url, broker, conf
    finally:
        broker.stop()


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["kill_worker", "restart_broker", "restart_postgres"])
def test_every_value_is_stored_exactly_once_through_a_fault(
    stack: tuple[PostgresServer, str, NatsServer, Path], tmp_path: Path, fault: str
) -> None:
    pg, url, broker, conf = stack
    logs = [tmp_path / f"worker-{i}.log" for i in range(WORKERS)]
    procs = [worker(conf, url, logs[i]) for i in range(WORKERS)]
    publisher = Publisher(broker.url)
    try:
        time.sleep(2.0)  # the workers connect and bind the durable consumer
        publisher.start()
        while publisher.sent < MESSAGES // 3:
            assert publisher.error is None, publisher.error
            time.sleep(0.05)
        if fault == "kill_worker":
            procs[0].kill()  # SIGKILL: no goodbye, its fetched messages are never acknowledged
            procs[0].wait()
            time.sleep(1.0)
            procs[0] = worker(conf, url, logs[0])
        elif fault == "restart_broker":
            broker.restart()
        else:
            pg.stop("immediate")  # like a crash: open transactions are lost
            time.sleep(1.0)
            pg.start()
        publisher.join(timeout=120)
        assert not publisher.is_alive(), "the publisher did not finish"
        assert publisher.error is None, publisher.error
        # Past ack_wait: any redelivery of a stored message lands before the count is taken.
        check_stored_once(url, procs, logs, quiet_s=2 * 4.0)
    finally:
        stop_all(procs)


def check_stored_once(
    url: str, procs: list[subprocess.Popen[bytes]], logs: list[Path], *, quiet_s: float
) -> None:
    """Wait until every value of the ground truth is stored, then quiet_s more (what is
    delivered again lands by then); check the workers lived and every value is there once."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(psycopg.OperationalError):
            if stored(url)[0] >= MESSAGES:
                break
        time.sleep(0.5)
    time.sleep(quiet_s)
    count, total, ts_total = stored(url)
    for p in procs:
        assert p.poll() is None, f"a worker died: {p.returncode}"
    tail = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
    assert count == MESSAGES, f"stored {count} of {MESSAGES}\n{tail}"
    assert total == pytest.approx(sum(value(k) for k in range(MESSAGES)), rel=1e-12, abs=1e-6)
    assert ts_total == sum(T0 + k for k in range(MESSAGES)), tail


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop the workers (SIGTERM, then SIGKILL after 30 s)."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
