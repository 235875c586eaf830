"""The robot-upgrade advisor: line analyses, candidates with matching solutions, the city
roll-up and the follow-up of installed robots.

Assumptions may be changed per request with `assume=name=value` (repeatable), e.g.
`assume=annual_wage_yuan=90000&assume=robot_price_yuan.welding=250000`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kiln import advisor_access as aa
from kiln.advisor_service.service import DEFAULT_DAYS, MAX_DAYS, Followed, assumptions_of
from kiln.api.deps import AccessDep, RuntimeDep
from kiln.api.errors import ERROR_RESPONSES
from kiln.errors import BadInput
from kiln.solution_access import require_read

router = APIRouter(prefix="/api/v1/advisor", tags=["advisor"], responses=ERROR_RESPONSES)
Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="days measured, up to now")]
Assume = Annotated[
    list[str] | None,
    Query(max_length=50, description="an assumption changed: name=value (repeatable)"),
]
Lang = Annotated[Literal["en", "zh"], Query(description="language of the explanations")]


def overrides(assume: list[str] | None) -> dict[str, Any]:
    """`name=value` pairs as a mapping of numbers (or null for robot_cycle_s)."""
    out: dict[str, Any] = {}
    for item in assume or []:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise BadInput(f"{item!r} is not name=value", where="query: assume")
        if text.strip().lower() in ("", "none", "null"):
            out[name.strip()] = None
            continue
        try:
            out[name.strip()] = float(text)
        except ValueError:
            raise BadInput(f"{name}: {text!r} is not a number", where="query: assume") from None
    return out


class InstallationBody(BaseModel):
    """A robot installed on a station."""

    station_id: int
    installed_ms: int = Field(gt=0, description="UTC epoch ms the robot started production")
    solution_id: int | None = None
    description: str = Field(default="", max_length=aa.MAX_DESCRIPTION)
    assumptions: dict[str, Any] | None = None


@router.get("/assumptions", summary="The advisor's assumptions, with their sources")
def assumptions(access: AccessDep, assume: Assume = None) -> list[dict[str, Any]]:
    """Every assumption with its Foshan default (or the changed value), unit and source."""
    require_read(access)  # any person of an enterprise or the city, as the catalogue
    return aa.assumptions_doc(assumptions_of(overrides(assume)))


@router.get("/enterprises/{slug}/assumptions", summary="An enterprise's own assumptions")
def kept(rt: RuntimeDep, access: AccessDep, slug: str) -> dict[str, Any]:
    """The changes the enterprise keeps to Kiln's defaults, and every assumption as it stands
    for the enterprise."""
    changes = aa.kept_assumptions(rt, access, slug)
    ent = access.catalog.enterprises[access.catalog.enterprise_by_slug[slug]]
    return {
        "changes": changes,
        "assumptions": aa.assumptions_doc(aa.own_assumptions(rt, ent.id)),
    }


@router.put("/enterprises/{slug}/assumptions", summary="Keep an enterprise's own assumptions")
def keep(
    rt: RuntimeDep,
    access: AccessDep,
    slug: str,
    changes: Annotated[dict[str, float | None], Body(max_length=aa.MAX_KEPT)],
) -> dict[str, Any]:
    """An enterprise admin keeps its changes to the defaults (e.g. its operators' wage, its
    product's value): every analysis of its lines then starts from them. `{}` goes back to
    the defaults. 422 names a wrong name or value."""
    return {"changes": aa.keep_assumptions(rt, access, slug, changes)}


@router.get("/enterprises/{slug}", summary="An enterprise's lines and candidates")
async def enterprise(
    rt: RuntimeDep,
    access: AccessDep,
    slug: str,
    days: Days = DEFAULT_DAYS,
    assume: Assume = None,
    lang: Lang = "en",
) -> dict[str, Any]:
    """Each measured line: takt, stations with their losses and bottleneck share, and the
    candidates ranked by payback, with their matching catalogue solutions."""
    ent, found, a = await run_in_threadpool(
        aa.enterprise_advice, rt, access, slug, days=days, overrides=overrides(assume)
    )
    return {
        "enterprise": ent.slug,
        "lines": [aa.line_doc(rt, access, la, lang) for la in found],
        "assumptions": aa.assumptions_doc(a),
    }


@router.get("/lines/{line_id}", summary="One line's analysis and candidates")
async def line(
    rt: RuntimeDep,
    access: AccessDep,
    line_id: int,
    days: Days = DEFAULT_DAYS,
    assume: Assume = None,
    lang: Lang = "en",
) -> dict[str, Any]:
    """404 for a line not of the caller's enterprise; `measured` false (no stations, no
    candidates) for a line with no measured station in the window."""
    la, a = await run_in_threadpool(
        lambda: aa.line_advice(rt, access, line_id, days=days, overrides=overrides(assume))
    )
    if la is None:
        ln = rt.catalog.lines[line_id]
        doc: dict[str, Any] = {
            "line_id": ln.id, "line": ln.slug, "name": ln.name, "measured": False,
            "stations": [], "candidates": [],
        }  # fmt: skip
    else:
        doc = {**aa.line_doc(rt, access, la, lang), "measured": True}
    return {**doc, "assumptions": aa.assumptions_doc(a)}


@router.get("/city", summary="Robots that would pay back, by industry and district")
async def city(
    rt: RuntimeDep,
    access: AccessDep,
    within_years: Annotated[float, Query(gt=0, le=30)] = 3.0,
    days: Days = DEFAULT_DAYS,
    assume: Assume = None,
) -> dict[str, Any]:
    """City roles: the number of robot cells paying back within N years, their investment and
    the output they add, per industry and district; cells from fewer than three enterprises or
    dominated by one are withheld (null), with enough others that none can be recomputed."""
    advice = await run_in_threadpool(
        lambda: aa.city_advice(
            rt, access, within_years=within_years, days=days, overrides=overrides(assume)
        )
    )
    return aa.city_doc(advice)


@router.get("/lines/{line_id}/installations", summary="Installed robots and their effect")
async def installations(rt: RuntimeDep, access: AccessDep, line_id: int) -> list[dict[str, Any]]:
    """Each installation with the measured effect against the prediction kept with it."""
    found = await run_in_threadpool(aa.installations, rt, access, line_id)
    return [aa.followed_doc(f) for f in found]


@router.post("/lines/{line_id}/installations", status_code=201, summary="Record an installed robot")
async def record(
    rt: RuntimeDep, access: AccessDep, line_id: int, body: InstallationBody
) -> dict[str, Any]:
    """Keeps the advisor's prediction for the station as it stood at the installation time;
    the station must have been a candidate then."""
    item = await run_in_threadpool(aa.record_installation, rt, access, line_id, body.model_dump())
    return aa.followed_doc(Followed(item, None, "just recorded"))


@router.delete(
    "/installations/{installation_id}", status_code=204, summary="Remove a mistaken record"
)
def remove(rt: RuntimeDep, access: AccessDep, installation_id: int) -> Response:
    """An enterprise admin removes a record of its own; 404 for any other."""
    aa.remove_installation(rt, access, installation_id)
    return Response(status_code=204)
