from __future__ import annotations

from dataclasses import replace

import pytest

from kiln.advisor.follow_up import Prediction, compare
from kiln.advisor.measures import LineMeasure
from kiln.errors import BadInput
from tests.advisor.lines import station, welding_line


def after_install(cycle: float, produced: int, good: int, scrap: int) -> LineMeasure:
    """The welding line after a robot took station 3 over: its cycle and scrap as given."""
    base = welding_line()
    robot = station(
        3,
        "spot-weld",
        cycles=[cycle, cycle],
        produced=produced,
        blocked_s=0,
        starved_s=0,
        scrap=scrap,
        operators=0,
        automated=True,
        name="Spot welding",
    )
    stations = tuple(robot if s.station_id == 3 else s for s in base.stations)
    return replace(base, stations=stations, good_units=good)


def test_a_robot_that_did_what_was_predicted() -> None:
    before = welding_line()  # 1 372 good in 16 planned hours
    after = after_install(36.0, 780, 1_544, 4)  # 1 544 / 1 372 - 1 = +12.5 %
    f = compare(Prediction(3, cycle_s=35.0, throughput_gain=0.125, scrap_rate=0.005), before, after)
    assert f.output_before_per_h == pytest.approx(1_372 / 16)
    assert f.output_after_per_h == pytest.approx(1_544 / 16)
    assert f.gain.measured == pytest.approx(1_544 / 1_372 - 1)
    assert f.gain.error == pytest.approx(1_544 / 1_372 - 1 - 0.125)
    assert f.cycle.measured == pytest.approx(36.0)
    assert f.cycle.error == pytest.approx(1.0)
    assert f.cycle.relative_error == pytest.approx(1 / 35)
    assert f.scrap.measured == pytest.approx(8 / 1_560)
    assert f.verdict == (
        "line output as predicted (+12.5% against +12.5%); "
        "station cycle as predicted (36.0 s against 35.0 s); "
        "scrap rate as predicted (0.5% against 0.5%)"
    )
    assert f.describe("zh") == (
        "产线产量与预测相符（实测+12.5%，预测+12.5%）；"
        "工位节拍与预测相符（实测36.0秒，预测35.0秒）；"
        "废品率与预测相符（实测0.5%，预测0.5%）"
    )
    with pytest.raises(BadInput, match="follow-up: language 'de' is not offered"):
        f.describe("de")


def test_a_robot_that_fell_short_is_called_so() -> None:
    after = after_install(44.0, 650, 1_300, 20)
    f = compare(Prediction(3, 30.0, 0.14, 0.005), welding_line(), after)
    assert f.gain.measured < 0
    assert f.gain.verdict == "worse than predicted"
    assert f.cycle.verdict == "worse than predicted"
    assert f.cycle.relative_error == pytest.approx(14 / 30)
    assert f.scrap.verdict == "worse than predicted"
    assert f.describe("zh").startswith("产线产量差于预测")


def test_a_robot_that_beat_the_prediction() -> None:
    after = after_install(30.0, 900, 1_800, 0)
    f = compare(Prediction(3, 35.0, 0.10, 0.02), welding_line(), after)
    assert f.gain.verdict == "better than predicted"
    assert f.cycle.verdict == "better than predicted"
    assert f.scrap.verdict == "better than predicted"


def test_follow_up_refuses_what_cannot_be_measured() -> None:
    with pytest.raises(BadInput, match="line body-a: no station 9"):
        compare(Prediction(9, 30.0, 0.1, 0.01), welding_line(), welding_line())
    empty = replace(welding_line(), good_units=0)
    with pytest.raises(BadInput, match="no output or planned time before installation"):
        compare(Prediction(3, 30.0, 0.1, 0.01), empty, welding_line())
