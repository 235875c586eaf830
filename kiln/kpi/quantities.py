"""Quantity elements per equipment over a window: PQ, GQ, SQ, RQ and the ideal time they stand
for (sum of PRI_k * PQ_k and PRI_k * GQ_k, domain.md 1.5 step 5).

Counts are attributed by their timestamp: a count row with start_ms <= ts_ms < end_ms belongs
to the window, whatever state the equipment was in (a part made is a part made). Kiln assumes
PQ = GQ + SQ + RQ (domain.md 1.1); the store's counts carry good and scrap, rework when known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa

from kiln.kpi.ideal_cycle import F64, IdealCycles
from kiln.kpi.interval_sets import I64


@dataclass(frozen=True, slots=True)
class Counts:
    """Count rows (equipment, ts_ms, good, scrap, rework): parts reported at ts_ms."""

    equipment: I64
    ts_ms: I64
    good: I64
    scrap: I64
    rework: I64

    @classmethod
    def of(
        cls,
        equipment: object,
        ts_ms: object,
        good: object,
        scrap: object,
        rework: object | None = None,
    ) -> Counts:
        """Build from anything NumPy turns into the columns; rework defaults to none."""
        eq = np.asarray(equipment, dtype=np.int64)
        rw = np.zeros(len(eq), dtype=np.int64) if rework is None else rework
        return cls(eq, *(np.asarray(c, dtype=np.int64) for c in (ts_ms, good, scrap, rw)))

    @classmethod
    def from_arrow(cls, table: pa.Table) -> Counts:
        """From the store's (equipment, ts_ms, good, scrap[, rework]) table."""

        def col(name: str) -> Any:
            return table.column(name).to_numpy(zero_copy_only=False)

        rework = col("rework") if "rework" in table.column_names else None
        return cls.of(col("equipment"), col("ts_ms"), col("good"), col("scrap"), rework)

    def __len__(self) -> int:
        return len(self.equipment)


@dataclass(frozen=True, slots=True)
class Quantities:
    """Quantity elements per row; `key` is the equipment id (or group index after sum_by).

    ideal_s and ideal_good_s sum PRI over the output whose PRI was known; `unrated` counts the
    units produced while no PRI was (then effectiveness and OEE are undefined).
    """

    key: I64
    good: I64
    scrap: I64
    rework: I64
    unrated: I64
    ideal_s: F64
    ideal_good_s: F64

    @property
    def produced(self) -> I64:
        """PQ = GQ + SQ + RQ."""
        return self.good + self.scrap + self.rework

    def __len__(self) -> int:
        return len(self.key)

    def columns(self) -> dict[str, Any]:
        """Every additive column by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "key"}

    def take(self, index: Any) -> Quantities:
        """The rows at index."""
        return Quantities(self.key[index], **{k: v[index] for k, v in self.columns().items()})

    def sum_by(self, group: I64, groups: int) -> Quantities:
        """Quantities summed into `groups` rows by each row's group index."""

        def total(v: Any) -> F64:
            return np.bincount(group, weights=v, minlength=groups).astype(np.float64)

        def count(v: I64) -> I64:
            return np.rint(total(v)).astype(np.int64)

        return Quantities(
            key=np.arange(groups, dtype=np.int64),
            good=count(self.good),
            scrap=count(self.scrap),
            rework=count(self.rework),
            unrated=count(self.unrated),
            ideal_s=total(self.ideal_s),
            ideal_good_s=total(self.ideal_good_s),
        )

    @classmethod
    def concat(cls, parts: Sequence[Quantities]) -> Quantities:
        """Rows of several quantity sets, one after the other."""
        names = [f.name for f in fields(cls)]
        return cls(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in names})


def sum_counts(
    counts: Counts,
    *,
    start_ms: int,
    end_ms: int,
    equipment: Sequence[int] | I64,
    cycles: IdealCycles | None = None,
) -> Quantities:
    """Quantities of each equipment from the counts in [start_ms, end_ms), with ideal time.

    >>> c = Counts.of([4, 4, 4], [0, 60_000, 120_000], [10, 9, 11], [1, 0, 0])
    >>> q = sum_counts(c, start_ms=0, end_ms=120_000, equipment=[4],
    ...                cycles=IdealCycles.of([(4, 0, 6.0), (4, 60_000, 5.0)]))
    >>> q.produced.tolist(), q.ideal_s.tolist(), q.ideal_good_s.tolist()
    ([20], [111.0], [105.0])
    """
    ids = np.unique(np.asarray(equipment, dtype=np.int64))
    rows = _in_window(counts, start_ms, end_ms)
    if not _sorted_by_equipment(rows):
        rows = _take(rows, np.argsort(rows.equipment, kind="stable"))
    # Each wanted equipment's rows, by binary search (rows of others are never looked at).
    lo = np.searchsorted(rows.equipment, ids, side="left")
    hi = np.searchsorted(rows.equipment, ids, side="right")
    good, scrap, rework = (_block_sums(c, lo, hi) for c in (rows.good, rows.scrap, rows.rework))
    made = good + scrap + rework
    ideal, ideal_good, unrated = _ideal(rows, (lo, hi), ids, good, made, cycles, (start_ms, end_ms))
    return Quantities(ids, good, scrap, rework, unrated, ideal, ideal_good)


def _in_window(counts: Counts, start_ms: int, end_ms: int) -> Counts:
    if not len(counts) or (
        int(counts.ts_ms.min()) >= start_ms and int(counts.ts_ms.max()) < end_ms
    ):
        return counts
    return _take(counts, np.flatnonzero((counts.ts_ms >= start_ms) & (counts.ts_ms < end_ms)))


def _take(c: Counts, index: Any) -> Counts:
    return Counts(
        c.equipment[index], c.ts_ms[index], c.good[index], c.scrap[index], c.rework[index]
    )


def _sorted_by_equipment(c: Counts) -> bool:
    return bool((c.equipment[1:] >= c.equipment[:-1]).all())


def _block_sums(col: I64, lo: I64, hi: I64) -> I64:
    """col summed over each [lo, hi) (disjoint, in order), in one pass over the rows."""
    out = np.zeros(len(lo), dtype=np.int64)
    full = np.flatnonzero(hi > lo)
    if not len(full):
        return out
    # reduceat sums from each index to the next: the blocks, and the gaps between them.
    bounds = np.empty(2 * len(full), dtype=np.intp)
    bounds[0::2], bounds[1::2] = lo[full], hi[full]
    if bounds[-1] == len(col):  # the last block runs to the end
        bounds = bounds[:-1]
    out[full] = np.add.reduceat(col, bounds)[0::2]
    return out


def _ideal(
    rows: Counts,
    blocks: tuple[I64, I64],
    ids: I64,
    good: I64,
    made: I64,
    cycles: IdealCycles | None,
    window: tuple[int, int],
) -> tuple[F64, F64, I64]:
    """Sum of PRI * PQ and PRI * GQ per equipment, and the units without a PRI."""
    n = len(ids)
    if cycles is None:
        return np.zeros(n), np.zeros(n), made.copy()
    pri = cycles.at(ids, np.full(n, window[0], dtype=np.int64))
    ideal = np.nan_to_num(pri * made)
    ideal_good = np.nan_to_num(pri * good)
    unrated = np.where(np.isnan(pri), made, 0)
    # Only equipment whose PRI steps inside the window is cut into pieces, one Python pass each.
    for k, change in enumerate(cycles.changes(ids, *window)):
        if len(change):
            a, b = int(blocks[0][k]), int(blocks[1][k])
            ideal[k], ideal_good[k], unrated[k] = _ideal_block(rows, a, b, cycles)
    return ideal, ideal_good, unrated


def _ideal_block(rows: Counts, a: int, b: int, cycles: IdealCycles) -> tuple[float, float, int]:
    """One equipment's ideal time, each count row at the PRI in force when it was reported."""
    pri = cycles.at(rows.equipment[a:b], rows.ts_ms[a:b])
    rated = ~np.isnan(pri)
    made = rows.good[a:b] + rows.scrap[a:b] + rows.rework[a:b]
    return (
        float((pri[rated] * made[rated]).sum()),
        float((pri[rated] * rows.good[a:b][rated]).sum()),
        int(made[~rated].sum()),
    )
