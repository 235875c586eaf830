"""The six big losses (domain.md 1.4): the check of the worked example, and the identity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiln.kpi.losses import six_big_losses
from kiln.kpi.worked_example import worked_shift
from tests.kpi.kpi_rows import elements, quantities


def test_the_worked_example_check_450_minus_losses_is_332_5() -> None:
    losses = {k: v.at(0).value for k, v in six_big_losses(*worked_shift()).items()}
    assert losses["unplanned_stops_min"] == 45
    assert losses["setup_min"] == 25
    assert losses["speed_loss_min"] == pytest.approx(30)  # APT - PRI * PQ
    assert losses["quality_loss_min"] == pytest.approx(17.5)  # PRI * (PQ - GQ)
    assert 450 - 45 - 25 - 30 - 17.5 == losses["fully_productive_min"] == 332.5


def test_minor_stops_split_the_speed_loss() -> None:
    el, q = elements(apt=380, micro=12), quantities(good=700, pri_s=30)
    losses = {k: v.at(0).value for k, v in six_big_losses(el, q).items()}
    assert losses["minor_stops_min"] == 12
    assert losses["reduced_speed_min"] == pytest.approx(18)


def test_without_an_ideal_cycle_the_performance_and_quality_losses_are_undefined() -> None:
    losses = six_big_losses(elements(adet=45, apt=380), quantities(good=700))
    assert losses["unplanned_stops_min"].at(0).value == 45
    for name in ("speed_loss_min", "reduced_speed_min", "quality_loss_min", "fully_productive_min"):
        assert losses[name].at(0).value is None, name
        assert "no ideal cycle time (PRI)" in losses[name].at(0).reason


def test_more_output_than_ideal_is_a_flagged_negative_speed_loss() -> None:
    k = six_big_losses(elements(apt=60), quantities(good=200, pri_s=30))["speed_loss_min"].at(0)
    assert k.value == pytest.approx(-40)
    assert k.flag.startswith("negative")


@given(*(st.integers(0, 500) for _ in range(5)), st.integers(0, 1000), st.integers(0, 100))
def test_the_losses_and_productive_time_add_up_to_pbt(
    adot: int, aust: int, adet: int, apt: int, micro: int, good: int, scrap: int
) -> None:
    el = elements(window=2000, adot=adot, aust=aust, adet=adet, apt=apt, micro=min(micro, apt))
    losses = {
        k: v.at(0).value
        for k, v in six_big_losses(el, quantities(good=good, scrap=scrap, pri_s=12.0)).items()
    }
    total = (
        losses["unplanned_stops_min"]
        + losses["setup_min"]
        + losses["minor_stops_min"]
        + losses["reduced_speed_min"]
        + losses["quality_loss_min"]
        + losses["fully_productive_min"]
    )
    assert total == pytest.approx(adot + aust + adet + apt)
