from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kiln.domain.batches import Bundle, PointBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.domain.templates import TEMPLATES
from kiln.simulator.engine import Simulator
from kiln.simulator.failures import FAILURE_KINDS, KINDS_BY_KEY, InjectedFailure, kinds_of
from kiln.simulator.signal_models import model_of

from .catalog_builder import catalog_of
from .conftest import DAY_MS, HOUR_MS, MONDAY_MS, one_of_each
from .runs import state_at

DAYS = 9
RATE_PER_WEEK = 3.5


class Run:
    """Nine days of a line with two of each template and frequent failures.

    Only the signals some failure kind moves are kept, to spare memory.
    """

    def __init__(self) -> None:
        self.doc = one_of_each(copies=2)
        self.catalog: AssetCatalog = catalog_of(self.doc)
        self.sim = Simulator(
            self.doc, self.catalog, seed=11, start_ms=MONDAY_MS, failure_rate_per_week=RATE_PER_WEEK
        )
        watched = {
            sid
            for sid, sig in self.catalog.signals.items()
            if any(
                sig.name in {e.signal for e in k.effects}
                for k in kinds_of(self.catalog.equipment[sig.equipment_id].template)
            )
        }
        keep = np.array(sorted(watched))
        bundles = []
        for h in range(1, DAYS * 24 + 1):
            b = self.sim.advance(MONDAY_MS + h * HOUR_MS)
            mask = np.isin(b.points.series, keep)
            points = PointBatch(b.points.series[mask], b.points.ts_ms[mask], b.points.value[mask])
            bundles.append(Bundle(points, b.states, b.counts))
        self.out = Bundle.concat(bundles)


@pytest.fixture(scope="module")
def run() -> Run:
    return Run()


def _running_mean(run: Run, f: InjectedFailure, signal: str, start: int, end: int) -> float:
    sid = run.catalog.series_id(f.equipment_id, signal)
    p = run.out.points
    rows = np.flatnonzero((p.series == sid) & (p.ts_ms >= start) & (p.ts_ms < end))
    ts = p.ts_ms[rows]
    state = state_at(run.out.states, np.full(len(ts), f.equipment_id), ts)
    values = p.value[rows][state == EquipmentState.RUNNING]
    return float(values.mean()) if len(values) >= 5 else float("nan")


LONG_STOP_MS = 10 * 60_000


def _settled(run: Run, equipment_id: int, start: int, end: int) -> bool:
    """No stop over 10 minutes (waiting aside) in the window or the hour before: warm machines."""
    s = run.out.states
    lead = start - HOUR_MS
    mine = np.flatnonzero((s.equipment == equipment_id) & (s.ts_ms < end))
    ts = np.clip(np.append(s.ts_ms[mine], end), lead, end)
    stopped = ~np.isin(s.state[mine], [EquipmentState.RUNNING, EquipmentState.IDLE])
    return not (np.diff(ts)[stopped] > LONG_STOP_MS).any()


def _windows(run: Run, f: InjectedFailure) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The last hour before a failure and the same hour a day earlier, if both are comparable."""
    last = (f.failure_ms - HOUR_MS, f.failure_ms)
    before = (f.failure_ms - 25 * HOUR_MS, f.failure_ms - 24 * HOUR_MS)
    overlaps = any(
        g.equipment_id == f.equipment_id and g.precursor_start_ms < before[1] < g.end_ms + HOUR_MS
        for g in run.sim.failures
    )
    if before[0] < MONDAY_MS + 3 * HOUR_MS or overlaps:
        return None
    if not (_settled(run, f.equipment_id, *last) and _settled(run, f.equipment_id, *before)):
        return None
    return last, before


def test_the_ground_truth_lists_failures_of_every_template(run: Run) -> None:
    failures = run.sim.failures
    templates = {run.catalog.equipment[f.equipment_id].template for f in failures}
    assert templates == set(TEMPLATES)
    for f in failures:
        assert f.precursor_start_ms < f.failure_ms < f.end_ms
        assert f.failure_ms - f.precursor_start_ms >= 2 * HOUR_MS
        assert f.signals == tuple(e.signal for e in KINDS_BY_KEY[f.kind].effects)
        assert f.precursor_start_ms < run.sim.now_ms


def test_equipment_is_down_with_the_failure_as_reason_until_repaired(run: Run) -> None:
    s = run.out.states
    reasons = s.reasons()
    for f in run.sim.failures:
        if f.end_ms >= run.sim.now_ms:
            continue
        rows = np.flatnonzero((s.equipment == f.equipment_id) & (s.ts_ms == f.failure_ms))
        assert len(rows) == 1, f
        assert s.state[rows[0]] == EquipmentState.DOWN_FAULT
        assert reasons[rows[0]] == f.kind
        inside = (s.equipment == f.equipment_id) & (s.ts_ms > f.failure_ms) & (s.ts_ms < f.end_ms)
        assert not inside.any(), f


def test_precursors_move_their_signals_before_the_failure(run: Run) -> None:
    checked = 0
    for f in run.sim.failures:
        tmpl = run.catalog.equipment[f.equipment_id].template
        windows = _windows(run, f)
        if windows is None:
            continue
        for effect in KINDS_BY_KEY[f.kind].effects:
            spec = TEMPLATES[tmpl].signal(effect.signal)
            if model_of(tmpl, spec).speed_exp:
                continue  # speed losses move it as much as the precursor does
            last, earlier = (_running_mean(run, f, effect.signal, *w) for w in windows)
            if np.isnan(last) or np.isnan(earlier):
                continue
            moved = (last - earlier) * np.sign(effect.shift) / (spec.hi - spec.lo)
            assert moved > 0.25 * abs(effect.shift), (f, effect.signal, last, earlier)
            checked += 1
    assert checked >= 10


def test_reducer_wear_shows_as_rising_torque_in_the_last_hour(run: Run) -> None:
    shown = 0
    for f in run.sim.failures:
        windows = _windows(run, f)
        if not f.kind.endswith("reducer_wear") or windows is None:
            continue
        torque = f"{f.kind.split('_')[0]}_torque"
        last, earlier = (_running_mean(run, f, torque, *w) for w in windows)
        if np.isnan(last) or np.isnan(earlier):
            continue
        assert last > earlier + 5.0, f  # % of rated torque
        shown += 1
    assert shown >= 1


def test_scrap_rises_as_a_failure_approaches(run: Run) -> None:
    c = run.out.counts
    near = far = made_near = made_far = 0
    for f in run.sim.failures:
        mine = c.equipment == f.equipment_id
        close = mine & (c.ts_ms >= f.failure_ms - HOUR_MS) & (c.ts_ms < f.failure_ms)
        away = (
            mine
            & (c.ts_ms >= f.failure_ms - 25 * HOUR_MS)
            & (c.ts_ms < f.failure_ms - 23 * HOUR_MS)
        )
        near += int(c.scrap[close].sum())
        made_near += int(c.good[close].sum() + c.scrap[close].sum())
        far += int(c.scrap[away].sum())
        made_far += int(c.good[away].sum() + c.scrap[away].sum())
    assert near / made_near > 2 * far / made_far


def test_every_template_has_failure_kinds_on_its_own_signals() -> None:
    for key, tmpl in TEMPLATES.items():
        kinds = kinds_of(key)
        assert kinds, key
        for k in kinds:
            for e in k.effects:
                tmpl.signal(e.signal)
    assert len({k.key for k in FAILURE_KINDS}) == len(FAILURE_KINDS)


def test_no_failures_are_injected_at_rate_zero(mixed_doc: dict[str, Any]) -> None:
    sim = Simulator(
        mixed_doc, catalog_of(mixed_doc), seed=1, start_ms=MONDAY_MS, failure_rate_per_week=0
    )
    sim.advance(MONDAY_MS + 3 * DAY_MS)
    assert sim.failures == []
