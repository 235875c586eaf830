"""Alarms through the API: a rule raises one from committed data, people acknowledge and shelve
it, the history keeps who and when, and every caller sees only its own enterprise's."""

from __future__ import annotations

import httpx
import pytest

from kiln.auth.roles import Role
from kiln.domain.batches import Bundle, PointBatch
from kiln.runtime import Runtime
from tests.api.conftest import ClientFactory, issue_token
from tests.conftest import NOW_MS

RULE = {
    "kind": "threshold",
    "severity": "high",
    "scope": {"template": "press"},
    "signal": "tonnage",
    "op": ">",
    "limit": 800.0,
    "deadband": 20.0,
}


def tonnage(runtime: Runtime, values: list[float], start_ms: int) -> Bundle:
    press = runtime.catalog.equipment_id("acme-auto", "press-1")
    assert press is not None
    sid = runtime.catalog.series_id(press, "tonnage")
    ts = [start_ms + 1000 * i for i in range(len(values))]
    return Bundle(points=PointBatch.of([sid] * len(values), ts, values))


async def raise_one(runtime: Runtime, client: httpx.AsyncClient) -> int:
    r = await client.put("/api/v1/alarm-rules/press-overload", json=RULE)
    assert r.status_code == 201, r.text
    assert runtime.alarms is not None
    events = runtime.alarms.evaluate(tonnage(runtime, [700, 850, 860], NOW_MS - 10_000))
    assert [e.action for e in events] == ["raised"]
    return events[0].alarm_id


async def test_a_rule_raises_an_alarm_that_is_acknowledged_with_a_comment(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    alarm_id = await raise_one(runtime, client)
    listed = (await client.get("/api/v1/alarms?open=true")).json()
    assert listed["total"] == 1
    first = listed["alarms"][0]
    assert first["state"] == "raised"
    assert first["severity"] == "high"
    assert first["rule"] == "press-overload"
    assert "tonnage" in first["message"]
    r = await client.post(f"/api/v1/alarms/{alarm_id}/acknowledge", json={"comment": "die check"})
    assert r.status_code == 200
    assert r.json()["state"] == "acknowledged"
    again = await client.post(f"/api/v1/alarms/{alarm_id}/acknowledge", json={})
    assert again.status_code == 409
    # Back under the limit minus the deadband: it clears, and being acknowledged it closes.
    assert runtime.alarms is not None
    runtime.alarms.evaluate(tonnage(runtime, [770], NOW_MS - 5_000))
    one = (await client.get(f"/api/v1/alarms/{alarm_id}")).json()
    assert one["state"] == "closed"
    assert [(h["action"], h["who"], h["comment"]) for h in one["history"]] == [
        ("raised", None, None),
        ("acknowledged", one["acked_by"], "die check"),
        ("cleared", None, None),
    ]
    assert (await client.get("/api/v1/alarms?open=true")).json()["total"] == 0


async def test_shelving_silences_an_alarm_for_a_while_and_unshelving_ends_it(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    alarm_id = await raise_one(runtime, client)
    r = await client.post(f"/api/v1/alarms/{alarm_id}/shelve", json={"minutes": 30})
    assert r.status_code == 200
    assert r.json()["shelved_until_ms"] == NOW_MS + 30 * 60_000
    bad = await client.post(f"/api/v1/alarms/{alarm_id}/shelve", json={"minutes": 0})
    assert bad.status_code == 422
    r = await client.post(f"/api/v1/alarms/{alarm_id}/unshelve", json={})
    assert r.status_code == 200
    assert r.json()["shelved_until_ms"] is None
    assert (await client.post(f"/api/v1/alarms/{alarm_id}/unshelve", json={})).status_code == 409


async def test_another_enterprise_cannot_see_or_touch_the_alarm(
    runtime: Runtime, client: httpx.AsyncClient, clients: ClientFactory
) -> None:
    alarm_id = await raise_one(runtime, client)
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "huamei-ceramics")) as other:
        assert (await other.get(f"/api/v1/alarms/{alarm_id}")).status_code == 404
        r = await other.post(f"/api/v1/alarms/{alarm_id}/acknowledge", json={})
        assert r.status_code == 404
        assert (await other.get("/api/v1/alarms")).json()["total"] == 0
        assert (await other.get("/api/v1/alarm-rules")).json() == []
        clash = await other.put("/api/v1/alarm-rules/press-overload", json=RULE)
        assert clash.status_code == 409
        assert (await other.delete("/api/v1/alarm-rules/press-overload")).status_code == 404
    async with clients(issue_token(runtime, Role.CITY_ANALYST)) as city:
        assert (await city.get("/api/v1/alarms/summary")).json()["high"] == 1
        assert (await city.get(f"/api/v1/alarms/{alarm_id}")).status_code in (403, 404)
    async with clients(issue_token(runtime, Role.ENTERPRISE_VIEWER, "acme-auto")) as viewer:
        r = await viewer.post(f"/api/v1/alarms/{alarm_id}/acknowledge", json={})
        assert r.status_code == 200  # the line engineer acknowledges
        assert (await viewer.put("/api/v1/alarm-rules/x", json=RULE)).status_code == 403


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"op": ">="}, "op"),
        ({"limit": "high"}, "limit"),
        ({"signal": ""}, "signal"),
        ({"kind": "telepathy"}, "kind"),
        ({"colour": "red"}, "colour"),
        ({"scope": {"enterprise": 999}}, "scope.enterprise"),
    ],
)
async def test_a_bad_rule_is_refused_naming_the_field(
    client: httpx.AsyncClient, change: dict[str, object], where: str
) -> None:
    r = await client.put("/api/v1/alarm-rules/bad-rule", json={**RULE, **change})
    assert r.status_code in (404, 422), r.text
    assert where in r.json()["where"]
    assert (await client.get("/api/v1/alarm-rules")).json() == []


async def test_rules_list_with_their_origin_and_can_be_deleted(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await raise_one(runtime, client)
    rules = (await client.get("/api/v1/alarm-rules")).json()
    assert [(r["name"], r["origin"]) for r in rules] == [("press-overload", "api")]
    assert rules[0]["scope"]["enterprise"] == runtime.catalog.enterprise_by_slug["acme-auto"]
    assert (await client.delete("/api/v1/alarm-rules/press-overload")).status_code == 204
    assert (await client.get("/api/v1/alarm-rules")).json() == []
