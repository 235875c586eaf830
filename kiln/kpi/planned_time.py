"""Planned time: where each equipment's planned operation time (POT) lies, and its planned down
time (PDOT) inside it, as columns; and how much of any stretch of time falls in each.

A shift calendar produces a `PlannedTime` for a site; `EquipmentPlan` hands it to the equipment
of that site. Time outside every piece is outside POT (domain.md 1.1: only TEEP sees it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.kpi.interval_sets import I64, Ranked, check_intervals, clip, rank_of, resolve

BOOL = NDArray[np.bool_]
F64 = NDArray[np.float64]
_BUSY, _DOWN = 1, 2  # levels: planned down time wins where it overlaps planned busy time


@dataclass(frozen=True, slots=True)
class PlannedTime:
    """Pieces of POT in time order: each either planned down (PDOT) or planned busy (PBT)."""

    start_ms: I64
    end_ms: I64
    planned_down: BOOL

    @classmethod
    def of(cls, pieces: Sequence[tuple[int, int, bool]]) -> PlannedTime:
        """Build from (start_ms, end_ms, planned_down) tuples.

        >>> PlannedTime.of([(0, 10, False), (10, 12, True)]).pot_ms
        12
        """
        cols = list(zip(*pieces, strict=True)) if pieces else [(), (), ()]
        return cls(
            np.array(cols[0], dtype=np.int64),
            np.array(cols[1], dtype=np.int64),
            np.array(cols[2], dtype=bool),
        )

    @classmethod
    def always(cls, start_ms: int, end_ms: int) -> PlannedTime:
        """Planned busy all the time: equipment that runs around the clock."""
        return cls.of([(start_ms, end_ms, False)])

    @property
    def pot_ms(self) -> int:
        """Total planned operation time."""
        return int((self.end_ms - self.start_ms).sum())

    @property
    def pdot_ms(self) -> int:
        """Total planned down time."""
        return int((self.end_ms - self.start_ms)[self.planned_down].sum())

    def __len__(self) -> int:
        return len(self.start_ms)


@dataclass(frozen=True, slots=True)
class EquipmentPlan:
    """Planned-time pieces per equipment, in any order; overlapping pieces are allowed."""

    equipment: I64
    start_ms: I64
    end_ms: I64
    planned_down: BOOL

    @classmethod
    def broadcast(cls, equipment: Sequence[int] | I64, planned: PlannedTime) -> EquipmentPlan:
        """The same planned time for every equipment given (e.g. all of one site)."""
        ids = np.asarray(equipment, dtype=np.int64)
        n = len(planned)
        return cls(
            np.repeat(ids, n),
            np.tile(planned.start_ms, len(ids)),
            np.tile(planned.end_ms, len(ids)),
            np.tile(planned.planned_down, len(ids)),
        )

    @classmethod
    def concat(cls, plans: Sequence[EquipmentPlan]) -> EquipmentPlan:
        """Join plans (e.g. one per site)."""
        if not plans:
            z = np.zeros(0, dtype=np.int64)
            return cls(z, z, z, np.zeros(0, dtype=bool))
        return cls(
            np.concatenate([p.equipment for p in plans]),
            np.concatenate([p.start_ms for p in plans]),
            np.concatenate([p.end_ms for p in plans]),
            np.concatenate([p.planned_down for p in plans]),
        )


@dataclass(frozen=True, slots=True)
class CalendarMeasure:
    """Cumulative POT, PDOT and PBT per equipment rank, to measure any [a, b) of any rank.

    Each is a continuous piecewise-linear function of the key `rank * span + (t - origin)`,
    cumulated over the ranks in turn (so the difference of two lookups of one rank counts only
    that rank's pieces), given by its values where a piece starts or ends. `np.interp` evaluates
    it in one pass over the queries, fastest when they are sorted (as runs are), and exactly:
    keys and sums are integers far below 2**53.
    """

    origin_ms: int
    span_ms: int
    key: F64
    pot_at: F64
    pdot_at: F64
    pbt_at: F64
    pot_total_ms: I64
    pdot_total_ms: I64

    @classmethod
    def build(cls, plan: EquipmentPlan, ids: I64, start_ms: int, end_ms: int) -> CalendarMeasure:
        """Index the plan of the ranked equipment ids over the window [start_ms, end_ms)."""
        check_intervals(plan.start_ms, plan.end_ms, where="planned time")
        rank, known = rank_of(ids, plan.equipment)
        level = np.where(plan.planned_down, _DOWN, _BUSY).astype(np.int8)
        rows = Ranked(rank[known], plan.start_ms[known], plan.end_ms[known], level[known])
        span = end_ms - start_ms + 1
        rows = resolve(clip(rows, start_ms, end_ms), span)
        length = rows.end_ms - rows.start_ms
        down = length * (rows.level == _DOWN)
        key_start = rows.rank * span + (rows.start_ms - start_ms)
        # Breakpoints: each piece's start and end, with the sums before and after it. Where
        # one piece ends as the next starts both points agree, and one is dropped (interp
        # wants strictly increasing keys).
        key = _interleave(key_start, key_start + length)
        pot = _interleave(_before(length), np.cumsum(length))
        pdot = _interleave(_before(down), np.cumsum(down))
        keep = np.ones(len(key), dtype=bool)
        keep[1:] = key[1:] != key[:-1]
        if not len(key):  # no planned time at all: every sum is 0 everywhere
            key = pot = pdot = np.zeros(1, dtype=np.int64)
            keep = np.ones(1, dtype=bool)
        return cls(
            origin_ms=start_ms,
            span_ms=span,
            key=key[keep].astype(np.float64),
            pot_at=pot[keep].astype(np.float64),
            pdot_at=pdot[keep].astype(np.float64),
            pbt_at=(pot - pdot)[keep].astype(np.float64),
            pot_total_ms=_per_rank(rows.rank, length, len(ids)),
            pdot_total_ms=_per_rank(rows.rank, down, len(ids)),
        )

    def _key(self, rank: I64, t_ms: I64) -> F64:
        """Where each (rank, time) lies on the functions' axis; built in place, in float64
        (exact for these integers) as interp wants it."""
        x = rank.astype(np.float64)
        x *= self.span_ms
        x += t_ms
        x -= self.origin_ms
        return x

    def pbt_before(self, rank: I64, t_ms: I64) -> F64:
        """PBT of each rank's calendar before t_ms (cumulated; only differences of one rank
        mean anything), as exact float64."""
        return np.interp(self._key(rank, t_ms), self.key, self.pbt_at)

    def pdot_before(self, rank: I64, t_ms: I64) -> F64:
        """PDOT of each rank's calendar before t_ms, like `pbt_before`."""
        return np.interp(self._key(rank, t_ms), self.key, self.pdot_at)

    def pot_before(self, rank: I64, t_ms: I64) -> F64:
        """POT of each rank's calendar before t_ms, like `pbt_before`."""
        return np.interp(self._key(rank, t_ms), self.key, self.pot_at)

    def upto(self, rank: I64, t_ms: I64) -> tuple[I64, I64]:
        """POT and PDOT of each rank's calendar before t_ms (globally cumulated; difference two)."""
        x = self._key(rank, t_ms)
        pot, pdot = np.interp(x, self.key, self.pot_at), np.interp(x, self.key, self.pdot_at)
        return _exact(pot), _exact(pdot)

    def split(self, rank: I64, start_ms: I64, end_ms: I64) -> tuple[I64, I64, I64]:
        """The outside-POT, PDOT and PBT milliseconds of each interval [start_ms, end_ms).

        >>> plan = EquipmentPlan.broadcast([5], PlannedTime.of([(10, 20, False), (20, 30, True)]))
        >>> m = CalendarMeasure.build(plan, np.array([5]), 0, 100)
        >>> [a.tolist() for a in m.split(np.array([0]), np.array([0]), np.array([25]))]
        [[10], [5], [10]]
        """
        pot_a, pdot_a = self.upto(rank, start_ms)
        pot_b, pdot_b = self.upto(rank, end_ms)
        pot, pdot = pot_b - pot_a, pdot_b - pdot_a
        return (end_ms - start_ms) - pot, pdot, pot - pdot


def _interleave(a: I64, b: I64) -> I64:
    """a[0], b[0], a[1], b[1], ..."""
    out = np.empty(2 * len(a), dtype=np.int64)
    out[0::2], out[1::2] = a, b
    return out


def _before(length: I64) -> I64:
    """Sum of the lengths before each piece."""
    out = np.zeros(len(length), dtype=np.int64)
    if len(length) > 1:
        out[1:] = np.cumsum(length[:-1])
    return out


def _exact(x: F64) -> I64:
    """Integer-valued float64 (sums of milliseconds) back to int64."""
    return np.rint(x).astype(np.int64)


def _per_rank(rank: I64, value: I64, n: int) -> I64:
    """value summed per rank 0..n-1 (exact: milliseconds stay far below 2**53)."""
    return np.rint(np.bincount(rank, weights=value, minlength=n)).astype(np.int64)
