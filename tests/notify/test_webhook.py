"""Webhook delivery against a real HTTP receiver (uvicorn in a thread) on a free port."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client import CollectorRegistry

from kiln.notify.payload import verify
from tests.notify.conftest import HttpReceiver, Reply
from tests.notify.events import event
from tests.notify.running import SECRET, hook, notifier, running


def _counted(registry: CollectorRegistry, result: str) -> float | None:
    return registry.get_sample_value(
        "kiln_notifications_total",
        {"channel": "webhook", "target": "notify.webhooks[0]", "result": result},
    )


async def test_two_503s_then_accepted_arrives_with_valid_signatures_and_one_delivery_id(
    receiver: HttpReceiver,
) -> None:
    receiver.script = [Reply(503), Reply(503)]
    registry = CollectorRegistry()
    async with running(notifier(registry, webhooks=[hook(receiver.url)])) as n:
        n.notify([event()])
        await n.flushed()
    assert len(receiver.requests) == 3
    assert len({r.headers["x-kiln-delivery"] for r in receiver.requests}) == 1
    for r in receiver.requests:
        assert verify(
            SECRET, r.headers["x-kiln-timestamp"], r.body, r.headers["x-kiln-signature"], r.wall_s
        )
        assert r.headers["content-type"] == "application/json"
    accepted = json.loads(receiver.requests[-1].body)
    assert (accepted["alarm_id"], accepted["action"], accepted["severity"]) == (
        42,
        "raised",
        "high",
    )
    assert accepted["equipment"]["name"] == "kiln-1"
    assert n.stats()["ops-hook"].sent == 1
    assert n.stats()["ops-hook"].failed == 0
    assert _counted(registry, "sent") == 1
    attempts = {"channel": "webhook", "target": "notify.webhooks[0]"}
    assert registry.get_sample_value("kiln_notification_attempts_total", attempts) == 3


async def test_each_event_gets_its_own_delivery_id(receiver: HttpReceiver) -> None:
    async with running(notifier(webhooks=[hook(receiver.url)])) as n:
        n.notify([event(alarm_id=1), event(alarm_id=2)])
        await n.flushed()
    ids = [r.headers["x-kiln-delivery"] for r in receiver.requests]
    assert len(set(ids)) == 2
    # One worker per target keeps its events in order.
    assert [json.loads(r.body)["alarm_id"] for r in receiver.requests] == [1, 2]


async def test_a_400_is_not_retried_and_the_failure_is_logged_and_counted(
    receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.script = [Reply(400)]
    registry = CollectorRegistry()
    with caplog.at_level(logging.WARNING, logger="kiln.notify"):
        async with running(notifier(registry, webhooks=[hook(receiver.url)])) as n:
            n.notify([event()])
            await n.flushed()
    assert len(receiver.requests) == 1
    assert n.stats()["ops-hook"].failed == 1
    assert _counted(registry, "failed") == 1
    line = next(r.getMessage() for r in caplog.records if "gave up" in r.getMessage())
    assert "webhook ops-hook" in line
    assert "alarm 42 raised" in line
    assert "HTTP 400" in line
    assert "after 1 attempt" in line


async def test_a_receiver_that_is_down_is_given_up_after_max_attempts(
    dead_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    registry = CollectorRegistry()
    with caplog.at_level(logging.WARNING, logger="kiln.notify"):
        async with running(notifier(registry, webhooks=[hook(dead_url, max_attempts=3)])) as n:
            n.notify([event()])
            await n.flushed()
    stats = n.stats()["ops-hook"]
    assert (stats.sent, stats.failed, stats.dropped) == (0, 1, 0)
    assert _counted(registry, "failed") == 1
    attempts = {"channel": "webhook", "target": "notify.webhooks[0]"}
    assert registry.get_sample_value("kiln_notification_attempts_total", attempts) == 3
    assert any("ConnectError" in r.getMessage() for r in caplog.records)


async def test_retry_after_is_honoured_on_429(receiver: HttpReceiver) -> None:
    receiver.script = [Reply(429, {"Retry-After": "1"})]
    async with running(notifier(webhooks=[hook(receiver.url)])) as n:
        n.notify([event()])
        await n.flushed()
    first, second = receiver.requests
    assert second.at_s - first.at_s >= 1.0  # the backoff alone would be 10 ms
    assert n.stats()["ops-hook"].sent == 1


async def test_a_slow_receiver_times_out_and_is_retried(receiver: HttpReceiver) -> None:
    receiver.script = [Reply(200, delay_s=0.6)]
    async with running(notifier(webhooks=[hook(receiver.url, timeout_s=0.2)])) as n:
        n.notify([event()])
        await n.flushed()
    assert len(receiver.requests) == 2
    assert n.stats()["ops-hook"].sent == 1


async def test_configured_headers_are_sent(receiver: HttpReceiver) -> None:
    target = hook(receiver.url, headers={"Authorization": "Bearer abc123"})
    async with running(notifier(webhooks=[target])) as n:
        n.notify([event()])
        await n.flushed()
    assert receiver.requests[0].headers["authorization"] == "Bearer abc123"
