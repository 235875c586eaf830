"""KPIs (ISO 22400-2): tables per level and period, downtime by reason, trends, product runs.

Every read goes through Access: an enterprise sees its own levels, the city its roll-ups with
small groups suppressed, and one enterprise's OEE only with its consent (audited).
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from kiln.access import Access
from kiln.api.deps import MAX_MS, AccessDep, RuntimeDep, client_address
from kiln.api.errors import ERROR_RESPONSES
from kiln.errors import BadInput
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService, Window
from kiln.kpi_service.rows import kpi_names, to_rows

router = APIRouter(prefix="/api/v1", tags=["kpi"], responses=ERROR_RESPONSES)
DAY_MS = 86_400_000
TREND_SPAN_MS = {  # the range a trend covers when no start is given
    Window.SHIFT: 7 * DAY_MS,
    Window.DAY: 30 * DAY_MS,
    Window.WEEK: 182 * DAY_MS,
    Window.MONTH: 365 * DAY_MS,
}
TREND_KPIS = ["oee", "availability", "effectiveness", "quality_ratio"]
CSV = {"description": "the KPI table", "content": {"text/csv": {}, "application/json": {}}}


def get_kpi_service(rt: RuntimeDep) -> KpiService:
    """The KPI service over the runtime's store, with the `[kpi]` settings."""
    return KpiService(rt.store, rt.settings.kpi)


KpiDep = Annotated[KpiService, Depends(get_kpi_service)]
Start = Annotated[
    int | None,
    Query(ge=0, le=MAX_MS, description="UTC epoch ms inside the first period (default: now)"),
]
End = Annotated[
    int | None,
    Query(ge=1, le=MAX_MS, description="UTC epoch ms: every period up to here (custom: the end)"),
]
Slug = Annotated[str | None, Query(max_length=64, description="enterprise slug (default: own)")]
LineQ = Annotated[str | None, Query(max_length=64, description="one line, by id or slug")]


def _json(data: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(data), media_type="application/json", status_code=status_code)


def _csv(table: pa.Table) -> Response:
    out = io.BytesIO()
    if table.num_columns:  # no period has begun: an empty answer
        pacsv.write_csv(table, out)
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")


@router.get("/kpi", summary="KPIs per level and period", responses={200: CSV})
def kpi(
    request: Request,
    access: AccessDep,
    service: KpiDep,
    level: Level = Level.LINE,
    window: Window = Window.DAY,
    start: Start = None,
    end: End = None,
    enterprise: Slug = None,
    line: LineQ = None,
    energy: bool = True,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """One row per level row and period: the time elements in minutes (unknown time apart),
    the quantities, every KPI (null with its reason when undefined) and the six big losses.

    window: shift (the site's calendar), day, week, month (local time) or custom (start and
    end). Without end, the period holding start (default: now, so far); with end, every period
    from that one up to end (shifts: those starting in [start, end))."""
    req = KpiRequest(level, window, start, end, energy)
    table = access.kpi_table(
        service, req, enterprise=enterprise, line=line, address=client_address(request)
    )
    if format == "csv":
        return _csv(table)
    return _json(
        {
            "level": level.value,
            "window": window.value,
            "kpis": kpi_names(table) if table.num_columns else [],
            "rows": to_rows(table),
        }
    )


@router.get("/kpi/trend", summary="KPIs per period over a range, as series per row")
def trend(
    request: Request,
    access: AccessDep,
    service: KpiDep,
    level: Level = Level.LINE,
    bucket: Literal["shift", "day", "week", "month"] = "day",
    start: Annotated[int | None, Query(ge=0, le=MAX_MS)] = None,
    end: Annotated[int | None, Query(ge=1, le=MAX_MS)] = None,
    kpi: Annotated[list[str] | None, Query(max_length=20)] = None,
    enterprise: Slug = None,
    line: LineQ = None,
) -> Response:
    """Each row's KPIs (default OEE and its factors) per shift, day, week or month from start
    (default: a month of days, a week of shifts, half a year of weeks, a year of months) to
    end (default: now)."""
    window = Window(bucket)
    stop = end if end is not None else access.now_ms
    first = start if start is not None else stop - TREND_SPAN_MS[window]
    req = KpiRequest(level, window, first, stop, energy=False)
    table = access.kpi_table(
        service, req, enterprise=enterprise, line=line, address=client_address(request)
    )
    names = kpi or TREND_KPIS
    known = kpi_names(table) if table.num_columns else names
    for name in names:
        if name not in known:
            raise BadInput(f"unknown KPI {name!r}; known: {', '.join(known)}", where="query: kpi")
    return _json({"level": level.value, "bucket": bucket, "kpis": names, **series(table, names)})


def series(table: pa.Table, names: list[str]) -> dict[str, Any]:
    """The periods, and per row key its points: period bounds, the KPIs, their reasons."""
    periods: dict[tuple[int, int], dict[str, Any]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for r in to_rows(table):
        bounds = (r["window_start_ms"], r["window_end_ms"])
        periods.setdefault(
            bounds, {"period": r["period"], "start_ms": bounds[0], "end_ms": bounds[1]}
        )
        row = rows.setdefault(r["key"], {"key": r["key"], "name": r["name"], "points": []})
        point = {"period": r["period"], "start_ms": bounds[0], "end_ms": bounds[1]}
        point.update({n: r.get(n) for n in names})
        point["reasons"] = {n: why for n, why in r["reasons"].items() if n in names}
        if r.get("suppressed"):
            point["suppressed"] = True
        row["points"].append(point)
    return {"periods": list(periods.values()), "series": list(rows.values())}


@router.get("/kpi/pareto", summary="Downtime by reason (Pareto)")
def pareto(
    access: AccessDep,
    service: KpiDep,
    window: Window = Window.DAY,
    start: Start = None,
    end: End = None,
    enterprise: Slug = None,
    line: LineQ = None,
) -> Response:
    """Planned busy time lost per state and reason, largest first, with each one's share and
    the running total; stops below the micro-stop threshold are summed as minor stops."""
    req = KpiRequest(Level.LINE, window, start, end, energy=False)
    period, rows = access.kpi_pareto(service, req, enterprise=enterprise, line=line)
    total = sum(r.minutes for r in rows)
    running = 0.0
    out = []
    for r in rows:
        running += r.minutes
        out.append(
            {
                "state": r.state,
                "reason": r.reason,
                "element": r.element,
                "minutes": r.minutes,
                "events": r.events,
                "share": r.minutes / total if total else None,
                "cumulative_share": running / total if total else None,
            }
        )
    return _json(
        {
            "period": {"label": period.label, "start_ms": period.start_ms, "end_ms": period.end_ms},
            "total_minutes": total,
            "rows": out,
        }
    )


class ProductChangeBody(BaseModel):
    """A product change on a line (every equipment on it) or on one equipment."""

    enterprise: str | None = Field(None, max_length=64, description="default: the caller's")
    line: str | None = Field(None, max_length=64, description="line id or slug")
    equipment: str | None = Field(None, max_length=64, description="equipment id or slug")
    product: str = Field(..., max_length=200, description="product (part number, recipe)")
    start_ms: int = Field(..., ge=0, le=MAX_MS, description="UTC epoch ms the product starts")
    ideal_cycle_s: float | dict[str, float] | None = Field(
        None,
        description="ideal cycle (PRI) in seconds for every equipment, or per equipment slug; "
        "none: the product's last known cycle there",
    )


def _change_rows(access: Access, table: pa.Table) -> list[dict[str, Any]]:
    cat = access.catalog
    rows: list[dict[str, Any]] = table.to_pylist()
    for r in rows:
        q = cat.equipment.get(r["equipment"])
        r["equipment_slug"] = q.slug if q else None
    return rows


@router.get("/kpi/product-runs", summary="Product runs of own lines and equipment")
def product_runs(
    access: AccessDep, enterprise: Slug = None, end: End = None
) -> list[dict[str, Any]]:
    """Every recorded product change up to end (default: all), by equipment and start."""
    table = access.product_changes(enterprise, end if end is not None else MAX_MS)
    return _change_rows(access, table)


@router.post(
    "/kpi/product-runs", summary="Record a product change", status_code=201, response_model=None
)
def record_product_run(
    request: Request, access: AccessDep, body: ProductChangeBody
) -> list[dict[str, Any]]:
    """From start_ms on, the line (or equipment) makes the product, at the ideal cycle given
    (which then feeds effectiveness and OEE); a change at the same time replaces one."""
    changes = access.record_product_change(
        body.enterprise,
        product=body.product,
        start_ms=body.start_ms,
        line=body.line,
        equipment=body.equipment,
        ideal_cycle_s=body.ideal_cycle_s,
        address=client_address(request),
    )
    cat = access.catalog
    return [
        {
            "equipment": c.equipment,
            "equipment_slug": cat.equipment[c.equipment].slug,
            "start_ms": c.start_ms,
            "product": c.product,
            "ideal_cycle_s": c.ideal_cycle_s,
            "line_id": c.line_id,
        }
        for c in changes
    ]
