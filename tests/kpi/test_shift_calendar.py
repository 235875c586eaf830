"""Shift calendars: patterns, a shift across midnight, weekends, holidays and make-up days,
breaks and planned maintenance as PDOT, time zones."""

from __future__ import annotations

from datetime import date

import pytest

from kiln.errors import BadInput
from kiln.kpi.cn_holidays import HolidayTable
from kiln.kpi.shift_calendar import (
    THREE_BY_EIGHT,
    TWO_BY_TWELVE,
    Break,
    Shift,
    ShiftCalendar,
    ShiftPattern,
)
from tests.kpi.builders import DAY_MS, HOUR_MS, MINUTE_MS, local_ms


def test_two_by_twelve_plans_24_hours_with_two_meal_breaks() -> None:
    start = local_ms(2024, 1, 3)  # a Wednesday
    p = ShiftCalendar(TWO_BY_TWELVE).planned_time(start, start + DAY_MS)
    assert p.pot_ms == DAY_MS
    assert p.pdot_ms == 60 * MINUTE_MS
    breaks = [
        (int(a - start) // MINUTE_MS, int(b - a) // MINUTE_MS)
        for a, b, d in zip(p.start_ms, p.end_ms, p.planned_down, strict=True)
        if d
    ]
    assert breaks == [(0, 30), (12 * 60, 30)]  # the night shift's 00:00 meal, then noon's


def test_a_night_shift_crossing_midnight_belongs_to_the_day_it_starts() -> None:
    cal = ShiftCalendar(THREE_BY_EIGHT)
    friday = local_ms(2024, 1, 5)
    shifts = cal.shifts(friday + 20 * HOUR_MS, friday + 30 * HOUR_MS)
    assert shifts.name == ("late", "night")
    night_start, night_end = shifts.windows()[1]
    assert night_start == local_ms(2024, 1, 5, 22)
    assert night_end == local_ms(2024, 1, 6, 6)
    assert str(shifts.day[1]) == "2024-01-05"
    # Saturday is off, so no shift starts on it: Saturday's morning holds only Friday's night.
    saturday = cal.planned_time(local_ms(2024, 1, 6), local_ms(2024, 1, 7))
    assert saturday.pot_ms == 6 * HOUR_MS


def test_weekends_and_public_holidays_have_no_planned_time() -> None:
    cal = ShiftCalendar(TWO_BY_TWELVE)
    for day in ((2024, 10, 1), (2024, 10, 7), (2024, 10, 19)):  # National Day x2, a Saturday
        start = local_ms(*day, 8)
        assert cal.planned_time(start, start + 12 * HOUR_MS).pot_ms == 0, day


def test_a_make_up_working_day_on_a_saturday_is_planned() -> None:
    cal = ShiftCalendar(TWO_BY_TWELVE)
    start = local_ms(2024, 10, 12, 8)  # Saturday worked in exchange for National Day
    assert cal.is_working_day(date(2024, 10, 12))
    assert cal.planned_time(start, start + 12 * HOUR_MS).pot_ms == 12 * HOUR_MS


def test_a_plant_that_works_through_holidays_and_weekends() -> None:
    cal = ShiftCalendar(TWO_BY_TWELVE, weekend_days=(), holidays=HolidayTable.none())
    start = local_ms(2024, 10, 1)
    assert cal.planned_time(start, start + DAY_MS).pot_ms == DAY_MS


def test_planned_maintenance_is_pdot_only_where_it_falls_in_pot() -> None:
    day = local_ms(2024, 1, 3)
    maintenance = ((day + 6 * HOUR_MS, day + 10 * HOUR_MS),)  # 06:00-10:00; shifts from 08:00
    cal = ShiftCalendar(THREE_BY_EIGHT, planned_downtime=maintenance)
    p = cal.planned_time(day + 6 * HOUR_MS, day + 14 * HOUR_MS)  # the early shift
    assert p.pot_ms == 8 * HOUR_MS
    assert p.pdot_ms == 4 * HOUR_MS + 30 * MINUTE_MS  # maintenance plus the 10:00 meal
    weekend = ShiftCalendar(
        THREE_BY_EIGHT, planned_downtime=((local_ms(2024, 1, 6, 8), local_ms(2024, 1, 6, 12)),)
    )
    assert weekend.planned_time(local_ms(2024, 1, 6, 8), local_ms(2024, 1, 6, 12)).pot_ms == 0


def test_breaks_not_booked_as_pdot_stay_planned_busy_time() -> None:
    start = local_ms(2024, 1, 3)
    p = ShiftCalendar(TWO_BY_TWELVE, breaks_are_pdot=False).planned_time(start, start + DAY_MS)
    assert p.pot_ms == DAY_MS
    assert p.pdot_ms == 0


def test_the_site_time_zone_moves_the_shifts() -> None:
    start = local_ms(2024, 1, 3, 8)  # 08:00 in Foshan = 00:00 UTC
    utc = ShiftCalendar(TWO_BY_TWELVE, timezone="UTC").shifts(start, start + HOUR_MS)
    assert utc.name == ("night",)  # 00:00 UTC is in the night shift of 20:00-08:00 UTC
    assert utc.windows() == [(start - 4 * HOUR_MS, start + 8 * HOUR_MS)]
    foshan = ShiftCalendar(TWO_BY_TWELVE).shifts(start, start + HOUR_MS)
    assert foshan.windows()[0][0] == start
    assert foshan.name == ("day",)


def test_a_window_cuts_planned_time() -> None:
    start = local_ms(2024, 1, 3, 10)
    p = ShiftCalendar(TWO_BY_TWELVE).planned_time(start, start + HOUR_MS)
    assert p.pot_ms == HOUR_MS
    assert p.pdot_ms == 0


def test_bad_calendars_are_refused_naming_what_and_where() -> None:
    with pytest.raises(BadInput, match="shift calendar: unknown time zone 'Mars/Olympus'"):
        ShiftCalendar(timezone="Mars/Olympus")
    with pytest.raises(BadInput, match="pattern 'x': shifts 'a' and 'b' overlap"):
        ShiftPattern("x", (Shift("a", 6 * 60, 600), Shift("b", 14 * 60, 480)))
    with pytest.raises(BadInput, match=r"shift 'a': break .* does not lie inside the shift"):
        Shift("a", 6 * 60, 60, (Break(50, 30),))
    with pytest.raises(BadInput, match="shift 'a': start 1440 min is not a time of day"):
        Shift("a", 1440, 60)
    with pytest.raises(BadInput, match="shift 'a': length 0 min"):
        Shift("a", 0, 0)
