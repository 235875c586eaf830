"""The HTML pages: city overview, enterprise drill-down, equipment with live charts, not found.

Handlers are plain functions, so FastAPI runs them (and their store reads) in its thread pool.
What each page shows is built here from the runtime; the wording lives in the templates.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kiln.access import Access
from kiln.auth.principal import Principal
from kiln.domain.assets import FOSHAN_DISTRICTS, Enterprise
from kiln.domain.catalog import AssetCatalog
from kiln.domain.industries import KEY_INDUSTRIES
from kiln.domain.states import STATE_NAMES
from kiln.domain.templates import TEMPLATES
from kiln.errors import Forbidden, NotFound
from kiln.runtime import Runtime
from kiln.web.advisor_summary import advice_summary
from kiln.web.deps import RuntimeDep
from kiln.web.i18n import gettext as _
from kiln.web.navigation import asset_crumbs, current_page, district_of, industry_of, registry
from kiln.web.navigation_equipment import equipment_extras
from kiln.web.navigation_table import enterprise_table, page_number
from kiln.web.rendering import render
from kiln.web.session import ViewerDep
from kiln.web.snapshots import city_states, enterprise_states, equipment_live

router = APIRouter(include_in_schema=False)

HOUR_MS = 3_600_000
WINDOWS_MS = {"1h": HOUR_MS, "8h": 8 * HOUR_MS, "24h": 24 * HOUR_MS}
DEFAULT_WINDOW = "1h"


def not_found(request: Request, what: str, who: Principal | None = None) -> HTMLResponse:
    """The not-found page, naming what was looked for, with status 404."""
    return render(request, "notice.html", {"kind": "not_found", "what": what}, who, status_code=404)


def forbidden(request: Request, who: Principal) -> HTMLResponse:
    """The page saying an enterprise's own data is for its own users, with status 403."""
    return render(request, "notice.html", {"kind": "forbidden"}, who, status_code=403)


def state_bar(by_state: dict[str, int]) -> list[dict[str, Any]]:
    """Where each state's segment of a stacked bar starts and how wide it is, in percent.

    >>> [(s["state"], s["x"], s["width"]) for s in state_bar({"running": 3, "idle": 1})]
    [('running', 0.0, 75.0), ('idle', 75.0, 25.0)]
    """
    total = sum(by_state.values()) or 1
    out, x = [], 0.0
    for state, n in by_state.items():
        width = round(100 * n / total, 3)
        out.append({"state": state, "x": round(x, 3), "width": width})
        x += width
    return out


def city_page(
    cat: AssetCatalog,
    listed: list[Enterprise],
    who: Principal,
    *,
    sort: str = "name",
    order: str = "asc",
    page: int = 1,
) -> dict[str, Any]:
    """The city overview: enterprises by district and key industry (all of them, as counts),
    and one page of the table of the enterprises the viewer may see, linked where it may open
    them. The counts are kept per catalogue version (kiln/web/navigation.py)."""
    reg = registry(cat)
    industries = [
        {
            "key": k.key,
            "code": k.key,
            "name_en": k.name_en,
            "name_zh": k.name_zh,
            "enterprises": reg.by_key[k.key],
        }
        for k in KEY_INDUSTRIES
    ]
    if reg.by_key["other"]:
        industries.append(
            {
                "key": "other",
                "code": "",
                "name_en": _("Other"),
                "name_zh": "",
                "enterprises": reg.by_key["other"],
            }
        )
    return {
        "totals": {
            "enterprises": len(cat.enterprises),
            "equipment": len(cat.equipment),
            "signals": len(cat.signals),
        },
        "districts": [
            {**district_of(d.code), "enterprises": reg.by_district[d.code]}
            for d in FOSHAN_DISTRICTS
        ],
        "industries": industries,
        "table": enterprise_table(
            reg, [e.id for e in listed], who, sort=sort, order=order, page=page
        ),
        "most_per_group": max([*reg.by_district.values(), *reg.by_key.values(), 1]),
    }


def _equipment_tile(cat: AssetCatalog, equipment_id: int) -> dict[str, Any]:
    q = cat.equipment[equipment_id]
    t = TEMPLATES.get(q.template)
    return {
        "id": q.id,
        "slug": q.slug,
        "name": q.name,
        "template": t.name_en if t else q.template,
        "template_zh": t.name_zh if t else "",
    }


def enterprise_tree(cat: AssetCatalog, enterprise_id: int) -> list[dict[str, Any]]:
    """The enterprise's sites → lines → stations (in line order) → equipment tiles."""
    at_station: dict[int, list[int]] = {}
    for q in cat.equipment_of_enterprise(enterprise_id):
        at_station.setdefault(q.station_id, []).append(q.id)
    stations_of: dict[int, list[dict[str, Any]]] = {}
    for st in sorted(cat.stations.values(), key=lambda s: (s.position, s.id)):
        if st.enterprise_id == enterprise_id:
            stations_of.setdefault(st.line_id, []).append(
                {
                    "id": st.id,
                    "name": st.name,
                    "operators": st.operators,
                    "equipment": [_equipment_tile(cat, q) for q in at_station.get(st.id, [])],
                }
            )
    lines_of: dict[int, list[dict[str, Any]]] = {}
    for ln in cat.lines.values():
        if ln.enterprise_id == enterprise_id:
            lines_of.setdefault(ln.site_id, []).append(
                {
                    "id": ln.id,
                    "name": ln.name,
                    "area": ln.area,
                    "stations": stations_of.get(ln.id, []),
                }
            )
    return [
        {"slug": s.slug, "name": s.name, "timezone": s.timezone, "lines": lines_of.get(s.id, [])}
        for s in cat.sites.values()
        if s.enterprise_id == enterprise_id
    ]


def signal_rows(cat: AssetCatalog, equipment_id: int, last: dict[int, Any]) -> list[dict[str, Any]]:
    """The equipment's signals in its template's order (joint by joint), with last values."""
    t = TEMPLATES.get(cat.equipment[equipment_id].template)
    specs = {s.name: s for s in t.signals} if t else {}
    place = {name: i for i, name in enumerate(specs)}
    ids = sorted(
        cat.signals_of.get(equipment_id, []),
        key=lambda i: (place.get(cat.signals[i].name, len(place)), i),
    )
    rows = []
    for sid in ids:
        sig = cat.signals[sid]
        spec = specs.get(sig.name)
        rows.append(
            {
                "id": sid,
                "name": sig.name,
                "unit": sig.unit,
                "lo": sig.lo,
                "hi": sig.hi,
                "decimals": spec.decimals if spec else 2,
                "last": last.get(sid),
            }
        )
    return rows


def state_intervals(rt: Runtime, equipment_id: int, start_ms: int, end_ms: int) -> list[Any]:
    """The equipment's state intervals clipped to the window, with state names."""
    rows = rt.store.state_intervals([equipment_id], start_ms, end_ms).to_pylist()
    return [
        {
            "start_ms": r["start_ms"],
            "end_ms": r["end_ms"],
            "state": STATE_NAMES.get(r["state"], "unknown"),
            "reason": r["reason"],
        }
        for r in rows
    ]


def equipment_page(rt: Runtime, equipment_id: int, window: str) -> dict[str, Any]:
    """An equipment's facts, signals with last values, and its states and counts in the window."""
    cat = rt.catalog
    q = cat.equipment[equipment_id]
    ent = cat.enterprises[q.enterprise_id]
    live = equipment_live(rt, q.id)
    end_ms = live["ts_ms"] + 1
    start_ms = end_ms - WINDOWS_MS[window]
    counted = rt.store.counts([q.id], start_ms, end_ms).to_pylist()
    return {
        "equipment": {**_equipment_tile(cat, q.id), "ideal_cycle_s": q.ideal_cycle_s},
        "enterprise": {"slug": ent.slug, "name": ent.name, "name_zh": ent.name_zh},
        "line": cat.line_of(q.id).name,
        "station": cat.stations[q.station_id].name,
        "state": live["state"],
        "signals": signal_rows(cat, q.id, {v["series"]: v for v in live["values"]}),
        "intervals": state_intervals(rt, q.id, start_ms, end_ms),
        "good": sum(r["good"] or 0 for r in counted),
        "scrap": sum(r["scrap"] or 0 for r in counted),
        "window": window,
        "windows": list(WINDOWS_MS),
        "start_ms": start_ms,
        "end_ms": end_ms,
    }


@router.get("/", response_class=HTMLResponse)
def city(
    request: Request,
    rt: RuntimeDep,
    who: ViewerDep,
    sort: str = "name",
    order: str = "asc",
    page: str | None = None,
) -> HTMLResponse:
    """The city overview: enterprises by district and industry, equipment by state (live),
    and the enterprises one page at a time."""
    listed = Access(rt.store, who).enterprises()
    at = page_number(page)
    page_ = city_page(rt.catalog, listed, who, sort=sort, order=order, page=at)
    live = city_states(rt)
    return render(
        request, "city.html", {**page_, "live": live, "bar": state_bar(live["by_state"])}, who
    )


@router.get("/enterprises/{slug}", response_class=HTMLResponse)
def enterprise(request: Request, slug: str, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """One enterprise: its sites, lines and stations, each equipment a tile coloured by state."""
    try:
        e = Access(rt.store, who).own_enterprise(slug)
    except NotFound:
        return not_found(request, _("enterprise “%(slug)s”", slug=slug), who)
    except Forbidden:
        return forbidden(request, who)
    live = enterprise_states(rt, e.id)
    context = {
        "enterprise": {
            "slug": e.slug,
            "name": e.name,
            "name_zh": e.name_zh,
            "district": district_of(e.district),
            "industry": industry_of(e.industry_code),
        },
        "sites": enterprise_tree(rt.catalog, e.id),
        "crumbs": current_page(asset_crumbs(rt.catalog, "enterprise", e.id)),
        "live": live,
        "bar": state_bar(live["by_state"]),
        "advice": advice_summary(
            rt, [ln.id for ln in rt.catalog.lines.values() if ln.enterprise_id == e.id]
        ),
    }
    return render(request, "enterprise.html", context, who)


@router.get("/equipment/{equipment_id}", response_class=HTMLResponse)
def equipment(
    request: Request,
    equipment_id: str,
    rt: RuntimeDep,
    who: ViewerDep,
    window: str = DEFAULT_WINDOW,
) -> HTMLResponse:
    """One equipment: live charts of its signals, state timeline, current state, last values."""
    if not equipment_id.isdigit():
        return not_found(request, _("equipment “%(id)s”", id=equipment_id), who)
    try:
        q = Access(rt.store, who).equipment(int(equipment_id))
    except NotFound:
        return not_found(request, _("equipment “%(id)s”", id=equipment_id), who)
    except Forbidden:
        return forbidden(request, who)
    page = equipment_page(rt, q.id, window if window in WINDOWS_MS else DEFAULT_WINDOW)
    page.update(equipment_extras(rt, q.id))
    page["crumbs"] = current_page(asset_crumbs(rt.catalog, "equipment", q.id))
    return render(request, "equipment.html", page, who)
