"""The Notifier: filters per target, never blocks, drops what does not fit, drains on stop."""

from __future__ import annotations

import asyncio
import json
import logging
import threading

import pytest
from prometheus_client import CollectorRegistry

from kiln.domain.alarms import AlarmEvent, Severity
from kiln.notify.dispatch import Notifier
from kiln.notify.payload import Names
from kiln.notify.settings import NotifySettings
from tests.notify.conftest import HttpReceiver, Reply
from tests.notify.events import event
from tests.notify.running import hook, notifier, running


async def test_a_low_event_is_not_sent_to_a_high_target(receiver: HttpReceiver) -> None:
    targets = [
        hook(receiver.url, name="high-only", min_severity="high"),
        hook(receiver.url, name="everything"),
    ]
    async with running(notifier(webhooks=targets)) as n:
        n.notify([event(alarm_id=1, severity=Severity.LOW)])
        await n.flushed()
    assert len(receiver.requests) == 1
    assert n.stats()["high-only"].sent == 0
    assert n.stats()["everything"].sent == 1


async def test_enterprise_and_action_filters_pick_what_is_sent(receiver: HttpReceiver) -> None:
    target = hook(receiver.url, enterprises=[3], actions=["raised", "acknowledged"])
    async with running(notifier(webhooks=[target])) as n:
        n.notify(
            [
                event(alarm_id=1),
                event(alarm_id=2, enterprise_id=9),
                event(alarm_id=3, action="cleared"),
                event(alarm_id=4, action="acknowledged"),
            ]
        )
        await n.flushed()
    assert [json.loads(r.body)["alarm_id"] for r in receiver.requests] == [1, 4]


async def test_a_full_queue_drops_counts_and_logs_without_blocking(
    receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    registry = CollectorRegistry()
    n = notifier(registry, queue_size=2, webhooks=[hook(receiver.url)])
    with caplog.at_level(logging.WARNING, logger="kiln.notify"):
        n.notify([event(alarm_id=i) for i in range(5)])  # before run(): nothing is taken yet
    assert n.stats()["ops-hook"].dropped == 3
    labels = {"channel": "webhook", "target": "notify.webhooks[0]", "result": "dropped"}
    assert registry.get_sample_value("kiln_notifications_total", labels) == 3
    assert sum("dropping notifications" in r.getMessage() for r in caplog.records) == 1
    with caplog.at_level(logging.INFO, logger="kiln.notify"):
        async with running(n):
            await n.flushed()
            n.notify([event(alarm_id=9)])
            await n.flushed()
    assert [json.loads(r.body)["alarm_id"] for r in receiver.requests] == [0, 1, 9]
    assert sum("has room again" in r.getMessage() for r in caplog.records) == 1


async def test_each_target_gets_its_own_delivery_id_for_one_event(receiver: HttpReceiver) -> None:
    targets = [hook(receiver.url, name="a"), hook(receiver.url, name="b")]
    async with running(notifier(webhooks=targets)) as n:
        n.notify([event()])
        await n.flushed()
    assert len({r.headers["x-kiln-delivery"] for r in receiver.requests}) == 2
    assert {json.loads(r.body)["id"] for r in receiver.requests} == {"42:raised:1764239489000"}


async def test_stopping_drains_what_is_queued(receiver: HttpReceiver) -> None:
    n = notifier(webhooks=[hook(receiver.url)])
    async with running(n):
        n.notify([event(alarm_id=i) for i in range(3)])
    assert len(receiver.requests) == 3
    assert n.stats()["ops-hook"].sent == 3


async def test_what_is_left_at_the_drain_deadline_is_counted_as_dropped(
    receiver: HttpReceiver,
) -> None:
    receiver.script = [Reply(200, delay_s=1.0)]
    n = notifier(drain_s=0.2, webhooks=[hook(receiver.url, timeout_s=5)])
    async with running(n):
        n.notify([event(alarm_id=i) for i in range(3)])
        await asyncio.sleep(0.05)  # let the first request reach the slow receiver
    stats = n.stats()["ops-hook"]
    assert (stats.sent, stats.dropped) == (0, 3)
    n.notify([event()])  # after stop: counted, not queued
    assert n.stats()["ops-hook"].dropped == 4


async def test_notify_from_another_thread_is_delivered(receiver: HttpReceiver) -> None:
    async with running(notifier(webhooks=[hook(receiver.url)])) as n:
        await asyncio.sleep(0)  # run() has taken its loop
        thread = threading.Thread(target=n.notify, args=([event(alarm_id=5)],))
        thread.start()
        await asyncio.to_thread(thread.join)
        await asyncio.sleep(0)  # the hand-over is scheduled on the loop
        await n.flushed()
    assert [json.loads(r.body)["alarm_id"] for r in receiver.requests] == [5]


async def test_notify_returns_at_once_while_a_target_is_slow(receiver: HttpReceiver) -> None:
    receiver.script = [Reply(200, delay_s=0.5)]
    async with running(notifier(webhooks=[hook(receiver.url)])) as n:
        n.notify([event(alarm_id=1)])
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        n.notify([event(alarm_id=i) for i in range(2, 50)])
        assert loop.time() - started < 0.1
        await n.flushed()
    assert n.stats()["ops-hook"].sent == 49


async def test_a_describe_that_fails_falls_back_to_ids(receiver: HttpReceiver) -> None:
    def broken(ev: AlarmEvent) -> Names:
        raise KeyError(ev.equipment_id)

    settings = NotifySettings.model_validate({"webhooks": [hook(receiver.url)]})
    async with running(Notifier(settings, broken)) as n:
        n.notify([event()])
        await n.flushed()
    body = json.loads(receiver.requests[0].body)
    assert body["equipment"] == {"id": 7, "name": "equipment 7", "path": body["equipment"]["path"]}
    assert n.stats()["ops-hook"].sent == 1


def test_a_notifier_without_targets_takes_events_and_does_nothing() -> None:
    n = notifier()
    n.notify([event()])
    assert n.stats() == {}
