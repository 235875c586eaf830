"""Where a page sits in the city: breadcrumbs for any asset, the groups an enterprise belongs
to (district, industry), and the registry's counts, kept per catalogue version.

City → district → enterprise → site → line → station → equipment is the path the pages drill
down; an industry sits beside the district (the same enterprises, cut another way). Labels
that are words rather than names ("City") carry `translate`, so the template passes them
through the message catalogue; names of assets are shown as they were registered.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kiln.domain.assets import FOSHAN_DISTRICTS, District, Enterprise
from kiln.domain.catalog import AssetCatalog
from kiln.domain.industries import INDUSTRIES, KEY_INDUSTRIES, key_industry_of

DISTRICTS: dict[str, District] = {d.code: d for d in FOSHAN_DISTRICTS}
KEYS = {k.key: k for k in KEY_INDUSTRIES}


def crumb(
    label: str, href: str | None, label_zh: str = "", *, translate: bool = False
) -> dict[str, Any]:
    """One step of a breadcrumb trail; the last step (the page itself) has no link."""
    return {"label": label, "label_zh": label_zh, "href": href, "translate": translate}


def city_crumbs() -> list[dict[str, Any]]:
    """The first step of every trail: the city overview."""
    return [crumb("City", "/", translate=True)]


def district_crumbs(code: str) -> list[dict[str, Any]]:
    """City › district."""
    d = DISTRICTS.get(code)
    label, zh = (d.name_en, d.name_zh) if d else (code, "")
    return [*city_crumbs(), crumb(label, f"/districts/{code}", zh)]


def industry_crumbs(group: IndustryGroup) -> list[dict[str, Any]]:
    """City › industry."""
    return [*city_crumbs(), crumb(group.name_en, f"/industries/{group.code}", group.name_zh)]


def enterprise_crumbs(ent: Enterprise) -> list[dict[str, Any]]:
    """City › district › enterprise."""
    return [*district_crumbs(ent.district), crumb(ent.name, f"/enterprises/{ent.slug}")]


def asset_crumbs(cat: AssetCatalog, kind: str, asset_id: int) -> list[dict[str, Any]]:
    """The trail from the city down to one asset of the catalogue, the asset last (unlinked).

    kind is one of site, line, station, equipment (by id), or enterprise (by id).
    """
    trail: list[dict[str, Any]] = []
    if kind == "equipment":
        q = cat.equipment[asset_id]
        trail.append(crumb(q.name, f"/equipment/{q.id}"))
        kind, asset_id = "station", q.station_id
    if kind == "station":
        st = cat.stations[asset_id]
        trail.append(crumb(st.name, f"/stations/{st.id}"))
        kind, asset_id = "line", st.line_id
    if kind == "line":
        ln = cat.lines[asset_id]
        trail.append(crumb(ln.name, f"/lines/{ln.id}"))
        kind, asset_id = "site", ln.site_id
    if kind == "site":
        s = cat.sites[asset_id]
        slug = cat.enterprises[s.enterprise_id].slug
        trail.append(crumb(s.name, f"/enterprises/{slug}/sites/{s.slug}"))
        kind, asset_id = "enterprise", s.enterprise_id
    if kind != "enterprise":
        raise ValueError(f"kind: {kind!r} is not an asset level")
    return [*enterprise_crumbs(cat.enterprises[asset_id]), *reversed(trail)]


def current_page(trail: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The trail with its last step marked as the page itself (no link)."""
    if not trail:
        return trail
    return [*trail[:-1], {**trail[-1], "href": None}]


# -- industries --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndustryGroup:
    """An industry page's enterprises: a key industry (its prefixes) or a GB/T 4754 code."""

    code: str  # as in the address: "ceramics", "C3852", "C38"
    name_en: str
    name_zh: str
    prefixes: tuple[str, ...]

    def holds(self, industry_code: str) -> bool:
        """Whether an enterprise filed under this class belongs to the group."""
        return industry_code.startswith(self.prefixes)


def industry_group(code: str) -> IndustryGroup | None:
    """The group an industry address names: a key industry's key, or a GB/T 4754 code of
    section C with or without its letter (2 to 4 digits); None for anything else.

    >>> industry_group("ceramics").prefixes
    ('30',)
    >>> industry_group("3852").code, industry_group("c3852").name_en
    ('C3852', 'Household air conditioners')
    >>> industry_group("C9") is None, industry_group("other") is None
    (True, True)
    """
    if code in KEYS:
        k = KEYS[code]
        return IndustryGroup(k.key, k.name_en, k.name_zh, k.prefixes)
    digits = code[1:] if code[:1] in ("C", "c") else code
    if not (digits.isdigit() and 2 <= len(digits) <= 4):
        return None
    known = INDUSTRIES.get(digits)
    name_en = known.name_en if known else f"GB/T 4754 C{digits}"
    return IndustryGroup(f"C{digits}", name_en, known.name_zh if known else "", (digits,))


def industry_of(code: str) -> dict[str, Any]:
    """An enterprise's industry as the pages show it: class code, names, key industry."""
    key = key_industry_of(code)
    cls = INDUSTRIES.get(code)
    return {
        "code": f"C{code}",
        "name_en": cls.name_en if cls else f"C{code}",
        "name_zh": cls.name_zh if cls else "",
        "key": key.key if key else "other",
    }


def district_of(code: str) -> dict[str, str]:
    """A district as the pages show it: code and names."""
    d = DISTRICTS.get(code)
    return {"code": code, "name_en": d.name_en if d else code, "name_zh": d.name_zh if d else ""}


# -- the registry's counts, per catalogue ------------------------------------------------------


@dataclass(slots=True)
class Registry:
    """What the city and group pages count, computed once per catalogue: equipment per
    enterprise, enterprises per district and key industry, equipment ids per enterprise."""

    equipment_of: dict[int, list[int]] = field(default_factory=dict)
    by_district: Counter[str] = field(default_factory=Counter)
    by_key: Counter[str] = field(default_factory=Counter)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)  # table row per enterprise


def build_registry(cat: AssetCatalog) -> Registry:
    """One pass over the enterprises and one over the equipment."""
    reg = Registry()
    for q in cat.equipment.values():
        reg.equipment_of.setdefault(q.enterprise_id, []).append(q.id)
    for e in cat.enterprises.values():
        reg.by_district[e.district] += 1
        industry = industry_of(e.industry_code)
        reg.by_key[industry["key"]] += 1
        reg.rows[e.id] = {
            "id": e.id,
            "slug": e.slug,
            "name": e.name,
            "name_zh": e.name_zh,
            "district": district_of(e.district),
            "industry": industry,
            "equipment": len(reg.equipment_of.get(e.id, [])),
        }
    return reg


_lock = threading.Lock()
_current: tuple[AssetCatalog, Registry] | None = None


def registry(cat: AssetCatalog) -> Registry:
    """The counts of this catalogue, rebuilt when the store hands out a new one."""
    global _current
    found = _current
    if found is not None and found[0] is cat:
        return found[1]
    with _lock:
        if _current is None or _current[0] is not cat:
            _current = (cat, build_registry(cat))
        return _current[1]
