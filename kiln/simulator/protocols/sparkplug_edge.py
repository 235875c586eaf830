"""The simulated city as Sparkplug B 3.0 edge nodes: one per line, its equipment as devices.

Each ``SimEdgeNode`` is one MQTT session (its own client id) whose Will is NDEATH with the
bdSeq of that connection (+1 on every CONNECT). It waits for the primary host's retained STATE
online before its NBIRTH (seq 0, bdSeq, ``Node Control/Rebirth`` = false) and DBIRTHs (every
metric with name, alias and datatype, and its last value or null); DDATA then carries aliases
only. A ``Node Control/Rebirth`` NCMD is answered with NBIRTH and DBIRTHs again; STATE offline
stops the data until the host is back, then the node is born again. Group ids are
``enterprise.site.area``, edge node ids the line slugs, device ids the equipment slugs
(domain.md 2.2); metrics are ``telemetry/<signal>`` (Double), ``state/current`` and
``state/reason`` (String), ``count/good`` and ``count/scrap`` (UInt32, parts since the last
report). Tests drive a node directly and inject faults (``skip_seq``, ``publish_raw``, an
unknown alias, an NDEATH with an old bdSeq).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kiln.config_ingest import BrokerSettings
from kiln.domain.batches import Bundle
from kiln.domain.states import STATE_NAMES
from kiln.ingest.mqtt.connection import MqttConnection, Received, Will
from kiln.ingest.sparkplug.codec import DecodeError, Metric, decode_birth, encode
from kiln.ingest.sparkplug.datatypes import DataType
from kiln.ingest.sparkplug.topics import REBIRTH_METRIC, edge_topic, parse_state, state_topic
from kiln.simulator.protocols.feed import CityFeed

log = logging.getLogger(__name__)

Value = float | int | bool | str | None


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A metric an edge node or device declares in its BIRTH."""

    name: str
    datatype: int = DataType.DOUBLE


STATE_METRICS = (
    MetricSpec("state/current", DataType.STRING),
    MetricSpec("state/reason", DataType.STRING),
)
COUNT_METRICS = (
    MetricSpec("count/good", DataType.UINT32),
    MetricSpec("count/scrap", DataType.UINT32),
)


def _client_id(group: str, node: str) -> str:
    """A short client id, distinct per (group, node): a second session with the same id would
    make the broker drop the first.

    >>> _client_id("acme-auto.nanhai-1.press-shop", "tandem-a")
    'kiln-edge-tandem-a-874dc972'
    """
    digest = hashlib.sha256(f"{group}/{node}".encode()).hexdigest()[:8]
    return f"kiln-edge-{node[:32]}-{digest}"


def telemetry(*signals: str) -> list[MetricSpec]:
    """Double metrics ``telemetry/<signal>``, plus the state and count metrics."""
    return [*(MetricSpec(f"telemetry/{s}") for s in signals), *STATE_METRICS, *COUNT_METRICS]


class SimEdgeNode:
    """One simulated edge node: births, data by alias, rebirths on request, and faults."""

    def __init__(
        self,
        broker: BrokerSettings,
        group: str,
        node: str,
        devices: Mapping[str, Sequence[MetricSpec]],
        *,
        host_id: str | None = "kiln",
        node_metrics: Sequence[MetricSpec] = (),
        clock_ms: Callable[[], int] | None = None,
        first_bd_seq: int = 0,
    ) -> None:
        self.group, self.node, self.host_id = group, node, host_id
        self.specs: dict[str, tuple[MetricSpec, ...]] = {"": tuple(node_metrics)}
        self.specs.update({d: tuple(m) for d, m in devices.items()})
        self.alias: dict[tuple[str, str], int] = {}  # (device, metric) -> alias, node-unique
        for device, specs in self.specs.items():
            for spec in specs:
                self.alias[(device, spec.name)] = len(self.alias) + 1
        self.last: dict[tuple[str, str], tuple[Value, int]] = {}  # for the next BIRTH
        self.bd_seq = (first_bd_seq - 1) % 256  # the Will of the first CONNECT makes it first
        self.seq = 0
        self.born = asyncio.Event()  # births published on this connection, host online
        self.births = 0  # NBIRTHs published
        self.rebirth_requests = 0
        self._host_state_ts = -1
        self._clock = clock_ms
        self._conn = MqttConnection(
            broker,
            "sparkplug-edge",
            node,
            will=self._will,
            client_id=_client_id(group, node),
            on_up=self._up,
            on_down=self._down,
        )
        cmd = [edge_topic(group, "NCMD", node), edge_topic(group, "DCMD", node, "+")]
        self._conn.subscribe(cmd + ([state_topic(host_id)] if host_id else []), qos=1)
        self._reader: asyncio.Task[None] | None = None

    def now_ms(self) -> int:
        """The node's clock (epoch ms): the one given, else the system clock."""
        if self._clock is not None:
            return int(self._clock())
        return int(time.time() * 1000)

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> SimEdgeNode:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Connect (and reconnect) in the background; births follow the host's STATE online."""
        await self._conn.start()
        self._reader = asyncio.create_task(self._read(), name=f"kiln-edge-{self.node}")

    async def stop(self, *, ndeath: bool = True) -> None:
        """Disconnect; an intentional disconnect publishes NDEATH first (the broker drops the
        Will on a clean DISCONNECT)."""
        if ndeath and self._conn.connected:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self.publish("NDEATH", self.ndeath_payload(), qos=1)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._conn.close()

    def _will(self) -> Will:
        self.bd_seq = (self.bd_seq + 1) % 256
        topic = edge_topic(self.group, "NDEATH", self.node)
        return Will(topic, self.ndeath_payload(), qos=1, retain=False)

    async def _up(self, session_present: bool) -> None:
        if self.host_id is None:
            await self.publish_births()

    async def _down(self) -> None:
        self.born.clear()
        self._host_state_ts = -1

    async def _read(self) -> None:
        async for batch in self._conn.batches():
            for msg in batch:
                try:
                    await self._command(msg)
                except Exception:  # a bad command must not end the node
                    log.exception("edge node %s: cannot handle %s", self.node, msg.topic)

    async def _command(self, msg: Received) -> None:
        if self.host_id is not None and msg.topic == state_topic(self.host_id):
            state = parse_state(msg.payload)
            if state is None or state[1] < self._host_state_ts:
                return  # not a 3.0 STATE, or older than one already seen
            self._host_state_ts = state[1]
            if state[0] and not self.born.is_set():
                await self.publish_births()
            elif not state[0]:
                self.born.clear()  # hold the data until the host is back, then be born again
            return
        if not msg.topic.endswith(f"/NCMD/{self.node}"):
            return  # DCMD: the simulated devices have nothing to write
        with contextlib.suppress(DecodeError):
            cmd = decode_birth(msg.payload)  # a command names its metrics, as a BIRTH does
            j = cmd.table.by_name.get(REBIRTH_METRIC)
            if j is not None and cmd.columns.value[np.flatnonzero(cmd.columns.index == j)].any():
                self.rebirth_requests += 1
                if self.host_id is None or self._host_state_ts >= 0:
                    await self.publish_births()

    # -- payloads ----------------------------------------------------------------------------

    def ndeath_payload(self, bd_seq: int | None = None) -> bytes:
        """NDEATH: only bdSeq (this connection's unless given), no seq."""
        bd = self.bd_seq if bd_seq is None else bd_seq
        return encode([Metric("bdSeq", None, DataType.INT64, bd)], seq=None, ts_ms=self.now_ms())

    def _next_seq(self) -> int:
        seq = self.seq
        self.seq = (seq + 1) % 256
        return seq

    def skip_seq(self, n: int = 1) -> None:
        """Fault: let n sequence numbers go unused (the host sees a gap)."""
        self.seq = (self.seq + n) % 256

    def birth_payload(self, device: str = "") -> bytes:
        """NBIRTH (device "") or DBIRTH: every metric with name, alias, datatype and value."""
        now = self.now_ms()
        metrics = []
        if not device:
            metrics = [
                Metric("bdSeq", None, DataType.INT64, self.bd_seq, now),
                Metric(REBIRTH_METRIC, None, DataType.BOOLEAN, False, now),
            ]
            seq = 0
            self.seq = 1
        else:
            seq = self._next_seq()
        for spec in self.specs[device]:
            value, ts = self.last.get((device, spec.name), (None, now))
            metrics.append(
                Metric(spec.name, self.alias[(device, spec.name)], spec.datatype, value, ts)
            )
        return encode(metrics, seq=seq, ts_ms=now)

    def data_payload(
        self,
        device: str,
        rows: Sequence[tuple[str, Value, int]],
        *,
        seq: int | None = None,
        remember: bool = True,
    ) -> bytes:
        """DDATA/NDATA of (metric, value, ts_ms) rows, by alias only; the next seq unless given."""
        specs = {s.name: s for s in self.specs[device]}
        metrics = []
        for name, value, ts in rows:
            spec = specs[name]
            alias = self.alias[(device, name)]
            metrics.append(Metric(None, alias, spec.datatype, value, ts, send_datatype=False))
            if remember:
                self.last[(device, name)] = (value, ts)
        return encode(metrics, seq=self._next_seq() if seq is None else seq, ts_ms=self.now_ms())

    # -- publishing --------------------------------------------------------------------------

    def publish(
        self, verb: str, payload: bytes, device: str = "", *, qos: int = 0
    ) -> asyncio.Future[bool]:
        """Publish any payload under this node's topic (also a fault: garbage, a wrong seq)."""
        return self._conn.publish(edge_topic(self.group, verb, self.node, device), payload, qos=qos)

    async def publish_births(self) -> None:
        """NBIRTH, then a DBIRTH per device, then data may flow."""
        self.born.clear()
        await self.publish("NBIRTH", self.birth_payload())
        for device in self.specs:
            if device:
                await self.publish("DBIRTH", self.birth_payload(device), device)
        self.births += 1
        self.born.set()

    async def data(self, device: str, rows: Sequence[tuple[str, Value, int]]) -> bool:
        """Publish DDATA (NDATA for device "") if born; False if held back (not born)."""
        if not self.born.is_set():
            for name, value, ts in rows:  # the next BIRTH carries the latest values
                self.last[(device, name)] = (value, ts)
            return False
        verb = "DDATA" if device else "NDATA"
        return await self.publish(verb, self.data_payload(device, rows), device)

    async def unknown_alias(self, device: str, ts_ms: int) -> None:
        """Fault: DDATA with an alias no BIRTH declared."""
        bad = Metric(
            None, 10_000 + len(self.alias), DataType.DOUBLE, 1.0, ts_ms, send_datatype=False
        )
        await self.publish("DDATA", encode([bad], seq=self._next_seq(), ts_ms=ts_ms), device)

    async def ddeath(self, device: str) -> None:
        """DDEATH of a device (sequenced)."""
        await self.publish("DDEATH", encode([], seq=self._next_seq(), ts_ms=self.now_ms()), device)


# -- the city ----------------------------------------------------------------------------------


@dataclass(slots=True)
class SparkplugPublished:
    """What the edge nodes published."""

    messages: int = 0
    points: int = 0
    states: int = 0
    counts: int = 0
    held: int = 0  # rows not sent because the node was not born (host offline)


class SparkplugCity:
    """The feed's city as edge nodes, and the split of each step's bundle into DDATA."""

    def __init__(
        self,
        feed: CityFeed,
        broker: BrokerSettings,
        *,
        host_id: str | None,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        cat = feed.catalog
        self.nodes: dict[int, SimEdgeNode] = {}  # line id -> node
        self.where: dict[int, tuple[SimEdgeNode, str]] = {}  # equipment id -> (node, device)
        by_line: dict[int, dict[str, list[MetricSpec]]] = {}
        for eid, path in feed.paths.items():
            line_id = cat.stations[cat.equipment[eid].station_id].line_id
            signals = [cat.signals[sid].name for sid in cat.signals_of.get(eid, [])]
            by_line.setdefault(line_id, {})[path.equipment] = telemetry(*signals)
        for line_id, devices in by_line.items():
            line = cat.lines[line_id]
            ent = cat.enterprises[line.enterprise_id].slug
            group = f"{ent}.{cat.sites[line.site_id].slug}.{line.area or 'default'}"
            self.nodes[line_id] = SimEdgeNode(
                broker, group, line.slug, devices, host_id=host_id, clock_ms=clock_ms
            )
        for eid, path in feed.paths.items():
            line_id = cat.stations[cat.equipment[eid].station_id].line_id
            self.where[eid] = (self.nodes[line_id], path.equipment)
        self.signal = {
            sid: (s.equipment_id, f"telemetry/{s.signal}") for sid, s in feed.series.items()
        }

    def rows(self, bundle: Bundle) -> dict[int, list[tuple[str, Value, int]]]:
        """Each equipment's (metric, value, ts) rows of a bundle."""
        out: dict[int, list[tuple[str, Value, int]]] = {}
        p = bundle.points
        ok = np.isfinite(p.value)
        for sid, ts, v in zip(
            p.series[ok].tolist(), p.ts_ms[ok].tolist(), p.value[ok].tolist(), strict=True
        ):
            eq, name = self.signal[sid]
            out.setdefault(eq, []).append((name, v, ts))
        s = bundle.states
        for eq, ts, code, reason in zip(
            s.equipment.tolist(), s.ts_ms.tolist(), s.state.tolist(), s.reasons(), strict=True
        ):
            out.setdefault(eq, []).extend(
                [("state/current", STATE_NAMES[code], ts), ("state/reason", reason or "", ts)]
            )
        c = bundle.counts
        for eq, ts, good, scrap in zip(
            c.equipment.tolist(), c.ts_ms.tolist(), c.good.tolist(), c.scrap.tolist(), strict=True
        ):
            out.setdefault(eq, []).extend([("count/good", good, ts), ("count/scrap", scrap, ts)])
        return out

    async def publish(self, bundle: Bundle, done: SparkplugPublished) -> None:
        """One DDATA per equipment for a step's bundle."""
        sent: list[asyncio.Future[bool]] = []
        for eq, rows in self.rows(bundle).items():
            node, device = self.where[eq]
            if not node.born.is_set():
                done.held += len(rows)
                await node.data(device, rows)
                continue
            sent.append(node.publish("DDATA", node.data_payload(device, rows), device))
            done.messages += 1
            for name, _, _ in rows:
                kind = name.split("/", 1)[0]
                if kind == "telemetry":
                    done.points += 1
                elif name in ("state/current", "count/good"):
                    setattr(done, kind + "s", getattr(done, kind + "s") + 1)
        if sent:
            await asyncio.gather(*sent)


async def publish_city_sparkplug(
    feed: CityFeed,
    broker: BrokerSettings,
    *,
    host_id: str | None = "kiln",
    speed: float = 1.0,
    step_s: float = 1.0,
    stop: asyncio.Event | None = None,
    until_ms: int | None = None,
) -> SparkplugPublished:
    """Run the city as Sparkplug edge nodes until ``stop`` is set or the simulated clock reaches
    ``until_ms``; return what was published.

    Every ``step_s`` real seconds the feed advances by ``speed`` times the real time passed and
    each equipment's new rows go out as one DDATA. With ``host_id`` the nodes wait for that
    primary host's STATE online (rows meanwhile only update the values the BIRTHs carry);
    ``host_id=None`` publishes without waiting. Each node closes with its own NDEATH.
    """
    stop = stop or asyncio.Event()
    city = SparkplugCity(feed, broker, host_id=host_id)
    done = SparkplugPublished()
    loop = asyncio.get_running_loop()
    for node in city.nodes.values():
        await node.start()
    try:
        t0, sim0 = loop.time(), feed.now_ms
        while not stop.is_set():
            step_start = loop.time()
            target = sim0 + int((step_start - t0) * speed * 1000)
            if until_ms is not None:
                target = min(target, until_ms)
            bundle = await asyncio.to_thread(feed.step, target)
            await city.publish(bundle, done)
            if until_ms is not None and feed.now_ms >= until_ms:
                break
            pause = step_s - (loop.time() - step_start)
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
    finally:
        await asyncio.gather(*(n.stop() for n in city.nodes.values()), return_exceptions=True)
    return done
