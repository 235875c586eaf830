"""Auto-registration: equipment that a BIRTH speaks for and the catalogue lacks, created
through the Sink with an asset document, for the enterprises the settings allow.

The document keeps the existing enterprise, site, line and station rows as they are and adds
a station and the equipment: site and area from the group's second and third parts (site
``sparkplug`` when absent), line = edge node, station = equipment = device (or the edge node
for node-level metrics). The template comes from the BIRTH's ``meta/template`` metric, else
from the template sharing the most signal names with it. Asset documents add signals only
through templates, so a signal outside the template stays unknown (and is said so).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kiln.domain.assets import SLUG
from kiln.domain.catalog import AssetCatalog
from kiln.domain.templates import TEMPLATES
from kiln.ingest.sink import Sink
from kiln.ingest.sparkplug.codec import Birth, Columns, MetricTable
from kiln.ingest.sparkplug.mapping import Target, classify

TEMPLATE_METRIC = "meta/template"  # optional String in a BIRTH: the template to register with


async def register_equipment(
    sink: Sink,
    catalog: AssetCatalog,
    enterprise: str,
    group: str,
    node: str,
    equipment: str,
    birth: Birth,
    *,
    where: str,
) -> tuple[AssetCatalog | None, str]:
    """Register the equipment if the catalogue lacks it and the BIRTH carries data: (the new
    catalogue, ""), or (None, why not) when it cannot, or (None, "") when nothing is needed."""
    ent_id = catalog.enterprise_by_slug.get(enterprise)
    if ent_id is not None and (ent_id, equipment) in catalog.equipment_by_path:
        return None, ""
    table = birth.table
    if all(
        classify(name, int(table.kind[j]))[0] is Target.SKIP for j, name in enumerate(table.names)
    ):
        return None, ""  # a node with only protocol metrics needs no equipment
    template, why = choose_template(table, birth.columns)
    doc = None
    if template is not None:
        doc, why = registration_doc(catalog, enterprise, group, node, equipment, template)
    if doc is None:
        return None, f"cannot register equipment {equipment!r}: {why}"
    return await sink.register(doc, where=where), ""


def choose_template(table: MetricTable, cols: Columns) -> tuple[str | None, str]:
    """The template for a new equipment: the BIRTH's ``meta/template`` if it names one, else
    the one template sharing the most signal names with the BIRTH; (None, why) if none fits."""
    j = table.by_name.get(TEMPLATE_METRIC)
    if j is not None:
        at = np.flatnonzero(cols.index == j)
        key = cols.text.get(int(at[0]), "") if len(at) else ""
        if key in TEMPLATES:
            return key, ""
        return None, f"{TEMPLATE_METRIC} {key!r} is not a known template"
    signals = {
        sig
        for j, name in enumerate(table.names)
        for tgt, sig, _ in [classify(name, int(table.kind[j]))]
        if tgt is Target.POINT
    }
    scores = sorted(
        ((len(signals & {s.name for s in t.signals}), key) for key, t in TEMPLATES.items()),
        reverse=True,
    )
    if not scores or scores[0][0] == 0:
        return None, "no template has any of its signals"
    if len(scores) > 1 and scores[1][0] == scores[0][0]:
        return None, f"templates {scores[0][1]!r} and {scores[1][1]!r} fit equally well"
    return scores[0][1], ""


def registration_doc(
    catalog: AssetCatalog,
    enterprise: str,
    group: str,
    node: str,
    equipment: str,
    template: str,
) -> tuple[dict[str, Any] | None, str]:
    """An asset document adding one equipment: site and area from the group's 2nd and 3rd
    parts (``sparkplug`` when absent), line = edge node, station = equipment. Existing rows
    keep their names and settings. (None, why) when it cannot be built."""
    ent_id = catalog.enterprise_by_slug.get(enterprise)
    if ent_id is None:
        return None, f"unknown enterprise {enterprise!r} (auto-registration adds equipment only)"
    for what, slug in (("edge node id", node), ("device id", equipment)):
        if not SLUG.match(slug):
            return None, f"{what} {slug!r} is not a slug (lower-case letters, digits and '-')"
    parts = group.split(".")
    site_slug = parts[1] if len(parts) > 1 and SLUG.match(parts[1]) else "sparkplug"
    area = parts[2] if len(parts) > 2 else ""
    ent = catalog.enterprises[ent_id]
    site = next(
        (s for s in catalog.sites.values() if s.enterprise_id == ent_id and s.slug == site_slug),
        None,
    )
    line = site and next(
        (x for x in catalog.lines.values() if x.site_id == site.id and x.slug == node), None
    )
    station = line and next(
        (s for s in catalog.stations.values() if s.line_id == line.id and s.slug == equipment),
        None,
    )
    st: dict[str, Any] = {
        "slug": equipment,
        "name": station.name if station else equipment,
        "position": station.position if station else 0,
        "operators": station.operators if station else 0,
        "equipment": [{"slug": equipment, "name": equipment, "template": template}],
    }
    ln: dict[str, Any] = {
        "slug": node,
        "name": line.name if line else node,
        "area": line.area if line else area,
        "stations": [st],
    }
    doc_site = {
        "slug": site_slug,
        "name": site.name if site else site_slug,
        "timezone": site.timezone if site else "Asia/Shanghai",
        "lines": [ln],
    }
    doc_ent = {
        "slug": ent.slug,
        "name": ent.name,
        "name_zh": ent.name_zh,
        "district": ent.district,
        "industry": ent.industry_code,
        "robot_maker": ent.robot_maker,
        "sites": [doc_site],
    }
    return {"enterprises": [doc_ent]}, ""
