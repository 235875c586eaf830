"""Roll-ups sum elements, never average ratios; a line follows its bottleneck."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiln.kpi.elements import TimeElements
from kiln.kpi.kpi_table import kpis
from kiln.kpi.oee import oee_kpis
from kiln.kpi.quantities import Quantities
from kiln.kpi.rollup import UNASSIGNED, Level, bottlenecks, rollup
from tests.kpi.builders import catalog, press
from tests.kpi.kpi_rows import elements, quantities


def two(
    el_a: TimeElements, el_b: TimeElements, q_a: Quantities, q_b: Quantities
) -> tuple[TimeElements, Quantities]:
    el = TimeElements.concat([el_a, el_b])
    q = Quantities.concat([q_a, q_b])
    return el, q


def test_a_station_sums_its_equipment_instead_of_averaging_their_ratios() -> None:
    cat = catalog(press(1, 1, 30.0), press(2, 1, 30.0))
    el, q = two(
        elements(apt=400, adet=50, key=1),
        elements(apt=100, adet=350, key=2),
        quantities(good=700, pri_s=30, key=1),
        quantities(good=100, pri_s=30, key=2),
    )
    k = kpis(rollup(el, q, cat, Level.STATION))
    assert k["availability"].at(0).value == pytest.approx(500 / 900)  # not (0.89 + 0.22) / 2
    assert k["oee"].at(0).value == pytest.approx(30 * 800 / (900 * 60))


def test_a_line_follows_its_bottleneck_and_a_site_sums_its_lines() -> None:
    # Line 1: a fast press (5 s) feeding a slow robot cell (30 s); line 2: one press.
    cat = catalog(
        press(1, 1, 5.0), press(2, 3, 30.0, "industrial_robot"), press(3, 2, 20.0), lines=2
    )
    el = TimeElements.concat(
        [
            elements(apt=450, key=1),
            elements(apt=300, adet=150, key=2),
            elements(apt=200, adot=250, key=3),
        ]
    )
    q = Quantities.concat(
        [
            quantities(good=5000, pri_s=5.0, key=1),
            quantities(good=550, pri_s=30.0, key=2),
            quantities(good=500, pri_s=20.0, key=3),
        ]
    )
    assert bottlenecks(cat, el.key).tolist() == [False, True, True]
    lines = kpis(rollup(el, q, cat, Level.LINE))
    assert lines["oee"].at(0).value == pytest.approx(30 * 550 / (450 * 60))  # the robot's
    site = kpis(rollup(el, q, cat, Level.SITE))
    assert site["oee"].at(0).value == pytest.approx((30 * 550 + 20 * 500) / (900 * 60))
    assert site["robot_utilisation"].at(0).value == pytest.approx(300 / 450)
    totals = rollup(el, q, cat, Level.SITE)
    assert int(totals.fleet.apt_ms[0]) == (450 + 300 + 200) * 60_000  # fleet: all equipment


def test_every_level_up_to_the_city_has_one_row_here() -> None:
    cat = catalog(press(1, 1), press(2, 2))
    el = TimeElements.concat([elements(apt=60, key=1), elements(apt=60, key=2)])
    q = Quantities.concat(
        [quantities(good=100, pri_s=30, key=1), quantities(good=100, pri_s=30, key=2)]
    )
    expected = {
        Level.EQUIPMENT: ("1", "2"),
        Level.STATION: ("1", "2"),
        Level.LINE: ("1",),
        Level.SITE: ("1",),
        Level.ENTERPRISE: ("1",),
        Level.INDUSTRY: ("automobile",),
        Level.DISTRICT: ("nanhai",),
        Level.CITY: ("city",),
    }
    for level, keys in expected.items():
        assert rollup(el, q, cat, level).keys == keys, level
    assert rollup(el, q, cat, Level.DISTRICT).names == ("Nanhai",)


def test_equipment_outside_the_catalogue_rolls_up_unassigned() -> None:
    el, q = elements(apt=60, key=99), quantities(good=1, pri_s=1, key=99)
    assert rollup(el, q, catalog(press(1, 1)), Level.SITE).keys == (UNASSIGNED,)


def test_energy_sums_metered_equipment_and_stays_unknown_without_any_meter() -> None:
    cat = catalog(press(1, 1), press(2, 1))
    el = TimeElements.concat([elements(apt=60, key=1), elements(apt=60, key=2)])
    q = Quantities.concat(
        [quantities(good=10, pri_s=30, key=1), quantities(good=10, pri_s=30, key=2)]
    )
    metered = rollup(el, q, cat, Level.STATION, energy_kwh=np.array([5.0, np.nan]))
    assert metered.energy_kwh.tolist() == [5.0]
    assert np.isnan(rollup(el, q, cat, Level.STATION).energy_kwh[0])


minutes = st.integers(0, 400)


@given(
    *(minutes for _ in range(8)),
    st.integers(0, 900),
    st.integers(0, 900),
    st.integers(0, 50),
    st.integers(0, 50),
)
def test_two_equipment_roll_up_to_the_kpis_of_their_summed_elements(
    adot_a: int,
    aust_a: int,
    adet_a: int,
    apt_a: int,
    adot_b: int,
    aust_b: int,
    adet_b: int,
    apt_b: int,
    good_a: int,
    good_b: int,
    scrap_a: int,
    scrap_b: int,
) -> None:
    cat = catalog(press(1, 1, 30.0), press(2, 1, 30.0))
    a = elements(window=1600, adot=adot_a, aust=aust_a, adet=adet_a, apt=apt_a, key=1)
    b = elements(window=1600, adot=adot_b, aust=aust_b, adet=adet_b, apt=apt_b, key=2)
    el, q = two(
        a,
        b,
        quantities(good=good_a, scrap=scrap_a, pri_s=30, key=1),
        quantities(good=good_b, scrap=scrap_b, pri_s=30, key=2),
    )
    rolled = {n: c.at(0).value for n, c in kpis(rollup(el, q, cat, Level.STATION)).items()}
    summed = elements(
        adot=adot_a + adot_b,
        aust=aust_a + aust_b,
        adet=adet_a + adet_b,
        apt=apt_a + apt_b,
        window=3200,
    )
    by_hand = oee_kpis(summed, quantities(good=good_a + good_b, scrap=scrap_a + scrap_b, pri_s=30))
    for name, col in by_hand.items():
        assert rolled[name] == pytest.approx(col.at(0).value, nan_ok=True), name
