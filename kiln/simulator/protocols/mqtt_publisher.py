"""The simulated city published to an MQTT broker as unified-namespace JSON (domain.md 2.1).

Per step, each equipment's telemetry goes out as batched messages on
``{root}/{enterprise}/{site}/{area}/{line}/{station}/{equipment}/telemetry``: one message with
lists when all its signals share the step's timestamps, else one message per timestamp
(QoS 0, not retained). State changes go to ``.../state`` (QoS 1, retained, so a new subscriber
sees the current state) and counts to ``.../count`` (QoS 1: a lost count is a lost part).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from kiln.config_ingest import BrokerSettings
from kiln.domain.batches import Bundle
from kiln.domain.states import STATE_NAMES
from kiln.ingest.mqtt.connection import MqttConnection
from kiln.simulator.protocols.feed import CityFeed


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message to publish, and how many rows of the bundle it carries."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    kind: str  # "points", "states" or "counts"
    rows: int


@dataclass(slots=True)
class Published:
    """What reached the broker (QoS 0: written to the socket; QoS 1: acknowledged)."""

    messages: int = 0
    points: int = 0
    states: int = 0
    counts: int = 0
    lost: int = 0  # messages that could not be sent (QoS 0 while disconnected)


class UnsEncoder:
    """Turns a feed's bundles into UNS messages; the topic of every equipment is built once."""

    def __init__(self, feed: CityFeed, root: str = "fs/v1") -> None:
        cat = feed.catalog
        self.prefix: dict[int, str] = {}
        for eid, path in feed.paths.items():
            line = cat.lines[cat.stations[cat.equipment[eid].station_id].line_id]
            levels = (path.enterprise, path.site, line.area or "default", path.line, path.station)
            self.prefix[eid] = "/".join((root.strip("/"), *levels, path.equipment))
        top = max(feed.series, default=0) + 1
        self._equipment_of = np.full(top, -1, dtype=np.int64)
        self._signal: dict[int, str] = {}
        for sid, s in feed.series.items():
            self._equipment_of[sid] = s.equipment_id
            self._signal[sid] = s.signal

    def messages(self, bundle: Bundle) -> list[Message]:
        """The messages that carry a bundle (non-finite values are left out)."""
        return [*self._telemetry(bundle), *self._states(bundle), *self._counts(bundle)]

    def _telemetry(self, bundle: Bundle) -> list[Message]:
        p = bundle.points
        ok = np.isfinite(p.value)
        series, ts, value = p.series[ok], p.ts_ms[ok], p.value[ok]
        if not len(series):
            return []
        eq = self._equipment_of[series]
        order = np.lexsort((series, ts, eq))
        eq, series, ts, value = eq[order], series[order], ts[order], value[order]
        cuts = np.flatnonzero(np.diff(eq)) + 1
        out = []
        for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(eq)], strict=True):
            out += self._equipment_messages(int(eq[lo]), series[lo:hi], ts[lo:hi], value[lo:hi])
        return out

    def _equipment_messages(
        self, eid: int, series: np.ndarray, ts: np.ndarray, value: np.ndarray
    ) -> list[Message]:
        topic = self.prefix[eid] + "/telemetry"
        stamps = np.unique(ts)
        ids = np.unique(series)
        if len(stamps) > 1 and len(series) == len(stamps) * len(ids):
            # Every signal at every timestamp: one message of lists (rows are ts-major).
            grid = value.reshape(len(stamps), len(ids))
            doc = {
                "ts": stamps.tolist(),
                "values": {self._signal[int(s)]: grid[:, k].tolist() for k, s in enumerate(ids)},
            }
            return [Message(topic, orjson.dumps(doc), 0, False, "points", len(series))]
        out = []
        cuts = np.flatnonzero(np.diff(ts)) + 1
        for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(ts)], strict=True):
            values = {
                self._signal[s]: v
                for s, v in zip(series[lo:hi].tolist(), value[lo:hi].tolist(), strict=True)
            }
            doc = {"ts": int(ts[lo]), "values": values}
            out.append(Message(topic, orjson.dumps(doc), 0, False, "points", hi - lo))
        return out

    def _states(self, bundle: Bundle) -> list[Message]:
        s = bundle.states
        rows = zip(
            s.equipment.tolist(), s.ts_ms.tolist(), s.state.tolist(), s.reasons(), strict=True
        )
        return [
            Message(
                self.prefix[eq] + "/state",
                orjson.dumps({"state": STATE_NAMES[code], "ts": t, "reason": reason}),
                1,
                True,
                "states",
                1,
            )
            for eq, t, code, reason in rows
        ]

    def _counts(self, bundle: Bundle) -> list[Message]:
        c = bundle.counts
        rows = zip(
            c.equipment.tolist(), c.ts_ms.tolist(), c.good.tolist(), c.scrap.tolist(), strict=True
        )
        return [
            Message(
                self.prefix[eq] + "/count",
                orjson.dumps({"good": good, "scrap": scrap, "ts": t}),
                1,
                False,
                "counts",
                1,
            )
            for eq, t, good, scrap in rows
        ]


async def publish_city(
    feed: CityFeed,
    broker: BrokerSettings,
    *,
    root: str = "fs/v1",
    speed: float = 1.0,
    step_s: float = 1.0,
    stop: asyncio.Event | None = None,
    until_ms: int | None = None,
    name: str = "simulator",
) -> Published:
    """Publish the city as UNS JSON until ``stop`` is set or the simulated clock reaches
    ``until_ms``; return what reached the broker.

    Every ``step_s`` real seconds the feed advances by ``speed`` times the real time passed,
    and what it produced is published; the next step waits until the broker took the step's
    messages, so a slow broker slows the simulation instead of queueing without bound. The
    client id is ``kiln-simulator-<name>`` unless ``broker.client_id`` sets one.
    """
    stop = stop or asyncio.Event()
    encoder = UnsEncoder(feed, root)
    done = Published()
    loop = asyncio.get_running_loop()
    async with MqttConnection(broker, "simulator", name) as conn:
        waiting = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait(
                [waiting, asyncio.ensure_future(conn.wait_connected())],
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waiting.cancel()
        t0, sim0 = loop.time(), feed.now_ms
        while not stop.is_set():
            step_start = loop.time()
            target = sim0 + int((step_start - t0) * speed * 1000)
            if until_ms is not None:
                target = min(target, until_ms)
            bundle = await asyncio.to_thread(feed.step, target)
            await _publish(conn, encoder.messages(bundle), done, stop)
            if until_ms is not None and feed.now_ms >= until_ms:
                break
            pause = step_s - (loop.time() - step_start)
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
    return done


async def _publish(
    conn: MqttConnection, messages: list[Message], done: Published, stop: asyncio.Event
) -> None:
    """Publish a step's messages and wait until the broker took them (or stop is set)."""
    futures = [conn.publish(m.topic, m.payload, qos=m.qos, retain=m.retain) for m in messages]
    if not futures:
        return
    sent = asyncio.gather(*futures)
    stopping = asyncio.ensure_future(stop.wait())
    either: list[asyncio.Future[Any]] = [sent, stopping]
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not sent.done():
        return  # stopped while the broker was away: close() settles the rest
    for m, ok in zip(messages, sent.result(), strict=True):
        if not ok:
            done.lost += 1
            continue
        done.messages += 1
        setattr(done, m.kind, getattr(done, m.kind) + m.rows)
