from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from kiln.domain.asset_document import parse_asset_document
from kiln.domain.assets import FOSHAN_DISTRICTS, check_slug
from kiln.domain.industries import INDUSTRIES, key_industry_of
from kiln.domain.templates import TEMPLATES
from kiln.simulator.world import build_city


@pytest.fixture(scope="module")
def city() -> dict[str, Any]:
    return build_city()


def _equipment(city: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        q
        for e in city["enterprises"]
        for s in e["sites"]
        for ln in s["lines"]
        for st in ln["stations"]
        for q in st["equipment"]
    ]


def test_the_default_city_has_forty_enterprises_in_every_district(city: dict[str, Any]) -> None:
    ents = city["enterprises"]
    assert len(ents) == 40
    assert {e["district"] for e in ents} == {d.code for d in FOSHAN_DISTRICTS}


def test_the_city_covers_the_four_key_industries_and_some_robot_makers(
    city: dict[str, Any],
) -> None:
    ents = city["enterprises"]
    keys = Counter(k.key for e in ents if (k := key_industry_of(e["industry"])) is not None)
    assert set(keys) == {"automobile", "ceramics", "appliances", "electronics"}
    assert min(keys.values()) >= 5
    makers = [e for e in ents if e["robot_maker"]]
    assert 1 <= len(makers) <= 5
    assert all(e["industry"] == "3491" for e in makers)
    assert all(e["industry"] in INDUSTRIES for e in ents)


def test_the_city_has_a_few_hundred_equipment_of_known_templates(city: dict[str, Any]) -> None:
    eq = _equipment(city)
    assert 400 <= len(eq) <= 700
    assert {q["template"] for q in eq} == set(TEMPLATES)
    assert all(q["ideal_cycle_s"] > 0 for q in eq)


def test_every_slug_is_valid_and_unique_where_it_must_be(city: dict[str, Any]) -> None:
    ents = city["enterprises"]
    assert len({e["slug"] for e in ents}) == len(ents)
    for e in ents:
        check_slug(e["slug"], where="enterprise")
        slugs = []
        for s in e["sites"]:
            check_slug(s["slug"], where="site")
            for ln in s["lines"]:
                check_slug(ln["slug"], where="line")
                for st in ln["stations"]:
                    check_slug(st["slug"], where="station")
                    slugs += [check_slug(q["slug"], where="equipment") for q in st["equipment"]]
        assert len(slugs) == len(set(slugs)), e["slug"]


def test_enterprises_have_one_site_of_one_to_three_lines_of_three_to_eight_stations(
    city: dict[str, Any],
) -> None:
    for e in city["enterprises"]:
        assert len(e["sites"]) == 1
        lines = e["sites"][0]["lines"]
        assert 1 <= len(lines) <= 3
        for ln in lines:
            assert 3 <= len(ln["stations"]) <= 8
            assert [st["position"] for st in ln["stations"]] == list(
                range(1, len(ln["stations"]) + 1)
            )
            assert all(len(st["equipment"]) <= 2 for st in ln["stations"])


def test_names_are_given_in_english_and_chinese(city: dict[str, Any]) -> None:
    for e in city["enterprises"]:
        assert e["name"].startswith("Foshan ")
        assert e["name_zh"].startswith("佛山")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in e["name_zh"][2:])


def test_some_stations_are_manual_and_some_lines_are_paced_by_one(city: dict[str, Any]) -> None:
    paced = 0
    manual_without_equipment = 0
    for e in city["enterprises"]:
        for ln in e["sites"][0]["lines"]:
            cycles = [
                (q["ideal_cycle_s"], st["operators"])
                for st in ln["stations"]
                for q in st["equipment"]
                if q["template"] != "roller_kiln"
            ]
            slowest, operators = max(cycles)
            rest = [c for c, _ in cycles if c != slowest]
            if operators > 0 and rest and slowest > 1.15 * max(rest):
                paced += 1
            manual_without_equipment += sum(
                1 for st in ln["stations"] if st["operators"] > 0 and not st["equipment"]
            )
    assert paced >= 5
    assert manual_without_equipment >= 10


def test_the_same_seed_builds_the_same_city_and_another_seed_another() -> None:
    assert build_city(seed=3) == build_city(seed=3)
    assert build_city(seed=3) != build_city(seed=4)


def test_the_city_is_a_valid_asset_document(city: dict[str, Any]) -> None:
    tree = parse_asset_document(city)
    assert len(tree.equipment) == len(_equipment(city))


def test_a_small_city_still_has_every_key_industry_and_district() -> None:
    ents = build_city(seed=1, enterprises=5)["enterprises"]
    assert {e["district"] for e in ents} == {d.code for d in FOSHAN_DISTRICTS}
    keys = {k.key for e in ents if (k := key_industry_of(e["industry"])) is not None}
    assert keys == {"automobile", "ceramics", "appliances", "electronics"}


def test_a_big_city_keeps_enterprise_slugs_unique() -> None:
    ents = build_city(seed=2, enterprises=100)["enterprises"]
    assert len({e["slug"] for e in ents}) == 100


def test_a_city_without_enterprises_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one enterprise"):
        build_city(enterprises=0)
