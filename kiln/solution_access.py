"""The solution catalogue as a caller may see and change it, shared by the API and the pages.

Every signed-in person (not a device) reads the whole catalogue: it is the city's market place.
A provider is an enterprise; its enterprise admins add, change and remove its own entries
(`manage_solutions`), and the city admin may do so for any provider, naming it. Another
provider's entry answers 403 to a change (it is public, so 404 would hide nothing), an entry
that does not exist 404. Each change is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

from kiln.access import Access
from kiln.advisor.catalogue import Need, Solution, SupplyRow, demand_supply, parse_solution
from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput, Forbidden, NotFound
from kiln.runtime import Runtime
from kiln.store.solution_tables import SolutionQuery

# The advisor's candidates, keyed by the GB/T 4754 code of their enterprise's industry, as the
# caller may see them. The app finds it as `app.state.solution_demand` (None: no demand yet).
DemandFn = Callable[[Runtime, Access], Mapping[str, Sequence[Need]]]
DEMAND_STATE = "solution_demand"


def require_read(access: Access) -> None:
    """Forbidden unless the caller is a person of an enterprise or of the city (not a device)."""
    who = access.who
    if not (who.may(Permission.READ_OWN_DATA) or who.may(Permission.READ_CITY_AGGREGATES)):
        access.require(Permission.READ_OWN_DATA)  # raises, naming the role


def provider_doc(catalog: AssetCatalog, enterprise_id: int) -> dict[str, Any]:
    """The provider an entry belongs to, as the API shows it."""
    e = catalog.enterprises.get(enterprise_id)
    if e is None:
        return {"id": enterprise_id, "slug": None, "name": f"#{enterprise_id}", "name_zh": None}
    return {
        "id": e.id,
        "slug": e.slug,
        "name": e.name,
        "name_zh": e.name_zh,
        "robot_maker": e.robot_maker,
    }


def solution_doc(catalog: AssetCatalog, s: Solution) -> dict[str, Any]:
    """A solution as the API shows it: its document, id, provider and last change."""
    return {
        "id": s.id,
        "provider": provider_doc(catalog, s.enterprise_id),
        **s.to_doc(),
        "updated_ms": s.updated_ms,
        "updated_by": s.updated_by,
    }


def may_edit(who: Principal, s: Solution) -> bool:
    """Whether the caller may change or remove this entry."""
    if not who.may(Permission.MANAGE_SOLUTIONS):
        return False
    return who.role.is_city or who.owns(s.enterprise_id)


def provider_of(access: Access, slug: str | None) -> int:
    """The enterprise a query names by slug; 422 naming the query when there is none."""
    if slug is None:
        raise BadInput("name a provider", where="query: provider")
    eid = access.catalog.enterprise_by_slug.get(slug)
    if eid is None:
        raise BadInput(f"no provider {slug!r}", where="query: provider")
    return eid


def find(access: Access, query: SolutionQuery) -> tuple[list[Solution], int]:
    """Catalogue entries matching the query, and how many in all."""
    require_read(access)
    return access.store.solutions.find(query)


def one(access: Access, solution_id: int) -> Solution:
    """One entry; 404 when there is none."""
    require_read(access)
    s = access.store.solutions.get(solution_id)
    if s is None:
        raise NotFound(f"no solution {solution_id}", where="path: solution_id")
    return s


def _owner(access: Access, provider: Any) -> int:
    """The enterprise a new entry belongs to: the caller's own, or the one a city admin names."""
    access.require(Permission.MANAGE_SOLUTIONS)
    who = access.who
    if provider is not None and not isinstance(provider, str):
        raise BadInput("must be an enterprise's slug", where="solution.provider")
    eid = access.catalog.enterprise_by_slug.get(provider) if provider else None
    if who.role.is_city:
        if provider is None:
            raise BadInput("name the provider's enterprise (its slug)", where="solution.provider")
        if eid is None:
            raise BadInput(f"no enterprise {provider!r}", where="solution.provider")
        return eid
    assert who.enterprise_id is not None  # an enterprise role
    if provider is not None and eid != who.enterprise_id:
        raise Forbidden(
            "an enterprise publishes solutions as itself only", where="solution.provider"
        )
    return who.enterprise_id


def create(rt: Runtime, access: Access, doc: Any) -> Solution:
    """Add an entry for the caller's enterprise (or, for the city admin, the one it names)."""
    body = dict(doc) if isinstance(doc, Mapping) else doc
    provider = body.pop("provider", None) if isinstance(body, dict) else None
    eid = _owner(access, provider)
    s = parse_solution(body, enterprise_id=eid)
    stored = access.store.solutions.add(_stamped(rt, access, s))
    rt.security.record(
        access.who, "solution.created", target=f"solution {stored.id}", enterprise_id=eid
    )
    return stored


def _stamped(rt: Runtime, access: Access, s: Solution) -> Solution:
    return replace(s, updated_ms=rt.clock.now_ms(), updated_by=access.who.name)


def _editable(access: Access, solution_id: int) -> Solution:
    access.require(Permission.MANAGE_SOLUTIONS)
    s = one(access, solution_id)
    if not may_edit(access.who, s):
        raise Forbidden(
            f"solution {solution_id} belongs to another provider", where="path: solution_id"
        )
    return s


def update(rt: Runtime, access: Access, solution_id: int, doc: Any) -> Solution:
    """Replace an entry's fields; its provider stays."""
    old = _editable(access, solution_id)
    body = dict(doc) if isinstance(doc, Mapping) else doc
    if isinstance(body, dict) and "provider" in body:
        named = access.catalog.enterprise_by_slug.get(body.pop("provider"))
        if named != old.enterprise_id:
            raise BadInput("an entry keeps its provider", where="solution.provider")
    s = parse_solution(body, enterprise_id=old.enterprise_id, solution_id=solution_id)
    stored = _stamped(rt, access, s)
    access.store.solutions.update(stored)
    rt.security.record(
        access.who,
        "solution.updated",
        target=f"solution {solution_id}",
        enterprise_id=old.enterprise_id,
    )
    return stored


def delete(rt: Runtime, access: Access, solution_id: int) -> None:
    """Remove an entry."""
    old = _editable(access, solution_id)
    access.store.solutions.delete(solution_id)
    rt.security.record(
        access.who,
        "solution.removed",
        target=f"solution {solution_id}: {old.name}",
        enterprise_id=old.enterprise_id,
    )


def supply_row_doc(catalog: AssetCatalog, row: SupplyRow) -> dict[str, Any]:
    """A demand/supply row as the API shows it, providers by name."""
    doc = asdict(row)
    doc["providers"] = [provider_doc(catalog, p) for p in row.providers]
    return doc


def demand_and_supply(rt: Runtime, access: Access, demand: DemandFn | None) -> dict[str, Any]:
    """Supply per industry and, when a demand function is plugged in, the candidates against
    it: {"industries": rows, "demand": {"candidates", "covered"} or None}."""
    require_read(access)
    needs = demand(rt, access) if demand is not None else None
    rows = demand_supply(needs, access.store.solutions.all())
    summary = None
    if needs is not None:
        summary = {
            "candidates": sum(r.candidates or 0 for r in rows),
            "covered": sum(r.covered or 0 for r in rows),
        }
    return {"industries": [supply_row_doc(access.catalog, r) for r in rows], "demand": summary}
