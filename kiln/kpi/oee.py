"""OEE and the time and quantity KPIs of ISO 22400-2 (domain.md 1.2), from elements only.

Every KPI divides summed elements, so a row may be one equipment or a whole group. Where a
denominator is 0 the KPI is undefined, with the reason (domain.md 1.6):

* PBT = 0: availability, OEE, NEE, TEEP and throughput are undefined, not 100 %.
* APT = 0: effectiveness is undefined; OEE is 0 when PBT > 0 and nothing was made.
* PQ = 0: quality, scrap and rework ratios are undefined.
* Output without an ideal cycle time (PRI): effectiveness, OEE, NEE and TEEP are undefined;
  availability and quality are not. Effectiveness above 1 is kept and flagged.

OEE is `sum(PRI * GQ) / PBT` (= A x E x Q for one PRI). Over rows with different PRI the
quality factor that makes the product exact is weighted by ideal time, so Kiln reports the ISO
count ratio GQ / PQ as quality and computes OEE from elements, never as a product of ratios.
AOET (order execution time) is not known to Kiln; throughput takes the order to span PBT.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from kiln.errors import BadInput
from kiln.kpi.elements import TimeElements
from kiln.kpi.quantities import Quantities
from kiln.kpi.results import KpiColumn, count_reason, ratio

MS_PER_S, MS_PER_H = 1_000.0, 3_600_000.0
NO_PBT = "no planned busy time (PBT = 0)"
NO_APT = "no production time (APT = 0)"
NO_PQ = "nothing produced (PQ = 0)"
ABOVE_ONE = "above 1: ideal cycle time too slow or counts doubled"


def _s(x: NDArray[np.int64]) -> NDArray[np.float64]:
    return x / MS_PER_S


def check_rows(el: TimeElements, q: Quantities) -> None:
    """Raise BadInput unless elements and quantities describe the same rows in the same order."""
    if len(el) != len(q) or not np.array_equal(el.key, q.key):
        raise BadInput("time elements and quantities are not for the same rows", where="kpi")


def _unrated(k: KpiColumn, q: Quantities) -> KpiColumn:
    """Undefined where some output had no ideal cycle time."""
    unrated = q.unrated > 0
    why = count_reason(
        "no ideal cycle time (PRI) for {n} of {m} units", q.unrated, q.produced, where=unrated
    )
    return k.undefined_where(unrated, why)


def availability(el: TimeElements) -> KpiColumn:
    """APT / PBT.

    >>> from kiln.kpi.worked_example import worked_shift
    >>> el, q = worked_shift()
    >>> round(availability(el).at(0).value, 4)
    0.8444
    """
    return ratio("availability", el.apt_ms, el.pbt_ms, undefined=NO_PBT)


def effectiveness(el: TimeElements, q: Quantities) -> KpiColumn:
    """PRI * PQ / APT (performance); kept and flagged above 1."""
    k = ratio("effectiveness", q.ideal_s, _s(el.apt_ms), undefined=NO_APT)
    return _unrated(k, q).flagged_where(k.value > 1 + 1e-12, ABOVE_ONE)


def quality_ratio(q: Quantities) -> KpiColumn:
    """GQ / PQ."""
    return ratio("quality_ratio", q.good, q.produced, undefined=NO_PQ)


def oee_index(el: TimeElements, q: Quantities) -> KpiColumn:
    """sum(PRI * GQ) / PBT: 0 when planned and nothing was made.

    >>> from kiln.kpi.worked_example import worked_shift
    >>> el, q = worked_shift()
    >>> round(oee_index(el, q).at(0).value, 4)
    0.7389
    """
    return _unrated(ratio("oee", q.ideal_good_s, _s(el.pbt_ms), undefined=NO_PBT), q)


def nee_index(el: TimeElements, q: Quantities) -> KpiColumn:
    """(AUPT / PBT) * effectiveness * quality: setup counted as no loss."""
    made_nothing = q.ideal_good_s == 0
    speed = ratio("nee", q.ideal_good_s, _s(el.apt_ms), undefined=NO_APT)
    speed_value = np.where(made_nothing, 0.0, speed.value)
    loading = ratio("nee", el.aupt_ms, el.pbt_ms, undefined=NO_PBT)
    k = KpiColumn("nee", loading.value * speed_value, loading.reason, loading.flag)
    k = k.undefined_where(np.isnan(speed_value), speed.reason)
    return _unrated(k, q)


def teep(el: TimeElements, q: Quantities) -> KpiColumn:
    """Kiln's TEEP = OEE * PBT / calendar time with data (not an ISO 22400-2 KPI)."""
    oee = oee_index(el, q)
    known = _s(el.window_ms - el.unknown_ms)
    loading = ratio("teep", _s(el.pbt_ms), known, undefined="no calendar time with data")
    k = KpiColumn("teep", oee.value * loading.value, oee.reason, oee.flag)
    return k.undefined_where(np.isnan(loading.value), loading.reason)


def technical_efficiency(el: TimeElements) -> KpiColumn:
    """APT / (APT + ADET)."""
    return ratio(
        "technical_efficiency",
        el.apt_ms,
        el.apt_ms + el.adet_ms,
        undefined="neither production nor delay time (APT + ADET = 0)",
    )


def allocation_efficiency(el: TimeElements) -> KpiColumn:
    """AUBT / PBT."""
    return ratio("allocation_efficiency", el.aubt_ms, el.pbt_ms, undefined=NO_PBT)


def utilisation_efficiency(el: TimeElements) -> KpiColumn:
    """APT / AUBT."""
    return ratio(
        "utilisation_efficiency", el.apt_ms, el.aubt_ms, undefined="no busy time (AUBT = 0)"
    )


def setup_rate(el: TimeElements) -> KpiColumn:
    """AUST / AUPT."""
    return ratio("setup_rate", el.aust_ms, el.aupt_ms, undefined="no processing time (AUPT = 0)")


def throughput_per_h(el: TimeElements, q: Quantities) -> KpiColumn:
    """PQ / AOET in units per hour, with AOET taken as PBT."""
    return ratio("throughput_per_h", q.produced, el.pbt_ms / MS_PER_H, undefined=NO_PBT)


def scrap_ratio(q: Quantities) -> KpiColumn:
    """SQ / PQ."""
    return ratio("scrap_ratio", q.scrap, q.produced, undefined=NO_PQ)


def rework_ratio(q: Quantities) -> KpiColumn:
    """RQ / PQ."""
    return ratio("rework_ratio", q.rework, q.produced, undefined=NO_PQ)


def data_coverage(el: TimeElements) -> KpiColumn:
    """Share of planned busy time with state data: PBT / (PBT + UNKNOWN)."""
    return ratio(
        "data_coverage",
        el.pbt_ms,
        el.pbt_ms + el.unknown_ms,
        undefined="no planned busy time in the calendar",
    )


def robot_utilisation(el: TimeElements) -> KpiColumn:
    """APT / POT of robots: the share of their planned operation time they really work.

    Call it with the robots' elements only (a roll-up sums them per group).
    """
    return ratio(
        "robot_utilisation", el.apt_ms, el.pot_ms, undefined="no robot with planned operation time"
    )


def oee_kpis(el: TimeElements, q: Quantities) -> dict[str, KpiColumn]:
    """Every KPI of this module for the same rows, by name."""
    check_rows(el, q)
    cols = [
        availability(el),
        effectiveness(el, q),
        quality_ratio(q),
        oee_index(el, q),
        nee_index(el, q),
        teep(el, q),
        technical_efficiency(el),
        allocation_efficiency(el),
        utilisation_efficiency(el),
        setup_rate(el),
        throughput_per_h(el, q),
        scrap_ratio(q),
        rework_ratio(q),
        data_coverage(el),
    ]
    return {c.name: c for c in cols}
