"""Energy per unit (comprehensive energy consumption, domain.md 1.2), and energy from power.

Energy per unit divides the window's total energy by PQ, and per good unit by GQ; the two are
named apart because they differ (domain.md 1.3: 1.80 and 1.89 kWh). Energy stays in kWh: the
conversion of carriers to standard coal is an open question (domain.md, open question 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kiln.kpi.ideal_cycle import F64
from kiln.kpi.interval_sets import I64, rank_of
from kiln.kpi.results import KpiColumn, ratio

NO_METER = "no energy reading"
MS_PER_H = 3_600_000.0


@dataclass(frozen=True, slots=True)
class EnergyReadings:
    """Energy used per equipment in the interval ending at ts_ms (meter deltas), in kWh."""

    equipment: I64
    ts_ms: I64
    energy_kwh: F64

    @classmethod
    def of(cls, equipment: object, ts_ms: object, energy_kwh: object) -> EnergyReadings:
        """Build from anything NumPy turns into the columns."""
        return cls(
            np.asarray(equipment, dtype=np.int64),
            np.asarray(ts_ms, dtype=np.int64),
            np.asarray(energy_kwh, dtype=np.float64),
        )


def sum_energy(
    readings: EnergyReadings, *, start_ms: int, end_ms: int, equipment: Sequence[int] | I64
) -> F64:
    """kWh per equipment (sorted unique ids) over [start_ms, end_ms); NaN with no reading.

    >>> sum_energy(EnergyReadings.of([1, 1, 2], [0, 5, 99], [2.0, 3.0, 9.0]),
    ...            start_ms=0, end_ms=10, equipment=[1, 2]).tolist()
    [5.0, nan]
    """
    ids = np.unique(np.asarray(equipment, dtype=np.int64))
    rank, known = rank_of(ids, readings.equipment)
    use = known & (readings.ts_ms >= start_ms) & (readings.ts_ms < end_ms)
    total = np.bincount(rank[use], weights=readings.energy_kwh[use], minlength=len(ids))
    seen = np.bincount(rank[use], minlength=len(ids)) > 0
    return np.where(seen, total, np.nan)


def integrate_power_kwh(
    equipment: I64,
    ts_ms: I64,
    power_kw: F64,
    *,
    start_ms: int,
    end_ms: int,
    ids: Sequence[int] | I64,
    max_hold_ms: int = 300_000,
) -> F64:
    """kWh per equipment from power samples: each sample holds until the next one of its
    equipment, at most max_hold_ms (a silent meter is no reading, not a constant load).

    >>> integrate_power_kwh(np.array([1, 1]), np.array([0, 1_800_000]), np.array([10.0, 4.0]),
    ...                     start_ms=0, end_ms=3_600_000, ids=[1], max_hold_ms=3_600_000).tolist()
    [7.0]
    """
    wanted = np.unique(np.asarray(ids, dtype=np.int64))
    order = np.lexsort((ts_ms, equipment))
    eq, ts, kw = equipment[order], ts_ms[order], power_kw[order]
    nxt = np.full(len(ts), np.iinfo(np.int64).max)
    same = eq[1:] == eq[:-1]
    nxt[:-1] = np.where(same, ts[1:], nxt[:-1])
    hold_end = np.minimum(nxt, ts + max_hold_ms)
    held = np.clip(np.minimum(hold_end, end_ms) - np.maximum(ts, start_ms), 0, None)
    rank, known = rank_of(wanted, eq)
    total = np.bincount(rank[known], weights=(kw * held / MS_PER_H)[known], minlength=len(wanted))
    seen = np.bincount(rank[known & (held > 0)], minlength=len(wanted)) > 0
    return np.where(seen, total, np.nan)


def energy_per_unit(energy_kwh: F64, produced: I64) -> KpiColumn:
    """kWh per produced unit (PQ).

    >>> energy_per_unit(np.array([1260.0]), np.array([700])).at(0).value
    1.8
    """
    k = ratio("energy_per_unit_kwh", energy_kwh, produced, undefined="nothing produced (PQ = 0)")
    return k.undefined_where(np.isnan(energy_kwh), NO_METER)


def energy_per_good_unit(energy_kwh: F64, good: I64) -> KpiColumn:
    """kWh per good unit (GQ).

    >>> round(energy_per_good_unit(np.array([1260.0]), np.array([665])).at(0).value, 2)
    1.89
    """
    k = ratio("energy_per_good_unit_kwh", energy_kwh, good, undefined="no good unit (GQ = 0)")
    return k.undefined_where(np.isnan(energy_kwh), NO_METER)
