"""The unified namespace (domain.md 2.1): what an MQTT topic names, resolved through the catalogue.

::

    {root}/{enterprise}/{site}/{area}/{line}/{station}/{equipment}/{class}[/{signal}]
    fs/v1/acme-auto/nanhai-1/press-shop/tandem-a/op20/press-2/telemetry/tonnage_kn
    fs/v1/acme-auto/nanhai-1/press-shop/tandem-a/op20/press-2/telemetry   (several signals)
    fs/v1/acme-auto/_batch                                                (Kiln's JSON batch)

The class is the last level or the one before it. Equipment slugs are unique within an
enterprise, so (enterprise, equipment) finds the equipment; the site, area, line and station
levels between them are informational (up to four, not checked), which also admits publishers
that leave the area out. ``alarm`` and ``kpi`` topics belong to the namespace but carry nothing
Kiln ingests here; they are skipped, not refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiln.domain.catalog import AssetCatalog

CLASSES = ("telemetry", "state", "count", "alarm", "kpi")
SKIPPED = ("alarm", "kpi")
BATCH_LEVEL = "_batch"
MAX_PATH_LEVELS = 4  # site, area, line, station
MAX_CACHED = 50_000  # topics remembered; a peer inventing topics cannot grow memory past it


@dataclass(frozen=True, slots=True)
class Route:
    """Where a topic's messages go.

    kind: ``telemetry`` (series_id set when the topic names the signal, else -1 and the payload
    names them), ``state``, ``online`` (a health flag, e.g. a Last Will), ``count``, ``batch``
    (Kiln's JSON batch of one enterprise) or ``skip``.
    """

    kind: str
    enterprise_id: int
    enterprise: str
    equipment_id: int = -1
    equipment: str = ""
    series_id: int = -1


@dataclass(frozen=True, slots=True)
class Refused:
    """A topic Kiln cannot place, and why; enterprise_id when the topic named a known one."""

    reason: str
    enterprise_id: int | None = None


class Namespace:
    """Resolves topics under one root, remembering answers until the catalogue changes."""

    def __init__(self, root: str = "fs/v1") -> None:
        self.root = root.strip("/")
        self._prefix = self.root + "/"
        self._catalog: AssetCatalog | None = None
        self._cache: dict[str, Route | Refused] = {}

    def route(self, topic: str, catalog: AssetCatalog) -> Route | Refused:
        """Resolve a topic; unknown names and topics outside the namespace are Refused.

        >>> from kiln.domain.catalog import AssetCatalog
        >>> Namespace("fs/v1").route("plant/press-2/tonnage", AssetCatalog()).reason
        "outside the namespace: topics start with 'fs/v1/'"
        """
        if catalog is not self._catalog:
            self._catalog, self._cache = catalog, {}
        hit = self._cache.get(topic)
        if hit is None:
            hit = self._resolve(topic, catalog)
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[topic] = hit
        return hit

    def _resolve(self, topic: str, catalog: AssetCatalog) -> Route | Refused:
        if not topic.startswith(self._prefix):
            return Refused(f"outside the namespace: topics start with {self._prefix!r}")
        levels = topic[len(self._prefix) :].split("/")
        ent_slug = levels[0]
        ent_id = catalog.enterprise_by_slug.get(ent_slug)
        if ent_id is None:
            return Refused(f"unknown enterprise {ent_slug!r}")
        if levels[1:] == [BATCH_LEVEL]:
            return Route("batch", ent_id, ent_slug)
        if len(levels) >= 4 and levels[-2] in CLASSES:
            cls, signal, eq_at = levels[-2], levels[-1], len(levels) - 3
        elif len(levels) >= 3 and levels[-1] in CLASSES:
            cls, signal, eq_at = levels[-1], "", len(levels) - 2
        else:
            return Refused(
                "outside the namespace: expected <root>/<enterprise>/<site>/<area>/<line>/"
                f"<station>/<equipment>/<class>[/<signal>], class one of {', '.join(CLASSES)}",
                ent_id,
            )
        if eq_at - 1 > MAX_PATH_LEVELS:
            return Refused(
                f"outside the namespace: {eq_at - 1} levels between enterprise and equipment "
                f"(at most {MAX_PATH_LEVELS}: site, area, line, station)",
                ent_id,
            )
        if cls in SKIPPED:
            return Route("skip", ent_id, ent_slug)
        eq_slug = levels[eq_at]
        eq_id = catalog.equipment_by_path.get((ent_id, eq_slug))
        if eq_id is None:
            return Refused(f"unknown equipment {eq_slug!r} of {ent_slug!r}", ent_id)
        if cls == "telemetry" and signal:
            sid = catalog.series_by_name.get((eq_id, signal))
            if sid is None:
                return Refused(f"unknown signal {signal!r} of {eq_slug!r}", ent_id)
            return Route("telemetry", ent_id, ent_slug, eq_id, eq_slug, sid)
        kind = "online" if cls == "state" and signal == "online" else cls
        return Route(kind, ent_id, ent_slug, eq_id, eq_slug)
