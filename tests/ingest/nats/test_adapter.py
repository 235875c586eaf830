"""The NATS JetStream adapter end to end: a real nats-server, the real StoreSink, DuckDB."""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
import pytest

from kiln.domain.states import EquipmentState
from kiln.ingest.nats.adapter import NatsAdapter
from kiln.runtime import Runtime
from tests.conftest import NOW_MS
from tests.ingest.mqtt.conftest import letters
from tests.ingest.nats.conftest import (
    KILN,
    PRESS,
    T0,
    CommitsThenFails,
    CommitsThenHangs,
    NeverCommits,
    Wrapped,
    adapter,
    consumer_state,
    publish,
    running,
    settled,
    stored,
    tonnage,
    until,
)
from tests.nats import NatsServer


async def test_every_payload_shape_reaches_the_store(runtime: Runtime, server: NatsServer) -> None:
    a = adapter(server)
    batch = {
        "batch_id": "gateway-7-000001",
        "points": [{"equipment": "press-1", "signal": "tonnage", "ts": [T0 + 9], "v": [9.0]}],
    }
    messages = [
        (f"{PRESS}.telemetry.tonnage", orjson.dumps({"v": 812.5, "ts": T0})),
        (f"{PRESS}.telemetry.tonnage", orjson.dumps({"ts": [T0 + 1, T0 + 2], "v": [1, 2]})),
        (
            f"{PRESS}.telemetry",
            orjson.dumps({"ts": T0 + 3, "values": {"tonnage": 3.0, "lube_temp": 41.2}}),
        ),
        (f"{PRESS}.state", orjson.dumps({"state": "idle", "ts": T0, "reason": "starved"})),
        (f"{PRESS}.count", orjson.dumps({"good": 12, "scrap": 1, "ts": T0})),
        (f"{KILN}.telemetry.firing_temp", orjson.dumps({"v": 1180.0, "ts": T0})),
        (f"{PRESS}.alarm", b'{"text": "skipped, not refused"}'),
        ("kiln.v1.acme-auto._batch", orjson.dumps(batch)),
    ]
    async with running(a, runtime.sink):
        await publish(server, messages)
        await settled(runtime, a, messages=len(messages) - 1)
        await asyncio.sleep(0.3)  # the alarm is acknowledged without a commit
    assert stored(runtime) == [812.5, 1.0, 2.0, 3.0, 9.0]
    assert stored(runtime, "press-1", "lube_temp") == [41.2]
    press = runtime.catalog.equipment_id("acme-auto", "press-1")
    assert press is not None
    states = runtime.store.current_states([press]).to_pylist()
    assert [(s["state"], s["reason"]) for s in states] == [(EquipmentState.IDLE, "starved")]
    counts = runtime.store.counts([press], 0, NOW_MS + 1).to_pylist()
    assert [(c["good"], c["scrap"]) for c in counts] == [(12, 1)]
    assert (a.received, a.refused) == (len(messages), 0)
    assert a.connections == 1


async def test_two_workers_on_one_durable_share_the_work_and_store_everything_once(
    runtime: Runtime, server: NatsServer
) -> None:
    first, second = adapter(server, batch=20), adapter(server, batch=20)
    n = 1_000
    async with running(first, runtime.sink), running(second, runtime.sink):
        for k in range(0, n, 100):  # in waves, so that both workers are fetching meanwhile
            await publish(server, tonnage(k, 100))
            await asyncio.sleep(0.02)
        await settled(runtime, first, second, messages=n)
    assert first.committed > 0
    assert second.committed > 0
    assert first.committed + second.committed == n
    values = stored(runtime)
    assert len(values) == n
    assert sum(values) == sum(range(n))


async def test_a_fetch_committed_but_never_acknowledged_is_stored_once(
    runtime: Runtime, server: NatsServer
) -> None:
    hangs = CommitsThenHangs(runtime)
    first, second = adapter(server, ack_wait_s=1.0), adapter(server, ack_wait_s=1.0)
    async with running(first, hangs):
        await publish(server, tonnage(0, 50))
        await _calls(hangs, 1)
        await runtime.writer.flushed()
        # The first fetch is committed, never acknowledged (a fetch taken meanwhile is neither).
        assert 1 <= len(stored(runtime)) <= first.received
        # The first worker hangs as if dead; after ack_wait JetStream gives its messages to
        # the next worker on the durable, whose commit finds their identities claimed.
        async with running(second, runtime.sink):
            await publish(server, tonnage(50, 10))
            await settled(runtime, second, messages=60)
    assert first.committed == 0
    assert second.received == 60
    assert stored(runtime) == [float(k) for k in range(60)]


async def test_a_message_committed_before_a_server_restart_is_stored_once_after_it(
    runtime: Runtime, server: NatsServer
) -> None:
    hangs = CommitsThenHangs(runtime)
    first = adapter(server)
    async with running(first, hangs):
        await publish(server, tonnage(0, 20))
        await _calls(hangs, 1)
    await runtime.writer.flushed()
    assert 1 <= len(stored(runtime)) <= first.received
    server.restart()  # the stream keeps its creation time: the identities stay the same
    second = adapter(server)
    async with running(second, runtime.sink):
        await settled(runtime, second, messages=20)
    assert stored(runtime) == [float(k) for k in range(20)]


async def test_a_commit_whose_answer_was_lost_is_delivered_again_and_stored_once(
    runtime: Runtime, server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kiln.ingest.nats")
    sink = CommitsThenFails(runtime)
    a = adapter(server)
    async with running(a, sink):
        await publish(server, tonnage(0, 30))
        await settled(runtime, a, messages=30)
    assert stored(runtime) == [float(k) for k in range(30)]
    # The first commit stored its messages; delivered again, they added nothing.
    assert sink.calls >= 2
    assert sum(sink.added) == 30
    assert a.received > 30
    assert "could not commit" in caplog.text
    assert "commits again" in caplog.text


async def test_a_message_that_cannot_decode_is_a_dead_letter_and_never_delivered_again(
    runtime: Runtime, server: NatsServer
) -> None:
    a = adapter(server, ack_wait_s=0.5)
    messages = [
        (f"{PRESS}.telemetry.tonnage", b'{"v": 1.0, "ts": '),
        (f"{PRESS}.telemetry.tonnage", orjson.dumps({"v": 2.0, "ts": T0})),
        ("kiln.v1.acme-auto.nanhai-1.press-shop.tandem-a.op10.press-9.count", b'{"good": 1}'),
        ("kiln.v2.acme-auto.press-1.count", b'{"good": 1}'),
    ]
    async with running(a, runtime.sink):
        seqs = await publish(server, messages)
        await settled(runtime, a, messages=4)
        await asyncio.sleep(1.5)  # three times ack_wait: nothing may come back
        await runtime.writer.flushed()
        runtime.sink.flush()
    assert a.received == 4
    assert a.refused == 3
    assert stored(runtime) == [2.0]
    acme = letters(runtime, "acme-auto")
    assert [(d["source"], d["reason"].split(":")[0]) for d in acme] == [
        (f"{PRESS}.telemetry.tonnage", "malformed JSON"),
        (messages[2][0], "unknown equipment 'press-9' of 'acme-auto'"),
    ]
    assert acme[0]["payload"] == messages[0][1]
    [outside] = letters(runtime, None)
    assert outside["reason"] == "outside the namespace: subjects start with 'kiln.v1.'"
    assert await consumer_state(server) == (max(seqs), 0, 0)


async def test_a_message_that_never_commits_ends_as_a_dead_letter_after_max_deliver(
    runtime: Runtime, server: NatsServer
) -> None:
    sink = NeverCommits(runtime)
    a = adapter(server, max_deliver=3)
    async with running(a, sink):
        await publish(server, tonnage(0, 1))
        await _calls(sink, 3)
        await until(lambda: runtime.sink.flush() > 0 or bool(letters(runtime, None)), "the letter")
    [letter] = letters(runtime, None)
    assert letter["reason"] == "not committed after 3 deliveries: RuntimeError: disk full"
    assert letter["source"] == f"{PRESS}.telemetry.tonnage"
    assert (await consumer_state(server))[1] == 0
    assert stored(runtime) == []


async def test_the_adapter_comes_back_after_the_server_restarts(
    runtime: Runtime, server: NatsServer
) -> None:
    a = adapter(server)
    async with running(a, runtime.sink):
        await publish(server, tonnage(0, 10))
        await settled(runtime, a, messages=10)
        server.stop()
        await _until_unbound(a)
        server.restart()  # same store folder: the stream, its messages and the durable survive
        await asyncio.wait_for(a.subscribed.wait(), 15)
        await publish(server, tonnage(10, 10))
        await settled(runtime, a, messages=20)
    assert stored(runtime) == [float(k) for k in range(20)]
    assert a.connections == 2


async def test_messages_published_while_no_worker_runs_wait_in_the_stream(
    runtime: Runtime, server: NatsServer
) -> None:
    await publish(server, tonnage(0, 25))
    a = adapter(server, batch=10)
    async with running(a, runtime.sink):
        await settled(runtime, a, messages=25)
    assert stored(runtime) == [float(k) for k in range(25)]


@pytest.mark.parametrize("server_up", [True, False])
async def test_cancelling_ends_the_adapter_promptly(
    runtime: Runtime, server: NatsServer, server_up: bool
) -> None:
    a = adapter(server, reconnect_max_s=30.0, fetch_timeout_s=5.0)
    task = asyncio.create_task(a.run(runtime.sink))
    await asyncio.wait_for(a.subscribed.wait(), 15)
    if not server_up:
        server.stop()
        await _until_unbound(a)
        await asyncio.sleep(0.7)  # into the backoff between attempts
    t0 = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - t0 < 2.5


async def _calls(sink: Wrapped, n: int) -> None:
    await until(lambda: sink.calls >= n, f"{n} commits")


async def _until_unbound(a: NatsAdapter) -> None:
    await until(lambda: not a.subscribed.is_set(), "the adapter to notice")
