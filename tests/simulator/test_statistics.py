"""The simulated monthly statistical reports: calibrated to the city's published figures."""

from __future__ import annotations

import statistics
import time
import tomllib
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources

import pytest

from kiln.domain.assets import FOSHAN_DISTRICTS, Enterprise
from kiln.domain.industries import validate_code
from kiln.plan.documents import config_from
from kiln.plan.filings import Filing, Period, flags_for, parse_figures
from kiln.plan.indicators import IndicatorConfig, group_of
from kiln.simulator.registry import OTHER_CODES, simulate_enterprises
from kiln.simulator.statistics import simulate_filings, simulate_years
from kiln.simulator.world import build_city

THROUGH = (2024, 12)
ROBOT_BASELINE_2017 = 120e9 / 1.15**3  # 78.90 bn: the 2020 target less three years of 15 %


@pytest.fixture(scope="module")
def config() -> IndicatorConfig:
    text = resources.files("kiln.plan").joinpath("seed/plan.toml").read_text(encoding="utf-8")
    return config_from(tomllib.loads(text))


@pytest.fixture(scope="module")
def city() -> list[Enterprise]:
    docs = build_city(seed=7)["enterprises"]
    return [
        Enterprise(i + 1, d["slug"], d["name"], d["district"], d["industry"], d["robot_maker"])
        for i, d in enumerate(docs)
    ]


@pytest.fixture(scope="module")
def filings(city: list[Enterprise], config: IndicatorConfig) -> list[Filing]:
    return simulate_filings(city, config, through=THROUGH)


def yearly(
    filings: Sequence[Filing],
    enterprises: Sequence[Enterprise],
    config: IndicatorConfig,
    indicator: str,
) -> dict[int, float]:
    """An indicator's numerator summed per year over the filings, as the plan tracker would."""
    ind = config.indicator(indicator)
    codes = [e.industry_code for e in enterprises]
    members = config.in_set(ind.industries, codes).tolist()
    counted = {e.id for e, yes in zip(enterprises, members, strict=True) if yes}
    sums: dict[int, float] = defaultdict(float)
    for f in filings:
        if f.enterprise_id in counted:
            sums[f.period.year] += f.figures.get(ind.numerator, 0.0)
    return sums


def growth(sums: dict[int, float], year: int) -> float:
    return sums[year] / sums[year - 1] - 1


def monthly(filings: Sequence[Filing], name: str) -> dict[Period, float]:
    sums: dict[Period, float] = defaultdict(float)
    for f in filings:
        sums[f.period] += f.figures.get(name, 0.0)
    return sums


# The calibration's known answers


def test_output_of_2017_adds_up_to_the_published_2_24_trillion_yuan(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    total = yearly(filings, city, config, "total_output")
    assert total[2017] == pytest.approx(2.24e12, rel=1e-6)


def test_high_tech_output_grows_16_3_percent_in_2017(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    high = yearly(filings, city, config, "high_tech_output")
    assert growth(high, 2017) == pytest.approx(0.163, rel=1e-6)


def test_advanced_output_grows_9_8_percent_in_2017(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    advanced = yearly(filings, city, config, "advanced_output")
    assert growth(advanced, 2017) == pytest.approx(0.098, rel=1e-6)


def test_robot_output_starts_2017_from_the_baseline_the_plan_implies(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    robots = yearly(filings, city, config, "robot_ie_output")
    assert robots[2017] == pytest.approx(ROBOT_BASELINE_2017, rel=1e-6)
    assert round(robots[2017] / 1e9, 2) == 78.90


def test_robot_output_of_2020_exceeds_90_bn_and_misses_the_120_bn_target(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    robots = yearly(filings, city, config, "robot_ie_output")
    assert 90e9 < robots[2020] < 95e9
    assert all(0.025 < growth(robots, y) < 0.075 for y in (2018, 2019, 2020))


def test_robot_output_grows_10_to_20_percent_a_year_after_2020(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    robots = yearly(filings, city, config, "robot_ie_output")
    assert all(0.1 <= growth(robots, y) <= 0.2 for y in range(2021, 2025))


def test_total_output_grows_5_to_8_percent_in_ordinary_years(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    total = yearly(filings, city, config, "total_output")
    assert all(0.05 <= growth(total, y) <= 0.08 for y in (2018, 2019, 2022, 2023, 2024))
    assert growth(total, 2020) < 0.04  # the COVID year


def test_a_city_without_high_tech_enterprises_still_meets_total_and_advanced_growth(
    city: list[Enterprise], config: IndicatorConfig
) -> None:
    no_high_tech = [e for e in city if not e.industry_code.startswith("39")]
    filings = simulate_filings(no_high_tech, config, through=(2017, 12))
    assert yearly(filings, no_high_tech, config, "high_tech_output") == {}
    assert yearly(filings, no_high_tech, config, "total_output")[2017] == pytest.approx(2.24e12)
    advanced = yearly(filings, no_high_tech, config, "advanced_output")
    assert growth(advanced, 2017) == pytest.approx(0.098, rel=1e-6)


def test_a_city_of_ceramics_alone_still_meets_the_total(
    city: list[Enterprise], config: IndicatorConfig
) -> None:
    ceramics = [e for e in city if e.industry_code.startswith("30")]
    filings = simulate_filings(ceramics, config, through=(2017, 12))
    assert yearly(filings, ceramics, config, "total_output")[2017] == pytest.approx(2.24e12)
    assert all("robot_output_value" not in f.figures for f in filings)


def test_robot_makers_outside_every_industry_set_still_carry_the_robot_output(
    city: list[Enterprise],
) -> None:
    bare = IndicatorConfig({})
    filings = simulate_filings(city, bare, through=(2017, 12))
    assert sum(f.figures["output_value"] for f in filings if f.period.year == 2017) == (
        pytest.approx(2.24e12)
    )
    robots = sum(f.figures.get("robot_output_value", 0.0) for f in filings if f.period.year == 2017)
    assert robots == pytest.approx(ROBOT_BASELINE_2017)


# Months and years


def test_an_enterprises_months_add_up_to_its_year(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    annual = simulate_years(city, config, last_year=THROUGH[0])
    sums: dict[tuple[int, int], float] = defaultdict(float)
    robot_sums: dict[tuple[int, int], float] = defaultdict(float)
    for f in filings:
        sums[f.enterprise_id, f.period.year] += f.figures["output_value"]
        robot_sums[f.enterprise_id, f.period.year] += f.figures.get("robot_output_value", 0.0)
    for row, e in enumerate(city):
        for year in range(2016, THROUGH[0] + 1):
            column = year - annual.first_year
            assert sums[e.id, year] == pytest.approx(annual.output_yuan[row, column], rel=1e-12)
            expected = annual.robot_output_yuan[row, column]
            assert robot_sums[e.id, year] == pytest.approx(expected, rel=1e-12)


def test_chinese_new_year_months_are_low_and_december_is_high(filings: list[Filing]) -> None:
    output = monthly(filings, "output_value")
    for year in (2018, 2019, 2023):
        months = [output[Period(year, m)] for m in range(1, 13)]
        mean = statistics.mean(months)
        assert months[0] < mean
        assert months[1] < mean
        assert max(months) == months[11]


def test_covid_stops_the_city_in_february_2020(filings: list[Filing]) -> None:
    output = monthly(filings, "output_value")
    assert output[Period(2020, 2)] < 0.75 * output[Period(2019, 2)]
    assert output[Period(2020, 6)] > output[Period(2019, 6)]


# What is filed


def test_one_seed_filing_a_month_per_enterprise_filed_on_the_15th_of_the_next_month(
    filings: list[Filing], city: list[Enterprise]
) -> None:
    assert len(filings) == len(city) * 9 * 12
    assert len({(f.enterprise_id, f.period) for f in filings}) == len(filings)
    assert filings[0].period == Period(2016, 1)
    assert filings[-1].period == Period(2024, 12)
    assert {(f.channel, f.filed_by, f.version) for f in filings} == {("seed", "simulator", 1)}
    december = next(f for f in filings if f.period == Period(2017, 12))
    assert december.filed_ms == datetime(2018, 1, 14, 16, tzinfo=UTC).timestamp() * 1000


def test_a_given_filing_time_is_used(city: list[Enterprise], config: IndicatorConfig) -> None:
    filings = simulate_filings(
        city, config, first_year=2019, through=(2019, 2), filed_ms=lambda p: p.year * 100 + p.month
    )
    assert {f.filed_ms for f in filings} == {201901, 201902}


def test_the_same_seed_gives_the_same_filings_and_another_seed_other_ones(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    assert simulate_filings(city, config, through=THROUGH) == filings
    other = simulate_filings(city, config, through=(2017, 12), seed=8)
    assert [f.figures for f in other] != [f.figures for f in filings[: len(other)]]
    assert yearly(other, city, config, "total_output")[2017] == pytest.approx(2.24e12)


def test_asking_for_more_months_leaves_earlier_filings_unchanged(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    shorter = simulate_filings(city, config, through=(2018, 6))
    assert shorter == filings[: len(shorter)]


def test_every_filing_parses_as_it_stands(filings: list[Filing]) -> None:
    for f in filings:
        where = f"{f.enterprise_id} {f.period.text}"
        assert parse_figures(f.figures, where=where) == f.figures


def test_no_filing_needs_confirmation_against_the_month_before(filings: list[Filing]) -> None:
    before: dict[int, dict[str, float]] = {}
    for f in filings:
        assert flags_for(f.figures, f.period, before.get(f.enterprise_id)) == ()
        before[f.enterprise_id] = dict(f.figures)


def test_only_robot_producers_file_robot_output_and_it_is_most_of_a_robot_makers(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    in_set = config.in_set("robots_intelligent_equipment", [e.industry_code for e in city])
    producers = {e.id for e, yes in zip(city, in_set.tolist(), strict=True) if yes or e.robot_maker}
    assert producers
    assert {f.enterprise_id for f in filings if "robot_output_value" in f.figures} == producers
    for f in filings:
        if "robot_output_value" in f.figures:
            assert 0.7 < f.figures["robot_output_value"] / f.figures["output_value"] < 0.96


def test_revenue_is_93_to_99_percent_of_output(filings: list[Filing]) -> None:
    assert all(0.93 <= f.figures["revenue"] / f.figures["output_value"] <= 0.99 for f in filings)


def test_robots_in_use_add_up_to_the_published_3_000_in_2015_and_13_300_in_2020(
    city: list[Enterprise], config: IndicatorConfig
) -> None:
    filings = simulate_filings(city, config, first_year=2015, through=(2020, 12))
    robots = monthly(filings, "robots_installed")
    # Each enterprise's count is rounded: the city total is within half a robot of each.
    assert robots[Period(2015, 12)] == pytest.approx(3000, abs=len(city) / 2)
    assert robots[Period(2020, 12)] == pytest.approx(13300, abs=len(city) / 2)


def test_robots_rise_while_employees_slowly_fall(filings: list[Filing]) -> None:
    robots, staff = monthly(filings, "robots_installed"), monthly(filings, "employees")
    years = range(2016, THROUGH[0] + 1)
    assert all(robots[Period(y, 12)] > robots[Period(y - 1, 12)] for y in years[1:])
    assert all(0.95 < staff[Period(y, 12)] / staff[Period(y - 1, 12)] < 1 for y in years[1:])


def test_automobile_and_electronics_have_more_robots_per_worker_than_ceramics(
    filings: list[Filing], city: list[Enterprise], config: IndicatorConfig
) -> None:
    group = {e.id: group_of(e.industry_code, config) for e in city}
    robots: dict[str, float] = defaultdict(float)
    staff: dict[str, float] = defaultdict(float)
    for f in filings:
        if f.period == Period(2020, 12):
            robots[group[f.enterprise_id]] += f.figures["robots_installed"]
            staff[group[f.enterprise_id]] += f.figures["employees"]
    density = {g: robots[g] / staff[g] * 1e4 for g in robots}
    assert density["automobile"] > 2 * density["ceramics"]
    assert density["electronics"] > 2 * density["ceramics"]


def test_ceramics_burn_several_times_the_energy_per_yuan_of_the_others(
    filings: list[Filing], city: list[Enterprise]
) -> None:
    ceramic = {e.id for e in city if e.industry_code.startswith("30")}
    for f in filings:
        if f.period.year == 2017:
            per_10k_yuan = f.figures["energy_use"] / f.figures["output_value"] * 1e4
            if f.enterprise_id in ceramic:
                assert 0.28 < per_10k_yuan < 0.53
            else:
                assert 0.018 < per_10k_yuan < 0.085


def test_reform_investment_comes_in_a_few_lumps_a_year(filings: list[Filing]) -> None:
    lumps: dict[tuple[int, int], int] = defaultdict(int)
    for f in filings:
        lumps[f.enterprise_id, f.period.year] += f.figures["reform_investment"] > 0
    assert min(lumps.values()) >= 2
    assert statistics.median(lumps.values()) <= 4


def test_sizes_differ_within_each_industry_district_cell_and_some_enterprise_dominates_its(
    city: list[Enterprise], config: IndicatorConfig
) -> None:
    output = simulate_years(city, config).output_yuan[:, 2017 - 2000]
    cells: dict[tuple[str, str], list[float]] = defaultdict(list)
    for e, value in zip(city, output.tolist(), strict=True):
        cells[group_of(e.industry_code, config), e.district].append(value)
    shared = [values for values in cells.values() if len(values) > 1]
    assert shared
    assert all(len(set(values)) == len(values) for values in shared)
    assert any(max(values) > 0.6 * sum(values) for values in shared)


# Bad input


@pytest.mark.parametrize(
    ("first_year", "through"), [(2016, (2015, 12)), (2016, (2017, 13)), (1999, (2017, 1))]
)
def test_a_range_that_is_no_range_is_refused(
    city: list[Enterprise], config: IndicatorConfig, first_year: int, through: tuple[int, int]
) -> None:
    with pytest.raises(ValueError, match=r"through .* and first_year"):
        simulate_filings(city, config, first_year=first_year, through=through)


def test_no_enterprises_file_nothing(config: IndicatorConfig) -> None:
    assert simulate_filings([], config, through=THROUGH) == []


# The benchmark city


def test_synthetic_enterprises_spread_over_the_districts_and_real_industries() -> None:
    enterprises = simulate_enterprises(2000, seed=3)
    assert [e.id for e in enterprises] == list(range(1, 2001))
    assert enterprises[41].slug == "ent-00042"
    assert {e.district for e in enterprises} == {d.code for d in FOSHAN_DISTRICTS}
    assert all(validate_code(e.industry_code) == e.industry_code for e in enterprises)
    codes = {e.industry_code for e in enterprises}
    assert set(OTHER_CODES) <= codes
    assert {"3071", "3670", "3852", "3491"} <= codes
    assert 0.01 < sum(e.robot_maker for e in enterprises) / len(enterprises) < 0.1
    assert simulate_enterprises(2000, seed=3) == enterprises


@pytest.mark.slow
def test_ten_thousand_enterprises_file_three_years_in_seconds(config: IndicatorConfig) -> None:
    enterprises = simulate_enterprises(10_000)
    start = time.perf_counter()
    filings = simulate_filings(enterprises, config, first_year=2017, through=(2019, 12))
    elapsed = time.perf_counter() - start
    assert len(filings) == 360_000
    total = yearly(filings, enterprises, config, "total_output")
    assert total[2017] == pytest.approx(2.24e12, rel=1e-6)
    assert elapsed < 10


def test_no_month_of_a_large_enterprises_reform_investment_looks_implausible(
    config: IndicatorConfig,
) -> None:
    # Six appliance makers stand in for the whole city: each invests billions a year.
    giants = [Enterprise(i, f"giant-{i}", "Giant", "shunde", "3852") for i in range(1, 7)]
    filings = simulate_filings(giants, config, through=THROUGH)
    assert max(f.figures["reform_investment"] for f in filings) > 3e9
    before: dict[int, dict[str, float]] = {}
    for f in filings:
        reform = {"reform_investment": f.figures["reform_investment"]}
        assert flags_for(reform, f.period, before.get(f.enterprise_id)) == ()
        before[f.enterprise_id] = reform
