"""The KPI table an API, a page or the CLI shows: one row per (level row x window), with the
elements, the quantities, data coverage and every KPI, undefined ones null with their reason.

`kpi_table` is the whole pipeline over what the store returns: state intervals and counts (and
energy readings) in, shift calendars per site, PRI per equipment and product, the time model,
quantities, the roll-up to a level, the KPIs. `table.to_pylist()` gives dict rows for JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np
import pyarrow as pa

from kiln.domain.catalog import AssetCatalog
from kiln.domain.templates import TEMPLATES
from kiln.kpi.energy import EnergyReadings, energy_per_good_unit, energy_per_unit, sum_energy
from kiln.kpi.ideal_cycle import IdealCycles
from kiln.kpi.interval_sets import I64
from kiln.kpi.losses import six_big_losses
from kiln.kpi.oee import data_coverage, oee_kpis, robot_utilisation
from kiln.kpi.planned_time import EquipmentPlan
from kiln.kpi.quantities import Counts, sum_counts
from kiln.kpi.reliability import reliability_kpis
from kiln.kpi.results import KpiColumn
from kiln.kpi.rollup import Level, Totals, rollup
from kiln.kpi.shift_calendar import ShiftCalendar
from kiln.kpi.time_model import StateIntervals, TimeModelRules, time_elements_by_window

DAY_MS = 86_400_000
MS_PER_MIN = 60_000.0
_ELEMENTS_MIN = ("pot", "pdot", "pbt", "adot", "aubt", "aust", "adet", "apt", "unknown")


def kpis(totals: Totals) -> dict[str, KpiColumn]:
    """Every KPI of every row of the totals, by name, in the order a table shows them."""
    q = totals.quantities
    out = oee_kpis(totals.flow, q)
    out["data_coverage"] = data_coverage(totals.fleet)
    out.update(reliability_kpis(totals.fleet))
    out["energy_per_unit_kwh"] = energy_per_unit(totals.energy_kwh, q.produced)
    out["energy_per_good_unit_kwh"] = energy_per_good_unit(totals.energy_kwh, q.good)
    out["robot_utilisation"] = robot_utilisation(totals.robots)
    out.update(six_big_losses(totals.flow, q))
    return out


def totals_table(totals: Totals, window: tuple[int, int]) -> pa.Table:
    """The rows of one level over one window as an Arrow table."""
    n = len(totals)
    cols: dict[str, Any] = {
        "level": [totals.level.value] * n,
        "key": list(totals.keys),
        "name": list(totals.names),
        "window_start_ms": pa.array(np.full(n, window[0]), pa.int64()),
        "window_end_ms": pa.array(np.full(n, window[1]), pa.int64()),
        "members": pa.array(totals.members, pa.int64()),
    }
    for name in _ELEMENTS_MIN:
        cols[f"{name}_min"] = pa.array(getattr(totals.flow, f"{name}_ms") / MS_PER_MIN)
    q = totals.quantities
    for name in ("produced", "good", "scrap", "rework", "unrated"):
        cols[name] = pa.array(getattr(q, name), pa.int64())
    cols["failures"] = pa.array(totals.fleet.failures, pa.int64())
    cols["energy_kwh"] = pa.array(totals.energy_kwh, pa.float64(), from_pandas=True)
    kpi = kpis(totals)
    for name, col in kpi.items():
        cols[name] = pa.array(col.value, pa.float64(), from_pandas=True)  # NaN: null
    cols["undefined"] = _notes(kpi, "reason", n)
    cols["flags"] = _notes(kpi, "flag", n)
    return pa.table(cols)


def _notes(kpi: Mapping[str, KpiColumn], attr: str, n: int) -> list[str]:
    """Per row, 'kpi: text' for every KPI with a reason (or flag), joined by '; '."""
    parts: list[list[str]] = [[] for _ in range(n)]
    for name, c in kpi.items():
        text = getattr(c, attr)
        for i in np.flatnonzero(text != "").tolist():  # only the rows with a note
            parts[i].append(f"{name}: {text[i]}")
    return ["; ".join(p) for p in parts]


def kpi_table(
    states: pa.Table | StateIntervals,
    counts: pa.Table | Counts | Future[pa.Table],
    catalog: AssetCatalog,
    *,
    windows: Sequence[tuple[int, int]],
    level: Level | str = Level.EQUIPMENT,
    equipment: Sequence[int] | None = None,
    calendars: Mapping[int, ShiftCalendar] | None = None,
    cycles: IdealCycles | None = None,
    energy: EnergyReadings | Future[EnergyReadings] | None = None,
    rules: TimeModelRules | None = None,
) -> pa.Table:
    """KPIs of every row of a level for every window (e.g. a month, or each of its shifts).

    equipment: which equipment to include (default: all in the catalogue). calendars: shift
    calendar by site id; a site without one, and equipment of a continuous template (a roller
    kiln), is planned around the clock. cycles: PRI steps (default: the catalogue's). counts
    and energy may be futures (read on another thread): they are waited for only after the
    time model.
    """
    ids = np.array(sorted(equipment if equipment is not None else catalog.equipment), np.int64)
    st = states if isinstance(states, StateIntervals) else StateIntervals.from_arrow(states)
    cycles = cycles if cycles is not None else IdealCycles.from_catalog(catalog)
    first = min((w[0] for w in windows), default=0)
    last = max((w[1] for w in windows), default=0)
    plan = equipment_plan(catalog, ids, calendars or {}, first - DAY_MS, last + DAY_MS)
    elements = time_elements_by_window(st, plan, windows, equipment=ids, rules=rules)
    counts = counts.result() if isinstance(counts, Future) else counts
    ct = counts if isinstance(counts, Counts) else Counts.from_arrow(counts)
    energy = energy.result() if isinstance(energy, Future) else energy
    parts = []
    for (w0, w1), el in zip(windows, elements, strict=True):
        q = sum_counts(ct, start_ms=w0, end_ms=w1, equipment=ids, cycles=cycles)
        kwh = (
            sum_energy(energy, start_ms=w0, end_ms=w1, equipment=ids)
            if energy is not None
            else None
        )
        pri = dict(zip(ids.tolist(), cycles.at(ids, np.full(len(ids), w0)).tolist(), strict=True))
        pri_s = {e: (None if np.isnan(p) else p) for e, p in pri.items()}
        totals = rollup(el, q, catalog, level, energy_kwh=kwh, pri_s=pri_s)
        parts.append(totals_table(totals, (w0, w1)))
    return pa.concat_tables(parts) if parts else pa.table({})


def equipment_plan(
    catalog: AssetCatalog,
    ids: I64,
    calendars: Mapping[int, ShiftCalendar],
    start_ms: int,
    end_ms: int,
) -> EquipmentPlan:
    """Planned time of each equipment from its site's calendar over [start_ms, end_ms)."""
    # Equipment is grouped by site first (a cheap key), then sites by equal calendars, so
    # that each calendar is hashed once per site and worked out once.
    by_site: dict[tuple[int | None, bool], list[int]] = {}
    for e in ids.tolist():
        by_site.setdefault(_site_key(catalog, e), []).append(e)
    by_calendar: dict[ShiftCalendar, list[int]] = {}
    for key, eqs in by_site.items():
        by_calendar.setdefault(_calendar_of(catalog, key, calendars), []).extend(eqs)
    return EquipmentPlan.concat(
        [
            EquipmentPlan.broadcast(eqs, cal.planned_time(start_ms, end_ms))
            for cal, eqs in by_calendar.items()
        ]
    )


def _site_key(catalog: AssetCatalog, e: int) -> tuple[int | None, bool]:
    """The site of an equipment (None if it has none) and whether its template runs
    continuously (a roller kiln), which is what picks its calendar."""
    eq = catalog.equipment.get(e)
    station = catalog.stations.get(eq.station_id) if eq else None
    line = catalog.lines.get(station.line_id) if station else None
    site = catalog.sites.get(line.site_id) if line else None
    template = TEMPLATES.get(eq.template) if eq else None
    return (site.id if site else None, template is not None and template.continuous)


def _calendar_of(
    catalog: AssetCatalog, key: tuple[int | None, bool], calendars: Mapping[int, ShiftCalendar]
) -> ShiftCalendar:
    site_id, continuous = key
    site = catalog.sites.get(site_id) if site_id is not None else None
    if site is None:
        return ShiftCalendar.continuous()
    if continuous:
        return ShiftCalendar.continuous(site.timezone)
    return calendars.get(site.id) or ShiftCalendar.continuous(site.timezone)
