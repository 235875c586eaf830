"""The alarm console: open alarms live, the history, one alarm's life, and the rules.

Acknowledging and shelving are forms (with the session's CSRF token) that go through the same
scoped actions as the API (kiln.alarm_access). The open list refreshes itself: a live stream
says when anything changed, and the page fetches the table again.
"""

from __future__ import annotations

import asyncio
from dataclasses import fields
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from kiln import alarm_access
from kiln.access import Access
from kiln.alarm_access import alarm_doc, event_doc
from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.alarms import Alarm, Severity
from kiln.errors import BadInput, Conflict, Forbidden, KilnError, NotFound
from kiln.runtime import Runtime
from kiln.store.alarm_tables import AlarmQuery
from kiln.stream.rule_defs import RULE_TYPES
from kiln.web.deps import RuntimeDep
from kiln.web.pages import forbidden, not_found
from kiln.web.plan_filings import _csrf_ok
from kiln.web.rendering import render
from kiln.web.session import ViewerDep
from kiln.web.sse import STATES_EVERY_S, _access, _stream

router = APIRouter(include_in_schema=False)
PAGE = 50  # alarms per page of the history
SEVERITIES = [s.name.lower() for s in sorted(Severity, reverse=True)]
RULE_KINDS = ("threshold", "rate", "state", "micro_stops", "no_data", "kpi")


def _row(rt: Runtime, alarm: Alarm) -> dict[str, Any]:
    cat = rt.catalog
    eq = cat.equipment.get(alarm.equipment_id)
    return {
        **alarm_doc(alarm),
        "equipment_name": eq.name if eq else f"#{alarm.equipment_id}",
        "shelved_now": alarm.shelved(rt.clock.now_ms()),
    }


def console_page(
    rt: Runtime, access: Access, *, show: str, severity: str | None, offset: int
) -> dict[str, Any]:
    """The console's content for the caller: counts by severity, and the alarms listed."""
    counts = alarm_access.summary(rt, access)
    if access.who.role.is_city:
        return {"city_view": True, "counts": counts, "severities": SEVERITIES}
    query = AlarmQuery(
        open_only=show == "open",
        min_severity=alarm_access.severity_of(severity),
        limit=PAGE,
        offset=offset,
    )
    alarms, total = alarm_access.find(rt, access, query)
    return {
        "city_view": False,
        "counts": counts,
        "severities": SEVERITIES,
        "alarms": [_row(rt, a) for a in alarms],
        "total": total,
        "show": show,
        "severity": severity or "",
        "offset": offset,
        "page": PAGE,
        "may_handle": access.who.may(Permission.HANDLE_ALARMS),
        "evaluating": rt.alarms is not None,
        "stats": rt.alarms.stats() if rt.alarms is not None else None,
    }


def _page_args(show: str, severity: str | None) -> tuple[str, str | None]:
    if show not in ("open", "all"):
        raise BadInput("show is open or all", where="query: show")
    return show, severity or None


@router.get("/alarms", response_class=HTMLResponse)
def console(
    request: Request,
    rt: RuntimeDep,
    who: ViewerDep,
    show: str = "open",
    severity: str | None = None,
    offset: int = Query(0, ge=0),
    fragment: bool = False,
) -> HTMLResponse:
    """The alarm console; with fragment=1 only the table (what the live refresh fetches)."""
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    try:
        show, severity = _page_args(show, severity)
        page = console_page(rt, access, show=show, severity=severity, offset=offset)
    except Forbidden:
        return forbidden(request, who)
    except BadInput as err:
        return not_found(request, err.what, who)
    name = "alarm_rows.html" if fragment and not page["city_view"] else "alarms.html"
    return render(request, name, page, who)


@router.get("/alarms/rules", response_class=HTMLResponse)
def rules_page(request: Request, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """The rules acting on the caller's equipment, and a form for new ones (admins)."""
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    try:
        rules = alarm_access.visible_rules(rt, access)
    except Forbidden:
        return forbidden(request, who)
    except KilnError as err:
        return not_found(request, err.what, who)
    return render(request, "alarm_rules.html", _rules_view(rt, who, rules), who)


def _rules_view(
    rt: Runtime,
    who: Principal,
    rules: list[Any],
    *,
    error: str = "",
    form: dict[str, str] | None = None,
) -> dict[str, Any]:
    templates = sorted({e.template for e in rt.catalog.equipment.values()})
    return {
        "rules": [{**r.to_doc(), "origin": origin} for r, origin in rules],
        "may_manage": who.may(Permission.MANAGE_ALARM_RULES),
        "kinds": RULE_KINDS,
        "severities": SEVERITIES,
        "templates": templates,
        "error": error,
        "form": form or {},
    }


# Form fields that are numbers, by name; blank ones are left out of the rule.
_NUMBERS = ("limit", "deadband", "for_s", "clear_for_s", "max_per_min", "window_s", "max_per_hour")


def rule_from_form(data: FormData) -> tuple[str, dict[str, Any]]:
    """The rule document a rules form describes (fields that do not apply are blank)."""

    def text(name: str) -> str:
        value = data.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    doc: dict[str, Any] = {"kind": text("kind"), "severity": text("severity")}
    for name in ("signal", "op", "state", "kpi", "over", "description"):
        if text(name):
            doc[name] = text(name)
    for name in _NUMBERS:
        if text(name):
            try:
                doc[name] = float(text(name))
            except ValueError:
                raise BadInput(f"{text(name)!r} is not a number", where=name) from None
    if "max_per_hour" in doc:
        doc["max_per_hour"] = int(doc["max_per_hour"])
    # One form serves every kind: keep only the fields the chosen kind has (the select for
    # above/below always sends a value, whatever the kind).
    kind_type = RULE_TYPES.get(doc["kind"])
    if kind_type is not None:
        known = {f.name for f in fields(kind_type)}
        doc = {k: v for k, v in doc.items() if k in known or k == "kind"}
    scope: dict[str, Any] = {}
    if text("template"):
        scope["template"] = text("template")
    doc["scope"] = scope
    return text("name"), doc


@router.post("/alarms/rules", response_class=HTMLResponse)
async def save_rule(request: Request, rt: RuntimeDep, who: ViewerDep) -> Response:
    """Create or replace a rule from the form; a bad field shows the form again with why."""
    data = await request.form()
    if not who.may(Permission.MANAGE_ALARM_RULES) or not _csrf_ok(who, data):
        return forbidden(request, who)
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    form = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf"}
    try:
        name, doc = rule_from_form(data)
        await asyncio.to_thread(alarm_access.put_rule, rt, access, name, doc)
    except KilnError as err:
        rules = await asyncio.to_thread(alarm_access.visible_rules, rt, access)
        view = _rules_view(rt, who, rules, error=str(err), form=form)
        return render(request, "alarm_rules.html", view, who, status_code=422)
    return RedirectResponse(f"/alarms/rules?saved={name}", status_code=303)


@router.post("/alarms/rules/{name}/delete", response_class=HTMLResponse)
async def remove_rule(request: Request, name: str, rt: RuntimeDep, who: ViewerDep) -> Response:
    """Delete a rule of the caller's enterprise."""
    data = await request.form()
    if not who.may(Permission.MANAGE_ALARM_RULES) or not _csrf_ok(who, data):
        return forbidden(request, who)
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    try:
        await asyncio.to_thread(alarm_access.delete_rule, rt, access, name)
    except NotFound as err:
        return not_found(request, err.what, who)
    return RedirectResponse("/alarms/rules", status_code=303)


@router.get("/alarms/{alarm_id}", response_class=HTMLResponse)
def alarm_page(request: Request, alarm_id: int, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """One alarm: what, where, its state and every event of its life."""
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    try:
        alarm, history = alarm_access.one(rt, access, alarm_id)
    except Forbidden:
        return forbidden(request, who)
    except NotFound as err:
        return not_found(request, err.what, who)
    view = {
        "alarm": _row(rt, alarm),
        "history": [event_doc(e) for e in history],
        "may_handle": who.may(Permission.HANDLE_ALARMS),
    }
    return render(request, "alarm.html", view, who)


@router.post("/alarms/{alarm_id}/{action}", response_class=HTMLResponse)
async def handle_form(
    request: Request, alarm_id: int, action: str, rt: RuntimeDep, who: ViewerDep
) -> Response:
    """Acknowledge, shelve or unshelve from the console, then back to where it was done."""
    data = await request.form()
    if not who.may(Permission.HANDLE_ALARMS) or not _csrf_ok(who, data):
        return forbidden(request, who)
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    comment = data.get("comment")
    minutes_text = data.get("minutes")
    try:
        minutes = float(minutes_text) if isinstance(minutes_text, str) and minutes_text else None
        await asyncio.to_thread(
            lambda: alarm_access.handle(
                rt,
                access,
                alarm_id,
                action,
                comment=comment if isinstance(comment, str) and comment.strip() else None,
                minutes=minutes,
            )
        )
    except (NotFound, Forbidden) as err:
        return not_found(request, err.what, who)
    except (Conflict, BadInput, ValueError):
        pass  # someone else was quicker, or a stale form: the page shows the state now
    back = data.get("back")
    target = back if isinstance(back, str) and back.startswith("/alarms") else "/alarms"
    return RedirectResponse(target, status_code=303)


@router.get("/live/alarms")
async def live(request: Request, rt: RuntimeDep) -> Response:
    """Event "alarms" every 2 s: {version, counts}; the page refetches its table on a change."""
    access = await asyncio.to_thread(_access, request, rt)
    if isinstance(access, Response):
        return access

    def snapshot() -> dict[str, Any]:
        counts = alarm_access.summary(rt, access)
        version = rt.alarms.version if rt.alarms is not None else 0
        return {"version": version, "counts": counts}

    return _stream(request, "alarms", snapshot, STATES_EVERY_S)
