"""What-if scenarios: the robot plan's industry groups projected, overridden and added up."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiln.plan.model import Bound, Target, TargetKind
from kiln.plan.progress import DEFAULT_GROWTH_SD, Z_80, Actual, Source, Status, progress
from kiln.plan.scenario import Component, project_components

BN = 1e9
OUTPUT = Target("robots_output", "robot_output", TargetKind.LEVEL, 120 * BN, 2020, 2017)
GROWTH = Target("robots_growth", "robot_output", TargetKind.GROWTH, 15.0, 2020, 2017)


def component(key: str, *values_bn: float, first_year: int = 2017) -> Component:
    return Component(
        key, tuple(Actual(first_year + i, v * BN, Source.FILED) for i, v in enumerate(values_bn))
    )


# three industry groups adding up to 78.9, 88 and 97 bn yuan in 2017-2019
GROUPS = [
    component("automobile", 30.0, 34.0, 38.0),
    component("appliances", 28.9, 31.0, 33.0),
    component("other", 20.0, 23.0, 26.0),
]
OWN_2020_BN = {
    "automobile": 38 * math.sqrt(38 / 30),
    "appliances": 33 * math.sqrt(33 / 28.9),
    "other": 26 * math.sqrt(26 / 20),
}


def test_each_group_goes_on_at_its_own_growth_and_the_outcome_adds_them_up() -> None:
    r = project_components(GROUPS, to_year=2020)
    total = sum(OWN_2020_BN.values()) * BN  # 107.68 bn
    assert r.outcome.central == pytest.approx(total)
    assert r.outcome.high == pytest.approx(total * math.exp(Z_80 * DEFAULT_GROWTH_SD))
    assert r.outcome.growth_pct == pytest.approx((total / (97 * BN) - 1) * 100)
    assert {c.key: c.projection.central / BN for c in r.contributions} == pytest.approx(OWN_2020_BN)
    assert {c.key: c.share for c in r.contributions} == pytest.approx(
        {k: v * BN / total for k, v in OWN_2020_BN.items()}
    )
    assert [c.latest.year for c in r.contributions] == [2019, 2019, 2019]
    assert (r.goal, r.status) == (None, None)


def test_faster_car_industry_growth_moves_the_plan_from_off_track_to_on_track() -> None:
    by_override = {
        growth: project_components(
            GROUPS, to_year=2020, overrides={} if growth is None else {"automobile": growth},
            target=OUTPUT,
        )
        for growth in (None, 40.0, 60.0)
    }  # fmt: skip
    # 40 % a year: 38 x 1.4 = 53.2 bn, so 118.1 bn in all, band up to 125.9 bn
    rest = OWN_2020_BN["appliances"] + OWN_2020_BN["other"]
    assert by_override[40.0].outcome.central == pytest.approx((38 * 1.4 + rest) * BN)
    assert by_override[40.0].contributions[0].overridden
    assert not by_override[40.0].contributions[1].overridden
    assert {g: r.status for g, r in by_override.items()} == {
        None: Status.OFF_TRACK, 40.0: Status.AT_RISK, 60.0: Status.ON_TRACK,
    }  # fmt: skip
    assert by_override[None].goal == 120 * BN


def test_a_single_component_projects_as_the_target_s_own_progress_does() -> None:
    city = component("city", 78.9, 88.0, 97.0)
    alone = project_components([city], to_year=2020).outcome
    p = progress(OUTPUT, city.actuals, as_of_year=2019).projection
    assert p is not None
    assert (alone.central, alone.low, alone.high) == pytest.approx((p.central, p.low, p.high))
    assert alone.growth_pct == pytest.approx(p.growth_pct)


def test_a_growth_target_takes_its_baseline_from_the_groups_when_it_has_none() -> None:
    r = project_components(GROUPS, to_year=2020, target=GROWTH)
    assert r.goal == pytest.approx(78.9 * BN * 1.15**3)
    assert r.status is Status.OFF_TRACK
    own = Target("g", "robot_output", TargetKind.GROWTH, 15.0, 2020, 2017, baseline_value=70 * BN)
    assert project_components(GROUPS, to_year=2020, target=own).goal == pytest.approx(
        70 * BN * 1.15**3
    )


def test_a_ceiling_is_judged_on_the_low_end_of_the_added_band() -> None:
    cap = Target("cap", "energy", TargetKind.LEVEL, 104 * BN, 2020, 2017, bound=Bound.CEILING)
    r = project_components(GROUPS, to_year=2020, target=cap)
    assert r.status is Status.AT_RISK  # 107.7 bn expected, the band's low end 101.0 bn


def test_a_year_in_progress_is_added_as_it_stands_with_its_band_widened() -> None:
    partial = Actual(2020, 40 * BN, Source.ESTIMATE, partial_months=6)
    cars = Component("automobile", (*GROUPS[0].actuals, partial))
    others = Component(
        "rest", (Actual(2019, 60 * BN, Source.FILED), Actual(2020, 66 * BN, Source.FILED))
    )
    r = project_components([cars, others], to_year=2020)
    assert r.outcome.central == pytest.approx(106 * BN)
    assert r.contributions[0].projection.high == pytest.approx(
        40 * BN * math.exp(Z_80 * DEFAULT_GROWTH_SD * math.sqrt(0.5))
    )
    assert r.contributions[1].projection.high == pytest.approx(66 * BN)
    weighted = (40 * r.contributions[0].projection.growth_pct + 66 * 10.0) / 106
    assert r.outcome.growth_pct == pytest.approx(weighted)


# --- properties -------------------------------------------------------------------------------

values = st.floats(1e8, 1e11)  # yuan: an industry group or a district, 1 to 1000 亿元


@st.composite
def groups(draw: st.DrawFn) -> list[Component]:
    n = draw(st.integers(1, 5))
    out = []
    for i in range(n):
        years = draw(st.integers(2, 5))
        out.append(
            Component(
                f"g{i}",
                tuple(Actual(2020 - years + j, draw(values), Source.FILED) for j in range(years)),
            )
        )
    return out


@given(groups(), st.integers(2020, 2030), st.dictionaries(st.integers(0, 4), st.floats(-50, 100)))
def test_the_outcome_is_the_sum_of_the_component_projections(
    parts: list[Component], to_year: int, chosen: dict[int, float]
) -> None:
    overrides = {f"g{i}": g for i, g in chosen.items() if i < len(parts)}
    r = project_components(parts, to_year=to_year, overrides=overrides)
    for edge in ("central", "low", "high"):
        total = math.fsum(getattr(c.projection, edge) for c in r.contributions)
        assert getattr(r.outcome, edge) == pytest.approx(total, rel=1e-12)
    assert math.fsum(c.share for c in r.contributions) == pytest.approx(1.0)
    assert r.outcome.low <= r.outcome.central <= r.outcome.high


@given(groups(), st.integers(2020, 2030), st.floats(-50, 100), st.floats(0, 50))
def test_raising_one_component_s_growth_never_lowers_the_outcome(
    parts: list[Component], to_year: int, growth: float, more: float
) -> None:
    key = parts[0].key
    base = project_components(parts, to_year=to_year)
    slower = project_components(parts, to_year=to_year, overrides={key: growth})
    faster = project_components(parts, to_year=to_year, overrides={key: growth + more})
    assert faster.outcome.central >= slower.outcome.central * (1 - 1e-12)
    own = base.contributions[0].projection.growth_pct
    above_own = project_components(parts, to_year=to_year, overrides={key: own + more})
    assert above_own.outcome.central >= base.outcome.central * (1 - 1e-9)


# --- bad input --------------------------------------------------------------------------------


def test_no_components_is_refused() -> None:
    with pytest.raises(ValueError, match="scenario: no components to add up"):
        project_components([], to_year=2020)


def test_a_component_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="component 'other' appears more than once"):
        project_components([*GROUPS, GROUPS[2]], to_year=2020)


def test_an_override_for_an_unknown_component_is_refused() -> None:
    with pytest.raises(ValueError, match="override for 'ceramics', which is not a component"):
        project_components(GROUPS, to_year=2020, overrides={"ceramics": 20.0})


def test_an_override_of_minus_100_percent_or_less_is_refused() -> None:
    with pytest.raises(ValueError, match="component 'other': growth -120 % a year is not above"):
        project_components(GROUPS, to_year=2020, overrides={"other": -120})


def test_components_ending_in_different_years_are_refused() -> None:
    late = component("late", 10.0, 11.0, first_year=2016)
    with pytest.raises(ValueError, match="component 'late' ends in 2017, the others in 2019"):
        project_components([*GROUPS, late], to_year=2020)


def test_a_component_without_figures_is_refused() -> None:
    with pytest.raises(ValueError, match="component 'empty' has no figures"):
        project_components([*GROUPS, Component("empty", ())], to_year=2020)


def test_a_component_with_one_figure_needs_an_override() -> None:
    single = [component("new", 5.0, first_year=2019)]
    with pytest.raises(ValueError, match="component 'new': growth needs figures for two years"):
        project_components(single, to_year=2020)
    assert project_components(single, to_year=2020, overrides={"new": 20.0}).outcome.central == (
        pytest.approx(6 * BN)
    )


def test_a_zero_figure_is_refused_naming_the_component() -> None:
    with pytest.raises(ValueError, match=r"component 'zero': 2018 value 0\.0 is not positive"):
        project_components([component("zero", 1.0, 0.0, 2.0)], to_year=2020)


def test_a_target_is_judged_only_at_its_deadline() -> None:
    with pytest.raises(ValueError, match="target 'robots_output' is judged in 2020, not 2021"):
        project_components(GROUPS, to_year=2021, target=OUTPUT)


def test_a_year_before_the_latest_figures_is_refused() -> None:
    with pytest.raises(ValueError, match="component 'automobile': no figure up to 2018"):
        project_components(GROUPS, to_year=2018)


def test_a_growth_target_without_a_baseline_anywhere_is_refused() -> None:
    recent = [component("a", 1.0, 2.0, first_year=2018), component("b", 1.0, 2.0, first_year=2018)]
    with pytest.raises(ValueError, match="component 'a' has no figure for 2017, the baseline year"):
        project_components(recent, to_year=2020, target=GROWTH)
