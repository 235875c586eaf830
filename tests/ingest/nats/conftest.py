"""A nats-server with JetStream on a free port, a JetStream publisher, sinks that misbehave on
purpose, and a running adapter."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest

from kiln.config_ingest import NatsSettings
from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.nats.adapter import NatsAdapter
from kiln.ingest.nats.connection import ensure_stream
from kiln.runtime import Runtime
from tests.conftest import NOW_MS
from tests.nats import NatsServer

PRESS = "kiln.v1.acme-auto.nanhai-1.press-shop.tandem-a.op10.press-1"
KILN = "kiln.v1.huamei-ceramics.plant.default.kiln-1.firing.kiln-1"
T0 = NOW_MS - 60_000


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server with JetStream, its files under the test's temp folder."""
    s = NatsServer(tmp_path / "jetstream")
    yield s
    s.stop()


def settings(server: NatsServer, **over: Any) -> NatsSettings:
    """Adapter settings for the test server: quick to notice and to come back."""
    return NatsSettings.model_validate(
        {
            "name": "plant",
            "servers": [server.url],
            "reconnect_max_s": 0.5,
            "fetch_timeout_s": 0.2,
            "ack_wait_s": 2.0,
            **over,
        }
    )


def adapter(server: NatsServer, **over: Any) -> NatsAdapter:
    """An adapter on the test server's stream and the shared durable."""
    return NatsAdapter(settings(server, **over))


def tonnage(first: int, count: int) -> list[tuple[str, bytes]]:
    """Messages of press-1's tonnage, value k at T0 + k."""
    return [
        (f"{PRESS}.telemetry.tonnage", orjson.dumps({"v": float(k), "ts": T0 + k}))
        for k in range(first, first + count)
    ]


async def publish(
    server: NatsServer, messages: Sequence[tuple[str, bytes]], **over: Any
) -> list[int]:
    """Publish to JetStream (creating the stream as the adapter would); the stream sequences."""
    nc = await nats.connect(server.url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, settings(server, **over))
        acks = await asyncio.gather(*(js.publish(s, p) for s, p in messages))
        return [a.seq for a in acks]
    finally:
        await nc.close()


async def consumer_state(server: NatsServer, durable: str = "kiln-ingest") -> tuple[int, int, int]:
    """The durable's (acknowledged floor, pending acknowledgement, redelivered) counts."""
    nc = await nats.connect(server.url)
    try:
        info = await nc.jetstream().consumer_info("KILN", durable)
        return info.ack_floor.stream_seq, info.num_ack_pending, info.num_redelivered
    finally:
        await nc.close()


async def until(
    check: Callable[[], bool], what: str, timeout_s: float = 15.0, every_s: float = 0.02
) -> None:
    """Wait until check() holds, or fail naming what did not happen."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every_s)


@contextlib.asynccontextmanager
async def running(adapter: NatsAdapter, sink: Any) -> AsyncIterator[asyncio.Task[None]]:
    """Run the adapter as a task until the block ends; wait until it is bound first."""
    task = asyncio.create_task(adapter.run(sink))
    try:
        await asyncio.wait_for(adapter.subscribed.wait(), 15)
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def settled(runtime: Runtime, *adapters: NatsAdapter, messages: int) -> None:
    """Wait until the adapters acknowledged `messages` stored messages and the dead letters
    are written."""
    await until(
        lambda: sum(a.committed + a.refused for a in adapters) >= messages,
        f"{messages} messages settled",
    )
    await runtime.writer.flushed()
    runtime.sink.flush()


def stored(runtime: Runtime, equipment: str = "press-1", signal: str = "tonnage") -> list[float]:
    """The stored values of a signal of the small city, in time order."""
    cat = runtime.catalog
    eq = cat.equipment_id("acme-auto", equipment)
    assert eq is not None
    sid = cat.series_id(eq, signal)
    assert sid is not None
    return list(runtime.store.points([sid], 0, NOW_MS + 3_600_000).to_pydict()["value"])


class Wrapped:
    """The runtime's real sink, with commits the test controls (``calls`` counts them)."""

    def __init__(self, runtime: Runtime) -> None:
        self.real = runtime.sink
        self.calls = 0
        self.added: list[int] = []

    @property
    def catalog(self) -> AssetCatalog:
        return self.real.catalog

    def now_ms(self) -> int:
        return self.real.now_ms()

    def dead_letter(self, letter: DeadLetter) -> None:
        self.real.dead_letter(letter)

    async def register(self, doc: dict[str, Any], *, where: str) -> AssetCatalog:
        return await self.real.register(doc, where=where)

    async def submit(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        return await self.real.submit(bundle, batch_id=batch_id)

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        self.calls += 1
        added = await self.real.submit_group(items)
        self.added.append(added)
        return added


class CommitsThenHangs(Wrapped):
    """The first commit is made, then the worker dies before it can acknowledge: nothing it
    does afterwards (a fetch it took meanwhile) is committed or answered."""

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        if self.calls >= 1:
            self.calls += 1
            await asyncio.Event().wait()
        added = await super().submit_group(items)
        await asyncio.Event().wait()
        return added


class CommitsThenFails(Wrapped):
    """The first commit is made, but its answer is lost (the database connection broke)."""

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        first = self.calls == 0  # decided before awaiting: deliveries overlap
        added = await super().submit_group(items)
        if first:
            raise ConnectionError("connection to the database lost after COMMIT")
        return added


class NeverCommits(Wrapped):
    """A store that refuses every commit."""

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        self.calls += 1
        raise RuntimeError("disk full")
