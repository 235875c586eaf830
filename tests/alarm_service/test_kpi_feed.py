"""KPI rules live: when a day ends, each watched equipment's OEE for it is computed and judged."""

from __future__ import annotations

from pathlib import Path

from kiln.clock import ManualClock
from kiln.config import load_settings
from kiln.domain.batches import Bundle, StateBatch
from kiln.domain.states import EquipmentState
from kiln.runtime import build_runtime
from tests.conftest import NOW_MS, small_city

DAY_MS = 86_400_000
RULE = {
    "name": "poor-day",
    "kind": "kpi",
    "severity": "medium",
    "scope": {"template": "press"},
    "kpi": "oee",
    "op": "<",
    "limit": 0.5,
    "over": "day",
}


def test_a_day_of_breakdown_raises_the_oee_rule_once_the_day_has_ended(tmp_path: Path) -> None:
    # NOW_MS is midnight in Foshan: the day before it ends then.
    clock = ManualClock(NOW_MS - 3_600_000)
    settings = load_settings(
        environ={},
        overrides={
            "store": {"path": str(tmp_path / "kiln.duckdb")},
            "simulator": {"enabled": False},
            "alarms": {"rules": [RULE], "detect": False},
        },
    )
    rt = build_runtime(settings, clock=clock, simulate=False)
    try:
        rt.store.import_assets(small_city())
        press = rt.catalog.equipment_id("acme-auto", "press-1")
        robot = rt.catalog.equipment_id("acme-auto", "robot-1")
        down = StateBatch.of([press, robot], [NOW_MS - DAY_MS] * 2, [EquipmentState.DOWN_FAULT] * 2)
        rt.store.write(Bundle(states=down))
        assert rt.alarms is not None
        assert rt.alarms.tick() == []  # the day has not ended yet
        clock.advance(3_600_000 + 60_000)
        events = rt.alarms.tick()
        assert [(e.action, e.equipment_id, e.kind) for e in events] == [("raised", press, "kpi")]
        (alarm,) = rt.store.alarms.open_alarms()
        assert alarm.value == 0.0
        assert "oee" in alarm.message
        assert "below" in alarm.message
        clock.advance(60_000)
        assert rt.alarms.tick() == []  # the same day is judged once
    finally:
        rt.close()
