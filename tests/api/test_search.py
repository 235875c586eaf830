"""GET /api/v1/search finds assets by name and by code, best match first, within the caller's
tenancy; and the index follows the catalogue when assets change."""

from __future__ import annotations

import httpx
import pytest

from kiln.auth.roles import Role
from kiln.domain.asset_search import Scope, build_index, search_index
from kiln.runtime import Runtime
from kiln.simulator.registry import simulate_enterprises
from tests.api.conftest import ClientFactory, issue_token


async def found(c: httpx.AsyncClient, q: str) -> list[tuple[str, str]]:
    r = await c.get("/api/v1/search", params={"q": q})
    assert r.status_code == 200, r.text
    return [(h["kind"], h["name"]) for h in r.json()["hits"]]


async def test_finds_equipment_by_name_and_by_slug(client: httpx.AsyncClient) -> None:
    assert ("equipment", "Draw press") in await found(client, "draw")
    by_slug = (await client.get("/api/v1/search", params={"q": "robot-1"})).json()
    assert by_slug["hits"][0]["code"] == "robot-1"
    assert by_slug["hits"][0]["url"].startswith("/equipment/")
    assert (
        by_slug["hits"][0]["context"] == "Acme Auto Parts › Nanhai plant 1 › Tandem line A › op20"
    )


async def test_finds_industries_by_gbt_4754_code_and_districts_by_name(
    client: httpx.AsyncClient,
) -> None:
    hits = (await client.get("/api/v1/search", params={"q": "C3852"})).json()["hits"]
    assert hits[0] == {
        "kind": "industry",
        "name": "Household air conditioners",
        "name_zh": "家用空气调节器制造",
        "code": "C3852",
        "url": "/industries/C3852",
        "context": "",
    }
    assert ("district", "Shunde") in await found(client, "顺德")
    assert ("industry", "Ceramics and building materials") in await found(client, "ceramics")


async def test_an_exact_code_comes_before_names_that_merely_contain_it(
    client: httpx.AsyncClient,
) -> None:
    hits = await found(client, "nanhai")
    assert hits[:2] == [("district", "Nanhai"), ("site", "Nanhai plant 1")]


async def test_an_enterprise_finds_nothing_of_another_enterprise(
    client: httpx.AsyncClient,
) -> None:
    # Huamei's kiln, its line and the enterprise itself are invisible to Acme.
    for q in ("kiln", "huamei", "roller"):
        kinds = {k for k, _ in await found(client, q)}
        assert kinds <= {"district", "industry"}, q


async def test_the_city_finds_enterprises_but_never_their_equipment(
    city_admin: httpx.AsyncClient,
) -> None:
    hits = (await city_admin.get("/api/v1/search", params={"q": "huamei"})).json()["hits"]
    assert [(h["kind"], h["name"], h["url"]) for h in hits] == [
        ("enterprise", "Huamei Ceramics", "")  # a registry entry: no page the city may open
    ]
    assert await found(city_admin, "press") == []
    assert await found(city_admin, "tandem") == []


async def test_a_device_may_not_search(runtime: Runtime, clients: ClientFactory) -> None:
    async with clients(issue_token(runtime, Role.DEVICE, "acme-auto")) as dev:
        r = await dev.get("/api/v1/search", params={"q": "press"})
    assert r.status_code == 403
    assert r.json()["where"] == "role"


@pytest.mark.parametrize(
    ("params", "where"),
    [({"q": "   "}, "query: q"), ({"q": "x" * 101}, "query.q"), ({}, "query.q")],
)
async def test_an_empty_or_overlong_query_is_refused_naming_it(
    client: httpx.AsyncClient, params: dict[str, str], where: str
) -> None:
    r = await client.get("/api/v1/search", params=params)
    assert r.status_code == 422
    assert where in r.text


async def test_the_limit_caps_the_hits_and_the_total_counts_them_all(
    client: httpx.AsyncClient,
) -> None:
    r = (await client.get("/api/v1/search", params={"q": "c3", "limit": 2})).json()
    assert len(r["hits"]) == 2
    assert r["total"] > 2


async def test_the_index_is_rebuilt_when_the_catalog_changes(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    before = search_index(runtime.catalog)
    assert await found(client, "stamping") == []
    runtime.store.import_assets(
        {
            "enterprises": [
                {
                    "slug": "acme-auto",
                    "name": "Acme Auto Parts",
                    "district": "nanhai",
                    "industry": "3670",
                    "sites": [
                        {
                            "slug": "nanhai-1",
                            "name": "Nanhai plant 1",
                            "lines": [{"slug": "stamping", "name": "Stamping line B"}],
                        }
                    ],
                }
            ]
        }
    )
    assert ("line", "Stamping line B") in await found(client, "stamping")
    assert search_index(runtime.catalog) is not before


def test_a_city_of_ten_thousand_enterprises_finds_each_by_number() -> None:
    from kiln.domain.catalog import AssetCatalog

    cat = AssetCatalog.build(simulate_enterprises(10_000), [], [], [], [], [])
    hits, total = build_index(cat).search(
        "Enterprise 0999", Scope(registry=True, enterprise_id=None)
    )
    assert total == 10
    assert sorted(h.code for h in hits) == [f"ent-0999{k}" for k in range(10)]
