"""Clocks: the system's, and a manual one that tests move by hand."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Where Kiln reads the time; always UTC epoch milliseconds."""

    def now_ms(self) -> int:
        """Return the current time as UTC epoch milliseconds."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now_ms(self) -> int:
        """Return the wall-clock time as UTC epoch milliseconds."""
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to.

    >>> c = ManualClock(1_000)
    >>> c.advance(500)
    >>> c.now_ms()
    1500
    """

    def __init__(self, start_ms: int) -> None:
        self._now_ms = start_ms

    def now_ms(self) -> int:
        """Return the time last set."""
        return self._now_ms

    def advance(self, delta_ms: int) -> None:
        """Move the clock forward by delta_ms."""
        if delta_ms < 0:
            raise ValueError("a clock does not go backwards")
        self._now_ms += delta_ms
