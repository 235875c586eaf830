"""The solution catalogue: providers' robot, integration and software solutions.

Every signed-in person reads it; a provider's enterprise admin adds, changes and removes its
own entries, the city admin any (kiln.solution_access). `demand-supply` sets the advisor's
candidates per industry against the solutions serving it, once the advisor's demand function
is registered on the app (`app.state.solution_demand`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from kiln import solution_access
from kiln.advisor.catalogue import PROCESSES
from kiln.api.deps import AccessDep, RuntimeDep
from kiln.api.errors import ERROR_RESPONSES
from kiln.errors import BadInput
from kiln.solution_access import DEMAND_STATE, DemandFn, solution_doc
from kiln.store.solution_tables import SolutionQuery

router = APIRouter(prefix="/api/v1", tags=["solutions"], responses=ERROR_RESPONSES)

EXAMPLE = {
    "name": "Six-axis arc welding cell",
    "summary": "Two robots on a turntable; seam tracking.",
    "industries": ["3670"],
    "processes": ["welding"],
    "losses": ["performance", "labour"],
    "payload_kg": {"min": 6, "max": 20},
    "cycle_s": {"min": 25, "max": 60},
    "price_yuan": {"min": 250000, "max": 600000},
    "references": ["A Shunde bracket maker: cycle 48 s to 31 s, two welders freed per shift"],
}
SolutionBody = Annotated[dict[str, Any], Body(examples=[EXAMPLE])]


@router.get("/solutions", summary="The solution catalogue")
async def list_solutions(
    access: AccessDep,
    industry: Annotated[
        str | None, Query(max_length=5, description="GB/T 4754 code, e.g. 3670 or 36")
    ] = None,
    process: Annotated[str | None, Query(max_length=40, description="e.g. welding")] = None,
    provider: Annotated[str | None, Query(max_length=200, description="enterprise slug")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Entries serving an industry (its own class, its group or division, or within it), for a
    process, of one provider; by name. `total` counts every match for paging."""
    if process is not None and process not in PROCESSES:
        raise BadInput(f"{process!r} is not one of {', '.join(PROCESSES)}", where="query: process")
    eid = solution_access.provider_of(access, provider) if provider is not None else None
    query = SolutionQuery(
        industry=industry, process=process, enterprise_id=eid, limit=limit, offset=offset
    )
    found, total = await run_in_threadpool(solution_access.find, access, query)
    return {"solutions": [solution_doc(access.catalog, s) for s in found], "total": total}


@router.get("/solutions/demand-supply", summary="Demand against supply by industry")
async def demand_supply(request: Request, rt: RuntimeDep, access: AccessDep) -> dict[str, Any]:
    """Per industry (the four key industries first): solutions serving it and their providers,
    and, once the advisor's demand is plugged in, its candidates and how many of them have a
    matching solution. `demand` is null until then."""
    demand: DemandFn | None = getattr(request.app.state, DEMAND_STATE, None)
    return await run_in_threadpool(solution_access.demand_and_supply, rt, access, demand)


@router.get("/solutions/{solution_id}", summary="One solution")
async def get_solution(access: AccessDep, solution_id: int) -> dict[str, Any]:
    """A catalogue entry with its provider."""
    s = await run_in_threadpool(solution_access.one, access, solution_id)
    return solution_doc(access.catalog, s)


@router.post("/solutions", summary="Publish a solution", status_code=201)
async def create_solution(rt: RuntimeDep, access: AccessDep, body: SolutionBody) -> dict[str, Any]:
    """A new entry of the caller's enterprise; the city admin names the provider in
    `provider` (an enterprise slug). A bad field answers 422 naming it."""
    s = await run_in_threadpool(solution_access.create, rt, access, body)
    return solution_doc(access.catalog, s)


@router.put("/solutions/{solution_id}", summary="Change a solution")
async def put_solution(
    rt: RuntimeDep, access: AccessDep, solution_id: int, body: SolutionBody
) -> dict[str, Any]:
    """Replace an entry's fields (the whole document); only its provider or the city admin
    may. A bad field answers 422 naming it."""
    s = await run_in_threadpool(solution_access.update, rt, access, solution_id, body)
    return solution_doc(access.catalog, s)


@router.delete("/solutions/{solution_id}", summary="Remove a solution", status_code=204)
async def delete_solution(rt: RuntimeDep, access: AccessDep, solution_id: int) -> Response:
    """Remove an entry; only its provider or the city admin may."""
    await run_in_threadpool(solution_access.delete, rt, access, solution_id)
    return Response(status_code=204)
