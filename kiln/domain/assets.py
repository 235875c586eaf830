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


@dataclass(frozen=True, slots=True)
class Site:
    """A plant of an enterprise, with the time zone its shifts are kept in."""

    id: int
    enterprise_id: int
    slug: str
    name: str
    timezone: str = "Asia/Shanghai"


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
