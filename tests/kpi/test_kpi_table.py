"""The whole pipeline on the worked example of domain.md 1.3: a state log and counts in, every
figure of the example out, to four decimals."""

from __future__ import annotations

from typing import Any

import pytest

from kiln.domain.states import EquipmentState as S
from kiln.kpi.kpi_table import kpi_table
from kiln.kpi.rollup import Level
from kiln.kpi.shift_calendar import ShiftCalendar
from tests.kpi.builders import (
    DAY_MS,
    catalog,
    counts_table,
    local_ms,
    press,
    states_table,
    worked_calendar,
    worked_log,
    worked_window,
)


@pytest.fixture(scope="module")
def row() -> dict[str, Any]:
    states, counts, energy = worked_log()
    table = kpi_table(
        states,
        counts,
        catalog(press()),
        windows=[worked_window()],
        calendars={1: worked_calendar()},
        energy=energy,
    )
    assert table.num_rows == 1
    return table.to_pylist()[0]


def test_the_time_elements_of_the_worked_shift(row: dict[str, Any]) -> None:
    assert (row["pot_min"], row["pdot_min"], row["pbt_min"]) == (480, 30, 450)
    assert (row["apt_min"], row["aust_min"], row["adet_min"], row["adot_min"]) == (380, 25, 45, 0)
    assert row["unknown_min"] == 0
    assert row["data_coverage"] == 1.0
    assert (row["produced"], row["good"], row["scrap"], row["rework"]) == (700, 665, 21, 14)


@pytest.mark.parametrize(
    ("kpi", "expected"),
    [
        ("availability", 0.8444),
        ("effectiveness", 0.9211),
        ("quality_ratio", 0.9500),
        ("oee", 0.7389),
        ("nee", 0.7875),
        ("technical_efficiency", 0.8941),
        ("setup_rate", 0.0617),
        ("scrap_ratio", 0.0300),
        ("rework_ratio", 0.0200),
        ("energy_per_unit_kwh", 1.8000),
        ("energy_per_good_unit_kwh", 1.8947),
        ("teep", 0.2309),
    ],
)
def test_each_kpi_of_the_worked_example_to_four_decimals(
    row: dict[str, Any], kpi: str, expected: float
) -> None:
    assert round(row[kpi], 4) == expected


def test_oee_is_the_product_of_its_factors_and_pri_times_good_over_pbt(row: dict[str, Any]) -> None:
    product = row["availability"] * row["effectiveness"] * row["quality_ratio"]
    assert row["oee"] == pytest.approx(product)
    assert row["oee"] == pytest.approx(0.5 * 665 / 450)


def test_throughput_is_700_parts_over_450_minutes(row: dict[str, Any]) -> None:
    assert row["throughput_per_h"] == pytest.approx(700 / 450 * 60)
    assert round(row["throughput_per_h"], 1) == 93.3


def test_three_faults_give_mtbf_135_min_and_mttr_15_min(row: dict[str, Any]) -> None:
    assert row["failures"] == 3
    assert row["mtbf_h"] * 60 == pytest.approx(135)
    assert row["mttr_min"] == pytest.approx(15)
    assert row["inherent_availability"] == pytest.approx(135 / 150)


def test_the_six_big_losses_leave_332_5_fully_productive_minutes(row: dict[str, Any]) -> None:
    assert row["unplanned_stops_min"] == 45
    assert row["setup_min"] == 25
    assert row["speed_loss_min"] == pytest.approx(30)
    assert row["quality_loss_min"] == pytest.approx(17.5)
    left = 450 - 45 - 25 - row["speed_loss_min"] - row["quality_loss_min"]
    assert left == pytest.approx(332.5) == pytest.approx(row["fully_productive_min"])


def test_a_defined_row_notes_nothing_undefined(row: dict[str, Any]) -> None:
    assert row["robot_utilisation"] is None
    assert row["undefined"] == "robot_utilisation: no robot with planned operation time"
    assert row["flags"] == ""


def test_per_shift_windows_add_up_to_the_day() -> None:
    states, counts, _ = worked_log()
    start, end = worked_window()
    noon = local_ms(2024, 1, 5, 12, 10)
    whole = kpi_table(
        states, counts, catalog(press()), windows=[(start, end)], calendars={1: worked_calendar()}
    ).to_pylist()[0]
    parts = kpi_table(
        states,
        counts,
        catalog(press()),
        windows=[(start, noon), (noon, end)],
        calendars={1: worked_calendar()},
    ).to_pylist()
    for name in ("pot_min", "pbt_min", "apt_min", "adet_min", "produced", "failures"):
        assert parts[0][name] + parts[1][name] == pytest.approx(whole[name]), name


def test_rows_of_a_level_are_named_and_keyed() -> None:
    states, counts, _ = worked_log()
    table = kpi_table(
        states,
        counts,
        catalog(press()),
        windows=[worked_window()],
        level=Level.ENTERPRISE,
        calendars={1: worked_calendar()},
    )
    row = table.to_pylist()[0]
    assert (row["level"], row["key"], row["name"], row["members"]) == ("enterprise", "1", "Acme", 1)
    assert round(row["oee"], 4) == 0.7389


def test_a_site_without_calendar_is_planned_around_the_clock() -> None:
    start = local_ms(2024, 1, 6)  # a Saturday: without a calendar that does not matter
    states = states_table([(1, start, start + DAY_MS, S.RUNNING)])
    row = kpi_table(
        states, counts_table([]), catalog(press()), windows=[(start, start + DAY_MS)]
    ).to_pylist()[0]
    assert row["pot_min"] == 1440
    assert row["apt_min"] == 1440
    assert row["oee"] == 0.0  # planned and running, nothing counted
    assert row["quality_ratio"] is None
    assert "quality_ratio: nothing produced (PQ = 0)" in row["undefined"]
    assert ShiftCalendar.continuous().planned_time(start, start + DAY_MS).pot_ms == DAY_MS


@pytest.mark.parametrize(
    ("day", "planned"), [((2024, 10, 1), False), ((2024, 10, 12), True), ((2024, 10, 19), False)]
)
def test_a_holiday_has_no_planned_time_and_a_make_up_saturday_has(
    day: tuple[int, int, int], planned: bool
) -> None:
    start = local_ms(*day)
    states = states_table([(1, start + 8 * 3_600_000, start + 16 * 3_600_000, S.RUNNING)])
    row = kpi_table(
        states,
        counts_table([]),
        catalog(press()),
        windows=[(start, start + DAY_MS)],
        calendars={1: worked_calendar()},
    ).to_pylist()[0]
    if planned:
        assert row["pbt_min"] == 450
        assert row["availability"] == 1.0
    else:
        assert row["pot_min"] == 0
        assert row["availability"] is None
        assert row["oee"] is None
        assert "availability: no planned busy time (PBT = 0)" in row["undefined"]
