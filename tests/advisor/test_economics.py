from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.advisor.economics import Candidate, candidates, process_hint
from kiln.advisor.line_analysis import analyse_line
from kiln.advisor.measures import LineMeasure, Sample, StationMeasure
from tests.advisor.economics_inputs import ROUND
from tests.advisor.lines import SHIFT_S, station, welding_line


def only(found: list[Candidate]) -> Candidate:
    assert len(found) == 1, [c.station.measure.slug for c in found]
    return found[0]


def test_the_welder_is_the_only_candidate_with_exact_effects() -> None:
    c = only(candidates(analyse_line(welding_line()), ROUND))
    assert c.station.measure.slug == "spot-weld"
    assert c.process == "welding"
    assert c.reasons == ("bottleneck", "scrap")
    e = c.effects
    assert e.manual_cycle_s == pytest.approx(40.0)
    assert e.robot_cycle_s == pytest.approx(30.0)  # 0.75 x 40 s
    # the line falls to the press's 35 s, not the robot's 30 s; bottleneck all the time
    assert e.throughput_gain == pytest.approx(40.0 / 35.0 - 1.0)
    assert e.added_units_per_year == pytest.approx((40 / 35 - 1) * 1_372 * 300)  # 1 day measured
    assert e.scrap_avoided_per_year == pytest.approx((0.02 - 0.005) * 1_400 * 300)
    assert e.operators_freed_per_shift == pytest.approx(1.75)


def test_the_welder_pays_back_exactly_as_the_formula_says() -> None:
    m = only(candidates(analyse_line(welding_line()), ROUND)).money
    assert (m.robot_yuan, m.integration_yuan, m.tooling_yuan) == (200_000, 200_000, 100_000)
    assert m.investment_yuan == 500_000
    assert m.operating_cost_yuan_per_year == pytest.approx(25_000)
    assert m.labour_saved_yuan_per_year == pytest.approx(1.75 * 2 * 130_000)  # two crews
    added = 58_800.0  # (40/35 - 1) x 1 372 x 300
    assert m.added_margin_yuan_per_year == pytest.approx(added * 10 * 0.15)
    assert m.added_output_yuan_per_year == pytest.approx(added * 10)
    assert m.scrap_saved_yuan_per_year == pytest.approx(6_300 * 10 * 0.5)
    net = 455_000 + 88_200 + 31_500 - 25_000
    assert m.net_benefit_yuan_per_year == pytest.approx(net)
    assert m.payback_years == pytest.approx(500_000 / net)
    assert m.npv_yuan == pytest.approx(-500_000 + net / 1.1 + net / 1.1**2)
    assert m.payback_labour_years == pytest.approx(500_000 / (455_000 + 31_500 - 25_000))


def test_only_the_sold_share_of_added_output_earns() -> None:
    half = ROUND.with_overrides({"sold_share": 0.5})
    m = only(candidates(analyse_line(welding_line()), half)).money
    assert m.added_margin_yuan_per_year == pytest.approx(58_800 * 0.5 * 10 * 0.15)
    assert m.added_output_yuan_per_year == pytest.approx(58_800 * 0.5 * 10)
    # What does not depend on selling more stays as it was.
    assert m.payback_labour_years == pytest.approx(500_000 / (455_000 + 31_500 - 25_000))


def test_identical_shifts_give_a_range_of_width_zero() -> None:
    c = only(candidates(analyse_line(welding_line()), ROUND))
    assert c.range.payback_low_years == pytest.approx(c.money.payback_years)
    assert c.range.payback_high_years == pytest.approx(c.money.payback_years)
    assert c.range.npv_low_yuan == pytest.approx(c.money.npv_yuan)


def test_the_range_comes_from_the_10th_and_90th_percentile_shifts() -> None:
    # Welder cycles 36, 40, 41 s over three shifts: mean 39 s, p10 = 36.8 s, p90 = 40.8 s.
    base = welding_line()
    weld = station(
        3,
        "spot-weld",
        cycles=[36.0, 40.0, 41.0],
        produced=700,
        blocked_s=0,
        starved_s=0,
        operators=2,
        name="Spot welding",
    )
    others = [replace(s, samples=(s.samples[0],) * 3) for s in base.stations if s.station_id != 3]
    line = replace(base, stations=(*others[:2], weld, others[2]), days=1.5, good_units=3 * 686)
    a = ROUND.with_overrides({"robot_cycle_s": 30.0, "tend_operators": 2})  # no labour saved
    c = only(candidates(analyse_line(line), a))
    assert c.effects.manual_cycle_s == pytest.approx(39.0)
    assert c.station.bottleneck_share == 1.0
    per_year = 300 / 1.5

    def payback(cycle: float) -> float:
        added = (cycle / 35.0 - 1.0) * 3 * 686 * per_year
        return 500_000 / (added * 10 * 0.15 - 25_000)

    assert c.money.payback_years == pytest.approx(payback(39.0))
    assert c.range.payback_low_years == pytest.approx(payback(40.8))
    assert c.range.payback_high_years == pytest.approx(payback(36.8))
    assert c.range.npv_low_yuan < c.money.npv_yuan < c.range.npv_high_yuan


def test_a_manual_station_without_loss_is_no_candidate() -> None:
    found = candidates(analyse_line(welding_line()), ROUND)
    assert "pack" not in [c.station.measure.slug for c in found]  # 1 operator, no loss


def test_a_configured_takt_bounds_the_gain() -> None:
    c = only(candidates(analyse_line(welding_line(takt_s=38.0)), ROUND))
    assert c.effects.throughput_gain == pytest.approx(40.0 / 38.0 - 1.0)


def test_a_station_that_never_pays_back_has_no_payback() -> None:
    a = ROUND.with_overrides({"annual_wage_yuan": 1, "unit_value_yuan": 0})
    c = only(candidates(analyse_line(welding_line()), a))
    assert c.money.payback_years is None
    assert c.range.payback_low_years is None
    assert c.money.npv_yuan < -500_000


def test_process_hints_read_english_and_chinese_names() -> None:
    assert process_hint("glaze-2", "Glaze spraying") == "painting"  # spray is read first
    assert process_hint("s5", "码垛") == "palletising"
    assert process_hint("op9", "Final assembly") == "assembly"
    assert process_hint("op9", "Station 9") == "general"


def test_every_assumption_used_is_carried_with_the_candidate() -> None:
    c = only(candidates(analyse_line(welding_line()), ROUND))
    assert c.assumptions_used is ROUND
    names = {r.name for r in c.assumptions_used.describe()}
    assert {"annual_wage_yuan", "discount_rate", "robot_price_yuan.welding"} <= names


# --- properties ---------------------------------------------------------------------------


def _payback(c: Candidate) -> float:
    return c.money.payback_years if c.money.payback_years is not None else float("inf")


@settings(max_examples=50, deadline=None)
@given(st.floats(1_000, 400_000), st.floats(1.0, 300_000))
def test_payback_does_not_rise_as_labour_cost_rises(wage: float, more: float) -> None:
    a = analyse_line(welding_line())
    low = only(candidates(a, ROUND.with_overrides({"annual_wage_yuan": wage})))
    high = only(candidates(a, ROUND.with_overrides({"annual_wage_yuan": wage + more})))
    assert _payback(high) <= _payback(low)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.0, 0.5), st.floats(0.001, 0.5), st.integers(1, 30))
def test_npv_rises_as_the_discount_rate_falls(rate: float, less: float, life: int) -> None:
    a = analyse_line(welding_line())
    hi = ROUND.with_overrides({"discount_rate": min(rate + less, 1.0), "life_years": life})
    lo = ROUND.with_overrides({"discount_rate": rate, "life_years": life})
    assert only(candidates(a, lo)).money.npv_yuan >= only(candidates(a, hi)).money.npv_yuan


@st.composite
def lossless_lines(draw: st.DrawFn) -> LineMeasure:
    """A balanced line: one cycle everywhere, no downtime, scrap, idle or variability."""
    n = draw(st.integers(1, 6))
    windows = draw(st.integers(1, 4))
    cycle = draw(st.floats(5.0, 120.0))
    produced = int(SHIFT_S // cycle)
    sample = Sample(produced * cycle, produced * cycle, 0.0, 0.0, 0.0, produced)
    stations = tuple(
        StationMeasure(
            i,
            f"s{i}",
            f"S{i}",
            i,
            draw(st.integers(0, 5)),
            draw(st.booleans()),
            cycle,
            (sample,) * windows,
        )
        for i in range(n)
    )
    return LineMeasure(
        1,
        "l",
        "L",
        "e",
        "3852",
        "shunde",
        stations,
        draw(st.integers(1, 3)),
        windows,
        None,
        produced * windows,
    )


@settings(max_examples=80, deadline=None)
@given(lossless_lines(), st.floats(0.05, 1.0))
def test_no_candidate_on_a_line_with_no_losses(line: LineMeasure, share: float) -> None:
    a = ROUND.with_overrides({"robot_cycle_share": share})
    assert candidates(analyse_line(line), a) == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(30.0, 60.0), min_size=2, max_size=6), st.floats(0.3, 0.9))
def test_the_range_is_ordered(cycles: list[float], share: float) -> None:
    weld = station(1, "weld", cycles=cycles, produced=400, operators=2)
    line = LineMeasure(
        1, "l", "L", "e", "3670", "nanhai", (weld,), 1, len(cycles), None, 400 * len(cycles)
    )
    a = ROUND.with_overrides({"robot_cycle_share": share, "manual_cv_threshold": 0})
    c = only(candidates(analyse_line(line), a))
    low = c.range.payback_low_years
    high = c.range.payback_high_years
    assert (low if low is not None else np.inf) <= (high if high is not None else np.inf)
    assert c.range.npv_low_yuan <= c.range.npv_high_yuan
