"""The plan service on a simulated city: roll-ups agree between views, progress as of a year,
the year in progress annualised, scenarios and percentiles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from kiln.plan.filings import Filing, Period
from kiln.plan.model import CITY, Scope, ScopeKind
from kiln.plan.progress import Source
from kiln.plan_service.service import PlanService
from kiln.simulator.registry import simulate_enterprises
from kiln.simulator.statistics import simulate_filings
from kiln.store.duckdb import DuckDBStore
from kiln.store.postgres import PostgresStore

PLAN = "tech-reform-2018-2020"
ZONE = ZoneInfo("Asia/Shanghai")
NOW_MS = int(dt.datetime(2021, 7, 10, tzinfo=ZONE).timestamp() * 1000)  # mid-2021


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def city(request: pytest.FixtureRequest) -> Iterator[tuple[DuckDBStore, PlanService]]:
    if request.param == "postgres":
        store: Any = PostgresStore(request.getfixturevalue("postgres_server").new_database())
    else:
        store = DuckDBStore(":memory:")
    ents = simulate_enterprises(300, seed=3)
    store.import_assets(
        {
            "enterprises": [
                {"slug": e.slug, "district": e.district, "industry": e.industry_code} for e in ents
            ]
        }
    )
    cat = store.catalog()
    registered = [
        type(e)(cat.enterprise_by_slug[e.slug], e.slug, e.name, e.district, e.industry_code)
        for e in ents
    ]
    service = PlanService(store)
    store.plans.write_filings(
        simulate_filings(registered, service.config(), first_year=2016, through=(2021, 6))
    )
    yield store, service
    store.close()


def test_district_and_industry_views_add_up_to_the_same_city(
    city: tuple[DuckDBStore, PlanService],
) -> None:
    store, service = city
    for indicator in ("total_output", "robots_installed", "employees"):
        t = service.table(indicator, 2020, store.catalog(), NOW_MS)
        assert t.total.value is not None
        rows = [c.value for c in t.row_totals]
        cols = [c.value for c in t.col_totals]
        if all(v is not None for v in rows):
            assert sum(rows) == pytest.approx(t.total.value, rel=1e-9)  # type: ignore[arg-type]
        if all(v is not None for v in cols):
            assert sum(cols) == pytest.approx(t.total.value, rel=1e-9)  # type: ignore[arg-type]
        # Each published row total is the sum of its cells when they are all published.
        for r, row in enumerate(t.interior):
            if t.row_totals[r].value is not None and all(c.value is not None for c in row):
                assert sum(c.value for c in row) == pytest.approx(t.row_totals[r].value)  # type: ignore[misc]
        # The city total is the sum of every filing, as the progress figures use it.
        frame = service.frame(store.catalog(), 2020)
        acts = service.actuals(t.indicator, CITY, frame, [], as_of_year=2020)
        assert next(a.value for a in acts if a.year == 2020) == pytest.approx(t.total.value)
        # And per district: the same sum through the scope rule.
        for k, cell in zip(t.rows, t.row_totals, strict=True):
            if cell.value is None:
                continue
            scoped = service.actuals(
                t.indicator, Scope(ScopeKind.DISTRICT, k), frame, [], as_of_year=2020
            )
            assert next(a.value for a in scoped if a.year == 2020) == pytest.approx(cell.value)


def test_the_year_in_progress_is_annualised_by_last_years_months(
    city: tuple[DuckDBStore, PlanService],
) -> None:
    store, service = city
    cat = store.catalog()
    ind = service.config().indicator("total_output")
    frame = service.frame(cat, 2021)
    partial = service.frame(cat, 2020, through_month=6)
    acts = service.actuals(ind, CITY, frame, [], as_of_year=2021, partial=partial)
    a2021 = acts[-1]
    assert a2021.source is Source.ESTIMATE
    assert a2021.partial_months == 6
    y2020 = frame.of_year(2020).figures["output_value"]
    h1_2020 = partial.of_year(2020).figures["output_value"]
    h1_2021 = frame.of_year(2021).figures["output_value"]
    expected = np.nansum(h1_2021) * np.nansum(y2020) / np.nansum(h1_2020)
    assert a2021.value == pytest.approx(expected, rel=1e-9)


def test_progress_as_of_each_year_of_the_plan(city: tuple[DuckDBStore, PlanService]) -> None:
    store, service = city
    cat = store.catalog()
    d2019 = service.dashboard(PLAN, cat, NOW_MS, as_of_year=2019)
    level = next(v for v in d2019.targets if v.target.key == "robot-output-2020")
    assert level.progress.status.value == "off_track"
    assert level.coverage.latest == "2019-12"
    assert level.coverage.share == 1.0
    # The simulated makers' 2017 output is the baseline the plan implies.
    assert level.progress.baseline is not None
    assert level.progress.baseline.source is Source.FILED
    assert level.progress.baseline.value == pytest.approx(120e9 / 1.15**3, rel=1e-6)
    d2020 = service.dashboard(PLAN, cat, NOW_MS, as_of_year=2020)
    # The published 2020 figure (90 bn) decides: missed.
    assert {v.progress.status.value for v in d2020.targets} == {"missed"}


def test_a_correction_changes_the_figures_and_keeps_the_history(
    city: tuple[DuckDBStore, PlanService],
) -> None:
    store, service = city
    cat = store.catalog()
    eid = min(cat.enterprises)
    before = service.table("employees", 2020, cat, NOW_MS).total.value
    (old,) = store.plans.current_filings([(eid, Period(2020, 12))]).values()
    fixed = Filing(
        eid,
        Period(2020, 12),
        {**old.figures, "employees": old.figures["employees"] + 1000},
        version=old.version + 1,
        reason="headcount of the new plant left out",
    )
    store.plans.write_filings([fixed])
    after = service.table("employees", 2020, cat, NOW_MS).total.value
    assert after == pytest.approx(before + 1000)  # type: ignore[operator]
    history = store.plans.filing_history(eid, Period(2020, 12))
    assert [h.version for h in history] == [1, 2]
    assert history[0].figures == old.figures


def test_raising_one_industrys_growth_raises_the_projected_outcome(
    city: tuple[DuckDBStore, PlanService],
) -> None:
    store, service = city
    cat = store.catalog()
    base = service.scenario(PLAN, "robot-output-2020", cat, NOW_MS, by="district", as_of_year=2019)
    keys = [c.key for c in base.contributions]
    assert keys
    boosted = service.scenario(
        PLAN,
        "robot-output-2020",
        cat,
        NOW_MS,
        by="district",
        overrides={keys[0]: 60.0},
        as_of_year=2019,
    )
    assert boosted.outcome.central > base.outcome.central


def test_percentiles_need_three_peers(city: tuple[DuckDBStore, PlanService]) -> None:
    store, service = city
    cat = store.catalog()
    eid = min(cat.enterprises)
    mine = service.percentiles(eid, 2020, cat)
    value, pct = mine["total_output"]
    assert value is not None
    assert pct is not None
    assert 0 <= pct <= 100
