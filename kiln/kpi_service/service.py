"""KpiService: KPIs per level and period from the store, through the ISO 22400 engine.

A request names a level (equipment ... city), a kind of period and a range; the service finds
the periods in the sites' calendars and time zones, reads state changes, hourly count sums,
energy and product runs in bulk, and runs `kiln.kpi.kpi_table` over them. Sites whose periods
differ (another time zone, or other shifts) are computed apart; their rows cannot be summed
into one above the site, so such a request is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kiln.config import KpiSettings
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import STATE_NAMES
from kiln.errors import BadInput
from kiln.kpi.energy import EnergyReadings
from kiln.kpi.interval_sets import rank_of
from kiln.kpi.kpi_table import equipment_plan, kpi_table
from kiln.kpi.planned_time import CalendarMeasure
from kiln.kpi.rollup import Level
from kiln.kpi.shift_calendar import ShiftCalendar
from kiln.kpi.time_model import Leaf
from kiln.kpi_service.inputs import (
    calendars,
    ideal_cycles,
    intervals,
    longest_micro_stop_ms,
    power_series,
    rules,
)
from kiln.kpi_service.periods import Period, Window, periods_of
from kiln.store.base import Store

DAY_MS = 86_400_000
CITY_ZONE = "Asia/Shanghai"
ABOVE_SITE = (Level.ENTERPRISE, Level.INDUSTRY, Level.DISTRICT, Level.CITY)
STOP_LEAVES = (Leaf.ADET, Leaf.ADOT, Leaf.AUST)
MINOR_STOPS = "minor_stops"
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kiln-kpi")
STATE_WORDS = np.array([STATE_NAMES[s] for s in sorted(STATE_NAMES)], dtype=object)
ELEMENT_WORDS = np.array([leaf.name.lower() for leaf in Leaf], dtype=object)


@dataclass(frozen=True, slots=True)
class KpiRequest:
    """What to compute: a level, a kind of period, the time in the first period (default now)
    and, for a range of periods, where the range ends; energy per unit costs a scan of the
    power series, so it can be left out."""

    level: Level = Level.LINE
    window: Window = Window.DAY
    start_ms: int | None = None
    end_ms: int | None = None
    energy: bool = True


@dataclass(frozen=True, slots=True)
class ParetoRow:
    """Planned busy time lost to one (state, reason), in minutes, and how many stops."""

    state: str
    reason: str
    element: str
    minutes: float
    events: int


class KpiService:
    """KPIs, downtime by reason and trends over the store, with the settings' time-model rules."""

    def __init__(self, store: Store, settings: KpiSettings) -> None:
        self.store = store
        self.settings = settings

    # -- periods ---------------------------------------------------------------------------

    def period_groups(
        self, catalog: AssetCatalog, ids: Sequence[int], req: KpiRequest, now_ms: int
    ) -> list[tuple[list[int], list[Period]]]:
        """The equipment split by the periods they are cut into (their site's time zone, and
        its shifts for shift windows), each group with its periods."""
        cals = calendars(catalog)
        keyed: dict[tuple[str, ShiftCalendar | None], list[int]] = {}
        for e in sorted(ids):
            site = _site_of(catalog, e)
            zone = catalog.sites[site].timezone if site is not None else CITY_ZONE
            cal = cals.get(site) if site is not None else None
            key = (zone, cal if req.window is Window.SHIFT else None)
            keyed.setdefault(key, []).append(e)
        if len(keyed) > 1 and req.level in ABOVE_SITE:
            raise BadInput(
                f"the sites in scope keep different {_what(req.window)}: ask per site or line",
                where="query: level",
            )
        start = now_ms if req.start_ms is None else req.start_ms
        out = []
        for (zone, cal), eqs in keyed.items():
            found = periods_of(
                req.window, start, req.end_ms, zone=ZoneInfo(zone), calendar=cal, now_ms=now_ms
            )
            if len(found) > self.settings.max_windows:
                raise BadInput(
                    f"{len(found)} periods; at most {self.settings.max_windows} in one request",
                    where="query: end",
                )
            out.append((eqs, found))
        return out

    # -- KPI tables ------------------------------------------------------------------------

    def table(
        self, catalog: AssetCatalog, ids: Sequence[int], req: KpiRequest, now_ms: int
    ) -> pa.Table:
        """The KPI table (see `kiln.kpi.kpi_table`) with `period` and `shift` columns, one row
        per level row and period, ordered by period."""
        parts = [
            self._compute(catalog, eqs, found, req, now_ms)
            for eqs, found in self.period_groups(catalog, ids, req, now_ms)
            if eqs and found
        ]
        if not parts:
            return pa.table({})
        table = pa.concat_tables(parts)
        return table.take(pc.sort_indices(table, [("window_start_ms", "ascending")]))

    def _compute(
        self,
        catalog: AssetCatalog,
        ids: Sequence[int],
        periods: list[Period],
        req: KpiRequest,
        now_ms: int,
    ) -> pa.Table:
        windows = [(p.start_ms, p.end_ms) for p in periods]
        first, last = min(a for a, _ in windows), max(b for _, b in windows)
        # Stops are followed past the edges far enough to tell a minor stop from a failure.
        reach = longest_micro_stop_ms(self.settings) + 1_000
        lo, hi = first - reach, max(last, min(last + reach, now_ms))
        cycles = ideal_cycles(catalog, self.store.product_changes(ids, last))
        steps = cycles.changes(np.asarray(ids, dtype=np.int64), first, last)
        cuts = sorted({t for w in windows for t in w} | {int(t) for s in steps for t in s})
        # The states come first, read with DuckDB's threads to themselves: the time model
        # needs them first. DuckDB then sums the counts (and energy) on another thread while
        # this one builds the intervals and the time model (NumPy, mostly outside the GIL);
        # the engine waits for the sums only once it needs them.
        changes = self.store.state_changes(ids, lo, hi)
        counts = _POOL.submit(self.store.count_sums, ids, first, last, cuts)
        energy = _POOL.submit(self._energy, catalog, ids, first, last, cuts) if req.energy else None
        states, _ = intervals(changes, lo, hi)
        table = kpi_table(
            states,
            counts,
            catalog,
            windows=windows,
            level=req.level,
            equipment=ids,
            calendars=calendars(catalog),
            cycles=cycles,
            energy=energy,
            rules=rules(self.settings, catalog, ids),
        )
        by_window = {(p.start_ms, p.end_ms): p for p in periods}
        starts = table.column("window_start_ms").to_pylist()
        ends = table.column("window_end_ms").to_pylist()
        found = [by_window[(a, b)] for a, b in zip(starts, ends, strict=True)]
        table = table.add_column(3, "period", pa.array([p.label for p in found], pa.string()))
        return table.add_column(4, "shift", pa.array([p.shift for p in found], pa.string()))

    def _energy(
        self, catalog: AssetCatalog, ids: Sequence[int], first: int, last: int, cuts: list[int]
    ) -> EnergyReadings:
        series = power_series(catalog, ids)
        sums = self.store.energy_sums(list(series), first, last, cuts)
        sid = sums.column("series").to_numpy()
        lookup = np.array(sorted(series.items()), dtype=np.int64).reshape(-1, 2)
        eq = lookup[np.searchsorted(lookup[:, 0], sid), 1] if len(sid) else sid
        return EnergyReadings.of(
            eq, sums.column("ts_ms").to_numpy(), sums.column("energy_kwh").to_numpy()
        )

    # -- downtime by reason ------------------------------------------------------------------

    def pareto(
        self, catalog: AssetCatalog, ids: Sequence[int], period: Period, now_ms: int
    ) -> list[ParetoRow]:
        """Planned busy time lost per (state, reason) in the period, largest first.

        Each stop counts with its planned busy time (the calendar's breaks and planned
        downtime are not losses); stops shorter than the micro-stop threshold are summed as
        minor stops, as the time model keeps them inside production time.
        """
        a, b = period.start_ms, min(period.end_ms, now_ms)
        reach = longest_micro_stop_ms(self.settings) + 1_000
        lo, hi = a - reach, max(b, min(b + reach, now_ms))
        st, reasons = intervals(self.store.state_changes(ids, lo, hi, reasons=True), lo, hi)
        order = np.array(sorted(ids), dtype=np.int64)
        micro_ms, leaf_of = rules(self.settings, catalog, ids).columns(order)
        rank, known = rank_of(order, st.equipment)
        leaf = np.where(known, leaf_of[np.where(known, rank, 0), st.state], -1)
        stop = np.isin(leaf, STOP_LEAVES) & (st.end_ms > a) & (st.start_ms < b)
        idx = np.flatnonzero(stop)
        if not len(idx):
            return []
        plan = equipment_plan(catalog, order, calendars(catalog), lo - DAY_MS, hi + DAY_MS)
        measure = CalendarMeasure.build(plan, order, lo - DAY_MS, hi + DAY_MS)
        r = rank[idx]
        clip_a, clip_b = np.maximum(st.start_ms[idx], a), np.minimum(st.end_ms[idx], b)
        pbt = measure.split(r, clip_a, clip_b)[2]
        length = st.end_ms[idx] - st.start_ms[idx]
        minor = (leaf[idx] != Leaf.AUST) & (length < micro_ms[r])
        keep = pbt > 0
        k = idx[keep]
        minor = minor[keep]
        why = (
            pa.array(reasons[k], pa.string()).fill_null("")
            if reasons is not None
            else pa.array([""] * len(k), pa.string())
        )
        rows = pa.table(
            {
                "state": pa.array(np.where(minor, MINOR_STOPS, STATE_WORDS[st.state[k]])),
                "reason": pc.if_else(pa.array(minor), "", why),
                "element": pa.array(np.where(minor, "apt", ELEMENT_WORDS[leaf[k]])),
                "minutes": pa.array(pbt[keep] / 60_000.0),
            }
        )
        sums = rows.group_by(["state", "reason", "element"]).aggregate(
            [("minutes", "sum"), ("minutes", "count")]
        )
        out = [
            ParetoRow(r["state"], r["reason"], r["element"], r["minutes_sum"], r["minutes_count"])
            for r in sums.to_pylist()
        ]
        return sorted(out, key=lambda x: (-x.minutes, x.state, x.reason))


def _site_of(catalog: AssetCatalog, e: int) -> int | None:
    eq = catalog.equipment.get(e)
    station = catalog.stations.get(eq.station_id) if eq else None
    line = catalog.lines.get(station.line_id) if station else None
    return line.site_id if line else None


def _what(window: Window) -> str:
    return "shifts" if window is Window.SHIFT else "time zones"
