"""The solution catalogue's table on both backends (one SQL module serves both)."""

from __future__ import annotations

from dataclasses import replace

from kiln.advisor.catalogue import Range, Solution
from kiln.advisor.catalogue_seed import seed_solutions
from kiln.domain.assets import Enterprise
from kiln.store.base import Store
from kiln.store.solution_tables import SolutionQuery


def solution(name: str, **changes: object) -> Solution:
    base = Solution(
        id=0, enterprise_id=1, name=name, summary="六轴焊接工作站", industries=("3670",),
        processes=("welding", "handling"), losses=("performance", "labour"),
        price_yuan=Range(250_000, 600_000), payload_kg=Range(6, 20), cycle_s=Range(25.5, 60),
        references=("Lianfa Shunde: cycle 48 s → 31 s", "某汽配厂：减少两名焊工"),
        updated_ms=1_000, updated_by="acme",
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_stored_solution_comes_back_field_for_field(store: Store) -> None:
    a = store.solutions.add(solution("Arc welding cell"))
    b = store.solutions.add(solution("Vision QC", payload_kg=None, cycle_s=None, references=()))
    assert (a.id, b.id) == (1, 2)
    assert store.solutions.get(1) == a
    assert store.solutions.get(2) == b
    assert store.solutions.get(2).payload_kg is None  # type: ignore[union-attr]
    assert store.solutions.get(3) is None
    assert store.solutions.count() == 2


def test_an_update_replaces_the_fields_but_not_the_owner(store: Store) -> None:
    a = store.solutions.add(solution("Arc welding cell"))
    changed = replace(a, name="Twin-robot cell", enterprise_id=99, price_yuan=Range(1, 2))
    assert store.solutions.update(changed)
    got = store.solutions.get(a.id)
    assert got is not None
    assert (got.name, got.price_yuan, got.enterprise_id) == ("Twin-robot cell", Range(1, 2), 1)
    assert not store.solutions.update(replace(a, id=42))


def test_a_deleted_solution_is_gone(store: Store) -> None:
    a = store.solutions.add(solution("Arc welding cell"))
    assert store.solutions.delete(a.id)
    assert not store.solutions.delete(a.id)
    assert store.solutions.get(a.id) is None
    assert store.solutions.all() == []


def test_queries_filter_by_industry_process_and_provider_and_page(store: Store) -> None:
    store.solutions.add_many(
        [
            solution("A glaze robot", industries=("3071", "3072"), processes=("glazing",)),
            solution("B any auto welding", industries=("36",)),
            solution("C parts welding", industries=("3670",), enterprise_id=2),
            solution("D appliance screws", industries=("385",), processes=("screwdriving",)),
        ]
    )

    def names(q: SolutionQuery) -> list[str]:
        return [s.name[0] for s in store.solutions.find(q)[0]]

    assert names(SolutionQuery()) == ["A", "B", "C", "D"]
    # A class finds the solutions for itself and for its division; a division finds its classes.
    assert names(SolutionQuery(industry="3670")) == ["B", "C"]
    assert names(SolutionQuery(industry="C3660")) == ["B"]
    assert names(SolutionQuery(industry="30")) == ["A"]
    assert names(SolutionQuery(industry="3852")) == ["D"]
    assert names(SolutionQuery(process="welding")) == ["B", "C"]
    assert names(SolutionQuery(process="weld")) == []  # whole words only
    assert names(SolutionQuery(enterprise_id=2)) == ["C"]
    assert names(SolutionQuery(industry="36", process="welding", enterprise_id=1)) == ["B"]
    page, total = store.solutions.find(SolutionQuery(limit=2, offset=1))
    assert ([s.name[0] for s in page], total) == (["B", "C"], 4)
    assert [s.id for s in store.solutions.all()] == [1, 2, 3, 4]


def test_the_demo_catalogue_is_seeded_into_an_empty_store_once(store: Store) -> None:
    makers = [
        Enterprise(1, "acme", "Acme", "nanhai", "3670"),
        Enterprise(7, "huaxin", "Huaxin Robotics", "chancheng", "3491", robot_maker=True),
    ]
    added = seed_solutions(store.solutions, makers, now_ms=5_000)
    assert added == store.solutions.count() >= 20
    assert {s.enterprise_id for s in store.solutions.all()} == {7}
    assert seed_solutions(store.solutions, makers, now_ms=6_000) == 0
    store.solutions.delete(1)
    assert seed_solutions(store.solutions, makers, now_ms=6_000) == 0  # not empty: left alone
