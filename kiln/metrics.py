"""The process's Prometheus metrics, in a registry of Kiln's own (one per runtime, not the global
default, so one test process can hold several runtimes).

They are recorded where the data flows, once per batch: the store writer counts what it commits
(values, batches, latency, lag), the sink counts what it refuses; the writer's queue and the
adapters' connections are read when scraped. Labels name adapter kinds (``mqtt``, ``http``…)
and places in the settings (``ingest.opcua[3]``), never an enterprise, equipment or topic:
/metrics answers without authentication, and configured adapter names often carry an
enterprise's slug (``kiln simulate`` names its OPC UA adapters ``simulator-<slug>``).
"""

from __future__ import annotations

import contextlib
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from kiln.clock import Clock, SystemClock
from kiln.domain.batches import Bundle

# Whose batches the current task submits: the writer labels each batch with it. Run-time
# context rather than a parameter, so the HTTP routes, the adapters (and the tasks and threads
# they start) and the simulator are labelled where they are started, not at every call.
INGEST_ADAPTER: ContextVar[str] = ContextVar("kiln_ingest_adapter", default="other")

# The classic text format (what Prometheus asks for by default, and generate_latest writes).
MEDIA_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Store commits take from under a millisecond (a few points) to seconds (a 200,000-row group).
WRITE_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@contextlib.contextmanager
def ingesting_for(adapter: str) -> Iterator[None]:
    """Label what the current task submits (and the tasks and threads it starts) as adapter's."""
    token = INGEST_ADAPTER.set(adapter)
    try:
        yield
    finally:
        INGEST_ADAPTER.reset(token)


def kind_of(label: str) -> str:
    """The adapter kind of a dead letter's adapter label.

    >>> kind_of("mqtt:plant-7"), kind_of("http")
    ('mqtt', 'http')
    """
    return label.partition(":")[0]


@runtime_checkable
class Connecting(Protocol):
    """An adapter that tells whether it is connected to its peer, and how often it was."""

    kind: str

    @property
    def connected(self) -> bool:
        """Whether the connection to the peer is up now."""
        ...

    @property
    def connections(self) -> int:
        """Connections made since start (0: never reached its peer)."""
        ...


def settings_keys(adapters: Sequence[object]) -> Iterator[tuple[str, Connecting]]:
    """(place in the settings, adapter) of each adapter that reports its connection.

    Adapters come in the order of the settings, so the n-th of a kind is ``ingest.<kind>[n]``.
    """
    seen: Tally[str] = Tally()
    for adapter in adapters:
        if isinstance(adapter, Connecting):
            kind = adapter.kind
            yield f"ingest.{kind}[{seen[kind]}]", adapter
            seen[kind] += 1


class _AdapterCollector(Collector):
    """kiln_adapter_connected, read from the adapters at each scrape."""

    def __init__(self, adapters: Callable[[], Sequence[object]]) -> None:
        self.adapters = adapters

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "kiln_adapter_connected",
            "1 while the adapter is connected to its peer; name is its place in the settings",
            labels=["adapter", "name"],
        )
        for key, adapter in settings_keys(self.adapters()):
            family.add_metric([adapter.kind, key], 1.0 if adapter.connected else 0.0)
        yield family


class Metrics:
    """The metrics of one process, and the calls that record them."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self.registry = reg = CollectorRegistry()
        self.ingested = Counter(
            "kiln_ingested_values",
            "Rows committed to the store (points, state changes, counts)",
            ["adapter"],
            registry=reg,
        )
        self.batches = Counter(
            "kiln_batches",
            "Batches submitted to the store, by result: committed, duplicate (its batch_id was "
            "stored before) or failed",
            ["adapter", "result"],
            registry=reg,
        )
        self.dead_letters = Counter(
            "kiln_dead_letters",
            "Messages refused and kept as dead letters",
            ["adapter"],
            registry=reg,
        )
        self.write_seconds = Histogram(
            "kiln_write_seconds",
            "Store commit latency, per group commit",
            buckets=WRITE_BUCKETS_S,
            registry=reg,
        )
        self.queue_depth = Gauge(
            "kiln_writer_queue_depth", "Batches waiting for the store writer", registry=reg
        )
        self.lag = Gauge(
            "kiln_ingest_lag_seconds",
            "Commit time minus the newest timestamp of the adapter's last committed batch",
            ["adapter"],
            registry=reg,
        )
        self._adapters: Callable[[], Sequence[object]] = list
        reg.register(_AdapterCollector(lambda: self._adapters()))
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)
        GCCollector(registry=reg)

    def watch_queue(self, depth: Callable[[], int]) -> None:
        """Read the writer's queue depth from ``depth`` at each scrape."""
        self.queue_depth.set_function(lambda: float(depth()))

    def watch_adapters(self, adapters: Callable[[], Sequence[object]]) -> None:
        """Read the adapters' connections from ``adapters`` at each scrape."""
        self._adapters = adapters

    def committed(self, adapter: str, bundle: Bundle, rows: int, *, duplicate: bool) -> None:
        """Count a committed batch of rows added; a fresh one also sets the adapter's lag."""
        self.batches.labels(adapter, "duplicate" if duplicate else "committed").inc()
        if duplicate:
            return
        self.ingested.labels(adapter).inc(rows)
        stamps = [
            t for t in (bundle.points.ts_ms, bundle.states.ts_ms, bundle.counts.ts_ms) if len(t)
        ]
        if stamps:
            newest = max(int(t.max()) for t in stamps)
            self.lag.labels(adapter).set((self.clock.now_ms() - newest) / 1000)

    def failed(self, adapter: str) -> None:
        """Count a batch the store could not commit."""
        self.batches.labels(adapter, "failed").inc()

    def refused(self, label: str) -> None:
        """Count a dead letter (label: its adapter, as ``mqtt:plant`` or ``http``)."""
        self.dead_letters.labels(kind_of(label)).inc()

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format."""
        return generate_latest(self.registry)
