"""Public holidays in mainland China, 2018-2027, with the weekend days worked in exchange (调休).

Each year's days off and make-up working days are set by a notice of the General Office of
the State Council, 国务院办公厅关于<year>年部分节假日安排的通知 (one per
year), issued late in the year before. The spans below are copied from those
notices (the days off as the notice lists them, weekends inside a span
included; the make-up working days, 上班, are Saturdays and Sundays). Two
notices were changed after issue, and the changes are applied: Labour Day 2019
(国办发明电〔2019〕3号) and the extended Spring Festival 2020
(国办发明电〔2020〕1号, which also turned Saturday 1 February from a working
day into a day off).

The notice for 2027 had not been published when this table was written. For 2027 it carries
only the statutory days of 全国年节及纪念日放假办法 as revised by 国务院令第795号 (in force from
1 January 2025: New Year 1 day, Spring Festival 4, Qingming 1, Labour Day 2, Dragon Boat 1,
Mid-Autumn 1, National Day 3), with no bridging days and no make-up working days; it is marked
provisional. Replace it with the notice when the State Council issues it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class HolidayNotice:
    """One year's arrangement: days off as inclusive ISO date spans, and weekend days worked."""

    year: int
    source: str
    days_off: tuple[tuple[str, str], ...]
    workdays: tuple[str, ...] = ()
    provisional: bool = False


# fmt: off
NOTICES: tuple[HolidayNotice, ...] = (
    HolidayNotice(
        2018,
        "国办发明电〔2017〕12号, 2017-11-30, gov.cn/zhengce/content/2017-11/30/content_5243579.htm",
        (("2018-01-01", "2018-01-01"), ("2018-02-15", "2018-02-21"), ("2018-04-05", "2018-04-07"),
         ("2018-04-29", "2018-05-01"), ("2018-06-18", "2018-06-18"), ("2018-09-24", "2018-09-24"),
         ("2018-10-01", "2018-10-07")),
        ("2018-02-11", "2018-02-24", "2018-04-08", "2018-04-28", "2018-09-29", "2018-09-30"),
    ),
    HolidayNotice(
        2019,
        "国办发明电〔2018〕15号, 2018-12-04 (New Year from 30 December 2018); Labour Day changed "
        "by 国办发明电〔2019〕3号, gov.cn/zhengce/content/2019-03/22/content_5375877.htm",
        (("2018-12-30", "2019-01-01"), ("2019-02-04", "2019-02-10"), ("2019-04-05", "2019-04-05"),
         ("2019-05-01", "2019-05-04"), ("2019-06-07", "2019-06-07"), ("2019-09-13", "2019-09-13"),
         ("2019-10-01", "2019-10-07")),
        ("2018-12-29", "2019-02-02", "2019-02-03", "2019-04-28", "2019-05-05", "2019-09-29",
         "2019-10-12"),
    ),
    HolidayNotice(
        2020,
        "国办发明电〔2019〕16号, 2019-11-21, gov.cn/zhengce/content/2019-11/21/content_5454164.htm;"
        " Spring Festival extended to 2 February by 国办发明电〔2020〕1号, 2020-01-27",
        (("2020-01-01", "2020-01-01"), ("2020-01-24", "2020-02-02"), ("2020-04-04", "2020-04-06"),
         ("2020-05-01", "2020-05-05"), ("2020-06-25", "2020-06-27"), ("2020-10-01", "2020-10-08")),
        ("2020-01-19", "2020-04-26", "2020-05-09", "2020-06-28", "2020-09-27", "2020-10-10"),
    ),
    HolidayNotice(
        2021,
        "国办发明电〔2020〕27号, 2020-11-25, gov.cn/zhengce/content/2020-11/25/content_5564127.htm",
        (("2021-01-01", "2021-01-03"), ("2021-02-11", "2021-02-17"), ("2021-04-03", "2021-04-05"),
         ("2021-05-01", "2021-05-05"), ("2021-06-12", "2021-06-14"), ("2021-09-19", "2021-09-21"),
         ("2021-10-01", "2021-10-07")),
        ("2021-02-07", "2021-02-20", "2021-04-25", "2021-05-08", "2021-09-18", "2021-09-26",
         "2021-10-09"),
    ),
    HolidayNotice(
        2022,
        "国办发明电〔2021〕11号, 2021-10-25, gov.cn/zhengce/content/2021-10/25/content_5644835.htm",
        (("2022-01-01", "2022-01-03"), ("2022-01-31", "2022-02-06"), ("2022-04-03", "2022-04-05"),
         ("2022-04-30", "2022-05-04"), ("2022-06-03", "2022-06-05"), ("2022-09-10", "2022-09-12"),
         ("2022-10-01", "2022-10-07")),
        ("2022-01-29", "2022-01-30", "2022-04-02", "2022-04-24", "2022-05-07", "2022-10-08",
         "2022-10-09"),
    ),
    HolidayNotice(
        2023,
        "国办发明电〔2022〕16号, 2022-12-08 (New Year from 31 December 2022), "
        "gov.cn/zhengce/content/2022-12/08/content_5730844.htm",
        (("2022-12-31", "2023-01-02"), ("2023-01-21", "2023-01-27"), ("2023-04-05", "2023-04-05"),
         ("2023-04-29", "2023-05-03"), ("2023-06-22", "2023-06-24"), ("2023-09-29", "2023-10-06")),
        ("2023-01-28", "2023-01-29", "2023-04-23", "2023-05-06", "2023-06-25", "2023-10-07",
         "2023-10-08"),
    ),
    HolidayNotice(
        2024,
        "国办发明电〔2023〕7号, 2023-10-25, gov.cn/zhengce/content/202310/content_6911527.htm",
        (("2024-01-01", "2024-01-01"), ("2024-02-10", "2024-02-17"), ("2024-04-04", "2024-04-06"),
         ("2024-05-01", "2024-05-05"), ("2024-06-10", "2024-06-10"), ("2024-09-15", "2024-09-17"),
         ("2024-10-01", "2024-10-07")),
        ("2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14",
         "2024-09-29", "2024-10-12"),
    ),
    HolidayNotice(
        2025,
        "国办发明电〔2024〕12号, 2024-11-12, gov.cn/zhengce/content/202411/content_6986382.htm",
        (("2025-01-01", "2025-01-01"), ("2025-01-28", "2025-02-04"), ("2025-04-04", "2025-04-06"),
         ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08")),
        ("2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"),
    ),
    HolidayNotice(
        2026,
        "国办发明电〔2025〕7号, 2025-11-04",
        (("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
         ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
         ("2026-10-01", "2026-10-07")),
        ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"),
    ),
    HolidayNotice(
        2027,
        "statutory days of 国务院令第795号 only; the State Council notice for 2027 was not yet "
        "published",
        (("2027-01-01", "2027-01-01"), ("2027-02-05", "2027-02-08"), ("2027-04-05", "2027-04-05"),
         ("2027-05-01", "2027-05-02"), ("2027-06-09", "2027-06-09"), ("2027-09-15", "2027-09-15"),
         ("2027-10-01", "2027-10-03")),
        provisional=True,
    ),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class HolidayTable:
    """Days off and weekend days worked, for the years some notice covers."""

    days_off: frozenset[date]
    workdays: frozenset[date]
    years: frozenset[int]
    provisional_years: frozenset[int]

    @classmethod
    def from_notices(cls, notices: tuple[HolidayNotice, ...]) -> HolidayTable:
        """Expand the notices' spans into single days."""
        off: set[date] = set()
        for notice in notices:
            for first, last in notice.days_off:
                day, end = date.fromisoformat(first), date.fromisoformat(last)
                while day <= end:
                    off.add(day)
                    day += timedelta(days=1)
        return cls(
            frozenset(off),
            frozenset(date.fromisoformat(d) for n in notices for d in n.workdays),
            frozenset(n.year for n in notices),
            frozenset(n.year for n in notices if n.provisional),
        )

    @classmethod
    def none(cls) -> HolidayTable:
        """No holidays at all (a plant that works through them)."""
        return cls(frozenset(), frozenset(), frozenset(), frozenset())

    def is_day_off(self, day: date) -> bool:
        """Whether the notices give the day off.

        >>> CN_HOLIDAYS.is_day_off(date(2024, 10, 3)), CN_HOLIDAYS.is_day_off(date(2024, 10, 8))
        (True, False)
        """
        return day in self.days_off

    def is_workday(self, day: date) -> bool:
        """Whether a weekend day is worked in exchange for a holiday (调休上班).

        >>> CN_HOLIDAYS.is_workday(date(2024, 10, 12))  # a Saturday
        True
        """
        return day in self.workdays


CN_HOLIDAYS = HolidayTable.from_notices(NOTICES)
