"""Retention: whole days go by rule, rollups outlive raw points; the storage report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from kiln.clock import ManualClock
from kiln.config import RetentionSettings, load_settings
from kiln.domain.batches import Bundle, PointBatch
from kiln.errors import ConfigError
from kiln.runtime import Runtime
from kiln.store.base import Store
from kiln.store.postgres import PostgresStore
from kiln.store.retention import Keep, retention_plan, signal_matches
from tests.conftest import NOW_MS

HOUR, DAY = 3_600_000, 86_400_000
TODAY = NOW_MS - NOW_MS % DAY


def hourly(store: Store, days: int) -> None:
    """One point an hour of every signal, from `days` days ago to now."""
    sids = np.array(sorted(store.catalog().signals))
    ts = np.arange(TODAY - days * DAY, NOW_MS, HOUR)
    store.write(
        Bundle(
            points=PointBatch.of(
                np.repeat(sids, len(ts)), np.tile(ts, len(sids)), np.ones(len(ts) * len(sids))
            )
        )
    )
    store.compact()


def raw_points(store: Store, series: list[int] | None = None) -> pa.Table:
    return store.points(series or sorted(store.catalog().signals), 0, NOW_MS + 1)


def oldest_day(store: Store, table: str) -> int:
    usage = store.storage_report(NOW_MS).table(table)
    assert usage is not None
    assert usage.oldest_ms is not None
    return usage.oldest_ms // DAY * DAY


# -- the rules -------------------------------------------------------------------------------


def test_rollups_keep_at_least_what_they_summarise() -> None:
    assert Keep.of(30, 180, 0) == Keep(30, 180, None)
    assert Keep.of(30, 7, 1) == Keep(30, 30, 30)
    assert Keep.of(0, 180, 365) == Keep(None, None, None)  # raw forever: everything forever


def test_signal_rules_match_kinds_and_template_signal_patterns() -> None:
    assert signal_matches("state", "state", "press", "mode")
    assert not signal_matches("state", "gauge", "press", "mode")
    assert signal_matches("press.tonnage", "gauge", "press", "tonnage")
    assert signal_matches("*.power", "gauge", "industrial_robot", "power")
    assert not signal_matches("press.*", "gauge", "roller_kiln", "zone_1_temp")


def test_the_longest_matching_rule_wins(store: Store) -> None:
    rules = RetentionSettings(
        raw_days=30,
        enterprises={"acme-auto": 90, "nobody": 5},
        signals={"press.tonnage": 7, "roller_kiln.*": 0},
    )
    plan = retention_plan(store.catalog(), rules, NOW_MS)
    by_rule = {g.rule: g for g in plan.groups}
    cat = store.catalog()
    press = cat.equipment_id("acme-auto", "press-1")
    assert press is not None
    tonnage = cat.series_id(press, "tonnage")
    assert tonnage in by_rule["enterprise acme-auto"].series  # 90 beats 7
    assert by_rule["enterprise acme-auto"].raw_before_ms == TODAY - 90 * DAY
    assert by_rule["signals roller_kiln.*"].raw_before_ms is None  # 0: forever
    assert by_rule["default"].others
    assert by_rule["default"].series == ()  # every signal has a rule here
    assert plan.unmatched == ("enterprise nobody",)  # press.tonnage matched, and lost


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[retention]\nraw_days = -1\n", "retention.raw_days"),
        ('[retention.signals]\n"nosuch.*" = 7\n', "unknown template 'nosuch'"),
        ("[retention.signals]\nsensor = 7\n", "'sensor' is neither a signal kind"),
        ("[retention.enterprises]\nacme = 99999\n", "acme: 99999 is not within 0..36500 days"),
    ],
)
def test_bad_retention_settings_are_named(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "kiln.toml"
    conf.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as err:
        load_settings(conf, environ={})
    assert str(conf) in str(err.value)


# -- applied by the store ---------------------------------------------------------------------


def test_retention_removes_whole_days_and_keeps_rollups_longer(store: Store) -> None:
    hourly(store, 50)
    rules = RetentionSettings(raw_days=30, rollup_1m_days=40, rollup_1h_days=0)
    plan = retention_plan(store.catalog(), rules, NOW_MS)
    dry = store.retention(plan, dry_run=True)
    assert raw_points(store).num_rows == len(store.catalog().signals) * (50 * 24 + 16)
    removed = store.retention(plan)
    assert removed == dry
    assert {r.table: r.rows for r in removed} == {
        "points": 20 * 24 * len(store.catalog().signals),
        "rollup_1m": 10 * 24 * len(store.catalog().signals),
    }
    assert oldest_day(store, "points") == TODAY - 30 * DAY
    assert oldest_day(store, "rollup_1m") == TODAY - 40 * DAY
    assert oldest_day(store, "rollup_1h") == TODAY - 50 * DAY
    assert all(r.rows == 0 for r in store.retention(plan))  # nothing more today


def test_an_enterprise_keeps_its_raw_points_longer(store: Store) -> None:
    hourly(store, 20)
    rules = RetentionSettings(raw_days=10, rollup_1m_days=5, enterprises={"acme-auto": 15})
    store.retention(retention_plan(store.catalog(), rules, NOW_MS))
    acme = store.catalog().enterprise_by_slug["acme-auto"]
    signals = store.catalog().signals.values()
    own = [s.id for s in signals if s.enterprise_id == acme]
    others = [s.id for s in signals if s.enterprise_id != acme]
    assert min(raw_points(store, own)["ts_ms"].to_pylist()) == TODAY - 15 * DAY
    assert min(raw_points(store, others)["ts_ms"].to_pylist()) == TODAY - 10 * DAY
    # Never a rollup whose raw points are kept: 1-minute rollups as long as the raw points.
    assert oldest_day(store, "rollup_1m") == TODAY - 15 * DAY


def test_the_runtime_applies_retention_once_a_day(runtime: Runtime) -> None:
    hourly(runtime.store, 40)
    removed = runtime.retain()
    assert removed is not None
    assert sum(r.rows for r in removed if r.table == "points") > 0
    assert runtime.retain() is None  # not due again yet
    assert isinstance(runtime.clock, ManualClock)
    runtime.clock.advance(DAY)
    again = runtime.retain()
    assert again is not None
    assert sum(r.rows for r in again if r.table == "points") == 24 * len(runtime.catalog.signals)


def test_disabled_retention_never_runs(tmp_path: Path) -> None:
    from kiln.runtime import build_runtime

    settings = load_settings(
        environ={},
        overrides={
            "store": {"path": str(tmp_path / "k.duckdb")},
            "retention": {"enabled": False},
        },
    )
    rt = build_runtime(settings, clock=ManualClock(NOW_MS), simulate=False)
    try:
        assert rt.retain() is None
    finally:
        rt.close()


# -- the storage report -----------------------------------------------------------------------


def test_the_storage_report_says_what_uses_the_space(store: Store) -> None:
    hourly(store, 2)
    store.write(Bundle(points=PointBatch.of([min(store.catalog().signals)], [NOW_MS], [1.0])))
    report = store.storage_report(NOW_MS, days=2)
    signals = store.catalog().signals.values()
    n = len(signals) * (2 * 24 + 16) + 1
    points, hot = report.table("points"), report.table("points_hot")
    assert points is not None
    if isinstance(store, PostgresStore):  # points go straight into their day partition
        assert hot is None
        assert points.rows == n
    else:
        assert hot is not None
        assert points.rows + hot.rows == n
    assert points.bytes > 0
    assert points.oldest_ms == TODAY - 2 * DAY
    assert report.bytes_on_disk >= sum(t.bytes for t in report.tables) > 0
    rollup_1h = report.table("rollup_1h")
    assert rollup_1h is not None
    assert rollup_1h.rows == len(signals) * (2 * 24 + 16)
    assert sum(p for _, p in report.raw_by_enterprise) == n
    assert dict(report.raw_by_enterprise)["huamei-ceramics"] == sum(
        1
        for s in signals
        if s.enterprise_id == store.catalog().enterprise_by_slug["huamei-ceramics"]
    ) * (2 * 24 + 16)
    assert report.raw_by_day == (
        ("2025-11-23", 24 * len(signals)),
        ("2025-11-24", 16 * len(signals) + 1),
    )
    # DuckDB marks the live point's hour when compaction moves it out of points_hot;
    # PostgreSQL when it is written.
    assert report.pending_rollup == (1 if isinstance(store, PostgresStore) else 0)
    view = report.view()
    assert view["oldest_raw_ms"] == TODAY - 2 * DAY
    assert view["raw_by_day"][0] == {"date": "2025-11-23", "points": 24 * len(signals)}
