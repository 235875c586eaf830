"""GET /api/v1/storage: the storage report, for the city admin only."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import numpy as np
import pytest

from kiln.api import storage
from kiln.auth.roles import Role
from kiln.domain.batches import Bundle, PointBatch
from kiln.runtime import Runtime
from kiln.server import create_app
from tests.api.conftest import issue_token
from tests.conftest import NOW_MS

DAY, HOUR = 86_400_000, 3_600_000
Make = Callable[..., httpx.AsyncClient]


@pytest.fixture
def app_client(runtime: Runtime) -> Make:
    """Make a client for a role, on an app with the storage router (added if not yet there)."""
    app = create_app(runtime, manage_runtime=False)
    if not any(getattr(r, "path", "") == "/api/v1/storage" for r in app.routes):
        app.include_router(storage.router)
    sids = np.array(sorted(runtime.catalog.signals))
    ts = np.arange(NOW_MS - NOW_MS % DAY - 35 * DAY, NOW_MS, HOUR)
    points = PointBatch.of(
        np.repeat(sids, len(ts)), np.tile(ts, len(sids)), np.ones(len(ts) * len(sids))
    )
    runtime.store.write(Bundle(points=points))
    runtime.store.compact()

    def make(role: Role, enterprise: str | None = None) -> httpx.AsyncClient:
        token = issue_token(runtime, role, enterprise)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://kiln.test",
            headers={"authorization": f"Bearer {token}"},
        )

    return make


async def test_the_city_admin_reads_the_storage_report(app_client: Make) -> None:
    async with app_client(Role.CITY_ADMIN) as c:
        r = await c.get("/api/v1/storage", params={"days": 7})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["raw_by_day"]) == 7
    assert {e["enterprise"] for e in body["raw_by_enterprise"]} == {"acme-auto", "huamei-ceramics"}
    points = next(t for t in body["tables"] if t["name"] == "points")
    assert points["rows"] > 0
    assert body["oldest_raw_ms"] == points["oldest_ms"]
    gone = {x["table"]: x["rows"] for x in body["retention_next"]}
    assert gone["points"] > 0  # 35 days stored, 30 kept by default


@pytest.mark.parametrize(
    ("role", "enterprise"),
    [(Role.CITY_ANALYST, None), (Role.ENTERPRISE_ADMIN, "acme-auto")],
)
async def test_no_one_else_reads_it(app_client: Make, role: Role, enterprise: str | None) -> None:
    async with app_client(role, enterprise) as c:
        r = await c.get("/api/v1/storage")
    assert r.status_code == 403
    assert r.json()["where"] == "role"
    assert "may not read the storage report" in r.json()["message"]


async def test_an_anonymous_caller_is_refused(runtime: Runtime) -> None:
    app = create_app(runtime, manage_runtime=False)
    app.include_router(storage.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kiln.test") as c:
        r = await c.get("/api/v1/storage")
    assert r.status_code == 401


async def test_days_out_of_range_are_refused_by_name(app_client: Make) -> None:
    async with app_client(Role.CITY_ADMIN) as c:
        r = await c.get("/api/v1/storage", params={"days": 0})
    assert r.status_code == 422
    assert "days" in r.text
