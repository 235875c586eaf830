"""Telemetry reads: raw points, chart buckets, last values, states, counts, city summary."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from kiln.api.deps import AccessDep, WindowDep
from kiln.api.errors import ERROR_RESPONSES
from kiln.domain.states import STATE_NAMES
from kiln.errors import BadInput
from kiln.store.base import MAX_CHART_POINTS

router = APIRouter(prefix="/api/v1", tags=["telemetry"], responses=ERROR_RESPONSES)
MAX_RAW_POINTS = 100_000
COLUMNS = {"description": "columns of equal length", "content": {"application/json": {}}}


def _json(table: Any) -> Response:
    return Response(orjson.dumps(table.to_pydict()), media_type="application/json")


@router.get(
    "/series/{series_id}/points",
    summary="Raw points of one series (columns)",
    responses={200: COLUMNS},
)
async def points(series_id: int, access: AccessDep, w: WindowDep) -> Response:
    """Raw points in the window as columns {series, ts_ms, value}, at most 100,000."""
    table = access.points(series_id, w.start_ms, w.end_ms)
    if table.num_rows > MAX_RAW_POINTS:
        raise BadInput(
            f"{table.num_rows} points; ask for a shorter window or use /buckets",
            where="query: start",
        )
    return _json(table)


@router.get(
    "/series/{series_id}/buckets",
    summary="Chart data: aggregates per time bucket",
    responses={200: COLUMNS},
)
async def buckets(
    series_id: int,
    access: AccessDep,
    w: WindowDep,
    max_points: Annotated[int, Query(ge=1, le=MAX_CHART_POINTS)] = MAX_CHART_POINTS,
    bucket_ms: Annotated[int, Query(ge=0, le=86_400_000)] = 0,
) -> Response:
    """Columns {ts_ms, avg, min, max, last, count}, never more than max_points buckets."""
    return _json(
        access.buckets(series_id, w.start_ms, w.end_ms, max_points=max_points, bucket_ms=bucket_ms)
    )


@router.get("/last", summary="Last value of many series", responses={200: COLUMNS})
async def last(
    access: AccessDep, series: Annotated[list[int] | None, Query(max_length=10_000)] = None
) -> Response:
    """Columns {series, ts_ms, value}: the latest point of each own series asked for (or all)."""
    return _json(access.last_values(series))


@router.get("/equipment/{equipment_id}/states", summary="State intervals of one equipment")
async def states(equipment_id: int, access: AccessDep, w: WindowDep) -> list[dict[str, Any]]:
    """Intervals clipped to the window, each with its state name and reason."""
    rows = access.state_intervals(equipment_id, w.start_ms, w.end_ms).to_pylist()
    return [
        {
            "start_ms": r["start_ms"],
            "end_ms": r["end_ms"],
            "state": STATE_NAMES[r["state"]],
            "reason": r["reason"],
        }
        for r in rows
    ]


@router.get("/equipment/{equipment_id}/counts", summary="Good and scrap counts of one equipment")
async def counts(
    equipment_id: int,
    access: AccessDep,
    w: WindowDep,
    bucket_ms: Annotated[int, Query(ge=0, le=86_400_000 * 31)] = 0,
) -> list[dict[str, Any]]:
    """Sums over the window, or per bucket when bucket_ms > 0."""
    rows = access.counts(equipment_id, w.start_ms, w.end_ms, bucket_ms=bucket_ms).to_pylist()
    return [{"ts_ms": r["ts_ms"], "good": r["good"], "scrap": r["scrap"]} for r in rows]


@router.get("/city/summary", summary="The city at a glance (aggregates)")
async def city_summary(access: AccessDep) -> dict[str, Any]:
    """Enterprises by district and key industry, and equipment counts by current state."""
    return access.city_summary()
