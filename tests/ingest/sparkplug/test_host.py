"""The primary host against a real Mosquitto: births, data, gaps and rebirths, deaths, faults."""

from __future__ import annotations

import asyncio

from kiln.ingest.sparkplug.codec import Metric, encode
from kiln.ingest.sparkplug.datatypes import DataType as T
from kiln.ingest.sparkplug.session import SessionRules
from kiln.ingest.sparkplug.topics import state_payload
from kiln.runtime import Runtime
from tests.conftest import NOW_MS
from tests.ingest.sparkplug.conftest import (
    NODE,
    PRESS,
    Broker,
    Watcher,
    edge,
    host_for,
    hosting,
    letters,
    series,
    states,
    stored,
    until,
)

T0 = NOW_MS - 60_000


async def test_births_then_data_reach_the_store(broker: Broker, runtime: Runtime) -> None:
    host = host_for(broker)
    async with hosting(host, runtime), edge(broker) as node:
        await asyncio.wait_for(node.born.wait(), 10)
        await node.data(
            "press-1",
            [
                ("telemetry/tonnage", 7_100.0, T0),
                ("telemetry/lube_temp", 41.5, T0),
                ("state/current", "running", T0),
                ("state/reason", "", T0),
                ("count/good", 12, T0 + 1_000),
                ("count/scrap", 1, T0 + 1_000),
            ],
        )
        await node.data("press-1", [("telemetry/tonnage", 7_200.0, T0 + 1_000)])
        await node.data("robot-1", [("telemetry/j1_torque", -12.5, T0)])
        tonnage = series(runtime, "press-1", "tonnage")
        await until(lambda: len(stored(runtime, tonnage)) == 2, "two tonnage points")
        await until(
            lambda: stored(runtime, series(runtime, "robot-1", "j1_torque")) == [(T0, -12.5)],
            "the robot's point",
        )
        assert stored(runtime, tonnage) == [(T0, 7_100.0), (T0 + 1_000, 7_200.0)]
        assert stored(runtime, series(runtime, "press-1", "lube_temp")) == [(T0, 41.5)]
        assert states(runtime, "press-1") == [(T0, "running", None)]
        eq = runtime.catalog.equipment_id("acme-auto", "press-1")
        assert eq is not None
        counts = runtime.store.counts([eq], 0, NOW_MS).to_pylist()
        assert [(c["good"], c["scrap"]) for c in counts] == [(12, 1)]
        [status] = host.edge_nodes()
        assert (status.node, status.online, status.stale, status.bd_seq) == (NODE, True, False, 0)
        assert status.devices == {"press-1": True, "robot-1": True}
        assert host.stats.rebirths_sent == 0
        assert letters(runtime) == []


async def test_state_is_online_retained_then_offline_after_a_clean_shutdown(
    broker: Broker, runtime: Runtime, watcher: Watcher
) -> None:
    host = host_for(broker, host_id="scada-1")
    async with hosting(host, runtime):
        await until(lambda: watcher.states("scada-1")[-1:] == [(True, NOW_MS)], "STATE online")
        # A late Will of an earlier connection says offline: the host says online again.
        watcher.client.publish(
            "spBv1.0/STATE/scada-1", state_payload(False, NOW_MS - 5), qos=1, retain=True
        )
        await until(
            lambda: watcher.states("scada-1")[-2:] == [(False, NOW_MS - 5), (True, NOW_MS)],
            "online again",
        )
        assert host.online
    await until(lambda: watcher.states("scada-1")[-1] == (False, NOW_MS), "STATE offline")
    late = Watcher(broker)  # a newcomer gets the retained STATE: offline
    try:
        await until(lambda: late.states("scada-1") == [(False, NOW_MS)], "retained offline")
    finally:
        late.close()


async def test_a_seq_gap_brings_a_rebirth_and_data_flows_again(
    broker: Broker, runtime: Runtime, watcher: Watcher
) -> None:
    host = host_for(broker)
    tonnage = series(runtime, "press-1", "tonnage")
    async with hosting(host, runtime), edge(broker) as node:
        await asyncio.wait_for(node.born.wait(), 10)
        await node.data("press-1", [("telemetry/tonnage", 1.0, T0)])
        node.skip_seq()  # this message is lost
        await node.data("press-1", [("telemetry/tonnage", 2.0, T0 + 1_000)])
        await until(lambda: node.rebirth_requests == 1, "a rebirth request after the timeout")
        await until(lambda: node.births == 2, "the node born again")
        await node.data("press-1", [("telemetry/tonnage", 3.0, T0 + 2_000)])
        await until(lambda: len(stored(runtime, tonnage)) == 3, "three points")
        # The held message was applied when the gap was given up; the rebirth restated the
        # last value without storing it twice.
        assert stored(runtime, tonnage) == [(T0, 1.0), (T0 + 1_000, 2.0), (T0 + 2_000, 3.0)]
        assert watcher.on(f"spBv1.0/acme-auto.nanhai-1.press-shop/NCMD/{NODE}")
        assert host.stats.rebirths_sent == 1
        assert host.edge_nodes()[0].sequence_gaps == 1


async def test_messages_out_of_order_are_put_back_in_order_without_a_rebirth(
    broker: Broker, runtime: Runtime
) -> None:
    host = host_for(broker)
    tonnage = series(runtime, "press-1", "tonnage")
    async with hosting(host, runtime), edge(broker) as node:
        await asyncio.wait_for(node.born.wait(), 10)
        first = node.data_payload("press-1", [("telemetry/tonnage", 1.0, T0)])
        second = node.data_payload("press-1", [("telemetry/tonnage", 2.0, T0 + 1_000)])
        await node.publish("DDATA", second, "press-1")
        await node.publish("DDATA", first, "press-1")
        await until(lambda: len(stored(runtime, tonnage)) == 2, "both points")
        assert host.edge_nodes()[0].sequence_gaps == 1
        await node.data("press-1", [("telemetry/tonnage", 3.0, T0 + 2_000)])
        await until(lambda: len(stored(runtime, tonnage)) == 3, "the next point")
        assert host.stats.rebirths_sent == 0
        assert node.rebirth_requests == 0


async def test_data_before_a_birth_is_refused_and_brings_a_rebirth(
    broker: Broker, runtime: Runtime, watcher: Watcher
) -> None:
    tonnage = series(runtime, "press-1", "tonnage")
    async with edge(broker, host_id=None) as node:  # born before the host is there
        robot = f"spBv1.0/acme-auto.nanhai-1.press-shop/DBIRTH/{NODE}/robot-1"
        await until(lambda: len(watcher.on(robot)) == 1, "the births through the broker")
        host = host_for(broker)
        async with hosting(host, runtime):
            await node.data("press-1", [("telemetry/tonnage", 1.0, T0)])
            await until(lambda: node.births == 2, "a rebirth")
            await node.data("press-1", [("telemetry/tonnage", 2.0, T0 + 1_000)])
            await until(lambda: len(stored(runtime, tonnage)) == 2, "the point after the rebirth")
            # The refused message's value came back as the last value the new BIRTH carried.
            assert stored(runtime, tonnage) == [(T0, 1.0), (T0 + 1_000, 2.0)]
            [letter] = letters(runtime)
            assert letter["reason"] == "DDATA before the node's NBIRTH"
            assert letter["source"] == f"spBv1.0/acme-auto.nanhai-1.press-shop/DDATA/{NODE}/press-1"
            assert letter["adapter"] == "sparkplug:plant"


async def test_a_current_ndeath_makes_the_equipment_stale_and_a_late_one_is_ignored(
    broker: Broker, runtime: Runtime
) -> None:
    host = host_for(broker)
    tonnage = series(runtime, "press-1", "tonnage")
    async with hosting(host, runtime):
        node = edge(broker, first_bd_seq=5)
        await node.start()
        await asyncio.wait_for(node.born.wait(), 10)
        await node.data("press-1", [("state/current", "running", T0)])
        await node.publish("NDEATH", node.ndeath_payload(bd_seq=4))  # of an earlier session
        await node.data("press-1", [("telemetry/tonnage", 1.0, T0)])
        await until(lambda: len(stored(runtime, tonnage)) == 1, "data after the late NDEATH")
        assert host.edge_nodes()[0].online
        assert states(runtime, "press-1") == [(T0, "running", None)]
        await node.stop()  # an intentional disconnect publishes NDEATH with bdSeq 5
        await until(lambda: host.edge_nodes()[0].stale, "the node stale")
        await until(lambda: len(states(runtime, "robot-1")) == 1, "the robot's stale state")
        assert states(runtime, "press-1") == [
            (T0, "running", None),
            (NOW_MS, "unknown", "sparkplug offline"),  # from the host's receive time
        ]
        assert states(runtime, "robot-1") == [(NOW_MS, "unknown", "sparkplug offline")]
        assert host.edge_nodes()[0].devices == {"press-1": False, "robot-1": False}


async def test_a_ddeath_makes_only_that_device_stale(broker: Broker, runtime: Runtime) -> None:
    host = host_for(broker)
    async with hosting(host, runtime), edge(broker) as node:
        await asyncio.wait_for(node.born.wait(), 10)
        await node.ddeath("robot-1")
        await until(lambda: len(states(runtime, "robot-1")) == 1, "the robot stale")
        assert states(runtime, "robot-1") == [(NOW_MS, "unknown", "sparkplug offline")]
        assert states(runtime, "press-1") == []
        [status] = host.edge_nodes()
        assert status.online
        assert status.devices == {"press-1": True, "robot-1": False}


async def test_malformed_payloads_are_dead_letters_while_good_data_flows(
    broker: Broker, runtime: Runtime
) -> None:
    # One rebirth a minute: the garbage asks for one, the faults after it fall in the limit.
    host = host_for(broker, SessionRules(reorder_timeout_ms=300, rebirth_every_ms=60_000))
    tonnage = series(runtime, "press-1", "tonnage")
    async with hosting(host, runtime), edge(broker) as node:
        await asyncio.wait_for(node.born.wait(), 10)
        await node.publish("DDATA", b"\xff\x00garbage", "press-1")
        await until(lambda: node.births == 2, "the rebirth the garbage asked for")
        await node.unknown_alias("press-1", T0)
        await node.data("press-1", [("telemetry/tonnage", 5.0, 900_000_000_000)])  # 1998
        alias = node.alias[("press-1", "telemetry/tonnage")]
        retyped = Metric(None, alias, T.INT32, 7, T0, send_datatype=False)  # a Double in int
        await node.publish("DDATA", encode([retyped], seq=node.seq, ts_ms=T0), "press-1")
        node.skip_seq()
        await node.data("press-1", [("telemetry/tonnage", 6.0, T0 + 1_000)])
        await until(lambda: len(stored(runtime, tonnage)) == 1, "the good point")
        assert stored(runtime, tonnage) == [(T0 + 1_000, 6.0)]
        await until(lambda: len(letters(runtime)) == 4, "four dead letters")
        reasons = [x["reason"] for x in letters(runtime)]
        assert reasons[0].startswith("not a Sparkplug B payload")
        assert reasons[1] == f"unknown alias {10_000 + len(node.alias)}"
        assert reasons[2] == (
            "metric 'telemetry/tonnage': timestamp 900000000000 is before 2000-01-01"
        )
        assert reasons[3] == "metric 'telemetry/tonnage' (Double) has in int_value"
        assert letters(runtime)[0]["payload"] == b"\xff\x00garbage"
        assert host.stats.rebirths_sent == 1


async def test_the_host_reconnects_after_the_broker_restarts(
    broker: Broker, runtime: Runtime
) -> None:
    host = host_for(broker)
    tonnage = series(runtime, "press-1", "tonnage")
    async with hosting(host, runtime), edge(broker) as node:
        await asyncio.wait_for(node.born.wait(), 10)
        await node.data("press-1", [("telemetry/tonnage", 1.0, T0)])
        await until(lambda: len(stored(runtime, tonnage)) == 1, "a point before the restart")
        broker.stop()
        await until(lambda: not host.online, "the host noticing")
        # Without a broker nothing is known: the host marks its nodes' data stale.
        await until(lambda: len(states(runtime, "robot-1")) == 1, "stale after the loss")
        assert host.edge_nodes()[0].stale
        broker.start()
        await until(lambda: host.online, "the host back online", timeout_s=15)
        await until(lambda: node.births == 2, "the node born again", timeout_s=15)
        await node.data("press-1", [("telemetry/tonnage", 2.0, T0 + 1_000)])
        await until(lambda: len(stored(runtime, tonnage)) == 2, "a point after the restart")
        [status] = host.edge_nodes()
        assert status.online
        assert status.bd_seq == 1
        assert host.stats.connections == 2


async def test_auto_registration_creates_unknown_equipment(
    broker: Broker, runtime: Runtime
) -> None:
    host = host_for(broker, auto_register=["acme-auto"])
    async with hosting(host, runtime), edge(broker, {"press-9": PRESS}) as node:
        await asyncio.wait_for(node.born.wait(), 10)
        await until(lambda: host.stats.registered == 1, "the registration")
        await node.data("press-9", [("telemetry/tonnage", 8_000.0, T0)])
        eq = runtime.catalog.equipment_id("acme-auto", "press-9")
        assert eq is not None
        assert runtime.catalog.equipment[eq].template == "press"
        sid = series(runtime, "press-9", "tonnage")
        await until(lambda: stored(runtime, sid) == [(T0, 8_000.0)], "the new press's point")
        line = runtime.catalog.line_of(eq)
        assert (line.slug, line.name) == ("tandem-a", "Tandem line A")


async def test_without_auto_registration_unknown_equipment_is_a_dead_letter(
    broker: Broker, runtime: Runtime
) -> None:
    host = host_for(broker, auto_register=["huamei-ceramics"])
    before = len(runtime.catalog.equipment)
    async with hosting(host, runtime), edge(broker, {"press-9": PRESS}) as node:
        await asyncio.wait_for(node.born.wait(), 10)
        await until(lambda: len(letters(runtime)) == 1, "a dead letter for the DBIRTH")
        [letter] = letters(runtime)
        assert letter["source"].endswith("/DBIRTH/tandem-a/press-9")
        assert "telemetry/tonnage: unknown equipment 'press-9' of 'acme-auto'" in letter["reason"]
        assert len(runtime.catalog.equipment) == before
        assert host.stats.registered == 0
