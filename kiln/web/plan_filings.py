"""The statistical-filing pages: the form (one period, units per figure, a confirm step for
flagged values), CSV and Excel upload with a template, the list of current filings, each
period's versions, and an enterprise's own percentiles. Filings are stored by
kiln.plan_access.store_filings under the API's rules; a refused one comes back with the message
next to the field it names.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from kiln.access import Access
from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.auth.secrets import same
from kiln.errors import BadInput, Conflict, NotFound
from kiln.plan.fields import FIELDS, Kind
from kiln.plan.filings import NeedsConfirmation, Period
from kiln.plan_access import store_filings
from kiln.plan_service import submit
from kiln.plan_service.service import local_year_month
from kiln.runtime import Runtime
from kiln.web.deps import RuntimeDep
from kiln.web.i18n import gettext as _
from kiln.web.i18n import pick
from kiln.web.pages import forbidden, not_found
from kiln.web.plan import plan_page
from kiln.web.session import ViewerDep

router = APIRouter(include_in_schema=False)
MONEY_UNITS = ("元", "万元", "亿元")
DEFAULT_MONEY_UNIT = "万元"  # what statistical forms count in
LIST_LIMIT = 500  # filings listed on the page, newest period first
MAX_UPLOAD = 20 * 1024 * 1024
FORM = "form"  # `where` of the form's one submission; errors name "form: <field>"
FORM_FIELDS = frozenset({"enterprise", "period", "reason", *(f.name for f in FIELDS)})


def _blank_form(rt: Runtime, who: Principal) -> dict[str, Any]:
    year, month = local_year_month(rt.clock.now_ms())
    last = Period(year, month).previous  # the month whose filings are due
    return {
        "enterprise": _own_slug(rt, who),
        "kind": "month",
        "month": last.text,
        "year": str(year - 1),
        "values": {f.name: "" for f in FIELDS},
        "units": {f.name: DEFAULT_MONEY_UNIT for f in FIELDS if f.kind is Kind.MONEY},
        "reason": "",
        "confirm": False,
        "ask_confirm": False,
    }


def _own_slug(rt: Runtime, who: Principal) -> str:
    ent = rt.catalog.enterprises.get(who.enterprise_id or -1)
    return ent.slug if ent else ""


def _form_state(data: FormData, rt: Runtime, who: Principal) -> dict[str, Any]:
    def text(name: str) -> str:
        v = data.get(name, "")
        return v.strip()[:200] if isinstance(v, str) else ""

    state = _blank_form(rt, who)
    if who.role.is_city:
        state["enterprise"] = text("enterprise")
    state.update(kind="year" if text("kind") == "year" else "month", reason=text("reason"))
    state.update(month=text("month"), year=text("year"), confirm=text("confirm") == "on")
    state["values"] = {f.name: text(f"fig_{f.name}") for f in FIELDS}
    for name in state["units"]:
        unit = text(f"unit_{name}")
        state["units"][name] = unit if unit in MONEY_UNITS else DEFAULT_MONEY_UNIT
    return state


def _submission(state: dict[str, Any]) -> submit.Submission:
    figures: dict[str, object] = {}
    for name, raw in state["values"].items():
        unit = state["units"].get(name)
        # A plain number takes the unit chosen beside it; a value with its own unit keeps it.
        plain = raw.replace(",", "").replace(".", "", 1).isdigit()
        figures[name] = f"{raw} {unit}" if raw and unit and plain else raw
    period = state["year"] if state["kind"] == "year" else state["month"]
    return submit.Submission(
        state["enterprise"], period, figures, reason=state["reason"], where=FORM
    )


def _field_of(where: str) -> str:
    # "form: reason" -> "reason"; anything not naming one field is shown above the form.
    field = where.removeprefix(FORM).removeprefix(":").strip()
    return field if field in FORM_FIELDS else ""


def _filings_view(
    request: Request, rt: Runtime, who: Principal, status: int = 200, **parts: Any
) -> HTMLResponse:
    cat = rt.catalog
    own = None if who.role.is_city else who.enterprise_id
    found = rt.plan.plans_store.filings(own, 2000, 2100, limit=LIST_LIMIT)
    year_now, _ = local_year_month(rt.clock.now_ms())
    context: dict[str, Any] = {
        "form": _blank_form(rt, who), "errors": {}, "flags": {}, "upload": {}, "saved": None,
        "fields": FIELDS, "money_units": MONEY_UNITS, "is_city": who.role.is_city,
        "enterprises": sorted(
            (e for e in cat.enterprises.values() if own is None or e.id == own),
            key=lambda e: e.name.lower(),
        ),
        "by_id": cat.enterprises,
        "filings": found, "limit": LIST_LIMIT, "percentiles": None,
        "percentile_year": year_now - 1, "indicators": rt.plan.config().indicators,
    }  # fmt: skip
    if own is not None and who.may(Permission.READ_OWN_DATA):
        context["percentiles"] = rt.plan.percentiles(own, year_now - 1, cat)
    context.update(parts)
    return plan_page(request, "plan_filings.html", context, who, status)


def _csrf_ok(who: Principal, data: FormData) -> bool:
    sent = data.get("csrf", "")
    return bool(who.csrf and isinstance(sent, str) and sent and same(sent, who.csrf))


@router.get("/filings", response_class=HTMLResponse)
def filings_page(
    request: Request,
    rt: RuntimeDep,
    who: ViewerDep,
    saved: str = "",
    period: str = "",
    uploaded: str = "",
    corrections: str = "",
) -> HTMLResponse:
    """The filing form, the upload form, the current filings and (enterprise) percentiles."""
    if not who.may(Permission.FILE_STATISTICS):
        return forbidden(request, who)
    upload = {}
    if uploaded.isdigit() and corrections.isdigit():
        upload = {"stored": int(uploaded), "corrections": int(corrections)}
    shown = None
    eid = rt.catalog.enterprise_by_slug.get(saved)
    if eid is not None and (who.role.is_city or who.owns(eid)):
        try:
            key = (eid, Period.parse(period))
        except BadInput:
            key = None
        shown = rt.plan.plans_store.current_filings([key]).get(key) if key else None
    return _filings_view(request, rt, who, saved=shown, upload=upload)


def _access(rt: Runtime, who: Principal) -> Access:
    return Access(rt.store, who, now_ms=rt.clock.now_ms())


def _file_form(request: Request, rt: Runtime, who: Principal, data: FormData) -> Response:
    if not who.may(Permission.FILE_STATISTICS) or not _csrf_ok(who, data):
        return forbidden(request, who)
    state = _form_state(data, rt, who)
    try:
        (f,) = store_filings(rt, _access(rt, who), [_submission(state)], "form", state["confirm"])
    except NeedsConfirmation as err:
        flags: dict[str, list[str]] = {}
        for g in err.flags:
            flags.setdefault(_field_of(g.field), []).append(g.what)
        state.update(ask_confirm=True, confirm=False)
        return _filings_view(request, rt, who, 422, form=state, flags=flags)
    except (BadInput, NotFound, Conflict) as err:
        errors = {_field_of(err.where): err.what}
        state["ask_confirm"] = state["confirm"]
        return _filings_view(request, rt, who, 422, form=state, errors=errors)
    slug = rt.catalog.enterprises[f.enterprise_id].slug
    return RedirectResponse(f"/filings?saved={slug}&period={f.period.text}", status_code=303)


@router.post("/filings", response_class=HTMLResponse)
async def file_form(request: Request, rt: RuntimeDep, who: ViewerDep) -> Response:
    """File one period from the form; back to the list, or the form with what was refused."""
    async with request.form(max_files=0, max_fields=64) as data:
        return await run_in_threadpool(_file_form, request, rt, who, data)


def _upload(
    request: Request, rt: Runtime, who: Principal, name: str, body: bytes, confirm: bool
) -> Response:
    try:
        if not body:
            raise BadInput("choose a CSV or Excel file", where="file")
        if len(body) > MAX_UPLOAD:
            raise BadInput(f"larger than {MAX_UPLOAD // 2**20} MiB", where=name)
        is_xlsx = name.lower().endswith(".xlsx") or body[:2] == b"PK"
        subs = submit.read_xlsx(body, name=name) if is_xlsx else submit.read_csv(body, name=name)
        stored = store_filings(rt, _access(rt, who), subs, "xlsx" if is_xlsx else "csv", confirm)
    except NeedsConfirmation as err:
        return _filings_view(request, rt, who, 422, upload={"flags": err.flags, "name": name})
    except (BadInput, NotFound, Conflict) as err:
        return _filings_view(request, rt, who, 422, upload={"error": err, "name": name})
    corrections = sum(1 for f in stored if f.version > 1)
    return RedirectResponse(
        f"/filings?uploaded={len(stored)}&corrections={corrections}", status_code=303
    )


@router.post("/filings/upload", response_class=HTMLResponse)
async def upload(request: Request, rt: RuntimeDep, who: ViewerDep) -> Response:
    """File many periods from a CSV or Excel file (all or none)."""
    async with request.form(max_files=1, max_fields=8) as data:  # closes the spooled file
        if not who.may(Permission.FILE_STATISTICS) or not _csrf_ok(who, data):
            return forbidden(request, who)
        file = data.get("file")
        name, body = "upload", b""
        if isinstance(file, UploadFile):
            name, body = file.filename or name, await file.read(MAX_UPLOAD + 1)
        confirm = data.get("confirm") == "on"
    return await run_in_threadpool(_upload, request, rt, who, name, body, confirm)


@router.get("/filings/template.csv")
def filing_template(request: Request, rt: RuntimeDep, who: ViewerDep) -> Response:
    """A CSV to fill in: the columns an upload reads, and a row for the viewer's enterprise."""
    if not who.may(Permission.FILE_STATISTICS):
        return forbidden(request, who)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["enterprise", "period", "unit", "reason", *(f.name for f in FIELDS)])
    form = _blank_form(rt, who)
    writer.writerow(
        [form["enterprise"], form["month"], DEFAULT_MONEY_UNIT, "", *([""] * len(FIELDS))]
    )
    return Response(
        "\ufeff" + out.getvalue(),  # the BOM tells Excel the file is UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="kiln-filing-template.csv"'},
    )


def history_page(rt: Runtime, who: Principal, slug: str, period: str) -> dict[str, Any]:
    """Every version of one filing, oldest first, each with what it changed; NotFound for a
    filing the viewer may not see."""
    eid = rt.catalog.enterprise_by_slug.get(slug)
    if eid is None or not (who.role.is_city or who.owns(eid)):
        raise NotFound(f"no enterprise {slug!r}", where="path: enterprise")
    versions = rt.plan.plans_store.filing_history(eid, Period.parse(period))
    if not versions:
        raise NotFound(f"no filing for {period}", where="path: period")
    rows: list[dict[str, Any]] = []
    before: dict[str, float] = {}
    for f in versions:
        changed = [
            {"field": x, "before": before.get(x.name), "after": f.figures.get(x.name)}
            for x in FIELDS
            if before.get(x.name) != f.figures.get(x.name)
        ]
        rows.append({"filing": f, "changed": changed if f.version > 1 else []})
        before = dict(f.figures)
    return {
        "enterprise": rt.catalog.enterprises[eid],
        "period": versions[0].period,
        "versions": rows,
        "fields": FIELDS,
        "labels": {x.name: pick(x, "label") for x in FIELDS},
    }


@router.get("/filings/{enterprise}/{period}", response_class=HTMLResponse)
def filing_history(
    request: Request, enterprise: str, period: str, rt: RuntimeDep, who: ViewerDep
) -> HTMLResponse:
    """One filing's versions: who filed or corrected it, when, why, and what changed."""
    if not who.may(Permission.FILE_STATISTICS):
        return forbidden(request, who)
    try:
        page = history_page(rt, who, enterprise, period)
    except (NotFound, BadInput):
        what = _("filing “%(enterprise)s %(period)s”", enterprise=enterprise, period=period)
        return not_found(request, what, who)
    return plan_page(request, "plan_history.html", page, who)
