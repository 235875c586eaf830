"""The plant calendar: two 12-hour shifts with meal breaks, and a weekly day off where kept.

Shifts change at 08:00 and 20:00 local time; each shift stops 30 minutes for a meal (12:00 and
00:00). Plants with a day off stop from Sunday 08:00 to Monday 08:00. Continuous equipment (a
roller kiln) keeps no calendar at all: it runs 24/7 (domain.md 7.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.domain.states import EquipmentState
from kiln.errors import BadInput
from kiln.simulator.reasons import reason_code

I64 = NDArray[np.int64]
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

# Fixed offsets: mainland China has kept no daylight saving time since 1991, so one offset is
# exact and the simulator stays free of the tz database (no disk reads in the pure parts).
UTC_OFFSETS_H = {"Asia/Shanghai": 8, "Asia/Chongqing": 8, "Asia/Hong_Kong": 8, "UTC": 0}
_THURSDAY = 3  # 1970-01-01, day 0 of the epoch, was a Thursday (Monday = 0)


def utc_offset_h(timezone: str, *, where: str) -> int:
    """The UTC offset of a site's time zone, or BadInput naming the ones the simulator knows."""
    try:
        return UTC_OFFSETS_H[timezone]
    except KeyError:
        known = ", ".join(UTC_OFFSETS_H)
        raise BadInput(
            f"time zone {timezone!r} is not simulated; known: {known}", where=where
        ) from None


@dataclass(frozen=True, slots=True)
class PlannedStops:
    """Planned stops as sorted, non-overlapping intervals [start, end) with a state and reason."""

    start_ms: I64
    end_ms: I64
    state: NDArray[np.int8]
    reason: I64


@dataclass(frozen=True, slots=True)
class ShiftCalendar:
    """When one equipment is planned to stop: meal breaks and, for some plants, Sundays."""

    utc_offset_h: int = 8
    continuous: bool = False
    sunday_off: bool = False
    meal_breaks_h: tuple[float, ...] = (0.0, 12.0)  # local start hours of the 30-minute breaks
    break_min: int = 30

    def stops(self, start_ms: int, end_ms: int) -> PlannedStops:
        """The planned stops overlapping [start_ms, end_ms), not clipped to it.

        >>> cal = ShiftCalendar()
        >>> s = cal.stops(0, DAY_MS)  # 1970-01-01 UTC: breaks at 04:00 and 16:00 UTC
        >>> [(int(a) // HOUR_MS, int(b - a) // MINUTE_MS) for a, b in zip(s.start_ms, s.end_ms)]
        [(4, 30), (16, 30)]
        """
        rows: list[tuple[int, int, int, int]] = []
        if not self.continuous:
            off_ms = self.utc_offset_h * HOUR_MS
            first = (start_ms + off_ms) // DAY_MS - 1
            last = (end_ms + off_ms) // DAY_MS + 1
            for day in range(first, last + 1):
                rows.extend(self._day(day, off_ms))
        rows = sorted(r for r in rows if r[1] > start_ms and r[0] < end_ms)
        cols = list(zip(*rows, strict=True)) if rows else [(), (), (), ()]
        return PlannedStops(
            np.array(cols[0], dtype=np.int64),
            np.array(cols[1], dtype=np.int64),
            np.array(cols[2], dtype=np.int8),
            np.array(cols[3], dtype=np.int64),
        )

    def _day(self, day: int, off_ms: int) -> list[tuple[int, int, int, int]]:
        midnight = day * DAY_MS - off_ms  # local midnight of that local day, in UTC ms
        weekday = (day + _THURSDAY) % 7
        morning = midnight + 8 * HOUR_MS
        meal = int(EquipmentState.PLANNED_DOWN), reason_code("meal_break")
        rows = [
            (t, t + self.break_min * MINUTE_MS, *meal)
            for t in (midnight + int(h * HOUR_MS) for h in self.meal_breaks_h)
        ]
        if not self.sunday_off:
            return rows
        if weekday == 6:  # Saturday's night shift still eats at 00:00; from 08:00 the plant rests
            rows = [r for r in rows if r[0] < morning]
            rows.append((morning, morning + DAY_MS, int(EquipmentState.OFF_SHIFT), 0))
        elif weekday == 0:
            rows = [r for r in rows if r[0] >= morning]
        return rows

    def clear_of_stops(self, t_ms: int) -> int:
        """The first moment at or after t_ms outside every planned stop.

        >>> ShiftCalendar().clear_of_stops(4 * HOUR_MS + 1)  # inside the 04:00 UTC meal break
        16200000
        """
        for _ in range(4):  # a stop can end where the next begins (Sunday, then a meal break)
            s = self.stops(t_ms, t_ms + 1)
            if len(s.start_ms) == 0 or t_ms < int(s.start_ms[0]):
                return t_ms
            t_ms = int(s.end_ms[0])
        return t_ms
