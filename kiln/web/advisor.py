"""The advisor's pages: an enterprise's candidates, one line's analysis with its candidates,
solutions and installations, and the city's roll-up under the disclosure rules.

Assumptions are changed with a GET form whose fields are named after them, so a what-if is a
link that can be shared. Recording an installation is a form with the session's CSRF token,
through the same scoped action as the API (kiln.advisor_access).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiln import advisor_access as aa
from kiln.access import Access
from kiln.advisor.assumptions import Assumptions
from kiln.advisor.economics import Candidate
from kiln.advisor_service.service import DEFAULT_DAYS, MAX_DAYS, LineAdvice
from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.domain.industries import KEY_INDUSTRIES
from kiln.errors import BadInput, Forbidden, KilnError, NotFound
from kiln.runtime import Runtime
from kiln.web.deps import RuntimeDep
from kiln.web.i18n import N_, current_language
from kiln.web.navigation import asset_crumbs, city_crumbs, crumb, current_page, enterprise_crumbs
from kiln.web.pages import forbidden, not_found
from kiln.web.plan_filings import _csrf_ok
from kiln.web.rendering import CITY_TZ, render
from kiln.web.session import ViewerDep

router = APIRouter(include_in_schema=False)
ADVISOR = N_("Robot-upgrade advisor")
NAMES = {r.name for r in Assumptions().describe()}
DISTRICT_NAMES = {d.code: d for d in FOSHAN_DISTRICTS}
# The city roll-up groups by GB/T 4754 division; the divisions of the city's key industries
# and of its robot makers.
DIVISIONS = {
    "30": {"name_en": "Non-metallic mineral products (ceramics)", "name_zh": "非金属矿物制品业"},
    "34": {"name_en": "General equipment (robots)", "name_zh": "通用设备制造业"},
    "36": {"name_en": "Automobile manufacturing", "name_zh": "汽车制造业"},
    "38": {"name_en": "Electrical machinery and appliances", "name_zh": "电气机械和器材制造业"},
    "39": {"name_en": "Computers, communication and electronics",
           "name_zh": "计算机、通信和其他电子设备制造业"},
}  # fmt: skip


def _overrides(request: Request) -> dict[str, Any]:
    """The assumptions a what-if form changed: query fields named after an assumption."""
    out: dict[str, Any] = {}
    for key, value in request.query_params.items():
        if key in NAMES and value.strip() != "":
            try:
                out[key] = float(value)
            except ValueError:
                raise BadInput(f"{key}: {value!r} is not a number", where=f"query: {key}") from None
    return out


def _access(rt: Runtime, who: Principal) -> Access:
    return Access(rt.store, who, now_ms=rt.clock.now_ms())


def _lang() -> str:
    return "zh" if current_language() == "zh" else "en"


def _bars(la: LineAdvice) -> dict[str, Any]:
    """Each station's cycle against the takt as bar widths in percent of the longest."""
    an = la.analysis
    top = max([s.cycle_s or 0.0 for s in an.stations] + [an.takt_s or 0.0]) or 1.0
    return {
        "takt_pct": 100.0 * (an.takt_s or 0.0) / top,
        "rows": [
            {"station": s, "pct": 100.0 * (s.cycle_s or 0.0) / top, "neck": s is an.bottleneck}
            for s in an.stations
        ],
    }


def _candidate(p: Any, lang: str) -> dict[str, Any]:
    c: Candidate = p.candidate
    return {"c": c, "text": aa.explained(c, lang), "matches": p.matches}


def _line_view(la: LineAdvice, lang: str) -> dict[str, Any]:
    return {
        "advice": la,
        "measure": la.line.measure,
        "analysis": la.analysis,
        "neck": la.analysis.bottleneck,
        "bars": _bars(la),
        "shifts": len(la.line.measure.stations[0].samples),
        "candidates": [_candidate(p, lang) for p in la.proposals],
    }


DEFAULTS = {r.name: r.value for r in Assumptions().describe()}


def _what_if(
    a: Assumptions, changed: dict[str, Any], kept: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every assumption as it stands, marked where this request changed it or the enterprise
    keeps its own value, and whether it differs from Kiln's default."""
    return [
        {"name": r.name, "value": r.value, "unit": r.unit, "source": r.source,
         "changed": r.name in changed, "kept": r.name in (kept or {}),
         "own": r.value != DEFAULTS.get(r.name)}
        for r in a.describe()
    ]  # fmt: skip


def _keeping(rt: Runtime, who: Principal, ent_id: int) -> dict[str, Any]:
    """What the assumptions form needs to offer keeping them (an enterprise admin only)."""
    slug = rt.catalog.enterprises[ent_id].slug
    may = who.may(Permission.MANAGE_OWN_ASSETS)
    return {"keep_url": f"/advisor/enterprises/{slug}/assumptions" if may else None}


def _zh_name(industry: str) -> str:
    """The Chinese name of a demand/supply row: a key industry's, or its division's."""
    for k in KEY_INDUSTRIES:
        if k.key == industry:
            return k.name_zh
    return DIVISIONS.get(industry, {}).get("name_zh", "")


@router.get("/advisor", response_class=HTMLResponse, response_model=None)
def home(request: Request, rt: RuntimeDep, who: ViewerDep) -> Response:
    """City roles go to the city roll-up, an enterprise's users to their enterprise."""
    if who.role.is_city:
        return RedirectResponse("/advisor/city", status_code=303)
    ent = rt.catalog.enterprises.get(who.enterprise_id or -1)
    if ent is None:
        return forbidden(request, who)
    return RedirectResponse(f"/advisor/enterprises/{ent.slug}", status_code=303)


@router.get("/advisor/enterprises/{slug}", response_class=HTMLResponse)
def enterprise_page(
    request: Request,
    rt: RuntimeDep,
    who: ViewerDep,
    slug: str,
    days: int = Query(DEFAULT_DAYS, ge=1, le=MAX_DAYS),
) -> HTMLResponse:
    """Every measured line of the enterprise, its bottleneck and its candidates."""
    access = _access(rt, who)
    try:
        changed = _overrides(request)
        ent, found, a = aa.enterprise_advice(rt, access, slug, days=days, overrides=changed)
    except Forbidden:
        return forbidden(request, who)
    except NotFound as err:
        return not_found(request, err.what, who)
    except BadInput as err:
        return render(request, "notice.html", {"kind": "bad_input", "what": str(err)}, who,
                      status_code=422)  # fmt: skip
    lang = _lang()
    lines = [_line_view(la, lang) for la in found]
    best = sorted(
        (c for v in lines for c in v["candidates"]),
        key=lambda x: (x["c"].money.payback_years is None, x["c"].money.payback_years or 0.0),
    )
    measured = {la.line.measure.line_id for la in found}
    return render(
        request,
        "advisor_enterprise.html",
        {
            "enterprise": ent,
            "crumbs": current_page([*enterprise_crumbs(ent), crumb(ADVISOR, "", translate=True)]),
            "lines": lines,
            "best": best[:5],
            "unmeasured_lines": [
                ln for ln in rt.catalog.lines.values()
                if ln.enterprise_id == ent.id and ln.id not in measured
            ],
            "days": days,
            "assumptions": _what_if(a, changed, rt.store.assumptions.get(ent.id)),
            "changed": changed,
            **_keeping(rt, who, ent.id),
            "window": (found[0].start_ms, found[0].end_ms) if found else None,
        },
        who,
    )  # fmt: skip


@router.get("/advisor/lines/{line_id}", response_class=HTMLResponse)
def line_page(
    request: Request,
    rt: RuntimeDep,
    who: ViewerDep,
    line_id: int,
    days: int = Query(DEFAULT_DAYS, ge=1, le=MAX_DAYS),
) -> HTMLResponse:
    """One line: stations against takt, losses, bottleneck, candidates and installations."""
    return _line(request, rt, who, line_id, days)


def _line(
    request: Request,
    rt: RuntimeDep,
    who: Principal,
    line_id: int,
    days: int,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    access = _access(rt, who)
    try:
        changed = _overrides(request)
        la, a = aa.line_advice(rt, access, line_id, days=days, overrides=changed)
        followed = aa.installations(rt, access, line_id)
    except Forbidden:
        return forbidden(request, who)
    except NotFound as err:
        return not_found(request, err.what, who)
    except BadInput as err:
        return render(request, "notice.html", {"kind": "bad_input", "what": str(err)}, who,
                      status_code=422)  # fmt: skip
    line = rt.catalog.lines[line_id]
    ent = rt.catalog.enterprises[line.enterprise_id]
    stations = {s.id: s for s in rt.catalog.stations.values() if s.line_id == line_id}
    return render(
        request,
        "advisor_line.html",
        {
            "line": line,
            "enterprise": ent,
            "crumbs": current_page(
                [*asset_crumbs(rt.catalog, "line", line_id), crumb(ADVISOR, "", translate=True)]
            ),
            "view": _line_view(la, _lang()) if la is not None else None,
            "days": days,
            "assumptions": _what_if(a, changed, rt.store.assumptions.get(ent.id)),
            "changed": changed,
            **_keeping(rt, who, ent.id),
            "installations": followed,
            "stations": stations,
            "may_record": who.may(Permission.MANAGE_OWN_ASSETS),
            "error": error,
        },
        who,
        status_code=status_code,
    )


@router.post("/advisor/lines/{line_id}/installations", response_class=HTMLResponse,
             response_model=None)  # fmt: skip
async def record(request: Request, rt: RuntimeDep, who: ViewerDep, line_id: int) -> Response:
    """Record an installed robot from the line page's form."""
    data = await request.form()
    if not who.may(Permission.MANAGE_OWN_ASSETS) or not _csrf_ok(who, data):
        return forbidden(request, who)
    try:
        day = datetime.strptime(str(data.get("installed_on", "")), "%Y-%m-%d")  # noqa: DTZ007
    except ValueError:
        return _line(request, rt, who, line_id, DEFAULT_DAYS, status_code=422,
                     error="installed_on: give the day as yyyy-mm-dd")  # fmt: skip
    installed_ms = int(day.replace(tzinfo=CITY_TZ).timestamp() * 1000)
    solution = str(data.get("solution_id", "")).strip()
    station = str(data.get("station_id", "")).strip()
    if not station.isdigit():
        return _line(request, rt, who, line_id, DEFAULT_DAYS, status_code=422,
                     error="station_id: choose a station of the list")  # fmt: skip
    if solution and not solution.isdigit():
        return _line(request, rt, who, line_id, DEFAULT_DAYS, status_code=422,
                     error="solution_id: a solution number, or nothing")  # fmt: skip
    doc = {
        "station_id": int(station),
        "installed_ms": installed_ms,
        "solution_id": int(solution) if solution.isdigit() else None,
        "description": str(data.get("description", "")),
    }
    try:
        aa.record_installation(rt, _access(rt, who), line_id, doc)
    except Forbidden:
        return forbidden(request, who)
    except KilnError as err:
        return _line(request, rt, who, line_id, DEFAULT_DAYS, error=str(err), status_code=422)
    return RedirectResponse(f"/advisor/lines/{line_id}#installations", status_code=303)


@router.post("/advisor/enterprises/{slug}/assumptions", response_class=HTMLResponse,
             response_model=None)  # fmt: skip
async def keep(request: Request, rt: RuntimeDep, who: ViewerDep, slug: str) -> Response:
    """Keep the assumptions shown (those that differ from Kiln's defaults) as the enterprise's
    own; back to the page it came from."""
    data = await request.form()
    if not who.may(Permission.MANAGE_OWN_ASSETS) or not _csrf_ok(who, data):
        return forbidden(request, who)
    changes: dict[str, Any] = {}
    try:
        for key, value in data.items():
            if key in NAMES and isinstance(value, str) and value.strip() != "":
                number = float(value)
                if number != DEFAULTS.get(key):
                    changes[key] = number
        aa.keep_assumptions(rt, _access(rt, who), slug, changes)
    except Forbidden:
        return forbidden(request, who)
    except NotFound as err:
        return not_found(request, err.what, who)
    except (ValueError, BadInput) as err:
        return render(request, "notice.html", {"kind": "bad_input", "what": str(err)}, who,
                      status_code=422)  # fmt: skip
    back = str(data.get("back", ""))
    target = back if back.startswith("/advisor/") else f"/advisor/enterprises/{slug}"
    return RedirectResponse(target, status_code=303)


@router.get("/advisor/city", response_class=HTMLResponse)
def city_page(
    request: Request,
    rt: RuntimeDep,
    who: ViewerDep,
    within_years: float = Query(3.0, gt=0, le=30),
    days: int = Query(DEFAULT_DAYS, ge=1, le=MAX_DAYS),
) -> HTMLResponse:
    """Robot cells that would pay back within N years, by industry and district, as the city
    may publish them; and the catalogue's supply against the candidates by industry."""
    access = _access(rt, who)
    try:
        changed = _overrides(request)
        advice = aa.city_advice(rt, access, within_years=within_years, days=days, overrides=changed)
    except Forbidden:
        return forbidden(request, who)
    except BadInput as err:
        return render(request, "notice.html", {"kind": "bad_input", "what": str(err)}, who,
                      status_code=422)  # fmt: skip
    doc = aa.city_doc(advice)
    by_cell = {(c["industry"], c["district"]): c for c in doc["cells"]}
    t = advice.table
    return render(
        request,
        "advisor_city.html",
        {
            "advice": advice,
            "totals": {"candidates": doc["candidates"], "enterprises": doc["enterprises"]},
            "crumbs": current_page([*city_crumbs(), crumb(ADVISOR, "", translate=True)]),
            "industries": list(t.industries) if t else [],
            "divisions": DIVISIONS,
            "districts": [DISTRICT_NAMES[d] for d in (t.districts if t else [])],
            "cells": by_cell,
            "within_years": within_years,
            "days": days,
            "supply": [{**r, "name_zh": _zh_name(r["industry"])} for r in doc["supply"]],
            "changed": changed,
        },
        who,
    )
