"""The fleet: every equipment of an asset document, with what the models need to run it.

Besides ids and template, each equipment learns its place on its line: the line's bottleneck
(the slowest ideal cycle) paces the others, so machines before it wait blocked and machines after
it wait starved, for the share of time their own faster cycle leaves them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kiln.domain.asset_document import EquipmentSpec, parse_asset_document
from kiln.domain.catalog import AssetCatalog
from kiln.domain.templates import EquipmentTemplate, template
from kiln.errors import BadInput
from kiln.simulator.noise import stable_key
from kiln.simulator.shifts import ShiftCalendar, utc_offset_h

MAX_FLOW_SHARE = 0.35  # beyond this a real line would be rebalanced, not left waiting
BASE_FLOW_SHARE = 0.02  # even the bottleneck waits now and then
SUNDAY_OFF_SHARE = 0.3  # plants that rest on Sundays


@dataclass(frozen=True, slots=True)
class Machine:
    """One equipment to simulate."""

    enterprise: str
    slug: str
    equipment_id: int
    template: EquipmentTemplate
    ideal_cycle_s: float
    series: tuple[int, ...]  # one series id per template signal, in template order
    manual: bool  # stands at a station with operators
    flow_share: float  # share of time the line's pace keeps it waiting
    flow_reason: str  # "starved" or "blocked"
    calendar: ShiftCalendar

    def key(self, seed: int, *purpose: object) -> int:
        """A random-stream key for one purpose of this equipment."""
        return stable_key(seed, self.enterprise, self.slug, *purpose)


@dataclass(frozen=True, slots=True)
class _Place:
    spec: EquipmentSpec
    position: int
    operators: int
    cycle_s: float
    tmpl: EquipmentTemplate


def read_fleet(doc: dict[str, Any], catalog: AssetCatalog, *, seed: int) -> list[Machine]:
    """The document's equipment, grouped by template (then enterprise and slug), with ids."""
    tree = parse_asset_document(doc, where="simulator")
    stations = {(s["enterprise"], s["line"], s["slug"]): s for s in tree.stations}
    zones = {(s["enterprise"], s["slug"]): s["timezone"] for s in tree.sites}
    lines: dict[tuple[str, str], list[_Place]] = defaultdict(list)
    for eq in tree.equipment:
        st = stations[(eq.enterprise, eq.line, eq.station)]
        tmpl = template(eq.template)
        cycle = eq.ideal_cycle_s or tmpl.ideal_cycle_s
        place = _Place(eq, st["position"], st["operators"], cycle, tmpl)
        lines[(eq.enterprise, eq.line)].append(place)
    machines = []
    for places in lines.values():
        for place, share, reason in _paced(places):
            zone = zones[(place.spec.enterprise, place.spec.site)]
            machines.append(_machine(place, share, reason, zone, catalog, seed))
    return sorted(machines, key=lambda m: (m.template.key, m.enterprise, m.slug))


def _paced(places: list[_Place]) -> list[tuple[_Place, float, str]]:
    """Each place with the share of time it waits on the line's bottleneck, and why."""
    paced = [p for p in places if not p.tmpl.continuous]
    if not paced:
        return [(p, 0.0, "starved") for p in places]
    neck = max(paced, key=lambda p: (p.cycle_s, -p.position))
    out = []
    for p in places:
        if p.tmpl.continuous:
            out.append((p, 0.0, "starved"))
            continue
        share = min(MAX_FLOW_SHARE, max(0.0, 1.0 - p.cycle_s / neck.cycle_s)) + BASE_FLOW_SHARE
        out.append((p, share, "blocked" if p.position < neck.position else "starved"))
    return out


def _machine(
    place: _Place, share: float, reason: str, zone: str, catalog: AssetCatalog, seed: int
) -> Machine:
    spec, tmpl = place.spec, place.tmpl
    where = f"simulator: {spec.enterprise}/{spec.slug}"
    eid = catalog.equipment_id(spec.enterprise, spec.slug)
    if eid is None:
        raise BadInput("equipment is not in the asset catalogue", where=where)
    series = []
    for sig in tmpl.signals:
        sid = catalog.series_id(eid, sig.name)
        if sid is None:
            raise BadInput(f"signal {sig.name!r} is not in the asset catalogue", where=where)
        series.append(sid)
    rests = stable_key(seed, spec.enterprise, "calendar") % 1000 < SUNDAY_OFF_SHARE * 1000
    calendar = ShiftCalendar(
        utc_offset_h(zone, where=where), continuous=tmpl.continuous, sunday_off=rests
    )
    return Machine(
        spec.enterprise, spec.slug, eid, tmpl, place.cycle_s, tuple(series),
        place.operators > 0, share, reason, calendar,
    )  # fmt: skip
