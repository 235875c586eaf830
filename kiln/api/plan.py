"""The city's action-plan tracker: plans and indicators, published figures, statistical
filings (JSON, CSV or Excel), the dashboard, tables by district and industry, scenarios.

Who may do what: any signed-in user reads the plans; the city admin changes them; city roles
see the dashboard, tables and scenarios (cells withheld by disclosure control); an enterprise
admin files for its own enterprise and sees its own filings and percentiles; the city admin
may file for any enterprise (paper forms entered by the bureau) and read the filings.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kiln.access import Access
from kiln.api.deps import AccessDep, RuntimeDep
from kiln.api.errors import ERROR_RESPONSES
from kiln.auth.roles import Permission
from kiln.errors import BadInput, NotFound
from kiln.plan.documents import config_doc, plan_doc
from kiln.plan.filings import Period
from kiln.plan_access import measured as measured_now
from kiln.plan_access import store_filings
from kiln.plan_service import submit
from kiln.plan_service.views import dashboard_json, filing_json, plain, table_json
from kiln.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["plan"], responses=ERROR_RESPONSES)
MAX_UPLOAD = 20 * 1024 * 1024
Year = Annotated[int, Query(ge=2000, le=2100, description="calendar year")]
AsOf = Annotated[int | None, Query(ge=2000, le=2100, description="the plan as known then")]


class FilingsIn(BaseModel):
    """Filings to store, checked together and stored all or none."""

    filings: list[dict[str, Any]] = Field(
        description='[{"enterprise": slug, "period": "2019-03" or "2019", "figures": {...}, '
        '"unit": "万元", "reason": "for a correction"}]',
        max_length=submit.MAX_ROWS,
    )
    confirm: bool = Field(False, description="store values flagged as implausible or jumps")


class PublishedIn(BaseModel):
    """Published figures as CSV-shaped rows (indicator, scope, year, measure, value, unit...)."""

    figures: list[dict[str, str]] = Field(max_length=10_000)


def _filings_scope(access: Access, enterprise: str | None) -> int | None:
    """Whose filings the caller may read: its own, or (city admin) any or all."""
    if access.who.role.is_city:
        access.require(Permission.MANAGE_PLANS)
        if enterprise is None:
            return None
        eid = access.catalog.enterprise_by_slug.get(enterprise)
        if eid is None:
            raise NotFound(f"no enterprise {enterprise!r}", where="enterprise")
        return eid
    own = access.own_enterprise(enterprise or _own_slug(access))
    return own.id


def _own_slug(access: Access) -> str:
    ent = access.catalog.enterprises.get(access.who.enterprise_id or -1)
    if ent is None:
        raise NotFound("the caller has no enterprise", where="enterprise")
    return ent.slug


def _slugs(access: Access) -> dict[int, str]:
    return {e.id: e.slug for e in access.catalog.enterprises.values()}


# -- plans and indicators ------------------------------------------------------------------


@router.get("/plans", summary="The city's plans with their targets")
def plans(rt: RuntimeDep, access: AccessDep) -> list[dict[str, Any]]:
    """Every plan (public documents: any signed-in user)."""
    return [{"key": p.key, **plan_doc(p)} for p in rt.plan.plans()]


@router.get("/plans/{key}", summary="One plan")
def plan(key: str, rt: RuntimeDep, access: AccessDep) -> dict[str, Any]:
    """One plan with its targets."""
    p = rt.plan.plan(key)
    return {"key": p.key, **plan_doc(p)}


@router.put("/plans/{key}", summary="Create or replace a plan (city admin)")
def put_plan(key: str, doc: dict[str, Any], rt: RuntimeDep, access: AccessDep) -> dict[str, Any]:
    """A plan document: name_en, name_zh, start_year, end_year, issuer, issued, targets."""
    access.require(Permission.MANAGE_PLANS)
    p = rt.plan.put_plan(key, doc)
    rt.security.record(access.who, "plan_saved", detail=key)
    return {"key": p.key, **plan_doc(p)}


@router.delete("/plans/{key}", status_code=204, summary="Delete a plan (city admin)")
def delete_plan(key: str, rt: RuntimeDep, access: AccessDep) -> None:
    """Delete a plan (filings and published figures stay)."""
    access.require(Permission.MANAGE_PLANS)
    rt.plan.delete_plan(key)
    rt.security.record(access.who, "plan_deleted", detail=key)


@router.get("/plan-indicators", summary="Indicator definitions and industry sets")
def indicators(rt: RuntimeDep, access: AccessDep) -> dict[str, Any]:
    """What each indicator sums, over which GB/T 4754 codes."""
    return config_doc(rt.plan.config())


@router.put("/plan-indicators", summary="Replace indicator definitions (city admin)")
def put_indicators(doc: dict[str, Any], rt: RuntimeDep, access: AccessDep) -> dict[str, Any]:
    """The whole configuration: {"industry_sets": {...}, "indicators": {...}}."""
    access.require(Permission.MANAGE_PLANS)
    config = rt.plan.put_config(doc)
    rt.security.record(access.who, "indicators_saved")
    return config_doc(config)


@router.get("/published-figures", summary="Figures the city published, with sources")
def published(rt: RuntimeDep, access: AccessDep) -> list[dict[str, Any]]:
    """Every published figure."""
    rt.plan.config()
    return [plain(f) for f in rt.plan.plans_store.published()]


@router.post("/published-figures", summary="Add or replace published figures (city admin)")
def put_published(body: PublishedIn, rt: RuntimeDep, access: AccessDep) -> dict[str, int]:
    """Rows like the seed's published.csv."""
    access.require(Permission.MANAGE_PLANS)
    stored = rt.plan.put_published(body.figures)
    rt.security.record(access.who, "published_saved", detail=f"{len(stored)} figures")
    return {"stored": len(stored)}


# -- the city's views ----------------------------------------------------------------------


@router.get("/plans/{key}/dashboard", summary="Targets, progress and tables (city roles)")
def dashboard(key: str, rt: RuntimeDep, access: AccessDep, as_of: AsOf = None) -> dict[str, Any]:
    """Progress of every target, and headline indicators by district and industry."""
    access.require(Permission.READ_CITY_AGGREGATES)
    d = rt.plan.dashboard(key, access.catalog, rt.clock.now_ms(), as_of_year=as_of)
    return dashboard_json(d)


@router.get("/plan-tables/{indicator}", summary="One indicator by district and industry")
def table(indicator: str, year: Year, rt: RuntimeDep, access: AccessDep) -> dict[str, Any]:
    """Cells withheld where fewer than 3 enterprises or one above 85 % would show."""
    access.require(Permission.READ_CITY_AGGREGATES)
    return table_json(rt.plan.table(indicator, year, access.catalog, rt.clock.now_ms()))


@router.get("/plans/{key}/scenario", summary="Projected outcome with changed growth")
def scenario(
    key: str,
    target: str,
    rt: RuntimeDep,
    access: AccessDep,
    by: Annotated[str, Query(pattern="^(industry|district)$")] = "industry",
    grow: Annotated[
        list[str] | None, Query(description="component:percent a year, e.g. robots:20")
    ] = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """Each component projected on its own growth, one or more of them overridden."""
    access.require(Permission.READ_CITY_AGGREGATES)
    overrides: dict[str, float] = {}
    for item in grow or []:
        name, _, pct = item.partition(":")
        try:
            overrides[name] = float(pct)
        except ValueError:
            raise BadInput(f"{item!r}: write component:percent", where="query: grow") from None
    result = rt.plan.scenario(
        key, target, access.catalog, rt.clock.now_ms(), by=by, overrides=overrides, as_of_year=as_of
    )
    data: dict[str, Any] = plain(result)
    return data


# -- filings -------------------------------------------------------------------------------


@router.post("/filings", status_code=201, summary="File statistics (JSON)")
def file_json(body: FilingsIn, rt: RuntimeDep, access: AccessDep) -> dict[str, Any]:
    """Store filings; 422 names the first bad value, or lists the flags to confirm."""
    filings = store_filings(rt, access, submit.from_items(body.filings), "api", body.confirm)
    slugs = _slugs(access)
    return {
        "stored": len(filings),
        "filings": [filing_json(f, slugs.get(f.enterprise_id, "")) for f in filings],
    }


@router.post("/filings/upload", status_code=201, summary="File statistics (CSV or Excel)")
async def file_upload(
    request: Request,
    rt: RuntimeDep,
    access: AccessDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or .xlsx")],
    confirm: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    """One row per enterprise and period; headings in English or Chinese."""
    data = await file.read(MAX_UPLOAD + 1)
    name = file.filename or "upload"
    if len(data) > MAX_UPLOAD:
        raise BadInput(f"larger than {MAX_UPLOAD // 2**20} MiB", where=name)
    is_xlsx = name.lower().endswith(".xlsx") or data[:2] == b"PK"
    subs = submit.read_xlsx(data, name=name) if is_xlsx else submit.read_csv(data, name=name)
    channel = "xlsx" if is_xlsx else "csv"
    filings = await run_in_threadpool(store_filings, rt, access, subs, channel, confirm)
    return {"stored": len(filings), "corrections": sum(1 for f in filings if f.version > 1)}


@router.get("/filings", summary="Current filings (own; any for the city admin)")
def filings(
    rt: RuntimeDep,
    access: AccessDep,
    enterprise: Annotated[str | None, Query(max_length=64)] = None,
    first_year: Annotated[int, Query(ge=2000, le=2100)] = 2000,
    last_year: Annotated[int, Query(ge=2000, le=2100)] = 2100,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """Newest period first."""
    eid = _filings_scope(access, enterprise)
    slugs = _slugs(access)
    found = rt.plan.plans_store.filings(eid, first_year, last_year, limit=limit)
    return [filing_json(f, slugs.get(f.enterprise_id, "")) for f in found]


@router.get("/filings/{enterprise}/{period}/history", summary="Every version of a filing")
def history(
    enterprise: str, period: str, rt: RuntimeDep, access: AccessDep
) -> list[dict[str, Any]]:
    """Oldest first: who filed or corrected it, when and why."""
    eid = _filings_scope(access, enterprise)
    assert eid is not None
    found = rt.plan.plans_store.filing_history(eid, Period.parse(period, where="path: period"))
    if not found:
        raise NotFound(f"no filing for {period}", where="path: period")
    return [filing_json(f, enterprise) for f in found]


@router.get("/filings/{enterprise}/percentiles", summary="Own figures and industry percentile")
def percentiles(enterprise: str, year: Year, rt: RuntimeDep, access: AccessDep) -> dict[str, Any]:
    """The enterprise's value of each indicator and where it stands in its industry (0-100),
    shown only when the industry has at least 3 enterprises that filed."""
    access.require(Permission.READ_OWN_DATA)
    ent = access.own_enterprise(enterprise)
    values = rt.plan.percentiles(ent.id, year, access.catalog)
    return {
        "enterprise": ent.slug,
        "year": year,
        "indicators": {k: {"value": v, "percentile": p} for k, (v, p) in values.items()},
    }


@router.get("/plan-measured", summary="Indicators measured from telemetry (city roles)")
def measured(rt: RuntimeDep, access: AccessDep) -> dict[str, Any]:
    """Enterprises connected, equipment and robots online, robots running, by district and
    industry group, and this month's OEE by industry and district from the KPI roll-ups; each
    is marked measured, small groups withheld."""
    access.require(Permission.READ_CITY_AGGREGATES)
    return measured_json(rt, access)


def measured_json(rt: Runtime, access: Access) -> dict[str, Any]:
    """The measured indicators as JSON."""
    m, oee = measured_now(rt, access)
    data: dict[str, Any] = plain(m)
    for part, rows in (
        ("city", [m.city]),
        ("by_district", m.by_district),
        ("by_industry", m.by_industry),
    ):
        out = data[part] if part != "city" else [data[part]]
        for d, r in zip(out, rows, strict=True):
            d["robot_utilisation"] = r.robot_utilisation
    data["source"] = "measured"
    data["oee_this_month"] = {
        level: [
            {"key": r["key"], "name": r["name"], "oee": r.get("oee"),
             "enterprises": r.get("enterprises"), "suppressed": r.get("suppressed", False)}
            for r in rows
        ]
        for level, rows in oee.items()
    }  # fmt: skip
    return data
