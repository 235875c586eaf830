"""Assets: districts, templates, enterprises and their trees, equipment, asset documents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from kiln.api.deps import RuntimeDep
from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.domain.catalog import AssetCatalog
from kiln.domain.industries import INDUSTRIES, key_industry_of
from kiln.domain.states import STATE_NAMES
from kiln.domain.templates import TEMPLATES
from kiln.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["assets"])


def enterprise_json(cat: AssetCatalog, eid: int) -> dict[str, Any]:
    """An enterprise with its industry, key industry and equipment count."""
    e = cat.enterprises[eid]
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
        "equipment": sum(1 for q in cat.equipment.values() if q.enterprise_id == eid),
    }


def _enterprise_id(cat: AssetCatalog, slug: str) -> int:
    eid = cat.enterprise_by_slug.get(slug)
    if eid is None:
        raise NotFound(f"no enterprise {slug!r}", where="path: enterprise")
    return eid


@router.get("/districts", summary="The city's districts")
async def districts() -> list[dict[str, Any]]:
    """Foshan's five districts."""
    return [{"code": d.code, "name_en": d.name_en, "name_zh": d.name_zh} for d in FOSHAN_DISTRICTS]


@router.get("/templates", summary="Equipment templates with their signals")
async def templates() -> list[dict[str, Any]]:
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


@router.get("/enterprises", summary="All enterprises")
async def enterprises(rt: RuntimeDep) -> list[dict[str, Any]]:
    """Every enterprise with its district and industry."""
    cat = rt.catalog
    return [enterprise_json(cat, eid) for eid in sorted(cat.enterprises)]


@router.get("/enterprises/{slug}", summary="One enterprise with its sites, lines and equipment")
async def enterprise(slug: str, rt: RuntimeDep) -> dict[str, Any]:
    """The enterprise's asset tree down to equipment."""
    cat = rt.catalog
    eid = _enterprise_id(cat, slug)
    out = enterprise_json(cat, eid)
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
        if s.enterprise_id == eid
    ]
    return out


@router.get("/equipment/{equipment_id}", summary="One equipment: signals, last values, state")
async def equipment(equipment_id: int, rt: RuntimeDep) -> dict[str, Any]:
    """The equipment with each signal's latest value and its current state."""
    cat = rt.catalog
    q = cat.equipment.get(equipment_id)
    if q is None:
        raise NotFound(f"no equipment {equipment_id}", where="path: equipment_id")
    sig_ids = cat.signals_of.get(q.id, [])
    last = rt.store.last_values(sig_ids).to_pydict()
    latest = dict(zip(last["series"], zip(last["ts_ms"], last["value"], strict=True), strict=True))
    st = rt.store.current_states([q.id]).to_pylist()
    line = cat.line_of(q.id)
    ent = cat.enterprises[q.enterprise_id]
    return {
        "id": q.id,
        "slug": q.slug,
        "name": q.name,
        "template": q.template,
        "ideal_cycle_s": q.ideal_cycle_s,
        "enterprise": ent.slug,
        "line": line.name,
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


@router.post("/assets", summary="Create or update assets from an asset document")
async def import_assets(
    rt: RuntimeDep,
    doc: dict[str, Any] = Body(  # noqa: B008
        ...,
        examples=[
            {
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
                                                "equipment": [
                                                    {"slug": "press-2", "template": "press"}
                                                ],
                                            }
                                        ],
                                    }
                                ],
                            }
                        ],
                    }
                ]
            }
        ],
    ),
) -> dict[str, int]:
    """Upsert the document's assets atomically; answers the catalogue's new sizes."""
    import asyncio

    cat = await asyncio.to_thread(rt.store.import_assets, doc, where="body")
    return {
        "enterprises": len(cat.enterprises),
        "equipment": len(cat.equipment),
        "signals": len(cat.signals),
    }
