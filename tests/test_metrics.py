"""The process's metrics, recorded where the data flows: the writer's commits (values, batches,
latency, lag, queue), the sink's dead letters, the adapters' connections."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from kiln.clock import ManualClock
from kiln.config_ingest import MqttSettings, OpcUaSettings
from kiln.domain.batches import Bundle, CountBatch, PointBatch
from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.mqtt.adapter import MqttAdapter
from kiln.ingest.opcua.client import OpcUaAdapter
from kiln.ingest.sink import Sink
from kiln.metrics import Metrics, ingesting_for
from kiln.pipeline import StoreSink, run_adapter
from kiln.store.duckdb import DuckDBStore
from kiln.store.writer import StoreWriter
from tests.conftest import NOW_MS


def value(metrics: Metrics, metric: str, **labels: str) -> float:
    """A sample's value; 0 for one not yet recorded."""
    return metrics.registry.get_sample_value(metric, labels) or 0.0


def tonnage(store: DuckDBStore) -> int:
    cat = store.catalog()
    press = cat.equipment_id("acme-auto", "press-1")
    assert press is not None
    sid = cat.series_id(press, "tonnage")
    assert sid is not None
    return sid


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(ManualClock(NOW_MS))


@pytest.fixture
def writer(store: DuckDBStore, metrics: Metrics) -> Iterator[StoreWriter]:
    w = StoreWriter(store, metrics=metrics)
    yield w
    w.close()


async def test_a_committed_batch_counts_its_rows_once_and_sets_the_lag(
    store: DuckDBStore, writer: StoreWriter, metrics: Metrics
) -> None:
    sid = tonnage(store)
    press = store.catalog().equipment_id("acme-auto", "press-1")
    bundle = Bundle(
        points=PointBatch.of(
            [sid, sid, sid], [NOW_MS - 9_000, NOW_MS - 4_000, NOW_MS - 7_000], [1.0, 2.0, 3.0]
        ),
        counts=CountBatch.of([press], [NOW_MS - 6_000], [3], [0]),
    )
    with ingesting_for("mqtt"):
        assert await writer.submit(bundle, batch_id="gw-1") == 4
    assert value(metrics, "kiln_ingested_values_total", adapter="mqtt") == 4
    assert value(metrics, "kiln_batches_total", adapter="mqtt", result="committed") == 1
    assert value(metrics, "kiln_ingest_lag_seconds", adapter="mqtt") == 4.0  # newest: NOW - 4 s
    assert value(metrics, "kiln_write_seconds_count") == 1
    assert value(metrics, "kiln_write_seconds_sum") > 0


async def test_a_resent_batch_is_a_duplicate_and_adds_no_values(
    store: DuckDBStore, writer: StoreWriter, metrics: Metrics
) -> None:
    bundle = Bundle(
        points=PointBatch.of([tonnage(store)] * 2, [NOW_MS - 2_000, NOW_MS - 1_000], [1.0, 2.0])
    )
    with ingesting_for("sparkplug"):
        await writer.submit(bundle, batch_id="gw-1")
        assert await writer.submit(bundle, batch_id="gw-1") == 0
    assert value(metrics, "kiln_ingested_values_total", adapter="sparkplug") == 2
    assert value(metrics, "kiln_batches_total", adapter="sparkplug", result="committed") == 1
    assert value(metrics, "kiln_batches_total", adapter="sparkplug", result="duplicate") == 1


async def test_a_batch_the_store_refuses_counts_as_failed(
    store: DuckDBStore, writer: StoreWriter, metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> list[int]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "write_group", broken)
    monkeypatch.setattr(store, "write", broken)
    with ingesting_for("opcua"), pytest.raises(RuntimeError, match="disk full"):
        await writer.submit(Bundle(points=PointBatch.of([tonnage(store)], [NOW_MS], [1.0])))
    assert value(metrics, "kiln_batches_total", adapter="opcua", result="failed") == 1
    assert value(metrics, "kiln_batches_total", adapter="opcua", result="committed") == 0
    assert value(metrics, "kiln_ingested_values_total", adapter="opcua") == 0
    assert value(metrics, "kiln_write_seconds_count") == 0


async def test_the_flush_barrier_is_no_batch(writer: StoreWriter, metrics: Metrics) -> None:
    await writer.flushed()
    assert value(metrics, "kiln_batches_total", adapter="other", result="committed") == 0
    assert value(metrics, "kiln_write_seconds_count") == 0


async def test_the_queue_depth_is_what_waits_for_the_writer(
    store: DuckDBStore, metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    original = store.write_group

    def slow(items: list[tuple[Bundle, str | None]]) -> list[int]:
        entered.set()
        release.wait(10)
        return original(items)

    monkeypatch.setattr(store, "write_group", slow)
    writer = StoreWriter(store, metrics=metrics)
    try:
        bundle = Bundle(points=PointBatch.of([tonnage(store)], [NOW_MS], [1.0]))
        first = asyncio.create_task(writer.submit(bundle))
        assert await asyncio.to_thread(entered.wait, 10)  # the writer holds the first
        waiting = [asyncio.create_task(writer.submit(bundle)) for _ in range(3)]
        await asyncio.sleep(0)  # the three reach the queue
        assert value(metrics, "kiln_writer_queue_depth") == 3
        release.set()
        await asyncio.gather(first, *waiting)
        assert value(metrics, "kiln_writer_queue_depth") == 0
    finally:
        release.set()
        writer.close()


async def test_an_adapters_batches_and_dead_letters_carry_its_kind(
    store: DuckDBStore, writer: StoreWriter, metrics: Metrics
) -> None:
    sink = StoreSink(store, writer, ManualClock(NOW_MS), keep=100)
    bundle = Bundle(points=PointBatch.of([tonnage(store)], [NOW_MS - 500], [1.0]))

    class Poller:
        kind, name = "modbus", "acme-auto-press-1"

        async def run(self, sink: Sink) -> None:
            await sink.submit(bundle)
            sink.dead_letter(DeadLetter(NOW_MS, f"{self.kind}:{self.name}", "10.0.3.7", "bad"))
            sink.dead_letter(DeadLetter(NOW_MS, f"{self.kind}:{self.name}", "10.0.3.7", "bad"))

    await run_adapter(Poller(), sink)
    assert value(metrics, "kiln_batches_total", adapter="modbus", result="committed") == 1
    assert value(metrics, "kiln_ingested_values_total", adapter="modbus") == 1
    assert value(metrics, "kiln_ingest_lag_seconds", adapter="modbus") == 0.5
    assert value(metrics, "kiln_dead_letters_total", adapter="modbus") == 2
    assert sink.flush() == 2  # and kept, as before
    assert b"acme" not in metrics.exposition()


def test_adapters_are_named_by_their_place_in_the_settings_not_their_name(
    metrics: Metrics,
) -> None:
    # kiln simulate names OPC UA adapters after the enterprise they read: the label may not.
    opcua = [
        OpcUaAdapter(
            OpcUaSettings(
                name=f"simulator-{slug}", endpoint="opc.tcp://127.0.0.1:4840/", enterprise=slug
            )
        )
        for slug in ("acme-auto", "huamei-ceramics")
    ]
    mqtt = MqttAdapter(MqttSettings(name="acme-auto"))
    adapters: list[object] = [mqtt, *opcua]
    metrics.watch_adapters(lambda: adapters)
    mqtt.subscribed.set()  # as on the broker's SUBACK
    opcua[1].connected = True
    connected = "kiln_adapter_connected"
    assert value(metrics, connected, adapter="mqtt", name="ingest.mqtt[0]") == 1
    assert value(metrics, connected, adapter="opcua", name="ingest.opcua[0]") == 0
    assert value(metrics, connected, adapter="opcua", name="ingest.opcua[1]") == 1
    text = metrics.exposition().decode()
    assert "acme" not in text
    assert "huamei" not in text


def test_each_metrics_object_has_a_registry_of_its_own() -> None:
    a, b = Metrics(), Metrics()
    a.refused("http")
    assert value(a, "kiln_dead_letters_total", adapter="http") == 1
    assert value(b, "kiln_dead_letters_total", adapter="http") == 0
    assert value(a, "process_cpu_seconds_total") is not None  # process metrics too
