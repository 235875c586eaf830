"""The Detector interface, and the per-series bookkeeping every detector shares.

A detector keeps its state per series in NumPy arrays, one row per series. A batch with one
point for each of many series is one vectorised step over those rows; a batch with several
points of a series is cut into steps by rank (every series' first point, then every series'
second point, ...), so each series still sees its points in time order and nothing looks ahead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from kiln.errors import BadInput

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
A = TypeVar("A", bound=NDArray[Any])
# One step: (state rows, ts_ms, value) of points of distinct series -> columns for them.
Step = Callable[[I64, I64, F64], tuple[F64, ...]]


class Detector(Protocol):
    """Learns each series' normal behaviour online and scores how abnormal each point is."""

    def score_many(self, series: I64, ts_ms: I64, value: F64) -> F64:
        """Score each point in [0, 1] (0 normal, towards 1 abnormal), learning as it goes.

        Contract: each point is scored against what its series showed before it (no look-ahead),
        then learned from; the points of one series are taken in time order; NaN values score
        0 and are not learned. The result has one score per point, in the batch's order.
        """
        ...


def z_to_score(z: F64) -> F64:
    """Map a deviation in sigmas to a score in [0, 1): 0.5 at 3 sigma, 0.75 at 9.

    >>> z_to_score(np.array([0.0, 3.0, -9.0])).tolist()
    [0.0, 0.5, 0.75]
    """
    a = np.abs(z)
    return np.asarray(a / (a + 3.0), dtype=np.float64)


def score_to_z(score: float) -> float:
    """The deviation in sigmas that `z_to_score` maps to score.

    >>> score_to_z(0.5)
    3.0
    """
    return 3.0 * score / (1.0 - score)


class SeriesRows:
    """Series id to state row, growing as new series appear (looked up in bulk)."""

    def __init__(self) -> None:
        self._ids = np.zeros(0, dtype=np.int64)  # sorted
        self._rows = np.zeros(0, dtype=np.int64)  # row of each sorted id
        self.count = 0

    def rows_of(self, series: I64) -> tuple[I64, int]:
        """The row of each series id, giving new ids new rows; and how many rows exist now."""
        if len(self._ids):
            pos = np.minimum(np.searchsorted(self._ids, series), len(self._ids) - 1)
            known = self._ids[pos] == series
            if known.all():
                return self._rows[pos], self.count
            fresh = np.unique(series[~known])
        else:
            fresh = np.unique(series)
        rows = np.concatenate(
            [self._rows, np.arange(self.count, self.count + len(fresh), dtype=np.int64)]
        )
        self.count += len(fresh)
        ids = np.concatenate([self._ids, fresh])
        order = np.argsort(ids, kind="stable")
        self._ids, self._rows = ids[order], rows[order]
        pos = np.searchsorted(self._ids, series)
        return self._rows[pos], self.count


def grow(a: A, size: int, fill: float) -> A:
    """a extended with fill to at least size rows (doubling, so growth is amortised)."""
    if len(a) >= size:
        return a
    out = np.full(max(size, 2 * len(a), 64), fill, dtype=a.dtype)
    out[: len(a)] = a
    return out  # type: ignore[return-value]


def check_columns(series: I64, ts_ms: I64, value: F64) -> None:
    """Raise BadInput unless the three columns have equal lengths."""
    if not (len(series) == len(ts_ms) == len(value)):
        raise BadInput(
            f"columns differ in length: series {len(series)}, ts_ms {len(ts_ms)}, "
            f"value {len(value)}",
            where="detector",
        )


def run_in_order(rows: I64, ts_ms: I64, value: F64, step: Step, width: int) -> list[F64]:
    """Call step once per rank of points within their series, in time order; gather its columns.

    step returns `width` columns for the points it is given; with one point per series this is a
    single call on the whole batch.
    """
    n = len(rows)
    if n and len(np.unique(rows)) == n:
        return list(step(rows, ts_ms, value))
    out = [np.zeros(n, dtype=np.float64) for _ in range(width)]
    if n == 0:
        return out
    order = np.lexsort((ts_ms, rows))
    r = rows[order]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    by_rank = order[np.argsort(rank, kind="stable")]
    bounds = np.r_[0, np.cumsum(np.bincount(rank))]
    for k in range(len(bounds) - 1):
        idx = by_rank[bounds[k] : bounds[k + 1]]
        for col, part in zip(out, step(rows[idx], ts_ms[idx], value[idx]), strict=True):
            col[idx] = part
    return out
