"""Asset rows from a parsed asset document, per table, with the ids of known assets kept and
new ones handed out: the same for every backend (each only inserts them its own way)."""

from __future__ import annotations

from typing import Any

from kiln.domain.asset_document import AssetTree
from kiln.domain.catalog import AssetCatalog
from kiln.domain.templates import TEMPLATES

TABLES = ("enterprises", "sites", "lines", "stations", "equipment", "signals")


class Ids:
    """Hands out ids: the existing one for a known key, else the next free one."""

    def __init__(self, existing: dict[Any, int]) -> None:
        self.existing = existing
        self.next = max(existing.values(), default=0) + 1

    def __call__(self, key: Any) -> int:
        """The id of key: its own if known, else a new one."""
        if key not in self.existing:
            self.existing[key] = self.next
            self.next += 1
        return self.existing[key]


def asset_rows(tree: AssetTree, cat: AssetCatalog) -> dict[str, list[tuple[Any, ...]]]:
    """The row of each asset of the tree, per table, with ids kept for known assets."""
    ent_ids = Ids(dict(cat.enterprise_by_slug))
    site_ids = Ids({(s.enterprise_id, s.slug): s.id for s in cat.sites.values()})
    line_ids = Ids({(ln.site_id, ln.slug): ln.id for ln in cat.lines.values()})
    st_ids = Ids({(s.line_id, s.slug): s.id for s in cat.stations.values()})
    eq_ids = Ids(dict(cat.equipment_by_path))
    sig_ids = Ids(dict(cat.series_by_name))
    out: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
    for e in tree.enterprises:
        out["enterprises"].append(
            (
                ent_ids(e["slug"]),
                e["slug"],
                e["name"],
                e["name_zh"],
                e["district"],
                e["industry_code"],
                e["robot_maker"],
            )
        )
    for s in tree.sites:
        eid = ent_ids(s["enterprise"])
        sid = site_ids((eid, s["slug"]))
        out["sites"].append((sid, eid, s["slug"], s["name"], s["timezone"], s["calendar"].text))
    for ln in tree.lines:
        eid = ent_ids(ln["enterprise"])
        sid = site_ids((eid, ln["site"]))
        lid = line_ids((sid, ln["slug"]))
        out["lines"].append((lid, eid, sid, ln["slug"], ln["name"], ln["area"]))
    for st in tree.stations:
        eid = ent_ids(st["enterprise"])
        lid = line_ids((site_ids((eid, st["site"])), st["line"]))
        out["stations"].append(
            (
                st_ids((lid, st["slug"])),
                eid,
                lid,
                st["slug"],
                st["name"],
                st["position"],
                st["operators"],
            )
        )
    for q in tree.equipment:
        eid = ent_ids(q.enterprise)
        stid = st_ids((line_ids((site_ids((eid, q.site)), q.line)), q.station))
        qid = eq_ids((eid, q.slug))
        tmpl = TEMPLATES[q.template]
        out["equipment"].append(
            (qid, eid, stid, q.slug, q.name, q.template, q.ideal_cycle_s or tmpl.ideal_cycle_s)
        )
        for spec in tmpl.signals:
            out["signals"].append(
                (
                    sig_ids((qid, spec.name)),
                    eid,
                    qid,
                    spec.name,
                    spec.unit,
                    spec.kind,
                    spec.lo,
                    spec.hi,
                )
            )
    return out
