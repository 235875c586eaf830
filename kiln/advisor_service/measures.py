"""Measured lines for the advisor: one `Sample` per station and shift, read from the store.

The KPI service gives each equipment's time elements and counts per shift (ISO 22400 time model,
the site's own calendar); state changes with their reasons give the idle time caused by the
neighbours (starved, blocked). A station is measured through its equipment: the member with the
longest cycle paces it (a CNC cell's machine, not its loader), scrap is summed over members.
Stations with no equipment (manual work with no terminal) cannot be measured and are reported
apart; windows with no planned time (Sundays, holidays) are dropped for the whole line, so
sample i of every station is the same shift.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from kiln.advisor.measures import LineMeasure, Sample, StationMeasure
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService, Window
from kiln.kpi_service.inputs import intervals

FLOW_REASONS = ("starved", "blocked")
# Operator crews a station needs per day, by the site's shift pattern; round-the-clock plants
# staff three shifts (the fourth crew of a 7-day rota is left out: a conservative saving).
CREWS = {"1x8": 1, "2x12": 2, "3x8": 3, "24h": 3}
ROBOT_TEMPLATES = frozenset({"industrial_robot"})


@dataclass(frozen=True, slots=True)
class MeasuredLine:
    """A line as measured: the advisor's input, and the stations that could not be measured."""

    measure: LineMeasure
    unmeasured: tuple[str, ...]  # station names without equipment or data
    equipment: dict[int, tuple[int, ...]]  # station id -> its equipment ids


def measure_lines(
    kpi: KpiService,
    catalog: AssetCatalog,
    line_ids: Sequence[int],
    start_ms: int,
    end_ms: int,
    now_ms: int,
) -> list[MeasuredLine]:
    """Every line of line_ids with at least one measured station, over [start_ms, end_ms)."""
    members = _members(catalog, line_ids)
    ids = sorted({e for per in members.values() for eqs in per.values() for e in eqs})
    if not ids:
        return []
    req = KpiRequest(Level.EQUIPMENT, Window.SHIFT, start_ms, end_ms, energy=False)
    table = kpi.table(catalog, ids, req, now_ms)
    if not table.num_rows:
        return []
    flow = _flow_seconds(kpi, ids, table)
    rows = _rows(table, flow)
    ends = dict(
        zip(
            table.column("window_start_ms").to_pylist(),
            table.column("window_end_ms").to_pylist(),
            strict=True,
        )
    )
    out = []
    for line_id in line_ids:
        line = _line(catalog, line_id, members.get(line_id, {}), rows, ends, min(end_ms, now_ms))
        if line is not None:
            out.append(line)
    return out


def _members(catalog: AssetCatalog, line_ids: Iterable[int]) -> dict[int, dict[int, list[int]]]:
    wanted = set(line_ids)
    out: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for eq in catalog.equipment.values():
        st = catalog.stations.get(eq.station_id)
        if st is not None and st.line_id in wanted:
            out[st.line_id][st.id].append(eq.id)
    return out


@dataclass(frozen=True, slots=True)
class _Row:
    pbt_s: float
    run_s: float
    stops_s: float  # availability loss: faults, setup, idle and other unplanned stops
    starved_s: float
    blocked_s: float
    produced: int
    scrap: int
    rework: int


def _flow_seconds(
    kpi: KpiService, ids: Sequence[int], table: pa.Table
) -> dict[tuple[int, int, str], float]:
    """Idle seconds by (equipment, window start, reason) for starved and blocked."""
    starts = np.array(sorted(set(table.column("window_start_ms").to_pylist())), dtype=np.int64)
    ends_of = dict(
        zip(
            table.column("window_start_ms").to_pylist(),
            table.column("window_end_ms").to_pylist(),
            strict=True,
        )
    )
    lo, hi = int(starts[0]), max(ends_of.values())
    changes = kpi.store.state_changes(list(ids), lo, hi, reasons=True)
    st, reasons = intervals(changes, lo, hi)
    out: dict[tuple[int, int, str], float] = defaultdict(float)
    if reasons is None or not len(st.equipment):
        return out
    idle = st.state == EquipmentState.IDLE
    for reason in FLOW_REASONS:
        pick = np.flatnonzero(idle & (reasons == reason))
        for a in starts:
            b = ends_of[int(a)]
            overlap = np.minimum(st.end_ms[pick], b) - np.maximum(st.start_ms[pick], a)
            hit = overlap > 0
            if not hit.any():
                continue
            order = np.asarray(ids, dtype=np.int64)
            sums = np.bincount(
                np.searchsorted(order, st.equipment[pick][hit]),
                weights=overlap[hit],
                minlength=len(ids),
            )
            for i in np.flatnonzero(sums):
                out[(int(order[i]), int(a), reason)] += float(sums[i]) / 1000.0
    return out


def _rows(table: pa.Table, flow: dict[tuple[int, int, str], float]) -> dict[int, dict[int, _Row]]:
    """KPI rows by equipment and window start, as seconds and counts."""
    out: dict[int, dict[int, _Row]] = defaultdict(dict)
    cols = ["key", "window_start_ms", "pbt_min", "apt_min", "adot_min", "adet_min", "aust_min"]
    cols += ["produced", "scrap", "rework"]
    for r in table.select(cols).to_pylist():
        eq, a = int(r["key"]), int(r["window_start_ms"])
        stops = 60.0 * sum(r[k] or 0.0 for k in ("adot_min", "adet_min", "aust_min"))
        starved = min(flow.get((eq, a, "starved"), 0.0), stops)
        blocked = min(flow.get((eq, a, "blocked"), 0.0), stops - starved)
        pbt, run = 60.0 * (r["pbt_min"] or 0.0), 60.0 * (r["apt_min"] or 0.0)
        stops = min(stops, max(0.0, pbt - run))  # rounding in minutes must not overfill pbt
        starved, blocked = min(starved, stops), min(blocked, max(0.0, stops - starved))
        out[eq][a] = _Row(
            pbt, run, stops, starved, blocked,
            int(r["produced"] or 0), int(r["scrap"] or 0), int(r["rework"] or 0),
        )  # fmt: skip
    return out


def _line(
    catalog: AssetCatalog,
    line_id: int,
    stations: dict[int, list[int]],
    rows: dict[int, dict[int, _Row]],
    ends: dict[int, int],
    end_ms: int,
) -> MeasuredLine | None:
    line = catalog.lines[line_id]
    ent = catalog.enterprises[line.enterprise_id]
    site = catalog.sites[line.site_id]
    all_stations = sorted(
        (s for s in catalog.stations.values() if s.line_id == line_id), key=lambda s: s.position
    )
    windows = sorted({a for eqs in stations.values() for e in eqs for a in rows.get(e, {})})
    # A window counts when the line had planned time in it: all stations keep the same list.
    windows = [
        a
        for a in windows
        if any(rows.get(e, {}).get(a, _EMPTY).pbt_s > 0 for eqs in stations.values() for e in eqs)
    ]
    measured, unmeasured = [], []
    for st in all_stations:
        eqs = [e for e in stations.get(st.id, []) if rows.get(e)]
        if not eqs or not windows:
            unmeasured.append(st.name)
            continue
        measured.append(_station(catalog, st, eqs, rows, windows))
    if not measured:
        return None
    last = measured[-1]
    # The span the data covers (not the window asked for): yearly figures scale from it.
    span_ms = min(max(ends[a] for a in windows), end_ms) - windows[0]
    measure = LineMeasure(
        line_id=line.id,
        slug=line.slug,
        name=line.name,
        enterprise=ent.slug,
        industry_code=ent.industry_code,
        district=ent.district,
        stations=tuple(measured),
        shifts_per_day=CREWS.get(site.calendar.shifts, 3),
        days=max(span_ms / 86_400_000, 1e-3),
        takt_s=None,
        good_units=sum(s.good for s in last.samples),
    )
    return MeasuredLine(measure, tuple(unmeasured), {s: tuple(e) for s, e in stations.items()})


_EMPTY = _Row(0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0)


def _station(
    catalog: AssetCatalog,
    st: object,
    eqs: list[int],
    rows: dict[int, dict[int, _Row]],
    windows: list[int],
) -> StationMeasure:
    def cycle(e: int) -> float:
        run = sum(rows[e].get(a, _EMPTY).run_s for a in windows)
        made = sum(rows[e].get(a, _EMPTY).produced for a in windows)
        return run / made if made else 0.0

    pace = max(eqs, key=lambda e: (cycle(e), -e))
    samples = []
    for a in windows:
        r = rows[pace].get(a, _EMPTY)
        scrap = sum(rows[e].get(a, _EMPTY).scrap for e in eqs)
        rework = sum(rows[e].get(a, _EMPTY).rework for e in eqs)
        scrap = min(scrap, r.produced)
        rework = min(rework, r.produced - scrap)
        samples.append(
            Sample(
                planned_busy_s=r.pbt_s,
                run_s=r.run_s,
                down_s=max(0.0, r.stops_s - r.starved_s - r.blocked_s),
                starved_s=r.starved_s,
                blocked_s=r.blocked_s,
                produced=r.produced,
                scrap=scrap,
                rework=rework,
            )
        )
    station = catalog.stations[st.id]  # type: ignore[attr-defined]
    pace_eq = catalog.equipment[pace]
    return StationMeasure(
        station_id=station.id,
        slug=station.slug,
        name=station.name,
        position=station.position,
        operators=station.operators,
        automated=station.operators == 0
        and any(catalog.equipment[e].template in ROBOT_TEMPLATES for e in eqs),
        ideal_cycle_s=pace_eq.ideal_cycle_s,
        samples=tuple(samples),
    )
