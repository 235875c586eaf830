"""When to poll: fixed poll slots without drift (retries wait by kiln.ingest.backoff)."""

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
