"""What the site, line, station and equipment pages show below the enterprise: equipment in
flow order with its live state, and the line's and equipment's KPIs and alarms.

Callers have checked the viewer owns the asset (navigation_pages); every read here is of that
one enterprise. Equipment states come from the same snapshot the enterprise page and its live
stream use, so the page's script keeps the tiles current from that stream.
"""

from __future__ import annotations

from typing import Any

from kiln.access import Access
from kiln.auth.principal import Principal
from kiln.domain.templates import TEMPLATES
from kiln.errors import BadInput
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService, Window
from kiln.kpi_service.rows import to_rows
from kiln.runtime import Runtime
from kiln.web.advisor_summary import advice_summary
from kiln.web.pages import state_bar
from kiln.web.snapshots import count_states, current_states

UNKNOWN = {"state": "unknown", "since_ms": None, "reason": None}


def _tile(rt: Runtime, equipment_id: int, states: dict[int, Any]) -> dict[str, Any]:
    q = rt.catalog.equipment[equipment_id]
    t = TEMPLATES.get(q.template)
    return {
        "id": q.id,
        "name": q.name,
        "template": t.name_en if t else q.template,
        "template_zh": t.name_zh if t else "",
        "live": states.get(q.id, UNKNOWN),
    }


def stations_of_line(rt: Runtime, line_id: int, states: dict[int, Any]) -> list[dict[str, Any]]:
    """The line's stations in flow order (position), each with its equipment tiles."""
    cat = rt.catalog
    at: dict[int, list[int]] = {}
    for q in cat.equipment.values():
        at.setdefault(q.station_id, []).append(q.id)
    stations = sorted(
        (s for s in cat.stations.values() if s.line_id == line_id), key=lambda s: (s.position, s.id)
    )
    return [
        {
            "id": s.id,
            "name": s.name,
            "position": s.position,
            "operators": s.operators,
            "equipment": [_tile(rt, q, states) for q in sorted(at.get(s.id, []))],
        }
        for s in stations
    ]


def _live(rt: Runtime, ids: list[int]) -> tuple[dict[int, Any], dict[str, Any]]:
    states = current_states(rt.store, ids) if ids else {}
    by_state = count_states(states, ids)
    return states, {"ts_ms": rt.clock.now_ms(), "by_state": by_state, "bar": state_bar(by_state)}


def _enterprise(rt: Runtime, enterprise_id: int) -> dict[str, str]:
    e = rt.catalog.enterprises[enterprise_id]
    return {"slug": e.slug, "name": e.name, "name_zh": e.name_zh}


def site_page(rt: Runtime, site_id: int) -> dict[str, Any]:
    """A site's lines, each with its stations and equipment by live state."""
    cat = rt.catalog
    s = cat.sites[site_id]
    lines = [ln for ln in cat.lines.values() if ln.site_id == site_id]
    line_ids = {ln.id for ln in lines}
    ids = [
        q.id
        for q in cat.equipment_of_enterprise(s.enterprise_id)
        if cat.stations[q.station_id].line_id in line_ids
    ]
    states, live = _live(rt, ids)
    return {
        "site": {"name": s.name, "slug": s.slug, "timezone": s.timezone},
        "enterprise": _enterprise(rt, s.enterprise_id),
        "lines": [
            {
                "id": ln.id,
                "name": ln.name,
                "area": ln.area,
                "stations": stations_of_line(rt, ln.id, states),
            }
            for ln in sorted(lines, key=lambda ln: ln.id)
        ],
        "live": live,
    }


def line_kpis(rt: Runtime, who: Principal, enterprise: str, line_id: int) -> dict[str, Any]:
    """The line's OEE today (the current day, by shift) and today's downtime by reason, as the
    enterprise's KPI page computes them for this line alone; empty before the day has begun."""
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    service = KpiService(rt.store, rt.settings.kpi)
    line = str(line_id)
    try:
        day = to_rows(
            access.kpi_table(
                service,
                KpiRequest(Level.LINE, Window.DAY, energy=False),
                enterprise=enterprise,
                line=line,
            )
        )
        if not day or day[0]["window_end_ms"] <= day[0]["window_start_ms"]:
            return {"day": day, "shifts": [], "pareto": [], "pareto_most": 1.0}
        start, end = day[0]["window_start_ms"], day[0]["window_end_ms"]
        shifts = to_rows(
            access.kpi_table(
                service,
                KpiRequest(Level.LINE, Window.SHIFT, start, end, energy=False),
                enterprise=enterprise,
                line=line,
            )
        )
        _, reasons = access.kpi_pareto(
            service,
            KpiRequest(Level.LINE, Window.CUSTOM, start, end, False),
            enterprise=enterprise,
            line=line,
        )
    except BadInput:
        return {"day": [], "shifts": [], "pareto": [], "pareto_most": 1.0}
    pareto: list[dict[str, Any]] = [
        {"state": r.state, "reason": r.reason, "minutes": r.minutes, "events": r.events}
        for r in reasons
    ]
    most = max([r.minutes for r in reasons] or [1.0]) or 1.0
    return {"day": day, "shifts": shifts, "pareto": pareto, "pareto_most": most}


def line_page(rt: Runtime, who: Principal, line_id: int) -> dict[str, Any]:
    """A line: its equipment in flow order by live state, and its KPIs today."""
    cat = rt.catalog
    ln = cat.lines[line_id]
    stations = {s.id for s in cat.stations.values() if s.line_id == line_id}
    ids = [q.id for q in cat.equipment.values() if q.station_id in stations]
    states, live = _live(rt, ids)
    ent = _enterprise(rt, ln.enterprise_id)
    return {
        "line": {"id": ln.id, "name": ln.name, "slug": ln.slug, "area": ln.area},
        "site": {"name": cat.sites[ln.site_id].name},
        "enterprise": ent,
        "stations": stations_of_line(rt, line_id, states),
        "live": live,
        "kpis": line_kpis(rt, who, ent["slug"], line_id),
        "advice": advice_summary(rt, [line_id]),
    }


def station_page(rt: Runtime, station_id: int) -> dict[str, Any]:
    """A station: its equipment by live state, and its neighbours on the line."""
    cat = rt.catalog
    st = cat.stations[station_id]
    ids = [q.id for q in cat.equipment.values() if q.station_id == station_id]
    states, live = _live(rt, ids)
    order = sorted(
        (s for s in cat.stations.values() if s.line_id == st.line_id),
        key=lambda s: (s.position, s.id),
    )
    at = [s.id for s in order].index(st.id)
    near = {
        "prev": order[at - 1] if at > 0 else None,
        "next": order[at + 1] if at + 1 < len(order) else None,
    }
    return {
        "station": {
            "id": st.id,
            "name": st.name,
            "position": st.position,
            "operators": st.operators,
        },
        "line": {"id": st.line_id, "name": cat.lines[st.line_id].name},
        "enterprise": _enterprise(rt, st.enterprise_id),
        "equipment": [_tile(rt, q, states) for q in sorted(ids)],
        "neighbours": {k: {"id": s.id, "name": s.name} if s else None for k, s in near.items()},
        "live": live,
    }
