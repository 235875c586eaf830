"""Reliability from the time model: MTBF, MTTR and inherent availability (domain.md 1.2).

A failure event (FE) is a DOWN_FAULT run at least as long as the micro-stop threshold with
planned busy time in the window (see `time_model`); its time to restoration is its ADET. The
operating time between failures counts setup and production, not delays: MTBF = AUPT / FE.
With no failure MTBF is undefined, and the reason gives the operating time (domain.md 1.6).
Inherent availability MTBF / (MTBF + MTTR) is reliability's figure, not ISO availability.
"""

from __future__ import annotations

import numpy as np

from kiln.kpi.elements import TimeElements
from kiln.kpi.results import KpiColumn, count_reason, ratio

MS_PER_H, MS_PER_MIN = 3_600_000.0, 60_000.0


def _no_failure(el: TimeElements) -> np.ndarray:
    return count_reason(
        "no failure in {n:.1f} h of operating time", el.aupt_ms / MS_PER_H, where=el.failures == 0
    )


def mtbf_h(el: TimeElements) -> KpiColumn:
    """Mean operating time between failures, in hours: AUPT / FE.

    >>> from kiln.kpi.worked_example import worked_shift
    >>> el, _ = worked_shift()
    >>> mtbf_h(el).at(0).value * 60  # minutes
    135.0
    """
    k = ratio("mtbf_h", el.aupt_ms / MS_PER_H, el.failures, undefined="")
    return k.undefined_where(el.failures == 0, _no_failure(el))


def mttr_min(el: TimeElements) -> KpiColumn:
    """Mean time to restoration, in minutes: sum(TTR) / FE.

    >>> from kiln.kpi.worked_example import worked_shift
    >>> mttr_min(worked_shift()[0]).at(0).value
    15.0
    """
    return ratio("mttr_min", el.ttr_ms / MS_PER_MIN, el.failures, undefined="no failure")


def inherent_availability(el: TimeElements) -> KpiColumn:
    """MTBF / (MTBF + MTTR) = AUPT / (AUPT + sum(TTR)); undefined without failures.

    >>> from kiln.kpi.worked_example import worked_shift
    >>> inherent_availability(worked_shift()[0]).at(0).value
    0.9
    """
    k = ratio("inherent_availability", el.aupt_ms, el.aupt_ms + el.ttr_ms, undefined="")
    return k.undefined_where(el.failures == 0, _no_failure(el))


def reliability_kpis(el: TimeElements) -> dict[str, KpiColumn]:
    """Every KPI of this module for the same rows, by name."""
    return {k.name: k for k in (mtbf_h(el), mttr_min(el), inherent_availability(el))}
