"""Shift calendars: when a site plans to operate (POT), its breaks and planned maintenance
(PDOT), and the shift boundaries that KPIs are cut by.

Shifts are kept in the site's local time (zoneinfo; Asia/Shanghai by default, UTC+8 without
daylight saving) and come out as UTC epoch milliseconds. A shift belongs to the local day it
starts on, so a night shift from 22:00 to 06:00 runs when the day it starts on is a working
day, and ends on the next. A day is a working day unless it is a public holiday (a day off in
`cn_holidays`), or a weekend day not worked in exchange for a holiday (调休上班).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from kiln.errors import BadInput
from kiln.kpi.cn_holidays import CN_HOLIDAYS, HolidayTable
from kiln.kpi.interval_sets import I64, Ranked, clip, coalesce, resolve
from kiln.kpi.planned_time import PlannedTime

DAY_MIN = 1_440


@dataclass(frozen=True, slots=True)
class Break:
    """A planned pause in a shift, by minutes after the shift starts."""

    after_min: int
    duration_min: int


@dataclass(frozen=True, slots=True)
class Shift:
    """One shift of a day: local start (minutes after midnight), length, breaks."""

    name: str
    start_min: int
    duration_min: int
    breaks: tuple[Break, ...] = ()

    def __post_init__(self) -> None:
        where = f"shift {self.name!r}"
        if not 0 <= self.start_min < DAY_MIN:
            raise BadInput(f"start {self.start_min} min is not a time of day", where=where)
        if not 0 < self.duration_min <= DAY_MIN:
            raise BadInput(f"length {self.duration_min} min is not 1..1440 min", where=where)
        for b in self.breaks:
            if (
                b.after_min < 0
                or b.duration_min <= 0
                or b.after_min + b.duration_min > (self.duration_min)
            ):
                raise BadInput(f"break {b} does not lie inside the shift", where=where)


@dataclass(frozen=True, slots=True)
class ShiftPattern:
    """The shifts every working day has."""

    name: str
    shifts: tuple[Shift, ...]

    def __post_init__(self) -> None:
        spans = sorted(
            (s.start_min + day * DAY_MIN, s.start_min + day * DAY_MIN + s.duration_min, s.name)
            for s in self.shifts
            for day in (0, 1)
        )
        for (_, end, a), (start, _, b) in pairwise(spans):
            if start < end:
                raise BadInput(f"shifts {a!r} and {b!r} overlap", where=f"pattern {self.name!r}")


def _meal(after_h: float = 4.0) -> tuple[Break, ...]:
    return (Break(int(after_h * 60), 30),)


# Two 12-hour shifts changing at 08:00 and 20:00 with a 30-minute meal at 12:00 and 00:00 (the
# simulator's plants); three 8-hour shifts from 06:00 with a 30-minute meal after 4 hours.
TWO_BY_TWELVE = ShiftPattern(
    "2x12", (Shift("day", 8 * 60, 720, _meal()), Shift("night", 20 * 60, 720, _meal()))
)
THREE_BY_EIGHT = ShiftPattern(
    "3x8",
    (
        Shift("early", 6 * 60, 480, _meal()),
        Shift("late", 14 * 60, 480, _meal()),
        Shift("night", 22 * 60, 480, _meal()),
    ),
)
ONE_BY_EIGHT = ShiftPattern("1x8", (Shift("day", 8 * 60, 540, (Break(240, 60),)),))
AROUND_THE_CLOCK = ShiftPattern("24h", (Shift("day", 0, DAY_MIN),))


@dataclass(frozen=True, slots=True)
class Shifts:
    """Shift instances in time order: UTC bounds, the shift's name, the local day it starts."""

    start_ms: I64
    end_ms: I64
    name: tuple[str, ...]
    day: tuple[date, ...]

    def windows(self) -> list[tuple[int, int]]:
        """(start_ms, end_ms) of each shift, for cutting KPIs per shift."""
        return list(zip(self.start_ms.tolist(), self.end_ms.tolist(), strict=True))

    def __len__(self) -> int:
        return len(self.start_ms)


@dataclass(frozen=True, slots=True)
class ShiftCalendar:
    """A site's calendar: pattern, time zone, weekends, holidays, planned maintenance.

    weekend_days: local weekdays off (Monday = 0); a plant that runs seven days keeps none.
    breaks_are_pdot: book breaks as planned down time (domain.md 1.1); if False they stay in
    planned busy time. planned_downtime: extra PDOT as (start_ms, end_ms), counted where it
    falls inside POT.
    """

    pattern: ShiftPattern = TWO_BY_TWELVE
    timezone: str = "Asia/Shanghai"
    weekend_days: tuple[int, ...] = (5, 6)
    holidays: HolidayTable = CN_HOLIDAYS
    breaks_are_pdot: bool = True
    planned_downtime: tuple[tuple[int, int], ...] = ()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInput(f"unknown time zone {self.timezone!r}", where="shift calendar") from None
        object.__setattr__(self, "_zone", zone)

    @classmethod
    def continuous(cls, timezone: str = "Asia/Shanghai") -> ShiftCalendar:
        """Planned around the clock, every day (a roller kiln: domain.md 7.1)."""
        return cls(AROUND_THE_CLOCK, timezone, (), HolidayTable.none(), True, ())

    def is_working_day(self, day: date) -> bool:
        """Whether shifts starting on this local day run.

        >>> cal = ShiftCalendar()
        >>> cal.is_working_day(date(2024, 10, 1)), cal.is_working_day(date(2024, 10, 12))
        (False, True)
        """
        if self.holidays.is_day_off(day):
            return False
        if self.holidays.is_workday(day):
            return True
        return day.weekday() not in self.weekend_days

    def shifts(self, start_ms: int, end_ms: int) -> Shifts:
        """The shifts overlapping [start_ms, end_ms), whole (not clipped), in time order.

        >>> friday = 1_704_384_000_000  # 2024-01-05 00:00 in Foshan; Saturday is off
        >>> s = ShiftCalendar(THREE_BY_EIGHT).shifts(friday, friday + 86_400_000)
        >>> s.name
        ('night', 'early', 'late', 'night')
        >>> [d.day for d in s.day], int(s.end_ms[-1] - friday) // 3_600_000
        ([4, 5, 5, 5], 30)
        """
        rows = [(a, b, s.name, day) for day, s, a, b in self._instances(start_ms, end_ms)]
        rows.sort()
        return Shifts(
            np.array([r[0] for r in rows], dtype=np.int64),
            np.array([r[1] for r in rows], dtype=np.int64),
            tuple(r[2] for r in rows),
            tuple(r[3] for r in rows),
        )

    def planned_time(self, start_ms: int, end_ms: int) -> PlannedTime:
        """POT cut into PDOT and PBT pieces over [start_ms, end_ms).

        >>> friday = 1_704_384_000_000  # 2024-01-05 00:00 in Foshan
        >>> p = ShiftCalendar(ONE_BY_EIGHT).planned_time(friday, friday + 86_400_000)
        >>> p.pot_ms // 60_000, p.pdot_ms // 60_000  # 08:00-17:00 with a lunch hour
        (540, 60)
        """
        pot: list[tuple[int, int]] = []
        down: list[tuple[int, int]] = []
        for day, shift, a, b in self._instances(start_ms, end_ms):
            pot.append((a, b))
            if self.breaks_are_pdot:
                down.extend(
                    self._local_span(day, shift.start_min + x.after_min, x.duration_min)
                    for x in shift.breaks
                )
        pot_rows = _merged(pot, start_ms, end_ms, level=1)
        down.extend(_inside(self.planned_downtime, pot_rows))
        rows = _merged(pot + down, start_ms, end_ms, level=1, down=len(pot))
        return PlannedTime(rows.start_ms, rows.end_ms, rows.level == 2)

    def _instances(self, start_ms: int, end_ms: int) -> list[tuple[date, Shift, int, int]]:
        """Shifts of working days that overlap the window, with their UTC bounds."""
        first = self._local_day(start_ms) - timedelta(days=1)
        last = self._local_day(max(end_ms - 1, start_ms))
        out = []
        day = first
        while day <= last:
            if self.is_working_day(day):
                for s in self.pattern.shifts:
                    a, b = self._local_span(day, s.start_min, s.duration_min)
                    if b > start_ms and a < end_ms:
                        out.append((day, s, a, b))
            day += timedelta(days=1)
        return out

    def _local_day(self, t_ms: int) -> date:
        return datetime.fromtimestamp(t_ms / 1000, tz=self._zone).date()

    def _local_span(self, day: date, start_min: int, duration_min: int) -> tuple[int, int]:
        """UTC ms of a wall-clock span starting start_min after local midnight of day."""
        midnight = datetime(day.year, day.month, day.day, tzinfo=self._zone)
        a = midnight + timedelta(minutes=start_min)
        b = midnight + timedelta(minutes=start_min + duration_min)
        return _ms(a), _ms(b)


def _ms(t: datetime) -> int:
    return round(t.timestamp() * 1000)


def _merged(
    spans: Sequence[tuple[int, int]],
    start_ms: int,
    end_ms: int,
    *,
    level: int,
    down: int | None = None,
) -> Ranked:
    """Spans as disjoint pieces clipped to the window; spans from index `down` on are level 2."""
    n = len(spans)
    lv = np.full(n, level, dtype=np.int8)
    if down is not None:
        lv[down:] = 2
    rows = Ranked(
        np.zeros(n, dtype=np.int64),
        np.array([s[0] for s in spans], dtype=np.int64),
        np.array([s[1] for s in spans], dtype=np.int64),
        lv,
    )
    return coalesce(resolve(clip(rows, start_ms, end_ms), end_ms - start_ms + 1))


def _inside(spans: Sequence[tuple[int, int]], pot: Ranked) -> list[tuple[int, int]]:
    """The parts of the spans that lie in POT (planned maintenance outside POT changes nothing)."""
    out = []
    for a, b in spans:
        lo = int(np.searchsorted(pot.end_ms, a, side="right"))
        hi = int(np.searchsorted(pot.start_ms, b, side="left"))
        for k in range(lo, hi):
            s, e = max(a, int(pot.start_ms[k])), min(b, int(pot.end_ms[k]))
            if e > s:
                out.append((s, e))
    return out
