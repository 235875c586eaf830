"""Brokers on free ports (plain, with passwords, with TLS), publishers, and a running adapter."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiln.ingest.mqtt.adapter import MqttAdapter
from kiln.ingest.sink import Sink
from kiln.runtime import Runtime
from tests.conftest import NOW_MS
from tests.mosquitto import Mosquitto, free_port

PRESS = "fs/v1/acme-auto/nanhai-1/press-shop/tandem-a/op10/press-1"
KILN = "fs/v1/huamei-ceramics/plant/default/kiln-1/firing/kiln-1"
T0 = NOW_MS - 60_000


class Broker:
    """A Mosquitto of our own; restart() brings it back on the same port."""

    def __init__(self, folder: Path, lines: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.conf = folder / f"mosquitto-{self.port}.conf"
        body = [f"listener {self.port} 127.0.0.1", *lines]
        if not any(line.startswith("allow_anonymous") for line in lines):
            body.append("allow_anonymous true")
        if os.geteuid() == 0:  # as root, Mosquitto would drop to its own user and lose the files
            body.append("user root")
        self.conf.write_text("\n".join(body) + "\n")
        self.proc = Mosquitto(self.conf, self.port)

    def stop(self) -> None:
        """Stop the broker (its sessions and retained messages go with it)."""
        self.proc.stop()

    def restart(self) -> None:
        """Start it again on the same port."""
        self.proc.stop()
        self.proc = Mosquitto(self.conf, self.port)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """An anonymous broker on a free port."""
    b = Broker(tmp_path)
    yield b
    b.stop()


def paho_client(
    port: int,
    *,
    protocol: str = "5",
    tls: dict[str, Any] | None = None,
    auth: tuple[str, str] | None = None,
) -> mqtt.Client:
    """A connected paho client with its network thread running."""
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        protocol=mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311,
    )
    if auth:
        c.username_pw_set(*auth)
    if tls:
        c.tls_set(**tls)
    connected = threading.Event()
    c.on_connect = lambda client, u, f, rc, p: connected.set() if not rc.is_failure else None
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert connected.wait(5), "the test publisher could not connect"
    return c


def publish(
    port: int,
    messages: Sequence[tuple[str, bytes | str]],
    *,
    qos: int = 1,
    retain: bool = False,
    **client: Any,
) -> None:
    """Publish with paho and wait until the broker has every message."""
    c = paho_client(port, **client)
    try:
        infos = [
            c.publish(
                topic, payload if isinstance(payload, bytes) else payload.encode(), qos, retain
            )
            for topic, payload in messages
        ]
        for info in infos:
            info.wait_for_publish(5)
            assert info.is_published()
    finally:
        c.disconnect()
        c.loop_stop()


async def apublish(port: int, messages: Sequence[tuple[str, bytes | str]], **kw: Any) -> None:
    """publish() off the event loop, so the adapter under test keeps running meanwhile."""
    await asyncio.to_thread(publish, port, messages, **kw)


async def until(
    check: Callable[[], bool], what: str, timeout_s: float = 10.0, every_s: float = 0.02
) -> None:
    """Wait until check() holds, or fail naming what did not happen."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every_s)


@contextlib.asynccontextmanager
async def running(adapter: MqttAdapter, sink: Sink) -> AsyncIterator[asyncio.Task[None]]:
    """Run the adapter as a task until the block ends; wait for its subscription first."""
    task = asyncio.create_task(adapter.run(sink))
    try:
        await asyncio.wait_for(adapter.subscribed.wait(), 10)
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def settled(runtime: Runtime, adapter: MqttAdapter, messages: int) -> None:
    """Wait until the adapter has taken `messages` messages and everything is committed."""
    await until(lambda: adapter.received >= messages, f"{messages} messages at the adapter")
    await runtime.writer.flushed()
    runtime.sink.flush()


def series(runtime: Runtime, equipment: str, signal: str, enterprise: str = "acme-auto") -> int:
    """The series id of an equipment's signal in the small city."""
    eq = runtime.catalog.equipment_id(enterprise, equipment)
    assert eq is not None
    sid = runtime.catalog.series_id(eq, signal)
    assert sid is not None
    return sid


def stored(runtime: Runtime, sid: int) -> list[tuple[int, float]]:
    """(ts_ms, value) of a series, in time order."""
    t = runtime.store.points([sid], 0, NOW_MS + 3_600_000).to_pydict()
    return list(zip(t["ts_ms"], t["value"], strict=True))


def letters(runtime: Runtime, enterprise: str | None) -> list[dict[str, Any]]:
    """The dead letters of an enterprise (None: of none), oldest first."""
    eid = runtime.catalog.enterprise_by_slug[enterprise] if enterprise else None
    rows = runtime.store.dead_letters(eid, limit=1000).to_pylist()
    return list(reversed(rows))
