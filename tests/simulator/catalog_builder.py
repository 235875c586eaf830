"""A stand-in for the store: give a document's assets ids and index them in an AssetCatalog."""

from __future__ import annotations

from typing import Any

from kiln.domain.assets import Enterprise, Equipment, Line, Signal, Site, Station
from kiln.domain.catalog import AssetCatalog
from kiln.domain.templates import TEMPLATES


def catalog_of(doc: dict[str, Any]) -> AssetCatalog:
    """Number every asset of the document in document order, one gauge signal per template spec."""
    rows: dict[str, list[Any]] = {k: [] for k in ("ent", "site", "line", "station", "eq", "sig")}
    for e in doc["enterprises"]:
        eid = len(rows["ent"]) + 1
        rows["ent"].append(
            Enterprise(eid, e["slug"], e["name"], e["district"], e["industry"], e["robot_maker"])
        )
        for s in e["sites"]:
            sid = len(rows["site"]) + 1
            rows["site"].append(Site(sid, eid, s["slug"], s["name"], s["timezone"]))
            for ln in s["lines"]:
                lid = len(rows["line"]) + 1
                rows["line"].append(Line(lid, eid, sid, ln["slug"], ln["name"], ln["area"]))
                for st in ln["stations"]:
                    _station(rows, eid, lid, st)
    return AssetCatalog.build(
        rows["ent"], rows["site"], rows["line"], rows["station"], rows["eq"], rows["sig"]
    )


def _station(rows: dict[str, list[Any]], eid: int, lid: int, st: dict[str, Any]) -> None:
    tid = len(rows["station"]) + 1
    rows["station"].append(
        Station(tid, eid, lid, st["slug"], st["name"], st["position"], st["operators"])
    )
    for q in st["equipment"]:
        qid = len(rows["eq"]) + 1
        rows["eq"].append(
            Equipment(qid, eid, tid, q["slug"], q["name"], q["template"], q["ideal_cycle_s"])
        )
        for spec in TEMPLATES[q["template"]].signals:
            sig_id = len(rows["sig"]) + 1
            rows["sig"].append(
                Signal(sig_id, eid, qid, spec.name, spec.unit, "gauge", spec.lo, spec.hi)
            )
