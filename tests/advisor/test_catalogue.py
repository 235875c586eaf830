"""The solution catalogue's rules: every wrong field is named, matching ranks by fit and says
why, and demand is set against supply per industry."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiln.advisor.catalogue import (
    LOSS_TYPES,
    PROCESSES,
    Need,
    Range,
    Solution,
    SolutionErrors,
    demand_supply,
    match,
    parse_solution,
)
from kiln.advisor.catalogue_seed import demo_solutions, seed_documents
from kiln.domain.assets import Enterprise


def doc(**changes: Any) -> dict[str, Any]:
    base = {
        "name": "Arc welding cell",
        "industries": ["3670"],
        "processes": ["welding"],
        "losses": ["performance", "labour"],
        "payload_kg": {"min": 6, "max": 20},
        "cycle_s": {"min": 25, "max": 60},
        "price_yuan": {"min": 250_000, "max": 600_000},
    }
    return {**base, **changes}


def errors_of(d: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SolutionErrors) as caught:
        parse_solution(d, enterprise_id=1)
    return {e.where: e.what for e in caught.value.errors}


def test_a_good_document_round_trips() -> None:
    s = parse_solution(
        doc(industries=["C3670", "36"], processes=["Machine tending"]), enterprise_id=4
    )
    assert s.industries == ("3670", "36")
    assert s.processes == ("machine_tending",)
    assert s.cycle_s == Range(25, 60)
    assert s.enterprise_id == 4
    assert parse_solution(s.to_doc(), enterprise_id=4) == s


@pytest.mark.parametrize(
    ("changes", "where", "what"),
    [
        ({"cycle_s": {"min": 12, "max": 8}}, "solution.cycle_s", "min 12 is above max 8"),
        ({"payload_kg": {"min": -1, "max": 8}}, "solution.payload_kg", "min -1 must be 0 or more"),
        ({"price_yuan": {"min": "cheap", "max": 8}}, "solution.price_yuan",
         "min must be a number of yuan"),
        ({"price_yuan": None}, "solution.price_yuan", "is required, as {min, max} in yuan"),
        ({"cycle_s": [1, 2]}, "solution.cycle_s", "must be {min, max} in s"),
        ({"name": "  "}, "solution.name", "is required"),
        ({"name": 7}, "solution.name", "must be text, not int"),
        ({"industries": []}, "solution.industries", "names at least one"),
        ({"industries": ["3670", "8888"]}, "solution.industries[1]",
         "'8888' is not a GB/T 4754 manufacturing code (2-4 digits, division 13-43)"),
        ({"industries": ["36x"]}, "solution.industries[0]",
         "'36x' is not a GB/T 4754 manufacturing code (2-4 digits, division 13-43)"),
        ({"processes": ["welding", "juggling"]}, "solution.processes[1]",
         "'juggling' is not one of"),
        ({"losses": ["speed"]}, "solution.losses[0]", "'speed' is not one of"),
        ({"references": ["ok", ""]}, "solution.references[1]", "must be non-empty text"),
        ({"references": "one"}, "solution.references", "must be a list"),
        ({"colour": "red"}, "solution.colour", "unknown field"),
    ],
)  # fmt: skip
def test_each_wrong_field_is_named(changes: dict[str, Any], where: str, what: str) -> None:
    found = errors_of(doc(**changes))
    assert where in found, found
    assert found[where].startswith(what)


def test_every_wrong_field_is_reported_and_the_first_is_the_message() -> None:
    with pytest.raises(SolutionErrors) as caught:
        parse_solution(doc(name="", cycle_s={"min": 9, "max": 1}), enterprise_id=1)
    assert str(caught.value) == "solution.name: is required"
    assert caught.value.by_field() == {"name": "is required", "cycle_s": "min 9 is above max 1"}
    with pytest.raises(SolutionErrors, match=r"^solution: must be an object$"):
        parse_solution(["not", "a", "doc"], enterprise_id=1)


def solution(sid: int, name: str, **changes: Any) -> Solution:
    return parse_solution(doc(name=name, **changes), enterprise_id=sid * 10, solution_id=sid)


WELDING_NEED = Need("3670", "welding", frozenset({"labour"}), cycle_s=40, payload_kg=10,
                    budget_yuan=700_000)  # fmt: skip


def test_the_exact_class_ranks_above_its_division_and_reasons_say_why() -> None:
    exact = solution(1, "exact")
    division = solution(2, "division", industries=["36"])
    ranked = match(WELDING_NEED, [division, exact])
    assert [s.name for s, _, _ in ranked] == ["exact", "division"]
    (_, top, why), (_, second, _) = ranked
    assert top - second == 2  # class 4 points, division 2
    assert why == [
        "made for industry 3670 (Automobile parts and accessories)",
        "does welding",
        "addresses labour losses",
        "cycle 40 s is within 25-60 s",
        "payload 10 kg is within 6-20 kg",
        "price 250,000-600,000 yuan is within the budget of 700,000 yuan",
    ]
    assert ranked[1][2][0] == "serves industry division 36"


def test_what_does_not_fit_is_left_out() -> None:
    candidates = [
        solution(1, "other industry", industries=["3071"]),
        solution(2, "other process", processes=["painting"]),
        solution(3, "other losses", losses=["quality"]),
        solution(4, "too slow", cycle_s={"min": 45, "max": 90}),
        solution(5, "too light", payload_kg={"min": 1, "max": 5}),
        solution(6, "too dear", price_yuan={"min": 800_000, "max": 900_000}),
        solution(7, "fits"),
    ]
    assert [s.name for s, _, _ in match(WELDING_NEED, candidates)] == ["fits"]


def test_a_faster_cell_or_a_price_over_budget_still_fits_but_scores_less() -> None:
    fits = solution(1, "fits")
    faster = solution(2, "faster", cycle_s={"min": 10, "max": 30})
    dearer = solution(3, "dearer", price_yuan={"min": 500_000, "max": 900_000})
    ranked = match(WELDING_NEED, [dearer, faster, fits])
    assert [s.name for s, _, _ in ranked] == ["fits", "faster", "dearer"]  # a tie: the cheaper
    scores = {s.name: score for s, score, _ in ranked}
    assert scores["fits"] - scores["faster"] == 1
    assert scores["fits"] - scores["dearer"] == 1
    reasons = {s.name: why for s, _, why in ranked}
    assert "cycles faster (10-30 s) than the 40 s needed" in reasons["faster"]
    assert "price from 500,000 yuan may fit the budget of 700,000 yuan" in reasons["dearer"]


def test_limits_left_out_are_not_checked_and_ties_go_to_the_cheaper() -> None:
    software = solution(1, "software", payload_kg=None, cycle_s=None,
                        price_yuan={"min": 90_000, "max": 150_000})  # fmt: skip
    cell = solution(2, "cell", payload_kg=None, cycle_s=None)
    ranked = match(Need("3670", "welding"), [cell, software])
    assert [s.name for s, _, _ in ranked] == ["software", "cell"]
    assert ranked[0][1] == ranked[1][1]


@given(
    process=st.sampled_from(PROCESSES),
    losses=st.frozensets(st.sampled_from(LOSS_TYPES)),
    cycle=st.none() | st.floats(0.5, 500),
    budget=st.none() | st.floats(1e4, 5e6),
)
def test_every_match_does_the_process_and_is_ranked(
    process: str, losses: frozenset[str], cycle: float | None, budget: float | None
) -> None:
    pool = demo_solutions(_makers(), now_ms=0)
    need = Need("3670", process, losses, cycle_s=cycle, budget_yuan=budget)
    ranked = match(need, pool)
    scores = [score for _, score, _ in ranked]
    assert scores == sorted(scores, reverse=True)
    for s, _, why in ranked:
        assert process in s.processes
        assert not losses or set(s.losses) & losses
        assert budget is None or s.price_yuan.low <= budget
        assert why[1] == f"does {process.replace('_', ' ')}"


def _makers() -> list[Enterprise]:
    return [
        Enterprise(1, "acme", "Acme", "nanhai", "3670"),
        Enterprise(5, "huaxin", "Huaxin Robotics", "chancheng", "3491", robot_maker=True),
        Enterprise(9, "runda", "Runda Robotics", "nanhai", "3491", robot_maker=True),
    ]


def test_demand_is_set_against_supply_per_key_industry() -> None:
    weld = solution(1, "weld")  # provider 10
    glaze = solution(2, "glaze", industries=["307"], processes=["glazing"], losses=["quality"])
    other = solution(3, "bags", industries=["2929"], processes=["palletising"])
    needs = {
        "3670": [Need("3670", "welding"), Need("3670", "painting")],
        "C3072": [Need("3072", "glazing", frozenset({"quality"}))],
        "3852": [Need("3852", "screwdriving")],
    }
    rows = {r.industry: r for r in demand_supply(needs, [weld, glaze, other])}
    assert list(rows) == ["automobile", "ceramics", "appliances", "electronics", "29"]
    auto, ceramics, appliances = rows["automobile"], rows["ceramics"], rows["appliances"]
    assert (auto.candidates, auto.covered, auto.solutions, auto.providers) == (2, 1, 1, (10,))
    assert (ceramics.candidates, ceramics.covered, ceramics.providers) == (1, 1, (20,))
    assert (appliances.candidates, appliances.covered, appliances.solutions) == (1, 0, 0)
    assert (rows["29"].candidates, rows["29"].solutions, rows["29"].name_en) == (
        0,
        1,
        "Division 29",
    )
    no_demand = demand_supply(None, [weld])
    assert (no_demand[0].candidates, no_demand[0].covered, no_demand[0].solutions) == (
        None,
        None,
        1,
    )


def test_the_seed_file_is_valid_and_covers_the_four_key_industries() -> None:
    docs = seed_documents()
    assert 20 <= len(docs) <= 30
    pool = demo_solutions(_makers(), now_ms=7)
    assert {s.enterprise_id for s in pool} == {5, 9}  # robot makers only, in turn
    rows = demand_supply(None, pool)
    assert all(r.solutions >= 5 for r in rows[:4]), [(r.industry, r.solutions) for r in rows]
    assert all(s.updated_ms == 7 for s in pool)
    assert demo_solutions(_makers()[:1], now_ms=0) == []
    # A welding cell costs 250k-600k yuan, a cobot screwdriving cell 120k-250k.
    by_name = {s.name: s for s in pool}
    assert by_name["Six-axis arc welding cell"].price_yuan == Range(250_000, 600_000)
    assert by_name["Cobot screwdriving cell"].price_yuan == Range(120_000, 250_000)


def test_a_bad_seed_entry_names_its_place_in_the_file() -> None:
    text = '[[solution]]\nmaker = 1\nname = "x"\nindustries = ["36"]\nprocesses = ["welding"]\n'
    with pytest.raises(SolutionErrors, match=r"seed_solutions.toml\[0\].losses: names at least"):
        demo_solutions(_makers(), now_ms=0, text=text)
