"""The anomaly monitor: hysteresis, warm-up and the explanation of each condition."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.analytics.monitor import NONE, AnomalyMonitor, MonitorSettings, RunningSpells, severity_of
from kiln.domain.alarms import Severity
from kiln.domain.assets import Enterprise, Equipment, Line, Signal, Site, Station
from kiln.domain.batches import PointBatch, StateBatch
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput

MIN_MS = 60_000
T0 = 1_763_942_400_000  # 2025-11-24T00:00Z, 08:00 in Foshan


def _catalog() -> AssetCatalog:
    return AssetCatalog.build(
        [Enterprise(1, "acme", "Acme", "nanhai", "3670")],
        [Site(1, 1, "plant-1", "Plant", "Asia/Shanghai")],
        [Line(1, 1, 1, "l1", "L1")],
        [Station(1, 1, 1, "op10", "OP10", 1)],
        [Equipment(4, 1, 1, "weld-robot-4", "Weld robot 4", "industrial_robot")],
        [Signal(42, 1, 4, "j2_motor_temp", "°C", "gauge", 20.0, 80.0)],
    )


def _feed(mon: AnomalyMonitor, values: np.ndarray) -> list:  # type: ignore[type-arg]
    ts = T0 + np.arange(len(values), dtype=np.int64) * MIN_MS
    out = []
    for i in range(0, len(values), 120):
        b = PointBatch.of(np.full(len(ts[i : i + 120]), 42), ts[i : i + 120], values[i : i + 120])
        out += mon.observe(b)
    return out


def test_a_fault_raises_once_with_an_explanation_and_clears_when_it_ends() -> None:
    rng = np.random.default_rng(1)
    x = 52.0 + rng.normal(0.0, 0.5, 3 * 1440)
    x[2 * 1440 : 2 * 1440 + 180] += 20.0  # three hours 20 degrees hot, from 08:00 local
    conds = _feed(AnomalyMonitor(_catalog()), x)
    assert [c.active for c in conds] == [True, False]
    up, down = conds
    assert up.key == "anomaly:series:42"
    assert up.kind == "anomaly"
    assert (up.enterprise_id, up.equipment_id, up.series) == (1, 4, 42)
    assert up.since_ms == T0 + 2 * 1440 * MIN_MS + MIN_MS  # the first minute's bucket end
    assert up.ts_ms - up.since_ms == 120 * MIN_MS  # raise_after_ms
    assert up.message.startswith("j2_motor_temp on weld-robot-4 is ")
    assert "σ above normal (" in up.message
    assert "°C vs " in up.message
    assert up.message.endswith("since 08:01")
    assert up.severity >= Severity.MEDIUM
    assert "back to normal" in down.message
    assert down.ts_ms > T0 + (2 * 1440 + 180) * MIN_MS


def test_no_condition_during_warm_up() -> None:
    x = np.r_[np.full(600, 10.0), np.full(600, 90.0)]
    assert _feed(AnomalyMonitor(_catalog()), x) == []


def test_a_short_spike_does_not_raise() -> None:
    rng = np.random.default_rng(2)
    x = 52.0 + rng.normal(0.0, 0.5, 2 * 1440 + 300)
    x[2 * 1440 : 2 * 1440 + 20] += 20.0  # twenty minutes: shorter than raise_after
    assert _feed(AnomalyMonitor(_catalog()), x) == []


def test_a_lower_threshold_keeps_it_raised_between_the_two() -> None:
    settings = MonitorSettings(raise_after_ms=5 * MIN_MS, clear_after_ms=5 * MIN_MS)
    rng = np.random.default_rng(3)
    x = 52.0 + rng.normal(0.0, 0.5, 2 * 1440 + 300)
    x[2 * 1440 :] += 30.0
    conds = _feed(AnomalyMonitor(_catalog(), settings=settings), x)
    assert [c.active for c in conds] == [True]


def _stop_and_cool(mon: AnomalyMonitor, states: bool) -> list:  # type: ignore[type-arg]
    """Three days at 52 °C running, with a 6 h stop on day 3 during which the motor cools."""
    rng = np.random.default_rng(4)
    x = 52.0 + rng.normal(0.0, 0.3, 3 * 1440)
    stop = slice(2 * 1440, 2 * 1440 + 360)
    x[stop] = 25.0 + 27.0 * np.exp(-np.arange(360) / 30.0)
    ts = T0 + np.arange(len(x), dtype=np.int64) * MIN_MS
    changes = StateBatch.of([4, 4, 4], [T0, ts[stop.start], ts[stop.stop]], [1, 6, 1])
    out = []
    for i in range(0, len(x), 120):
        sb = StateBatch.of(
            *(c[(changes.ts_ms >= ts[i]) & (changes.ts_ms < ts[i] + 120 * MIN_MS)]
              for c in (changes.equipment, changes.ts_ms, changes.state))
        ) if states else None  # fmt: skip
        out += mon.observe(PointBatch.of(np.full(120, 42), ts[i : i + 120], x[i : i + 120]), sb)
    return out


def test_a_stopped_machine_cooling_is_not_an_anomaly_when_its_state_is_known() -> None:
    assert _stop_and_cool(AnomalyMonitor(_catalog()), states=True) == []


def test_without_states_the_same_cooling_raises() -> None:
    conds = _stop_and_cool(AnomalyMonitor(_catalog()), states=False)
    assert [c.active for c in conds][:1] == [True]
    assert "below normal" in conds[0].message


def test_running_spells_continue_across_speed_changes_and_idle() -> None:
    spells = RunningSpells()
    # running at 0, a new speed at 10, idle at 20, running at 25, off shift at 40
    spells.add(StateBatch.of([7] * 5, [0, 10, 20, 25, 40], [1, 1, 2, 1, 6]))
    run, busy = spells.since(np.array([7, 7, 7, 7, 8]), np.array([15, 22, 30, 45, 30]))
    assert run.tolist() == [0, NONE, 25, NONE, NONE]
    assert busy.tolist() == [0, 0, 0, NONE, NONE]


def test_states_out_of_range_are_refused_naming_the_monitor() -> None:
    with pytest.raises(BadInput, match="monitor states: equipment id or time out of range"):
        RunningSpells().add(StateBatch.of([-1], [0], [1]))


def test_severity_grows_with_the_deviation() -> None:
    assert [severity_of(z) for z in (4.5, -7.0, 12.0, 25.0)] == [
        Severity.LOW,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.CRITICAL,
    ]


def _excursion(mon: AnomalyMonitor, states: bool, rise: float, minutes: int) -> list:  # type: ignore[type-arg]
    """Three days at 52 °C running; on day 3 from 08:00 local, rise degrees for minutes."""
    rng = np.random.default_rng(5)
    x = 52.0 + rng.normal(0.0, 0.3, 3 * 1440)
    x[2 * 1440 : 2 * 1440 + minutes] += rise
    ts = T0 + np.arange(len(x), dtype=np.int64) * MIN_MS
    out = []
    for i in range(0, len(x), 120):
        sb = StateBatch.of([4], [T0], [1]) if states and i == 0 else None
        out += mon.observe(PointBatch.of(np.full(120, 42), ts[i : i + 120], x[i : i + 120]), sb)
    return out


def test_with_states_known_a_shorter_hold_at_a_lower_threshold_raises() -> None:
    # 8 degrees is about 6 sigma beyond the band (sigma: 2 % of the 60 degree range).
    conds = _excursion(AnomalyMonitor(_catalog()), states=True, rise=8.0, minutes=45)
    assert [c.active for c in conds] == [True, False]
    assert conds[0].ts_ms - conds[0].since_ms == 20 * MIN_MS  # raise_after_ms_running


def test_without_states_the_same_excursion_is_held_to_the_strict_rule() -> None:
    assert _excursion(AnomalyMonitor(_catalog()), states=False, rise=8.0, minutes=45) == []


def test_with_states_known_four_and_a_half_sigma_raises_and_without_it_does_not() -> None:
    # 6.5 degrees: about 4.5 sigma beyond the band, under the 6 sigma of the strict rule.
    rise, minutes = 6.5, 3 * 60
    assert [c.active for c in _excursion(AnomalyMonitor(_catalog()), True, rise, minutes)] == [
        True,
        False,
    ]
    assert _excursion(AnomalyMonitor(_catalog()), False, rise, minutes) == []


def test_settings_refuse_a_running_threshold_below_the_clear_one() -> None:
    with pytest.raises(ValueError, match="clear_score <= raise_score and raise_score_running"):
        MonitorSettings(raise_score_running=0.4)
    with pytest.raises(ValueError, match="times must not be negative"):
        MonitorSettings(raise_after_ms_running=-1)
