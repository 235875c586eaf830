"""Refused ingest lands in the dead-letter table, visible to its enterprise and no other."""

from __future__ import annotations

from kiln.auth.roles import Role
from kiln.domain.dead_letters import DeadLetter
from kiln.runtime import Runtime
from tests.api.conftest import ClientFactory, issue_token
from tests.conftest import NOW_MS


async def test_a_rejected_http_batch_is_kept_for_its_enterprise_only(
    runtime: Runtime, clients: ClientFactory
) -> None:
    acme = issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")
    huamei = issue_token(runtime, Role.ENTERPRISE_ADMIN, "huamei-ceramics")
    bad = {"points": [{"equipment": "press-1", "signal": "nope", "ts": NOW_MS, "v": 1}]}
    async with clients(acme) as c:
        assert (await c.post("/api/v1/ingest", json=bad)).status_code == 422
        runtime.sink.flush()
        rows = (await c.get("/api/v1/dead-letters")).json()
        counts = (await c.get("/api/v1/dead-letters/counts")).json()
    assert len(rows) == 1
    assert rows[0]["adapter"] == "http"
    assert rows[0]["source"] == "POST /api/v1/ingest"
    assert "points[0].signal" in rows[0]["reason"]
    assert "unknown signal" in rows[0]["reason"] or "nope" in rows[0]["reason"]
    assert '"signal":"nope"' in rows[0]["payload_text"].replace(" ", "")
    assert bytes.fromhex(rows[0]["payload_hex"]).decode() == rows[0]["payload_text"]
    assert [(r["adapter"], r["count"]) for r in counts] == [("http", 1)]
    async with clients(huamei) as c:
        assert (await c.get("/api/v1/dead-letters")).json() == []
        assert (await c.get("/api/v1/dead-letters/counts")).json() == []


async def test_a_claim_on_another_enterprise_is_a_dead_letter(
    runtime: Runtime, clients: ClientFactory
) -> None:
    device = issue_token(runtime, Role.DEVICE, "acme-auto")
    claim = {"enterprise": "huamei-ceramics", "points": []}
    async with clients(device) as c:
        assert (await c.post("/api/v1/ingest", json=claim)).status_code == 403
    runtime.sink.flush()
    acme = runtime.catalog.enterprise_by_slug["acme-auto"]
    rows = runtime.store.dead_letters(acme).to_pylist()
    assert len(rows) == 1
    assert "claims enterprise 'huamei-ceramics'" in rows[0]["reason"]


async def test_the_city_admin_sees_unattributed_letters_and_all_counts_not_enterprise_payloads(
    runtime: Runtime, clients: ClientFactory
) -> None:
    acme = runtime.catalog.enterprise_by_slug["acme-auto"]
    runtime.store.write_dead_letters(
        [
            DeadLetter(NOW_MS, "mqtt:plant", "kiln/acme-auto/press-1", "bad json", b"{x", acme),
            DeadLetter(NOW_MS, "mqtt:plant", "random/topic", "not in the namespace", b"hi"),
        ]
    )
    async with clients(issue_token(runtime, Role.CITY_ADMIN)) as c:
        rows = (await c.get("/api/v1/dead-letters")).json()
        counts = (await c.get("/api/v1/dead-letters/counts")).json()
    assert [r["source"] for r in rows] == ["random/topic"]
    assert sorted(r["source"] for r in counts) == ["kiln/acme-auto/press-1", "random/topic"]
    async with clients(issue_token(runtime, Role.CITY_ANALYST)) as c:
        assert (await c.get("/api/v1/dead-letters")).status_code == 403


async def test_bad_paging_parameters_are_named(runtime: Runtime, clients: ClientFactory) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")) as c:
        r = await c.get("/api/v1/dead-letters?limit=0")
    assert r.status_code == 422
    assert "limit" in r.text
