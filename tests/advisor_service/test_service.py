"""The advisor over a simulated plant: the planted manual bottleneck is found and proposed,
and a simulated robot installation is followed up against its prediction."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiln.advisor.assumptions import Assumptions
from kiln.advisor_service.service import AdvisorService, LineAdvice, prediction_of
from kiln.config import KpiSettings
from kiln.errors import BadInput
from kiln.store.duckdb import DuckDBStore
from kiln.store.installation_tables import Installation
from tests.plant import (
    DAY_MS,
    DAYS,
    LINE,
    NECK,
    START_MS,
    plant,
    simulate,
    with_robot,
)

NOW_MS = START_MS + DAYS * DAY_MS + 3_600_000


def _line(found: list[LineAdvice], slug: str) -> LineAdvice:
    return next(la for la in found if la.line.measure.slug == slug)


def test_the_planted_manual_bottleneck_is_found_and_proposed(
    plant_db: Path, tmp_path: Path
) -> None:
    store = DuckDBStore(plant_db)
    try:
        service = AdvisorService(store, KpiSettings())
        found = service.advise(store.catalog(), sorted(store.catalog().lines), NOW_MS, days=DAYS)
    finally:
        store.close()
    la = _line(found, LINE)
    neck = la.analysis.bottleneck
    assert neck is not None
    assert neck.measure.slug == NECK
    assert neck.bottleneck_share >= 0.9
    assert neck.measure.operators > 0
    first = la.proposals[0].candidate
    assert first.station.measure.slug == NECK
    assert "bottleneck" in first.reasons
    assert first.effects.throughput_gain > 0.1
    assert first.money.payback_years is not None
    low, high = first.range.payback_low_years, first.range.payback_high_years
    assert low is not None
    assert high is not None
    assert low <= first.money.payback_years <= high
    # About a week of shifts: 2 a day, less a Sunday off and the window's cut edges.
    assert len(la.line.measure.stations[0].samples) >= 10
    # The stations of the line with no equipment reporting are named, not invented.
    assert all(isinstance(name, str) for name in la.line.unmeasured)


def test_no_robot_station_is_proposed_for_labour_alone(plant_db: Path) -> None:
    store = DuckDBStore(plant_db)
    try:
        found = AdvisorService(store, KpiSettings()).advise(
            store.catalog(), sorted(store.catalog().lines), NOW_MS, days=DAYS
        )
    finally:
        store.close()
    for la in found:
        for p in la.proposals:
            assert p.candidate.station.measure.manual
            assert p.candidate.reasons  # each names the measured loss it addresses


def test_the_window_is_checked(plant_db: Path) -> None:
    store = DuckDBStore(plant_db)
    try:
        with pytest.raises(BadInput, match="days is 0"):
            AdvisorService(store, KpiSettings()).advise(store.catalog(), [], NOW_MS, days=0)
    finally:
        store.close()


def test_a_simulated_installation_is_compared_with_its_prediction(tmp_path: Path) -> None:
    """A week with the manual bottleneck, the robot cell the advisor proposed installed, a
    week with it: the line's measured output gain is set against the predicted one."""
    store = DuckDBStore(tmp_path / "kiln.duckdb")
    try:
        doc = plant()
        simulate(store, doc, START_MS, DAYS)
        service = AdvisorService(store, KpiSettings())
        catalog = store.catalog()
        la = _line(service.advise(catalog, sorted(catalog.lines), NOW_MS, days=DAYS), LINE)
        c = la.proposals[0].candidate
        installed = START_MS + DAYS * DAY_MS
        simulate(store, with_robot(doc, c.effects.robot_cycle_s), installed, DAYS)
        catalog = store.catalog()
        line_id = la.line.measure.line_id
        item = store.installations.add(
            Installation(
                0, catalog.lines[line_id].enterprise_id, line_id, c.station.measure.station_id,
                installed, None, "cobot cell", prediction_of(c, Assumptions()), NOW_MS, "test",
            )
        )  # fmt: skip
        followed = service.follow_up(catalog, item, installed + DAYS * DAY_MS + 3_600_000)
    finally:
        store.close()
    assert followed.result is not None, followed.why
    r = followed.result
    assert r.output_after_per_h > r.output_before_per_h * 1.1  # the line really got faster
    assert r.gain.predicted == pytest.approx(c.effects.throughput_gain)
    # The simulator's robot runs at the predicted cycle: the station's measured cycle agrees.
    assert r.cycle.measured == pytest.approx(c.effects.robot_cycle_s, rel=0.1)
    assert r.cycle.verdict == "as predicted"
    # The measured gain is within a third of the prediction: the estimate is honest.
    assert abs(r.gain.relative_error or 0.0) < 0.34


def test_an_installation_without_a_day_after_it_is_not_judged(plant_db: Path) -> None:
    store = DuckDBStore(plant_db)
    try:
        service = AdvisorService(store, KpiSettings())
        item = Installation(1, 1, 1, 1, NOW_MS - 3_600_000, None, "", {}, NOW_MS, "t")
        followed = service.follow_up(store.catalog(), item, NOW_MS)
    finally:
        store.close()
    assert followed.result is None
    assert "less than a day" in followed.why
