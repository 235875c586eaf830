from __future__ import annotations

from dataclasses import replace

import pytest

from kiln.advisor.measures import Sample, StationMeasure
from kiln.errors import BadInput
from tests.advisor.lines import welding_line


def test_derived_figures_of_a_station() -> None:
    s = StationMeasure(
        1,
        "a",
        "A",
        1,
        2,
        False,
        None,
        (
            Sample(28_800, 24_000, 0, 4_800, 0, 600, scrap=6),
            Sample(28_800, 20_000, 0, 8_800, 0, 400, scrap=12),
            Sample(28_800, 0, 28_800, 0, 0, 0),
        ),
    )
    assert s.manual
    assert s.cycle_s == pytest.approx(44_000 / 1_000)
    assert s.cycles_s == (40.0, 50.0, None)
    assert s.cycle_cv == pytest.approx(7.0710678 / 45.0)
    assert s.scrap_rate == pytest.approx(18 / 1_000)
    assert s.scrap_rates == (0.01, 0.03, None)
    assert s.share("down_s") == pytest.approx(1 / 3)
    assert replace(s, automated=True).manual is False


def test_line_output_rate_and_crews() -> None:
    line = welding_line()
    assert line.crews == 2
    assert line.planned_busy_s == 2 * 28_800
    assert line.output_per_planned_h == pytest.approx(1_372 / 16)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run_s": -1.0}, "sample: run_s is -1.0"),
        ({"produced": 10, "scrap": 8, "rework": 3}, "scrap 8 + rework 3 exceed produced 10"),
        ({"run_s": 20_000.0, "down_s": 9_000.0}, "exceeds planned busy 28800"),
        ({"starved_s": float("inf")}, "starved_s is inf"),
    ],
)
def test_a_bad_sample_is_refused(kwargs: dict[str, float], message: str) -> None:
    fields: dict[str, float] = {
        "planned_busy_s": 28_800,
        "run_s": 0,
        "down_s": 0,
        "starved_s": 0,
        "blocked_s": 0,
        "produced": 100,
    }
    with pytest.raises(BadInput, match=r"^sample: ") as err:
        Sample(**(fields | kwargs))  # type: ignore[arg-type]
    assert message in str(err.value)


def test_a_bad_line_is_refused_naming_it() -> None:
    line = welding_line()
    with pytest.raises(BadInput, match="line body-a: industry_code is 'C3670'"):
        replace(line, industry_code="C3670")
    with pytest.raises(BadInput, match=r"line body-a: stations are not in flow order"):
        replace(line, stations=tuple(reversed(line.stations)))
    short = replace(line.stations[0], samples=line.stations[0].samples[:1])
    with pytest.raises(BadInput, match="sample counts differ: load=1, press=2"):
        replace(line, stations=(short, *line.stations[1:]))
    with pytest.raises(BadInput, match="a line needs at least one station"):
        replace(line, stations=())
    with pytest.raises(BadInput, match="station x: operators is -1"):
        StationMeasure(1, "x", "X", 1, -1, False, None, ())
