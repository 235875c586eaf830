"""The worked example of domain.md 1.3 as elements: one 8-hour shift of one press in a day.

POT 480 min, PDOT 30 (a break), so PBT 450; APT 380, AUST 25, ADET 45 in three faults, ADOT 0;
PRI 30 s; PQ 700 of which SQ 21 and RQ 14, so GQ 665; 1 260 kWh. Doctests use it as their
known answer; `tests/kpi` rebuilds it from a state log instead.
"""

from __future__ import annotations

import numpy as np

from kiln.kpi.elements import TimeElements
from kiln.kpi.quantities import Quantities

MINUTE_MS = 60_000
ENERGY_KWH = 1_260.0


def worked_shift() -> tuple[TimeElements, Quantities]:
    """The example's time elements and quantities, one row (key 1).

    >>> el, q = worked_shift()
    >>> int(el.pbt_ms[0]) // MINUTE_MS, int(q.produced[0])
    (450, 700)
    """
    one = np.ones(1, dtype=np.int64)
    el = TimeElements(
        key=one,
        window_ms=one * 1_440 * MINUTE_MS,
        outside_ms=one * 960 * MINUTE_MS,
        pdot_ms=one * 30 * MINUTE_MS,
        adot_ms=one * 0,
        aust_ms=one * 25 * MINUTE_MS,
        adet_ms=one * 45 * MINUTE_MS,
        apt_ms=one * 380 * MINUTE_MS,
        unknown_ms=one * 0,
        micro_stop_ms=one * 0,
        micro_stops=one * 0,
        failures=one * 3,
        ttr_ms=one * 45 * MINUTE_MS,
    )
    q = Quantities(
        key=one,
        good=one * 665,
        scrap=one * 21,
        rework=one * 14,
        unrated=one * 0,
        ideal_s=np.array([700 * 30.0]),
        ideal_good_s=np.array([665 * 30.0]),
    )
    return el, q
