"""Ideal cycle time (PRI, planned run time per item) per equipment and product, over time.

PRI is a step function per equipment: from `valid_from_ms` on, one unit ideally takes `pri_s`
seconds, until the equipment's next step. A step comes from a product change (a new order or
recipe) or a new rate for a product. A window with a product change gets sum(PRI_k * PQ_k)
(domain.md 1.5 step 5) from the counts. NaN means no ideal cycle is known: Kiln never invents
one (domain.md 1.6), so effectiveness and OEE stay undefined for that output.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.domain.catalog import AssetCatalog
from kiln.domain.templates import TEMPLATES
from kiln.errors import BadInput
from kiln.kpi.interval_sets import I64

F64 = NDArray[np.float64]
EPOCH_MS = 0  # "always": steps valid from the epoch on
_TS_BITS = 43  # 2**43 ms reaches the year 2248
_MAX_RANKS = 1 << (63 - _TS_BITS)


@dataclass(frozen=True, slots=True)
class ProductRun:
    """From start_ms on (until its next run) the equipment makes this product."""

    equipment: int
    start_ms: int
    product: str


@dataclass(frozen=True, slots=True)
class ProductCycle:
    """The ideal cycle of a product from valid_from_ms on; on one equipment, or on any (None)."""

    product: str
    pri_s: float
    valid_from_ms: int = EPOCH_MS
    equipment: int | None = None


@dataclass(frozen=True, slots=True)
class IdealCycles:
    """PRI steps sorted by (equipment, valid_from_ms); before its first step PRI is unknown."""

    equipment: I64
    valid_from_ms: I64
    pri_s: F64

    def __post_init__(self) -> None:
        if len(np.unique(self.equipment)) >= _MAX_RANKS:
            raise BadInput("too many equipment for one PRI table", where="ideal cycles")

    @classmethod
    def of(cls, steps: Iterable[tuple[int, int, float | None]]) -> IdealCycles:
        """From (equipment, valid_from_ms, pri_s or None) rows, in any order.

        >>> c = IdealCycles.of([(1, 0, 30.0), (1, 1_000, 20.0)])
        >>> c.at(np.array([1, 1, 2]), np.array([999, 1_000, 5])).tolist()
        [30.0, 20.0, nan]
        """
        rows = sorted((int(e), int(t), np.nan if p is None else float(p)) for e, t, p in steps)
        for e, _, p in rows:
            if not (np.isnan(p) or p > 0):
                raise BadInput(f"ideal cycle {p} s is not positive", where=f"equipment {e}")
        cols = list(zip(*rows, strict=True)) if rows else [(), (), ()]
        return cls(
            np.array(cols[0], dtype=np.int64),
            np.array(cols[1], dtype=np.int64),
            np.array(cols[2], dtype=np.float64),
        )

    @classmethod
    def constant(cls, pri_s: Mapping[int, float | None]) -> IdealCycles:
        """One PRI per equipment, valid always."""
        return cls.of((e, EPOCH_MS, p) for e, p in pri_s.items())

    @classmethod
    def from_catalog(cls, catalog: AssetCatalog) -> IdealCycles:
        """Each equipment's own ideal cycle, else its template's (domain.md 1.5 step 5)."""
        pri: dict[int, float | None] = {}
        for e in catalog.equipment.values():
            t = TEMPLATES.get(e.template)
            pri[e.id] = e.ideal_cycle_s or (t.ideal_cycle_s if t else None)
        return cls.constant(pri)

    @classmethod
    def from_products(
        cls,
        runs: Sequence[ProductRun],
        cycles: Sequence[ProductCycle],
        *,
        before_first_run: IdealCycles | None = None,
    ) -> IdealCycles:
        """Steps from product runs and the products' cycles (equipment-specific ones first).

        An equipment's steps before its first run come from before_first_run; a product
        without a cycle has PRI unknown while it runs.

        >>> runs = [ProductRun(1, 0, "door"), ProductRun(1, 600_000, "lid")]
        >>> c = IdealCycles.from_products(runs, [ProductCycle("door", 30), ProductCycle("lid", 12)])
        >>> c.pri_s.tolist()
        [30.0, 12.0]
        """
        steps: list[tuple[int, int, float | None]] = []
        by_eq: dict[int, list[ProductRun]] = {}
        for run in runs:
            by_eq.setdefault(run.equipment, []).append(run)
        for eq, eq_runs in by_eq.items():
            eq_runs.sort(key=lambda r: r.start_ms)
            if before_first_run is not None:
                steps += before_first_run.steps_of(eq, until_ms=eq_runs[0].start_ms)
            steps += _product_steps(eq, eq_runs, cycles)
        if before_first_run is not None:
            steps += [s for s in before_first_run.rows() if s[0] not in by_eq]
        return cls.of(steps)

    def rows(self) -> list[tuple[int, int, float | None]]:
        """Every step as (equipment, valid_from_ms, pri_s or None)."""
        return [
            (int(e), int(t), None if np.isnan(p) else float(p))
            for e, t, p in zip(self.equipment, self.valid_from_ms, self.pri_s, strict=True)
        ]

    def steps_of(self, equipment: int, *, until_ms: int) -> list[tuple[int, int, float | None]]:
        """The steps of one equipment that start before until_ms."""
        return [s for s in self.rows() if s[0] == equipment and s[1] < until_ms]

    def keys(self, equipment: I64, ts_ms: I64) -> I64:
        """Sort keys (equipment rank, time) of queries against this table's steps."""
        uniq = np.unique(self.equipment)
        rank = np.searchsorted(uniq, equipment)
        known = rank < len(uniq)
        known[known] = uniq[rank[known]] == equipment[known]
        t = np.clip(ts_ms, 0, (1 << _TS_BITS) - 1)
        # Unknown equipment sort before every step, so they find no PRI.
        return np.where(known, (rank.astype(np.int64) << _TS_BITS) + t + 1, -1)

    def at(self, equipment: I64, ts_ms: I64) -> F64:
        """PRI in force for each (equipment, ts_ms); NaN where none is."""
        if not len(self.equipment):
            return np.full(len(equipment), np.nan)
        own = self.keys(self.equipment, self.valid_from_ms)
        j = np.searchsorted(own, self.keys(equipment, ts_ms), side="right") - 1
        jj = np.maximum(j, 0)
        return np.where((j >= 0) & (self.equipment[jj] == equipment), self.pri_s[jj], np.nan)

    def changes(self, equipment: I64, start_ms: int, end_ms: int) -> list[NDArray[np.int64]]:
        """For each equipment, the step times inside (start_ms, end_ms)."""
        own = self.keys(self.equipment, self.valid_from_ms)
        lo = np.searchsorted(own, self.keys(equipment, np.full(len(equipment), start_ms)), "right")
        hi = np.searchsorted(own, self.keys(equipment, np.full(len(equipment), end_ms)), "left")
        return [self.valid_from_ms[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]


def _product_steps(
    eq: int, runs: Sequence[ProductRun], cycles: Sequence[ProductCycle]
) -> list[tuple[int, int, float | None]]:
    """Steps of one equipment from its runs: at each run start and each rate change inside."""
    steps: list[tuple[int, int, float | None]] = []
    ends = [r.start_ms for r in runs[1:]] + [None]
    for run, end in zip(runs, ends, strict=True):
        mine = [c for c in cycles if c.product == run.product and c.equipment in (eq, None)]
        times = {run.start_ms} | {
            c.valid_from_ms
            for c in mine
            if run.start_ms < c.valid_from_ms and (end is None or c.valid_from_ms < end)
        }
        for t in sorted(times):
            steps.append((eq, t, _cycle_at(mine, eq, t)))
    return steps


def _cycle_at(cycles: Sequence[ProductCycle], eq: int, t_ms: int) -> float | None:
    """The latest cycle valid at t_ms, preferring one given for this equipment."""
    for own in (True, False):
        valid = [c for c in cycles if (c.equipment == eq) == own and c.valid_from_ms <= t_ms]
        if valid:
            return max(valid, key=lambda c: c.valid_from_ms).pri_s
    return None
