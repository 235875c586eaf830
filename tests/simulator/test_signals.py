from __future__ import annotations

import numpy as np
import pytest

from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.domain.templates import TEMPLATES
from kiln.simulator.engine import Simulator

from .catalog_builder import catalog_of
from .conftest import DAY_MS, HOUR_MS, MONDAY_MS, one_of_each
from .runs import state_at


class Day:
    """A Monday of a line with two of each template, without injected failures."""

    def __init__(self) -> None:
        doc = one_of_each(copies=2)
        self.catalog: AssetCatalog = catalog_of(doc)
        sim = Simulator(doc, self.catalog, seed=3, start_ms=MONDAY_MS, failure_rate_per_week=0)
        self.out = Bundle.concat([sim.advance(MONDAY_MS + h * HOUR_MS) for h in range(1, 25)])
        p = self.out.points
        self.equipment = np.array(
            [self.catalog.signals[int(s)].equipment_id for s in p.series], dtype=np.int64
        )
        self.state = state_at(self.out.states, self.equipment, p.ts_ms)

    def values(self, template: str, signal: str, *states: EquipmentState) -> np.ndarray:
        """Values of one signal of every equipment of a template, in the given states."""
        p = self.out.points
        ids = [
            s.id
            for s in self.catalog.signals.values()
            if s.name == signal and self.catalog.equipment[s.equipment_id].template == template
        ]
        mask = np.isin(p.series, ids) & np.isin(self.state, states)
        return p.value[mask]


@pytest.fixture(scope="module")
def day() -> Day:
    return Day()


SIGNALS = [(key, spec.name) for key, t in TEMPLATES.items() for spec in t.signals]
PACED = {"cycle_time", "stroke_rate", "speed_override"}  # follow the equipment's own cycle


@pytest.mark.parametrize(("template", "signal"), [s for s in SIGNALS if s[1] not in PACED])
def test_running_values_stay_in_the_normal_range(day: Day, template: str, signal: str) -> None:
    spec = TEMPLATES[template].signal(signal)
    values = day.values(template, signal, EquipmentState.RUNNING)
    span = spec.hi - spec.lo
    assert len(values) > 100
    low, high = np.percentile(values, [2, 98])
    assert spec.lo - 0.15 * span <= low, (low, spec)
    assert high <= spec.hi + 0.15 * span, (high, spec)
    assert spec.lo - span <= values.min()
    assert values.max() <= spec.hi + span


def test_cycle_times_and_stroke_rates_follow_the_ideal_cycle(day: Day) -> None:
    p = day.out.points
    running = day.state == EquipmentState.RUNNING
    for sid, sig in day.catalog.signals.items():
        ideal = day.catalog.equipment[sig.equipment_id].ideal_cycle_s
        assert ideal is not None
        values = p.value[(p.series == sid) & running]
        if sig.name == "cycle_time":
            assert np.all((values > 0.9 * ideal) & (values < 1.45 * ideal)), sig
        elif sig.name == "stroke_rate":
            assert np.all((values > 0.7 * 60 / ideal) & (values < 1.1 * 60 / ideal)), sig
        elif sig.name == "speed_override":
            assert np.all((values >= 70) & (values <= 100)), sig
            assert np.median(values) == 100


@pytest.mark.parametrize(
    ("template", "signal"),
    [("press", "tonnage"), ("industrial_robot", "power"), ("cnc_machine", "spindle_load")],
)
def test_load_drops_when_not_running(day: Day, template: str, signal: str) -> None:
    running = day.values(template, signal, EquipmentState.RUNNING)
    stopped = day.values(template, signal, EquipmentState.DOWN_FAULT, EquipmentState.PLANNED_DOWN)
    assert len(stopped) > 10
    assert stopped.mean() < 0.5 * running.mean()


def test_temperatures_cool_towards_the_air_during_a_break(day: Day) -> None:
    # The day shift's meal break: 12:00-12:30 in Foshan, 04:00-04:30 UTC.
    start, end = MONDAY_MS + 4 * HOUR_MS, MONDAY_MS + 4 * HOUR_MS + 30 * 60_000
    p = day.out.points
    ids = [s.id for s in day.catalog.signals.values() if s.name == "spindle_temp"]
    for sid in ids:
        ts = p.ts_ms[p.series == sid]
        v = p.value[p.series == sid]
        at_start, at_end = v[ts == start + 10_000][0], v[ts == end - 10_000][0]
        assert at_end < at_start - 2.0


def test_the_afternoon_is_warmer_than_the_night(day: Day) -> None:
    # Cabinets follow the air: Foshan is warmest mid-afternoon (UTC+8).
    p = day.out.points
    ids = [s.id for s in day.catalog.signals.values() if s.name == "cabinet_temp"]
    mine = np.isin(p.series, ids) & (day.state == EquipmentState.RUNNING)
    hour = (p.ts_ms[mine] - MONDAY_MS) // HOUR_MS
    v = p.value[mine]
    afternoon = v[(hour >= 5) & (hour < 9)].mean()  # 13:00-17:00 local
    night = v[(hour >= 18) & (hour < 22)].mean()  # 02:00-06:00 local
    assert afternoon > night + 2.0


def test_a_day_covers_the_whole_window(day: Day) -> None:
    p = day.out.points
    assert p.ts_ms.min() == MONDAY_MS
    assert p.ts_ms.max() < MONDAY_MS + DAY_MS
