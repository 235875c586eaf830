"""What the KPI engine needs, built from the catalogue, the settings and the store's columns:
shift calendars per site, time-model rules per template, PRI steps from product runs, state
intervals from state changes, and which series measure each equipment's power."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from kiln.config import KpiSettings
from kiln.domain.assets import WORKDAYS, SiteCalendar
from kiln.domain.catalog import AssetCatalog
from kiln.domain.templates import TEMPLATES
from kiln.kpi.cn_holidays import CN_HOLIDAYS, HolidayTable
from kiln.kpi.ideal_cycle import IdealCycles, ProductCycle, ProductRun
from kiln.kpi.shift_calendar import (
    AROUND_THE_CLOCK,
    ONE_BY_EIGHT,
    THREE_BY_EIGHT,
    TWO_BY_TWELVE,
    ShiftCalendar,
    ShiftPattern,
)
from kiln.kpi.time_model import ElementMapping, Leaf, StateIntervals, TimeModelRules

PATTERNS: dict[str, ShiftPattern] = {
    p.name: p for p in (ONE_BY_EIGHT, TWO_BY_TWELVE, THREE_BY_EIGHT, AROUND_THE_CLOCK)
}
LEAVES = {
    leaf.name.lower(): leaf for leaf in (Leaf.APT, Leaf.ADOT, Leaf.AUST, Leaf.ADET, Leaf.PDOT)
}
POWER_UNIT = "kW"
_STATE_BITS = 3  # state codes 0..6, when rows are packed for sorting
# Repeated states are dropped when at least 1 row in this many is one: fewer do not repay the
# copy of every column.
_REPEATS_WORTH_DROPPING = 8


def shift_calendar(cal: SiteCalendar, timezone: str) -> ShiftCalendar:
    """The engine's calendar for a site's calendar keys.

    >>> shift_calendar(SiteCalendar("3x8", "mon-fri", "cn"), "Asia/Shanghai").weekend_days
    (5, 6)
    """
    return ShiftCalendar(
        PATTERNS[cal.shifts],
        timezone,
        WORKDAYS[cal.workdays],
        CN_HOLIDAYS if cal.holidays == "cn" else HolidayTable.none(),
        cal.breaks == "pdot",
    )


def calendars(catalog: AssetCatalog) -> dict[int, ShiftCalendar]:
    """Every site's shift calendar, by site id."""
    return {s.id: shift_calendar(s.calendar, s.timezone) for s in catalog.sites.values()}


def rules(settings: KpiSettings, catalog: AssetCatalog, ids: Sequence[int]) -> TimeModelRules:
    """Micro-stop threshold and state mapping per equipment, from its template's settings."""
    template_of = {e: catalog.equipment[e].template for e in ids if e in catalog.equipment}
    mapping = {
        t: ElementMapping(**{state: LEAVES[el] for state, el in states.items()})
        for t, states in settings.mapping.items()
    }
    return TimeModelRules.by_template(
        template_of,
        micro_stop_ms={t: round(s * 1000) for t, s in settings.micro_stop_s_by_template.items()},
        mapping=mapping,
        default_micro_stop_ms=round(settings.micro_stop_s * 1000),
    )


def longest_micro_stop_ms(settings: KpiSettings) -> int:
    """The largest micro-stop threshold of any template: how far past a window's edges a stop
    must be followed to classify it."""
    return round(1000 * max([settings.micro_stop_s, *settings.micro_stop_s_by_template.values()]))


def ideal_cycles(catalog: AssetCatalog, changes: pa.Table) -> IdealCycles:
    """PRI steps: the catalogue's cycle until an equipment's first product run, then each run's
    product at the cycle recorded for it on that equipment (or its last known one)."""
    base = IdealCycles.from_catalog(catalog)
    if not changes.num_rows:
        return base
    rows = changes.select(["equipment", "start_ms", "product", "ideal_cycle_s"]).to_pylist()
    runs = [ProductRun(r["equipment"], r["start_ms"], r["product"]) for r in rows]
    cycles = [
        ProductCycle(r["product"], r["ideal_cycle_s"], r["start_ms"], r["equipment"])
        for r in rows
        if r["ideal_cycle_s"] is not None
    ]
    return IdealCycles.from_products(runs, cycles, before_first_run=base)


def intervals(changes: pa.Table, start_ms: int, end_ms: int) -> tuple[StateIntervals, Any]:
    """State intervals from state changes: each change holds until the equipment's next one
    (the last until end_ms), clipped to [start_ms, end_ms); and the reasons, if read.

    Without reasons, a change to the state already in force may continue its interval: the
    engine joins such intervals anyway, and where they are many, dropping them first spares
    it the rows.
    """
    eq = changes.column("equipment").to_numpy()  # int64 only once rows are dropped
    ts = changes.column("ts_ms").to_numpy().astype(np.int64, copy=False)
    state = changes.column("state").to_numpy().astype(np.int8, copy=False)
    reasons = (
        np.asarray(changes.column("reason").to_numpy(zero_copy_only=False))
        if "reason" in changes.column_names
        else None
    )
    if not _in_order(eq, ts):
        packed = _sorted_packed(eq, ts, state) if reasons is None else None
        if packed is not None:
            eq, ts, state = packed
        else:
            # One int64 key orders by (equipment, time); an unstable sort is fine: the store
            # keeps one change per (equipment, time).
            order = np.argsort((eq.astype(np.int64) << 43) | (ts - (int(ts.min()) - 1)))
            eq, ts, state = eq[order], ts[order], state[order]
            reasons = reasons[order] if reasons is not None else None
    head = np.ones(len(eq), dtype=bool)  # each equipment's first change
    head[1:] = eq[1:] != eq[:-1]
    if reasons is None and len(eq):
        new = head.copy()
        new[1:] |= state[1:] != state[:-1]
        i = np.flatnonzero(new)
        if len(i) <= len(eq) - len(eq) // _REPEATS_WORTH_DROPPING:
            # Indices, not the mask: NumPy takes rows far faster than it compresses by a mask.
            eq, ts, state, head = eq.take(i), ts.take(i), state.take(i), head.take(i)
    end = np.empty_like(ts)
    end[:-1] = ts[1:]
    end[np.flatnonzero(head) - 1] = end_ms  # the last change of each equipment (and of all)
    np.minimum(end, end_ms, out=end)
    start = np.maximum(ts, start_ms) if len(ts) and int(ts.min()) < start_ms else ts
    keep = end > start
    if not keep.all():
        i = np.flatnonzero(keep)
        eq, start, end, state = eq.take(i), start.take(i), end.take(i), state.take(i)
        reasons = reasons.take(i) if reasons is not None else None
    return StateIntervals(eq.astype(np.int64, copy=False), start, end, state), reasons


def _in_order(eq: Any, ts: Any) -> bool:
    """Whether rows are ordered by (equipment, time), as the store often returns them."""
    if len(eq) < 2 or not bool((eq[1:] >= eq[:-1]).all()):
        return len(eq) < 2
    back = np.flatnonzero(ts[1:] < ts[:-1])  # time may only fall where equipment changes
    return bool((eq[back + 1] != eq[back]).all())


def _sorted_packed(eq: Any, ts: Any, state: Any) -> tuple[Any, Any, Any] | None:
    """(equipment, time, state) sorted by packing each row into one int64 and sorting the
    values: much faster than sorting indices and gathering three columns at random. None
    when the ranges do not fit in 63 bits."""
    eq0, t0 = int(eq.min()), int(ts.min())
    eq_bits = max(int(eq.max()) - eq0, 1).bit_length()
    ts_bits = max(int(ts.max()) - t0, 1).bit_length()
    codes_fit = int(state.min()) >= 0 and int(state.max()) < 1 << _STATE_BITS
    if eq_bits + ts_bits + _STATE_BITS > 63 or not codes_fit:
        return None  # (a bad state code is left for the engine to name)
    key = eq.astype(np.int64)
    key -= eq0
    key <<= ts_bits
    key += ts
    key -= t0
    key <<= _STATE_BITS
    key |= state
    key.sort()
    state_out = (key & ((1 << _STATE_BITS) - 1)).astype(np.int8)
    key >>= _STATE_BITS
    ts_out = key & ((1 << ts_bits) - 1)
    ts_out += t0
    key >>= ts_bits
    key += eq0
    return key, ts_out, state_out


def power_series(catalog: AssetCatalog, ids: Sequence[int]) -> dict[int, int]:
    """Series id -> equipment for each equipment's power signal (its template's kW signal);
    equipment without one (a gas-fired kiln, an SMT line) is unmetered."""
    unit_signal = {
        t.key: next((s.name for s in t.signals if s.unit == POWER_UNIT), None)
        for t in TEMPLATES.values()
    }
    out = {}
    for e in ids:
        eq = catalog.equipment.get(e)
        name = unit_signal.get(eq.template) if eq else None
        sid = catalog.series_id(e, name) if name else None
        if sid is not None:
            out[sid] = e
    return out
