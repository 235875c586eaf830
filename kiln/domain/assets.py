"""The asset model (ISA-95 levels): city, district, enterprise, site, line, station, equipment.

Every row below the district carries its enterprise: that is the unit of tenancy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def check_slug(text: str, *, where: str) -> str:
    """Return text if it is a lower-case ASCII slug fit for a topic level, else raise ValueError.

    >>> check_slug("press-2", where="equipment")
    'press-2'
    """
    if not SLUG.match(text):
        raise ValueError(
            f"{where}: {text!r} is not a slug (lower-case ASCII letters, digits and '-', "
            "1-64 characters, not starting or ending with '-')"
        )
    return text


@dataclass(frozen=True, slots=True)
class District:
    """A district of the city (administrative division code, names)."""

    id: int
    code: str
    name_en: str
    name_zh: str


# Foshan's five districts with their administrative division codes (GB/T 2260).
FOSHAN_DISTRICTS: tuple[District, ...] = (
    District(1, "chancheng", "Chancheng", "禅城区"),
    District(2, "nanhai", "Nanhai", "南海区"),
    District(3, "shunde", "Shunde", "顺德区"),
    District(4, "gaoming", "Gaoming", "高明区"),
    District(5, "sanshui", "Sanshui", "三水区"),
)
DISTRICT_DIVISION_CODES = {
    "chancheng": "440604",
    "nanhai": "440605",
    "shunde": "440606",
    "sanshui": "440607",
    "gaoming": "440608",
}


@dataclass(frozen=True, slots=True)
class Enterprise:
    """A legal-person industrial unit: the tenant."""

    id: int
    slug: str
    name: str
    district: str
    industry_code: str
    robot_maker: bool = False
    name_zh: str = ""


# A site's shift calendar, as an asset document writes it (domain.md 1.6): which shifts run,
# on which weekdays, whether Chinese public holidays are off, and how breaks are booked.
SHIFT_PATTERNS = ("1x8", "2x12", "3x8", "24h")
WORKDAYS = {"mon-fri": (5, 6), "mon-sat": (6,), "all": ()}  # name: local weekdays off (Mon = 0)
HOLIDAYS = ("cn", "none")
BREAKS = ("pdot", "pbt")  # breaks booked as planned down time, or left in planned busy time


@dataclass(frozen=True, slots=True)
class SiteCalendar:
    """The calendar keys of a site; the default plans around the clock, every day.

    >>> SiteCalendar.parse("2x12/mon-sat/cn/pdot")
    SiteCalendar(shifts='2x12', workdays='mon-sat', holidays='cn', breaks='pdot')
    >>> SiteCalendar("3x8").text
    '3x8/all/none/pdot'
    """

    shifts: str = "24h"
    workdays: str = "all"
    holidays: str = "none"
    breaks: str = "pdot"

    def __post_init__(self) -> None:
        for key, value, allowed in (
            ("shifts", self.shifts, SHIFT_PATTERNS),
            ("workdays", self.workdays, tuple(WORKDAYS)),
            ("holidays", self.holidays, HOLIDAYS),
            ("breaks", self.breaks, BREAKS),
        ):
            if value not in allowed:
                raise ValueError(f"{key}: {value!r} is not one of {', '.join(allowed)}")

    @property
    def text(self) -> str:
        """The stored form: the four keys joined by '/'."""
        return "/".join((self.shifts, self.workdays, self.holidays, self.breaks))

    @classmethod
    def parse(cls, text: str | None) -> SiteCalendar:
        """From the stored form; None or '' is the default (around the clock)."""
        if not text:
            return cls()
        return cls(*text.split("/"))


@dataclass(frozen=True, slots=True)
class Site:
    """A plant of an enterprise, with the time zone its shifts are kept in, and its calendar."""

    id: int
    enterprise_id: int
    slug: str
    name: str
    timezone: str = "Asia/Shanghai"
    calendar: SiteCalendar = SiteCalendar()


@dataclass(frozen=True, slots=True)
class Line:
    """A work centre: production line, process cell or production unit."""

    id: int
    enterprise_id: int
    site_id: int
    slug: str
    name: str
    area: str = ""


@dataclass(frozen=True, slots=True)
class Station:
    """A work unit on a line; manual stations say how many operators a shift needs."""

    id: int
    enterprise_id: int
    line_id: int
    slug: str
    name: str
    position: int = 0
    operators: int = 0


@dataclass(frozen=True, slots=True)
class Equipment:
    """A machine or robot at a station, built from a template."""

    id: int
    enterprise_id: int
    station_id: int
    slug: str
    name: str
    template: str
    ideal_cycle_s: float | None = None


@dataclass(frozen=True, slots=True)
class Signal:
    """One measured quantity of one equipment; its id is the series id of its points."""

    id: int
    enterprise_id: int
    equipment_id: int
    name: str
    unit: str
    kind: str  # gauge | counter | state | enum
    lo: float | None = None  # normal range
    hi: float | None = None
