"""The plan tracker's pages: a plan's dashboard for the city (targets with their progress and
trajectory, headline tables with cells withheld, measured indicators, published figures), the
what-if scenario. The filing pages are in plan_filings.py.

Everything comes from runtime.plan, the service the API uses, under the API's rules: city
roles read the dashboard; an enterprise admin files for its own enterprise and the city admin
for any. Forms post the session's CSRF token and redirect after success; a refused filing comes
back with the message next to the field it names. The wording lives in the templates.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiln.access import Access
from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.errors import BadInput, NotFound
from kiln.plan.disclosure import CITY_RULES
from kiln.plan.documents import Measure
from kiln.plan.indicators import industry_groups
from kiln.plan.model import TargetKind
from kiln.plan.progress import Actual
from kiln.plan_access import measured
from kiln.plan_service.service import TargetView, local_year_month
from kiln.runtime import Runtime
from kiln.web.deps import RuntimeDep
from kiln.web.i18n import gettext as _
from kiln.web.i18n import pick
from kiln.web.pages import forbidden, not_found
from kiln.web.plan_charts import amount, number, pct, table_scale, trajectory_chart
from kiln.web.rendering import render
from kiln.web.session import ViewerDep

router = APIRouter(include_in_schema=False)


def _names() -> dict[str, str]:
    names = {d.code: pick(d) for d in FOSHAN_DISTRICTS}
    return {**names, **{g.key: pick(g) for g in industry_groups()}}


def plan_page(
    request: Request, name: str, context: dict[str, Any], who: Principal, status: int = 200
) -> HTMLResponse:
    """Render a plan-tracker template with the number formats and district/group names."""
    helpers = {"amount": amount, "pct": pct, "number": number, "names": _names()}
    return render(request, name, {**helpers, **context}, who, status_code=status)


def _year(text: str, first: int, last: int) -> int | None:
    return int(text) if text.isdigit() and first <= int(text) <= last else None


# -- the dashboard -----------------------------------------------------------------------------


def target_card(v: TargetView, published: list[Any]) -> dict[str, Any]:
    """One target as the dashboard and the city overview show it, with its chart."""
    p, t = v.progress, v.target
    latest = p.actuals[-1] if p.actuals else None
    source = None
    if latest is not None and latest.source.value == "published":
        source = next(
            (
                f
                for f in published
                if (f.indicator, f.scope, f.year) == (t.indicator, t.scope, latest.year)
                and f.measure is Measure.LEVEL
            ),
            None,
        )
    goal = (
        p.trajectory[-1][1] if p.trajectory else (t.value if t.kind is TargetKind.LEVEL else None)
    )
    return {
        "target": t,
        "indicator": v.indicator,
        "progress": p,
        "latest": latest,
        "years": _years(p.trajectory, p.actuals),
        "source": source,
        "coverage": v.coverage,
        "goal": goal,
        "chart": trajectory_chart(p),
    }


def _years(path: tuple[tuple[int, float], ...], actuals: tuple[Actual, ...]) -> list[Any]:
    on_path, known = dict(path), {a.year: a for a in actuals}
    return [(y, on_path.get(y), known.get(y)) for y in sorted({*on_path, *known})]


def measured_panel(rt: Runtime, access: Access) -> dict[str, Any]:
    """Enterprises connected, equipment and robots online and running (by district and
    industry group), and this month's OEE by industry and district; small groups withheld."""
    m, oee = measured(rt, access)
    return {
        "now_ms": m.now_ms,
        "rows": [m.city, *m.by_district, *m.by_industry],
        "districts": len(m.by_district),
        "oee": oee,
        "min_enterprises": rt.settings.kpi.min_enterprises,
    }


def dashboard_page(rt: Runtime, access: Access, key: str, as_of: str) -> dict[str, Any]:
    """A plan's targets as cards, its headline tables, the measured panel and the published
    figures, as known at the end of the chosen year."""
    plan = rt.plan.plan(key)
    year_now, _ = local_year_month(access.now_ms)
    first = min([t.baseline_year for t in plan.targets] or [plan.start_year])
    d = rt.plan.dashboard(
        key, access.catalog, access.now_ms, as_of_year=_year(as_of, first, year_now)
    )
    published = list(d.published)
    config = rt.plan.config()
    return {
        "plan": d.plan,
        "plans": rt.plan.plans(),
        "as_of": d.as_of_year,
        "years": list(range(first, year_now + 1)),
        "cards": [target_card(v, published) for v in d.targets],
        "tables": [table_scale(t) for t in d.tables],
        "rules": CITY_RULES,
        "measured": measured_panel(rt, access),
        "published": published,
        "indicators": config.indicators,
        "has_level_target": any(t.kind is TargetKind.LEVEL for t in d.plan.targets),
        "may_file": access.who.may(Permission.FILE_STATISTICS),
    }


@router.get("/plan", response_class=HTMLResponse)
def plan_home(request: Request, rt: RuntimeDep, who: ViewerDep) -> Response:
    """The plan's dashboard when there is one plan; else the list to pick from (city roles)."""
    if not who.may(Permission.READ_CITY_AGGREGATES):
        return forbidden(request, who)
    plans = rt.plan.plans()
    if len(plans) == 1:
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"/plan/{plans[0].key}{query}", status_code=303)
    return plan_page(request, "plan_list.html", {"plans": plans}, who)


@router.get("/plan/{key}", response_class=HTMLResponse)
def plan_dashboard(
    request: Request, key: str, rt: RuntimeDep, who: ViewerDep, as_of: str = ""
) -> HTMLResponse:
    """A plan's dashboard (city roles)."""
    if not who.may(Permission.READ_CITY_AGGREGATES):
        return forbidden(request, who)
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    try:
        page = dashboard_page(rt, access, key, as_of)
    except NotFound:
        return not_found(request, _("plan “%(key)s”", key=key), who)
    except BadInput as err:
        return plan_page(request, "plan_notice.html", {"err": err}, who, 422)
    return plan_page(request, "plan_dashboard.html", page, who)


# -- the scenario ------------------------------------------------------------------------------


def scenario_page(rt: Runtime, access: Access, key: str, q: dict[str, str]) -> dict[str, Any]:
    """The baseline projection of a level target and, with one component's growth changed,
    the scenario's; errors by the form field they concern."""
    plan = rt.plan.plan(key)
    targets = [t for t in plan.targets if t.kind is TargetKind.LEVEL]
    year_now, _ = local_year_month(access.now_ms)
    target = next((t for t in targets if t.key == q["target"]), targets[0] if targets else None)
    by = q["by"] if q["by"] in ("industry", "district") else "industry"
    first = min([t.baseline_year for t in plan.targets] or [plan.start_year])
    default = min(year_now - 1, (target.deadline_year if target else year_now) - 1)
    as_of = _year(q["as_of"], first, year_now - 1) or default
    out: dict[str, Any] = {
        "plan": plan, "targets": targets, "target": target, "by": by, "as_of": as_of,
        "years": list(range(first, year_now)), "component": q["component"],
        "growth": q["growth"], "errors": {}, "base": None, "scenario": None, "rows": [],
        "indicator": None, "growth_value": None,
    }  # fmt: skip
    if target is None:
        out["errors"]["target"] = ""
        return out
    out["indicator"] = rt.plan.config().indicators[target.indicator]

    def run(overrides: dict[str, float], field: str) -> Any:
        try:
            return rt.plan.scenario(
                key, target.key, access.catalog, access.now_ms,
                by=by, overrides=overrides, as_of_year=as_of,
            )  # fmt: skip
        except (BadInput, NotFound, ValueError) as err:
            out["errors"][field] = getattr(err, "what", str(err))
            return None

    if q["component"]:
        try:
            out["growth_value"] = float(q["growth"].replace("%", "").strip())
        except ValueError:
            out["errors"]["growth"] = q["growth"]
    out["base"] = base = run({}, "target")
    if base is not None and out["growth_value"] is not None:
        out["scenario"] = run({q["component"]: out["growth_value"]}, "component")
    if base is not None:
        changed = {c.key: c for c in out["scenario"].contributions} if out["scenario"] else {}
        out["rows"] = [{"base": c, "scenario": changed.get(c.key)} for c in base.contributions]
    return out


@router.get("/plan/{key}/scenario", response_class=HTMLResponse)
def plan_scenario(
    request: Request,
    key: str,
    rt: RuntimeDep,
    who: ViewerDep,
    target: str = "",
    by: str = "industry",
    component: str = "",
    growth: str = "",
    as_of: str = "",
) -> HTMLResponse:
    """What the target would reach if one industry group's or district's growth changed."""
    if not who.may(Permission.READ_CITY_AGGREGATES):
        return forbidden(request, who)
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    q = {"target": target, "by": by, "component": component, "growth": growth, "as_of": as_of}
    try:
        page = scenario_page(rt, access, key, q)
    except NotFound:
        return not_found(request, _("plan “%(key)s”", key=key), who)
    # Nothing to project from is a state of the data; a growth that is no number is a mistake.
    refused = {"component", "growth"} & set(page["errors"])
    return plan_page(request, "plan_scenario.html", page, who, 422 if refused else 200)


# -- filings -----------------------------------------------------------------------------------
