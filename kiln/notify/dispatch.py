"""The Notifier: takes alarm events without ever blocking the caller, and delivers each to the
targets whose filter accepts it, one queue and one worker per target.

One worker per target keeps a target's notifications in order (a "cleared" never overtakes its
"raised") and keeps a slow or dead target from delaying the others. Queues are bounded: when
one is full, what does not fit is dropped, counted and logged, because notifications are a
notice of the alarm history, which is the record, and must never hold up alarm processing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx
from prometheus_client import CollectorRegistry

from kiln.domain.alarms import AlarmEvent
from kiln.notify.email import EmailChannel
from kiln.notify.metrics import NotifyMetrics
from kiln.notify.payload import Describe, Names, event_id, fallback_names
from kiln.notify.retry import Outcome
from kiln.notify.settings import EmailTarget, NotifySettings, WebhookTarget
from kiln.notify.webhook import USER_AGENT, WebhookChannel

log = logging.getLogger(__name__)


class Channel(Protocol):
    """Delivers events to one target, retrying as its settings say."""

    kind: str

    async def send(self, event: AlarmEvent, names: Names, delivery_id: str) -> Outcome:
        """Deliver one event; return how it ended after all attempts (never raise for a
        failure of the peer)."""
        ...


@dataclass(frozen=True, slots=True)
class TargetStats:
    """What became of one target's notifications since the notifier was made."""

    channel: str  # webhook or email
    sent: int
    failed: int  # given up after max_attempts, or refused for good
    dropped: int  # queue full, or still queued when the notifier stopped


@dataclass(frozen=True, slots=True)
class _Job:
    event: AlarmEvent
    delivery_id: str  # one per event and target, the same on every attempt


class _Lane:
    """One target: its queue and tallies."""

    def __init__(
        self, channel: str, key: str, target: WebhookTarget | EmailTarget, size: int
    ) -> None:
        self.channel, self.key, self.target = channel, key, target
        self.queue: asyncio.Queue[_Job] = asyncio.Queue(maxsize=size)
        self.sent = self.failed = self.dropped = 0
        self.dropping = False  # logged once when drops start, once when they stop
        self.busy = False

    def label(self) -> str:
        return f"{self.channel} {self.target.name}"


class Notifier:
    """Alarm notifications by webhook and e-mail; `notify` queues, `run` delivers."""

    def __init__(
        self,
        settings: NotifySettings,
        describe: Describe,
        *,
        registry: CollectorRegistry | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.describe = describe
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.metrics = NotifyMetrics(registry or CollectorRegistry())
        self._lanes = [
            _Lane("webhook", f"notify.webhooks[{i}]", t, settings.queue_size)
            for i, t in enumerate(settings.webhooks)
        ] + [
            _Lane("email", f"notify.email[{i}]", t, settings.queue_size)
            for i, t in enumerate(settings.email)
        ]
        self.metrics.declare((lane.channel, lane.key) for lane in self._lanes)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False

    def notify(self, events: Sequence[AlarmEvent]) -> None:
        """Queue events for every target that accepts them; return at once.

        Safe from the event loop that runs `run` and from other threads. What does not fit in
        a target's queue is dropped and counted.
        """
        loop = self._loop
        if loop is not None and not loop.is_closed() and _running_loop() is not loop:
            loop.call_soon_threadsafe(self._enqueue, list(events))
        else:
            self._enqueue(events)

    def _enqueue(self, events: Sequence[AlarmEvent]) -> None:
        for lane in self._lanes:
            dropped = queued = 0
            for event in events:
                if not lane.target.accepts(event):
                    continue
                if self._stopped:
                    dropped += 1
                    continue
                try:
                    lane.queue.put_nowait(_Job(event, uuid.uuid4().hex))
                    queued += 1
                except asyncio.QueueFull:
                    dropped += 1
            if dropped:
                self._dropped(lane, dropped)
            elif queued and lane.dropping:
                lane.dropping = False
                log.info("notify %s: queue has room again", lane.label())

    def _dropped(self, lane: _Lane, n: int) -> None:
        lane.dropped += n
        self.metrics.count(lane.channel, lane.key, "dropped", n)
        if not lane.dropping:
            lane.dropping = True
            why = "the notifier has stopped" if self._stopped else "its queue is full"
            log.warning("notify %s: dropping notifications, %s (%d so far)", lane.label(), why, n)

    async def run(self) -> None:
        """Deliver queued notifications until cancelled; then let what is queued go out for at
        most ``drain_s`` seconds, and count what is left as dropped. Runs once per Notifier."""
        if self._loop is not None:
            raise RuntimeError("Notifier.run() runs once; make a new Notifier to start again")
        self._loop = asyncio.get_running_loop()
        async with httpx.AsyncClient(headers={"User-Agent": USER_AGENT}) as client:
            workers = [
                asyncio.create_task(self._work(lane, self._channel(lane, client)))
                for lane in self._lanes
            ]
            try:
                await asyncio.Event().wait()
            finally:
                await self._drain(workers)

    def _channel(self, lane: _Lane, client: httpx.AsyncClient) -> Channel:
        if isinstance(lane.target, WebhookTarget):
            return WebhookChannel(lane.target, client, rng=self.rng, sleep=self.sleep)
        return EmailChannel(lane.target, rng=self.rng, sleep=self.sleep)

    async def _drain(self, workers: list[asyncio.Task[None]]) -> None:
        joins = [asyncio.create_task(lane.queue.join()) for lane in self._lanes]
        if joins and self.settings.drain_s > 0:
            await asyncio.wait(joins, timeout=self.settings.drain_s)
        for task in [*workers, *joins]:
            task.cancel()
        await asyncio.gather(*workers, *joins, return_exceptions=True)
        self._stopped = True
        for lane in self._lanes:
            left = lane.queue.qsize() + lane.busy
            while not lane.queue.empty():
                lane.queue.get_nowait()
            for _ in range(left):
                lane.queue.task_done()
            lane.busy = False
            if left:
                self._dropped(lane, left)

    async def _work(self, lane: _Lane, channel: Channel) -> None:
        while True:
            job = await lane.queue.get()
            lane.busy = True
            # Cancelled mid-delivery, busy stays set: _drain counts that job as dropped.
            await self._deliver(lane, channel, job)
            lane.busy = False
            lane.queue.task_done()

    async def _deliver(self, lane: _Lane, channel: Channel, job: _Job) -> None:
        event = job.event
        try:
            outcome = await channel.send(event, self._names(event), job.delivery_id)
        except Exception:
            # A bug in one delivery must not stop the target's worker; the log has the trace.
            log.exception("notify %s: delivering %s failed", lane.label(), event_id(event))
            outcome = Outcome(ok=False, attempts=1, status="error in Kiln")
        self.metrics.tried(lane.channel, lane.key, outcome.attempts)
        if outcome.ok:
            lane.sent += 1
            self.metrics.count(lane.channel, lane.key, "sent")
            return
        lane.failed += 1
        self.metrics.count(lane.channel, lane.key, "failed")
        log.warning(
            "notify %s: gave up on alarm %d %s (event %s, delivery %s) after %d attempt(s): %s",
            lane.label(),
            event.alarm_id,
            event.action,
            event_id(event),
            job.delivery_id,
            outcome.attempts,
            outcome.status,
        )

    def _names(self, event: AlarmEvent) -> Names:
        try:
            return self.describe(event)
        except Exception:
            log.warning("notify: cannot name the assets of %s", event_id(event), exc_info=True)
            return fallback_names(event)

    async def flushed(self) -> None:
        """Return once every notification queued so far is sent, failed or dropped."""
        await asyncio.gather(*(lane.queue.join() for lane in self._lanes))

    def stats(self) -> dict[str, TargetStats]:
        """Sent, failed and dropped notifications per target name."""
        return {
            lane.target.name: TargetStats(lane.channel, lane.sent, lane.failed, lane.dropped)
            for lane in self._lanes
        }


def _running_loop() -> asyncio.AbstractEventLoop | None:
    with contextlib.suppress(RuntimeError):
        return asyncio.get_running_loop()
    return None
