"""The MQTT adapter end to end: a real Mosquitto, the real StoreSink, the DuckDB store."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from kiln.config_ingest import MqttSettings
from kiln.domain.states import EquipmentState
from kiln.ingest.mqtt.adapter import MqttAdapter
from kiln.runtime import Runtime
from tests.conftest import NOW_MS
from tests.ingest.mqtt.conftest import (
    KILN,
    PRESS,
    T0,
    Broker,
    apublish,
    letters,
    running,
    series,
    settled,
    stored,
    until,
)


def adapter(broker: Broker, **settings: object) -> MqttAdapter:
    return MqttAdapter(
        MqttSettings.model_validate(
            {"name": "plant", "port": broker.port, "reconnect_max_s": 1.0, **settings}
        )
    )


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
@pytest.mark.parametrize("qos", [0, 1])
async def test_every_payload_shape_reaches_the_store(
    runtime: Runtime, broker: Broker, protocol: str, qos: int
) -> None:
    a = adapter(broker, protocol=protocol, qos=qos)
    messages = [
        (f"{PRESS}/telemetry/tonnage", orjson.dumps({"v": 812.5, "ts": T0})),
        (f"{PRESS}/telemetry/tonnage", orjson.dumps({"ts": [T0 + 1, T0 + 2], "v": [1, 2]})),
        (
            f"{PRESS}/telemetry",
            orjson.dumps({"ts": T0 + 3, "values": {"tonnage": 3.0, "lube_temp": 41.2}}),
        ),
        (f"{PRESS}/state", orjson.dumps({"state": "idle", "ts": T0, "reason": "starved"})),
        (f"{PRESS}/count", orjson.dumps({"good": 12, "scrap": 1, "ts": T0})),
        (f"{KILN}/telemetry/firing_temp", orjson.dumps({"v": 1180.0, "ts": T0})),
    ]
    async with running(a, runtime.sink):
        await apublish(broker.port, messages, qos=qos, protocol=protocol)
        await settled(runtime, a, len(messages))
    tonnage = series(runtime, "press-1", "tonnage")
    assert stored(runtime, tonnage) == [(T0, 812.5), (T0 + 1, 1.0), (T0 + 2, 2.0), (T0 + 3, 3.0)]
    assert stored(runtime, series(runtime, "press-1", "lube_temp")) == [(T0 + 3, 41.2)]
    assert stored(runtime, series(runtime, "kiln-1", "firing_temp", "huamei-ceramics")) == [
        (T0, 1180.0)
    ]
    press = runtime.catalog.equipment_id("acme-auto", "press-1")
    assert press is not None
    states = runtime.store.current_states([press]).to_pylist()
    assert [(s["state"], s["reason"]) for s in states] == [(EquipmentState.IDLE, "starved")]
    counts = runtime.store.counts([press], 0, NOW_MS).to_pylist()
    assert [(c["good"], c["scrap"]) for c in counts] == [(12, 1)]
    assert a.refused == 0


async def test_mosquitto_pub_from_the_command_line(runtime: Runtime, broker: Broker) -> None:
    a = adapter(broker)
    async with running(a, runtime.sink):
        for k in range(3):
            payload = orjson.dumps({"v": 100.0 + k, "ts": T0 + k}).decode()
            proc = await asyncio.create_subprocess_exec(
                "mosquitto_pub",
                *("-p", str(broker.port), "-h", "127.0.0.1", "-q", "1", "-V", "mqttv311"),
                *("-t", f"{PRESS}/telemetry/lube_temp", "-m", payload),
            )
            assert await asyncio.wait_for(proc.wait(), 10) == 0
        await settled(runtime, a, 3)
    assert stored(runtime, series(runtime, "press-1", "lube_temp")) == [
        (T0, 100.0),
        (T0 + 1, 101.0),
        (T0 + 2, 102.0),
    ]


async def test_bad_messages_become_dead_letters_while_good_data_flows(
    runtime: Runtime, broker: Broker
) -> None:
    a = adapter(broker, topics=["fs/v1/#", "factory/#"])
    good = (f"{PRESS}/telemetry/tonnage", orjson.dumps({"v": 1.0, "ts": T0}))
    bad = [
        (f"{PRESS}/telemetry/tonnage", b'{"v": 1.0, "ts": '),
        (f"{PRESS}/telemetry/tonnage", b'{"v": NaN, "ts": 1764000000000}'),
        (f"{PRESS}/telemetry/tonnage", b'{"v": "high", "ts": 1764000000000}'),
        (f"{PRESS}/telemetry/tonnage", orjson.dumps({"v": 1.0, "ts": 123})),
        (f"{PRESS}/telemetry/torque", orjson.dumps({"v": 1.0, "ts": T0})),
        ("fs/v1/acme-auto/nanhai-1/press-shop/tandem-a/op10/press-9/state", b"{}"),
        ("fs/v1/nobody/s/a/l/st/press-1/telemetry/tonnage", b"{}"),
        ("factory/press-1/tonnage", b"1"),
    ]
    messages = []
    for k, b in enumerate(bad):
        messages += [b, (good[0], orjson.dumps({"v": float(k), "ts": T0 + k}))]
    async with running(a, runtime.sink):
        await apublish(broker.port, messages)
        await settled(runtime, a, len(messages))
    assert [v for _, v in stored(runtime, series(runtime, "press-1", "tonnage"))] == [
        float(k) for k in range(len(bad))
    ]
    assert a.refused == len(bad)
    acme = letters(runtime, "acme-auto")
    assert [(d["source"], d["adapter"]) for d in acme] == [(t, "mqtt:plant") for t, _ in bad[:6]]
    reasons = [d["reason"] for d in acme]
    assert reasons[0].startswith("malformed JSON")
    assert "NaN and Infinity are not JSON numbers" in reasons[1]
    assert reasons[2] == "v: every value must be a number"
    assert reasons[3] == "ts: timestamp 123 is before 2000-01-01"
    assert reasons[4] == "unknown signal 'torque' of 'press-1'"
    assert reasons[5] == "unknown equipment 'press-9' of 'acme-auto'"
    assert acme[0]["payload"] == bad[0][1]
    nobody = letters(runtime, None)
    assert [d["reason"] for d in nobody] == [
        "unknown enterprise 'nobody'",
        "outside the namespace: topics start with 'fs/v1/'",
    ]


async def test_a_retained_state_and_an_offline_will_are_seen(
    runtime: Runtime, broker: Broker
) -> None:
    await apublish(
        broker.port,
        [(f"{PRESS}/state", orjson.dumps({"state": "setup", "ts": T0}))],
        retain=True,
    )
    a = adapter(broker)
    async with running(a, runtime.sink):
        await settled(runtime, a, 1)  # the retained state arrives with the subscription
        await apublish(broker.port, [(f"{PRESS}/state/online", b"offline")])
        await settled(runtime, a, 2)
    press = runtime.catalog.equipment_id("acme-auto", "press-1")
    assert press is not None
    rows = runtime.store.state_intervals([press], 0, NOW_MS + 1).to_pylist()
    assert [(r["state"], r["reason"]) for r in rows] == [
        (EquipmentState.SETUP, None),
        (EquipmentState.UNKNOWN, "offline"),  # from the receive time on
    ]
    assert rows[1]["start_ms"] == NOW_MS


async def test_a_json_batch_with_a_batch_id_is_stored_once(
    runtime: Runtime, broker: Broker
) -> None:
    doc = {
        "batch_id": "gateway-7-000001",
        "points": [{"equipment": "press-1", "signal": "tonnage", "ts": [T0, T0 + 1], "v": [1, 2]}],
        "states": [{"equipment": "press-1", "ts": T0, "state": "running"}],
    }
    a = adapter(broker)
    async with running(a, runtime.sink):
        await apublish(broker.port, [("fs/v1/acme-auto/_batch", orjson.dumps(doc))] * 2)
        await settled(runtime, a, 2)
    assert stored(runtime, series(runtime, "press-1", "tonnage")) == [(T0, 1.0), (T0 + 1, 2.0)]


async def test_shared_subscription_splits_the_work_between_workers(
    runtime: Runtime, broker: Broker
) -> None:
    first = adapter(broker, shared_group="ingest", client_id="worker-1")
    second = adapter(broker, shared_group="ingest", client_id="worker-2")
    n = 200
    messages = [
        (f"{PRESS}/telemetry/tonnage", orjson.dumps({"v": float(k), "ts": T0 + k}))
        for k in range(n)
    ]
    async with running(first, runtime.sink), running(second, runtime.sink):
        await apublish(broker.port, messages)
        await until(lambda: first.received + second.received >= n, "200 messages")
        await runtime.writer.flushed()
    assert first.received + second.received == n
    assert first.received > 0
    assert second.received > 0
    assert len(stored(runtime, series(runtime, "press-1", "tonnage"))) == n
