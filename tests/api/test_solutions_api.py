"""The solution catalogue's API: a provider manages its own entries, everyone signed in reads
them, another provider or a viewer cannot change them, the city admin can remove any, and a bad
field answers 422 naming it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from kiln.access import Access
from kiln.advisor.catalogue import Need
from kiln.auth.roles import Role
from kiln.runtime import Runtime
from tests.api.conftest import ClientFactory, issue_token


def welding_cell(**changes: Any) -> dict[str, Any]:
    doc = {
        "name": "Six-axis arc welding cell",
        "summary": "Two robots on a turntable",
        "industries": ["3670"],
        "processes": ["welding", "handling"],
        "losses": ["performance", "labour"],
        "payload_kg": {"min": 6, "max": 20},
        "cycle_s": {"min": 25, "max": 60},
        "price_yuan": {"min": 250_000, "max": 600_000},
        "references": ["Shunde bracket maker: cycle 48 s to 31 s"],
    }
    return {**doc, **changes}


async def test_a_provider_publishes_changes_and_removes_its_own_solution(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    r = await client.post("/api/v1/solutions", json=welding_cell())
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["provider"]["slug"] == "acme-auto"
    assert made["cycle_s"] == {"min": 25, "max": 60}
    r = await client.put(
        f"/api/v1/solutions/{made['id']}", json=welding_cell(name="Twin-robot welding cell")
    )
    assert r.status_code == 200, r.text
    got = (await client.get(f"/api/v1/solutions/{made['id']}")).json()
    assert got["name"] == "Twin-robot welding cell"
    assert got["updated_by"].startswith("enterprise_admin-acme-auto")
    listed = (await client.get("/api/v1/solutions?provider=acme-auto")).json()
    assert [s["id"] for s in listed["solutions"]] == [made["id"]]
    assert (await client.delete(f"/api/v1/solutions/{made['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/solutions/{made['id']}")).status_code == 404
    log = runtime.security.accounts.audit_log(enterprise_id=None, every=True, limit=10)
    actions = [a["action"] for a in log]
    assert {"solution.created", "solution.updated", "solution.removed"} <= set(actions)


async def test_another_enterprise_and_a_viewer_cannot_change_it_but_can_read_it(
    runtime: Runtime, client: httpx.AsyncClient, clients: ClientFactory
) -> None:
    sid = (await client.post("/api/v1/solutions", json=welding_cell())).json()["id"]
    huamei = issue_token(runtime, Role.ENTERPRISE_ADMIN, "huamei-ceramics")
    viewer = issue_token(runtime, Role.ENTERPRISE_VIEWER, "acme-auto")
    for token in (huamei, viewer):
        async with clients(token) as c:
            assert (await c.get(f"/api/v1/solutions/{sid}")).status_code == 200
            r = await c.put(f"/api/v1/solutions/{sid}", json=welding_cell(name="Mine now"))
            assert r.status_code == 403, r.text
            assert (await c.delete(f"/api/v1/solutions/{sid}")).status_code == 403
    async with clients(huamei) as c:
        r = await c.post("/api/v1/solutions", json=welding_cell(provider="acme-auto"))
        assert r.status_code == 403
        assert r.json()["where"] == "solution.provider"
    assert runtime.store.solutions.get(sid).name == "Six-axis arc welding cell"  # type: ignore[union-attr]
    assert (await client.put("/api/v1/solutions/999", json=welding_cell())).status_code == 404


async def test_the_city_admin_publishes_for_a_named_provider_and_removes_any(
    client: httpx.AsyncClient, city_admin: httpx.AsyncClient
) -> None:
    sid = (await client.post("/api/v1/solutions", json=welding_cell())).json()["id"]
    assert (await city_admin.delete(f"/api/v1/solutions/{sid}")).status_code == 204
    r = await city_admin.post("/api/v1/solutions", json=welding_cell())
    assert r.status_code == 422
    assert r.json()["where"] == "solution.provider"
    r = await city_admin.post("/api/v1/solutions", json=welding_cell(provider="huamei-ceramics"))
    assert r.status_code == 201
    assert r.json()["provider"]["slug"] == "huamei-ceramics"


async def test_bad_input_answers_422_naming_the_field(client: httpx.AsyncClient) -> None:
    cases = [
        (welding_cell(cycle_s={"min": 12, "max": 8}), "solution.cycle_s", "min 12 is above max 8"),
        (welding_cell(processes=["juggling"]), "solution.processes[0]", "'juggling' is not one"),
        (welding_cell(industries=["9999"]), "solution.industries[0]", "not a GB/T 4754"),
        (welding_cell(price_yuan=None), "solution.price_yuan", "is required"),
        (welding_cell(name=""), "solution.name", "is required"),
        (welding_cell(colour="red"), "solution.colour", "unknown field"),
    ]
    for doc, where, what in cases:
        r = await client.post("/api/v1/solutions", json=doc)
        assert r.status_code == 422, (where, r.text)
        body = r.json()
        assert body["where"] == where
        assert what in body["message"]
    r = await client.get("/api/v1/solutions?process=juggling")
    assert (r.status_code, r.json()["where"]) == (422, "query: process")


async def test_lists_filter_by_industry_and_process_and_page(client: httpx.AsyncClient) -> None:
    for i in range(3):
        await client.post("/api/v1/solutions", json=welding_cell(name=f"Weld {i}"))
    await client.post(
        "/api/v1/solutions",
        json=welding_cell(name="Glaze robot", industries=["307"], processes=["glazing"]),
    )
    page = (await client.get("/api/v1/solutions?industry=3670&limit=2&offset=1")).json()
    assert ([s["name"] for s in page["solutions"]], page["total"]) == (["Weld 1", "Weld 2"], 3)
    glaze = (await client.get("/api/v1/solutions?industry=C3071&process=glazing")).json()
    assert [s["name"] for s in glaze["solutions"]] == ["Glaze robot"]


async def test_demand_supply_counts_supply_and_takes_demand_from_the_registered_function(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await client.post("/api/v1/solutions", json=welding_cell())
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.solution_demand = None  # no demand plugged in: supply alone
    body = (await client.get("/api/v1/solutions/demand-supply")).json()
    assert body["demand"] is None
    auto = body["industries"][0]
    assert (auto["industry"], auto["solutions"], auto["candidates"]) == ("automobile", 1, None)
    assert [p["slug"] for p in auto["providers"]] == ["acme-auto"]

    def demand(rt: Runtime, access: Access) -> Mapping[str, Sequence[Need]]:
        return {"3670": [Need("3670", "welding"), Need("3670", "painting")]}

    app.state.solution_demand = demand
    body = (await client.get("/api/v1/solutions/demand-supply")).json()
    assert body["demand"] == {"candidates": 2, "covered": 1}
    auto = body["industries"][0]
    assert (auto["candidates"], auto["covered"]) == (2, 1)
