"""Load sharing over MQTT 5 shared subscriptions: workers in one group split the messages, and
each keeps a persistent session under a stable client id, so a restarted worker gets back what
its session held."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from kiln.config import load_settings
from kiln.config_ingest import MqttSettings
from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter
from kiln.errors import ConfigError
from kiln.ingest.mqtt.adapter import MqttAdapter
from kiln.ingest.mqtt.connection import hostname
from kiln.runtime import Runtime
from tests.ingest.mqtt.conftest import (
    PRESS,
    T0,
    Broker,
    apublish,
    running,
    series,
    stored,
    until,
)


def worker(broker: Broker, name: str, **settings: object) -> MqttAdapter:
    return MqttAdapter(
        MqttSettings.model_validate(
            {
                "name": "plant",
                "port": broker.port,
                "shared_group": "ingest",
                "worker": name,
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


class Hangs:
    """A sink whose commits never return: the worker takes messages and acknowledges none."""

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
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_workers_in_a_group_split_the_messages_and_none_gets_one_twice(
    runtime: Runtime, broker: Broker
) -> None:
    first, second = worker(broker, "w1"), worker(broker, "w2")
    assert first.filters() == ["$share/ingest/fs/v1/#"]
    n = 300
    async with running(first, runtime.sink), running(second, runtime.sink):
        await apublish(broker.port, tonnage(0, n))
        await until(lambda: first.received + second.received >= n, f"{n} messages")
        await asyncio.sleep(0.2)  # a message delivered twice would arrive now
        await runtime.writer.flushed()
    assert first.received > 0
    assert second.received > 0
    assert first.received + second.received == n
    values = [v for _, v in stored(runtime, series(runtime, "press-1", "tonnage"))]
    assert sorted(values) == [float(k) for k in range(n)]


async def test_a_restarted_worker_gets_back_what_its_session_held(
    runtime: Runtime, broker: Broker
) -> None:
    hangs = Hangs(runtime)
    steady = worker(broker, "steady")
    async with running(steady, runtime.sink):
        restarting = worker(broker, "restarting")
        async with running(restarting, hangs):  # type: ignore[arg-type]
            await apublish(broker.port, tonnage(0, 40))
            await until(lambda: hangs.calls >= 1, "the hung commit")
        held = restarting.received
        assert held > 0  # taken, never acknowledged: still in its session at the broker
        # While it is away the broker goes on queueing the group's share to its session.
        await apublish(broker.port, tonnage(40, 40))
        again = worker(broker, "restarting")  # the same worker name: the same client id
        assert again.client_id() == restarting.client_id()
        async with running(again, runtime.sink):
            await until(lambda: steady.received + again.received >= 80, "all 80 messages")
            await runtime.writer.flushed()
    assert again.received >= held
    values = [v for _, v in stored(runtime, series(runtime, "press-1", "tonnage"))]
    assert sorted(values) == [float(k) for k in range(80)]


def test_the_client_id_is_the_worker_s_and_stays_the_same_across_restarts() -> None:
    def client_id(**settings: object) -> str:
        return MqttAdapter(MqttSettings.model_validate({"name": "plant", **settings})).client_id()

    assert client_id() == "kiln-mqtt-plant"
    assert client_id(shared_group="g", worker="w-3") == "kiln-mqtt-plant-w-3"
    assert client_id(shared_group="g", client_id="edge", worker="w-3") == "edge-w-3"
    assert client_id(shared_group="g") == f"kiln-mqtt-plant-{hostname()}"
    assert client_id(shared_group="g") == client_id(shared_group="g")


def test_a_shared_group_needs_mqtt_5_and_says_so_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"shared_group 'g' needs protocol \"5\""):
        MqttSettings(name="plant", shared_group="g", protocol="3.1.1")
    conf = tmp_path / "kiln.toml"
    conf.write_text(
        '[[ingest.mqtt]]\nname = "plant"\nprotocol = "3.1.1"\nshared_group = "ingest"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"kiln\.toml: ingest\.mqtt\.0.*shared_group 'ingest'"):
        load_settings(conf, environ={})


@pytest.mark.parametrize(
    ("key", "value"), [("shared_group", "a/b"), ("shared_group", "a+"), ("worker", "w 1")]
)
def test_a_group_or_worker_name_that_breaks_the_topic_is_refused(key: str, value: str) -> None:
    with pytest.raises(ValidationError, match=key):
        MqttSettings.model_validate({"name": "plant", "shared_group": "g", key: value})
