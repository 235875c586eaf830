"""The drill-down pages between the city and an equipment: district, industry, site, line and
station.

District and industry pages are aggregates, open to every signed-in role: counts, equipment by
state (withheld for groups of fewer than `kpi.min_enterprises` enterprises, as the KPI roll-ups
are) and the enterprise table the city page shows the same viewer (the city roles see every
enterprise's registry entry, an enterprise its own). Site, line and station pages are one
enterprise's own data: its users only; the city roles are refused (403) and another
enterprise's ids answer 404, as the enterprise and equipment pages do.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kiln.access import Access
from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.assets import Enterprise
from kiln.domain.industries import KEY_INDUSTRIES
from kiln.errors import Forbidden, NotFound
from kiln.runtime import Runtime
from kiln.web.deps import RuntimeDep
from kiln.web.navigation import (
    DISTRICTS,
    asset_crumbs,
    current_page,
    district_crumbs,
    district_of,
    industry_crumbs,
    industry_group,
    registry,
)
from kiln.web.navigation_line import line_page, site_page, station_page
from kiln.web.navigation_table import enterprise_table, page_number
from kiln.web.pages import forbidden, not_found, state_bar
from kiln.web.rendering import render
from kiln.web.session import ViewerDep
from kiln.web.snapshots import count_states, current_states

router = APIRouter(include_in_schema=False)


def group_page(
    rt: Runtime,
    who: Principal,
    members: list[Enterprise],
    *,
    base: str,
    sort: str,
    order: str,
    page: int,
) -> dict[str, Any]:
    """Counts, equipment by state and the enterprise table of a group of enterprises."""
    cat = rt.catalog
    reg = registry(cat)
    ids = [q for e in members for q in reg.equipment_of.get(e.id, [])]
    visible = {e.id for e in Access(rt.store, who).enterprises()}
    listed = [e.id for e in members if e.id in visible]
    withheld = len(members) < rt.settings.kpi.min_enterprises
    by_state = None if withheld else count_states(current_states(rt.store, ids), ids)
    return {
        "totals": {
            "enterprises": len(members),
            "equipment": len(ids),
            "signals": sum(len(cat.signals_of.get(q, [])) for q in ids),
        },
        "by_state": by_state,
        "bar": state_bar(by_state) if by_state else [],
        "withheld": withheld,
        "min_enterprises": rt.settings.kpi.min_enterprises,
        "table": enterprise_table(reg, listed, who, sort=sort, order=order, page=page, base=base),
        "ts_ms": rt.clock.now_ms(),
        "city_kpi": who.may(Permission.READ_CITY_AGGREGATES),
    }


@router.get("/districts/{code}", response_class=HTMLResponse)
def district(
    request: Request,
    code: str,
    rt: RuntimeDep,
    who: ViewerDep,
    sort: str = "name",
    order: str = "asc",
    page: str | None = None,
) -> HTMLResponse:
    """A district: its enterprises by key industry, its equipment by state, its enterprises."""
    if code not in DISTRICTS:
        return not_found(request, f"district “{code}”", who)
    members = [e for e in rt.catalog.enterprises.values() if e.district == code]
    context = group_page(
        rt, who, members, base=f"/districts/{code}", sort=sort, order=order, page=page_number(page)
    )
    rows = registry(rt.catalog).rows
    counted: dict[str, int] = {}
    for e in members:
        key = rows[e.id]["industry"]["key"]
        counted[key] = counted.get(key, 0) + 1
    groups = [
        {
            "code": k.key,
            "name_en": k.name_en,
            "name_zh": k.name_zh,
            "enterprises": counted.get(k.key, 0),
        }
        for k in KEY_INDUSTRIES
    ]
    context.update(
        district=district_of(code),
        groups=groups,
        crumbs=current_page(district_crumbs(code)),
    )
    return render(request, "district.html", context, who)


@router.get("/industries/{code}", response_class=HTMLResponse)
def industry(
    request: Request,
    code: str,
    rt: RuntimeDep,
    who: ViewerDep,
    sort: str = "name",
    order: str = "asc",
    page: str | None = None,
) -> HTMLResponse:
    """An industry (a key industry, or a GB/T 4754 class, group or division): its
    enterprises by district, its equipment by state, its enterprises."""
    group = industry_group(code)
    if group is None:
        return not_found(request, f"industry “{code}”", who)
    members = [e for e in rt.catalog.enterprises.values() if group.holds(e.industry_code)]
    context = group_page(
        rt,
        who,
        members,
        base=f"/industries/{group.code}",
        sort=sort,
        order=order,
        page=page_number(page),
    )
    counted: dict[str, int] = {}
    for e in members:
        counted[e.district] = counted.get(e.district, 0) + 1
    context.update(
        industry={"code": group.code, "name_en": group.name_en, "name_zh": group.name_zh},
        groups=[{**district_of(d), "enterprises": counted.get(d, 0)} for d in DISTRICTS],
        crumbs=current_page(industry_crumbs(group)),
    )
    return render(request, "industry.html", context, who)


def _own(who: Principal, enterprise_id: int | None) -> bool:
    """Whether the viewer may open one enterprise's own pages; Forbidden for the city."""
    if not who.may(Permission.READ_OWN_DATA):
        raise Forbidden(f"a {who.role.value} may not read one enterprise's data", where="role")
    return enterprise_id is not None and who.owns(enterprise_id)


@router.get("/enterprises/{slug}/sites/{site}", response_class=HTMLResponse)
def site(request: Request, slug: str, site: str, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """One site of an enterprise: its lines, each with its stations' equipment by state."""
    cat = rt.catalog
    eid = cat.enterprise_by_slug.get(slug)
    try:
        if not _own(who, eid):
            raise NotFound(slug, where="path")
    except Forbidden:
        return forbidden(request, who)
    except NotFound:
        return not_found(request, f"enterprise “{slug}”", who)
    found = [s for s in cat.sites.values() if s.enterprise_id == eid and s.slug == site]
    if not found:
        return not_found(request, f"site “{site}”", who)
    context = site_page(rt, found[0].id)
    context["crumbs"] = current_page(asset_crumbs(cat, "site", found[0].id))
    return render(request, "site.html", context, who)


@router.get("/lines/{line_id}", response_class=HTMLResponse)
def line(request: Request, line_id: str, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """One line: every equipment in flow order coloured by its live state, the line's OEE by
    shift and its downtime by reason."""
    ln = rt.catalog.lines.get(int(line_id)) if line_id.isdigit() else None
    try:
        if not _own(who, ln.enterprise_id if ln else None) or ln is None:
            return not_found(request, f"line “{line_id}”", who)
    except Forbidden:
        return forbidden(request, who)
    context = line_page(rt, who, ln.id)
    context["crumbs"] = current_page(asset_crumbs(rt.catalog, "line", ln.id))
    return render(request, "line.html", context, who)


@router.get("/stations/{station_id}", response_class=HTMLResponse)
def station(request: Request, station_id: str, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """One station: its equipment by live state, its operators, and its place on the line."""
    st = rt.catalog.stations.get(int(station_id)) if station_id.isdigit() else None
    try:
        if not _own(who, st.enterprise_id if st else None) or st is None:
            return not_found(request, f"station “{station_id}”", who)
    except Forbidden:
        return forbidden(request, who)
    context = station_page(rt, st.id)
    context["crumbs"] = current_page(asset_crumbs(rt.catalog, "station", st.id))
    return render(request, "station.html", context, who)
