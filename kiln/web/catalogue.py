"""The solution catalogue's pages: the list with filters, one entry, and a provider's form.

Reading is for every signed-in person; adding, changing and removing go through the same
scoped actions as the API (kiln.solution_access), as forms carrying the session's CSRF token.
A wrong field shows the form again with the reason next to that field.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from kiln import solution_access
from kiln.access import Access
from kiln.advisor.catalogue import LOSS_TYPES, PROCESSES, RANGES, SolutionErrors
from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.industries import INDUSTRIES, KEY_INDUSTRIES
from kiln.errors import BadInput, Forbidden, KilnError, NotFound
from kiln.runtime import Runtime
from kiln.solution_access import DEMAND_STATE, solution_doc
from kiln.store.solution_tables import SolutionQuery
from kiln.web.deps import RuntimeDep
from kiln.web.i18n import pick
from kiln.web.pages import forbidden, not_found
from kiln.web.plan_filings import _csrf_ok
from kiln.web.rendering import render
from kiln.web.session import ViewerDep

router = APIRouter(include_in_schema=False)
PAGE = 20  # entries per page of the list


def _access(rt: Runtime, who: Principal) -> Access:
    return Access(rt.store, who, now_ms=rt.clock.now_ms())


def _industry_choices() -> list[tuple[str, str]]:
    """(code, label) for the industry filter and hint: the key industries' codes, then classes."""
    out = [(p, f"{p} · {pick(k)}") for k in KEY_INDUSTRIES for p in k.prefixes]
    out += [(c, f"{c} · {pick(i)}") for c, i in sorted(INDUSTRIES.items())]
    return out


@router.get("/solutions", response_class=HTMLResponse)
def catalogue_page(
    request: Request,
    rt: RuntimeDep,
    who: ViewerDep,
    industry: str = Query("", max_length=5),
    process: str = Query("", max_length=40),
    provider: str = Query("", max_length=200),
    offset: int = Query(0, ge=0),
) -> HTMLResponse:
    """Every solution, filtered by industry, process and provider, a page at a time, with the
    supply (and, once plugged in, the demand) per industry."""
    access = _access(rt, who)
    try:
        if process and process not in PROCESSES:
            raise BadInput(f"unknown process {process!r}", where="query: process")
        eid = solution_access.provider_of(access, provider) if provider else None
        query = SolutionQuery(
            industry=industry or None,
            process=process or None,
            enterprise_id=eid,
            limit=PAGE,
            offset=offset,
        )
        found, total = solution_access.find(access, query)
        demand = getattr(request.app.state, DEMAND_STATE, None)
        table = solution_access.demand_and_supply(rt, access, demand)
    except Forbidden:
        return forbidden(request, who)
    except BadInput as err:
        return not_found(request, err.what, who)
    providers = sorted(
        {p["slug"]: p for r in table["industries"] for p in r["providers"] if p["slug"]}.values(),
        key=lambda p: p["name"],
    )
    view = {
        "solutions": [solution_doc(access.catalog, s) for s in found],
        "total": total,
        "offset": offset,
        "page": PAGE,
        "filters": {"industry": industry, "process": process, "provider": provider},
        "industries": _industry_choices(),
        "processes": PROCESSES,
        "providers": providers,
        "supply": table,
        "may_add": who.may(Permission.MANAGE_SOLUTIONS),
    }
    return render(request, "catalogue.html", view, who)


def _form_view(
    rt: Runtime,
    who: Principal,
    form: dict[str, Any],
    *,
    solution_id: int | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    enterprises = sorted(rt.catalog.enterprises.values(), key=lambda e: e.name)
    return {
        "form": form,
        "errors": errors or {},
        "solution_id": solution_id,
        "processes": PROCESSES,
        "losses": LOSS_TYPES,
        "industries": _industry_choices(),
        "providers": [(e.slug, e.name) for e in enterprises] if who.role.is_city else [],
    }


def form_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The form's fields for a solution document (what an edit starts from)."""
    form: dict[str, Any] = {
        "name": doc.get("name", ""),
        "summary": doc.get("summary", ""),
        "industries": ", ".join(doc.get("industries", [])),
        "processes": list(doc.get("processes", [])),
        "losses": list(doc.get("losses", [])),
        "references": "\n".join(doc.get("references", [])),
        "provider": (doc.get("provider") or {}).get("slug", ""),
    }
    for name in RANGES:
        r = doc.get(name) or {}
        for end in ("min", "max"):
            x = r.get(end)
            form[f"{name}_{end}"] = "" if x is None else f"{x:g}"
    return form


def doc_of(data: FormData) -> tuple[dict[str, Any], dict[str, Any]]:
    """The solution document a form describes, and the form's fields to show again."""

    def text(name: str) -> str:
        value = data.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    form: dict[str, Any] = {k: text(k) for k in ("name", "summary", "industries", "references")}
    form["processes"] = [v for v in data.getlist("processes") if isinstance(v, str)]
    form["losses"] = [v for v in data.getlist("losses") if isinstance(v, str)]
    form["provider"] = text("provider")
    doc: dict[str, Any] = {
        "name": form["name"],
        "summary": form["summary"],
        "industries": [c for c in form["industries"].replace(",", " ").split() if c],
        "processes": form["processes"],
        "losses": form["losses"],
        "references": [line.strip() for line in form["references"].splitlines() if line.strip()],
    }
    if form["provider"]:
        doc["provider"] = form["provider"]
    for name in RANGES:
        ends: dict[str, Any] = {}
        for end in ("min", "max"):
            raw = form[f"{name}_{end}"] = text(f"{name}_{end}")
            if raw:
                try:
                    ends[end] = float(raw.replace(",", ""))
                except ValueError:
                    ends[end] = raw  # parse_solution names it: "min must be a number"
        if ends:
            doc[name] = ends
    return doc, form


def _field_errors(err: KilnError) -> dict[str, str]:
    if isinstance(err, SolutionErrors):
        return err.by_field()
    name = err.where.split(".", 1)[-1] if err.where.startswith("solution.") else "form"
    return {name: err.what}


@router.get("/solutions/new", response_class=HTMLResponse)
def new_page(request: Request, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """The form for a new entry of the provider's own enterprise."""
    if not who.may(Permission.MANAGE_SOLUTIONS):
        return forbidden(request, who)
    return render(request, "catalogue_form.html", _form_view(rt, who, form_of({})), who)


@router.post("/solutions/new", response_class=HTMLResponse)
async def create(request: Request, rt: RuntimeDep, who: ViewerDep) -> Response:
    """Add the entry the form describes; a wrong field shows the form again, saying why."""
    data = await request.form()
    if not who.may(Permission.MANAGE_SOLUTIONS) or not _csrf_ok(who, data):
        return forbidden(request, who)
    doc, form = doc_of(data)
    try:
        s = await asyncio.to_thread(solution_access.create, rt, _access(rt, who), doc)
    except (BadInput, Forbidden) as err:
        view = _form_view(rt, who, form, errors=_field_errors(err))
        return render(request, "catalogue_form.html", view, who, status_code=422)
    return RedirectResponse(f"/solutions/{s.id}?saved=1", status_code=303)


@router.get("/solutions/{solution_id}", response_class=HTMLResponse)
def entry_page(
    request: Request, solution_id: int, rt: RuntimeDep, who: ViewerDep, saved: bool = False
) -> HTMLResponse:
    """One entry, with its provider, ranges and references."""
    access = _access(rt, who)
    try:
        s = solution_access.one(access, solution_id)
    except Forbidden:
        return forbidden(request, who)
    except NotFound as err:
        return not_found(request, err.what, who)
    view = {
        "s": solution_doc(access.catalog, s),
        "may_edit": solution_access.may_edit(who, s),
        "saved": saved,
        "industry_names": {c: pick(i) for c, i in INDUSTRIES.items()},
    }
    return render(request, "catalogue_entry.html", view, who)


@router.get("/solutions/{solution_id}/edit", response_class=HTMLResponse)
def edit_page(request: Request, solution_id: int, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """The form filled with an entry the caller may change."""
    access = _access(rt, who)
    try:
        s = solution_access.one(access, solution_id)
    except Forbidden:
        return forbidden(request, who)
    except NotFound as err:
        return not_found(request, err.what, who)
    if not solution_access.may_edit(who, s):
        return forbidden(request, who)
    form = form_of(solution_doc(access.catalog, s))
    view = _form_view(rt, who, form, solution_id=solution_id)
    return render(request, "catalogue_form.html", view, who)


@router.post("/solutions/{solution_id}/edit", response_class=HTMLResponse)
async def save(request: Request, solution_id: int, rt: RuntimeDep, who: ViewerDep) -> Response:
    """Replace an entry's fields from the form."""
    data = await request.form()
    if not who.may(Permission.MANAGE_SOLUTIONS) or not _csrf_ok(who, data):
        return forbidden(request, who)
    doc, form = doc_of(data)
    doc.pop("provider", None)  # an entry keeps its provider
    try:
        await asyncio.to_thread(solution_access.update, rt, _access(rt, who), solution_id, doc)
    except NotFound as err:
        return not_found(request, err.what, who)
    except Forbidden:  # another provider's entry
        return forbidden(request, who)
    except BadInput as err:
        view = _form_view(rt, who, form, solution_id=solution_id, errors=_field_errors(err))
        return render(request, "catalogue_form.html", view, who, status_code=422)
    return RedirectResponse(f"/solutions/{solution_id}?saved=1", status_code=303)


@router.post("/solutions/{solution_id}/delete", response_class=HTMLResponse)
async def remove(request: Request, solution_id: int, rt: RuntimeDep, who: ViewerDep) -> Response:
    """Remove an entry the caller may change, then back to the list."""
    data = await request.form()
    if not who.may(Permission.MANAGE_SOLUTIONS) or not _csrf_ok(who, data):
        return forbidden(request, who)
    try:
        await asyncio.to_thread(solution_access.delete, rt, _access(rt, who), solution_id)
    except NotFound as err:
        return not_found(request, err.what, who)
    except Forbidden:
        return forbidden(request, who)
    return RedirectResponse("/solutions", status_code=303)
