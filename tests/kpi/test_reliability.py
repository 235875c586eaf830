"""MTBF, MTTR and inherent availability; no failure means undefined, with the operating time."""

from __future__ import annotations

import pytest

from kiln.kpi.reliability import inherent_availability, mtbf_h, mttr_min, reliability_kpis
from kiln.kpi.worked_example import worked_shift
from tests.kpi.kpi_rows import elements


def test_three_faults_in_the_worked_shift() -> None:
    k = {n: c.at(0).value for n, c in reliability_kpis(worked_shift()[0]).items()}
    assert k["mtbf_h"] == pytest.approx(135 / 60)  # (380 + 25) / 3 min
    assert k["mttr_min"] == pytest.approx(15)
    assert k["inherent_availability"] == pytest.approx(0.9)


def test_mtbf_without_failures_is_undefined_and_names_the_operating_time() -> None:
    el = elements(aust=30, apt=375)
    k = mtbf_h(el).at(0)
    assert k.value is None
    assert k.reason == "no failure in 6.8 h of operating time"
    assert mttr_min(el).at(0).reason == "no failure"
    assert inherent_availability(el).at(0).value is None


def test_inherent_availability_is_not_iso_availability() -> None:
    el = elements(adot=100, adet=20, apt=380, failures=2)
    assert inherent_availability(el).at(0).value == pytest.approx(380 / 400)
    assert mtbf_h(el).at(0).value == pytest.approx(380 / 2 / 60)
