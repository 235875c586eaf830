"""E-mail delivery against a real SMTP server (aiosmtpd in a thread) on a free port."""

from __future__ import annotations

import logging
from dataclasses import replace
from email import message_from_bytes
from email.message import Message
from email.policy import default
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry

from kiln.domain.alarms import Severity
from kiln.notify.email import body, subject
from tests.notify.conftest import SmtpReceiver
from tests.notify.events import describe, event
from tests.notify.running import mail, notifier, running

SUBJECT = "[Kiln HIGH] raised: kiln-1 firing_temp 1,212 °C above 1,200 °C"


def _parsed(envelope: object) -> Message:
    return message_from_bytes(envelope.original_content, policy=default)  # type: ignore[attr-defined]


def test_subject_names_severity_action_equipment_and_message() -> None:
    assert subject(event(), describe(event())) == SUBJECT


def test_a_long_or_multiline_message_keeps_the_subject_to_one_short_line() -> None:
    ev = event(message="first line\n" + "x" * 500)
    assert subject(ev, describe(ev)) == "[Kiln HIGH] raised: kiln-1 first line"
    long = event(message="y" * 500)
    assert len(subject(long, describe(long))) == 160
    assert subject(long, describe(long)).endswith("…")


def test_body_says_what_happened_in_the_factorys_time_zone() -> None:
    ev = replace(event(action="acknowledged"), who="alice", comment="checking the burner")
    text = body(ev, describe(ev), ZoneInfo("Asia/Shanghai"))
    assert text.startswith(
        "kiln-1 (Acme Ceramics): alarm acknowledged at 2025-11-27 18:31:29 CST.\n"
    )
    assert "firing_temp 1,212 °C above 1,200 °C" in text
    assert "Equipment:  acme-ceramics/plant-1/line-2/kiln-1" in text
    assert "By:         alice" in text
    assert "Comment:    checking the burner" in text


async def test_the_mail_arrives_with_subject_recipients_and_body(smtp: SmtpReceiver) -> None:
    async with running(notifier(email=[mail(smtp.port)])) as n:
        n.notify([event()])
        await n.flushed()
    (envelope,) = smtp.accepted
    assert envelope.mail_from == "kiln@plant.example.com"
    assert envelope.rcpt_tos == ["lead@plant.example.com", "upkeep@plant.example.com"]
    msg = _parsed(envelope)
    assert msg["Subject"] == SUBJECT
    assert msg["To"] == "lead@plant.example.com, upkeep@plant.example.com"
    text = msg.get_content()
    assert "kiln-1 (Acme Ceramics): alarm raised at 2025-11-27 10:31:29 UTC." in text
    assert "Severity:   high" in text
    assert n.stats()["shift-leads"].sent == 1


async def test_a_refusing_server_is_retried_then_given_up(
    smtp: SmtpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    smtp.refuse = 99
    registry = CollectorRegistry()
    with caplog.at_level(logging.WARNING, logger="kiln.notify"):
        async with running(notifier(registry, email=[mail(smtp.port, max_attempts=3)])) as n:
            n.notify([event()])
            await n.flushed()
    assert smtp.attempts == 3
    assert smtp.accepted == []
    assert n.stats()["shift-leads"].failed == 1
    labels = {"channel": "email", "target": "notify.email[0]", "result": "failed"}
    assert registry.get_sample_value("kiln_notifications_total", labels) == 1
    line = next(r.getMessage() for r in caplog.records if "gave up" in r.getMessage())
    assert "email shift-leads" in line
    assert "alarm 42 raised" in line
    assert "SMTP 554" in line


async def test_a_refusal_then_acceptance_delivers_one_mail(smtp: SmtpReceiver) -> None:
    smtp.refuse = 1
    async with running(notifier(email=[mail(smtp.port)])) as n:
        n.notify([event()])
        await n.flushed()
    assert smtp.attempts == 2
    assert len(smtp.accepted) == 1
    assert n.stats()["shift-leads"].sent == 1


async def test_a_server_that_is_down_is_given_up(smtp: SmtpReceiver) -> None:
    from tests.mosquitto import free_port

    async with running(notifier(email=[mail(free_port(), max_attempts=2)])) as n:
        n.notify([event()])
        await n.flushed()
    assert n.stats()["shift-leads"].failed == 1


async def test_a_low_event_is_not_mailed_to_a_high_target(smtp: SmtpReceiver) -> None:
    async with running(notifier(email=[mail(smtp.port, min_severity="high")])) as n:
        n.notify([event(alarm_id=1, severity=Severity.LOW), event(alarm_id=2)])
        await n.flushed()
    assert [_parsed(e)["X-Kiln-Event"] for e in smtp.accepted] == ["2:raised:1764239489000"]
