"""Ideal cycle times per equipment and product, changing over time."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.errors import BadInput
from kiln.kpi.ideal_cycle import IdealCycles, ProductCycle, ProductRun
from tests.kpi.builders import catalog, press


def test_the_catalogue_gives_the_equipment_cycle_else_the_template_cycle() -> None:
    cycles = IdealCycles.from_catalog(catalog(press(1, 1, 6.0), press(2, 1, None)))
    assert cycles.at(np.array([1, 2, 3]), np.zeros(3, dtype=np.int64)).tolist()[:2] == [6.0, 5.0]


def test_a_product_change_switches_the_cycle_and_a_rate_change_applies_mid_run() -> None:
    runs = [ProductRun(1, 1_000, "door"), ProductRun(1, 5_000, "lid"), ProductRun(2, 0, "lid")]
    cycles = [
        ProductCycle("door", 30.0),
        ProductCycle("lid", 12.0),
        ProductCycle("door", 25.0, valid_from_ms=3_000),
        ProductCycle("lid", 10.0, equipment=2),
    ]
    table = IdealCycles.from_products(
        runs, cycles, before_first_run=IdealCycles.constant({1: 40.0, 3: 7.0})
    )
    ts = np.array([0, 1_000, 2_999, 3_000, 5_000, 0, 9])
    eq = np.array([1, 1, 1, 1, 1, 2, 3])
    assert table.at(eq, ts).tolist() == [40.0, 30.0, 30.0, 25.0, 12.0, 10.0, 7.0]


def test_a_product_without_a_cycle_has_no_pri_rather_than_an_invented_one() -> None:
    table = IdealCycles.from_products([ProductRun(1, 0, "new")], [ProductCycle("old", 5.0)])
    assert np.isnan(table.at(np.array([1]), np.array([10]))[0])


def test_no_pri_before_the_first_step_or_for_unknown_equipment() -> None:
    table = IdealCycles.of([(1, 1_000, 30.0)])
    assert np.isnan(table.at(np.array([1, 2]), np.array([999, 5_000]))).all()
    assert np.isnan(IdealCycles.of([]).at(np.array([1]), np.array([0])))[0]


def test_steps_inside_a_window_are_found() -> None:
    table = IdealCycles.of([(1, 0, 30.0), (1, 500, 20.0), (1, 900, 10.0), (2, 0, 5.0)])
    changes = table.changes(np.array([1, 2]), 400, 900)
    assert [c.tolist() for c in changes] == [[500], []]


def test_a_cycle_that_is_not_positive_is_refused() -> None:
    with pytest.raises(BadInput, match=r"equipment 4: ideal cycle 0\.0 s is not positive"):
        IdealCycles.of([(4, 0, 0.0)])
