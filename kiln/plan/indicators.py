"""Indicators defined as data: what is summed (or divided), over which industries, in which unit.

An indicator is filed (summed from enterprises' filings), published (the statistics bureau's own
figure, seeded or entered) or measured (from telemetry: connected enterprises, robots online,
OEE). Filed indicators are declared by a numerator figure, an optional denominator figure and a
scale (robots per 10,000 employees), and optionally an industry set: the GB/T 4754 code prefixes
that count as, say, advanced manufacturing. The sets are configuration, not code, because the
city's own definitions are not published in full (domain.md, open question 6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from kiln.domain.industries import KEY_INDUSTRIES
from kiln.plan.fields import FIELD_BY_NAME


class Origin(StrEnum):
    """Where an indicator's values come from."""

    FILED = "filed"
    PUBLISHED = "published"
    MEASURED = "measured"


class Aggregation(StrEnum):
    """How enterprises' figures make one value."""

    SUM = "sum"  # sum of the numerator (a denominator makes it a ratio of sums)
    COUNT = "count"  # enterprises with a positive numerator


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator, by key."""

    key: str
    name_en: str
    name_zh: str
    unit: str
    origin: Origin = Origin.FILED
    numerator: str = ""
    denominator: str = ""
    scale: float = 1.0
    aggregation: Aggregation = Aggregation.SUM
    industries: str = ""  # an industry set's name; empty: every industry

    def __post_init__(self) -> None:
        if self.origin is Origin.FILED:
            for role, name in (("numerator", self.numerator), ("denominator", self.denominator)):
                if (name or role == "numerator") and name not in FIELD_BY_NAME:
                    raise ValueError(
                        f"indicator {self.key!r}: {role} {name!r} is not a filing figure"
                    )

    @property
    def is_ratio(self) -> bool:
        """Whether values are a ratio of sums (not additive over groups)."""
        return bool(self.denominator)


@dataclass(frozen=True, slots=True)
class IndicatorConfig:
    """The indicators and the industry sets they refer to."""

    indicators: Mapping[str, Indicator]
    industry_sets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for ind in self.indicators.values():
            if ind.industries and ind.industries not in self.industry_sets:
                raise ValueError(
                    f"indicator {ind.key!r}: industry set {ind.industries!r} is not defined"
                )
        for name, codes in self.industry_sets.items():
            for code in codes:
                if not (code.isdigit() and 2 <= len(code) <= 4):
                    raise ValueError(
                        f"industry set {name!r}: {code!r} is not a GB/T 4754 code prefix"
                    )

    def indicator(self, key: str) -> Indicator:
        """The indicator with this key; KeyError names it."""
        try:
            return self.indicators[key]
        except KeyError:
            raise KeyError(f"no indicator {key!r}") from None

    def in_set(self, name: str, codes: Sequence[str]) -> NDArray[np.bool_]:
        """Which codes belong to the named industry set (every code for an empty name)."""
        if not name:
            return np.ones(len(codes), dtype=bool)
        prefixes = tuple(self.industry_sets[name])
        return np.fromiter((c.startswith(prefixes) for c in codes), bool, len(codes))


ROBOTS_SET = "robots_intelligent_equipment"
OTHER_GROUP = "other"


@dataclass(frozen=True, slots=True)
class IndustryGroup:
    """A column of the city's tables: a key industry, the robot makers, or everything else."""

    key: str
    name_en: str
    name_zh: str


def industry_groups() -> tuple[IndustryGroup, ...]:
    """The industry groups of the city's tables, in display order."""
    keys = [IndustryGroup(k.key, k.name_en, k.name_zh) for k in KEY_INDUSTRIES]
    return (
        *keys,
        IndustryGroup("robots", "Robots and intelligent equipment", "机器人及智能装备"),
        IndustryGroup(OTHER_GROUP, "Other manufacturing", "其他制造业"),
    )


def group_of(code: str, config: IndicatorConfig) -> str:
    """The group an industry code is shown under; the robot set wins over a key industry (3964,
    service robots, is in division 39 but belongs with the robot makers).

    >>> cfg = IndicatorConfig({}, {ROBOTS_SET: ("3491", "3964")})
    >>> group_of("3964", cfg), group_of("3951", cfg), group_of("1711", cfg)
    ('robots', 'electronics', 'other')
    """
    if code.startswith(tuple(config.industry_sets.get(ROBOTS_SET, ()))):
        return "robots"
    for key in KEY_INDUSTRIES:
        if code.startswith(key.prefixes):
            return key.key
    return OTHER_GROUP


@dataclass(frozen=True, slots=True)
class Cells:
    """An indicator summed per group: the value, the numerator and denominator sums, how many
    enterprises contributed, and the largest single contribution (for disclosure control)."""

    value: NDArray[np.float64]
    numerator: NDArray[np.float64]
    denominator: NDArray[np.float64]
    n: NDArray[np.int64]
    top: NDArray[np.float64]


def aggregate(
    ind: Indicator,
    config: IndicatorConfig,
    figures: Mapping[str, NDArray[np.float64]],
    codes: Sequence[str],
    group: NDArray[np.int64],
    groups: int,
) -> Cells:
    """One indicator per group from per-enterprise rows (NaN: not filed).

    ``group`` gives each row's group number (0..groups-1; -1 leaves the row out). A ratio
    indicator sums numerator and denominator over the rows that filed both.
    """
    num = np.asarray(figures[ind.numerator], dtype=np.float64)
    keep = (group >= 0) & config.in_set(ind.industries, codes) & ~np.isnan(num)
    den = np.ones_like(num)
    if ind.denominator:
        den = np.asarray(figures[ind.denominator], dtype=np.float64)
        keep &= ~np.isnan(den) & (den > 0)
    g = group[keep]
    x = num[keep]
    if ind.aggregation is Aggregation.COUNT:
        x = (x > 0).astype(np.float64)
    sums = np.bincount(g, weights=x, minlength=groups)[:groups].astype(np.float64)
    dens = np.bincount(g, weights=den[keep], minlength=groups)[:groups].astype(np.float64)
    n = np.bincount(g, weights=(num[keep] > 0), minlength=groups)[:groups].astype(np.int64)
    top = np.zeros(groups)
    if len(g):
        np.maximum.at(top, g, x)
    if ind.denominator:
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(dens > 0, sums / dens * ind.scale, np.nan)
    else:
        value = sums * ind.scale
    return Cells(value, sums, dens, n, top)
