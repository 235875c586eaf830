"""Roll-ups: equipment elements summed into stations, lines, sites, enterprises, industries,
districts and the city, never averaging ratios (domain.md 1.6).

The rule for a line (one rule, used everywhere above the station): **a line's OEE follows its
bottleneck**, the equipment with the largest ideal cycle time (PRI) on the line; ties go to the
equipment further down the line (higher station position, then higher id), and a line without
any PRI follows its last equipment. The bottleneck's time and quantity elements are the line's
"flow" elements: availability, effectiveness, quality, OEE, NEE, TEEP, throughput, scrap,
rework, the six big losses and the units that energy is divided by. A site, enterprise,
industry, district or the city sums the flow elements of its lines: OEE_group =
sum(PRI_i * GQ_i) / sum(PBT_i) over the lines' bottlenecks. A station sums all its equipment.

Everything else sums over all equipment of the group (the "fleet"): failures and operating
time for MTBF and MTTR, data coverage, energy used, and the robots' time for robot
utilisation. Equipment missing from the catalogue rolls up into a group keyed "unassigned".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.domain.catalog import AssetCatalog
from kiln.domain.industries import key_industry_of
from kiln.domain.templates import ROBOT, TEMPLATES
from kiln.kpi.elements import TimeElements
from kiln.kpi.ideal_cycle import F64
from kiln.kpi.interval_sets import I64
from kiln.kpi.oee import check_rows
from kiln.kpi.quantities import Quantities

UNASSIGNED = "unassigned"


class Level(StrEnum):
    """Where in the hierarchy a row of KPIs sits (domain.md 2: ISA-95 plus Kiln's city)."""

    EQUIPMENT = "equipment"
    STATION = "station"
    LINE = "line"
    SITE = "site"
    ENTERPRISE = "enterprise"
    INDUSTRY = "industry"
    DISTRICT = "district"
    CITY = "city"


@dataclass(frozen=True, slots=True)
class Totals:
    """Summed elements per row of one level: everything a row's KPIs are computed from."""

    level: Level
    keys: tuple[str, ...]
    names: tuple[str, ...]
    flow: TimeElements
    quantities: Quantities
    fleet: TimeElements
    robots: TimeElements
    energy_kwh: F64
    members: I64

    def __len__(self) -> int:
        return len(self.keys)


def rollup(
    el: TimeElements,
    q: Quantities,
    catalog: AssetCatalog,
    level: Level | str,
    *,
    energy_kwh: F64 | None = None,
    pri_s: Mapping[int, float | None] | None = None,
) -> Totals:
    """Sum per-equipment elements and quantities (rows keyed by equipment id) into a level.

    energy_kwh: per equipment row, NaN where unmetered. pri_s: the PRI that picks each line's
    bottleneck (default: the catalogue's, else the template's).
    """
    check_rows(el, q)
    level = Level(level)
    energy = np.full(len(el), np.nan) if energy_kwh is None else np.asarray(energy_kwh, float)
    keys, names, group = _groups(catalog, el.key, level)
    n = len(keys)
    flow = _flow_rows(catalog, el.key, level, pri_s)
    robots = np.array([_is_robot(catalog, int(e)) for e in el.key], dtype=bool)
    metered = ~np.isnan(energy)
    energy_sum = np.bincount(group[metered], weights=energy[metered], minlength=n)
    return Totals(
        level=level,
        keys=keys,
        names=names,
        flow=el.take(flow).sum_by(group[flow], n),
        quantities=q.take(flow).sum_by(group[flow], n),
        fleet=el.sum_by(group, n),
        robots=el.take(robots).sum_by(group[robots], n),
        energy_kwh=np.where(np.bincount(group[metered], minlength=n) > 0, energy_sum, np.nan),
        members=np.bincount(group, minlength=n).astype(np.int64),
    )


def _groups(
    catalog: AssetCatalog, equipment: I64, level: Level
) -> tuple[tuple[str, ...], tuple[str, ...], I64]:
    """Key and name of each group, in first-seen order, and each equipment's group index."""
    index: dict[str, int] = {}
    names: list[str] = []
    group = np.empty(len(equipment), dtype=np.int64)
    for i, e in enumerate(equipment.tolist()):
        key, name = _group_of(catalog, e, level)
        if key not in index:
            index[key] = len(index)
            names.append(name)
        group[i] = index[key]
    return tuple(index), tuple(names), group


def _group_of(catalog: AssetCatalog, e: int, level: Level) -> tuple[str, str]:
    """The (key, name) of the group equipment e belongs to at this level."""
    eq = catalog.equipment.get(e)
    if level is Level.EQUIPMENT:
        return str(e), eq.name if eq else ""
    if level is Level.CITY:
        return "city", "city"
    if eq is None or eq.station_id not in catalog.stations:
        return UNASSIGNED, UNASSIGNED
    station = catalog.stations[eq.station_id]
    if level is Level.STATION:
        return str(station.id), station.name
    line = catalog.lines[station.line_id]
    if level is Level.LINE:
        return str(line.id), line.name
    if level is Level.SITE:
        site = catalog.sites[line.site_id]
        return str(site.id), site.name
    ent = catalog.enterprises[eq.enterprise_id]
    if level is Level.ENTERPRISE:
        return str(ent.id), ent.name
    if level is Level.INDUSTRY:
        key = key_industry_of(ent.industry_code)
        return (
            (key.key, key.name_en)
            if key
            else (f"C{ent.industry_code[:2]}", f"C{ent.industry_code[:2]}")
        )
    district = {d.code: d.name_en for d in FOSHAN_DISTRICTS}
    return ent.district, district.get(ent.district, ent.district)


def _flow_rows(
    catalog: AssetCatalog, equipment: I64, level: Level, pri_s: Mapping[int, float | None] | None
) -> I64:
    """Rows whose elements feed the OEE family: all of them up to a station, else bottlenecks."""
    if level in (Level.EQUIPMENT, Level.STATION):
        return np.arange(len(equipment))
    chosen = bottlenecks(catalog, equipment, pri_s)
    return np.flatnonzero(chosen)


def bottlenecks(
    catalog: AssetCatalog, equipment: I64, pri_s: Mapping[int, float | None] | None = None
) -> np.ndarray:
    """Which of the equipment is its line's bottleneck (the module's rule); equipment not in
    the catalogue is its own "line".

    >>> from kiln.domain.assets import Equipment, Line, Station
    >>> cat = AssetCatalog(lines={1: Line(1, 1, 1, "l", "L")},
    ...     stations={1: Station(1, 1, 1, "a", "A", position=1), 2: Station(2, 1, 1, "b", "B", 2)},
    ...     equipment={7: Equipment(7, 1, 1, "p", "P", "press", 5.0),
    ...                8: Equipment(8, 1, 2, "r", "R", "industrial_robot", 30.0)})
    >>> bottlenecks(cat, np.array([7, 8])).tolist()
    [False, True]
    """
    best: dict[object, tuple[tuple[float, int, int], int]] = {}
    for i, e in enumerate(equipment.tolist()):
        eq = catalog.equipment.get(e)
        station = catalog.stations.get(eq.station_id) if eq else None
        line: object = station.line_id if station else ("alone", e)
        pri = _pri(catalog, e, pri_s)
        rank = (pri if pri else -1.0, station.position if station else 0, e)
        if line not in best or rank > best[line][0]:
            best[line] = (rank, i)
    chosen = np.zeros(len(equipment), dtype=bool)
    chosen[[i for _, i in best.values()]] = True
    return chosen


def _pri(catalog: AssetCatalog, e: int, pri_s: Mapping[int, float | None] | None) -> float | None:
    if pri_s is not None:
        return pri_s.get(e)
    eq = catalog.equipment.get(e)
    if eq is None:
        return None
    t = TEMPLATES.get(eq.template)
    return eq.ideal_cycle_s or (t.ideal_cycle_s if t else None)


def _is_robot(catalog: AssetCatalog, e: int) -> bool:
    eq = catalog.equipment.get(e)
    return eq is not None and eq.template == ROBOT.key
