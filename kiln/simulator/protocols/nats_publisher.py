"""The simulated city published to NATS JetStream: the MQTT publisher's unified-namespace JSON
messages, each on the subject of its topic (``kiln.v1.<enterprise>...<equipment>.telemetry``).

Every message carries a ``Nats-Msg-Id`` made of its subject and a digest of its payload (which
holds its timestamps), so a message sent again after a lost acknowledgement falls in
JetStream's duplicate window and is stored in the stream once. The stream is created when
missing, with the settings an ingest adapter would use.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from kiln.config_ingest import NatsSettings
from kiln.ingest.backoff import Backoff
from kiln.ingest.nats.connection import API_TIMEOUT_S, connect, ensure_stream, tls_context
from kiln.ingest.nats.subjects import subject_of
from kiln.simulator.protocols.feed import CityFeed
from kiln.simulator.protocols.mqtt_publisher import Message, Published, UnsEncoder

log = logging.getLogger(__name__)

TOPIC_ROOT = "fs/v1"  # the encoder's topics, moved to the subject root
IN_FLIGHT = 1_000  # messages awaiting JetStream's acknowledgement at once
ATTEMPTS = 5  # sends of one message before it counts as lost


def message_id(subject: str, payload: bytes) -> str:
    """The Nats-Msg-Id of a message: the same message always gets the same one.

    >>> message_id("kiln.v1.a.count", b'{"good": 1, "ts": 1}')
    'kiln.v1.a.count:12f66ce8f9077434aef5ff50'
    """
    return f"{subject}:{hashlib.blake2b(payload, digest_size=12).hexdigest()}"


async def publish_city_nats(
    feed: CityFeed,
    settings: NatsSettings,
    *,
    speed: float = 1.0,
    step_s: float = 1.0,
    stop: asyncio.Event | None = None,
    until_ms: int | None = None,
) -> Published:
    """Publish the city to JetStream until ``stop`` is set or the simulated clock reaches
    ``until_ms``; return what JetStream acknowledged.

    Every ``step_s`` real seconds the feed advances by ``speed`` times the real time passed;
    the next step waits until JetStream took the step's messages, so a slow server slows the
    simulation instead of queueing without bound.
    """
    stop = stop or asyncio.Event()
    encoder = UnsEncoder(feed, TOPIC_ROOT)
    done = Published()
    nc = await _connected(settings, stop)
    if nc is None:
        return done
    loop = asyncio.get_running_loop()
    try:
        js = nc.jetstream(timeout=API_TIMEOUT_S)
        t0, sim0 = loop.time(), feed.now_ms
        while not stop.is_set():
            step_start = loop.time()
            target = sim0 + int((step_start - t0) * speed * 1000)
            if until_ms is not None:
                target = min(target, until_ms)
            bundle = await asyncio.to_thread(feed.step, target)
            await _publish(js, settings.root, encoder.messages(bundle), done, stop)
            if until_ms is not None and feed.now_ms >= until_ms:
                break
            pause = step_s - (loop.time() - step_start)
            if pause > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
    return done


async def _connected(settings: NatsSettings, stop: asyncio.Event) -> Client | None:
    """Connect and make sure the stream exists, retrying with backoff; None if stopped first."""
    tls = tls_context(settings)
    backoff = Backoff(first=0.5, cap=settings.reconnect_max_s)
    logged = False
    while not stop.is_set():
        # A first connect that fails is not retried by nats-py: here, with backoff. It runs
        # beside stop.wait(), as nats-py may also keep trying inside it.
        attempt = asyncio.ensure_future(
            connect(settings, name="kiln-simulator", tls=tls, reconnect=True)
        )
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait([attempt, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not attempt.done():
            attempt.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await attempt
            return None
        nc: Client | None = None
        try:
            nc = attempt.result()
            await ensure_stream(nc.jetstream(timeout=API_TIMEOUT_S), settings)
            return nc
        except (nats.errors.Error, OSError, TimeoutError) as err:
            if nc is not None:
                with contextlib.suppress(Exception):
                    await nc.close()
            if not logged:
                log.warning("NATS %s: %s; retrying", ",".join(settings.servers), err)
                logged = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff.next())
    return None


async def _publish(
    js: JetStreamContext, root: str, messages: list[Message], done: Published, stop: asyncio.Event
) -> None:
    """Publish a step's messages, IN_FLIGHT at a time, each until JetStream acknowledged it."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(m: Message) -> None:
        subject = subject_of(m.topic, root, TOPIC_ROOT)
        headers = {"Nats-Msg-Id": message_id(subject, m.payload)}
        async with gate:
            for _ in range(ATTEMPTS):
                if stop.is_set():
                    return  # not sent, and not lost: the publisher was stopped
                try:
                    await js.publish(subject, m.payload, headers=headers)
                except (nats.errors.Error, TimeoutError):
                    continue  # sent again under the same id: JetStream keeps one
                done.messages += 1
                setattr(done, m.kind, getattr(done, m.kind) + m.rows)
                return
        done.lost += 1

    await asyncio.gather(*(one(m) for m in messages))
