"""Backoff: how long an adapter waits before trying its peer again."""

from __future__ import annotations


class Backoff:
    """Exponential delays from ``first`` doubling up to ``cap``; `reset` after a success.

    >>> b = Backoff(first=0.5, cap=3.0)
    >>> [b.next() for _ in range(5)]
    [0.5, 1.0, 2.0, 3.0, 3.0]
    >>> b.reset(); b.next()
    0.5
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
        """Start again from the first delay (after a session that worked)."""
        self._delay = self.first
