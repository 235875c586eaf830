"""Planned time per equipment: POT and PDOT measured over any stretch."""

from __future__ import annotations

import numpy as np

from kiln.kpi.planned_time import CalendarMeasure, EquipmentPlan, PlannedTime


def test_overlapping_pieces_count_once_and_planned_down_wins() -> None:
    plan = EquipmentPlan.concat(
        [
            EquipmentPlan.broadcast([1], PlannedTime.of([(0, 60, False), (30, 90, False)])),
            EquipmentPlan.broadcast([1], PlannedTime.of([(50, 70, True)])),
            EquipmentPlan.broadcast([2], PlannedTime.of([(0, 10, True)])),
        ]
    )
    m = CalendarMeasure.build(plan, np.array([1, 2]), 0, 100)
    assert m.pot_total_ms.tolist() == [90, 10]
    assert m.pdot_total_ms.tolist() == [20, 10]
    outside, pdot, pbt = m.split(
        np.array([0, 0, 1]), np.array([40, 85, 0]), np.array([60, 100, 100])
    )
    assert (outside.tolist(), pdot.tolist(), pbt.tolist()) == ([0, 10, 90], [10, 0, 10], [10, 5, 0])


def test_pieces_outside_the_window_or_of_other_equipment_are_ignored() -> None:
    plan = EquipmentPlan.broadcast([1, 3], PlannedTime.of([(-50, 20, False), (90, 200, True)]))
    m = CalendarMeasure.build(plan, np.array([1]), 0, 100)
    assert m.pot_total_ms.tolist() == [30]
    assert m.pdot_total_ms.tolist() == [10]
