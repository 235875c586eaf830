"""The simulator's MQTT publisher: the city as UNS JSON, read back by the adapter."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from kiln.config_ingest import BrokerSettings, MqttSettings
from kiln.domain.batches import Bundle
from kiln.ingest.mqtt.adapter import MqttAdapter
from kiln.ingest.mqtt.namespace import Namespace, Route
from kiln.ingest.mqtt.payload import BatchDecoder
from kiln.runtime import Runtime
from kiln.simulator.protocols.feed import CityFeed
from kiln.simulator.protocols.mqtt_publisher import UnsEncoder, publish_city
from tests.conftest import NOW_MS
from tests.ingest.mqtt.conftest import Broker, running, until

START_MS = NOW_MS - 3_600_000


@pytest.fixture(scope="module")
def city() -> CityFeed:
    return CityFeed(seed=3, enterprises=1, start_ms=START_MS)


def test_the_encoded_city_decodes_to_the_same_rows() -> None:
    feed = CityFeed(seed=3, enterprises=1, start_ms=START_MS)
    bundle = feed.step(START_MS + 120_000)
    messages = UnsEncoder(feed).messages(bundle)
    assert {m.topic.split("/")[-1] for m in messages} >= {"telemetry", "state"}
    first = messages[0].topic.split("/")
    path = feed.paths[
        feed.catalog.equipment_by_path[(feed.catalog.enterprise_by_slug[first[2]], first[-2])]
    ]
    assert first[:4] == ["fs", "v1", path.enterprise, path.site]  # then area, line, station
    ns, decoder = Namespace(), BatchDecoder(feed.catalog, START_MS + 120_000)
    for i, m in enumerate(messages):
        route = ns.route(m.topic, feed.catalog)
        assert isinstance(route, Route), route
        decoder.add(i, route, m.payload)
    out = decoder.finish()
    assert out.refused == {}
    assert_same(out.bundle, bundle)


def assert_same(got: Bundle, sent: Bundle) -> None:
    g, s = got.points.sorted(), sent.points.sorted()
    ok = np.isfinite(s.value)
    assert np.array_equal(g.series, s.series[ok])
    assert np.array_equal(g.ts_ms, s.ts_ms[ok])
    assert np.array_equal(g.value, s.value[ok])
    assert sorted(
        zip(got.states.equipment.tolist(), got.states.ts_ms.tolist(), strict=True)
    ) == sorted(zip(sent.states.equipment.tolist(), sent.states.ts_ms.tolist(), strict=True))
    assert got.counts.good.sum() == sent.counts.good.sum()
    assert got.counts.scrap.sum() == sent.counts.scrap.sum()


async def test_the_simulated_city_reaches_the_store_through_the_broker(
    runtime: Runtime, broker: Broker, city: CityFeed
) -> None:
    runtime.store.import_assets(city.doc, where="simulator")
    adapter = MqttAdapter(MqttSettings(name="city", port=broker.port, reconnect_max_s=0.5))
    async with running(adapter, runtime.sink):
        done = await asyncio.wait_for(
            publish_city(
                city,
                BrokerSettings(port=broker.port, protocol="3.1.1"),
                speed=3_600.0,
                step_s=0.05,
                until_ms=START_MS + 30 * 60_000,
            ),
            30,
        )
        await until(lambda: adapter.received >= done.messages, "every published message")
        await runtime.writer.flushed()
    assert done.lost == 0
    assert done.points > 1_000
    assert done.states > 0
    assert done.counts > 0
    stats = runtime.store.stats()
    assert (stats.points, stats.states, stats.counts) == (done.points, done.states, done.counts)
    assert adapter.refused == 0


async def test_the_publisher_stops_when_told_even_without_a_broker(
    broker: Broker, city: CityFeed
) -> None:
    stop = asyncio.Event()
    port = broker.port
    broker.stop()  # nobody listens: it keeps trying to connect
    task = asyncio.create_task(
        publish_city(city, BrokerSettings(port=port, reconnect_max_s=0.5), stop=stop)
    )
    await asyncio.sleep(0.3)
    assert not task.done()
    stop.set()
    done = await asyncio.wait_for(task, 2)
    assert done.messages == 0
