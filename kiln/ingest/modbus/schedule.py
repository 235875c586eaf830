"""When to poll and when to retry: fixed poll slots without drift, and capped backoff."""

from __future__ import annotations

import math


def next_slot(previous: float, now: float, period: float) -> float:
    """The first slot after ``previous`` (on its grid of ``period``) that is not yet past.

    Slots missed while a poll ran long are skipped, not made up in a burst.

    >>> next_slot(10.0, 10.3, 1.0)
    11.0
    >>> next_slot(10.0, 12.5, 1.0)
    13.0
    """
    missed = max(0, math.floor((now - previous) / period))
    return previous + (missed + 1) * period


class Backoff:
    """Exponential delays from ``first`` doubling up to ``cap``; `reset` after a success.

    >>> b = Backoff(first=0.5, cap=3.0)
    >>> [b.next() for _ in range(5)]
    [0.5, 1.0, 2.0, 3.0, 3.0]
    """

    def __init__(self, *, first: float, cap: float) -> None:
        self.first, self.cap = min(first, cap), cap
        self._delay = self.first

    def next(self) -> float:
        """The delay to wait now; the following one doubles."""
        delay = self._delay
        self._delay = min(delay * 2, self.cap)
        return delay

    def reset(self) -> None:
        """Start again from the first delay."""
        self._delay = self.first
