"""Find assets by name or code: an in-memory index of the catalogue, one per catalogue version.

The API (`/api/v1/search`) and the search page both ask it, and they sit in independent
layers, so the index lives here. Each entry belongs to an enterprise or to nobody (districts
and industries); whoever asks passes the scope they may see, and the index never returns an
entry outside it. The catalogue is rebuilt (a new object) whenever assets change, so the index
is rebuilt when the catalogue it was built from is no longer the current one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.domain.catalog import AssetCatalog
from kiln.domain.industries import INDUSTRIES, KEY_INDUSTRIES

KINDS = ("district", "industry", "enterprise", "site", "line", "station", "equipment")
MAX_QUERY = 100  # characters; a longer query names nothing


@dataclass(frozen=True, slots=True)
class Hit:
    """One asset found: its kind, how it is named, the code it goes by, and its page."""

    kind: str
    name: str
    name_zh: str
    code: str
    url: str
    enterprise_id: int | None  # None: a district or an industry, seen by everyone
    context: str = ""  # where it is: "Acme Auto Parts › Nanhai plant 1"

    def as_json(self) -> dict[str, str]:
        """The hit as the API answers it (no enterprise id: the caller knows its scope)."""
        return {
            "kind": self.kind,
            "name": self.name,
            "name_zh": self.name_zh,
            "code": self.code,
            "url": self.url,
            "context": self.context,
        }


@dataclass(frozen=True, slots=True)
class Scope:
    """What a caller may find: every enterprise's registry entry (the city) or one enterprise's
    whole tree (its own users). Nobody else's sites, lines, stations or equipment."""

    registry: bool  # enterprise names and codes of the whole city
    enterprise_id: int | None  # whose tree, below the enterprise, may be found


@dataclass(slots=True)
class _Entry:
    hit: Hit
    keys: tuple[str, ...]  # lower-case name, Chinese name, code(s)


@dataclass(slots=True)
class SearchIndex:
    """Entries by owner: shared ones (districts, industries), enterprises, and each
    enterprise's tree, so a search scans only what its caller may see."""

    shared: list[_Entry] = field(default_factory=list)
    enterprises: list[_Entry] = field(default_factory=list)
    trees: dict[int, list[_Entry]] = field(default_factory=dict)

    def search(self, query: str, scope: Scope, *, limit: int = 50) -> tuple[list[Hit], int]:
        """Hits for the query within the scope, best first (exact code, then a name or code
        that starts with it, then one containing it), and how many there were in all.

        >>> idx = build_index(AssetCatalog())
        >>> [h.name for h in idx.search("nanhai", Scope(True, None))[0]]
        ['Nanhai']
        >>> hits, total = idx.search("C36", Scope(False, None))
        >>> hits[0].code, hits[0].url, total
        ('C36', '/industries/automobile', 5)
        """
        q = " ".join(query.lower().split())[:MAX_QUERY]
        if not q:
            return [], 0
        pools: list[Iterable[_Entry]] = [self.shared]
        if scope.registry:
            pools.append(self.enterprises)
        elif scope.enterprise_id is not None:
            pools.append(e for e in self.enterprises if e.hit.enterprise_id == scope.enterprise_id)
        if scope.enterprise_id is not None:
            pools.append(self.trees.get(scope.enterprise_id, []))
        ranked: list[tuple[int, int, str, Hit]] = []
        for pool in pools:
            for entry in pool:
                rank = _rank(entry.keys, q)
                if rank < 3:
                    ranked.append((rank, KINDS.index(entry.hit.kind), entry.hit.name, entry.hit))
        ranked.sort(key=lambda r: (r[0], r[1], r[2].lower()))
        return [_for(scope, r[3]) for r in ranked[:limit]], len(ranked)


def _for(scope: Scope, hit: Hit) -> Hit:
    """The hit as this caller sees it: another enterprise's entry (the city's registry view)
    has no page the caller may open, so no link."""
    if hit.enterprise_id is None or hit.enterprise_id == scope.enterprise_id:
        return hit
    return replace(hit, url="")


def _rank(keys: tuple[str, ...], q: str) -> int:
    """0 when a key is the query, 1 when one starts with it, 2 when one contains it, else 3."""
    best = 3
    for k in keys:
        if k == q:
            return 0
        if k.startswith(q):
            best = 1
        elif best > 2 and q in k:
            best = 2
    return best


def _entry(hit: Hit, *codes: str) -> _Entry:
    keys = {hit.name.lower(), hit.name_zh.lower(), *(c.lower() for c in codes if c)}
    keys.discard("")
    return _Entry(hit, tuple(sorted(keys)))


def _shared_entries() -> list[_Entry]:
    out = [
        _entry(Hit("district", d.name_en, d.name_zh, d.code, f"/districts/{d.code}", None), d.code)
        for d in FOSHAN_DISTRICTS
    ]
    for k in KEY_INDUSTRIES:
        code = f"C{k.prefixes[0]}"
        hit = Hit("industry", k.name_en, k.name_zh, code, f"/industries/{k.key}", None)
        out.append(_entry(hit, k.key, *(f"C{p}" for p in k.prefixes), *k.prefixes))
    for ind in INDUSTRIES.values():
        url = f"/industries/{ind.display_code}"
        hit = Hit("industry", ind.name_en, ind.name_zh, ind.display_code, url, None)
        out.append(_entry(hit, ind.display_code, ind.code))
    return out


def build_index(cat: AssetCatalog) -> SearchIndex:
    """Index every asset of the catalogue (10,000 enterprises with their trees in well
    under a second: one pass per level, no lookups by name)."""
    idx = SearchIndex(shared=_shared_entries())
    districts = {d.code: d.name_en for d in FOSHAN_DISTRICTS}
    for e in cat.enterprises.values():
        where = districts.get(e.district, e.district)
        url = f"/enterprises/{e.slug}"
        idx.enterprises.append(
            _entry(Hit("enterprise", e.name, e.name_zh, e.slug, url, e.id, where), e.slug)
        )
    names = {e.id: e.name for e in cat.enterprises.values()}
    slugs = {e.id: e.slug for e in cat.enterprises.values()}
    site_path: dict[int, str] = {}
    for s in cat.sites.values():
        site_path[s.id] = f"{names.get(s.enterprise_id, '')} › {s.name}"
        url = f"/enterprises/{slugs.get(s.enterprise_id, '')}/sites/{s.slug}"
        hit = Hit("site", s.name, "", s.slug, url, s.enterprise_id, names.get(s.enterprise_id, ""))
        idx.trees.setdefault(s.enterprise_id, []).append(_entry(hit, s.slug))
    line_path: dict[int, str] = {}
    for ln in cat.lines.values():
        line_path[ln.id] = f"{site_path.get(ln.site_id, '')} › {ln.name}"
        where = site_path.get(ln.site_id, "")
        hit = Hit("line", ln.name, "", ln.slug, f"/lines/{ln.id}", ln.enterprise_id, where)
        idx.trees.setdefault(ln.enterprise_id, []).append(_entry(hit, ln.slug))
    station_path: dict[int, str] = {}
    for st in cat.stations.values():
        station_path[st.id] = f"{line_path.get(st.line_id, '')} › {st.name}"
        where = line_path.get(st.line_id, "")
        hit = Hit("station", st.name, "", st.slug, f"/stations/{st.id}", st.enterprise_id, where)
        idx.trees.setdefault(st.enterprise_id, []).append(_entry(hit, st.slug))
    for q in cat.equipment.values():
        where = station_path.get(q.station_id, "")
        hit = Hit("equipment", q.name, "", q.slug, f"/equipment/{q.id}", q.enterprise_id, where)
        idx.trees.setdefault(q.enterprise_id, []).append(_entry(hit, q.slug))
    return idx


_lock = threading.Lock()
_current: tuple[AssetCatalog, SearchIndex] | None = None


def search_index(cat: AssetCatalog) -> SearchIndex:
    """The index of this catalogue: built once, rebuilt when the store hands out a new
    catalogue (it builds a new object whenever assets change)."""
    global _current
    found = _current
    if found is not None and found[0] is cat:
        return found[1]
    with _lock:
        if _current is None or _current[0] is not cat:
            _current = (cat, build_index(cat))
        return _current[1]
