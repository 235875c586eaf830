"""Energy per produced and per good unit, meter sums, and energy from power samples."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.kpi.energy import (
    EnergyReadings,
    energy_per_good_unit,
    energy_per_unit,
    integrate_power_kwh,
    sum_energy,
)


def test_the_worked_example_names_both_denominators() -> None:
    assert energy_per_unit(np.array([1260.0]), np.array([700])).at(0).value == pytest.approx(1.8)
    good = energy_per_good_unit(np.array([1260.0]), np.array([665])).at(0).value
    assert round(good, 2) == 1.89


def test_an_unmetered_equipment_has_no_energy_per_unit() -> None:
    k = energy_per_unit(np.array([np.nan]), np.array([700])).at(0)
    assert k.value is None
    assert k.reason == "no energy reading"
    k = energy_per_unit(np.array([50.0]), np.array([0])).at(0)
    assert k.value is None
    assert k.reason == "nothing produced (PQ = 0)"


def test_meter_readings_are_summed_in_the_window_per_equipment() -> None:
    r = EnergyReadings.of([2, 1, 2, 1], [5, 5, 15, 50], [1.0, 2.0, 3.0, 4.0])
    assert sum_energy(r, start_ms=0, end_ms=20, equipment=[1, 2, 3]).tolist()[:2] == [2.0, 4.0]
    assert np.isnan(sum_energy(r, start_ms=0, end_ms=20, equipment=[3])[0])


def test_a_silent_power_meter_holds_its_last_sample_only_so_long() -> None:
    kwh = integrate_power_kwh(
        np.array([1]),
        np.array([0]),
        np.array([60.0]),
        start_ms=0,
        end_ms=3_600_000,
        ids=[1, 2],
        max_hold_ms=600_000,
    )
    assert kwh[0] == pytest.approx(10.0)
    assert np.isnan(kwh[1])
