"""OEE and the ISO 22400-2 ratios: known answers, the edge cases of domain.md 1.6, invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiln.errors import BadInput
from kiln.kpi.oee import (
    availability,
    effectiveness,
    nee_index,
    oee_index,
    oee_kpis,
    quality_ratio,
    robot_utilisation,
    teep,
)
from kiln.kpi.worked_example import worked_shift
from tests.kpi.kpi_rows import elements, quantities


def test_oee_of_a_worked_shift() -> None:
    # 480 min shift, 60 planned down, 30 stopped; ideal cycle 60 s; 360 made, 8 scrapped
    el = elements(window=480, pdot=60, adet=30, apt=390)
    q = quantities(good=352, scrap=8, pri_s=60)
    k = oee_kpis(el, q)
    assert k["availability"].at(0).value == pytest.approx(390 / 420)
    assert k["oee"].at(0).value == pytest.approx(352 / 420)  # GQ x PRI / PBT


def test_teep_is_oee_times_loading_of_the_calendar() -> None:
    el, q = worked_shift()
    assert round(teep(el, q).at(0).value, 3) == 0.231
    # Three such shifts in one day (domain.md 1.3): 0.693.
    three = elements(window=1440, pdot=90, aust=75, adet=135, apt=1140)
    assert (
        round(teep(three, quantities(good=1995, scrap=63, rework=42, pri_s=30)).at(0).value, 3)
        == 0.693
    )


def test_zero_planned_time_leaves_availability_and_oee_undefined_with_a_reason() -> None:
    el, q = elements(window=1440, outside=1440), quantities(pri_s=30)
    for k in (availability(el), oee_index(el, q), nee_index(el, q), teep(el, q)):
        assert k.at(0).value is None, k.name
        assert k.at(0).reason == "no planned busy time (PBT = 0)", k.name


def test_nothing_made_in_planned_time_is_oee_zero_with_the_undefined_factors_marked() -> None:
    el, q = elements(pdot=30, adet=450), quantities(pri_s=30)
    assert oee_index(el, q).at(0).value == 0.0
    assert nee_index(el, q).at(0).value == 0.0
    eff = effectiveness(el, q).at(0)
    assert eff.value is None
    assert eff.reason == "no production time (APT = 0)"
    qual = quality_ratio(q).at(0)
    assert qual.value is None
    assert qual.reason == "nothing produced (PQ = 0)"


def test_counts_without_an_ideal_cycle_time_give_availability_and_quality_only() -> None:
    el, q = elements(pdot=30, adet=45, apt=405), quantities(good=665, scrap=35)
    k = oee_kpis(el, q)
    assert k["availability"].at(0).value == pytest.approx(405 / 450)
    assert k["quality_ratio"].at(0).value == pytest.approx(665 / 700)
    for name in ("effectiveness", "oee", "nee", "teep"):
        assert k[name].at(0).value is None, name
        assert k[name].at(0).reason == "no ideal cycle time (PRI) for 700 of 700 units", name


def test_effectiveness_above_one_is_kept_and_flagged() -> None:
    el, q = elements(apt=60), quantities(good=200, pri_s=30)  # 100 min of ideal work in 60
    k = effectiveness(el, q).at(0)
    assert k.value == pytest.approx(100 / 60)
    assert k.flag == "above 1: ideal cycle time too slow or counts doubled"


def test_unknown_time_is_left_out_of_numerator_and_denominator() -> None:
    el, q = elements(apt=300, unknown=150), quantities(good=600, pri_s=30)
    k = oee_kpis(el, q)
    assert k["availability"].at(0).value == 1.0
    assert k["data_coverage"].at(0).value == pytest.approx(300 / 450)


def test_robot_utilisation_is_apt_over_pot() -> None:
    assert robot_utilisation(elements(pdot=60, adot=120, apt=300)).at(0).value == 300 / 480


def test_elements_and_quantities_of_different_rows_are_refused() -> None:
    with pytest.raises(BadInput, match="kpi: time elements and quantities are not for the same"):
        oee_kpis(elements(apt=1, key=1), quantities(key=2))


minutes = st.integers(0, 600)


@given(
    minutes,
    minutes,
    minutes,
    minutes,
    minutes,
    st.integers(0, 2000),
    st.integers(0, 200),
    st.integers(0, 200),
    st.sampled_from([1.0, 6.5, 30.0, 90.0]),
)
def test_oee_is_a_times_e_times_q_and_pri_times_good_over_pbt(
    pdot: int,
    adot: int,
    aust: int,
    adet: int,
    apt: int,
    good: int,
    scrap: int,
    rework: int,
    pri: float,
) -> None:
    el = elements(window=3000, pdot=pdot, adot=adot, aust=aust, adet=adet, apt=apt)
    q = quantities(good=good, scrap=scrap, rework=rework, pri_s=pri)
    k = {name: col.at(0).value for name, col in oee_kpis(el, q).items()}
    pbt_s = (adot + aust + adet + apt) * 60
    if pbt_s == 0:
        assert k["oee"] is None
        assert k["availability"] is None
        return
    assert k["oee"] == pytest.approx(pri * good / pbt_s)
    assert 0 <= k["availability"] <= 1
    if k["effectiveness"] is not None and k["quality_ratio"] is not None:
        assert k["oee"] == pytest.approx(
            k["availability"] * k["effectiveness"] * k["quality_ratio"]
        )
    if k["quality_ratio"] is not None:
        assert 0 <= k["quality_ratio"] <= 1
        assert k["quality_ratio"] + k["scrap_ratio"] + k["rework_ratio"] == pytest.approx(1)
    for name in (
        "technical_efficiency",
        "allocation_efficiency",
        "utilisation_efficiency",
        "setup_rate",
        "data_coverage",
    ):
        assert k[name] is None or 0 <= k[name] <= 1, name
