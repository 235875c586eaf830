"""The OPC UA adapter against a real asyncua server: what arrives, and what is refused."""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from asyncua import ua

from kiln.config_ingest import OpcUaFolder
from kiln.ingest.opcua.client import OpcUaAdapter
from kiln.runtime import Runtime
from tests.conftest import NOW_MS, small_city

from .conftest import T0, Plant, Watch, eventually, free_port, node, running, settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

SENSOR_FAILURE = ua.StatusCodes.BadSensorFailure


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant() -> AsyncIterator[Plant]:
    server = Plant(free_port())
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def requested(plant: Plant, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """What clients ask the plant for: subscription and monitored-item parameters."""
    assert plant.server is not None
    service = plant.server.iserver.subscription_service
    seen: dict[str, list[Any]] = {"subscriptions": [], "items": []}
    create_subscription, create_items = service.create_subscription, service.create_monitored_items

    async def subscription(params: Any, *args: Any, **kwargs: Any) -> Any:
        seen["subscriptions"].append(params)
        return await create_subscription(params, *args, **kwargs)

    async def items(params: Any) -> Any:
        seen["items"].extend(params.ItemsToCreate)
        return await create_items(params)

    monkeypatch.setattr(service, "create_subscription", subscription)
    monkeypatch.setattr(service, "create_monitored_items", items)
    return seen


async def test_folder_variables_and_nodes_become_signals_at_their_source_timestamps(
    plant: Plant, watch: Watch
) -> None:
    cfg = settings(plant.endpoint, nodes=[node("stroke", "stroke_rate")])
    t = NOW_MS - 50_000
    tonnage = watch.series("press-1", "tonnage")
    async with running(OpcUaAdapter(cfg), watch):
        await watch.until("the current values", lambda: bool(watch.received(tonnage)))
        await plant.write("tonnage", 8100.5, t)
        await plant.write("lube_temp", 41.25, t + 10)
        await plant.write("stroke", 14, t + 20, vtype=ua.VariantType.Int32)
        await plant.write("tonnage", 8200.0, t + 1000)
        await watch.until("the written values", lambda: t + 1000 in watch.received(tonnage))
        await watch.until(
            "the stroke", lambda: t + 20 in watch.received(watch.series("press-1", "stroke_rate"))
        )
    assert watch.stored("press-1", "tonnage", t) == {t: 8100.5, t + 1000: 8200.0}
    assert watch.stored("press-1", "lube_temp", t) == {t + 10: 41.25}
    assert watch.stored("press-1", "stroke_rate", t) == {t + 20: 14.0}
    # The first notification of each variable is its current value, stamped when it was set.
    assert len(watch.stored("press-1", "lube_temp")) == 2


async def test_booleans_are_stored_as_one_and_zero(plant: Plant, watch: Watch) -> None:
    cfg = settings(plant.endpoint, folders=[], nodes=[node("running", "main_motor_power")])
    t = NOW_MS - 40_000
    power = watch.series("press-1", "main_motor_power")
    async with running(OpcUaAdapter(cfg), watch):
        await watch.until("the current value", lambda: bool(watch.received(power)))
        await plant.write("running", True, t, vtype=ua.VariantType.Boolean)
        await plant.write("running", False, t + 500, vtype=ua.VariantType.Boolean)
        await watch.until("both values", lambda: t + 500 in watch.received(power))
    assert watch.stored("press-1", "main_motor_power", t) == {t: 1.0, t + 500: 0.0}


async def test_without_a_source_timestamp_the_server_timestamp_is_used(
    plant: Plant, watch: Watch, runtime: Runtime
) -> None:
    cfg = settings(plant.endpoint, folders=[], nodes=[node("lube_temp", "lube_temp")])
    server_ms = NOW_MS - 30_000
    lube = watch.series("press-1", "lube_temp")
    async with running(OpcUaAdapter(cfg), watch):
        await watch.until("the current value", lambda: bool(watch.received(lube)))
        await plant.write("lube_temp", 44.5, None, server_ms=server_ms)
        await watch.until("the value", lambda: server_ms in watch.received(lube))
    assert watch.stored("press-1", "lube_temp", server_ms) == {server_ms: 44.5}


async def test_one_publish_response_is_one_batch_and_the_queue_keeps_every_sample(
    plant: Plant, watch: Watch, requested: dict[str, list[Any]]
) -> None:
    cfg = settings(plant.endpoint, publishing_ms=600.0, sampling_ms=100.0)
    t = NOW_MS - 20_000
    tonnage = watch.series("press-1", "tonnage")
    async with running(OpcUaAdapter(cfg), watch):
        await watch.until("the current values", lambda: bool(watch.received(tonnage)))
        before = len(watch.bundles)
        for i in range(15):  # a sample every 100 ms for 1.5 s: the server queues them
            await plant.write("tonnage", 7000.0 + i, t + i * 100)
            await asyncio.sleep(0.1)
        await watch.until("every sample", lambda: t + 1400 in watch.received(tonnage))
    assert watch.stored("press-1", "tonnage", t) == {t + i * 100: 7000.0 + i for i in range(15)}
    carrying = [
        at
        for b, at in zip(watch.bundles[before:], watch.arrivals[before:], strict=True)
        if (b.points.series == tonnage).any()
    ]
    assert 2 <= len(carrying) <= 4  # one bundle per publish response, not one per value
    assert min(b - a for a, b in itertools.pairwise(carrying)) > 0.4  # ~600 ms apart
    (params,) = requested["subscriptions"]
    assert params.RequestedPublishingInterval == 600.0
    items = requested["items"]
    assert len(items) == 3  # the folder's variables: tonnage, lube_temp, serial
    assert {i.RequestedParameters.SamplingInterval for i in items} == {100.0}
    # Two publishing intervals of samples: a late publish response loses nothing either.
    assert {i.RequestedParameters.QueueSize for i in items} == {12}


async def test_missing_nodes_and_strings_become_dead_letters_while_good_values_flow(
    plant: Plant, watch: Watch
) -> None:
    cfg = settings(
        plant.endpoint,
        nodes=[
            node("nope", "brake_stop_time"),
            node("label", "lube_pressure"),
            node("stroke", "stroke_rate"),
        ],
    )
    cfg = cfg.model_copy(
        update={"nodes": [*cfg.nodes, node("x", "stroke_rate").model_copy(update={"node": "x;y"})]}
    )
    t = NOW_MS - 10_000
    tonnage, stroke = watch.series("press-1", "tonnage"), watch.series("press-1", "stroke_rate")
    adapter = OpcUaAdapter(cfg)
    async with running(adapter, watch):
        await watch.until("the current values", lambda: bool(watch.received(tonnage)))
        await plant.write("label", "running", t, vtype=ua.VariantType.String)
        await plant.write("tonnage", 7100.0, t)
        await plant.write("label", "stopped", t + 100, vtype=ua.VariantType.String)
        await plant.write("tonnage", float("nan"), t + 100)
        await plant.write(
            "stroke",
            15,
            t + 100,
            vtype=ua.VariantType.Int32,
            status=SENSOR_FAILURE,
        )
        await plant.write("stroke", 16, T0 - 30 * 365 * 86_400_000, vtype=ua.VariantType.Int32)
        await plant.write("stroke", 17, t + 300, vtype=ua.VariantType.Int32)
        await watch.until("a good stroke", lambda: t + 300 in watch.received(stroke))
        await plant.write("stroke", 18, NOW_MS + 3_600_000, vtype=ua.VariantType.Int32)
        await plant.write("tonnage", 7200.0, t + 400)
        await watch.until("the last good value", lambda: t + 400 in watch.received(tonnage))
        await watch.until(
            "the last refusal", lambda: any("ahead" in x.reason for x in watch.letters)
        )
    assert watch.stored("press-1", "tonnage", t) == {t: 7100.0, t + 400: 7200.0}
    assert watch.stored("press-1", "stroke_rate", t) == {t + 300: 17.0}
    assert watch.stored("press-1", "lube_pressure") == {}
    letters = [(x["source"], x["reason"]) for x in watch.kept_letters()]
    assert sorted(letters) == sorted(
        [
            (Plant.node("nope"), "press-1/brake_stop_time: no such node (BadNodeIdUnknown)"),
            (
                "x;y",
                "press-1/stroke_rate: 'x;y' is not a node id (like ns=2;s=Press1.Tonnage or "
                "ns=3;i=1001)",
            ),
            (Plant.node("serial"), "unknown signal 'serial' of equipment 'press-1'"),
            (Plant.node("label"), "press-1/lube_pressure: value of type str is not a number"),
            (Plant.node("tonnage"), "press-1/tonnage: value nan is not finite"),
            (
                Plant.node("stroke"),
                f"press-1/stroke_rate: status BadSensorFailure (0x{SENSOR_FAILURE:08X}); "
                "no value stored",
            ),
            (
                Plant.node("stroke"),
                f"press-1/stroke_rate: timestamp {T0 - 30 * 365 * 86_400_000} is before "
                f"2000-01-01 (now {NOW_MS})",
            ),
            (
                Plant.node("stroke"),
                f"press-1/stroke_rate: timestamp {NOW_MS + 3_600_000} is more than 10 minutes "
                f"ahead (now {NOW_MS})",
            ),
        ]
    )
    # Only the first string of 'label' (its initial value) is kept; the later ones are counted.
    # Both timestamp refusals of 'stroke' are kept: a good value came between them.
    assert adapter.refusals.repeats >= 1
    (label,) = [x for x in watch.kept_letters() if x["source"] == Plant.node("label")]
    assert label["payload"] == b"'ready'"
    assert adapter.sessions == 1


async def test_values_of_equipment_registered_later_flow_without_a_reconnect(
    plant: Plant, watch: Watch, runtime: Runtime
) -> None:
    cfg = settings(plant.endpoint, folders=[OpcUaFolder(node=Plant.FOLDER, equipment="press-9")])
    t = NOW_MS - 5_000
    adapter = OpcUaAdapter(cfg)
    async with running(adapter, watch):
        await watch.until("refusals of the unknown equipment", lambda: len(watch.letters) >= 3)
        assert {x.reason for x in watch.letters} == {
            "unknown equipment 'press-9' of enterprise 'acme-auto'"
        }
        runtime.store.import_assets(_with_press_9())
        await plant.write("tonnage", 7300.0, t)
        await watch.until(
            "press-9's tonnage", lambda: t in watch.received(watch.series("press-9", "tonnage"))
        )
    assert watch.stored("press-9", "tonnage", t) == {t: 7300.0}
    assert adapter.sessions == 1


async def test_cancelling_a_connected_adapter_closes_its_session(
    plant: Plant, watch: Watch
) -> None:
    assert plant.server is not None
    sessions = plant.server.iserver.subscription_service.subscriptions
    adapter = OpcUaAdapter(settings(plant.endpoint))
    async with running(adapter, watch):
        await eventually("the subscription", lambda: adapter.sessions == 1)
        assert len(sessions) == 1
    await eventually("the server to drop it", lambda: not sessions)


def _with_press_9() -> dict[str, Any]:
    doc = copy.deepcopy(small_city())
    station = doc["enterprises"][0]["sites"][0]["lines"][0]["stations"][0]
    station["equipment"].append({"slug": "press-9", "template": "press"})
    return doc
