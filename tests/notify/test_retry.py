"""The retry loop: backoff bounds, Retry-After, and when it stops."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiln.notify.retry import Attempt, Policy, backoff_s, parse_retry_after, with_retries

POLICY = Policy(max_attempts=4, first_backoff_s=0.5, max_backoff_s=3.0)


@given(
    first=st.floats(0.001, 100),
    ceiling=st.floats(0.001, 1000),
    failures=st.integers(1, 60),
    seed=st.integers(0, 2**32),
)
def test_backoff_doubles_to_its_ceiling_and_jitters_into_the_upper_half(
    first: float, ceiling: float, failures: int, seed: int
) -> None:
    policy = Policy(5, min(first, ceiling), ceiling)
    d = min(ceiling, min(first, ceiling) * 2.0 ** (failures - 1))
    assert d / 2 <= backoff_s(policy, failures, random.Random(seed)) <= d


@pytest.mark.parametrize(
    ("header", "now_s", "wait_s"),
    [
        ("3", 0.0, 3.0),
        (" 0 ", 0.0, 0.0),
        ("Thu, 01 Jan 1970 00:01:00 GMT", 30.0, 30.0),
        ("Thu, 01 Jan 1970 00:01:00 GMT", 90.0, 0.0),  # a date past is "now"
        ("in a while", 0.0, None),
        ("-5", 0.0, None),
        (None, 0.0, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(
    header: str | None, now_s: float, wait_s: float | None
) -> None:
    assert parse_retry_after(header, now_s) == wait_s


class _Script:
    """Attempts that end as scripted, and the waits the loop asked for."""

    def __init__(self, *attempts: Attempt) -> None:
        self.attempts = list(attempts)
        self.calls: list[int] = []
        self.waits: list[float] = []

    async def attempt(self, n: int) -> Attempt:
        self.calls.append(n)
        return self.attempts.pop(0)

    async def sleep(self, s: float) -> None:
        self.waits.append(s)


FAIL = Attempt(ok=False, retry=True, status="HTTP 503")


async def test_a_success_after_failures_reports_its_attempt_count() -> None:
    s = _Script(FAIL, FAIL, Attempt(ok=True, status="HTTP 200"))
    out = await with_retries(s.attempt, POLICY, rng=random.Random(1), sleep=s.sleep)
    assert (out.ok, out.attempts, out.status) == (True, 3, "HTTP 200")
    assert s.calls == [1, 2, 3]
    assert 0.25 <= s.waits[0] <= 0.5
    assert 0.5 <= s.waits[1] <= 1.0


async def test_it_gives_up_after_max_attempts_with_the_last_status() -> None:
    s = _Script(*[FAIL] * 4)
    out = await with_retries(s.attempt, POLICY, rng=random.Random(1), sleep=s.sleep)
    assert (out.ok, out.attempts, out.status) == (False, 4, "HTTP 503")
    assert len(s.waits) == 3  # no wait after the last attempt


async def test_a_failure_that_may_not_be_retried_ends_at_once() -> None:
    s = _Script(Attempt(ok=False, retry=False, status="HTTP 400"))
    out = await with_retries(s.attempt, POLICY, rng=random.Random(1), sleep=s.sleep)
    assert (out.ok, out.attempts, out.status) == (False, 1, "HTTP 400")
    assert s.waits == []


async def test_retry_after_lengthens_the_wait() -> None:
    s = _Script(Attempt(ok=False, retry=True, status="HTTP 429", retry_after_s=2.0), FAIL)
    s.attempts.append(Attempt(ok=True))
    await with_retries(s.attempt, POLICY, rng=random.Random(1), sleep=s.sleep)
    assert s.waits[0] == 2.0


async def test_a_retry_after_beyond_max_backoff_gives_up_rather_than_retry_early() -> None:
    s = _Script(Attempt(ok=False, retry=True, status="HTTP 503", retry_after_s=3600.0))
    out = await with_retries(s.attempt, POLICY, rng=random.Random(1), sleep=s.sleep)
    assert (out.ok, out.attempts) == (False, 1)
    assert "Retry-After 3600 s" in out.status
    assert s.waits == []
