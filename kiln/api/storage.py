"""Storage: what the store holds and what uses the space (the city admin's view)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from kiln.api.deps import PrincipalDep, RuntimeDep
from kiln.api.errors import ERROR_RESPONSES
from kiln.auth.roles import Role
from kiln.errors import Forbidden
from kiln.store.retention import retention_plan

router = APIRouter(prefix="/api/v1", tags=["storage"], responses=ERROR_RESPONSES)


@router.get(
    "/storage",
    summary="Storage report: rows and bytes per table, raw points per enterprise and day",
    responses={200: {"description": "the storage report", "content": {"application/json": {}}}},
)
async def storage(
    rt: RuntimeDep,
    who: PrincipalDep,
    days: Annotated[int, Query(ge=1, le=3660, description="raw points per day: this many")] = 30,
) -> Response:
    """Rows and bytes per table (bytes estimated from the blocks each uses), the time span of
    the telemetry tables, raw points per enterprise and per UTC day, the oldest raw day, the
    hours awaiting rollup, and what retention will remove next (its dry run). City admin only."""
    if who.role is not Role.CITY_ADMIN:
        raise Forbidden(f"a {who.role.value} may not read the storage report", where="role")
    now = rt.clock.now_ms()
    plan = retention_plan(rt.catalog, rt.settings.retention, now)

    def read() -> bytes:
        report = rt.store.storage_report(now, days=days)
        return orjson.dumps(report.view(rt.store.retention(plan, dry_run=True)))

    return Response(await run_in_threadpool(read), media_type="application/json")
