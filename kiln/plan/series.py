"""The yearly figures a target is judged on, and what progress says about them: the data of
`kiln.plan.progress`, apart so the wording (`kiln.plan.wording`) can use it too."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from kiln.plan.model import Target, TargetKind


class Source(StrEnum):
    """Where a yearly figure comes from."""

    PUBLISHED = "published"  # the statistics bureau, or the plan's documents
    FILED = "filed"  # the sum of enterprises' statistical filings
    MEASURED = "measured"  # counted by the platform from connected equipment
    IMPLIED = "implied"  # derived from the plan's own targets
    ESTIMATE = "estimate"  # estimated by the service, e.g. a year in progress annualised


@dataclass(frozen=True, slots=True)
class Actual:
    """The value of an indicator for one year, and how far it can be trusted."""

    year: int
    value: float
    source: Source
    coverage: float | None = None  # share of enterprises in scope that filed (0..1)
    partial_months: int = 12  # < 12: the service annualised a year in progress (ESTIMATE)

    def __post_init__(self) -> None:
        where = f"actual {self.year}"
        if not math.isfinite(self.value):
            raise ValueError(f"{where}: value {self.value} is not a number")
        if self.coverage is not None and not 0.0 <= self.coverage <= 1.0:
            raise ValueError(f"{where}: coverage {self.coverage} is not within 0..1")
        if not 1 <= self.partial_months <= 12:
            raise ValueError(f"{where}: partial_months {self.partial_months} is not 1..12")
        if self.partial_months < 12 and self.source is not Source.ESTIMATE:
            raise ValueError(f"{where}: a partial year must be an ESTIMATE, not {self.source}")


class Status(StrEnum):
    """Where a target stands."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    MET = "met"
    MISSED = "missed"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class Projection:
    """A value projected to a year, its band, and the growth (% a year) carried forward."""

    year: int
    central: float
    low: float
    high: float
    growth_pct: float


@dataclass(frozen=True, slots=True)
class Progress:
    """How one target is going; the module docstring gives the rules."""

    target: Target
    baseline: Actual | None  # the baseline used (given, actual, or IMPLIED from a sibling)
    trajectory: tuple[tuple[int, float], ...]  # the target's own path, baseline to deadline
    actuals: tuple[Actual, ...]  # the figures that count: baseline year to deadline
    yoy_pct: dict[int, float]  # growth year on year where both years are known
    cagr_pct: float | None  # since the baseline to the latest figure
    required_cagr_pct: float | None  # still needed a year, from the latest figure
    projection: Projection | None  # at the deadline
    status: Status
    reason_en: str
    reason_zh: str


def in_target_terms(target: Target, level: float, baseline: float | None) -> float:
    """A deadline level as the target counts it: itself, or the average growth (%) it makes."""
    if target.kind is TargetKind.LEVEL:
        return level
    if baseline is None:
        raise ValueError(f"target {target.key!r}: a growth target needs a baseline")
    return cagr_pct(baseline, level, target.deadline_year - target.baseline_year)


def cagr_pct(start: float, end: float, years: int) -> float:
    """Compound annual growth in percent from start to end over the years."""
    return (math.pow(end / start, 1 / years) - 1) * 100
