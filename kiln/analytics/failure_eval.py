"""How well alarms foretold known failures: detection rate, lead time, false alarms per equipment.

A failure counts as detected when a condition on its equipment was raised between the start of
its precursor and the failure; its lead time is from the first such raise to the failure. A raise
is a false alarm unless it falls in a precursor, or in the repair that follows a failure (the
equipment is down and known to be, until `end_ms` plus `settle_ms` while it warms up again).

A monitor that judges only running minutes cannot see a precursor the equipment never ran
through; `running_during` measures how long each one ran, so a report can be given both over all
failures and over those seen running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.errors import BadInput

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class KnownFailure:
    """Ground truth of one failure: precursor from, fault at, repaired at (None: not known)."""

    equipment_id: int
    precursor_start_ms: int
    failure_ms: int
    end_ms: int | None = None


@dataclass(frozen=True, slots=True)
class FailureReport:
    """What the alarms achieved over the failures and the time they watched."""

    failures: int
    detected: int
    lead_times_ms: tuple[int, ...]  # one per detected failure
    false_alarms: int
    equipment_days: float

    @property
    def detection_rate(self) -> float:
        """Share of failures detected before they happened (NaN with no failures)."""
        return self.detected / self.failures if self.failures else float("nan")

    @property
    def median_lead_ms(self) -> float:
        """Median lead time of the detected failures (NaN if none)."""
        return float(np.median(self.lead_times_ms)) if self.lead_times_ms else float("nan")

    @property
    def mean_lead_ms(self) -> float:
        """Mean lead time of the detected failures (NaN if none)."""
        return float(np.mean(self.lead_times_ms)) if self.lead_times_ms else float("nan")

    @property
    def false_per_equipment_day(self) -> float:
        """False alarms per equipment per day watched."""
        return self.false_alarms / self.equipment_days if self.equipment_days else float("nan")

    @property
    def false_per_equipment_week(self) -> float:
        """False alarms per equipment per week watched."""
        return 7.0 * self.false_per_equipment_day


def evaluate(
    raises_ms: Mapping[int, Sequence[int]],
    failures: Sequence[KnownFailure],
    *,
    equipment: int,
    start_ms: int,
    end_ms: int,
    settle_ms: int = 3_600_000,
    excused: Sequence[KnownFailure] = (),
) -> FailureReport:
    """Score raise times per equipment against known failures over [start_ms, end_ms).

    Only failures whose precursor began in the span are scored; `equipment` is how many were
    watched (those with no raise count too). excused failures are not scored, but a raise in
    their precursor or repair is not false either (they happened, the alarm was right).

    >>> f = [KnownFailure(1, 0, 10 * 3_600_000, 12 * 3_600_000)]
    >>> r = evaluate({1: [4 * 3_600_000, 11 * 3_600_000], 2: [DAY_MS]}, f,
    ...              equipment=2, start_ms=0, end_ms=2 * DAY_MS)
    >>> r.detected, r.lead_times_ms, r.false_alarms, r.false_per_equipment_day
    (1, (21600000,), 1, 0.25)
    """
    if end_ms <= start_ms:
        raise BadInput(f"span ends ({end_ms}) before it starts ({start_ms})", where="failure_eval")
    if equipment < 1:
        raise BadInput("at least one equipment must be watched", where="failure_eval")
    scored = [f for f in failures if start_ms <= f.precursor_start_ms < end_ms]
    leads = []
    for f in scored:
        if f.failure_ms < f.precursor_start_ms:
            raise BadInput(
                f"failure at {f.failure_ms} is before its precursor {f.precursor_start_ms} "
                f"(equipment {f.equipment_id})",
                where="failure_eval",
            )
        t = np.asarray(raises_ms.get(f.equipment_id, ()), dtype=np.int64)
        hit = t[(t >= f.precursor_start_ms) & (t < f.failure_ms)]
        if len(hit):
            leads.append(int(f.failure_ms - hit.min()))
    false = 0
    for eq, times in raises_ms.items():
        spans = [
            (f.precursor_start_ms, (f.end_ms if f.end_ms is not None else f.failure_ms) + settle_ms)
            for f in (*failures, *excused)
            if f.equipment_id == eq
        ]
        for at in times:
            if start_ms <= at < end_ms and not any(a <= at < b for a, b in spans):
                false += 1
    return FailureReport(
        failures=len(scored),
        detected=len(leads),
        lead_times_ms=tuple(leads),
        false_alarms=false,
        equipment_days=equipment * (end_ms - start_ms) / DAY_MS,
    )


def running_during(
    failures: Sequence[KnownFailure],
    equipment: NDArray[np.int64],
    ts_ms: NDArray[np.int64],
    running: NDArray[np.bool_],
) -> NDArray[np.int64]:
    """Milliseconds each failure's equipment ran during its precursor, from state changes.

    equipment, ts_ms and running are the state changes (from ts_ms on, running or not), in any
    order; before its first change an equipment counts as not running.

    >>> f = [KnownFailure(1, 0, 10 * 3_600_000)]
    >>> running_during(f, np.array([1, 1, 2]), np.array([-3_600_000, 4 * 3_600_000, 0]),
    ...                np.array([True, False, True])).tolist()
    [14400000]
    """
    if not (len(equipment) == len(ts_ms) == len(running)):
        raise BadInput(
            f"state columns differ in length: equipment {len(equipment)}, ts_ms {len(ts_ms)}, "
            f"running {len(running)}",
            where="failure_eval",
        )
    order = np.lexsort((ts_ms, equipment))
    eq, ts, run = equipment[order], ts_ms[order], running[order]
    out = np.zeros(len(failures), dtype=np.int64)
    for i, f in enumerate(failures):
        lo, hi = np.searchsorted(eq, f.equipment_id), np.searchsorted(eq, f.equipment_id, "right")
        start, on = ts[lo:hi], run[lo:hi]
        end = np.r_[start[1:], np.iinfo(np.int64).max]
        a = np.clip(start, f.precursor_start_ms, f.failure_ms)
        b = np.clip(end, f.precursor_start_ms, f.failure_ms)
        out[i] = int(((b - a) * on).sum())
    return out
