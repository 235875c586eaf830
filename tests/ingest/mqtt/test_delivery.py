"""At least once: QoS 1 messages are acknowledged only after their batch is committed, so a
failed commit, a stopped adapter or a restarted broker loses nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from kiln.config_ingest import MqttSettings
from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.mqtt.adapter import MqttAdapter
from kiln.runtime import Runtime
from tests.ingest.mqtt.conftest import (
    PRESS,
    T0,
    Broker,
    apublish,
    running,
    series,
    settled,
    stored,
    until,
)


def adapter(broker: Broker, protocol: str = "5", **settings: object) -> MqttAdapter:
    return MqttAdapter(
        MqttSettings.model_validate(
            {
                "name": "plant",
                "port": broker.port,
                "protocol": protocol,
                "qos": 1,
                "reconnect_max_s": 0.5,
                **settings,
            }
        )
    )


def tonnage(first: int, count: int) -> list[tuple[str, bytes]]:
    return [
        (f"{PRESS}/telemetry/tonnage", orjson.dumps({"v": float(k), "ts": T0 + k}))
        for k in range(first, first + count)
    ]


class Wrapped:
    """The runtime's real sink, with a submit the test controls."""

    def __init__(self, runtime: Runtime) -> None:
        self.real = runtime.sink
        self.calls = 0

    @property
    def catalog(self) -> AssetCatalog:
        return self.real.catalog

    def now_ms(self) -> int:
        return self.real.now_ms()

    def dead_letter(self, letter: DeadLetter) -> None:
        self.real.dead_letter(letter)

    async def register(self, doc: dict[str, Any], *, where: str) -> AssetCatalog:
        return await self.real.register(doc, where=where)

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        self.calls += 1
        return await self.real.submit_group(items)


class FailsFirst(Wrapped):
    """The first commit fails (a store that is briefly unavailable)."""

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("disk full")
        return await self.real.submit_group(items)


class Hangs(Wrapped):
    """A commit that never returns (the process dies before it does)."""

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        self.calls += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class CommitsThenHangs(Wrapped):
    """The first commit is made, then the process dies before it can acknowledge."""

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        self.calls += 1
        if self.calls == 1:
            await self.real.submit_group(items)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_message_committed_but_never_acknowledged_is_stored_once(
    runtime: Runtime, broker: Broker
) -> None:
    first = adapter(broker)
    hangs = CommitsThenHangs(runtime)
    async with running(first, hangs):  # type: ignore[arg-type]
        await apublish(broker.port, tonnage(0, 40))
        await until(lambda: hangs.calls >= 1, "the first commit")
        await runtime.writer.flushed()
    sid = series(runtime, "press-1", "tonnage")
    committed = len(stored(runtime, sid))
    assert committed >= 1  # stored, and the broker was never told
    # The broker delivers the unacknowledged messages again to the same session: their
    # identities (topic and payload digest) are claimed, so they store nothing twice.
    second = adapter(broker)
    async with running(second, runtime.sink):
        await settled(runtime, second, 40)
    assert second.received >= committed
    assert [v for _, v in stored(runtime, sid)] == [float(k) for k in range(40)]


async def test_the_same_message_sent_twice_is_stored_once_and_without_dedupe_twice(
    runtime: Runtime, broker: Broker
) -> None:
    sid = series(runtime, "press-1", "tonnage")
    a = adapter(broker)
    async with running(a, runtime.sink):
        await apublish(broker.port, tonnage(0, 5) + tonnage(0, 5))
        await settled(runtime, a, 10)
    assert len(stored(runtime, sid)) == 5
    plain = adapter(broker, dedupe=False, client_id="plain")
    async with running(plain, runtime.sink):
        await apublish(broker.port, tonnage(0, 5))
        await settled(runtime, plain, 5)
    assert len(stored(runtime, sid)) == 10  # at least once: stored again


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_messages_of_a_batch_never_committed_are_delivered_again(
    runtime: Runtime, broker: Broker, protocol: str
) -> None:
    first = adapter(broker, protocol)
    hangs = Hangs(runtime)
    async with running(first, hangs):  # type: ignore[arg-type]
        await apublish(broker.port, tonnage(0, 50), protocol=protocol)
        await until(lambda: hangs.calls == 1, "the first commit")
    # The first adapter was stopped while its first commit hung: it had received messages
    # (the rest waited in its queue or at the broker), and stored or acknowledged none.
    assert first.received >= 1
    await runtime.writer.flushed()
    sid = series(runtime, "press-1", "tonnage")
    assert stored(runtime, sid) == []
    # More arrive while no adapter runs; the broker keeps them in the adapter's session.
    await apublish(broker.port, tonnage(50, 30), protocol=protocol)
    second = adapter(broker, protocol)
    async with running(second, runtime.sink):
        await settled(runtime, second, 80)
    assert [v for _, v in stored(runtime, sid)] == [float(k) for k in range(80)]
    assert second.received == 80


async def test_a_failed_commit_is_retried_and_only_then_acknowledged(
    runtime: Runtime, broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    a = adapter(broker)
    sink = FailsFirst(runtime)
    async with running(a, sink):  # type: ignore[arg-type]
        await apublish(broker.port, tonnage(0, 20))
        await until(lambda: sink.calls >= 2, "the retried commit")
        await settled(runtime, a, 20)
    sid = series(runtime, "press-1", "tonnage")
    assert [v for _, v in stored(runtime, sid)] == [float(k) for k in range(20)]
    assert "could not commit" in caplog.text
    # Everything was acknowledged once committed: a new session gets nothing again.
    again = adapter(broker)
    async with running(again, runtime.sink):
        await apublish(broker.port, tonnage(20, 1))
        await settled(runtime, again, 1)
    assert again.received == 1
    assert len(stored(runtime, sid)) == 21


async def test_the_adapter_comes_back_after_the_broker_restarts(
    runtime: Runtime, broker: Broker
) -> None:
    a = adapter(broker)
    async with running(a, runtime.sink):
        await apublish(broker.port, tonnage(0, 10))
        await settled(runtime, a, 10)
        broker.stop()
        await until(lambda: not a.subscribed.is_set(), "the adapter to notice")
        broker.restart()  # same port, no persistence: the subscription must be made again
        await asyncio.wait_for(a.subscribed.wait(), 10)
        await apublish(broker.port, tonnage(10, 10))
        await settled(runtime, a, 20)
    assert [v for _, v in stored(runtime, series(runtime, "press-1", "tonnage"))] == [
        float(k) for k in range(20)
    ]


@pytest.mark.parametrize("broker_up", [True, False])
async def test_cancelling_ends_the_adapter_promptly(
    runtime: Runtime, broker: Broker, broker_up: bool
) -> None:
    a = adapter(broker, reconnect_max_s=30.0)
    task = asyncio.create_task(a.run(runtime.sink))
    await asyncio.wait_for(a.subscribed.wait(), 10)
    if not broker_up:
        broker.stop()
        await until(lambda: not a.subscribed.is_set(), "the adapter to notice")
        await asyncio.sleep(0.7)  # into the backoff between attempts
    t0 = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - t0 < 1.0
