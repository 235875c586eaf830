"""The simulator's NATS publisher: the city on JetStream, read back exactly by the adapter."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import numpy as np
import pytest

from kiln.cli.simulate_protocols import ingest_entries, settings_toml
from kiln.config import load_settings
from kiln.ingest.adapter import adapters_from
from kiln.ingest.nats.adapter import NatsAdapter
from kiln.runtime import Runtime
from kiln.simulator.protocols.feed import CityFeed
from kiln.simulator.protocols.nats_publisher import message_id, publish_city_nats
from tests.conftest import NOW_MS
from tests.ingest.nats.conftest import PRESS, adapter, publish, running, settings, until
from tests.nats import NatsServer

START_MS = NOW_MS - 3_600_000


@pytest.fixture(scope="module")
def city() -> CityFeed:
    return CityFeed(seed=3, enterprises=1, start_ms=START_MS)


async def test_the_simulated_city_is_stored_exactly_as_published(
    runtime: Runtime, server: NatsServer
) -> None:
    city = CityFeed(seed=3, enterprises=1, start_ms=START_MS)
    reference = CityFeed(seed=3, enterprises=1, start_ms=START_MS)
    runtime.store.import_assets(city.doc, where="simulator")
    a = adapter(server, name="city")
    async with running(a, runtime.sink):
        done = await asyncio.wait_for(
            publish_city_nats(
                city,
                settings(server),
                speed=3_600.0,
                step_s=0.05,
                until_ms=START_MS + 30 * 60_000,
            ),
            60,
        )
        await until(lambda: a.committed >= done.messages, "every published message", 30)
        await runtime.writer.flushed()
    assert done.lost == 0
    assert done.points > 1_000
    assert done.states > 0
    assert done.counts > 0
    assert a.refused == 0
    stats = runtime.store.stats()
    assert (stats.points, stats.states, stats.counts) == (done.points, done.states, done.counts)
    # The same city, stepped alike, gives the values that were sent: their sum is the stored sum.
    sent = reference.step(START_MS + 30 * 60_000).points
    finite = sent.value[np.isfinite(sent.value)]
    series = list(runtime.catalog.signals)  # the small city's series hold no points
    got = runtime.store.points(series, 0, NOW_MS + 1).to_pydict()["value"]
    assert len(got) == len(finite) == done.points
    assert sum(got) == pytest.approx(float(finite.sum()), rel=1e-12)


async def test_a_message_sent_twice_is_kept_once_by_jetstream(server: NatsServer) -> None:
    await publish(server, [])  # the stream, as the adapter makes it
    payload = b'{"v": 1.0, "ts": 1764000000000}'
    subject = f"{PRESS}.telemetry.tonnage"
    headers = {"Nats-Msg-Id": message_id(subject, payload)}
    nc = await nats.connect(server.url)
    try:
        js = nc.jetstream()
        first = await js.publish(subject, payload, headers=headers)
        again = await js.publish(subject, payload, headers=headers)
        info = await js.stream_info("KILN")
    finally:
        await nc.close()
    assert (first.duplicate, again.duplicate) == (None, True)
    assert again.seq == first.seq
    assert info.state.messages == 1


async def test_the_publisher_stops_when_told_even_without_a_server(
    server: NatsServer, city: CityFeed
) -> None:
    stop = asyncio.Event()
    cfg = settings(server)
    server.stop()  # nobody listens: it keeps trying to connect
    task = asyncio.create_task(publish_city_nats(city, cfg, stop=stop))
    await asyncio.sleep(0.3)
    assert not task.done()
    stop.set()
    done = await asyncio.wait_for(task, 3)
    assert done.messages == 0


def test_the_settings_written_for_nats_connect_kiln_to_the_simulator(
    tmp_path: Path, city: CityFeed
) -> None:
    conf = tmp_path / "kiln.toml"
    entries = ingest_entries("nats", city, "127.0.0.1", 4333, None)
    conf.write_text(settings_toml("nats", entries, tmp_path / "a.json"), encoding="utf-8")
    ingest = load_settings(conf, environ={}).ingest
    [cfg] = ingest.nats
    assert cfg.servers == ["nats://127.0.0.1:4333"]
    [a] = adapters_from(ingest)
    assert isinstance(a, NatsAdapter)
    assert (a.kind, a.name) == ("nats", "simulator")


def test_a_message_id_is_its_subject_and_content_not_when_it_was_sent() -> None:
    assert message_id("a.b", b"{}") == message_id("a.b", b"{}")
    assert message_id("a.b", b"{}") != message_id("a.c", b"{}")
    assert message_id("a.b", b'{"ts": 1}') != message_id("a.b", b'{"ts": 2}')
