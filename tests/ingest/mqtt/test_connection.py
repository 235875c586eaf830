"""MqttConnection on its own: publishing, hooks on every (re)connect, the Will, back-pressure."""

from __future__ import annotations

import asyncio
import socket

import pytest

from kiln.config_ingest import BrokerSettings
from kiln.ingest.mqtt.connection import MqttConnection, Received, Will
from tests.ingest.mqtt.conftest import Broker, until


def settings(broker: Broker, protocol: str = "5") -> BrokerSettings:
    return BrokerSettings(port=broker.port, protocol=protocol, reconnect_max_s=0.5)


async def collect(conn: MqttConnection, into: list[Received], ack: bool = True) -> None:
    async for batch in conn.batches():
        into.extend(batch)
        if ack:
            conn.ack(batch)


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_publish_resolves_once_the_broker_has_the_message(
    broker: Broker, protocol: str
) -> None:
    got: list[Received] = []
    sub = MqttConnection(settings(broker, protocol), "test", "sub", manual_ack=True)
    sub.subscribe(["t/#"], qos=1)
    async with sub, MqttConnection(settings(broker, protocol), "test", "pub") as pub:
        reader = asyncio.create_task(collect(sub, got))
        await asyncio.wait_for(sub.wait_connected(), 5)
        await asyncio.wait_for(pub.wait_connected(), 5)
        sent = await asyncio.gather(*(pub.publish(f"t/{k}", b"%d" % k, qos=1) for k in range(300)))
        assert all(sent)
        await until(lambda: len(got) == 300, "300 messages")
        reader.cancel()
    assert [m.payload for m in got] == [b"%d" % k for k in range(300)]  # in order
    assert {m.qos for m in got} == {1}
    assert sub.client_id == "kiln-test-sub"


async def test_qos0_while_disconnected_is_reported_not_sent(broker: Broker) -> None:
    conn = MqttConnection(settings(broker), "test", "pub")
    async with conn:
        await asyncio.wait_for(conn.wait_connected(), 5)
        broker.stop()
        await until(lambda: not conn.connected, "the disconnect")
        assert await conn.publish("t/x", b"1", qos=0) is False


async def test_subscriptions_and_on_up_are_renewed_on_every_reconnect(broker: Broker) -> None:
    ups: list[bool] = []
    downs: list[int] = []

    async def up(session_present: bool) -> None:
        ups.append(session_present)

    async def down() -> None:
        downs.append(1)

    got: list[Received] = []
    sub = MqttConnection(settings(broker), "test", "sub", on_up=up, on_down=down)
    sub.subscribe(["t/#"])
    async with sub:
        reader = asyncio.create_task(collect(sub, got))
        await until(lambda: len(ups) == 1, "the first on_up")
        broker.restart()
        await until(lambda: len(ups) == 2, "on_up after the restart")
        assert downs == [1]
        async with MqttConnection(settings(broker), "test", "pub") as pub:
            await asyncio.wait_for(pub.wait_connected(), 5)
            assert await pub.publish("t/after", b"x", qos=1)
        await until(lambda: len(got) == 1, "a message on the renewed subscription")
        reader.cancel()
    assert got[0].session == 2


async def test_a_fresh_will_each_connection_and_the_broker_sends_it(broker: Broker) -> None:
    made: list[int] = []

    def will() -> Will:
        made.append(len(made) + 1)
        return Will("dev/online", b"offline %d" % made[-1], qos=1, retain=True)

    got: list[Received] = []
    watcher = MqttConnection(settings(broker), "test", "watcher")
    watcher.subscribe(["dev/online"], qos=1)
    device = MqttConnection(settings(broker), "test", "device", will=will)
    async with watcher, device:
        reader = asyncio.create_task(collect(watcher, got))
        await asyncio.wait_for(watcher.wait_connected(), 5)
        await asyncio.wait_for(device.wait_connected(), 5)
        # The device's link breaks without a DISCONNECT: the broker publishes its Will.
        sock = device._client.socket()
        assert sock is not None
        sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        await until(lambda: len(got) == 1, "the Will")
        await until(lambda: len(made) == 2 and device.connected, "the reconnect")
        reader.cancel()
    assert got[0].payload == b"offline 1"
    assert made == [1, 2]


async def test_a_slow_consumer_holds_the_network_thread_back_and_loses_nothing(
    broker: Broker,
) -> None:
    got: list[Received] = []
    sub = MqttConnection(settings(broker), "test", "sub", max_queued=10)
    sub.subscribe(["t/#"], qos=1)

    async def slow() -> None:
        async for batch in sub.batches(max_messages=5):
            assert len(batch) <= 5
            got.extend(batch)
            await asyncio.sleep(0.002)

    async with sub, MqttConnection(settings(broker), "test", "pub") as pub:
        reader = asyncio.create_task(slow())
        await asyncio.wait_for(sub.wait_connected(), 5)
        await asyncio.wait_for(pub.wait_connected(), 5)
        await asyncio.gather(*(pub.publish("t/x", b"%d" % k, qos=1) for k in range(500)))
        await until(lambda: len(got) == 500, "500 messages")
        reader.cancel()
    assert [int(m.payload) for m in got] == list(range(500))


async def test_qos2_messages_take_pahos_own_path(broker: Broker) -> None:
    got: list[Received] = []
    sub = MqttConnection(settings(broker), "test", "sub")
    sub.subscribe(["q2/#"], qos=2)
    async with sub, MqttConnection(settings(broker), "test", "pub") as pub:
        reader = asyncio.create_task(collect(sub, got))
        await asyncio.wait_for(sub.wait_connected(), 5)
        await asyncio.wait_for(pub.wait_connected(), 5)
        await pub.publish("q2/a", b"exactly once", qos=2)
        await until(lambda: len(got) == 1, "the QoS 2 message")
        reader.cancel()
    assert (got[0].topic, got[0].payload, got[0].qos) == ("q2/a", b"exactly once", 2)
