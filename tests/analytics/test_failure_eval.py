"""Failure evaluation: detection rate, lead times and false alarms per equipment."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.analytics.failure_eval import DAY_MS, KnownFailure, evaluate, running_during
from kiln.errors import BadInput

H = 3_600_000


def test_a_worked_week_of_two_equipment() -> None:
    failures = [
        KnownFailure(1, 10 * H, 16 * H, 20 * H),  # raised 4 h before: detected, lead 4 h
        KnownFailure(2, 30 * H, 40 * H, 42 * H),  # raised only after the failure: missed
        KnownFailure(1, 100 * H, 104 * H),  # raised 30 min before, no repair end known
    ]
    raises = {
        1: [12 * H, 14 * H, 103 * H + H // 2, 150 * H],  # 150 h: false
        2: [41 * H, 42 * H + H // 2, 60 * H],  # in the repair, in the settle hour, false
    }
    r = evaluate(raises, failures, equipment=2, start_ms=0, end_ms=7 * DAY_MS)
    assert (r.failures, r.detected) == (3, 2)
    assert r.lead_times_ms == (4 * H, H // 2)
    assert r.detection_rate == pytest.approx(2 / 3)
    assert r.median_lead_ms == pytest.approx(2.25 * H)
    assert r.false_alarms == 2
    assert r.false_per_equipment_week == pytest.approx(1.0)
    assert r.false_per_equipment_day == pytest.approx(1 / 7)


def test_failures_outside_the_span_are_not_scored() -> None:
    r = evaluate({}, [KnownFailure(1, -5 * H, H)], equipment=1, start_ms=0, end_ms=DAY_MS)
    assert r.failures == 0
    assert r.detection_rate != r.detection_rate


def test_an_empty_span_is_refused_naming_where() -> None:
    with pytest.raises(BadInput, match="failure_eval: span ends"):
        evaluate({}, [], equipment=1, start_ms=10, end_ms=10)


def test_a_failure_before_its_precursor_is_refused_naming_the_equipment() -> None:
    with pytest.raises(BadInput, match="equipment 7"):
        evaluate({}, [KnownFailure(7, 5 * H, 4 * H)], equipment=1, start_ms=0, end_ms=DAY_MS)


def test_an_excused_failure_is_not_scored_but_its_raises_are_not_false() -> None:
    hidden = KnownFailure(1, 50 * H, 60 * H, 62 * H)  # a precursor that never ran
    r = evaluate(
        {1: [55 * H, 100 * H]}, [], equipment=1, start_ms=0, end_ms=7 * DAY_MS, excused=[hidden]
    )
    assert (r.failures, r.detected, r.false_alarms) == (0, 0, 1)


def test_running_during_a_precursor_over_a_weekend_shutdown() -> None:
    # Equipment 3 runs Friday 06:00-22:00 (hours 4*24+6 .. 4*24+22), then off until Monday.
    fri, mon = 4 * 24 * H, 7 * 24 * H
    failures = [
        KnownFailure(3, fri + 20 * H, mon),  # 2 h of running, then the weekend
        KnownFailure(3, fri + 23 * H, mon),  # the whole precursor inside the shutdown
        KnownFailure(4, 0, H),  # no state ever reported: never seen running
    ]
    ran = running_during(
        failures,
        np.array([3, 3, 3], dtype=np.int64),
        np.array([fri + 22 * H, fri + 6 * H, mon], dtype=np.int64),  # any order
        np.array([False, True, True]),
    )
    assert ran.tolist() == [2 * H, 0, 0]


def test_running_during_refuses_columns_of_different_lengths() -> None:
    with pytest.raises(BadInput, match="failure_eval: state columns differ in length"):
        running_during(
            [], np.zeros(2, dtype=np.int64), np.zeros(1, dtype=np.int64), np.zeros(2, dtype=bool)
        )
