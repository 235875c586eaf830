"""plan_dashboard: the plan dashboard's data for a city of 10,000 enterprises with 36 monthly
filings each (2018-2020, the 2018-2020 plan's period), as the page and the API compute it.

Measured: ``PlanService.dashboard`` (one yearly aggregation of the current filings in DuckDB,
every target's actuals, progress and projection, and the headline indicators by district and
industry with disclosure control) plus its JSON form. Target < 500 ms. Notes give the parts:
the yearly aggregation alone, one protected table, and the page's whole HTML when the web
route is there.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from benchmarks.common import Figure, cli, log, median, temp_dir, timed_repeats
from kiln.plan_service.service import PlanService
from kiln.plan_service.views import dashboard_json
from kiln.simulator.registry import simulate_enterprises
from kiln.simulator.statistics import simulate_filings
from kiln.store.duckdb import DuckDBStore

PLAN = "tech-reform-2018-2020"
TARGET_MS = 500.0
NOW_MS = int(dt.datetime(2021, 3, 1, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1000)


def load(store: DuckDBStore, enterprises: int) -> tuple[int, float]:
    """Register the enterprises and write their monthly filings; (filings, seconds)."""
    ents = simulate_enterprises(enterprises, seed=7)
    doc = {
        "enterprises": [
            {"slug": e.slug, "name": e.name, "district": e.district, "industry": e.industry_code}
            for e in ents
        ]
    }
    store.import_assets(doc)
    catalog = store.catalog()
    by_slug = {e.slug: catalog.enterprise_by_slug[e.slug] for e in ents}
    registered = [
        type(e)(by_slug[e.slug], e.slug, e.name, e.district, e.industry_code, e.robot_maker)
        for e in ents
    ]
    service = PlanService(store)
    t0 = time.perf_counter()
    filings = simulate_filings(registered, service.config(), first_year=2018, through=(2020, 12))
    made = time.perf_counter() - t0
    log(f"plan_dashboard: {len(filings):,} filings simulated in {made:.1f} s")
    step = 50_000
    for i in range(0, len(filings), step):
        store.plans.write_filings(filings[i : i + step])
    return len(filings), made


def run(quick: bool) -> list[Figure]:
    enterprises = 2_000 if quick else 10_000
    with temp_dir("plan-dashboard") as d:
        store = DuckDBStore(d / "kiln.duckdb")
        try:
            t0 = time.perf_counter()
            count, made_s = load(store, enterprises)
            log(f"plan_dashboard: loaded in {time.perf_counter() - t0:.0f} s")
            service = PlanService(store)
            catalog = store.catalog()

            def dashboard() -> object:
                return dashboard_json(service.dashboard(PLAN, catalog, NOW_MS, as_of_year=2020))

            times = timed_repeats(dashboard, count=15 if not quick else 5, max_s=30.0)
            yearly = timed_repeats(
                lambda: store.plans.yearly(2010, 2020), count=10, max_s=10.0, warmup=1
            )
            table = timed_repeats(
                lambda: service.table("total_output", 2020, catalog, NOW_MS),
                count=10,
                max_s=10.0,
                warmup=1,
            )
            data = dashboard_json(service.dashboard(PLAN, catalog, NOW_MS, as_of_year=2020))
        finally:
            store.close()
    fig = Figure(
        "plan_dashboard",
        f"PlanService.dashboard + JSON: {enterprises:,} enterprises, {count:,} monthly filings "
        "(2018-2020), 2 targets, 4 protected tables by district x industry",
        1000 * median(times),
        "ms",
        higher_is_better=False,
        target_value=TARGET_MS,
    )
    fig.notes.append("runs (ms): " + ", ".join(f"{1000 * t:.0f}" for t in times))
    fig.notes.append(f"the yearly aggregation in DuckDB alone: {1000 * median(yearly):.0f} ms")
    fig.notes.append(f"one indicator table with its frame: {1000 * median(table):.0f} ms")
    fig.notes.append(f"simulating the filings took {made_s:.1f} s (not measured)")
    status = {t["target"]["key"]: t["progress"]["status"] for t in data["targets"]}
    fig.notes.append(f"statuses: {status}")
    fig.details.update(runs_s=times, filings=count)
    return [fig]


if __name__ == "__main__":
    cli("plan_dashboard", run)
