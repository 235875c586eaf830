"""The periods KPIs are cut by: a site's shifts, and local days, ISO weeks and months in the
site's time zone (Asia/Shanghai by default), or one custom window; never beyond now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from kiln.errors import BadInput
from kiln.kpi.shift_calendar import ShiftCalendar

DAY_MS = 86_400_000
MAX_SPAN_MS = 400 * DAY_MS  # the longest range one request may ask for
SHIFT_SEARCH_DAYS = 14  # how far back "the shift at a time" looks when the plant rests then


class Window(StrEnum):
    """The kind of period a KPI row covers."""

    SHIFT = "shift"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Period:
    """One period: [start_ms, end_ms) in UTC ms, its label, and the shift's name for shifts."""

    start_ms: int
    end_ms: int
    label: str
    shift: str = ""


def _ms(t: datetime) -> int:
    return round(t.timestamp() * 1000)


def _local_day(t_ms: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(t_ms / 1000, tz=zone).date()


def _midnight(day: date, zone: ZoneInfo) -> int:
    return _ms(datetime(day.year, day.month, day.day, tzinfo=zone))


def _first_of(window: Window, day: date) -> date:
    if window is Window.WEEK:
        return day - timedelta(days=day.weekday())
    if window is Window.MONTH:
        return day.replace(day=1)
    return day


def _next(window: Window, day: date) -> date:
    if window is Window.WEEK:
        return day + timedelta(days=7)
    if window is Window.MONTH:
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def _label(window: Window, day: date) -> str:
    if window is Window.WEEK:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if window is Window.MONTH:
        return f"{day:%Y-%m}"
    return day.isoformat()


def calendar_periods(
    window: Window, start_ms: int, end_ms: int | None, zone: ZoneInfo
) -> list[Period]:
    """Local days, weeks or months from the one holding start_ms up to end_ms (default: that one).

    >>> from zoneinfo import ZoneInfo
    >>> p = calendar_periods(Window.DAY, 1_764_000_000_000, None, ZoneInfo("Asia/Shanghai"))
    >>> p[0].label, (p[0].end_ms - p[0].start_ms) // 3_600_000
    ('2025-11-25', 24)
    """
    day = _first_of(window, _local_day(start_ms, zone))
    out: list[Period] = []
    while True:
        nxt = _next(window, day)
        a, b = _midnight(day, zone), _midnight(nxt, zone)
        out.append(Period(a, b, _label(window, day)))
        if end_ms is None or b >= end_ms:
            return out
        day = nxt


def shift_periods(calendar: ShiftCalendar, start_ms: int, end_ms: int | None) -> list[Period]:
    """The shifts that start in [start_ms, end_ms) (a shift belongs to the day it starts on),
    else those overlapping it; without end_ms, the shift at start_ms or, when the plant rests
    then, the last one before it (looking back two weeks)."""
    if end_ms is None:
        found = calendar.shifts(start_ms - SHIFT_SEARCH_DAYS * DAY_MS, start_ms + 1)
        if not len(found):
            raise BadInput(
                "the site's calendar has no shift in the two weeks before this time",
                where="query: start",
            )
        pick = [len(found) - 1]
    else:
        found = calendar.shifts(start_ms, end_ms)
        pick = [i for i in range(len(found)) if found.start_ms[i] >= start_ms]
        pick = pick or list(range(len(found)))
    return [
        Period(
            int(found.start_ms[i]),
            int(found.end_ms[i]),
            f"{found.day[i].isoformat()} {found.name[i]}",
            found.name[i],
        )
        for i in pick
    ]


def up_to_now(periods: list[Period], now_ms: int) -> list[Period]:
    """The periods cut at now: the current one so far (empty at its very start), none from
    the future."""
    return [
        Period(p.start_ms, min(p.end_ms, now_ms), p.label, p.shift)
        for p in periods
        if p.start_ms <= now_ms
    ]


def check_range(start_ms: int | None, end_ms: int | None, *, custom: bool) -> None:
    """BadInput naming the parameter when a range is missing, reversed or too long."""
    if custom and (start_ms is None or end_ms is None):
        raise BadInput("a custom window needs both start and end", where="query: start")
    if start_ms is not None and end_ms is not None:
        if end_ms <= start_ms:
            raise BadInput("end must be after start", where="query: end")
        if end_ms - start_ms > MAX_SPAN_MS:
            raise BadInput("a range may span at most 400 days", where="query: end")


def periods_of(
    window: Window,
    start_ms: int,
    end_ms: int | None,
    *,
    zone: ZoneInfo,
    calendar: ShiftCalendar | None,
    now_ms: int,
) -> list[Period]:
    """The periods of a request, cut at now (see `up_to_now`)."""
    check_range(start_ms, end_ms, custom=window is Window.CUSTOM)
    if window is Window.CUSTOM:
        assert end_ms is not None
        found = [Period(start_ms, end_ms, "custom")]
    elif window is Window.SHIFT:
        found = shift_periods(calendar or ShiftCalendar.continuous(zone.key), start_ms, end_ms)
    else:
        found = calendar_periods(window, start_ms, end_ms, zone)
    return up_to_now(found, now_ms)
