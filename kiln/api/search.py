"""Search: districts, industries, enterprises, sites, lines, stations and equipment by name or
code, scoped like every read (an enterprise finds its own assets; the city finds the registry:
districts, industries and enterprises, never an enterprise's sites or equipment)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from kiln.api.deps import PrincipalDep, RuntimeDep
from kiln.api.errors import ERROR_RESPONSES
from kiln.auth.roles import Permission
from kiln.domain.asset_search import MAX_QUERY, Scope, search_index
from kiln.errors import BadInput, Forbidden

router = APIRouter(prefix="/api/v1", tags=["search"], responses=ERROR_RESPONSES)


@router.get("/search", summary="Find assets by name or code")
async def search(
    rt: RuntimeDep,
    who: PrincipalDep,
    q: Annotated[str, Query(max_length=MAX_QUERY, description="part of a name, slug or code")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Hits best first (an exact code, then names or codes starting with q, then containing
    it), each with its kind, names, code, page and where it is; `total` counts them all."""
    if not q.strip():
        raise BadInput("give a name or code to search for", where="query: q")
    if who.may(Permission.READ_CITY_AGGREGATES):
        scope = Scope(registry=True, enterprise_id=None)
    elif who.may(Permission.READ_OWN_DATA) and who.enterprise_id is not None:
        scope = Scope(registry=False, enterprise_id=who.enterprise_id)
    else:
        raise Forbidden(f"a {who.role.value} may not search the assets", where="role")
    hits, total = search_index(rt.catalog).search(q, scope, limit=limit)
    return {"query": q, "total": total, "hits": [h.as_json() for h in hits]}
