"""The alarm service in its own thread: what the writer commits is evaluated without the
writer waiting, rules from the settings apply, and alarms outlive a restart."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from kiln.clock import ManualClock
from kiln.config import load_settings
from kiln.domain.batches import Bundle, PointBatch
from kiln.errors import BadInput
from kiln.runtime import Runtime, build_runtime
from tests.conftest import NOW_MS, small_city

RULE = {
    "name": "kiln-too-hot",
    "kind": "threshold",
    "severity": "critical",
    "scope": {"template": "roller_kiln"},
    "signal": "firing_temp",
    "op": ">",
    "limit": 1250.0,
}


def runtime_with_rule(tmp_path: Path) -> Runtime:
    settings = load_settings(
        environ={},
        overrides={
            "store": {"path": str(tmp_path / "kiln.duckdb")},
            "simulator": {"enabled": False},
            "alarms": {"rules": [RULE], "detect": False},
        },
    )
    rt = build_runtime(settings, clock=ManualClock(NOW_MS), simulate=False)
    rt.store.import_assets(small_city())
    return rt


def firing(rt: Runtime, values: list[float], start_ms: int = NOW_MS - 60_000) -> Bundle:
    kiln = rt.catalog.equipment_id("huamei-ceramics", "kiln-1")
    assert kiln is not None
    sid = rt.catalog.series_id(kiln, "firing_temp")
    ts = [start_ms + 1000 * i for i in range(len(values))]
    return Bundle(points=PointBatch.of([sid] * len(values), ts, values))


def wait_for(predicate: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


async def test_committed_data_raises_a_configured_rule_alarm_in_the_background(
    tmp_path: Path,
) -> None:
    rt = runtime_with_rule(tmp_path)
    try:
        await rt.start(adapters=False)
        await rt.writer.submit(firing(rt, [1200, 1260, 1270]))
        assert rt.alarms is not None
        await asyncio.to_thread(wait_for, lambda: rt.alarms is not None and rt.alarms.raised == 1)
        (alarm,) = rt.store.alarms.open_alarms()
        assert alarm.rule == "kiln-too-hot"
        assert alarm.kind == "threshold"
        assert alarm.value == 1260.0
        assert [(r.name, origin) for r, origin in rt.alarms.rules()] == [("kiln-too-hot", "config")]
    finally:
        await rt.stop()
    # A new process starts from the stored open alarms: the same excursion is no new alarm.
    rt2 = runtime_with_rule(tmp_path)
    try:
        assert rt2.alarms is not None
        assert [a.id for a in rt2.alarms.book.open_alarms()] == [alarm.id]
        assert rt2.alarms.evaluate(firing(rt2, [1280], NOW_MS - 30_000)) == []
        # The new process knows the alarm is active: back under the limit, it clears.
        events = rt2.alarms.evaluate(firing(rt2, [1200], NOW_MS - 20_000))
        assert [(e.alarm_id, e.action) for e in events] == [(alarm.id, "cleared")]
    finally:
        rt2.close()


def test_a_full_queue_skips_bundles_instead_of_blocking_the_writer(tmp_path: Path) -> None:
    rt = runtime_with_rule(tmp_path)
    try:
        assert rt.alarms is not None
        bundle = firing(rt, [1200])
        for _ in range(300):  # the thread is not running: nothing drains the queue
            rt.alarms.observe(bundle)
        assert rt.alarms.skipped == 300 - 256
    finally:
        rt.close()


def test_a_rule_named_in_the_settings_cannot_be_replaced_through_the_api(tmp_path: Path) -> None:
    rt = runtime_with_rule(tmp_path)
    try:
        assert rt.alarms is not None
        with pytest.raises(BadInput, match="configuration file"):
            rt.alarms.put_rule(RULE, who="someone")
    finally:
        rt.close()
