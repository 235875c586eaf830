"""What-if for a plan target: change one industry group's or district's growth and see what
the whole scope would reach.

The components (industry groups or districts) add up to the target's scope. Each one is
projected by `kiln.plan.progress.project`, the rule a target's progress uses: at its own CAGR,
or at the growth given for it, in % a year from its latest figure; an overridden component keeps
the band of its own history around the path assumed for it. The outcome is the sum. Its band
adds the components' band edges, as if they moved together: the industries and districts of one
city share one economy and its shocks, so their swings are correlated, and adding edges is the
cautious end of the possible bands. The would-be status against a target follows the progress
rule (`projected_status`); a growth target's baseline is its own ``baseline_value`` or, failing
that, the sum of the components' figures for the baseline year.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from kiln.plan.model import Target, TargetKind
from kiln.plan.progress import (
    Z_80,
    Actual,
    Projection,
    Status,
    goal_level,
    project,
    projected_status,
    sorted_actuals,
)

_NO_OVERRIDES: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Component:
    """One industry group's or district's yearly figures; the components add up to the scope."""

    key: str
    actuals: tuple[Actual, ...]


@dataclass(frozen=True, slots=True)
class Contribution:
    """One component's part of a scenario's outcome."""

    key: str
    latest: Actual  # the figure the projection starts from
    projection: Projection
    overridden: bool  # projected at a growth given for it, not its own CAGR
    share: float  # of the outcome's central value, 0..1


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    """A scenario's projected outcome, by component, and against a target when one is given."""

    to_year: int
    outcome: Projection
    contributions: tuple[Contribution, ...]
    goal: float | None  # the level the target calls for in to_year
    status: Status | None  # the target's status if the scenario came true


def project_components(
    components: Sequence[Component],
    *,
    to_year: int,
    overrides: Mapping[str, float] = _NO_OVERRIDES,
    target: Target | None = None,
    band_z: float = Z_80,
) -> ScenarioResult:
    """Project each component to ``to_year`` (at ``overrides[key]`` % a year where given) and
    add them up; ValueError names a component or override that does not fit.

    >>> from kiln.plan.progress import Source
    >>> def figures(*values: float) -> tuple[Actual, ...]:
    ...     return tuple(Actual(2017 + i, v, Source.FILED) for i, v in enumerate(values))
    >>> parts = [Component("nanhai", figures(50, 55)), Component("shunde", figures(30, 33))]
    >>> r = project_components(parts, to_year=2020)
    >>> round(r.outcome.central, 2), round(r.outcome.growth_pct, 1)
    (106.48, 10.0)
    >>> round(project_components(parts, to_year=2020, overrides={"shunde": 20}).outcome.central, 2)
    114.07
    """
    years = to_year - _check(components, overrides, to_year, target)
    projected = {
        c.key: project(
            c.actuals,
            to_year=to_year,
            growth_pct=overrides.get(c.key),
            band_z=band_z,
            where=f"component {c.key!r}",
        )
        for c in components
    }
    central = math.fsum(p.central for p in projected.values())
    contributions = tuple(
        Contribution(
            c.key,
            max(c.actuals, key=lambda a: a.year),
            projected[c.key],
            c.key in overrides,
            projected[c.key].central / central,
        )
        for c in components
    )
    outcome = _add_up(contributions, to_year, years)
    if target is None:
        return ScenarioResult(to_year, outcome, contributions, None, None)
    baseline = _baseline(target, components)
    status = projected_status(target, outcome, baseline=baseline)
    return ScenarioResult(to_year, outcome, contributions, goal_level(target, baseline), status)


def _add_up(contributions: tuple[Contribution, ...], to_year: int, years: int) -> Projection:
    """The outcome: centrals and band edges added up, and the growth of the total."""
    central = math.fsum(c.projection.central for c in contributions)
    start = math.fsum(c.latest.value for c in contributions)
    if years > 0:
        growth_pct = (math.pow(central / start, 1 / years) - 1) * 100
    else:  # a year in progress: the rate the mix grows at, weighted by where it starts
        weighted = math.fsum(c.latest.value * c.projection.growth_pct for c in contributions)
        growth_pct = weighted / start
    return Projection(
        year=to_year,
        central=central,
        low=math.fsum(c.projection.low for c in contributions),
        high=math.fsum(c.projection.high for c in contributions),
        growth_pct=growth_pct,
    )


def _check(
    components: Sequence[Component],
    overrides: Mapping[str, float],
    to_year: int,
    target: Target | None,
) -> int:
    """The components' common latest year; ValueError for anything that does not add up."""
    if not components:
        raise ValueError("scenario: no components to add up")
    keys = [c.key for c in components]
    if repeated := sorted({k for k in keys if keys.count(k) > 1}):
        raise ValueError(f"scenario: component {repeated[0]!r} appears more than once")
    if unknown := sorted(set(overrides) - set(keys)):
        raise ValueError(f"scenario: override for {unknown[0]!r}, which is not a component")
    latest = {}
    for c in components:
        figures = sorted_actuals(c.actuals, where=f"component {c.key!r}")
        if not figures:
            raise ValueError(f"scenario: component {c.key!r} has no figures")
        latest[c.key] = figures[-1].year
    year = max(latest.values())
    if behind := [k for k, y in latest.items() if y != year]:
        raise ValueError(
            f"scenario: component {behind[0]!r} ends in {latest[behind[0]]}, the others in "
            f"{year}; the components must add up for the same year"
        )
    if target is not None and to_year != target.deadline_year:
        raise ValueError(
            f"scenario: target {target.key!r} is judged in {target.deadline_year}, not {to_year}"
        )
    return year


def _baseline(target: Target, components: Sequence[Component]) -> float | None:
    """A growth target's baseline: its own, or the components' figures for that year added."""
    if target.kind is TargetKind.LEVEL or target.baseline_value is not None:
        return target.baseline_value
    values = []
    for c in components:
        found = [a for a in c.actuals if a.year == target.baseline_year and a.partial_months == 12]
        if not found:
            raise ValueError(
                f"scenario: component {c.key!r} has no figure for {target.baseline_year}, the "
                f"baseline year of growth target {target.key!r}"
            )
        values.append(found[0].value)
    return math.fsum(values)
