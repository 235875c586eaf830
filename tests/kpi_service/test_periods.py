"""Periods in the site's time zone and calendar, cut at now; ranges that are refused."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from kiln.errors import BadInput
from kiln.kpi.cn_holidays import HolidayTable
from kiln.kpi.shift_calendar import THREE_BY_EIGHT, ShiftCalendar
from kiln.kpi_service.periods import Period, Window, periods_of
from tests.kpi_service.worked import DAY_MS, at, local_ms

FOSHAN = ZoneInfo("Asia/Shanghai")
LATER = local_ms(2025, 1, 1)


def labels(window: Window, start: int, end: int | None = None, now: int = LATER) -> list[str]:
    cal = ShiftCalendar(THREE_BY_EIGHT)
    found = periods_of(window, start, end, zone=FOSHAN, calendar=cal, now_ms=now)
    return [p.label for p in found]


def test_days_weeks_and_months_follow_local_midnight() -> None:
    (day,) = periods_of(Window.DAY, at(0, 30), None, zone=FOSHAN, calendar=None, now_ms=LATER)
    assert day == Period(local_ms(2024, 1, 5), local_ms(2024, 1, 6), "2024-01-05")
    assert labels(Window.WEEK, at(7)) == ["2024-W01"]
    assert labels(Window.MONTH, at(7), local_ms(2024, 3, 1)) == ["2024-01", "2024-02"]
    (month,) = periods_of(Window.MONTH, at(7), None, zone=FOSHAN, calendar=None, now_ms=LATER)
    assert month.end_ms - month.start_ms == 31 * DAY_MS


def test_a_range_gives_every_period_it_touches() -> None:
    assert labels(Window.DAY, at(7), at(7) + 2 * DAY_MS) == [
        "2024-01-05",
        "2024-01-06",
        "2024-01-07",
    ]
    day = local_ms(2024, 1, 5)
    assert labels(Window.SHIFT, day, day + DAY_MS) == [  # the shifts that start that day
        "2024-01-05 early",
        "2024-01-05 late",
        "2024-01-05 night",
    ]
    assert labels(Window.SHIFT, at(7), at(9)) == ["2024-01-05 early"]  # inside one shift


def test_the_shift_at_a_rest_day_is_the_last_one_before_it() -> None:
    saturday_noon = local_ms(2024, 1, 6, 12)
    assert labels(Window.SHIFT, saturday_noon) == ["2024-01-05 night"]


def test_a_calendar_without_shifts_for_two_weeks_is_refused() -> None:
    never = ShiftCalendar(
        THREE_BY_EIGHT, weekend_days=tuple(range(7)), holidays=HolidayTable.none()
    )
    with pytest.raises(BadInput, match="no shift in the two weeks") as err:
        periods_of(Window.SHIFT, at(7), None, zone=FOSHAN, calendar=never, now_ms=LATER)
    assert err.value.where == "query: start"


def test_periods_stop_at_now() -> None:
    now = at(9)
    (today,) = periods_of(Window.DAY, at(7), None, zone=FOSHAN, calendar=None, now_ms=now)
    assert today.end_ms == now
    assert labels(Window.DAY, at(7), at(7) + 5 * DAY_MS, now=now) == ["2024-01-05"]


@pytest.mark.parametrize(
    ("window", "start", "end", "where"),
    [
        (Window.CUSTOM, at(7), None, "query: start"),
        (Window.DAY, at(7), at(6), "query: end"),
        (Window.DAY, at(7), at(7) + 401 * DAY_MS, "query: end"),
    ],
)
def test_a_bad_range_names_the_parameter(
    window: Window, start: int, end: int | None, where: str
) -> None:
    with pytest.raises(BadInput) as err:
        periods_of(window, start, end, zone=FOSHAN, calendar=None, now_ms=LATER)
    assert err.value.where == where
