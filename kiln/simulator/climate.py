"""Foshan's shop-floor air temperature: a seasonal mean and a daily swing, in °C.

Monthly means run from about 14 °C in January to about 29 °C in July; the day is warmest in the
mid-afternoon. Motors, cabinets and coolant follow it a little; kilns barely notice.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
REFERENCE_C = 25.0  # the air temperature at which templates' normal ranges are quoted
_DAY_MS = 86_400_000.0
_YEAR_DAYS = 365.2425
_LOCAL_OFFSET_H = 8.0  # Asia/Shanghai


def ambient_c(ts_ms: I64) -> F64:
    """Air temperature at each UTC time, in °C.

    >>> july_3pm = 1_783_926_000_000  # 2026-07-13 07:00 UTC = 15:00 in Foshan
    >>> jan_5am = 1_768_251_600_000  # 2026-01-12 21:00 UTC = 05:00 in Foshan
    >>> ambient_c(np.array([july_3pm, jan_5am])).round(1)
    array([32.5, 11. ])
    """
    days = ts_ms / _DAY_MS
    season = 21.5 + 7.5 * np.sin(2 * np.pi * ((days % _YEAR_DAYS) - 105.0) / _YEAR_DAYS)
    hour = (days % 1.0) * 24.0 + _LOCAL_OFFSET_H
    return season + 3.5 * np.sin(2 * np.pi * (hour - 9.0) / 24.0)
