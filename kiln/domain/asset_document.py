"""Asset documents: the nested TOML/YAML/JSON form of an asset tree, validated into flat rows.

The document nests enterprise → site → line → station → equipment; ids are assigned by the store.
Every error names the path of the bad item, e.g. ``enterprises[2].sites[0].lines[1].slug``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiln.domain.assets import (
    BREAKS,
    FOSHAN_DISTRICTS,
    HOLIDAYS,
    SHIFT_PATTERNS,
    WORKDAYS,
    SiteCalendar,
    check_slug,
)
from kiln.domain.industries import validate_code
from kiln.domain.templates import TEMPLATES
from kiln.errors import BadInput

DISTRICT_CODES = {d.code for d in FOSHAN_DISTRICTS}


@dataclass(slots=True)
class EquipmentSpec:
    """One equipment of the document, with the slugs of its parents."""

    enterprise: str
    site: str
    line: str
    station: str
    slug: str
    name: str
    template: str
    ideal_cycle_s: float | None


@dataclass(slots=True)
class AssetTree:
    """A validated document, flattened level by level (parents before children)."""

    enterprises: list[dict[str, Any]] = field(default_factory=list)
    sites: list[dict[str, Any]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)
    stations: list[dict[str, Any]] = field(default_factory=list)
    equipment: list[EquipmentSpec] = field(default_factory=list)


def _get(item: dict[str, Any], key: str, kind: type, where: str, default: Any = ...) -> Any:
    if key not in item:
        if default is ...:
            raise BadInput(f"missing {key!r}", where=where)
        return default
    value = item[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadInput(f"{key!r} must be {kind.__name__}, got {value!r}", where=where)
    return value


def _children(item: dict[str, Any], key: str, where: str) -> list[tuple[str, dict[str, Any]]]:
    value = item.get(key, [])
    if not isinstance(value, list):
        raise BadInput(f"{key!r} must be a list", where=where)
    out = []
    for i, child in enumerate(value):
        path = f"{where}.{key}[{i}]" if where else f"{key}[{i}]"
        if not isinstance(child, dict):
            raise BadInput("must be a table/mapping", where=path)
        out.append((path, child))
    return out


def _slug(item: dict[str, Any], where: str) -> str:
    slug = _get(item, "slug", str, where)
    try:
        return check_slug(slug, where=f"{where}.slug")
    except ValueError as err:
        raise BadInput(str(err).split(": ", 1)[1], where=f"{where}.slug") from None


def _enterprise(item: dict[str, Any], where: str) -> dict[str, Any]:
    district = _get(item, "district", str, where)
    if district not in DISTRICT_CODES:
        known = ", ".join(sorted(DISTRICT_CODES))
        raise BadInput(f"unknown district {district!r}; known: {known}", where=f"{where}.district")
    try:
        code = validate_code(str(_get(item, "industry", str, where)))
    except ValueError as err:
        raise BadInput(str(err), where=f"{where}.industry") from None
    slug = _slug(item, where)
    return {
        "slug": slug,
        "name": _get(item, "name", str, where, slug),
        "name_zh": _get(item, "name_zh", str, where, ""),
        "district": district,
        "industry_code": code,
        "robot_maker": _get(item, "robot_maker", bool, where, False),
    }


def _timezone(site: dict[str, Any], where: str) -> str:
    zone: str = _get(site, "timezone", str, where, "Asia/Shanghai")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"unknown time zone {zone!r}", where=f"{where}.timezone") from None
    return zone


def _calendar(site: dict[str, Any], where: str) -> SiteCalendar:
    """The site's shift calendar keys (shifts, workdays, holidays, breaks), each checked."""
    default = SiteCalendar()
    keys = {}
    for key, allowed in (
        ("shifts", SHIFT_PATTERNS),
        ("workdays", tuple(WORKDAYS)),
        ("holidays", HOLIDAYS),
        ("breaks", BREAKS),
    ):
        value = _get(site, key, str, where, getattr(default, key))
        if value not in allowed:
            raise BadInput(f"{value!r} is not one of {', '.join(allowed)}", where=f"{where}.{key}")
        keys[key] = value
    return SiteCalendar(**keys)


def parse_asset_document(doc: object, *, where: str = "assets") -> AssetTree:
    """Validate a document and flatten it; raise BadInput naming the first bad item's path."""
    if not isinstance(doc, dict):
        raise BadInput("an asset document must be a mapping with 'enterprises'", where=where)
    tree = AssetTree()
    seen_equipment: set[tuple[str, str]] = set()
    for ep, ent in _children(doc, "enterprises", ""):
        e = _enterprise(ent, f"{where}: {ep}")
        tree.enterprises.append(e)
        for sp, site in _children(ent, "sites", ep):
            w = f"{where}: {sp}"
            s = {
                "enterprise": e["slug"],
                "slug": _slug(site, w),
                "name": _get(site, "name", str, w, site.get("slug")),
                "timezone": _timezone(site, w),
                "calendar": _calendar(site, w),
            }
            tree.sites.append(s)
            for lp, line in _children(site, "lines", sp):
                w = f"{where}: {lp}"
                ln = {
                    "enterprise": e["slug"],
                    "site": s["slug"],
                    "slug": _slug(line, w),
                    "name": _get(line, "name", str, w, line.get("slug")),
                    "area": _get(line, "area", str, w, ""),
                }
                tree.lines.append(ln)
                for stp, st in _children(line, "stations", lp):
                    _station(tree, e["slug"], s["slug"], ln["slug"], st, where, stp, seen_equipment)
    return tree


def _station(
    tree: AssetTree,
    ent: str,
    site: str,
    line: str,
    st: dict[str, Any],
    where: str,
    path: str,
    seen: set[tuple[str, str]],
) -> None:
    w = f"{where}: {path}"
    slug = _slug(st, w)
    operators = _get(st, "operators", int, w, 0)
    if operators < 0:
        raise BadInput("'operators' must be >= 0", where=f"{w}.operators")
    tree.stations.append(
        {
            "enterprise": ent,
            "site": site,
            "line": line,
            "slug": slug,
            "name": _get(st, "name", str, w, slug),
            "position": _get(st, "position", int, w, 0),
            "operators": operators,
        }
    )
    for qp, eq in _children(st, "equipment", path):
        wq = f"{where}: {qp}"
        eslug = _slug(eq, wq)
        if (ent, eslug) in seen:
            raise BadInput(f"equipment {eslug!r} appears twice in enterprise {ent!r}", where=wq)
        seen.add((ent, eslug))
        tmpl = _get(eq, "template", str, wq)
        if tmpl not in TEMPLATES:
            raise BadInput(
                f"unknown template {tmpl!r}; known: {', '.join(TEMPLATES)}", where=f"{wq}.template"
            )
        cycle = _get(eq, "ideal_cycle_s", float, wq, None)
        if cycle is not None and not cycle > 0:
            raise BadInput("'ideal_cycle_s' must be > 0", where=f"{wq}.ideal_cycle_s")
        tree.equipment.append(
            EquipmentSpec(
                ent, site, line, slug, eslug, _get(eq, "name", str, wq, eslug), tmpl, cycle
            )
        )
