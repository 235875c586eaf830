"""The host's Will when it dies abruptly, and the simulated city through edge nodes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from kiln.clock import ManualClock
from kiln.config import load_settings
from kiln.runtime import build_runtime
from kiln.simulator.protocols.feed import CityFeed
from kiln.simulator.protocols.sparkplug_edge import SparkplugCity, SparkplugPublished
from tests.conftest import NOW_MS
from tests.ingest.sparkplug.conftest import Broker, Watcher, host_for, hosting, until

DOOMED_HOST = """
import asyncio, sys
from kiln.config_ingest import SparkplugSettings
from kiln.domain.catalog import AssetCatalog
from kiln.ingest.sparkplug.host import SparkplugHost

class Sink:
    catalog = AssetCatalog()
    def now_ms(self): return int(sys.argv[2])
    async def submit(self, bundle, *, batch_id=None): return len(bundle)
    def dead_letter(self, letter): pass
    async def register(self, doc, *, where): return self.catalog

cfg = SparkplugSettings(name="doomed", port=int(sys.argv[1]), host_id="doomed")
asyncio.run(SparkplugHost(cfg).run(Sink()))
"""


async def test_the_will_says_offline_with_the_births_timestamp_when_the_host_is_killed(
    broker: Broker, watcher: Watcher
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        DOOMED_HOST,
        str(broker.port),
        str(NOW_MS),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await until(lambda: watcher.states("doomed") == [(True, NOW_MS)], "the host online", 30)
        proc.kill()  # no clean shutdown: only the broker can say the host is gone
        await until(lambda: len(watcher.states("doomed")) == 2, "the Will")
        assert watcher.states("doomed")[-1] == (False, NOW_MS)  # the T of its CONNECT
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    late = Watcher(broker)
    try:
        await until(lambda: late.states("doomed") == [(False, NOW_MS)], "retained offline")
    finally:
        late.close()


async def test_the_simulated_city_reaches_the_store_through_sparkplug(
    broker: Broker, tmp_path: Path
) -> None:
    feed = CityFeed(seed=7, enterprises=2, start_ms=NOW_MS - 120_000)
    settings = load_settings(
        environ={},
        overrides={"store": {"path": str(tmp_path / "k.duckdb")}, "simulator": {"enabled": False}},
    )
    runtime = build_runtime(settings, clock=ManualClock(NOW_MS), simulate=False)
    try:
        runtime.store.import_assets(feed.doc)
        host = host_for(broker)
        city = SparkplugCity(feed, broker.settings(), host_id="kiln", clock_ms=lambda: NOW_MS)
        done = SparkplugPublished()
        async with hosting(host, runtime):
            for node in city.nodes.values():
                await node.start()
            try:
                for node in city.nodes.values():
                    await asyncio.wait_for(node.born.wait(), 10)
                for k in range(1, 4):
                    bundle = await asyncio.to_thread(feed.step, NOW_MS - 120_000 + k * 20_000)
                    await city.publish(bundle, done)
                stats = runtime.store.stats
                await until(lambda: stats().points == done.points, f"{done.points} points")
                await until(lambda: stats().states == done.states, f"{done.states} states")
                assert stats().counts == done.counts
                assert done.points > 100
                assert done.states > 0
                assert done.held == 0
                assert len(host.edge_nodes()) == len(city.nodes)
                assert all(n.online for n in host.edge_nodes())
            finally:
                for node in city.nodes.values():
                    await node.stop()
        runtime.sink.flush()
        assert runtime.store.dead_letter_counts(None, every=True).num_rows == 0
    finally:
        runtime.close()
