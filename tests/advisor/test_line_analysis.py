from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.advisor.line_analysis import analyse_line
from kiln.advisor.measures import LineMeasure, Sample, StationMeasure
from tests.advisor.lines import SHIFT_S, welding_line


def test_the_manual_welder_is_the_bottleneck_of_the_hand_built_line() -> None:
    a = analyse_line(welding_line())
    assert a.bottleneck is not None
    assert a.bottleneck.measure.slug == "spot-weld"
    assert a.bottleneck.bottleneck_share == 1.0
    assert a.bottlenecks == (3, 3)
    assert [s.bottleneck_share for s in a.stations] == [0.0, 0.0, 1.0, 0.0]
    # upstream blocked, downstream starved in both shifts
    assert a.pattern_consistency == 1.0


def test_takt_is_the_achieved_one_unless_configured() -> None:
    a = analyse_line(welding_line())
    assert a.takt_s == pytest.approx(2 * SHIFT_S / (2 * 686))
    assert not a.takt_configured
    assert a.station(3).cycle_vs_takt == pytest.approx(40.0 / (SHIFT_S / 686))
    b = analyse_line(welding_line(takt_s=45.0))
    assert b.takt_s == 45.0
    assert b.takt_configured
    assert b.station(3).cycle_vs_takt == pytest.approx(40.0 / 45.0)


def test_losses_are_split_into_availability_performance_and_quality() -> None:
    a = analyse_line(welding_line())
    load, press, weld, pack = a.stations
    assert (load.availability_loss_s, load.performance_loss_s, load.quality_loss_s) == (600, 0, 0)
    # no ideal cycle at the welder: the fastest shift's 40 s stands in, flagged as an estimate
    assert weld.reference_cycle_s == pytest.approx(40.0)
    assert weld.reference_estimated
    assert weld.availability_loss_s == 1_600
    assert weld.quality_loss_s == pytest.approx(40.0 * 28)
    assert weld.loss_share == pytest.approx(2_720 / 3_320)
    assert load.loss_share == pytest.approx(600 / 3_320)
    assert press.loss_s == pack.loss_s == 0.0
    assert weld.scrap_rate == pytest.approx(0.02)


def test_a_station_slower_than_its_ideal_shows_a_performance_loss() -> None:
    s = StationMeasure(1, "a", "A", 1, 1, False, 30.0, (Sample(SHIFT_S, 24_000, 0, 4_800, 0, 600),))
    line = LineMeasure(1, "l", "L", "e", "3852", "shunde", (s,), 1, 1.0, None, 600)
    st_ = analyse_line(line).stations[0]
    assert st_.performance_loss_s == pytest.approx(24_000 - 30.0 * 600)
    assert not st_.reference_estimated


def test_cycle_variability_of_a_manual_station() -> None:
    s = StationMeasure(
        1,
        "a",
        "A",
        1,
        1,
        False,
        None,
        tuple(Sample(SHIFT_S, c * 500, 0, SHIFT_S - c * 500, 0, 500) for c in (30.0, 40.0, 50.0)),
    )
    line = LineMeasure(1, "l", "L", "e", "3852", "shunde", (s,), 3, 1.0, None, 1500)
    assert analyse_line(line).stations[0].cycle_cv == pytest.approx(10.0 / 40.0)


def test_a_window_with_no_planned_time_has_no_bottleneck() -> None:
    idle = Sample(0, 0, 0, 0, 0, 0)
    s = StationMeasure(1, "a", "A", 1, 1, False, None, (idle,))
    a = analyse_line(LineMeasure(1, "l", "L", "e", "3852", "shunde", (s,), 1, 1.0, None, 0))
    assert a.bottlenecks == (None,)
    assert a.bottleneck is None
    assert a.takt_s is None
    assert a.pattern_consistency is None


@st.composite
def serial_lines(draw: st.DrawFn) -> tuple[LineMeasure, int]:
    """A buffer-less serial line: every station makes the same units; the slowest runs flat out."""
    n = draw(st.integers(2, 6))
    cycles = draw(
        st.lists(st.integers(10, 60), min_size=n, max_size=n, unique=True).map(
            lambda xs: [float(x) for x in xs]
        )
    )
    k = max(range(n), key=lambda i: cycles[i])
    windows = draw(st.integers(1, 4))
    stations = []
    for i, c in enumerate(cycles):
        samples = []
        for _ in range(windows):
            produced = int(SHIFT_S // cycles[k])
            run = c * produced
            idle = SHIFT_S - run
            starved, blocked = (idle, 0.0) if i > k else (0.0, idle)
            samples.append(Sample(SHIFT_S, run, 0.0, starved, blocked, produced))
        stations.append(StationMeasure(i, f"s{i}", f"S{i}", i, 1, False, None, tuple(samples)))
    good = int(SHIFT_S // cycles[k]) * windows
    line = LineMeasure(1, "l", "L", "e", "3670", "nanhai", tuple(stations), 1, 1.0, None, good)
    return line, k


@settings(max_examples=60, deadline=None)
@given(serial_lines())
def test_the_slowest_station_of_a_serial_line_is_found_as_the_bottleneck(
    case: tuple[LineMeasure, int],
) -> None:
    line, k = case
    a = analyse_line(line)
    assert a.bottleneck is not None
    assert a.bottleneck.measure.station_id == k
    assert a.pattern_consistency == 1.0
