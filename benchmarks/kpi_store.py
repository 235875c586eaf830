"""kpi_store: KPIs through the DuckDB store, as the API computes them (`kiln.kpi_service`).

Two figures:

* ``kpi_enterprise_month``: OEE with its losses at equipment level for one enterprise-month,
  the data of ``kpi_oee`` (200 equipment, 8 lines of 25, 30 days, ~1.7 M state changes and one
  count row per equipment and minute with output) written into a DuckDB store, with a site
  calendar of 2x12 shifts, weekends and Chinese holidays. Measured:
  ``KpiService.table(level=equipment, window=month)``: reading the state changes and the count
  sums out of DuckDB, the intervals, PRI steps, time model, quantities, every KPI and the six big
  losses. Target < 200 ms.
* ``kpi_city_month``: the city-wide monthly roll-up of the default simulated city (seed 7, 40
  enterprises, ~480 equipment): 30 days of its state changes and counts, made by the simulator's
  own state plan and count meter without its signal banks (no points: a month of the city is
  ~1.3 bn points and KPIs read none of them) and written to a DuckDB store. Measured:
  ``KpiService.table(level=city, window=month)`` over every equipment. Target < 2 s.

Energy per unit is left out of both (``energy=False``): it needs the power series, which are
not generated here; the notes say what else was seen.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from benchmarks import kpi_oee
from benchmarks.common import Figure, cli, log, median, temp_dir, timed_repeats
from kiln.config import KpiSettings
from kiln.domain.batches import Bundle, CountBatch, StateBatch
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService, Window
from kiln.store.duckdb import DuckDBStore

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
START_MS = kpi_oee.START_MS  # 2024-11-01 00:00 in Foshan
DAYS = 30
NOW_MS = START_MS + (DAYS + 1) * DAY_MS
ENTERPRISE_TARGET_MS = 200.0
CITY_TARGET_MS = 2_000.0


def enterprise_doc() -> dict[str, Any]:
    """kpi_oee's catalogue as an asset document: 8 lines of 25 stations, presses then robots."""
    cat = kpi_oee.make_catalog()
    lines = []
    for ln in sorted(cat.lines.values(), key=lambda x: x.id):
        stations = []
        for st in sorted(
            (s for s in cat.stations.values() if s.line_id == ln.id), key=lambda s: s.position
        ):
            eq = cat.equipment[st.id]
            stations.append(
                {
                    "slug": st.slug,
                    "position": st.position,
                    "equipment": [
                        {
                            "slug": eq.slug,
                            "template": eq.template,
                            "ideal_cycle_s": eq.ideal_cycle_s,
                        }
                    ],
                }
            )
        lines.append({"slug": ln.slug, "name": ln.name, "stations": stations})
    site = {"slug": "plant", "shifts": "2x12", "workdays": "mon-fri", "holidays": "cn"}
    return {
        "enterprises": [
            {
                "slug": "bench-co",
                "name": "Benchmark Co",
                "district": "nanhai",
                "industry": "3670",
                "sites": [{**site, "lines": lines}],
            }
        ]
    }


def load_enterprise(store: DuckDBStore) -> tuple[list[int], int, int]:
    """Write kpi_oee's synthetic month into the store; return equipment ids, changes, counts."""
    cat = store.import_assets(enterprise_doc())
    rng = np.random.default_rng(2018)
    synthetic = kpi_oee.make_catalog()
    states = kpi_oee.make_states(rng)
    counts = kpi_oee.make_counts(rng, states, synthetic)
    # Synthetic equipment e (1..200) is the store's equipment of the same slug.
    slugs = {e: q.slug for e, q in synthetic.equipment.items()}
    ids = np.zeros(kpi_oee.EQUIPMENT + 1, dtype=np.int64)
    for e, slug in slugs.items():
        ids[e] = cat.equipment_id("bench-co", slug) or 0
    made = counts.column("good").to_numpy() + counts.column("scrap").to_numpy()
    keep = made > 0  # a device reports the minutes it made something
    store.write(
        Bundle(
            states=StateBatch.of(
                ids[states.column("equipment").to_numpy()],
                states.column("start_ms").to_numpy(),
                states.column("state").to_numpy(),
            ),
            counts=CountBatch.of(
                ids[counts.column("equipment").to_numpy()[keep]],
                counts.column("ts_ms").to_numpy()[keep],
                counts.column("good").to_numpy()[keep],
                counts.column("scrap").to_numpy()[keep],
            ),
        )
    )
    return sorted(cat.equipment), states.num_rows, int(keep.sum())


def load_city(store: DuckDBStore) -> tuple[int, int, float]:
    """A month of the default city's state changes and counts, an hour at a time, no points.

    The simulator's `advance()` also computes every signal's points; the benchmark drives its
    state plan, failure schedule and count meter directly, as `advance()` does, to skip them.
    """
    from kiln.simulator.engine import KEEP_MS, Simulator
    from kiln.simulator.world import build_city

    doc = build_city(seed=7, enterprises=40)
    cat = store.import_assets(doc)
    sim = Simulator(doc, cat, seed=7, start_ms=START_MS)
    t0 = time.perf_counter()
    changes = counts = 0
    t = START_MS
    while t < START_MS + DAYS * DAY_MS:
        to = t + HOUR_MS
        sim._plan.extend_to(to, keep_from_ms=t - KEEP_MS)
        active = sim._failures.active(t - 60_000, to)
        bundle = Bundle(
            states=sim._plan.changes(t, to), counts=sim._meter.counts(t, to, sim._plan, active)
        )
        store.write(bundle)
        changes += len(bundle.states)
        counts += len(bundle.counts)
        t = to
    return changes, counts, time.perf_counter() - t0


def _month(service: KpiService, store: DuckDBStore, ids: list[int], level: Level) -> Any:
    req = KpiRequest(level, Window.MONTH, START_MS, energy=False)
    return service.table(store.catalog(), ids, req, NOW_MS)


def split_costs(store: DuckDBStore, ids: list[int], count: int) -> tuple[float, float]:
    """Median seconds of the month's store reads alone, and of the engine alone on them."""
    from kiln.kpi.kpi_table import kpi_table
    from kiln.kpi_service.inputs import calendars, intervals

    end = START_MS + DAYS * DAY_MS
    lo = START_MS - 121_000  # the reach the service reads before the window

    def reads() -> tuple[Any, Any]:
        states, _ = intervals(store.state_changes(ids, lo, end), lo, end)
        return states, store.count_sums(ids, START_MS, end, [START_MS, end])

    states, counts = reads()
    cat = store.catalog()
    cals = calendars(cat)

    def engine() -> Any:
        return kpi_table(
            states, counts, cat, windows=[(START_MS, end)], equipment=ids, calendars=cals
        )

    return (
        median(timed_repeats(reads, count=count, max_s=30.0, warmup=1)),
        median(timed_repeats(engine, count=count, max_s=30.0, warmup=1)),
    )


def run_enterprise(quick: bool) -> Figure:
    with temp_dir("kpi-enterprise") as d:
        store = DuckDBStore(d / "kiln.duckdb")
        try:
            log("kpi_store: writing kpi_oee's enterprise-month into a DuckDB store")
            ids, changes, counts = load_enterprise(store)
            service = KpiService(store, KpiSettings())
            count, max_s = (5, 20.0) if quick else (15, 60.0)
            times = timed_repeats(
                lambda: _month(service, store, ids, Level.EQUIPMENT), count=count, max_s=max_s
            )
            lines = timed_repeats(
                lambda: _month(service, store, ids, Level.LINE), count=count, max_s=max_s, warmup=1
            )
            daily_req = KpiRequest(
                Level.LINE, Window.DAY, START_MS, START_MS + DAYS * DAY_MS, False
            )
            daily = timed_repeats(
                lambda: service.table(store.catalog(), ids, daily_req, NOW_MS),
                count=max(3, count // 3),
                max_s=max_s,
                warmup=1,
            )
            table = _month(service, store, ids, Level.EQUIPMENT)
            reads, engine = split_costs(store, ids, count)
        finally:
            store.close()
    oee = np.array([v for v in table.column("oee").to_pylist() if v is not None])
    log(f"kpi_store: enterprise-month median {1000 * median(times):.0f} ms")
    fig = Figure(
        "kpi_enterprise_month",
        f"KpiService.table(level=equipment, window=month) through DuckDB: {len(ids)} equipment, "
        f"{DAYS} days, {changes:,} state changes, {counts:,} count rows; 2x12 calendar with "
        "weekends and holidays; energy left out",
        1000 * median(times),
        "ms",
        higher_is_better=False,
        target_value=ENTERPRISE_TARGET_MS,
    )
    fig.notes.append("runs (ms): " + ", ".join(f"{1000 * t:.0f}" for t in times))
    fig.notes.append(f"line level (bottleneck rule), same month: {1000 * median(lines):.0f} ms")
    fig.notes.append(f"per line and day (30 windows): {1000 * median(daily):.0f} ms")
    fig.notes.append(
        f"apart: the store's reads (state changes, count sums, intervals) {1000 * reads:.0f} ms; "
        f"the engine (kiln.kpi.kpi_table on them) {1000 * engine:.0f} ms"
    )
    fig.notes.append(f"equipment OEE: median {np.median(oee):.3f}; rows {table.num_rows}")
    fig.details.update(runs_s=times, line_runs_s=lines, daily_runs_s=daily)
    return fig


def run_city(quick: bool) -> Figure:
    with temp_dir("kpi-city") as d:
        store = DuckDBStore(d / "kiln.duckdb")
        try:
            log(f"kpi_store: simulating {DAYS} days of the default city's states and counts")
            changes, counts, made_s = load_city(store)
            log(f"kpi_store: {changes:,} state changes, {counts:,} count rows in {made_s:.0f} s")
            ids = sorted(store.catalog().equipment)
            service = KpiService(store, KpiSettings())
            count, max_s = (3, 30.0) if quick else (7, 90.0)
            times = timed_repeats(
                lambda: _month(service, store, ids, Level.CITY), count=count, max_s=max_s, warmup=1
            )
            notes = {}
            for level in (Level.INDUSTRY, Level.DISTRICT, Level.LINE):
                t0 = time.perf_counter()
                table = _month(service, store, ids, level)
                notes[level.value] = (time.perf_counter() - t0, table)
            city = _month(service, store, ids, Level.CITY).to_pylist()[0]
        finally:
            store.close()
    log(f"kpi_store: city month median {1000 * median(times):.0f} ms")
    fig = Figure(
        "kpi_city_month",
        f"KpiService.table(level=city, window=month) through DuckDB for the default simulated "
        f"city: {len(ids)} equipment, {DAYS} days, {changes:,} state changes, {counts:,} count "
        "rows (simulated without points); energy left out",
        1000 * median(times),
        "ms",
        higher_is_better=False,
        target_value=CITY_TARGET_MS,
    )
    fig.notes.append("runs (ms): " + ", ".join(f"{1000 * t:.0f}" for t in times))
    for name, (secs, table) in notes.items():
        fig.notes.append(f"level {name}: {1000 * secs:.0f} ms, {table.num_rows} rows")
    fig.notes.append(
        f"city OEE {city['oee']:.3f}, availability {city['availability']:.3f}, "
        f"unknown {city['unknown_min']:.0f} min, data coverage {city['data_coverage']:.3f}"
    )
    fig.notes.append(f"making the month (simulator, no points) took {made_s:.0f} s")
    fig.details.update(runs_s=times, state_changes=changes, count_rows=counts)
    return fig


def run(quick: bool) -> list[Figure]:
    return [run_enterprise(quick), run_city(quick)]


if __name__ == "__main__":
    cli("kpi_store", run)
