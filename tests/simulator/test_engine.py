from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiln.domain.states import IDLE_REASONS, EquipmentState
from kiln.domain.templates import TEMPLATES
from kiln.errors import BadInput
from kiln.simulator.engine import Simulator

from .catalog_builder import catalog_of
from .conftest import DAY_MS, HOUR_MS, MONDAY_MS, one_of_each
from .runs import assert_same, simulate

# Starts 20 min before UTC midnight: runs cross the day boundary the plan grows by.
START_MS = MONDAY_MS + DAY_MS - 20 * 60_000 + 123


def test_the_same_seed_gives_the_same_data(mixed_doc: dict[str, Any]) -> None:
    _, a = simulate(mixed_doc, START_MS, [6 * HOUR_MS], seed=5, rate=20)
    _, b = simulate(mixed_doc, START_MS, [6 * HOUR_MS], seed=5, rate=20)
    assert len(a.points) > 10_000
    assert_same(a, b)


def test_another_seed_gives_other_data(mixed_doc: dict[str, Any]) -> None:
    _, a = simulate(mixed_doc, START_MS, [HOUR_MS], seed=5)
    _, b = simulate(mixed_doc, START_MS, [HOUR_MS], seed=6)
    assert not np.array_equal(a.points.sorted().value, b.points.sorted().value)


CHUNK_TOTAL_MS = 3 * HOUR_MS


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(1, CHUNK_TOTAL_MS - 1), max_size=12))
def test_advancing_in_any_steps_gives_the_same_data_as_one_step(cuts: list[int]) -> None:
    doc = one_of_each()
    steps = [*sorted(set(cuts)), CHUNK_TOTAL_MS]
    _, whole = simulate(doc, START_MS, [CHUNK_TOTAL_MS], rate=40)
    _, pieces = simulate(doc, START_MS, steps, rate=40)
    assert_same(whole, pieces)


def test_one_second_steps_give_the_same_data_as_one_step(mixed_doc: dict[str, Any]) -> None:
    steps = list(range(1000, 15 * 60_000 + 1, 1000))
    _, whole = simulate(mixed_doc, START_MS, [steps[-1]])
    _, pieces = simulate(mixed_doc, START_MS, steps)
    assert_same(whole, pieces)


def test_points_fall_on_their_period_inside_the_window(mixed_doc: dict[str, Any]) -> None:
    cat = catalog_of(mixed_doc)
    _, b = simulate(mixed_doc, START_MS, [2 * HOUR_MS], catalog=cat)
    assert b.points.ts_ms.min() >= START_MS
    assert b.points.ts_ms.max() < START_MS + 2 * HOUR_MS
    for sid in np.unique(b.points.series):
        sig = cat.signals[int(sid)]
        spec = TEMPLATES[cat.equipment[sig.equipment_id].template].signal(sig.name)
        ts = b.points.ts_ms[b.points.series == sid]
        period = int(spec.period_s * 1000)
        assert np.all(ts % period == 0), sig.name
        assert len(ts) == pytest.approx(2 * HOUR_MS / period, abs=1)
        values = b.points.value[b.points.series == sid]
        np.testing.assert_array_equal(values, np.round(values, spec.decimals))


def test_every_equipment_starts_with_a_known_state(mixed_doc: dict[str, Any]) -> None:
    cat = catalog_of(mixed_doc)
    _, b = simulate(mixed_doc, START_MS, [60_000, 2 * HOUR_MS], catalog=cat)
    s = b.states
    for eid in cat.equipment:
        mine = np.flatnonzero(s.equipment == eid)
        assert len(mine) > 0, eid
        assert s.ts_ms[mine[0]] == START_MS
        assert s.state[mine[0]] != EquipmentState.UNKNOWN
    assert EquipmentState.UNKNOWN not in set(s.state.tolist())


def test_state_changes_are_changes_with_sensible_reasons(mixed_doc: dict[str, Any]) -> None:
    _, b = simulate(mixed_doc, START_MS, [2 * DAY_MS], rate=5)
    s = b.states
    reasons = s.reasons()
    for eid in np.unique(s.equipment):
        rows = np.flatnonzero(s.equipment == eid)
        assert np.all(np.diff(s.ts_ms[rows]) > 0)
        pairs = [(int(s.state[i]), reasons[i]) for i in rows]
        assert all(a != b for a, b in itertools.pairwise(pairs))
    for code, reason in zip(s.state.tolist(), reasons, strict=True):
        if code == EquipmentState.IDLE:
            assert reason in IDLE_REASONS
        elif code in (EquipmentState.RUNNING, EquipmentState.OFF_SHIFT):
            assert reason is None
        else:
            assert reason
    states = set(s.state.tolist())
    for wanted in ("RUNNING", "IDLE", "SETUP", "DOWN_FAULT", "PLANNED_DOWN"):
        assert EquipmentState[wanted] in states


def test_a_kiln_keeps_no_shift_calendar(mixed_doc: dict[str, Any]) -> None:
    cat = catalog_of(mixed_doc)
    _, b = simulate(mixed_doc, START_MS, [2 * DAY_MS], catalog=cat, rate=0)
    kiln = cat.equipment_id("mixed-works", "roller-kiln-1")
    press = cat.equipment_id("mixed-works", "press-1")
    kiln_states = set(b.states.state[b.states.equipment == kiln].tolist())
    assert EquipmentState.PLANNED_DOWN not in kiln_states
    assert EquipmentState.PLANNED_DOWN in set(b.states.state[b.states.equipment == press].tolist())


def test_counts_are_whole_non_negative_and_follow_the_ideal_cycle(
    mixed_doc: dict[str, Any],
) -> None:
    cat = catalog_of(mixed_doc)
    _, b = simulate(mixed_doc, START_MS, [DAY_MS], catalog=cat)
    c = b.counts
    assert len(c) > 0
    assert np.all(c.good >= 0)
    assert np.all(c.scrap >= 0)
    assert np.all(c.ts_ms % 60_000 == 0)
    for eid, eq in cat.equipment.items():
        mine = c.equipment == eid
        made = int(c.good[mine].sum() + c.scrap[mine].sum())
        most = DAY_MS / 1000 / (eq.ideal_cycle_s or 1.0)
        assert 0.3 * most < made <= 1.05 * most, eq.slug
        assert c.scrap[mine].sum() < 0.2 * made


def test_advancing_backwards_is_refused_and_standing_still_yields_nothing(
    mixed_doc: dict[str, Any],
) -> None:
    sim = Simulator(mixed_doc, catalog_of(mixed_doc), seed=1, start_ms=START_MS)
    assert len(sim.advance(START_MS)) == 0
    sim.advance(START_MS + 10_000)
    assert sim.now_ms == START_MS + 10_000
    with pytest.raises(ValueError, match="before the simulation's present"):
        sim.advance(START_MS)


def test_equipment_missing_from_the_catalogue_is_named(mixed_doc: dict[str, Any]) -> None:
    other = one_of_each()
    other["enterprises"][0]["sites"][0]["lines"][0]["stations"][0]["equipment"][0]["slug"] = "new-1"
    with pytest.raises(BadInput, match="mixed-works/new-1: equipment is not in the asset"):
        Simulator(other, catalog_of(mixed_doc), seed=1, start_ms=START_MS)


def test_a_negative_failure_rate_is_refused(mixed_doc: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="failure_rate_per_week"):
        Simulator(mixed_doc, catalog_of(mixed_doc), seed=1, start_ms=0, failure_rate_per_week=-1)
