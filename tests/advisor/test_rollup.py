from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from kiln.advisor.economics import Candidate, candidates
from kiln.advisor.line_analysis import analyse_line
from kiln.advisor.rollup import best_per_enterprise, city_cells, protect_city
from kiln.errors import BadInput
from kiln.plan.disclosure import Why
from tests.advisor.economics_inputs import ROUND
from tests.advisor.lines import welding_line


def cand(
    enterprise: str,
    *,
    district: str = "nanhai",
    industry: str = "3670",
    npv: float = 1e5,
    payback: float | None = 2.0,
    added: float = 1e6,
    station: int = 3,
) -> Candidate:
    """The welder's candidate, moved to another enterprise with the money given."""
    (c,) = candidates(analyse_line(welding_line()), ROUND)
    money = replace(c.money, npv_yuan=npv, payback_years=payback, added_output_yuan_per_year=added)
    st = replace(c.station, measure=replace(c.station.measure, station_id=station))
    return replace(
        c, enterprise=enterprise, district=district, industry_code=industry, money=money, station=st
    )


def test_best_per_enterprise_by_npv_and_by_payback() -> None:
    found = [
        cand("a", npv=1, payback=1.0, station=1),
        cand("a", npv=3, payback=5.0, station=2),
        cand("a", npv=2, payback=None, station=3),
        cand("b", npv=9, station=4),
    ]
    by_npv = best_per_enterprise(found, n=2)
    assert [c.station.measure.station_id for c in by_npv["a"]] == [2, 3]
    assert [c.station.measure.station_id for c in by_npv["b"]] == [4]
    by_payback = best_per_enterprise(found, n=3, by="payback")
    assert [c.station.measure.station_id for c in by_payback["a"]] == [1, 2, 3]  # never last
    with pytest.raises(BadInput, match="n is 0"):
        best_per_enterprise(found, n=0)


def test_city_cells_count_robots_paying_back_within_the_horizon() -> None:
    found = [
        cand("a", added=100.0),
        cand("a", added=300.0, station=4),
        cand("b", added=100.0),
        cand("c", payback=4.0),  # beyond 3 years
        cand("d", payback=None),  # never
        cand("e", industry="3852", district="shunde", added=50.0),
    ]
    rows = city_cells(found, within_years=3)
    assert [(r.industry, r.district) for r in rows] == [("36", "nanhai"), ("38", "shunde")]
    auto = rows[0]
    assert auto.robots == 3
    assert auto.enterprises == 2
    assert auto.added_output_yuan_per_year == pytest.approx(500.0)
    assert auto.top_share == pytest.approx(400.0 / 500.0)
    assert auto.investment_yuan == pytest.approx(3 * 500_000)
    assert auto.top_robots == 2
    assert city_cells(found, within_years=3, industry_digits=4)[0].industry == "3670"


def test_a_cell_of_few_enterprises_is_withheld_with_a_complement() -> None:
    districts = ["chancheng", "nanhai", "shunde"]
    found = [cand(f"{d}-{i}", district=d, added=100.0) for d in districts for i in range(3)]
    found += [
        cand(f"x-{d}-{i}", industry="3852", district=d, added=100.0)
        for d in districts
        for i in range(3)
    ]
    found = [c for c in found if not (c.industry_code == "3852" and c.district == "shunde")]
    found.append(cand("lone", industry="3852", district="shunde", added=100.0))  # 1 enterprise
    table = protect_city(city_cells(found, within_years=3))
    assert table.industries == ("36", "38")
    why = table.added_output_yuan_per_year.interior.why
    assert why[1, 2] == Why.FEW
    assert table.suppressed[1, 2]
    # a complementary cell in the same row and one in the same column are withheld too
    assert (why[1] == Why.SECONDARY).any()
    assert (why[:, 2] == Why.SECONDARY).any()
    assert np.isnan(table.published("robots")[1, 2])


def test_a_cell_dominated_by_one_enterprise_is_withheld() -> None:
    found = [cand(e, district=d, added=100.0) for d in ("nanhai", "shunde") for e in "abc"]
    found += [cand("big", district="gaoming", added=900.0)]
    found += [cand(e, district="gaoming", added=50.0) for e in "pq"]  # big has 90 %
    found += [
        cand(e, industry="3852", district=d, added=100.0)
        for d in ("nanhai", "shunde", "gaoming")
        for e in "uvw"
    ]
    table = protect_city(city_cells(found, within_years=3))
    col = table.districts.index("gaoming")
    why = table.added_output_yuan_per_year.interior.why
    assert why[0, col] == Why.DOMINANT
    assert int(table.suppressed.sum()) >= 2
    assert not np.isnan(table.published("added_output_yuan_per_year")).all()


def test_protect_city_refuses_a_cell_outside_the_table() -> None:
    rows = city_cells([cand("a")], within_years=3)
    with pytest.raises(BadInput, match="outside the table"):
        protect_city(rows, districts=["shunde"])
