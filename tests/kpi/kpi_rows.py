"""Element and quantity rows made by hand, for the formula tests."""

from __future__ import annotations

import numpy as np

from kiln.kpi.elements import TimeElements
from kiln.kpi.quantities import Quantities

MINUTE_MS = 60_000


def elements(
    *,
    window: int = 1440,
    outside: int = 0,
    pdot: int = 0,
    adot: int = 0,
    aust: int = 0,
    adet: int = 0,
    apt: int = 0,
    unknown: int = 0,
    micro: int = 0,
    failures: int = 0,
    ttr: int | None = None,
    key: int = 1,
) -> TimeElements:
    """One row of elements, every time in minutes; time left in the window is outside POT."""
    leaves = outside + pdot + adot + aust + adet + apt + unknown
    assert leaves <= window, "the leaves do not fit the window"

    def ms(x: int) -> np.ndarray:
        return np.array([x * MINUTE_MS], dtype=np.int64)

    outside = outside + (window - leaves)
    return TimeElements(
        key=np.array([key]),
        window_ms=ms(window),
        outside_ms=ms(outside),
        pdot_ms=ms(pdot),
        adot_ms=ms(adot),
        aust_ms=ms(aust),
        adet_ms=ms(adet),
        apt_ms=ms(apt),
        unknown_ms=ms(unknown),
        micro_stop_ms=ms(micro),
        micro_stops=np.array([0]),
        failures=np.array([failures]),
        ttr_ms=ms(adet if ttr is None else ttr),
    )


def quantities(
    *, good: int = 0, scrap: int = 0, rework: int = 0, pri_s: float | None = None, key: int = 1
) -> Quantities:
    """One row of quantities at one PRI (None: no ideal cycle known)."""
    made = good + scrap + rework
    rated = pri_s is not None
    return Quantities(
        key=np.array([key]),
        good=np.array([good]),
        scrap=np.array([scrap]),
        rework=np.array([rework]),
        unrated=np.array([0 if rated else made]),
        ideal_s=np.array([made * pri_s if rated else 0.0]),
        ideal_good_s=np.array([good * pri_s if rated else 0.0]),
    )
