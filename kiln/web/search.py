"""The search page: assets found by name or code, as far as the viewer may see them.

The index (kiln/domain/asset_search.py) is built once per catalogue version; a city role
finds districts, industries and every enterprise's registry entry, an enterprise user those and
its own enterprise's sites, lines, stations and equipment.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.asset_search import MAX_QUERY, Scope, search_index
from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.web.deps import RuntimeDep
from kiln.web.i18n import pick
from kiln.web.navigation import city_crumbs, crumb
from kiln.web.rendering import render
from kiln.web.session import ViewerDep

router = APIRouter(include_in_schema=False)
SHOWN = 50


def search_scope(who: Principal) -> Scope | None:
    """What the viewer may find; None for a caller that may read nothing (a device)."""
    if who.may(Permission.READ_CITY_AGGREGATES):
        return Scope(registry=True, enterprise_id=None)
    if who.may(Permission.READ_OWN_DATA) and who.enterprise_id is not None:
        return Scope(registry=False, enterprise_id=who.enterprise_id)
    return None


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, rt: RuntimeDep, who: ViewerDep, q: str = "") -> HTMLResponse:
    """Districts, industries, enterprises and (one's own) assets whose name or code holds q."""
    query = q.strip()[:MAX_QUERY]
    scope = search_scope(who)
    hits: list[dict[str, Any]] = []
    total = 0
    if query and scope is not None:
        found, total = search_index(rt.catalog).search(query, scope, limit=SHOWN)
        # An enterprise's "where" is its district, named in the index in English.
        districts = {d.name_en: pick(d) for d in FOSHAN_DISTRICTS}
        hits = [
            {**h.as_json(), "context": districts.get(h.context, h.context)}
            if h.kind == "enterprise"
            else h.as_json()
            for h in found
        ]
    context = {
        "q": query,
        "hits": hits,
        "total": total,
        "crumbs": [*city_crumbs(), crumb("Search", None, translate=True)],
    }
    return render(request, "search.html", context, who)
