"""Assets: districts, templates, enterprises and their trees, equipment, asset documents."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Request

from kiln.access import Access
from kiln.api.deps import AccessDep, PrincipalDep, RuntimeDep, client_address
from kiln.api.errors import ERROR_RESPONSES
from kiln.auth.roles import Permission
from kiln.domain.assets import FOSHAN_DISTRICTS, Enterprise
from kiln.domain.industries import INDUSTRIES, key_industry_of
from kiln.domain.states import STATE_NAMES
from kiln.domain.templates import TEMPLATES
from kiln.errors import BadInput, Forbidden

router = APIRouter(prefix="/api/v1", tags=["assets"], responses=ERROR_RESPONSES)


def enterprise_json(access: Access, e: Enterprise) -> dict[str, Any]:
    """An enterprise's registry entry: district, industry, key industry, equipment count."""
    key = key_industry_of(e.industry_code)
    ind = INDUSTRIES.get(e.industry_code)
    return {
        "id": e.id,
        "slug": e.slug,
        "name": e.name,
        "name_zh": e.name_zh,
        "district": e.district,
        "industry_code": e.industry_code,
        "industry": ind.name_en if ind else None,
        "key_industry": key.key if key else None,
        "robot_maker": e.robot_maker,
        "equipment": sum(1 for q in access.catalog.equipment.values() if q.enterprise_id == e.id),
    }


@router.get("/districts", summary="The city's districts")
async def districts(who: PrincipalDep) -> list[dict[str, Any]]:
    """Foshan's five districts."""
    return [{"code": d.code, "name_en": d.name_en, "name_zh": d.name_zh} for d in FOSHAN_DISTRICTS]


@router.get("/templates", summary="Equipment templates with their signals")
async def templates(who: PrincipalDep) -> list[dict[str, Any]]:
    """Every equipment template: signals, units, normal ranges, typical reliability."""
    return [
        {
            "key": t.key,
            "name_en": t.name_en,
            "name_zh": t.name_zh,
            "ideal_cycle_s": t.ideal_cycle_s,
            "mtbf_h": t.mtbf_h,
            "mttr_min": t.mttr_min,
            "continuous": t.continuous,
            "signals": [
                {"name": s.name, "unit": s.unit, "lo": s.lo, "hi": s.hi, "kind": s.kind}
                for s in t.signals
            ],
        }
        for t in TEMPLATES.values()
    ]


@router.get("/enterprises", summary="Enterprises the caller may see")
async def enterprises(access: AccessDep) -> list[dict[str, Any]]:
    """The city's registry for city users; the caller's own enterprise for enterprise users."""
    return [enterprise_json(access, e) for e in access.enterprises()]


@router.get("/enterprises/{slug}", summary="One enterprise with its sites, lines and equipment")
async def enterprise(slug: str, access: AccessDep) -> dict[str, Any]:
    """The caller's own enterprise's asset tree down to equipment."""
    cat = access.catalog
    e = access.own_enterprise(slug)
    out = enterprise_json(access, e)
    out["sites"] = [
        {
            "id": s.id,
            "slug": s.slug,
            "name": s.name,
            "timezone": s.timezone,
            "lines": [
                {
                    "id": ln.id,
                    "slug": ln.slug,
                    "name": ln.name,
                    "area": ln.area,
                    "stations": [
                        {
                            "id": st.id,
                            "slug": st.slug,
                            "name": st.name,
                            "position": st.position,
                            "operators": st.operators,
                            "equipment": [
                                {"id": q.id, "slug": q.slug, "name": q.name, "template": q.template}
                                for q in cat.equipment.values()
                                if q.station_id == st.id
                            ],
                        }
                        for st in sorted(
                            (x for x in cat.stations.values() if x.line_id == ln.id),
                            key=lambda x: (x.position, x.id),
                        )
                    ],
                }
                for ln in cat.lines.values()
                if ln.site_id == s.id
            ],
        }
        for s in cat.sites.values()
        if s.enterprise_id == e.id
    ]
    return out


@router.get("/equipment/{equipment_id}", summary="One equipment: signals, last values, state")
async def equipment(equipment_id: int, access: AccessDep) -> dict[str, Any]:
    """The equipment with each signal's latest value and its current state."""
    cat = access.catalog
    q = access.equipment(equipment_id)
    sig_ids = cat.signals_of.get(q.id, [])
    last = access.last_values(sig_ids).to_pydict()
    latest = dict(zip(last["series"], zip(last["ts_ms"], last["value"], strict=True), strict=True))
    st = access.current_states([q.id]).to_pylist()
    return {
        "id": q.id,
        "slug": q.slug,
        "name": q.name,
        "template": q.template,
        "ideal_cycle_s": q.ideal_cycle_s,
        "enterprise": cat.enterprises[q.enterprise_id].slug,
        "line": cat.line_of(q.id).name,
        "station": cat.stations[q.station_id].name,
        "state": (
            {
                "state": STATE_NAMES[st[0]["state"]],
                "since_ms": st[0]["ts_ms"],
                "reason": st[0]["reason"],
            }
            if st
            else None
        ),
        "signals": [
            {
                "id": sid,
                "name": cat.signals[sid].name,
                "unit": cat.signals[sid].unit,
                "lo": cat.signals[sid].lo,
                "hi": cat.signals[sid].hi,
                "last": (
                    {"ts_ms": latest[sid][0], "value": latest[sid][1]} if sid in latest else None
                ),
            }
            for sid in sig_ids
        ],
    }


ASSET_EXAMPLE = {
    "enterprises": [
        {
            "slug": "acme-auto",
            "name": "Acme Auto Parts",
            "district": "nanhai",
            "industry": "3670",
            "sites": [
                {
                    "slug": "nanhai-1",
                    "lines": [
                        {
                            "slug": "tandem-a",
                            "stations": [
                                {
                                    "slug": "op20",
                                    "equipment": [{"slug": "press-2", "template": "press"}],
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    ]
}


@router.post("/assets", summary="Create or update assets from an asset document")
async def import_assets(
    request: Request,
    rt: RuntimeDep,
    access: AccessDep,
    doc: dict[str, Any] = Body(..., examples=[ASSET_EXAMPLE]),  # noqa: B008
) -> dict[str, int]:
    """Upsert the document's assets atomically. An enterprise admin may only describe its own
    enterprise; the city admin may register any."""
    who = access.who
    if not who.may(Permission.MANAGE_ENTERPRISES):
        access.require(Permission.MANAGE_OWN_ASSETS)
        own = access.catalog.enterprises[who.enterprise_id or -1].slug
        ents = doc.get("enterprises")
        for i, ent in enumerate(ents if isinstance(ents, list) else []):
            if not isinstance(ent, dict) or ent.get("slug") != own:
                raise Forbidden(
                    f"an enterprise admin may only describe {own!r}",
                    where=f"body: enterprises[{i}].slug",
                )
    if not isinstance(doc.get("enterprises", []), list):
        raise BadInput("'enterprises' must be a list", where="body: enterprises")
    cat = await asyncio.to_thread(rt.store.import_assets, doc, where="body")
    rt.security.record(
        who,
        "assets_changed",
        detail=f"{len(doc.get('enterprises', []))} enterprise(s) imported",
        address=client_address(request),
    )
    return {
        "enterprises": len(cat.enterprises),
        "equipment": len(cat.equipment),
        "signals": len(cat.signals),
    }
