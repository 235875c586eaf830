"""POST /api/v1/ingest through the app: stored whole, or refused whole with every item named."""

from __future__ import annotations

from typing import Any

import httpx

from kiln.runtime import Runtime
from tests.conftest import NOW_MS

T = NOW_MS - 60_000


def body(**sections: Any) -> dict[str, Any]:
    return {"enterprise": "acme-auto", **sections}


def stored(runtime: Runtime) -> int:
    return runtime.store.stats().points


async def test_a_good_batch_is_stored_and_readable(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    r = await client.post(
        "/api/v1/ingest",
        json=body(
            points=[
                {
                    "equipment": "press-1",
                    "signal": "tonnage",
                    "ts": [T, T + 1000],
                    "v": [8100, 8200],
                }
            ],
            states=[{"equipment": "press-1", "ts": T, "state": "running"}],
            counts=[{"equipment": "press-1", "ts": T + 1000, "good": 3, "scrap": 0}],
        ),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 4, "duplicate": False}
    press = runtime.catalog.equipment_id("acme-auto", "press-1")
    eq = (await client.get(f"/api/v1/equipment/{press}")).json()
    tonnage = next(s for s in eq["signals"] if s["name"] == "tonnage")
    assert tonnage["last"] == {"ts_ms": T + 1000, "value": 8200.0}
    assert eq["state"]["state"] == "running"
    b = (
        await client.get(
            f"/api/v1/series/{tonnage['id']}/buckets",
            params={"start": T - 60_000, "end": T + 60_000},
        )
    ).json()
    assert sum(b["count"]) == 2
    c = (
        await client.get(f"/api/v1/equipment/{press}/counts", params={"start": T, "end": NOW_MS})
    ).json()
    assert c == [{"ts_ms": T, "good": 3, "scrap": 0}]


async def test_a_rejected_batch_stores_nothing_and_names_each_item(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    r = await client.post(
        "/api/v1/ingest",
        json=body(
            points=[
                {"equipment": "press-1", "signal": "tonnage", "ts": T, "v": 1.0},
                {"equipment": "press-1", "signal": "tonnage", "ts": T, "v": "x"},
                {"equipment": "ghost", "signal": "tonnage", "ts": T, "v": 1.0},
            ],
            states=[{"equipment": "press-1", "ts": T, "state": "asleep"}],
        ),
    )
    assert r.status_code == 422
    j = r.json()
    assert j["error"] == "BadInput"
    assert "nothing was stored" in j["message"]
    assert j["where"] == "points[1].v"
    assert [(x["section"], x["index"], x["field"]) for x in j["rejects"]] == [
        ("points", 1, "v"),
        ("points", 2, "equipment"),
        ("states", 0, "state"),
    ]
    assert stored(runtime) == 0


async def test_nan_and_infinity_are_rejected_with_reasons(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    raw = (
        '{"enterprise": "acme-auto", "points": ['
        f'{{"equipment": "press-1", "signal": "tonnage", "ts": {T}, "v": NaN}},'
        f'{{"equipment": "press-1", "signal": "tonnage", "ts": {T}, "v": Infinity}}]}}'
    )
    r = await client.post(
        "/api/v1/ingest", content=raw, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert [x["reason"] for x in r.json()["rejects"]] == [
        "value nan is not finite",
        "value inf is not finite",
    ]
    assert stored(runtime) == 0


async def test_a_body_that_is_not_json_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/ingest", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["where"] == "body"
    assert "not JSON" in r.json()["message"]


async def test_a_resent_batch_is_stored_once(client: httpx.AsyncClient, runtime: Runtime) -> None:
    doc = body(
        batch_id="gw-7-000001",
        points=[{"equipment": "press-1", "signal": "tonnage", "ts": T, "v": 1.0}],
    )
    first = (await client.post("/api/v1/ingest", json=doc)).json()
    again = (await client.post("/api/v1/ingest", json=doc)).json()
    assert first == {"stored": 1, "duplicate": False}
    assert again == {"stored": 0, "duplicate": True}
    assert stored(runtime) == 1


async def test_the_openapi_document_describes_the_ingest_body(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    op = spec["paths"]["/api/v1/ingest"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"enterprise", "batch_id", "points", "states", "counts"}
    assert (await client.get("/docs")).status_code == 200


async def test_a_body_over_the_limit_is_a_413(client: httpx.AsyncClient, runtime: Runtime) -> None:
    limit = runtime.settings.server.max_body_bytes
    r = await client.post(
        "/api/v1/ingest", content=b" " * (limit + 1), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert "server.max_body_bytes" in r.json()["message"]
