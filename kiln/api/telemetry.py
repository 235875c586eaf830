"""Telemetry reads: raw points, chart buckets, last values, states, counts, city summary."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from kiln.api.deps import RuntimeDep, WindowDep
from kiln.domain.industries import key_industry_of
from kiln.domain.states import STATE_NAMES
from kiln.errors import BadInput, NotFound
from kiln.store.base import MAX_CHART_POINTS

router = APIRouter(prefix="/api/v1", tags=["telemetry"])
MAX_RAW_POINTS = 100_000


def _json(table: Any) -> Response:
    import orjson

    return Response(orjson.dumps(table.to_pydict()), media_type="application/json")


def _series(rt: RuntimeDep, series_id: int) -> int:
    if series_id not in rt.catalog.signals:
        raise NotFound(f"no series {series_id}", where="path: series_id")
    return series_id


@router.get("/series/{series_id}/points", summary="Raw points of one series (columns)")
async def points(series_id: int, rt: RuntimeDep, w: WindowDep) -> Response:
    """Raw points in the window as columns {series, ts_ms, value}, at most 100,000."""
    table = rt.store.points([_series(rt, series_id)], w.start_ms, w.end_ms)
    if table.num_rows > MAX_RAW_POINTS:
        raise BadInput(
            f"{table.num_rows} points; ask for a shorter window or use /buckets",
            where="query: start",
        )
    return _json(table)


@router.get("/series/{series_id}/buckets", summary="Chart data: aggregates per time bucket")
async def buckets(
    series_id: int,
    rt: RuntimeDep,
    w: WindowDep,
    max_points: Annotated[int, Query(ge=1, le=MAX_CHART_POINTS)] = MAX_CHART_POINTS,
    bucket_ms: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """Columns {ts_ms, avg, min, max, last, count}, never more than max_points buckets."""
    return _json(
        rt.store.buckets(
            _series(rt, series_id), w.start_ms, w.end_ms, max_points=max_points, bucket_ms=bucket_ms
        )
    )


@router.get("/last", summary="Last value of many series")
async def last(rt: RuntimeDep, series: Annotated[list[int] | None, Query()] = None) -> Response:
    """Columns {series, ts_ms, value}: the latest point of each series asked for (or all)."""
    return _json(rt.store.last_values(series))


@router.get("/equipment/{equipment_id}/states", summary="State intervals of one equipment")
async def states(equipment_id: int, rt: RuntimeDep, w: WindowDep) -> list[dict[str, Any]]:
    """Intervals clipped to the window, each with its state name and reason."""
    if equipment_id not in rt.catalog.equipment:
        raise NotFound(f"no equipment {equipment_id}", where="path: equipment_id")
    rows = rt.store.state_intervals([equipment_id], w.start_ms, w.end_ms).to_pylist()
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
    rt: RuntimeDep,
    w: WindowDep,
    bucket_ms: Annotated[int, Query(ge=0)] = 0,
) -> list[dict[str, Any]]:
    """Sums over the window, or per bucket when bucket_ms > 0."""
    if equipment_id not in rt.catalog.equipment:
        raise NotFound(f"no equipment {equipment_id}", where="path: equipment_id")
    rows = rt.store.counts([equipment_id], w.start_ms, w.end_ms, bucket_ms=bucket_ms).to_pylist()
    return [{"ts_ms": r["ts_ms"], "good": r["good"], "scrap": r["scrap"]} for r in rows]


@router.get("/city/summary", summary="The city at a glance")
async def city_summary(rt: RuntimeDep) -> dict[str, Any]:
    """Enterprises by district and key industry, and equipment counts by current state."""
    return summarise_city(rt)


def summarise_city(rt: RuntimeDep) -> dict[str, Any]:
    """Enterprises by district and key industry; equipment by current state (unknown if silent)."""
    cat = rt.catalog
    by_district: Counter[str] = Counter()
    by_industry: Counter[str] = Counter()
    for e in cat.enterprises.values():
        by_district[e.district] += 1
        key = key_industry_of(e.industry_code)
        by_industry[key.key if key else "other"] += 1
    current = rt.store.current_states().to_pydict()
    by_state: Counter[str] = Counter(STATE_NAMES[s] for s in current["state"])
    by_state["unknown"] += len(cat.equipment) - len(current["state"])
    return {
        "enterprises": len(cat.enterprises),
        "equipment": len(cat.equipment),
        "signals": len(cat.signals),
        "by_district": dict(by_district),
        "by_industry": dict(by_industry),
        "equipment_by_state": dict(by_state),
    }
