"""The KPI pages: an enterprise's OEE per line and per shift with the loss waterfall, downtime
by reason and trends; and the city's roll-ups by industry and district, small groups withheld.

Everything comes through Access and the KPI service, so a page shows exactly what the API would
give the same viewer. Bars and charts are server-rendered SVG (no inline script or style: the
pages' CSP forbids both).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiln.access import Access
from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.domain.industries import KEY_INDUSTRIES
from kiln.errors import BadInput, Forbidden, NotFound
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService, Window
from kiln.kpi_service.rows import to_rows
from kiln.runtime import Runtime
from kiln.web.deps import RuntimeDep
from kiln.web.i18n import gettext as _
from kiln.web.i18n import pick
from kiln.web.kpi_charts import trend_chart, waterfall
from kiln.web.pages import forbidden, not_found
from kiln.web.rendering import render
from kiln.web.session import ViewerDep

router = APIRouter(include_in_schema=False)
DAY_MS = 86_400_000
WINDOWS = ("shift", "day", "week", "month")
TREND_DAYS = 30


def _window(text: str) -> Window:
    return Window(text) if text in WINDOWS else Window.DAY


def _start(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _context(rt: Runtime, who: Principal) -> tuple[Access, KpiService]:
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    return access, KpiService(rt.store, rt.settings.kpi)


def _period_of(rows: list[dict[str, Any]], fallback: tuple[int, int]) -> dict[str, Any]:
    if not rows:
        return {"label": "", "start_ms": fallback[0], "end_ms": fallback[1]}
    r = rows[0]
    return {"label": r["period"], "start_ms": r["window_start_ms"], "end_ms": r["window_end_ms"]}


def enterprise_kpi_page(
    access: Access, service: KpiService, slug: str, window: Window, start_ms: int | None
) -> dict[str, Any]:
    """OEE per line for the period, its waterfall per line, the period per shift (or per day
    for weeks and months), downtime by reason, and each line's daily OEE for 30 days."""
    ent = access.own_enterprise(slug)
    lines = to_rows(
        access.kpi_table(service, KpiRequest(Level.LINE, window, start_ms), enterprise=slug)
    )
    period = _period_of(lines, (access.now_ms, access.now_ms))
    finer = Window.SHIFT if window in (Window.SHIFT, Window.DAY) else Window.DAY
    begun = bool(lines) and period["end_ms"] > period["start_ms"]  # not at its first instant
    split = (
        to_rows(
            access.kpi_table(
                service,
                KpiRequest(Level.LINE, finer, period["start_ms"], period["end_ms"], energy=False),
                enterprise=slug,
            )
        )
        if begun
        else []
    )
    reasons: list[Any] = []
    if begun:
        reasons = access.kpi_pareto(
            service,
            KpiRequest(Level.LINE, Window.CUSTOM, period["start_ms"], period["end_ms"], False),
            enterprise=slug,
        )[1]
    trend_end = max(period["end_ms"], period["start_ms"] + 1)
    daily = to_rows(
        access.kpi_table(
            service,
            KpiRequest(Level.LINE, Window.DAY, trend_end - TREND_DAYS * DAY_MS, trend_end, False),
            enterprise=slug,
        )
    )
    total = sum(r.minutes for r in reasons)
    running = 0.0
    pareto = []
    for r in reasons:
        running += r.minutes
        pareto.append(
            {
                "state": r.state,
                "reason": r.reason,
                "element": r.element,
                "minutes": r.minutes,
                "events": r.events,
                "share": r.minutes / total if total else 0.0,
                "cumulative": running / total if total else 0.0,
            }
        )
    return {
        "enterprise": {"slug": ent.slug, "name": ent.name, "name_zh": ent.name_zh},
        "window": window.value,
        "windows": list(WINDOWS),
        "period": period,
        "prev_ms": period["start_ms"] - 1,
        "next_ms": period["end_ms"] if period["end_ms"] < access.now_ms else None,
        "lines": [{**r, "waterfall": waterfall(r)} for r in lines],
        "split": split,
        "split_kind": finer.value,
        "pareto": pareto,
        "pareto_most": max([p["minutes"] for p in pareto] or [1.0]),
        "trend": trend_chart(daily, "oee"),
    }


def city_kpi_page(
    access: Access, service: KpiService, window: Window, start_ms: int | None
) -> dict[str, Any]:
    """The city's OEE, and by industry and by district, for the period; groups of too few
    enterprises withheld (disclosure control)."""
    out: dict[str, Any] = {"window": window.value, "windows": [w for w in WINDOWS if w != "shift"]}
    for level in (Level.CITY, Level.INDUSTRY, Level.DISTRICT):
        req = KpiRequest(level, window, start_ms, energy=False)
        out[level.value] = to_rows(access.kpi_table(service, req))
    out["period"] = _period_of(out["city"], (access.now_ms, access.now_ms))
    out["prev_ms"] = out["period"]["start_ms"] - 1
    end = out["period"]["end_ms"]
    out["next_ms"] = end if end < access.now_ms else None
    out["min_enterprises"] = service.settings.min_enterprises
    out["names"] = group_names()
    return out


def group_names() -> dict[str, str]:
    """The roll-up rows' names in the page's language, by row key (the engine names them in
    English): the city, its districts and its key industries."""
    names = {d.code: pick(d) for d in FOSHAN_DISTRICTS}
    names.update({k.key: pick(k) for k in KEY_INDUSTRIES})
    return {**names, "city": _("The whole city"), "unassigned": _("Unassigned")}


@router.get("/kpi", response_class=HTMLResponse)
def kpi_home(request: Request, rt: RuntimeDep, who: ViewerDep) -> Response:
    """The viewer's KPI page: its enterprise's, or the city's for city roles."""
    if who.may(Permission.READ_OWN_DATA) and who.enterprise_id in rt.catalog.enterprises:
        slug = rt.catalog.enterprises[who.enterprise_id].slug
        return RedirectResponse(f"/enterprises/{slug}/kpi", status_code=303)
    if who.may(Permission.READ_CITY_AGGREGATES):
        return RedirectResponse("/city/kpi", status_code=303)
    return forbidden(request, who)


@router.get("/enterprises/{slug}/kpi", response_class=HTMLResponse)
def enterprise_kpi(
    request: Request,
    slug: str,
    rt: RuntimeDep,
    who: ViewerDep,
    window: str = "day",
    start: str | None = None,
) -> HTMLResponse:
    """An enterprise's KPIs: OEE per line and shift with its losses, downtime, trends."""
    access, service = _context(rt, who)
    try:
        page = enterprise_kpi_page(access, service, slug, _window(window), _start(start))
    except NotFound:
        return not_found(request, _("enterprise “%(slug)s”", slug=slug), who)
    except Forbidden:
        return forbidden(request, who)
    except BadInput as err:
        return _refused(request, who, err)
    return render(request, "kpi_enterprise.html", page, who)


@router.get("/city/kpi", response_class=HTMLResponse)
def city_kpi(
    request: Request,
    rt: RuntimeDep,
    who: ViewerDep,
    window: str = "day",
    start: str | None = None,
) -> HTMLResponse:
    """The city's KPIs by industry and district (city roles)."""
    if not who.may(Permission.READ_CITY_AGGREGATES):
        return forbidden(request, who)
    access, service = _context(rt, who)
    try:
        page = city_kpi_page(access, service, _window(window), _start(start))
    except BadInput as err:
        return _refused(request, who, err)
    return render(request, "kpi_city.html", page, who)


def _refused(request: Request, who: Principal, err: BadInput) -> HTMLResponse:
    context = {"kind": "bad_input", "what": err.what, "where": err.where}
    return render(request, "kpi_notice.html", context, who, status_code=422)
