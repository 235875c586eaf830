"""A flood of refused messages is counted, not logged line by line."""

from __future__ import annotations

import logging

import pytest

from kiln.domain.dead_letters import DeadLetter
from kiln.pipeline import RefusalLog


def letter(adapter: str, n: int) -> DeadLetter:
    return DeadLetter(0, adapter, f"topic/{n}", "ts: bad", b"{}", None)


def test_refusals_past_the_rate_are_counted_and_reported_the_next_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limiter = RefusalLog(per_minute=3)
    with caplog.at_level(logging.INFO, logger="kiln.pipeline"):
        for n in range(10):
            limiter.refused(letter("mqtt:a", n), now_ms=1_000 + n)
        limiter.refused(letter("nats:b", 0), now_ms=2_000)  # another adapter has its own rate
        limiter.refused(letter("mqtt:a", 99), now_ms=61_000)  # the next minute
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:3] == [f"refused mqtt:a from topic/{n}: ts: bad" for n in range(3)]
    assert lines[3] == "refused nats:b from topic/0: ts: bad"
    assert "mqtt:a: 7 more refusals" in lines[4]
    assert lines[5] == "refused mqtt:a from topic/99: ts: bad"
    assert len(lines) == 6
