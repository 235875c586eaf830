"""Assets through the API: the city's districts, enterprises, trees, equipment and documents."""

from __future__ import annotations

import httpx

from kiln.runtime import Runtime


async def test_the_five_districts_are_built_in(client: httpx.AsyncClient) -> None:
    got = (await client.get("/api/v1/districts")).json()
    assert [d["code"] for d in got] == ["chancheng", "nanhai", "shunde", "gaoming", "sanshui"]
    assert got[2]["name_zh"] == "顺德区"


async def test_templates_list_their_signals(client: httpx.AsyncClient) -> None:
    got = {t["key"]: t for t in (await client.get("/api/v1/templates")).json()}
    assert set(got) == {
        "industrial_robot",
        "roller_kiln",
        "press",
        "injection_moulding",
        "smt_line",
        "cnc_machine",
    }
    firing = next(s for s in got["roller_kiln"]["signals"] if s["name"] == "firing_temp")
    assert (firing["unit"], firing["lo"], firing["hi"]) == ("°C", 1150, 1230)


async def test_an_enterprise_shows_its_tree(
    client: httpx.AsyncClient, city_admin: httpx.AsyncClient
) -> None:
    ents = (await city_admin.get("/api/v1/enterprises")).json()
    assert {e["slug"]: e["key_industry"] for e in ents} == {
        "acme-auto": "automobile",
        "huamei-ceramics": "ceramics",
    }
    assert [e["slug"] for e in (await client.get("/api/v1/enterprises")).json()] == ["acme-auto"]
    tree = (await client.get("/api/v1/enterprises/acme-auto")).json()
    line = tree["sites"][0]["lines"][0]
    assert [s["slug"] for s in line["stations"]] == ["op10", "op20"]
    assert line["stations"][1]["operators"] == 2
    assert line["stations"][0]["equipment"][0]["template"] == "press"


async def test_unknown_assets_are_404_with_a_json_body(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/enterprises/nobody")
    assert r.status_code == 404
    assert r.json() == {
        "error": "NotFound",
        "message": "no enterprise 'nobody'",
        "where": "path: enterprise",
    }
    assert (await client.get("/api/v1/equipment/999999")).status_code == 404
    assert (await client.get("/api/v1/series/999999/buckets")).status_code == 404


async def test_assets_are_created_from_a_document(
    city_admin: httpx.AsyncClient, client: httpx.AsyncClient, runtime: Runtime
) -> None:
    doc = {
        "enterprises": [
            {
                "slug": "midea-like",
                "name": "Shunde Appliances",
                "district": "shunde",
                "industry": "3852",
                "sites": [
                    {
                        "slug": "s1",
                        "lines": [
                            {
                                "slug": "l1",
                                "stations": [
                                    {
                                        "slug": "st1",
                                        "equipment": [
                                            {"slug": "imm-1", "template": "injection_moulding"}
                                        ],
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    r = await client.post("/api/v1/assets", json=doc)  # another enterprise's admin may not
    assert r.status_code == 403
    assert r.json()["where"] == "body: enterprises[0].slug"
    r = await city_admin.post("/api/v1/assets", json=doc)
    assert r.status_code == 200, r.text
    assert r.json()["enterprises"] == 3
    assert runtime.catalog.equipment_id("midea-like", "imm-1") is not None


async def test_a_bad_document_names_where(city_admin: httpx.AsyncClient) -> None:
    doc = {"enterprises": [{"slug": "Bad Slug", "district": "shunde", "industry": "3852"}]}
    r = await city_admin.post("/api/v1/assets", json=doc)
    assert r.status_code == 422
    assert r.json()["where"] == "body: enterprises[0].slug"
    doc = {"enterprises": [{"slug": "x", "district": "shunde", "industry": "0101"}]}
    r = await city_admin.post("/api/v1/assets", json=doc)
    assert r.json()["where"] == "body: enterprises[0].industry"


async def test_a_reversed_window_is_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    sid = next(iter(runtime.catalog.signals))
    r = await client.get(f"/api/v1/series/{sid}/buckets", params={"start": 10, "end": 5})
    assert r.status_code == 422
    assert r.json()["where"] == "query: start"


async def test_the_city_summary_counts_enterprises_and_states(client: httpx.AsyncClient) -> None:
    got = (await client.get("/api/v1/city/summary")).json()
    assert got["enterprises"] == 2
    assert got["by_district"] == {"nanhai": 1, "chancheng": 1}
    assert got["equipment_by_state"] == {"unknown": 3}
