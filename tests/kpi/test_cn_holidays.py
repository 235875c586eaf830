"""The holiday table against the notices: counts per year, make-up days on weekends only."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from kiln.kpi.cn_holidays import CN_HOLIDAYS, NOTICES


def _days(first: str, last: str) -> int:
    return (date.fromisoformat(last) - date.fromisoformat(first)).days + 1


# Days off and weekend days worked per arrangement, as the notices list them (the arrangement
# for 2019 starts on 30 December 2018, the one for 2023 on 31 December 2022).
@pytest.mark.parametrize(
    ("year", "days_off", "workdays"),
    [
        (2018, 23, 6),
        (2019, 24, 7),
        (2020, 30, 6),
        (2021, 31, 7),
        (2022, 31, 7),
        (2023, 27, 7),
        (2024, 28, 8),
        (2025, 28, 5),
        (2026, 33, 6),
    ],
)
def test_each_notice_gives_the_published_number_of_days(
    year: int, days_off: int, workdays: int
) -> None:
    notice = next(n for n in NOTICES if n.year == year)
    assert sum(_days(a, b) for a, b in notice.days_off) == days_off
    assert len(notice.workdays) == workdays
    assert not notice.provisional


def test_every_make_up_working_day_is_a_weekend_day_and_not_a_day_off() -> None:
    assert CN_HOLIDAYS.workdays
    for day in CN_HOLIDAYS.workdays:
        assert day.weekday() >= 5, day
        assert not CN_HOLIDAYS.is_day_off(day), day


def test_the_table_covers_2018_to_2027_with_2027_provisional() -> None:
    assert CN_HOLIDAYS.years == frozenset(range(2018, 2028))
    assert CN_HOLIDAYS.provisional_years == frozenset({2027})
    provisional = next(n for n in NOTICES if n.year == 2027)
    assert provisional.workdays == ()  # no make-up day is invented before the notice


def test_the_2020_spring_festival_extension_is_applied() -> None:
    assert CN_HOLIDAYS.is_day_off(date(2020, 2, 1))
    assert CN_HOLIDAYS.is_day_off(date(2020, 2, 2))
    assert not CN_HOLIDAYS.is_workday(date(2020, 2, 1))
    assert not CN_HOLIDAYS.is_day_off(date(2020, 2, 3))


def test_the_2026_spring_festival_runs_nine_days_with_two_saturdays_worked() -> None:
    first = date(2026, 2, 15)
    assert all(CN_HOLIDAYS.is_day_off(first + timedelta(days=k)) for k in range(9))
    assert CN_HOLIDAYS.is_workday(date(2026, 2, 14))
    assert CN_HOLIDAYS.is_workday(date(2026, 2, 28))


def test_the_spans_of_each_notice_are_ordered_and_disjoint() -> None:
    for notice in NOTICES:
        spans = [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in notice.days_off]
        assert all(a <= b for a, b in spans), notice.year
        assert all(b1 < a2 for (_, b1), (a2, _) in itertools.pairwise(spans))
