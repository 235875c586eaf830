"""Progress of plan targets: the city's 2018-2020 robot plan worked by hand, then the rules."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiln.plan.model import Bound, Scope, ScopeKind, Target, TargetKind
from kiln.plan.progress import (
    DEFAULT_GROWTH_SD,
    Z_80,
    Actual,
    Projection,
    Source,
    Status,
    format_money,
    progress,
    project,
    projected_status,
)

BN = 1e9
HALF_WIDTH_1Y = Z_80 * DEFAULT_GROWTH_SD  # log half-width of the default band one year out


def level(
    value: float = 120 * BN, *, bound: Bound = Bound.FLOOR, baseline_value: float | None = None
) -> Target:
    """The plan's output target: above 120 bn yuan by end-2020, baseline 2017."""
    return Target(
        "robots_output", "robot_output", TargetKind.LEVEL, value, 2020, 2017,
        bound=bound, baseline_value=baseline_value,
    )  # fmt: skip


def growth(rate: float = 15.0, *, bound: Bound = Bound.FLOOR) -> Target:
    """The plan's growth target: above 15 % a year on average over 2018-2020."""
    return Target("robots_growth", "robot_output", TargetKind.GROWTH, rate, 2020, 2017, bound=bound)


def figures(by_year: dict[int, float], source: Source = Source.PUBLISHED) -> list[Actual]:
    return [Actual(year, value, source) for year, value in by_year.items()]


PLAN_SO_FAR = {2017: 78.9 * BN, 2018: 88 * BN, 2019: 97 * BN}


# --- the city's plan, worked by hand ---------------------------------------------------------


def test_fifteen_percent_a_year_to_120_bn_implies_a_2017_baseline_of_78_9_bn() -> None:
    p = progress(level(), figures({2018: 88 * BN}), as_of_year=2018, growth_sibling=growth())
    assert p.baseline is not None
    assert p.baseline.source is Source.IMPLIED
    assert p.baseline.value == pytest.approx(120 * BN / 1.15**3)
    assert round(p.baseline.value / BN, 2) == 78.90


def test_the_plan_trajectory_grows_fifteen_percent_a_year_from_the_implied_baseline() -> None:
    p = progress(level(), [], as_of_year=2017, growth_sibling=growth())
    assert [y for y, _ in p.trajectory] == [2017, 2018, 2019, 2020]
    assert [round(v / BN, 2) for _, v in p.trajectory] == [78.90, 90.74, 104.35, 120.0]


def test_a_growth_target_trajectory_compounds_its_rate_from_the_baseline() -> None:
    p = progress(growth(), figures(PLAN_SO_FAR), as_of_year=2019)
    assert [v for _, v in p.trajectory] == pytest.approx([78.9 * BN * 1.15**t for t in range(4)])


def test_output_below_the_plan_path_is_off_track_with_the_growth_still_needed() -> None:
    p = progress(level(), figures(PLAN_SO_FAR), as_of_year=2019)
    cagr = math.sqrt(97 / 78.9) - 1  # 10.88 % a year, 2017 to 2019
    assert p.cagr_pct == pytest.approx(cagr * 100)
    assert p.required_cagr_pct == pytest.approx((120 / 97 - 1) * 100)  # 23.7 % in 2020 alone
    assert round(p.required_cagr_pct or 0, 1) == 23.7
    assert p.yoy_pct == pytest.approx({2018: (88 / 78.9 - 1) * 100, 2019: (97 / 88 - 1) * 100})
    central = 97 * BN * (1 + cagr)  # 107.55 bn
    assert p.projection == Projection(
        2020,
        pytest.approx(central),
        pytest.approx(central * math.exp(-HALF_WIDTH_1Y)),
        pytest.approx(central * math.exp(HALF_WIDTH_1Y)),  # 114.67 bn: even this misses 120 bn
        pytest.approx(cagr * 100),
    )
    assert p.status is Status.OFF_TRACK


def test_the_baseline_figure_is_the_baseline_when_the_target_gives_none() -> None:
    p = progress(level(), figures(PLAN_SO_FAR), as_of_year=2019, growth_sibling=growth())
    assert p.baseline == Actual(2017, 78.9 * BN, Source.PUBLISHED)


def test_the_target_s_own_baseline_value_comes_before_the_baseline_figure() -> None:
    p = progress(level(baseline_value=80 * BN), figures(PLAN_SO_FAR), as_of_year=2019)
    assert p.baseline == Actual(2017, 80 * BN, Source.PUBLISHED)
    assert p.cagr_pct == pytest.approx((math.sqrt(97 / 80) - 1) * 100)
    assert p.projection is not None
    assert p.projection.growth_pct == pytest.approx((math.sqrt(97 / 80) - 1) * 100)


def test_an_implied_baseline_is_not_a_measurement_for_the_projection() -> None:
    p = progress(
        level(), figures({2018: 88e9, 2019: 97e9}), as_of_year=2019, growth_sibling=growth()
    )
    assert p.projection is not None
    assert p.projection.growth_pct == pytest.approx((97 / 88 - 1) * 100)
    assert p.cagr_pct == pytest.approx((math.sqrt(97 * 1.15**3 / 120) - 1) * 100)
    assert p.yoy_pct == pytest.approx({2019: (97 / 88 - 1) * 100})


def test_an_implied_baseline_carries_the_projection_when_it_is_the_only_other_point() -> None:
    p = progress(level(), figures({2019: 97 * BN}), as_of_year=2019, growth_sibling=growth())
    assert p.projection is not None
    assert p.projection.growth_pct == pytest.approx((math.sqrt(97 * 1.15**3 / 120) - 1) * 100)
    assert p.status is Status.OFF_TRACK


def test_a_floor_only_the_band_can_reach_is_at_risk() -> None:
    # 10 % a year: 133.1 expected in 2020, band up to 133.1 x e^0.064 = 141.9
    on_course = figures({2017: 100.0, 2018: 110.0, 2019: 121.0})
    assert progress(level(140.0), on_course, as_of_year=2019, unit="t").status is Status.AT_RISK
    assert progress(level(130.0), on_course, as_of_year=2019, unit="t").status is Status.ON_TRACK
    assert progress(level(142.0), on_course, as_of_year=2019, unit="t").status is Status.OFF_TRACK


def test_after_the_deadline_the_figure_for_it_decides_met_or_missed() -> None:
    missed = figures({**PLAN_SO_FAR, 2020: 90 * BN})
    met = figures({**PLAN_SO_FAR, 2020: 121 * BN})
    assert progress(level(), missed, as_of_year=2021).status is Status.MISSED
    assert progress(level(), met, as_of_year=2021).status is Status.MET
    assert progress(level(), met, as_of_year=2021).required_cagr_pct is None


def test_an_estimate_for_the_deadline_year_does_not_decide_it() -> None:
    estimate = [*figures(PLAN_SO_FAR), Actual(2020, 121 * BN, Source.ESTIMATE)]
    p = progress(level(), estimate, as_of_year=2020)
    assert p.status is Status.ON_TRACK  # projected at the estimate, not met yet
    assert p.projection is not None
    assert p.projection.central == pytest.approx(121 * BN)


def test_a_ceiling_mirrors_a_floor() -> None:
    # energy use falling 1 % a year: 101.0 expected in 2020, band down to 101.0 / e^0.064 = 94.7
    falling = figures({2017: 104.0, 2018: 103.0, 2019: 102.0})
    statuses = {
        cap: progress(level(cap, bound=Bound.CEILING), falling, as_of_year=2019, unit="t").status
        for cap in (105.0, 100.0, 90.0)
    }
    assert statuses == {105.0: Status.ON_TRACK, 100.0: Status.AT_RISK, 90.0: Status.OFF_TRACK}
    within, above = figures({2017: 104.0, 2020: 99.0}), figures({2017: 104.0, 2020: 101.0})
    assert progress(level(100.0, bound=Bound.CEILING), within, as_of_year=2021).status is Status.MET
    assert progress(level(100.0, bound=Bound.CEILING), above, as_of_year=2021).status is (
        Status.MISSED
    )


def test_a_growth_target_compares_the_projected_average_growth_with_its_rate() -> None:
    p = progress(growth(), figures(PLAN_SO_FAR), as_of_year=2019)
    # the projection carries on the 10.88 % since 2017, so that is the projected average too;
    # the band's high edge, 114.67 bn, makes (114.67 / 78.9)^(1/3) - 1 = 13.3 % a year
    assert p.status is Status.OFF_TRACK
    assert p.required_cagr_pct == pytest.approx((78.9 * 1.15**3 / 97 - 1) * 100)
    assert progress(growth(10.0), figures(PLAN_SO_FAR), as_of_year=2019).status is Status.ON_TRACK
    assert progress(growth(12.0), figures(PLAN_SO_FAR), as_of_year=2019).status is Status.AT_RISK


def test_a_growth_target_is_met_or_missed_on_the_average_over_the_whole_period() -> None:
    met = figures({**PLAN_SO_FAR, 2020: 78.9 * BN * 1.16**3})
    missed = figures({**PLAN_SO_FAR, 2020: 110 * BN})  # 11.7 % a year
    assert progress(growth(), met, as_of_year=2021).status is Status.MET
    assert progress(growth(), missed, as_of_year=2021).status is Status.MISSED


def test_a_growth_ceiling_mirrors_a_growth_floor() -> None:
    steady = figures({2017: 100.0, 2018: 103.0, 2019: 106.09})  # 3 % a year
    at_most_5 = progress(growth(5.0, bound=Bound.CEILING), steady, as_of_year=2019, unit="t")
    # the band's low end, 109.27 / e^0.064 = 102.49 in 2020, makes 0.8 % a year since 2017
    at_most_1 = progress(growth(1.0, bound=Bound.CEILING), steady, as_of_year=2019, unit="t")
    at_most_0 = progress(growth(0.0, bound=Bound.CEILING), steady, as_of_year=2019, unit="t")
    assert [p.status for p in (at_most_5, at_most_1, at_most_0)] == [
        Status.ON_TRACK, Status.AT_RISK, Status.OFF_TRACK,
    ]  # fmt: skip


def test_a_growth_target_without_a_baseline_has_no_data() -> None:
    p = progress(growth(), figures({2018: 88 * BN, 2019: 97 * BN}), as_of_year=2019)
    assert p.status is Status.NO_DATA
    assert p.trajectory == ()
    assert p.reason_en == "No data: no baseline for 2017 to measure growth from."
    assert p.reason_zh == "暂无数据：缺少2017年基数，无法计算增速。"


def test_without_any_figure_there_is_no_data() -> None:
    p = progress(level(), [], as_of_year=2018)
    assert (p.status, p.projection, p.cagr_pct, p.required_cagr_pct) == (
        Status.NO_DATA, None, None, None,
    )  # fmt: skip
    assert p.reason_en == "No data: no figures for 2017-2020 yet."
    assert p.reason_zh == "暂无数据：2017—2020年尚无数值。"


def test_figures_before_the_baseline_year_do_not_count() -> None:
    p = progress(level(), figures({2015: 50 * BN, 2016: 60 * BN}), as_of_year=2016)
    assert (p.status, p.actuals) == (Status.NO_DATA, ())


def test_one_figure_and_no_baseline_give_no_growth_to_project() -> None:
    p = progress(level(), figures({2019: 97 * BN}), as_of_year=2019)
    assert (p.status, p.projection) == (Status.NO_DATA, None)
    assert p.reason_en == "No data: figures for 2019 only (97 bn yuan), too few to estimate growth."
    assert p.reason_zh == "暂无数据：仅有2019年数值（970.0亿元），不足以估计增速。"


# --- the band ----------------------------------------------------------------------------------


def test_three_growth_rates_or_more_set_the_band_by_their_spread() -> None:
    # log growth 0, ln 1.2 and 2 ln 1.2: evenly spaced, so their sample sd is ln 1.2 (18 points)
    t = Target("x", "x", TargetKind.LEVEL, 250.0, 2020, 2016)
    swings = figures({2016: 100.0, 2017: 100.0, 2018: 120.0, 2019: 172.8})
    p = progress(t, swings, as_of_year=2019, unit="t").projection
    assert p is not None
    assert p.central == pytest.approx(172.8 * 1.2)  # 20 % a year, 2016 to 2019
    assert p.high == pytest.approx(p.central * math.exp(Z_80 * math.log(1.2)))


def test_a_spread_smaller_than_the_default_does_not_narrow_the_band() -> None:
    smooth = figures({2016: 100.0, 2017: 110.0, 2018: 121.0, 2019: 133.1})
    p = project(smooth, to_year=2021)
    assert p.high == pytest.approx(p.central * math.exp(HALF_WIDTH_1Y * math.sqrt(2)))


def test_a_year_annualised_from_nine_months_widens_the_band_by_a_quarter_year() -> None:
    partial = Actual(2019, 121.0, Source.ESTIMATE, partial_months=9)
    p = project([*figures({2017: 100.0, 2018: 110.0}), partial], to_year=2020)
    assert p.central == pytest.approx(133.1)
    assert p.high == pytest.approx(133.1 * math.exp(HALF_WIDTH_1Y * math.sqrt(1.25)))
    at_the_deadline = project([*figures({2017: 100.0}), partial], to_year=2019)
    assert at_the_deadline.low == pytest.approx(121.0 * math.exp(-HALF_WIDTH_1Y * 0.5))


def test_a_wider_z_gives_a_wider_band() -> None:
    p90 = project(figures(PLAN_SO_FAR), to_year=2020, band_z=1.6449)
    assert p90.high == pytest.approx(p90.central * math.exp(1.6449 * DEFAULT_GROWTH_SD))


# --- reasons and money ------------------------------------------------------------------------


def test_the_reason_for_an_off_track_target_gives_its_figures_in_both_languages() -> None:
    p = progress(level(), figures(PLAN_SO_FAR), as_of_year=2019)
    assert p.reason_en == (
        "Off track: projected 107.6 bn yuan in 2020 against a floor of 120 bn yuan; even the high "
        "end of the 80 % band (114.7 bn yuan) falls short. Growth of 10.9 % a year since 2017, "
        "23.7 % a year needed from 2019."
    )
    assert p.reason_zh == (
        "进度滞后：预计2020年达1076亿元，目标不低于1200亿元，即使80%区间上限（1147亿元）也达不到。"
        "2017年以来年均增长10.9%，2019年起每年需增长23.7%。"
    )


def test_the_reason_for_a_met_target_gives_the_deadline_figure() -> None:
    p = progress(level(), figures({**PLAN_SO_FAR, 2020: 121 * BN}), as_of_year=2021)
    assert p.reason_en == (
        "Met: 121 bn yuan in 2020 against a floor of 120 bn yuan. "
        "Growth of 15.3 % a year since 2017."
    )
    assert p.reason_zh == "已完成：2020年为1210亿元，目标不低于1200亿元。2017年以来年均增长15.3%。"


def test_the_reason_for_a_growth_target_speaks_in_average_growth() -> None:
    p = progress(growth(12.0), figures(PLAN_SO_FAR), as_of_year=2019)
    assert p.reason_en.startswith(
        "At risk: projected average growth of 10.9 % a year over 2017-2020 against a floor of "
        "12.0 %; only the high end of the 80 % band (13.3 %) reaches it."
    )
    assert p.reason_zh.startswith(
        "存在风险：预计2017—2020年年均增长10.9%，目标不低于12.0%，仅80%区间上限（13.3%）能达到。"
    )


def test_the_reason_for_a_ceiling_names_the_low_end_and_the_unit() -> None:
    falling = figures({2017: 104.0, 2018: 103.0, 2019: 102.0})
    p = progress(level(100.0, bound=Bound.CEILING), falling, as_of_year=2019, unit="kt")
    assert p.reason_en.startswith(
        "At risk: projected 101 kt in 2020 against a ceiling of 100 kt; only the low end of the "
        "80 % band (94.7 kt) stays within it."
    )
    assert "目标不高于100 kt，仅80%区间下限（94.7 kt）不超过目标" in p.reason_zh


def test_the_reason_notes_an_implied_baseline_an_estimate_partial_filings_and_a_late_figure() -> (
    None
):
    latest = Actual(2019, 97 * BN, Source.ESTIMATE, coverage=0.8, partial_months=9)
    p = progress(level(), [latest], as_of_year=2021, growth_sibling=growth())
    assert p.reason_en.endswith(
        "(the 2017 baseline of 78.9 bn yuan is implied by the growth target; 2019 is annualised "
        "from 9 months; filings for 2019 cover 80 % of enterprises in scope; no final figure for "
        "2020 yet)."
    )
    assert p.reason_zh.endswith(
        "（2017年基数789.0亿元由增速目标推算；2019年数值由9个月折算全年；"
        "2019年填报企业占范围内企业的80%；2020年尚无最终数值）。"
    )


@pytest.mark.parametrize(
    ("yuan", "en", "zh"),
    [
        (2.24e12, "2.24 trillion yuan", "2.24万亿元"),
        (1.2e11, "120 bn yuan", "1200亿元"),
        (7.89e10, "78.9 bn yuan", "789.0亿元"),
        (1.0435e11, "104.3 bn yuan", "1044亿元"),
        (9.9996e11, "1 trillion yuan", "1.00万亿元"),
        (5e6, "5 mn yuan", "500.0万元"),
        (3.5e7, "35 mn yuan", "3500万元"),
        (800.0, "800 yuan", "800元"),
        (-2e9, "-2 bn yuan", "-20.0亿元"),
    ],
)
def test_format_money_in_both_languages(yuan: float, en: str, zh: str) -> None:
    assert (format_money(yuan, "en"), format_money(yuan, "zh")) == (en, zh)


def test_format_money_refuses_an_unknown_language_and_a_non_number() -> None:
    with pytest.raises(ValueError, match="language 'fr'"):
        format_money(1e9, "fr")
    with pytest.raises(ValueError, match="money nan is not a number"):
        format_money(math.nan, "en")


# --- properties -------------------------------------------------------------------------------

values = st.floats(min_value=1e-3, max_value=1e13, allow_nan=False, allow_infinity=False)


@st.composite
def series(draw: st.DrawFn) -> list[Actual]:
    years = sorted(draw(st.sets(st.integers(2000, 2030), min_size=2, max_size=8)))
    months = draw(st.integers(1, 12))
    found = [Actual(y, draw(values), Source.FILED) for y in years[:-1]]
    return [*found, Actual(years[-1], draw(values), Source.ESTIMATE, partial_months=months)]


@given(series(), st.integers(0, 10), st.floats(0.1, 3.0))
def test_the_band_always_contains_the_central_value(
    figures_: list[Actual], ahead: int, z: float
) -> None:
    p = project(figures_, to_year=figures_[-1].year + ahead, band_z=z)
    assert p.low <= p.central <= p.high


@given(
    st.floats(1.0, 1e12),
    st.floats(-0.5, 1.0),
    st.integers(2, 8),
    st.integers(0, 6),
)
def test_a_geometric_series_projects_to_its_own_extrapolation_with_the_default_band(
    start: float, rate: float, n: int, ahead: int
) -> None:
    geometric = [Actual(2010 + i, start * (1 + rate) ** i, Source.FILED) for i in range(n)]
    p = project(geometric, to_year=2010 + n - 1 + ahead)
    assert p.central == pytest.approx(start * (1 + rate) ** (n - 1 + ahead), rel=1e-9)
    assert p.growth_pct == pytest.approx(rate * 100, rel=1e-9, abs=1e-9)
    width = Z_80 * DEFAULT_GROWTH_SD * math.sqrt(ahead)
    assert p.high == pytest.approx(p.central * math.exp(width), rel=1e-9)
    assert p.low == pytest.approx(p.central * math.exp(-width), rel=1e-9)


@given(st.floats(1.0, 1e12), st.floats(1.0, 1e12), st.integers(2017, 2019))
def test_the_growth_still_needed_reaches_the_target_at_the_deadline(
    baseline: float, latest: float, year: int
) -> None:
    found = figures({2016: baseline} | ({} if year == 2016 else {year: latest}))
    t = Target("x", "x", TargetKind.LEVEL, 5e11, 2020, 2016)
    p = progress(t, found, as_of_year=year, unit="t")
    assert p.required_cagr_pct is not None
    reached = latest * (1 + p.required_cagr_pct / 100) ** (2020 - year)
    assert reached == pytest.approx(5e11)
    assert p.trajectory[0] == (2016, baseline)
    assert p.trajectory[-1][1] == pytest.approx(5e11)


# --- bad input --------------------------------------------------------------------------------


def test_a_year_given_twice_is_refused_naming_the_year() -> None:
    twice = figures(PLAN_SO_FAR) + figures({2018: 89 * BN}, Source.FILED)
    with pytest.raises(
        ValueError, match="target 'robots_output': year 2018 appears more than once"
    ):
        progress(level(), twice, as_of_year=2019)


def test_a_figure_from_after_as_of_year_is_refused() -> None:
    with pytest.raises(ValueError, match="a figure for 2019 is after 2018"):
        progress(level(), figures(PLAN_SO_FAR), as_of_year=2018)


def test_figures_after_the_deadline_are_ignored_once_the_deadline_year_has_one() -> None:
    p = progress(level(), figures({**PLAN_SO_FAR, 2020: 121 * BN, 2021: 99 * BN}), as_of_year=2022)
    assert p.status is Status.MET
    assert [a.year for a in p.actuals] == [2017, 2018, 2019, 2020]


def test_a_figure_after_a_deadline_year_that_has_none_is_refused() -> None:
    gap = figures({**PLAN_SO_FAR, 2021: 130 * BN})
    with pytest.raises(ValueError, match="a figure for 2021 but none for the deadline year 2020"):
        progress(level(), gap, as_of_year=2021)


@pytest.mark.parametrize("bad", [0.0, -5e9])
def test_a_value_that_is_not_positive_is_refused_where_growth_needs_logs(bad: float) -> None:
    with pytest.raises(
        ValueError, match=f"target 'robots_output': 2018 value {bad} is not positive"
    ):
        progress(level(), figures({**PLAN_SO_FAR, 2018: bad}), as_of_year=2019)


def test_a_baseline_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match=r"baseline 0\.0 is not positive"):
        progress(level(baseline_value=0.0), figures({2018: 88 * BN}), as_of_year=2019)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Actual(2018, math.nan, Source.FILED), "actual 2018: value nan is not a number"),
        (lambda: Actual(2018, 1.0, Source.FILED, coverage=1.5), "coverage 1.5 is not within 0..1"),
        (lambda: Actual(2018, 1.0, Source.ESTIMATE, partial_months=0), "partial_months 0 is"),
        (lambda: Actual(2018, 1.0, Source.ESTIMATE, partial_months=13), "partial_months 13 is"),
        (
            lambda: Actual(2018, 1.0, Source.PUBLISHED, partial_months=6),
            "a partial year must be an ESTIMATE, not published",
        ),
    ],
)
def test_an_actual_that_cannot_be_refuses_itself(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(ValueError, match=message):
        make()


def test_a_partial_year_that_is_not_the_latest_is_refused() -> None:
    early = [Actual(2018, 88 * BN, Source.ESTIMATE, partial_months=6), *figures({2019: 97 * BN})]
    with pytest.raises(ValueError, match="2018 is a partial year but not the latest"):
        progress(level(), early, as_of_year=2019)


def test_a_growth_sibling_on_another_indicator_or_scope_is_refused() -> None:
    other = Target("g2", "total_output", TargetKind.GROWTH, 15.0, 2020, 2017)
    district = Target(
        "g3", "robot_output", TargetKind.GROWTH, 15.0, 2020, 2017,
        scope=Scope(ScopeKind.DISTRICT, "nanhai"),
    )  # fmt: skip
    for sibling in (other, district, level()):
        with pytest.raises(ValueError, match=f"growth sibling {sibling.key!r} is not a growth"):
            progress(level(), [], as_of_year=2019, growth_sibling=sibling)
    with pytest.raises(ValueError, match="growth sibling 'robots_growth'"):
        progress(growth(), [], as_of_year=2019, growth_sibling=growth())


def test_a_band_z_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match=r"band_z 0\.0 is not a positive number"):
        progress(level(), figures(PLAN_SO_FAR), as_of_year=2019, band_z=0.0)


def test_a_projection_is_refused_before_its_latest_figure_or_without_growth() -> None:
    with pytest.raises(ValueError, match="no figure up to 2018"):
        project(figures(PLAN_SO_FAR), to_year=2018)
    with pytest.raises(ValueError, match="growth needs figures for two years, got 2019 only"):
        project(figures({2019: 97 * BN}), to_year=2020)
    with pytest.raises(ValueError, match="growth -100 % a year is not above -100 %"):
        project(figures({2019: 97 * BN}), to_year=2020, growth_pct=-100)


def test_a_projection_to_another_year_than_the_deadline_is_not_judged() -> None:
    p = project(figures(PLAN_SO_FAR), to_year=2021)
    with pytest.raises(ValueError, match="a projection to 2021 cannot be judged against the dead"):
        projected_status(level(), p, baseline=None)
