"""The city overview's panels for city roles: the plan's targets with their trajectories, what
telemetry measures now (enterprises connected, robots online), open alarms by severity, and the
distribution of enterprises' OEE over the last 30 days by key industry.

They are fetched by the page after it has shown (`data-panel`), so the overview of a city of
10,000 enterprises appears at once and the heavier figures follow; each panel's data is kept
for a minute. The OEE distribution is computed per enterprise but published only as counts of
enterprises per tenth of OEE, for an industry with at least the KPI roll-ups' minimum of
enterprises: no single enterprise's figure leaves this module.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kiln.auth.roles import Permission
from kiln.domain.alarms import Severity
from kiln.domain.industries import KEY_INDUSTRIES, key_industry_of
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService, Window
from kiln.plan.disclosure import CITY_RULES
from kiln.plan_service.measured import measure
from kiln.runtime import Runtime
from kiln.web.deps import RuntimeDep
from kiln.web.pages import forbidden
from kiln.web.plan import plan_page, target_card
from kiln.web.session import ViewerDep

router = APIRouter(include_in_schema=False)
KEEP_S = 60.0
BINS = 10  # OEE in tenths: 0-10 %, ..., 90-100 %
DAYS = 30
T = TypeVar("T")
_kept: dict[tuple[int, str], tuple[float, Any]] = {}
_lock = threading.Lock()


def _cached(rt: Runtime, name: str, make: Callable[[], T]) -> T:
    """One panel's data, made at most once a minute per runtime."""
    key = (id(rt), name)
    with _lock:
        hit = _kept.get(key)
        if hit is not None and time.monotonic() - hit[0] < KEEP_S:
            return hit[1]  # type: ignore[no-any-return]
    value = make()
    with _lock:
        _kept[key] = (time.monotonic(), value)
    return value


def plan_cards(rt: Runtime) -> dict[str, Any] | None:
    """The first plan's targets as cards with their charts (None without a plan)."""
    plans = rt.plan.plans()
    if not plans:
        return None
    d = rt.plan.dashboard(plans[0].key, rt.catalog, rt.clock.now_ms())
    published = list(d.published)
    return {"plan": d.plan, "cards": [target_card(v, published) for v in d.targets]}


def oee_distribution(rt: Runtime, minimum: int | None = None) -> list[dict[str, Any]]:
    """Per key industry, how many enterprises' OEE over 30 days falls in each tenth; None counts
    for an industry with fewer enterprises than `minimum` (the roll-ups' by default)."""
    ids = sorted(rt.catalog.equipment)
    if not ids:
        return []
    service = KpiService(rt.store, rt.settings.kpi)
    # The last 30 days, not the calendar month: on the 1st a month has hardly begun.
    now = rt.clock.now_ms()
    req = KpiRequest(Level.ENTERPRISE, Window.CUSTOM, now - DAYS * 86_400_000, now, energy=False)
    table = service.table(rt.catalog, ids, req, now)
    values: dict[str, list[float]] = {k.key: [] for k in KEY_INDUSTRIES}
    if table.num_rows:
        for key, oee in zip(
            table.column("key").to_pylist(), table.column("oee").to_pylist(), strict=True
        ):
            ent = rt.catalog.enterprises.get(int(key))
            group = key_industry_of(ent.industry_code) if ent else None
            if group is not None and oee is not None:
                values[group.key].append(float(oee))
    least = rt.settings.kpi.min_enterprises if minimum is None else minimum
    out = []
    for k in KEY_INDUSTRIES:
        got = np.clip(np.array(values[k.key]), 0.0, 0.9999)
        shown = len(got) >= least
        counts = np.bincount((got * BINS).astype(int), minlength=BINS) if shown else None
        out.append(
            {
                "key": k.key,
                "name_en": k.name_en,
                "name_zh": k.name_zh,
                "enterprises": len(got),
                "counts": counts.tolist() if counts is not None else None,
                "top": int(counts.max()) if counts is not None and counts.max() else 1,
                "median": float(np.median(got)) if shown else None,
            }
        )
    return out


def live_figures(rt: Runtime) -> dict[str, Any]:
    """Enterprises connected, equipment and robots online, robots running; open alarms by
    severity; the OEE distribution."""
    m = measure(
        rt.catalog,
        rt.plan.config(),
        rt.store.last_values(),
        rt.store.current_states(),
        rt.clock.now_ms(),
    )
    alarms = rt.store.alarms.severity_counts(None)
    return {
        "measured": m.city,
        "now_ms": m.now_ms,
        "alarms": [
            {"severity": s.name.lower(), "count": alarms.get(s, 0)}
            for s in sorted(Severity, reverse=True)
        ],
        "oee": oee_distribution(rt),
        "min_enterprises": rt.settings.kpi.min_enterprises,
    }


@router.get("/city/panels/plan", response_class=HTMLResponse)
def plan_panel(request: Request, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """The plan's targets, status and trajectories (city roles)."""
    if not who.may(Permission.READ_CITY_AGGREGATES):
        return forbidden(request, who)
    data = _cached(rt, "plan", lambda: plan_cards(rt))
    return plan_page(request, "city_plan_panel.html", {"panel": data, "rules": CITY_RULES}, who)


@router.get("/city/panels/live", response_class=HTMLResponse)
def live_panel(request: Request, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """Connected, online, alarms by severity and the OEE distribution (city roles)."""
    if not who.may(Permission.READ_CITY_AGGREGATES):
        return forbidden(request, who)
    data = _cached(rt, "live", lambda: live_figures(rt))
    return plan_page(request, "city_live_panel.html", {"panel": data}, who)
