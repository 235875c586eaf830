"""The six big losses (domain.md 1.4) in minutes, from elements, for any row or group.

    PBT = unplanned stops + setup + (minor stops + reduced speed) + quality loss + fully
          productive time (PRI * GQ)

Unplanned stops are ADET plus ADOT (idle is reported on its own as well, so the identity above
holds). Minor stops are the DOWN_FAULT and IDLE runs shorter than the micro-stop threshold,
which the time model keeps inside APT; reduced speed is the rest of APT - PRI * PQ. Process
defects and reduced yield (losses 5 and 6) need a start-up window that Kiln's counts do not
carry, so they are reported together as the quality loss PRI * (PQ - GQ). Without an ideal
cycle time (PRI) the performance and quality losses are undefined.
"""

from __future__ import annotations

import numpy as np

from kiln.kpi.elements import TimeElements
from kiln.kpi.oee import check_rows
from kiln.kpi.quantities import Quantities
from kiln.kpi.results import KpiColumn, count_reason, reasons

MS_PER_MIN, S_PER_MIN = 60_000.0, 60.0
NEGATIVE = "negative: more output than the ideal cycle allows (see effectiveness)"


def _minutes(name: str, value: object) -> KpiColumn:
    v = np.asarray(value, dtype=np.float64)
    blank = reasons(np.zeros(len(v), dtype=bool), "")
    return KpiColumn(name, v, blank, blank.copy())


def six_big_losses(el: TimeElements, q: Quantities) -> dict[str, KpiColumn]:
    """Each loss in minutes, and the fully productive time that remains.

    >>> from kiln.kpi.worked_example import worked_shift
    >>> losses = six_big_losses(*worked_shift())
    >>> {k: v.at(0).value for k, v in losses.items() if k != "idle_min"}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'unplanned_stops_min': 45.0, 'setup_min': 25.0, 'minor_stops_min': 0.0,
     'reduced_speed_min': 30.0, 'speed_loss_min': 30.0, 'quality_loss_min': 17.5,
     'fully_productive_min': 332.5}
    """
    check_rows(el, q)
    speed = el.apt_ms / MS_PER_MIN - q.ideal_s / S_PER_MIN
    cols = [
        _minutes("unplanned_stops_min", (el.adet_ms + el.adot_ms) / MS_PER_MIN),
        _minutes("idle_min", el.adot_ms / MS_PER_MIN),
        _minutes("setup_min", el.aust_ms / MS_PER_MIN),
        _minutes("minor_stops_min", el.micro_stop_ms / MS_PER_MIN),
        _minutes("reduced_speed_min", speed - el.micro_stop_ms / MS_PER_MIN),
        _minutes("speed_loss_min", speed),
        _minutes("quality_loss_min", (q.ideal_s - q.ideal_good_s) / S_PER_MIN),
        _minutes("fully_productive_min", q.ideal_good_s / S_PER_MIN),
    ]
    why = count_reason(
        "no ideal cycle time (PRI) for {n} of {m} units", q.unrated, q.produced, where=q.unrated > 0
    )
    rated = ("reduced_speed_min", "speed_loss_min", "quality_loss_min", "fully_productive_min")
    out = {}
    for c in cols:
        if c.name in rated:
            c = c.undefined_where(q.unrated > 0, why)
        if c.name in ("reduced_speed_min", "speed_loss_min"):
            c = c.flagged_where(c.value < -1e-9, NEGATIVE)
        out[c.name] = c
    return out
