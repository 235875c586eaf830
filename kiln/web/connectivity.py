"""The connectivity page: the adapters this process runs, and what they refused, with why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from kiln.access import Access
from kiln.errors import Forbidden
from kiln.ingest.sparkplug.host import SparkplugHost
from kiln.ingest.sparkplug.mapping import enterprise_slug
from kiln.runtime import Runtime
from kiln.web.deps import RuntimeDep
from kiln.web.pages import forbidden
from kiln.web.rendering import render
from kiln.web.session import ViewerDep

router = APIRouter(include_in_schema=False)
SHOWN = 100  # newest refused messages listed; the API pages through the rest
PAYLOAD_CHARS = 120


def connectivity_page(rt: Runtime, access: Access) -> dict[str, Any]:
    """Adapters with their refusals since start, refusals per source, and the newest letters."""
    names = {e.id: e.name for e in rt.catalog.enterprises.values()}
    letters = []
    for r in access.dead_letters(limit=SHOWN).to_pylist():
        text = (r["payload"] or b"").decode("utf-8", errors="replace")
        letters.append(
            {
                **{k: r[k] for k in ("id", "ts_ms", "adapter", "source", "reason")},
                "payload": text[:PAYLOAD_CHARS] + ("…" if len(text) > PAYLOAD_CHARS else ""),
            }
        )
    return {
        "edge_nodes": _edge_nodes(rt, access),
        "adapters": [
            {"name": f"{a.kind}:{a.name}", "refused": rt.sink.refused[f"{a.kind}:{a.name}"]}
            for a in rt.adapters
        ],
        "counts": [
            {**r, "enterprise": names.get(r["enterprise_id"], "")}
            for r in access.dead_letter_counts().to_pylist()
        ],
        "letters": letters,
        "city_view": access.who.role.is_city,
    }


def _edge_nodes(rt: Runtime, access: Access) -> list[dict[str, Any]]:
    """The Sparkplug edge nodes of the viewer's enterprise (of every enterprise for the city
    admin: a node's status is not production data)."""
    who = access.who
    out = []
    for a in rt.adapters:
        if not isinstance(a, SparkplugHost):
            continue
        for n in a.edge_nodes():
            slug = enterprise_slug(n.group, a.cfg.enterprises)
            eid = rt.catalog.enterprise_by_slug.get(slug)
            if who.role.is_city or (eid is not None and who.owns(eid)):
                out.append(
                    {
                        "adapter": f"{a.kind}:{a.name}",
                        "group": n.group,
                        "node": n.node,
                        "online": n.online,
                        "stale": n.stale,
                        "bd_seq": n.bd_seq,
                        "devices": sum(n.devices.values()),
                        "devices_all": len(n.devices),
                        "last_seen_ms": n.last_seen_ms,
                        "rebirths": n.rebirths_requested,
                        "gaps": n.sequence_gaps,
                    }
                )
    return out


@router.get("/connectivity", response_class=HTMLResponse)
def connectivity(request: Request, rt: RuntimeDep, who: ViewerDep) -> HTMLResponse:
    """What the ingest adapters run and refused, for the viewer's enterprise (or the city
    admin's view of messages that named no enterprise)."""
    access = Access(rt.store, who, now_ms=rt.clock.now_ms())
    try:
        page = connectivity_page(rt, access)
    except Forbidden:
        return forbidden(request, who)
    return render(request, "connectivity.html", page, who)
