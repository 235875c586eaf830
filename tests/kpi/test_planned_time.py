"""Planned time per equipment: POT and PDOT measured over any stretch."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=150, deadline=None)
@given(
    pieces=st.lists(
        st.tuples(st.integers(1, 3), st.integers(-20, 120), st.integers(0, 40), st.booleans()),
        max_size=8,
    ),
    spans=st.lists(st.tuples(st.integers(1, 3), st.integers(0, 100), st.integers(0, 100))),
)
def test_any_stretch_is_measured_as_counting_each_millisecond(
    pieces: list[tuple[int, int, int, bool]], spans: list[tuple[int, int, int]]
) -> None:
    plan = EquipmentPlan.concat(
        [EquipmentPlan.broadcast([e], PlannedTime.of([(a, a + n, d)])) for e, a, n, d in pieces]
    )
    ids = np.array([1, 2, 3])
    m = CalendarMeasure.build(plan, ids, 0, 100)

    def at(e: int, t: int) -> str:
        here = [d for q, a, n, d in pieces if q == e and a <= t < a + n]
        return "outside" if not here else "pdot" if any(here) else "pbt"

    for e, a, b in spans:
        a, b = min(a, b), max(a, b)
        got = m.split(np.array([e - 1]), np.array([a]), np.array([b]))
        seen = [at(e, t) for t in range(a, b)]
        assert [int(x[0]) for x in got] == [seen.count(k) for k in ("outside", "pdot", "pbt")]
    assert m.pot_total_ms.tolist() == [
        sum(at(e, t) != "outside" for t in range(100)) for e in (1, 2, 3)
    ]
