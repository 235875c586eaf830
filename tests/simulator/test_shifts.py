from __future__ import annotations

import pytest

from kiln.domain.states import EquipmentState
from kiln.errors import BadInput
from kiln.simulator.reasons import REASONS
from kiln.simulator.shifts import ShiftCalendar, utc_offset_h

from .conftest import DAY_MS, HOUR_MS, MONDAY_MS

MINUTE_MS = 60_000


def _stops(cal: ShiftCalendar, start: int, end: int) -> list[tuple[float, float, str, str | None]]:
    s = cal.stops(start, end)
    return [
        ((a - start) / HOUR_MS, (b - a) / MINUTE_MS, EquipmentState(int(st)).name, REASONS[r])
        for a, b, st, r in zip(s.start_ms, s.end_ms, s.state, s.reason, strict=True)
    ]


def test_each_shift_breaks_thirty_minutes_for_a_meal() -> None:
    # Monday 08:00 local = 00:00 UTC; meals at 12:00 and 00:00 local = 04:00 and 16:00 UTC.
    assert _stops(ShiftCalendar(), MONDAY_MS, MONDAY_MS + DAY_MS) == [
        (4.0, 30.0, "PLANNED_DOWN", "meal_break"),
        (16.0, 30.0, "PLANNED_DOWN", "meal_break"),
    ]


def test_a_plant_with_a_day_off_rests_from_sunday_to_monday_morning() -> None:
    sunday_8am = MONDAY_MS - DAY_MS
    stops = _stops(ShiftCalendar(sunday_off=True), sunday_8am - DAY_MS, MONDAY_MS + DAY_MS)
    assert (24.0, 24 * 60.0, "OFF_SHIFT", None) in stops
    # Saturday night's meal at Sunday 00:00 local stays; Monday 00:00 local falls in the rest.
    assert (16.0, 30.0, "PLANNED_DOWN", "meal_break") in stops
    assert all(not (24.0 < start < 48.0) for start, *_ in stops)
    assert (52.0, 30.0, "PLANNED_DOWN", "meal_break") in stops


def test_continuous_equipment_never_stops_for_the_calendar() -> None:
    assert _stops(ShiftCalendar(continuous=True), MONDAY_MS, MONDAY_MS + 7 * DAY_MS) == []


def test_stops_overlapping_the_window_are_returned_whole() -> None:
    inside_a_break = MONDAY_MS + 4 * HOUR_MS + 10 * MINUTE_MS
    s = ShiftCalendar().stops(inside_a_break, inside_a_break + MINUTE_MS)
    assert [int(a) for a in s.start_ms] == [MONDAY_MS + 4 * HOUR_MS]


def test_a_moment_in_a_stop_is_cleared_to_its_end() -> None:
    cal = ShiftCalendar(sunday_off=True)
    assert cal.clear_of_stops(MONDAY_MS + HOUR_MS) == MONDAY_MS + HOUR_MS
    assert (
        cal.clear_of_stops(MONDAY_MS + 4 * HOUR_MS + 1) == MONDAY_MS + 4 * HOUR_MS + 30 * MINUTE_MS
    )
    assert cal.clear_of_stops(MONDAY_MS - HOUR_MS) == MONDAY_MS


def test_an_unknown_time_zone_is_named() -> None:
    assert utc_offset_h("Asia/Shanghai", where="x") == 8
    with pytest.raises(BadInput, match="site 3: time zone 'Europe/Berlin' is not simulated"):
        utc_offset_h("Europe/Berlin", where="site 3")
