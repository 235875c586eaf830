"""Every API route tried as every role and as another enterprise's user; tokens, sessions,
CSRF and rate limits attacked directly."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from kiln.auth.ratelimit import RateLimiter
from kiln.auth.roles import Role
from kiln.runtime import Runtime
from kiln.server import create_app
from tests.api.conftest import ClientFactory, issue_token
from tests.conftest import NOW_MS

CALLERS = [
    "anonymous",
    "city_admin",
    "city_analyst",
    "acme_admin",
    "acme_viewer",
    "huamei_admin",
    "acme_device",
]
ACME = {"acme_admin", "acme_viewer"}
CITY = {"city_admin", "city_analyst"}
SIGNED_IN = set(CALLERS) - {"anonymous"}


def tokens(runtime: Runtime) -> dict[str, str | None]:
    return {
        "anonymous": None,
        "city_admin": issue_token(runtime, Role.CITY_ADMIN),
        "city_analyst": issue_token(runtime, Role.CITY_ANALYST),
        "acme_admin": issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto"),
        "acme_viewer": issue_token(runtime, Role.ENTERPRISE_VIEWER, "acme-auto"),
        "huamei_admin": issue_token(runtime, Role.ENTERPRISE_ADMIN, "huamei-ceramics"),
        "acme_device": issue_token(runtime, Role.DEVICE, "acme-auto"),
    }


def requests(runtime: Runtime) -> list[tuple[str, str, dict[str, Any] | None, set[str]]]:
    """(method, path, json body, callers that succeed) for every API route."""
    cat = runtime.catalog
    press = cat.equipment_id("acme-auto", "press-1")
    assert press is not None
    sid = cat.series_id(press, "tonnage")
    station = cat.stations[cat.equipment[press].station_id]
    line = station.line_id
    installed = {"station_id": station.id, "installed_ms": NOW_MS - 86_400_000}
    acme_doc = {
        "enterprises": [
            {"slug": "acme-auto", "name": "Acme", "district": "nanhai", "industry": "3670"}
        ]
    }
    batch = {"points": [{"equipment": "press-1", "signal": "tonnage", "ts": NOW_MS - 1000, "v": 1}]}
    solution = {
        "provider": "acme-auto",
        "name": "Press tending robot",
        "industries": ["3670"],
        "processes": ["machine_tending"],
        "losses": ["labour"],
        "price_yuan": {"min": 180_000, "max": 320_000},
    }
    return [
        ("GET", "/api/v1/me", None, SIGNED_IN),
        ("GET", "/api/v1/districts", None, SIGNED_IN),
        ("GET", "/api/v1/search?q=press", None, SIGNED_IN - {"acme_device"}),
        ("GET", "/api/v1/templates", None, SIGNED_IN),
        ("GET", "/api/v1/enterprises", None, SIGNED_IN - {"acme_device"}),
        ("GET", "/api/v1/enterprises/acme-auto", None, ACME),
        ("GET", f"/api/v1/equipment/{press}", None, ACME),
        ("GET", f"/api/v1/equipment/{press}/states", None, ACME),
        ("GET", f"/api/v1/equipment/{press}/counts", None, ACME),
        ("GET", f"/api/v1/series/{sid}/points", None, ACME),
        ("GET", f"/api/v1/series/{sid}/buckets", None, ACME),
        ("GET", f"/api/v1/last?series={sid}", None, ACME),
        ("GET", "/api/v1/city/summary", None, CITY | ACME | {"huamei_admin"}),
        ("POST", "/api/v1/ingest", batch, {"acme_admin", "acme_device"}),
        (
            "POST",
            "/api/v2/write?org=o&bucket=b",
            None,
            {"acme_admin", "acme_device", "huamei_admin"},
        ),
        ("POST", "/write?db=plant", None, {"acme_admin", "acme_device", "huamei_admin"}),
        ("POST", "/api/v1/assets", acme_doc, {"acme_admin", "city_admin"}),
        ("GET", "/api/v1/tokens", None, SIGNED_IN),
        ("POST", "/api/v1/tokens", {"name": "ci"}, SIGNED_IN - {"acme_device"}),
        ("GET", "/api/v1/users", None, {"city_admin", "acme_admin", "huamei_admin"}),
        (
            "POST",
            "/api/v1/users",
            {
                "username": "new-viewer",
                "password": "long-enough-1",
                "role": "enterprise_viewer",
                "enterprise": "acme-auto",
            },
            {"city_admin", "acme_admin"},
        ),
        ("GET", "/api/v1/alarms", None, ACME | {"huamei_admin"}),
        ("GET", "/api/v1/alarms/summary", None, ACME | CITY | {"huamei_admin"}),
        ("GET", "/api/v1/alarms/1", None, set()),  # none exists: 404 for everyone
        ("POST", "/api/v1/alarms/1/acknowledge", {}, set()),
        ("POST", "/api/v1/alarms/1/shelve", {"minutes": 5}, set()),
        ("POST", "/api/v1/alarms/1/unshelve", {}, set()),
        ("GET", "/api/v1/alarm-rules", None, ACME | CITY | {"huamei_admin"}),
        (
            "PUT",
            "/api/v1/alarm-rules/press-watch",
            {
                "kind": "threshold",
                "severity": "low",
                "scope": {"equipment": [press]},
                "signal": "tonnage",
                "op": ">",
                "limit": 900,
            },
            {"acme_admin"},
        ),
        ("GET", "/api/v1/dead-letters", None, ACME | {"huamei_admin", "city_admin"}),
        ("GET", "/api/v1/dead-letters/counts", None, ACME | {"huamei_admin", "city_admin"}),
        ("GET", "/api/v1/audit", None, {"city_admin", "acme_admin", "huamei_admin"}),
        ("GET", "/api/v1/consents", None, SIGNED_IN - {"acme_device"}),
        ("PUT", "/api/v1/consents/oee", None, {"acme_admin", "huamei_admin"}),
        ("GET", "/api/v1/kpi?level=line&window=day", None, ACME | {"huamei_admin"}),
        # acme-auto consented to "oee" a row above, so the city may read its lines' OEE.
        ("GET", "/api/v1/kpi?level=line&enterprise=acme-auto", None, ACME | CITY),
        ("GET", "/api/v1/kpi?level=equipment&enterprise=acme-auto", None, ACME),
        ("GET", "/api/v1/kpi?level=district&window=day", None, CITY),
        ("GET", "/api/v1/kpi/pareto?window=day", None, ACME | {"huamei_admin"}),
        ("GET", "/api/v1/kpi/trend?bucket=day", None, ACME | {"huamei_admin"}),
        ("GET", "/api/v1/kpi/product-runs", None, ACME | {"huamei_admin"}),
        (
            "POST",
            "/api/v1/kpi/product-runs",
            {"enterprise": "acme-auto", "line": "tandem-a", "product": "door", "start_ms": 1},
            {"acme_admin"},
        ),
        # The catalogue is public to people; acme-auto publishes (the city admin for it).
        ("GET", "/api/v1/solutions", None, SIGNED_IN - {"acme_device"}),
        ("POST", "/api/v1/solutions", solution, {"acme_admin", "city_admin"}),
        ("GET", "/api/v1/solutions/1", None, SIGNED_IN - {"acme_device"}),
        ("PUT", "/api/v1/solutions/1", solution, {"acme_admin", "city_admin"}),
        ("GET", "/api/v1/solutions/demand-supply", None, SIGNED_IN - {"acme_device"}),
        ("GET", "/api/v1/advisor/assumptions", None, SIGNED_IN - {"acme_device"}),
        ("GET", "/api/v1/advisor/enterprises/acme-auto", None, ACME),
        ("GET", "/api/v1/advisor/enterprises/acme-auto/assumptions", None, ACME),
        ("PUT", "/api/v1/advisor/enterprises/acme-auto/assumptions", {}, {"acme_admin"}),
        ("GET", f"/api/v1/advisor/lines/{line}", None, ACME),
        ("GET", "/api/v1/advisor/city", None, CITY),
        ("GET", f"/api/v1/advisor/lines/{line}/installations", None, ACME),
        # Without measured data no station is a candidate: acme's admin gets 422 (below).
        ("POST", f"/api/v1/advisor/lines/{line}/installations", installed, set()),
    ]


async def test_every_route_as_every_caller(runtime: Runtime, clients: ClientFactory) -> None:
    toks = tokens(runtime)
    failures = []
    for method, path, body, allowed in requests(runtime):
        for caller in CALLERS:
            async with clients(toks[caller]) as c:
                r = await c.request(method, path, json=body)
            ok = 200 <= r.status_code < 300
            if caller == "anonymous":
                expected = r.status_code == 401
            elif caller in allowed:
                expected = ok or (r.status_code == 409 and method == "POST")  # user exists
            elif path.endswith("/installations") and method == "POST" and caller == "acme_admin":
                expected = r.status_code == 422 and "not a candidate" in r.text
            elif path == "/api/v1/ingest" and caller == "huamei_admin":
                expected = r.status_code == 422  # acme's equipment is unknown in its enterprise
            else:
                expected = r.status_code in (403, 404)
            if not expected:
                failures.append(f"{method} {path} as {caller}: {r.status_code} {r.text[:120]}")
    assert failures == [], "\n".join(failures)


def test_every_api_route_is_in_the_matrix(runtime: Runtime) -> None:
    app = create_app(runtime, manage_runtime=False)
    in_matrix = {(m, p.split("?")[0]) for m, p, _, _ in requests(runtime)}
    templated = {(m, p.replace(p.split("/")[-1], "{x}")) for m, p in in_matrix}
    missing = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        for method in route.methods:
            path = route.path
            if method == "DELETE":
                continue  # revocation and disabling have their own tests below
            generic = "/".join("{x}" if "{" in part else part for part in path.split("/"))
            if (method, path) not in in_matrix and not any(
                (
                    method,
                    "/".join(
                        "{x}" if part.isdigit() or part == "acme-auto" else part
                        for part in p.split("/")
                    ),
                )
                == (method, generic)
                for m, p in in_matrix
                if m == method
            ):
                missing.append(f"{method} {path}")
    assert templated
    assert missing == []


async def test_another_enterprises_ids_look_like_they_do_not_exist(
    runtime: Runtime, clients: ClientFactory
) -> None:
    kiln_eq = runtime.catalog.equipment_id("huamei-ceramics", "kiln-1")
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")) as c:
        mine_missing = await c.get("/api/v1/equipment/999999")
        theirs = await c.get(f"/api/v1/equipment/{kiln_eq}")
    assert theirs.status_code == mine_missing.status_code == 404
    assert theirs.json()["message"] == f"no equipment {kiln_eq}"


async def test_a_revoked_token_stops_working_at_once(
    runtime: Runtime, clients: ClientFactory
) -> None:
    admin = issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")
    async with clients(admin) as c:
        made = (await c.post("/api/v1/tokens", json={"name": "gateway-7", "role": "device"})).json()
        assert made["token"].startswith("kiln_")
        async with clients(made["token"]) as dev:
            batch = {
                "points": [
                    {"equipment": "press-1", "signal": "tonnage", "ts": NOW_MS - 1, "v": 2.0}
                ]
            }
            assert (await dev.post("/api/v1/ingest", json=batch)).status_code == 200
            assert (await c.delete(f"/api/v1/tokens/{made['id']}")).status_code == 204
            r = await dev.post("/api/v1/ingest", json=batch)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_tokens_are_stored_hashed(runtime: Runtime, clients: ClientFactory) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")) as c:
        made = (await c.post("/api/v1/tokens", json={"name": "x"})).json()
        listed = (await c.get("/api/v1/tokens")).json()
    assert all("token" not in t for t in listed)
    rows = runtime.store._cursor().execute("SELECT token_hash FROM tokens").fetchall()  # type: ignore[attr-defined]
    assert all(made["token"] not in r[0] for r in rows)


async def test_a_claim_on_another_enterprise_is_refused_and_audited(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients(issue_token(runtime, Role.DEVICE, "acme-auto")) as dev:
        r = await dev.post(
            "/api/v1/ingest",
            json={
                "enterprise": "huamei-ceramics",
                "points": [
                    {"equipment": "kiln-1", "signal": "firing_temp", "ts": NOW_MS - 1, "v": 1190.0}
                ],
            },
        )
    assert r.status_code == 403
    assert r.json()["where"] == "body: enterprise"
    log = runtime.security.accounts.audit_log(enterprise_id=None, every=True)
    assert any(x["action"] == "ingest_refused" and "huamei" in x["detail"] for x in log)
    assert runtime.store.stats().points == 0


async def test_a_device_token_limited_to_equipment_sends_for_those_only(
    runtime: Runtime, clients: ClientFactory
) -> None:
    cat = runtime.catalog
    press = cat.equipment_id("acme-auto", "press-1")
    assert press is not None
    token = issue_token(runtime, Role.DEVICE, "acme-auto", equipment=[press])
    async with clients(token) as dev:
        ok = await dev.post(
            "/api/v1/ingest",
            json={
                "points": [
                    {"equipment": "press-1", "signal": "tonnage", "ts": NOW_MS - 1, "v": 1.0}
                ]
            },
        )
        bad = await dev.post(
            "/api/v1/ingest",
            json={
                "points": [
                    {"equipment": "robot-1", "signal": "j1_torque", "ts": NOW_MS - 1, "v": 1.0}
                ]
            },
        )
    assert ok.status_code == 200
    assert bad.status_code == 422
    assert bad.json()["rejects"][0]["reason"] == "'robot-1' is outside this token's equipment"


@pytest.fixture
def app_client(runtime: Runtime) -> httpx.AsyncClient:
    app = create_app(runtime, manage_runtime=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kiln.test")


async def sign_in(c: httpx.AsyncClient, runtime: Runtime, name: str = "alice") -> dict[str, Any]:
    eid = runtime.catalog.enterprise_by_slug["acme-auto"]
    if runtime.security.accounts.user_by_name(name) is None:
        runtime.security.create_user(None, name, "correct-horse-1", Role.ENTERPRISE_ADMIN, eid)
    r = await c.post("/api/v1/session", json={"username": name, "password": "correct-horse-1"})
    assert r.status_code == 200, r.text
    me: dict[str, Any] = r.json()
    return me


async def test_a_session_needs_its_csrf_token_to_change_anything(
    runtime: Runtime, app_client: httpx.AsyncClient
) -> None:
    async with app_client as c:
        me = await sign_in(c, runtime)
        assert (await c.get("/api/v1/me")).json()["name"] == "alice"  # reads need no token
        forged = await c.post("/api/v1/tokens", json={"name": "forged"})
        wrong = await c.post(
            "/api/v1/tokens", json={"name": "forged"}, headers={"x-csrf-token": "guess"}
        )
        right = await c.post(
            "/api/v1/tokens", json={"name": "mine"}, headers={"x-csrf-token": me["csrf"]}
        )
    assert forged.status_code == wrong.status_code == 403
    assert forged.json()["where"] == "header: X-CSRF-Token"
    assert right.status_code == 201


async def test_sign_in_issues_a_fresh_session_id(
    runtime: Runtime, app_client: httpx.AsyncClient
) -> None:
    async with app_client as c:
        c.cookies.set("kiln_session", "attacker-chosen-id")
        await sign_in(c, runtime)
        issued = [x.value for x in c.cookies.jar if x.name == "kiln_session"]
    assert issued
    assert "attacker-chosen-id" not in issued[-1:]
    app = create_app(runtime, manage_runtime=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://kiln.test",
        cookies={"kiln_session": "attacker-chosen-id"},
    ) as attacker:
        assert (await attacker.get("/api/v1/me")).status_code == 401


async def test_the_session_cookie_is_httponly_and_lax(
    runtime: Runtime, app_client: httpx.AsyncClient
) -> None:
    async with app_client as c:
        eid = runtime.catalog.enterprise_by_slug["acme-auto"]
        runtime.security.create_user(None, "bob", "correct-horse-1", Role.ENTERPRISE_VIEWER, eid)
        r = await c.post("/api/v1/session", json={"username": "bob", "password": "correct-horse-1"})
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


async def test_sign_out_ends_the_session(runtime: Runtime, app_client: httpx.AsyncClient) -> None:
    async with app_client as c:
        me = await sign_in(c, runtime)
        cookie = c.cookies.get("kiln_session") or ""
        assert (
            await c.delete("/api/v1/session", headers={"x-csrf-token": me["csrf"]})
        ).status_code == 204
    app = create_app(runtime, manage_runtime=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://kiln.test",
        cookies={"kiln_session": cookie},
    ) as old:
        assert (await old.get("/api/v1/me")).status_code == 401


async def test_wrong_passwords_are_rate_limited(
    runtime: Runtime, app_client: httpx.AsyncClient
) -> None:
    eid = runtime.catalog.enterprise_by_slug["acme-auto"]
    runtime.security.create_user(None, "carol", "correct-horse-1", Role.ENTERPRISE_ADMIN, eid)
    statuses = []
    async with app_client as c:
        for _ in range(7):
            r = await c.post(
                "/api/v1/session", json={"username": "carol", "password": "nope-nope-1"}
            )
            statuses.append(r.status_code)
    assert statuses[:5] == [401] * 5
    assert statuses[-1] == 429
    assert int(r.headers["retry-after"]) >= 1
    log = runtime.security.accounts.audit_log(enterprise_id=eid, every=False)
    assert sum(x["action"] == "sign_in_failed" for x in log) == 5


async def test_ingest_is_rate_limited_per_token(runtime: Runtime, clients: ClientFactory) -> None:
    runtime.ingest_limit = RateLimiter(rate=0.001, burst=3)  # no refill during the test
    batch = {"points": [{"equipment": "press-1", "signal": "tonnage", "ts": NOW_MS - 1, "v": 1.0}]}
    async with clients(issue_token(runtime, Role.DEVICE, "acme-auto")) as dev:
        statuses = [(await dev.post("/api/v1/ingest", json=batch)).status_code for _ in range(4)]
        r = await dev.post("/api/v1/ingest", json=batch)
    async with clients(issue_token(runtime, Role.DEVICE, "acme-auto")) as other:
        assert (await other.post("/api/v1/ingest", json=batch)).status_code == 200  # own bucket
    assert statuses == [200, 200, 200, 429]
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) >= 1


async def test_disabling_a_user_ends_its_tokens(runtime: Runtime, clients: ClientFactory) -> None:
    eid = runtime.catalog.enterprise_by_slug["acme-auto"]
    user = runtime.security.create_user(
        None, "dave", "correct-horse-1", Role.ENTERPRISE_VIEWER, eid
    )
    from kiln.auth.principal import Principal

    tok, _ = runtime.security.create_token(Principal(user.id, "dave", user.role, eid), "laptop")
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")) as admin:
        assert (await admin.delete(f"/api/v1/users/{user.id}")).status_code == 204
    async with clients(tok) as c:
        assert (await c.get("/api/v1/me")).status_code == 401


async def test_pages_and_api_answers_carry_security_headers(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/me")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_a_consent_lets_the_city_read_one_indicator_until_withdrawn(
    runtime: Runtime, clients: ClientFactory
) -> None:
    from kiln.access import Access
    from kiln.auth.principal import Principal
    from kiln.errors import Forbidden

    acme = runtime.catalog.enterprise_by_slug["acme-auto"]
    analyst = Access(runtime.store, Principal(None, "ana", Role.CITY_ANALYST, None), now_ms=NOW_MS)
    with pytest.raises(Forbidden, match="has not granted the city 'oee'"):
        analyst.city_read(acme, "oee")
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")) as admin:
        assert (await admin.put("/api/v1/consents/oee")).status_code == 204
        assert (await admin.put("/api/v1/consents/salaries")).status_code == 422
        listed = (await admin.get("/api/v1/consents")).json()
        assert [(c["enterprise"], c["indicator"]) for c in listed] == [("acme-auto", "oee")]
        analyst.city_read(acme, "oee")
        assert (await admin.delete("/api/v1/consents/oee")).status_code == 204
        assert (await admin.delete("/api/v1/consents/oee")).status_code == 404
    with pytest.raises(Forbidden):
        analyst.city_read(acme, "oee")
    actions = [
        x["action"] for x in runtime.security.accounts.audit_log(enterprise_id=acme, every=False)
    ]
    assert actions[:3] == ["consent_revoked", "city_read", "consent_granted"]
