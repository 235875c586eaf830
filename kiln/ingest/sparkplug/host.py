"""SparkplugHost: Kiln as a Sparkplug B 3.0 primary host application (domain.md 3.4).

On every connection: the Will is STATE offline (retained, QoS 1) stamped T; subscriptions to
its own STATE and to ``spBv1.0/#`` (or the configured groups) come first, and only after their
SUBACK does STATE online go out, stamped with the same T. Edge nodes hold their BIRTHs until
they see it. Births reset a node's tables, DATA is read with the datatypes they declared, and
sequence gaps, data before a BIRTH, unknown aliases and undecodable payloads lead to a
``Node Control/Rebirth`` NCMD (at most one outstanding per node, rate-limited). A current
NDEATH, a DDEATH, or the host's own lost connection turn the equipment's state to ``unknown``
(reason ``sparkplug offline``) at the host's receive time. Bundles from many messages are
committed together, one group in flight at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kiln.config_ingest import SparkplugSettings
from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.mqtt.connection import MqttConnection, Received, Will
from kiln.ingest.sink import Sink
from kiln.ingest.sparkplug.codec import (
    Birth,
    DecodeError,
    Metric,
    decode_birth,
    decode_death,
    encode,
)
from kiln.ingest.sparkplug.columns import DataPayload
from kiln.ingest.sparkplug.committer import Committer
from kiln.ingest.sparkplug.datatypes import DataType
from kiln.ingest.sparkplug.edge_node import EdgeNode, EdgeNodeStatus, Effects, Held, Letter
from kiln.ingest.sparkplug.mapping import enterprise_slug
from kiln.ingest.sparkplug.recorded import Recorded
from kiln.ingest.sparkplug.registration import register_equipment
from kiln.ingest.sparkplug.session import SEQ_MOD, SessionRules
from kiln.ingest.sparkplug.topics import (
    NAMESPACE,
    REBIRTH_METRIC,
    Topic,
    edge_topic,
    parse_state,
    parse_topic,
    state_payload,
    state_topic,
)

log = logging.getLogger(__name__)

TICK_S = 0.1  # how often reorder timeouts and catalogue changes are looked at
MAX_PENDING_ROWS = 500_000  # decoded rows waiting for the store before reading pauses
STATE_TIMEOUT_S = 2.0  # how long a clean shutdown waits for STATE offline to be acknowledged
COALESCE_BELOW = 256  # after a list shorter than this, wait COALESCE_S for the next
COALESCE_S = 0.005
MAX_ROUTES = 100_000  # parsed topics kept


@dataclass(slots=True)
class HostStats:
    """Counters since start."""

    messages: int = 0
    refused: int = 0
    rebirths_sent: int = 0
    registered: int = 0
    connections: int = 0


class Connection(Protocol):
    """What the host needs of an MQTT connection (``MqttConnection`` is the real one)."""

    @property
    def connected(self) -> bool:
        """Whether the broker accepted the current connection."""
        ...

    def subscribe(self, filters: Sequence[str], qos: int = 0) -> None:
        """Subscribe now and on every reconnect."""
        ...

    async def start(self) -> None:
        """Start connecting."""
        ...

    def batches(self) -> AsyncIterator[list[Received]]:
        """What arrives, in lists, until closed."""
        ...

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False
    ) -> asyncio.Future[bool]:
        """Publish; the future says whether it went out."""
        ...

    async def close(self) -> None:
        """Disconnect cleanly."""
        ...


@dataclass(slots=True)
class _Link:
    conn: Connection
    committer: Committer
    sink: Sink
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class SparkplugHost:
    """A Sparkplug B primary host application delivering to a Sink."""

    kind = "sparkplug"

    def __init__(self, cfg: SparkplugSettings, *, rules: SessionRules | None = None) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.adapter = f"{self.kind}:{cfg.name}"
        self.rules = rules or SessionRules(
            reorder_timeout_ms=int(cfg.reorder_timeout_s * 1000),
            rebirth_every_ms=int(cfg.rebirth_every_s * 1000),
        )
        self.state_topic = state_topic(cfg.host_id)
        self.nodes: dict[tuple[str, str], EdgeNode] = {}
        self.stats = HostStats()
        self.online = False  # connected, subscribed, and STATE online published
        self._state_ts = 0
        self._recorded = Recorded()
        self._routes: dict[str, tuple[Topic, EdgeNode]] = {}  # topic -> parsed, and its node
        self._link: _Link | None = None

    # -- what the API reads ----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the host is online (connected, subscribed, STATE published)."""
        return self.online

    @property
    def connections(self) -> int:
        """Connections to the broker since start."""
        return self.stats.connections

    def edge_nodes(self) -> list[EdgeNodeStatus]:
        """Every edge node seen, with its online/stale status, by group and node."""
        return [n.status(host_online=self.online) for _, n in sorted(self.nodes.items())]

    async def flushed(self) -> None:
        """Return once every bundle decoded so far is committed."""
        if self._link is not None:
            await self._link.committer.drained()

    # -- running -------------------------------------------------------------------------------

    async def run(self, sink: Sink) -> None:
        """Be the primary host until cancelled; the connection reconnects with backoff."""
        conn = MqttConnection(
            self.cfg, self.kind, self.name, will=self._will, on_up=self._up, on_down=self._down
        )
        await self.serve(sink, conn)

    async def serve(self, sink: Sink, conn: Connection) -> None:
        """Be the primary host over a connection until cancelled or until it closes.

        ``run`` serves a reconnecting MQTT connection; a benchmark may serve a replay.
        """
        # spBv1.0/# covers our own STATE; with groups, STATE needs its own filter. Overlapping
        # filters would bring every message twice. QoS 1 for STATE; DATA comes at QoS 0 anyway.
        groups = [f"{NAMESPACE}/{g}/#" for g in self.cfg.groups]
        conn.subscribe([self.state_topic, *groups] if groups else [f"{NAMESPACE}/#"], qos=1)
        link = _Link(conn, Committer(sink, self.adapter), sink)
        self._link = link
        await conn.start()
        try:
            link.tasks = [
                asyncio.create_task(link.committer.run(), name=f"kiln-{self.adapter}-commit"),
                asyncio.create_task(self._tick(link), name=f"kiln-{self.adapter}-tick"),
            ]
            async for batch in conn.batches():
                await self._batch(link, batch)
                if len(batch) < COALESCE_BELOW:
                    # Let a few milliseconds of messages gather: the decoding costs per group,
                    # and an idle loop leaves the GIL to the network thread meanwhile.
                    await asyncio.sleep(COALESCE_S)
        finally:
            await self._shutdown(link)

    async def _shutdown(self, link: _Link) -> None:
        """STATE offline, commit what was decoded, then disconnect (no Will)."""
        commit, tick = link.tasks or (None, None)
        tasks = [t for t in (tick, commit) if t is not None]
        try:
            if tick is not None:
                tick.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await tick
            if link.conn.connected:
                fut = link.conn.publish(
                    self.state_topic, state_payload(False, link.sink.now_ms()), qos=1, retain=True
                )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(STATE_TIMEOUT_S):
                        await fut
            # The committer finishes the group in the store and what is pending, so no commit
            # is left waiting on this loop after it has gone.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10.0):
                    await link.committer.drained()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self.online = False
            await link.conn.close()

    def _will(self) -> Will:
        """Before each connection attempt: the Will is STATE offline, stamped now (T)."""
        assert self._link is not None
        self._state_ts = self._link.sink.now_ms()
        return Will(self.state_topic, state_payload(False, self._state_ts), qos=1, retain=True)

    async def _up(self, session_present: bool) -> None:
        link = self._link
        assert link is not None
        self.stats.connections += 1
        link.conn.publish(self.state_topic, state_payload(True, self._state_ts), qos=1, retain=True)
        self.online = True
        log.info("%s online as primary host %r", self.adapter, self.cfg.host_id)

    async def _down(self) -> None:
        """The broker is gone: every node's data is stale (domain.md 3.4 point 7)."""
        link = self._link
        assert link is not None
        self.online = False
        fx = self._effects(link)
        for node in self.nodes.values():
            node.lost(fx)
        await self._emit(link, fx)

    async def _tick(self, link: _Link) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            fx = self._effects(link)
            for node in self.nodes.values():
                if node.catalog_seen is not None and node.catalog_seen is not fx.catalog:
                    node.replan(fx.catalog)
                if node.session.held:
                    node.expire(fx)
            await self._emit(link, fx)

    def _effects(self, link: _Link) -> Effects:
        now = int(time.monotonic() * 1000)
        return Effects(link.sink.catalog, link.sink.now_ms(), now, self._recorded)

    async def _emit(self, link: _Link, fx: Effects) -> None:
        for node in fx.dirty:
            try:
                node.flush(fx)
            except Exception as err:  # a bug of ours: say so, and keep the host running
                log.exception("%s could not decode the data of %s", self.adapter, node.node)
                fx.letters.append(Letter(node.node, f"internal error: {err!r}", b"", None))
        fx.dirty.clear()
        for bundle in fx.bundles:
            link.committer.add(bundle)
        for letter in fx.letters:
            self._letter(link, fx.now_ms, letter)
        for node in fx.rebirths:
            self._rebirth(link, node)
        fx.bundles, fx.letters, fx.rebirths = [], [], []
        if link.committer.rows > MAX_PENDING_ROWS:  # the store is behind: stop reading
            await link.committer.drained()

    def _letter(self, link: _Link, now_ms: int, letter: Letter) -> None:
        self.stats.refused += 1
        link.sink.dead_letter(
            DeadLetter(
                now_ms,
                self.adapter,
                letter.source,
                letter.reason[:1000],
                letter.payload,
                letter.enterprise_id,
            )
        )

    def _rebirth(self, link: _Link, node: EdgeNode) -> None:
        payload = encode(
            [Metric(REBIRTH_METRIC, None, DataType.BOOLEAN, True, link.sink.now_ms())],
            seq=None,
            ts_ms=link.sink.now_ms(),
        )
        link.conn.publish(edge_topic(node.group, "NCMD", node.node), payload, qos=0)
        self.stats.rebirths_sent += 1
        log.info("%s asked %s/%s for a rebirth", self.adapter, node.group, node.node)

    # -- messages --------------------------------------------------------------------------

    async def _batch(self, link: _Link, batch: list[Received]) -> None:
        fx = self._effects(link)
        self.stats.messages += len(batch)
        routes = self._routes
        for msg in batch:
            try:
                route = routes.get(msg.topic)
                if route is None:
                    topic = parse_topic(msg.topic)
                    if topic is None:
                        self._other(link, msg, fx)
                        continue
                    if len(routes) >= MAX_ROUTES:  # a peer inventing topics: start over
                        routes.clear()
                    route = routes[msg.topic] = (topic, self._node(topic))
                topic, node = route
                node.last_seen_ms = fx.now_ms
                if topic.verb == "DDATA" or topic.verb == "NDATA":
                    self._data(node, topic, msg, fx)
                elif topic.verb != "NCMD" and topic.verb != "DCMD":  # commands: for the nodes
                    await self._control(link, node, topic, msg, fx)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a bug of ours: keep the message, go on with the rest
                log.exception("%s could not handle a message on %s", self.adapter, msg.topic)
                fx.letters.append(Letter(msg.topic, f"internal error: {err!r}", msg.payload, None))
        await self._emit(link, fx)

    def _node(self, t: Topic) -> EdgeNode:
        node = self.nodes.get((t.group, t.node))
        if node is None:
            ent = enterprise_slug(t.group, self.cfg.enterprises)
            node = self.nodes[(t.group, t.node)] = EdgeNode(t.group, t.node, ent, self.rules)
        return node

    def _data(self, node: EdgeNode, t: Topic, msg: Received, fx: Effects) -> None:
        try:
            body = DataPayload(msg.payload)
        except DecodeError as err:
            node.refuse(msg.topic, str(err), msg.payload, fx, rebirth=True)
            return
        self._sequenced(node, Held(t.verb, t.device, msg.topic, msg.payload, body), body.seq, fx)

    def _sequenced(self, node: EdgeNode, held: Held, seq: int | None, fx: Effects) -> None:
        if seq is None or not 0 <= seq < SEQ_MOD:
            why = "no seq" if seq is None else f"seq {seq} is outside 0..255"
            node.refuse(held.topic, f"{held.verb} with {why}", held.raw, fx, rebirth=True)
            return
        node.sequenced(held, seq, fx)

    async def _control(
        self, link: _Link, node: EdgeNode, t: Topic, msg: Received, fx: Effects
    ) -> None:
        if t.verb == "NDEATH":
            try:
                bd_seq = decode_death(msg.payload)
            except DecodeError as err:
                node.refuse(msg.topic, str(err), msg.payload, fx)
                return
            if node.ndeath(bd_seq, fx):
                log.info("%s: %s/%s is offline (NDEATH)", self.adapter, t.group, t.node)
            return
        if t.verb == "DDEATH":
            try:
                body = DataPayload(msg.payload)
            except DecodeError as err:
                node.refuse(msg.topic, str(err), msg.payload, fx, rebirth=True)
                return
            self._sequenced(
                node, Held(t.verb, t.device, msg.topic, msg.payload, body), body.seq, fx
            )
            return
        try:
            birth = decode_birth(msg.payload)
        except DecodeError as err:
            node.refuse(msg.topic, str(err), msg.payload, fx, rebirth=True)
            return
        await self._register(link, t, msg.topic, birth, fx)
        if t.verb == "NBIRTH":
            node.nbirth(birth, msg.topic, msg.payload, fx)
        else:
            held = Held(t.verb, t.device, msg.topic, msg.payload, birth)
            self._sequenced(node, held, birth.seq, fx)

    def _other(self, link: _Link, msg: Received, fx: Effects) -> None:
        if msg.topic == self.state_topic:
            state = parse_state(msg.payload)
            if state is not None and not state[0] and self.online:
                # Our own STATE offline (a late Will of an earlier connection): say otherwise.
                link.conn.publish(
                    self.state_topic, state_payload(True, self._state_ts), qos=1, retain=True
                )
            return
        if msg.topic.startswith(f"{NAMESPACE}/STATE/"):
            return  # other primary hosts
        fx.letters.append(
            Letter(msg.topic, "not a Sparkplug B 3.0 topic", msg.payload, None)
        )  # e.g. a 2.x STATE under a group, or a device topic with a node verb

    async def _register(self, link: _Link, t: Topic, topic: str, birth: Birth, fx: Effects) -> None:
        """Register the equipment a BIRTH speaks for, if unknown and its enterprise allows."""
        ent = enterprise_slug(t.group, self.cfg.enterprises)
        if ent not in self.cfg.auto_register:
            return
        slug = t.device or t.node
        try:
            catalog, why = await register_equipment(
                link.sink,
                fx.catalog,
                ent,
                t.group,
                t.node,
                slug,
                birth,
                where=f"{self.adapter} {topic}",
            )
        except asyncio.CancelledError:
            raise
        except Exception as err:  # the store refused the document: say so, go on
            catalog, why = None, f"registering equipment {slug!r} failed: {err}"
        if why:
            fx.letters.append(Letter(topic, why, b"", fx.catalog.enterprise_by_slug.get(ent)))
        if catalog is not None:
            fx.catalog = catalog
            self.stats.registered += 1
            log.info("%s registered %s/%s", self.adapter, ent, slug)
