"""OpcUaAdapter: one OPC UA client session, subscribed to the configured variables, kept alive.

Each session browses the configured folders (and the OPC 40010 robots in them), subscribes to
every target in one subscription with the configured sampling and publishing intervals, and
hands each publish response to the sink as one bundle. When the session is lost (the server
stops, the network drops, the server drops the subscription or stops publishing) the client is
closed and a fresh one connects after an exponential backoff, browses and subscribes again:
after a server restart, nothing of the old session can be reused anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaError

from kiln.config_ingest import OpcUaFolder, OpcUaSettings
from kiln.domain.batches import Bundle
from kiln.ingest.backoff import Backoff
from kiln.ingest.opcua.browse import Child, children, folder_variables, parse_node_id
from kiln.ingest.opcua.connection import new_client
from kiln.ingest.opcua.decode import decode
from kiln.ingest.opcua.refusals import Refusals
from kiln.ingest.opcua.robotics import robot_targets
from kiln.ingest.opcua.subscription import (
    BatchSubscription,
    monitored_items,
    parameters,
    queue_size,
)
from kiln.ingest.opcua.targets import SeriesMap, Target, known_signals, merge
from kiln.ingest.sink import Sink

log = logging.getLogger(__name__)

FIRST_RETRY_S = 0.5
CHECK_EVERY_S = 0.5  # how often a quiet session is checked for a stalled subscription
STALE_MARGIN = 1.5  # keep-alive intervals of silence before the subscription counts as dead
CLOSE_TIMEOUT_S = 2.0  # a polite CloseSession may not hold up a reconnect or a shutdown


class SessionLost(Exception):
    """The session ended: the server went away or dropped our subscription."""


class StoreFailing(SessionLost):
    """The session ended because the sink could not commit; back off as for a failure."""


class OpcUaAdapter:
    """Subscribes to an OPC UA server's variables and delivers them as the enterprise's signals."""

    kind = "opcua"

    def __init__(self, cfg: OpcUaSettings) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.attempts = 0  # connection attempts since start
        self.sessions = 0  # sessions that got as far as subscribing
        self.connected = False  # a session is subscribed now
        self.last_error = ""  # why the last attempt or session ended
        self.targets: list[Target] = []  # what the current session monitors
        self.refusals = Refusals(f"{self.kind}:{cfg.name}")

    @property
    def connections(self) -> int:
        """Sessions since start (what the health checks and metrics read)."""
        return self.sessions

    async def run(self, sink: Sink) -> None:
        """Connect, subscribe and deliver until cancelled, reconnecting with backoff."""
        backoff = Backoff(first=FIRST_RETRY_S, cap=self.cfg.reconnect_max_s)
        failing = False
        while True:
            self.attempts += 1
            try:
                await self._session(sink, recovering=failing)
            except SessionLost as err:
                self.last_error = str(err)
                log.warning("opcua %s: %s; reconnecting", self.name, err)
                if not isinstance(err, StoreFailing):
                    backoff.reset()  # the session worked: try again soon
                failing = True
            except Exception as err:  # nothing a server does may end the adapter
                self.last_error = _describe(err)
                if not failing:  # log when it starts failing, not on every retry
                    log.warning(
                        "opcua %s: no session with %s (%s); retrying with backoff up to %g s",
                        self.name,
                        self.cfg.endpoint,
                        self.last_error,
                        self.cfg.reconnect_max_s,
                        exc_info=not isinstance(err, OSError | TimeoutError | UaError),
                    )
                failing = True
            await asyncio.sleep(backoff.next())

    async def _session(self, sink: Sink, *, recovering: bool) -> None:
        """One session, from connect until it is lost (raised as SessionLost or the error met)."""
        client = await new_client(self.cfg)
        lost: asyncio.Future[SessionLost] = asyncio.get_running_loop().create_future()

        def lose(why: SessionLost) -> None:
            if not lost.done():
                lost.set_result(why)

        async def on_connection_lost(err: Exception) -> None:
            lose(SessionLost(f"connection lost ({_describe(err)})"))

        client.connection_lost_callback = on_connection_lost
        try:
            await client.connect()
        except BaseException:
            client.disconnect_socket()  # asyncua leaves it open when connect is cancelled
            raise
        try:
            sub = await self._subscribe(client, sink, lose)
            self.sessions += 1
            self.connected = True
            if recovering:
                log.info("opcua %s: %s reachable again", self.name, self.cfg.endpoint)
            await _watch(sub, lost)
        finally:
            self.connected = False
            try:
                await asyncio.wait_for(client.disconnect(), CLOSE_TIMEOUT_S)
            except Exception:  # the server may be gone already; the session dies with it
                log.debug("opcua %s: disconnect failed", self.name, exc_info=True)

    async def _subscribe(
        self, client: Client, sink: Sink, lose: Callable[[SessionLost], None]
    ) -> BatchSubscription:
        """Find the targets, create the subscription and one monitored item per target."""
        cfg = self.cfg
        self.targets = targets = await self._targets(client, sink)
        series = SeriesMap(targets, cfg.enterprise)
        series.resolve(sink.catalog)

        async def deliver(items: list[ua.MonitoredItemNotification]) -> None:
            await self._deliver(sink, series, items, lose)

        def on_status(status: ua.StatusCode) -> None:
            if not status.is_good():  # BadTimeout: the server let our subscription expire
                lose(SessionLost(f"subscription ended by the server ({status.name})"))

        sub = BatchSubscription(
            client.uaclient.session, parameters(cfg.publishing_ms), deliver, on_status
        )
        revised = await sub.init()
        # The stall check below must use what the server granted, not what we asked for.
        sub.parameters.RequestedPublishingInterval = revised.RevisedPublishingInterval
        sub.parameters.RequestedMaxKeepAliveCount = revised.RevisedMaxKeepAliveCount
        monitored = await self._monitor(sub, sink, series)
        sub.last_publish_at = time.monotonic()
        log.info(
            "opcua %s: subscribed to %d variables at %s (publishing %.0f ms, sampling %.0f ms)",
            self.name,
            monitored,
            cfg.endpoint,
            cfg.publishing_ms,
            cfg.sampling_ms,
        )
        return sub

    async def _monitor(self, sub: BatchSubscription, sink: Sink, series: SeriesMap) -> int:
        """One monitored item per target; refuse those the server will not monitor."""
        cfg, targets = self.cfg, series.targets
        nodes = [(h, parse_node_id(t.node)) for h, t in enumerate(targets)]
        for h, nid in nodes:
            if isinstance(nid, str):
                self._refuse(sink, series, targets[h], "node", nid)
        wanted = [(h, nid) for h, nid in nodes if isinstance(nid, ua.NodeId)]
        requests = monitored_items(
            wanted,
            sampling_ms=cfg.sampling_ms,
            queue=queue_size(cfg.sampling_ms, cfg.publishing_ms),
        )
        created = 0
        for (h, _), status in zip(wanted, await sub.add(requests), strict=True):
            if status is None:
                created += 1
                continue
            unknown = status.value == StatusCodes.BadNodeIdUnknown
            why = "no such node" if unknown else "the server refused to monitor it"
            self._refuse(sink, series, targets[h], "node", f"{why} ({status.name})")
        return created

    async def _targets(self, client: Client, sink: Sink) -> list[Target]:
        """Configured nodes, then folder variables, then robot variables (see targets.merge)."""
        cfg = self.cfg
        configured = [Target(n.node, n.equipment, n.signal) for n in cfg.nodes]
        in_folders: list[Target] = []
        in_robots: list[Target] = []
        browsed = await children(client, [f.node for f in cfg.folders])
        catalog = sink.catalog
        for folder, kids in zip(cfg.folders, browsed, strict=True):
            if isinstance(kids, str):
                self.refusals.refuse(
                    sink,
                    source=folder.node,
                    kind="folder",
                    reason=f"folder of {folder.equipment!r}: {kids}",
                    enterprise_id=catalog.enterprise_by_slug.get(cfg.enterprise),
                )
                continue
            self.refusals.clear([folder.node])
            in_folders += folder_variables(folder, kids)
            if cfg.robots:
                in_robots += await self._robot(client, sink, folder, kids)
        return merge(configured, in_folders, in_robots)

    async def _robot(
        self, client: Client, sink: Sink, folder: OpcUaFolder, kids: list[Child]
    ) -> list[Target]:
        """The folder's robot targets; a server that trips over the discovery browse loses
        only the robot's values, not the session."""
        signals = known_signals(sink.catalog, self.cfg.enterprise, folder.equipment)
        try:
            found = await robot_targets(client, folder, kids, signals.__contains__)
        except (OSError, TimeoutError):
            raise  # the connection is gone: the session ends
        except Exception as err:
            log.warning("opcua %s: robot discovery under %s failed", self.name, folder.node)
            self.refusals.refuse(
                sink,
                source=folder.node,
                kind="robot",
                reason=f"OPC 40010 robot of {folder.equipment!r} not read: {_describe(err)}",
                enterprise_id=sink.catalog.enterprise_by_slug.get(self.cfg.enterprise),
            )
            return []
        self.refusals.clear([folder.node])
        return found

    async def _deliver(
        self,
        sink: Sink,
        series: SeriesMap,
        items: list[ua.MonitoredItemNotification],
        lose: Callable[[SessionLost], None],
    ) -> None:
        """Decode one publish response, dead-letter what is refused, commit the rest."""
        try:
            decoded = decode(items, series.resolve(sink.catalog), series.why, now_ms=sink.now_ms())
        except Exception as err:  # a value asyncua decoded into something we never expected
            log.exception("opcua %s: could not decode a publish response", self.name)
            self.refusals.refuse(
                sink,
                source=self.cfg.endpoint,
                kind="decode",
                reason=f"could not decode a publish response: {_describe(err)}",
                enterprise_id=series.enterprise_id,
            )
            return
        for r in decoded.refusals:
            if not 0 <= r.handle < len(series.targets):  # not one of ours: a server fault
                self.refusals.refuse(sink, source=self.cfg.endpoint, kind="handle", reason=r.reason)
                continue
            target = series.targets[r.handle]
            reason = r.reason if r.kind == "mapping" else f"{target.label()}: {r.reason}"
            self.refusals.refuse(
                sink,
                source=target.node,
                kind=r.kind,
                reason=reason,
                payload=r.payload,
                enterprise_id=series.enterprise_id,
            )
        if len(decoded.delivered):
            self.refusals.clear(series.targets[h].node for h in decoded.delivered.tolist())
        if not len(decoded.points):
            return
        try:
            await sink.submit(Bundle(points=decoded.points))
        except Exception as err:
            # The store is failing: end the session, so values are read again once it is back.
            log.exception("opcua %s: could not store %d points", self.name, len(decoded.points))
            lose(StoreFailing(f"could not store values ({_describe(err)})"))

    def _refuse(self, sink: Sink, series: SeriesMap, target: Target, kind: str, why: str) -> None:
        self.refusals.refuse(
            sink,
            source=target.node,
            kind=kind,
            reason=f"{target.label()}: {why}",
            enterprise_id=series.enterprise_id,
        )


async def _watch(sub: BatchSubscription, lost: asyncio.Future[SessionLost]) -> None:
    """Wait until the session is lost or the subscription stops answering; raise SessionLost."""
    while True:
        await asyncio.wait([lost], timeout=CHECK_EVERY_S)
        if lost.done():
            raise lost.result()
        if sub.is_stale(STALE_MARGIN):
            raise SessionLost("no publish response or keep-alive in time")


def _describe(err: BaseException) -> str:
    """A one-line account of an error (asyncua's often have an empty message)."""
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
