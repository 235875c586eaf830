"""NatsAdapter: a JetStream durable pull consumer whose messages become committed bundles.

Every worker binds to the same durable consumer, and JetStream hands each message to one of
them: that is how N workers share a stream. A worker fetches up to ``batch`` messages, decodes
them together (the MQTT adapter's namespace and JSON decoding, on subjects mapped to topics) and
commits them in one transaction, each message as its own item named by its place in the stream
(``nats:<stream>:<created_ms>:<sequence>``, or the ``batch_id`` a Kiln JSON batch names). Only
then are they acknowledged. A message delivered again (its ack was lost, the worker died after
the commit, its ack_wait ran out) carries the same stream sequence, so the store finds its
identity already claimed and stores nothing twice: at least once on the wire, exactly once in
the store. A failed commit is negatively acknowledged with a delay, so JetStream delivers the
messages again (to any worker); a message that can never decode goes to the dead letters and
is terminated, never delivered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Iterable, Sequence

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

from kiln.config_ingest import NatsSettings
from kiln.domain.batches import Bundle
from kiln.domain.dead_letters import PAYLOAD_HEAD, DeadLetter
from kiln.errors import Unavailable
from kiln.ingest.backoff import Backoff
from kiln.ingest.mqtt.connection import hostname
from kiln.ingest.mqtt.namespace import Refused
from kiln.ingest.mqtt.payload import BatchDecoder, DecodedEach
from kiln.ingest.nats.connection import (
    API_TIMEOUT_S,
    connect,
    ensure_stream,
    pull_subscription,
    tls_context,
)
from kiln.ingest.nats.subjects import SubjectNamespace
from kiln.ingest.sink import Sink

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5  # first pause after a lost connection; it doubles up to reconnect_max_s
FIRST_RETRY_S = 0.2  # a failed commit: the messages come back after this, doubling


class NatsAdapter:
    """Fetches from the durable consumer in batches and delivers to a Sink."""

    kind = "nats"

    def __init__(self, cfg: NatsSettings) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.label = f"nats:{cfg.name}"
        self.namespace = SubjectNamespace(cfg.root)
        self.received = 0  # messages since start (a redelivered one counts again)
        self.refused = 0  # of them, sent to the dead letters
        self.committed = 0  # of them, acknowledged after their commit
        self.connections = 0  # sessions made (connected, stream and consumer bound) since start
        self.subscribed = asyncio.Event()  # set while a session is bound to the consumer
        self._trouble: str | None = None  # the failure logged last, until it clears
        self._retry = Backoff(first=FIRST_RETRY_S, cap=cfg.reconnect_max_s)
        self._failing = False  # commits fail: logged once, until one succeeds

    @property
    def connected(self) -> bool:
        """Whether a session is bound to the consumer now."""
        return self.subscribed.is_set()

    async def run(self, sink: Sink) -> None:
        """Deliver to the sink until cancelled, reconnecting with backoff while NATS is away."""
        tls = tls_context(self.cfg)
        backoff = Backoff(first=FIRST_BACKOFF_S, cap=self.cfg.reconnect_max_s)
        while True:
            try:
                await self._session(sink, tls, backoff)
            except (nats.errors.Error, OSError, TimeoutError, Unavailable) as err:
                self._report(err)
            finally:
                self.subscribed.clear()
            await asyncio.sleep(backoff.next())

    async def _session(self, sink: Sink, tls: ssl.SSLContext | None, backoff: Backoff) -> None:
        """One connection: bind to the consumer, then fetch and deliver until it is lost."""
        cfg = self.cfg
        nc = await connect(cfg, name=f"kiln-nats-{cfg.name}-{hostname()}", tls=tls, reconnect=False)
        try:
            js = nc.jetstream(timeout=API_TIMEOUT_S)
            info = await ensure_stream(js, cfg)
            sub = await pull_subscription(js, cfg)
            created = int(info.created.timestamp() * 1000) if info.created else 0
            prefix = f"nats:{cfg.stream}:{created}:"
            self.connections += 1
            self.subscribed.set()
            backoff.reset()
            if self._trouble is not None:
                log.info("%s %s reachable again", self.label, self._where())
                self._trouble = None
            # Up to in_flight fetches at once: the next one is fetched and decoded while the
            # writer commits the last (each message keeps its own identity and ack, so the
            # order in which they commit does not matter).
            busy: set[asyncio.Task[None]] = set()
            try:
                while True:
                    try:
                        msgs = await sub.fetch(cfg.batch, timeout=cfg.fetch_timeout_s)
                    except TimeoutError:  # nats' own, or asyncio's when the deadline is near
                        if nc.is_closed:
                            raise nats.errors.ConnectionClosedError from None
                        await _settle(busy, below=cfg.in_flight + 1)  # nothing arrived
                        continue
                    busy.add(asyncio.create_task(self.deliver(msgs, sink, prefix)))
                    await _settle(busy, below=cfg.in_flight)
            finally:
                # Deliveries still waiting for their commit hand their messages back (nak).
                for task in busy:
                    task.cancel()
                await asyncio.gather(*busy, return_exceptions=True)
        finally:
            await _close(nc)

    def _where(self) -> str:
        return ",".join(self.cfg.servers)

    def _report(self, err: Exception) -> None:
        """Log a failure once when it starts, not on every retry."""
        trouble = f"{type(err).__name__}: {err}"
        if self._trouble is None:
            log.warning(
                "%s %s unreachable or lost (%s); retrying with backoff up to %g s",
                self.label,
                self._where(),
                trouble,
                self.cfg.reconnect_max_s,
            )
        self._trouble = trouble

    # -- one fetch -----------------------------------------------------------------------------

    async def deliver(self, msgs: Sequence[Msg], sink: Sink, prefix: str) -> None:
        """Decode a fetch, commit it in one transaction (an identity per message), then ack.

        A refused message is terminated at once (it is in the dead letters), and one that
        carries nothing to store (an alarm, a cleared retained state) acknowledged at once.
        """
        each = self.decode(msgs, sink)
        await _each(
            msg.term() if i in each.refused else msg.ack()
            for i, msg in enumerate(msgs)
            if i not in each.bundles
        )
        if not each.bundles:
            return
        owners = [msgs[i] for i in each.bundles]
        items: list[tuple[Bundle, str | None]] = [
            (bundle, own_id or f"{prefix}{msg.metadata.sequence.stream}")
            for msg, (bundle, own_id) in zip(owners, each.bundles.values(), strict=True)
        ]
        try:
            await sink.submit_group(items)
        except asyncio.CancelledError:
            # Stopped before the commit answered: hand the messages back at once (if it did
            # commit, their identities are claimed and the next delivery stores nothing).
            await _each(m.nak() for m in owners)
            raise
        except Exception as err:
            await self._not_committed(owners, sink, err)
            return
        self._committed_again()
        await _each(m.ack() for m in owners)
        self.committed += len(owners)

    def decode(self, msgs: Sequence[Msg], sink: Sink) -> DecodedEach:
        """Decode a fetch message by message; refused ones go to the sink's dead letters."""
        catalog, now_ms = sink.catalog, sink.now_ms()
        decoder = BatchDecoder(catalog, now_ms)
        route = self.namespace.route
        for i, msg in enumerate(msgs):
            r = route(msg.subject, catalog)
            if isinstance(r, Refused):
                decoder.refused[i] = r.reason
            else:
                decoder.add(i, r, msg.data)
        each = decoder.finish_each()
        self.received += len(msgs)
        for i in sorted(each.refused):
            msg, reason = msgs[i], each.refused[i]
            ent = route(msg.subject, catalog).enterprise_id
            sink.dead_letter(
                DeadLetter(now_ms, self.label, msg.subject, reason, msg.data[:PAYLOAD_HEAD], ent)
            )
        self.refused += len(each.refused)
        return each

    async def _not_committed(self, msgs: list[Msg], sink: Sink, err: Exception) -> None:
        """Give the messages back to JetStream after a pause that grows while commits fail; a
        message on its last allowed delivery becomes a dead letter instead of vanishing."""
        if not self._failing:
            log.error(
                "%s could not commit %d messages (%s: %s); they are delivered again, after "
                "pauses growing to %g s",
                self.label,
                len(msgs),
                type(err).__name__,
                err,
                self.cfg.reconnect_max_s,
            )
            self._failing = True
        pause = self._retry.next()
        limit = self.cfg.max_deliver
        last = [m for m in msgs if limit > 0 and m.metadata.num_delivered >= limit]
        for msg in last:
            reason = f"not committed after {limit} deliveries: {type(err).__name__}: {err}"
            sink.dead_letter(
                DeadLetter(sink.now_ms(), self.label, msg.subject, reason, msg.data[:PAYLOAD_HEAD])
            )
        gone = {id(m) for m in last}
        await _each(m.term() if id(m) in gone else m.nak(delay=pause) for m in msgs)
        await asyncio.sleep(pause)  # and fetch no more meanwhile: the store is not taking any

    def _committed_again(self) -> None:
        if self._failing:
            log.info("%s commits again", self.label)
            self._failing = False
        self._retry.reset()


async def _settle(busy: set[asyncio.Task[None]], *, below: int) -> None:
    """Wait until fewer than `below` deliveries are busy; a failed one raises here."""
    done = {t for t in busy if t.done()}
    while len(busy) - len(done) >= below:
        finished, _ = await asyncio.wait(busy - done, return_when=asyncio.FIRST_COMPLETED)
        done |= finished
    busy -= done
    for task in done:
        task.result()


async def _each(calls: Iterable[Awaitable[None]]) -> None:
    """Send acks, naks or terms one after the other; a lost connection ends the sending (the
    server delivers the rest again after ack_wait, and their identities make that harmless)."""
    with contextlib.suppress(nats.errors.Error, OSError):
        for call in calls:  # a generator: what is not sent is never made
            await call


async def _close(nc: Client) -> None:
    """Close the connection (flushing the acks), however it ended; never raise."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(2.0):
            await nc.close()
