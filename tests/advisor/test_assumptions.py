from __future__ import annotations

import pickle
from dataclasses import asdict
from typing import Any

import pytest

from kiln.advisor.assumptions import PROCESSES, Assumptions
from kiln.errors import BadInput


def test_foshan_defaults_and_the_loaded_labour_cost() -> None:
    a = Assumptions()
    assert a.annual_wage_yuan == 103_932
    assert a.labour_cost_yuan == pytest.approx(103_932 * 1.30)
    assert set(a.robot_price_yuan) == set(PROCESSES)
    assert a.robot_price("welding") == 200_000
    assert a.robot_price("no-such-process") == a.robot_price_yuan["general"]


def test_every_assumption_is_described_with_unit_and_source() -> None:
    rows = Assumptions().describe()
    assert len(rows) == len(PROCESSES) + 17
    for r in rows:
        assert r.unit, r.name
        assert r.source, r.name


def test_overrides_apply_and_leave_the_original_alone() -> None:
    base = Assumptions()
    a = base.with_overrides(
        {"annual_wage_yuan": 90_000, "life_years": 12.0, "robot_price_yuan": {"welding": 1e5}}
    )
    assert a.annual_wage_yuan == 90_000
    assert a.life_years == 12
    assert isinstance(a.life_years, int)
    assert a.robot_price("welding") == 100_000
    assert a.robot_price("painting") == base.robot_price("painting")
    assert base.robot_price("welding") == 200_000
    b = a.with_overrides({"robot_price_yuan.glazing": 250_000, "robot_cycle_s": 20})
    assert (b.robot_price("glazing"), b.robot_cycle_s) == (250_000, 20.0)
    assert b.with_overrides({"robot_cycle_s": None}).robot_cycle_s is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"wages": 1}, "unknown assumption 'wages'"),
        ({"discount_rate": "8%"}, "discount_rate is '8%'; it must be a number"),
        ({"discount_rate": 1.5}, "discount_rate is 1.5; it must lie in [0, 1]"),
        ({"annual_wage_yuan": -5}, "annual_wage_yuan is -5"),
        ({"annual_wage_yuan": float("nan")}, "annual_wage_yuan is nan"),
        ({"margin_share": True}, "margin_share is True; it must be a number"),
        ({"life_years": 7.5}, "life_years is 7.5; it must be whole years"),
        ({"life_years": 0}, "life_years is 0; it must lie in [1, 40]"),
        ({"robot_price_yuan.laser": 1e5}, "unknown process 'laser'"),
        ({"robot_price_yuan": 1e5}, "give a mapping of process to yuan"),
        ({"robot_price_yuan": {"welding": 0}}, "robot_price_yuan.welding is 0"),
        ({"robot_cycle_share": 0}, "robot_cycle_share is 0"),
    ],
)
def test_a_bad_override_names_the_key_and_value(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInput, match=r"^assumptions: ") as err:
        Assumptions().with_overrides(overrides)
    assert message in str(err.value)
    assert err.value.where == "assumptions"


def test_assumptions_convert_to_plain_data_for_pages_and_storage() -> None:
    a = Assumptions().with_overrides({"robot_price_yuan.welding": 1e5})
    assert asdict(a)["robot_price_yuan"]["welding"] == 100_000
    assert pickle.loads(pickle.dumps(a)) == a
