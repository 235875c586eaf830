"""Retrying one delivery: exponential backoff with jitter, a Retry-After that is honoured, and
a last outcome that says how it ended. Shared by webhooks and e-mail."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one attempt ended: delivered, or failed and whether another attempt may help."""

    ok: bool
    retry: bool = False
    status: str = ""  # "HTTP 503", "SMTP 554", "timeout", "connection refused"…
    retry_after_s: float | None = None  # the peer asked to wait this long


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a delivery ended, after all its attempts."""

    ok: bool
    attempts: int
    status: str  # of the last attempt


@dataclass(frozen=True, slots=True)
class Policy:
    """How many attempts, and how long to wait between them."""

    max_attempts: int
    first_backoff_s: float
    max_backoff_s: float


def backoff_s(policy: Policy, failures: int, rng: random.Random) -> float:
    """The wait after the n-th failure: first x 2^(n-1), capped, then jittered into [d/2, d].

    Jitter keeps many notifiers that failed together from retrying together.

    >>> p = Policy(max_attempts=5, first_backoff_s=1.0, max_backoff_s=6.0)
    >>> [backoff_s(p, n, random.Random(0)) <= d for n, d in [(1, 1), (2, 2), (3, 4), (4, 6)]]
    [True, True, True, True]
    """
    ceiling = min(policy.max_backoff_s, policy.first_backoff_s * 2.0 ** (failures - 1))
    return ceiling / 2 + rng.random() * ceiling / 2


def parse_retry_after(value: str | None, now_s: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date, RFC 9110).

    >>> parse_retry_after("2", 0), parse_retry_after("Thu, 01 Jan 1970 00:00:30 GMT", 10.0)
    (2.0, 20.0)
    >>> parse_retry_after("soon", 0) is None
    True
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_s)


async def with_retries(
    attempt: Callable[[int], Awaitable[Attempt]],
    policy: Policy,
    *,
    rng: random.Random,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Outcome:
    """Call attempt(1), attempt(2)… until one succeeds, one may not be retried, or the attempts
    run out; wait a jittered backoff in between, or longer when the peer asked for it.

    A Retry-After above the policy's max_backoff_s ends the delivery rather than be cut short:
    retrying sooner than the peer asked would only be refused again.
    """
    last = Attempt(ok=False, status="not attempted")
    for n in range(1, policy.max_attempts + 1):
        last = await attempt(n)
        if last.ok:
            return Outcome(ok=True, attempts=n, status=last.status)
        if not last.retry or n == policy.max_attempts:
            return Outcome(ok=False, attempts=n, status=last.status)
        wait = backoff_s(policy, n, rng)
        if last.retry_after_s is not None:
            if last.retry_after_s > policy.max_backoff_s:
                status = f"{last.status}, Retry-After {last.retry_after_s:g} s > max_backoff_s"
                return Outcome(ok=False, attempts=n, status=status)
            wait = max(wait, last.retry_after_s)
        await sleep(wait)
    return Outcome(ok=False, attempts=policy.max_attempts, status=last.status)
