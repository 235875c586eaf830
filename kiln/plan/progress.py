"""How a plan target is going, from yearly figures: growth so far and still needed, a
projection to the deadline with an uncertainty band, and the status in words (en, zh).

Pure: figures in, a `Progress` out; the year comes in as ``as_of_year``, money in yuan.

The rules, and why:

* Baseline: the target's own ``baseline_value`` (taken as published with the plan); else the
  complete figure for the baseline year; else, for a level target whose growth sibling has the
  same indicator, scope and baseline year, `implied_baseline` (source IMPLIED: what the plan
  itself assumed). Without one there is no trajectory and no growth since the baseline.
* Figures: those from the baseline year to the deadline count, the baseline standing in for
  the baseline year's. Figures after the deadline are ignored (the plan judges the deadline
  year), but one after a deadline year that has none is refused: that year is missing, not over.
  An IMPLIED baseline is the plan's assumption, not a measurement, so the projection leaves it
  out unless it is the only other point there is.
* Projection: log-linear at the compound growth rate from the first to the latest figure (the
  CAGR a plan reader checks), carried on from the latest. Band: central x exp(+-z sd sqrt(h)),
  h the years from the latest figure to the deadline, sd the spread of the annual log growth
  rates (a gap of n years counts once, at its average rate): their sample standard deviation
  when there are at least 3, else DEFAULT_GROWTH_SD (0.05, about 5 points a year, a usual swing
  of a city's industrial growth). sd never goes below that default: a few smooth years say
  little about the next, and a band of zero width would claim a certainty no plan indicator
  has. A year in progress annualised from m months (ESTIMATE) leaves (12 - m) / 12 of a year
  unobserved, which is added to h: the same volatility, pro rata.
* Status: a complete figure for the deadline year that is not an ESTIMATE decides MET or
  MISSED. Until then a floor is ON_TRACK when the central projection meets it, AT_RISK when only
  the band's high edge does and OFF_TRACK when not even that; a ceiling mirrors this with the
  low edge. A growth target compares the projected average growth from baseline to deadline
  with its rate: the same as comparing the projection with baseline x (1 + g)^years, the level
  it calls for (`goal_level`). NO_DATA without figures, without a baseline for a growth target,
  or with a single point and so no growth.
* Required growth: a year, from the latest figure to the level the target calls for; for a
  growth target that is what keeps the whole period's average at its rate.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence

from kiln.plan.model import Bound, Target, TargetKind, implied_baseline
from kiln.plan.series import (
    Actual,
    Progress,
    Projection,
    Source,
    Status,
    cagr_pct,
    in_target_terms,
)
from kiln.plan.wording import Facts, format_money, reason

__all__ = [
    "Actual",
    "Progress",
    "Projection",
    "Source",
    "Status",
    "format_money",
    "progress",
    "project",
]

Z_80 = 1.2816  # two-sided 80 % band of the normal distribution
DEFAULT_GROWTH_SD = 0.05  # annual log growth, about 5 percentage points a year
MIN_RATES_FOR_SD = 3  # fewer growth rates give no usable sample spread


def sorted_actuals(
    actuals: Sequence[Actual], *, where: str, as_of_year: int | None = None
) -> tuple[Actual, ...]:
    """Figures in year order; ValueError for a year repeated, after ``as_of_year``, or partial
    but not the latest."""
    ordered = tuple(sorted(actuals, key=lambda a: a.year))
    for before, after in itertools.pairwise(ordered):
        if before.year == after.year:
            raise ValueError(f"{where}: year {after.year} appears more than once")
        if before.partial_months < 12:
            raise ValueError(f"{where}: {before.year} is a partial year but not the latest")
    if as_of_year is not None and ordered and ordered[-1].year > as_of_year:
        raise ValueError(f"{where}: a figure for {ordered[-1].year} is after {as_of_year}")
    return ordered


def project(
    series: Sequence[Actual],
    *,
    to_year: int,
    growth_pct: float | None = None,
    band_z: float = Z_80,
    where: str = "series",
) -> Projection:
    """Carry a yearly series to ``to_year`` at its CAGR, or at ``growth_pct`` from its latest
    figure, with the band of the module docstring.

    >>> s = [Actual(2017, 100.0, Source.PUBLISHED), Actual(2019, 121.0, Source.PUBLISHED)]
    >>> p = project(s, to_year=2020)
    >>> round(p.growth_pct, 1), round(p.central, 1), round(p.low, 1), round(p.high, 1)
    (10.0, 133.1, 124.8, 141.9)
    """
    if not (math.isfinite(band_z) and band_z > 0):
        raise ValueError(f"{where}: band_z {band_z} is not a positive number")
    points = sorted_actuals(series, where=where)
    for a in points:
        if a.value <= 0:
            raise ValueError(
                f"{where}: {a.year} value {a.value} is not positive; growth needs logs"
            )
    if not points or to_year < points[-1].year:
        raise ValueError(f"{where}: no figure up to {to_year} to project from")
    first, latest = points[0], points[-1]
    rates = [
        (math.log(b.value / a.value)) / (b.year - a.year) for a, b in itertools.pairwise(points)
    ]
    if growth_pct is not None:
        if not (math.isfinite(growth_pct) and growth_pct > -100):
            raise ValueError(f"{where}: growth {growth_pct} % a year is not above -100 %")
        log_growth = math.log1p(growth_pct / 100)
    elif rates:
        log_growth = math.log(latest.value / first.value) / (latest.year - first.year)
    else:
        raise ValueError(f"{where}: growth needs figures for two years, got {latest.year} only")
    sd = DEFAULT_GROWTH_SD
    if len(rates) >= MIN_RATES_FOR_SD:
        sd = max(statistics.stdev(rates), DEFAULT_GROWTH_SD)
    horizon = to_year - latest.year + (12 - latest.partial_months) / 12
    half_width = band_z * sd * math.sqrt(horizon)
    central = latest.value * math.exp(log_growth * (to_year - latest.year))
    low, high = central * math.exp(-half_width), central * math.exp(half_width)
    return Projection(to_year, central, low, high, math.expm1(log_growth) * 100)


def goal_level(target: Target, baseline: float | None) -> float | None:
    """The level the target calls for at its deadline; a growth target needs the baseline.

    >>> round(goal_level(Target("g", "x", TargetKind.GROWTH, 10.0, 2020, 2017), 100.0), 1)
    133.1
    """
    if target.kind is TargetKind.LEVEL:
        return target.value
    if baseline is None:
        return None
    return baseline * (1 + target.value / 100) ** (target.deadline_year - target.baseline_year)


def projected_status(target: Target, projection: Projection, *, baseline: float | None) -> Status:
    """ON_TRACK, AT_RISK or OFF_TRACK for a projection to the deadline (module docstring)."""
    if projection.year != target.deadline_year:
        raise ValueError(
            f"target {target.key!r}: a projection to {projection.year} cannot be judged "
            f"against the deadline {target.deadline_year}"
        )
    favourable = projection.high if target.bound is Bound.FLOOR else projection.low
    if target.met_by(in_target_terms(target, projection.central, baseline)):
        return Status.ON_TRACK
    if target.met_by(in_target_terms(target, favourable, baseline)):
        return Status.AT_RISK
    return Status.OFF_TRACK


def progress(
    target: Target,
    actuals: Sequence[Actual],
    *,
    as_of_year: int,
    growth_sibling: Target | None = None,
    unit: str = "yuan",
    band_z: float = Z_80,
) -> Progress:
    """How ``target`` is going on these yearly figures, known as of ``as_of_year``.

    >>> t = Target("out", "x", TargetKind.LEVEL, 120e9, 2020, 2017)
    >>> figures = [Actual(2017, 78.9e9, Source.PUBLISHED), Actual(2019, 97e9, Source.FILED)]
    >>> p = progress(t, figures, as_of_year=2020)
    >>> p.status.value, round(p.required_cagr_pct or 0, 1)
    ('off_track', 23.7)
    >>> print(p.reason_en)  # doctest: +NORMALIZE_WHITESPACE
    Off track: projected 107.6 bn yuan in 2020 against a floor of 120 bn yuan; even the high
    end of the 80 % band (114.7 bn yuan) falls short. Growth of 10.9 % a year since 2017, 23.7 %
    a year needed from 2019.
    """
    where = f"target {target.key!r}"
    window = _window(target, sorted_actuals(actuals, where=where, as_of_year=as_of_year), where)
    baseline = _baseline(target, window, growth_sibling, where)
    series = [a for a in window if baseline is None or a.year != baseline.year]
    if baseline is not None and (baseline.source is not Source.IMPLIED or len(series) == 1):
        series.insert(0, baseline)
    projection = None
    if len(series) >= 2:
        projection = project(series, to_year=target.deadline_year, band_z=band_z, where=where)
    b = None if baseline is None else baseline.value
    status, no_data = _status(target, window, projection, b)
    latest = window[-1] if window else None
    cagr, required = _growth_figures(target, baseline, latest)
    facts = Facts(
        target, status, no_data, baseline, latest, projection, cagr, required, unit,
        pending=as_of_year > target.deadline_year,
        band_pct=round(100 * math.erf(band_z / math.sqrt(2))),
    )  # fmt: skip
    known = {a.year: a.value for a in series if a.source is not Source.IMPLIED}
    return Progress(
        target=target,
        baseline=baseline,
        trajectory=_trajectory(target, b),
        actuals=window,
        yoy_pct={y: (v / known[y - 1] - 1) * 100 for y, v in known.items() if y - 1 in known},
        cagr_pct=cagr,
        required_cagr_pct=required,
        projection=projection,
        status=status,
        reason_en=reason(facts, "en"),
        reason_zh=reason(facts, "zh"),
    )


def _growth_figures(
    target: Target, baseline: Actual | None, latest: Actual | None
) -> tuple[float | None, float | None]:
    """Growth a year since the baseline, and needed from the latest figure to the deadline."""
    if latest is None:
        return None, None
    cagr = required = None
    if baseline is not None and latest.year > baseline.year:
        cagr = cagr_pct(baseline.value, latest.value, latest.year - baseline.year)
    goal = goal_level(target, None if baseline is None else baseline.value)
    if goal is not None and latest.year < target.deadline_year:
        required = cagr_pct(latest.value, goal, target.deadline_year - latest.year)
    return cagr, required


def _window(target: Target, ordered: tuple[Actual, ...], where: str) -> tuple[Actual, ...]:
    end = target.deadline_year
    later = [a.year for a in ordered if a.year > end]
    if later and all(a.year != end for a in ordered):
        raise ValueError(f"{where}: a figure for {later[0]} but none for the deadline year {end}")
    return tuple(a for a in ordered if target.baseline_year <= a.year <= end)


def _baseline(
    target: Target, window: tuple[Actual, ...], sibling: Target | None, where: str
) -> Actual | None:
    if sibling is not None and (
        target.kind is not TargetKind.LEVEL
        or sibling.kind is not TargetKind.GROWTH
        or (sibling.indicator, sibling.scope, sibling.baseline_year)
        != (target.indicator, target.scope, target.baseline_year)
    ):
        raise ValueError(
            f"{where}: growth sibling {sibling.key!r} is not a growth target on the same "
            "indicator, scope and baseline year as this level target"
        )
    year = target.baseline_year
    found = next((a for a in window if a.year == year and a.partial_months == 12), None)
    if target.baseline_value is not None:
        found = Actual(year, target.baseline_value, Source.PUBLISHED)
    if found is None and sibling is not None:
        found = Actual(year, implied_baseline(target, sibling), Source.IMPLIED)
    if found is not None and found.value <= 0:
        raise ValueError(f"{where}: baseline {found.value} is not positive; growth needs logs")
    return found


def _trajectory(target: Target, baseline: float | None) -> tuple[tuple[int, float], ...]:
    """The target's path at constant growth from the baseline; empty without a baseline."""
    end = goal_level(target, baseline)
    if baseline is None or end is None:
        return ()
    y0, span = target.baseline_year, target.deadline_year - target.baseline_year
    if end <= 0:  # no constant growth reaches zero; a straight line does
        return tuple((y0 + t, baseline + (end - baseline) * t / span) for t in range(span + 1))
    return tuple((y0 + t, baseline * math.pow(end / baseline, t / span)) for t in range(span + 1))


def _status(
    target: Target, window: tuple[Actual, ...], projection: Projection | None, base: float | None
) -> tuple[Status, str]:
    """The status, and for NO_DATA which of the module docstring's cases it is."""
    if not window:
        return Status.NO_DATA, "no_figures"
    if target.kind is TargetKind.GROWTH and base is None:
        return Status.NO_DATA, "no_baseline"
    last = window[-1]
    final = last.partial_months == 12 and last.source is not Source.ESTIMATE
    if last.year == target.deadline_year and final:
        met = target.met_by(in_target_terms(target, last.value, base))
        return (Status.MET if met else Status.MISSED), ""
    if projection is None:
        return Status.NO_DATA, "one_point"
    return projected_status(target, projection, baseline=base), ""
