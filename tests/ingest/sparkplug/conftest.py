"""A Mosquitto of our own, a running SparkplugHost on the runtime's real sink, edge nodes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiln.config_ingest import BrokerSettings, SparkplugSettings
from kiln.domain.states import STATE_NAMES
from kiln.ingest.sparkplug.host import SparkplugHost
from kiln.ingest.sparkplug.session import SessionRules
from kiln.ingest.sparkplug.topics import parse_state
from kiln.runtime import Runtime
from kiln.simulator.protocols.sparkplug_edge import MetricSpec, SimEdgeNode, telemetry
from tests.conftest import NOW_MS
from tests.mosquitto import Mosquitto, free_port

GROUP = "acme-auto.nanhai-1.press-shop"
NODE = "tandem-a"
PRESS = telemetry("tonnage", "lube_temp")
ROBOT = telemetry("j1_torque")
FAST = SessionRules(reorder_timeout_ms=300, rebirth_every_ms=1_000)


class Broker:
    """A Mosquitto on a free port; restart() brings it back on the same port."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.conf = folder / f"mosquitto-{self.port}.conf"
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "set_tcp_nodelay true"]
        if os.geteuid() == 0:  # as root, Mosquitto would switch to its own user
            lines.append("user root")
        self.conf.write_text("\n".join(lines) + "\n")
        self.proc = Mosquitto(self.conf, self.port)

    def stop(self) -> None:
        """Stop it (retained messages and sessions go with it)."""
        self.proc.stop()

    def start(self) -> None:
        """Start it again on the same port."""
        self.proc = Mosquitto(self.conf, self.port)

    def settings(self, **extra: Any) -> BrokerSettings:
        """How a client reaches it, reconnecting quickly."""
        return BrokerSettings.model_validate(
            {"port": self.port, "reconnect_max_s": 0.5, "keepalive_s": 5, **extra}
        )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """An anonymous broker of this test's own."""
    b = Broker(tmp_path)
    yield b
    b.stop()


def host_for(broker: Broker, rules: SessionRules = FAST, **cfg: Any) -> SparkplugHost:
    """A primary host on the broker (short reorder timeout and rebirth interval by default)."""
    settings = SparkplugSettings.model_validate(
        {"name": "plant", "port": broker.port, "reconnect_max_s": 0.5, "keepalive_s": 5, **cfg}
    )
    return SparkplugHost(settings, rules=rules)


async def until(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Wait until check() holds, or fail naming what did not happen."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def hosting(host: SparkplugHost, runtime: Runtime) -> AsyncIterator[asyncio.Task[None]]:
    """Run the host on the runtime's sink until the block ends (a clean shutdown)."""
    task = asyncio.create_task(host.run(runtime.sink))
    try:
        await until(lambda: host.online, "the host's STATE online")
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def edge(
    broker: Broker,
    devices: Mapping[str, Sequence[MetricSpec]] | None = None,
    *,
    group: str = GROUP,
    node: str = NODE,
    **kw: Any,
) -> SimEdgeNode:
    """An edge node at the tests' fixed clock, with press-1 and robot-1 unless told."""
    devices = {"press-1": PRESS, "robot-1": ROBOT} if devices is None else devices
    return SimEdgeNode(broker.settings(), group, node, devices, clock_ms=lambda: NOW_MS, **kw)


async def settled(runtime: Runtime, host: SparkplugHost, messages: int) -> None:
    """Wait until the host has taken `messages` messages and committed what they made."""
    await until(lambda: host.stats.messages >= messages, f"{messages} messages at the host")
    await host.flushed()
    await runtime.writer.flushed()
    runtime.sink.flush()


def series(runtime: Runtime, equipment: str, signal: str) -> int:
    """The series id of an acme-auto equipment's signal."""
    eq = runtime.catalog.equipment_id("acme-auto", equipment)
    assert eq is not None
    sid = runtime.catalog.series_id(eq, signal)
    assert sid is not None
    return sid


def stored(runtime: Runtime, sid: int) -> list[tuple[int, float]]:
    """(ts_ms, value) of a series in time order."""
    t = runtime.store.points([sid], 0, NOW_MS + 3_600_000).to_pydict()
    return list(zip(t["ts_ms"], t["value"], strict=True))


def states(runtime: Runtime, equipment: str) -> list[tuple[int, str, str | None]]:
    """(start_ms, state, reason) intervals of an acme-auto equipment."""
    eq = runtime.catalog.equipment_id("acme-auto", equipment)
    assert eq is not None
    t = runtime.store.state_intervals([eq], 0, NOW_MS + 3_600_000).to_pylist()
    return [(r["start_ms"], STATE_NAMES[r["state"]], r["reason"]) for r in t]


def letters(runtime: Runtime, enterprise: str | None = "acme-auto") -> list[dict[str, Any]]:
    """The dead letters of an enterprise (None: of none), oldest first."""
    runtime.sink.flush()
    eid = runtime.catalog.enterprise_by_slug[enterprise] if enterprise else None
    return list(reversed(runtime.store.dead_letters(eid, limit=1000).to_pylist()))


class Watcher:
    """A paho client recording every message under spBv1.0/# (retained ones too)."""

    def __init__(self, broker: Broker) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watcher-{id(self)}")
        subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("spBv1.0/#", qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert subscribed.wait(5), "the watcher could not subscribe"

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def on(self, topic: str) -> list[bytes]:
        """The payloads seen on a topic, in order."""
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def states(self, host_id: str = "kiln") -> list[tuple[bool, int]]:
        """The STATE messages of a host seen so far."""
        return [s for p in self.on(f"spBv1.0/STATE/{host_id}") if (s := parse_state(p))]

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def watcher(broker: Broker) -> Iterator[Watcher]:
    """Everything published under spBv1.0/ on the test's broker."""
    w = Watcher(broker)
    yield w
    w.close()
