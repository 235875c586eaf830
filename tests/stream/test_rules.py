"""The rule engine: known answers for every rule kind, batch order and scope resolution."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.domain.alarms import Condition, Severity
from kiln.domain.assets import Enterprise, Equipment, Line, Signal, Site, Station
from kiln.domain.batches import Bundle, CountBatch, PointBatch, StateBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState as S
from kiln.errors import BadInput
from kiln.stream.rule_defs import Rule, parse_rule
from kiln.stream.rules import RuleEngine

KILN, PRESS, OTHER = 10, 20, 30  # equipment ids
TEMP, TONNAGE, OTHER_TEMP = 100, 200, 300  # series ids
MIN = 60_000
T0 = 1_700_000_000_000


def catalog() -> AssetCatalog:
    return AssetCatalog.build(
        [
            Enterprise(1, "tiles", "Tiles", "nanhai", "C3071"),
            Enterprise(2, "other", "O", "shunde", "C"),
        ],
        [Site(1, 1, "plant", "Plant"), Site(2, 2, "p", "P")],
        [Line(1, 1, 1, "line-1", "Line 1"), Line(2, 2, 2, "l", "L")],
        [Station(1, 1, 1, "st-1", "Station 1"), Station(2, 2, 2, "s", "S")],
        [
            Equipment(KILN, 1, 1, "kiln-1", "Kiln 1", "roller_kiln"),
            Equipment(PRESS, 1, 1, "press-1", "Press 1", "press"),
            Equipment(OTHER, 2, 2, "kiln-9", "Kiln 9", "roller_kiln"),
        ],
        [
            Signal(TEMP, 1, KILN, "firing_temp", "°C", "gauge", 1150, 1230),
            Signal(TONNAGE, 1, PRESS, "tonnage", "kN", "gauge", 6000, 9000),
            Signal(OTHER_TEMP, 2, OTHER, "firing_temp", "°C", "gauge", 1150, 1230),
        ],
    )


def rule(kind: str, **fields: Any) -> Rule:
    doc = {"kind": kind, "name": "r", "severity": "high", "scope": [KILN], **fields}
    return parse_rule(doc, where="test")


def engine(*rules: Rule, start_ms: int | None = None) -> RuleEngine:
    return RuleEngine(rules, catalog(), start_ms=start_ms)


def points(
    values: list[float], *, start: int = T0, step: int = 10_000, series: int = TEMP
) -> Bundle:
    ts = start + step * np.arange(len(values))
    return Bundle(points=PointBatch.of(np.full(len(values), series), ts, values))


def brief(conds: list[Condition]) -> list[tuple[bool, int, int | None]]:
    return [(c.active, c.ts_ms, c.since_ms) for c in conds]


OVERHEAT = {"signal": "firing_temp", "op": ">", "limit": 1200}


def test_a_value_oscillating_inside_the_deadband_raises_once_and_clears_once() -> None:
    e = engine(rule("threshold", **OVERHEAT, deadband=10))
    values = [1195, 1201, 1199, 1202, 1195, 1201, 1189, 1195, 1199, 1191]
    got = e.observe(points(values))
    assert brief(got) == [(True, T0 + 10_000, T0 + 10_000), (False, T0 + 60_000, T0 + 10_000)]
    assert got[0].message == "kiln-1 firing_temp 1,201 °C above 1,200 °C"
    assert got[1].message == "kiln-1 firing_temp 1,189 °C back below 1,190 °C"
    assert got[0].key == "rule:r:eq:10"
    assert got[0].series == TEMP
    assert got[0].value == 1201


def test_without_deadband_every_crossing_is_a_change() -> None:
    got = engine(rule("threshold", **OVERHEAT)).observe(points([1195, 1201, 1199, 1202]))
    assert [c.active for c in got] == [True, False, True]


def test_a_low_limit_raises_below_and_clears_above_limit_plus_deadband() -> None:
    r = rule("threshold", signal="firing_temp", op="<", limit=1150, deadband=5)
    got = engine(r).observe(points([1160, 1149, 1152, 1156]))
    assert brief(got) == [(True, T0 + 10_000, T0 + 10_000), (False, T0 + 30_000, T0 + 10_000)]
    assert got[1].message == "kiln-1 firing_temp 1,156 °C back above 1,155 °C"


def test_a_spike_shorter_than_for_s_raises_nothing() -> None:
    values = [1190] + [1215] * 20 + [1190] * 10  # over for 200 s, for_s is 300 s
    assert engine(rule("threshold", **OVERHEAT, for_s=300)).observe(points(values)) == []


def test_an_excursion_longer_than_for_s_raises_at_its_start_plus_for_s() -> None:
    values = [1190] + [1212] * 60 + [1190]  # over from T0 + 10 s for 600 s
    got = engine(rule("threshold", **OVERHEAT, for_s=300)).observe(points(values))
    start = T0 + 10_000
    assert brief(got) == [(True, start + 5 * MIN, start), (False, start + 10 * MIN, start)]
    assert got[0].message == "kiln-1 firing_temp 1,212 °C above 1,200 °C for 5 min"


def test_clear_for_s_waits_before_clearing() -> None:
    values = [1210, 1190, 1190, 1210, 1190, 1190, 1190, 1190]
    got = engine(rule("threshold", **OVERHEAT, clear_for_s=30)).observe(points(values))
    assert brief(got) == [(True, T0, T0), (False, T0 + 40_000 + 30_000, T0)]


def test_the_same_points_split_into_batches_give_the_same_conditions() -> None:
    values = [1190] + [1212] * 60 + [1190] * 5
    one = engine(rule("threshold", **OVERHEAT, for_s=300)).observe(points(values))
    e = engine(rule("threshold", **OVERHEAT, for_s=300))
    many = e.observe(points(values[:7])) + e.observe(points(values[7:], start=T0 + 70_000))
    assert brief(many) == brief(one)
    assert len(one) == 2


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.sampled_from([1180.0, 1195.0, 1205.0, 1230.0]), min_size=1, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=5),
    for_s=st.sampled_from([0, 25, 60]),
)
def test_batch_boundaries_never_change_what_is_raised(
    values: list[float], cuts: list[int], for_s: int
) -> None:
    r = rule("threshold", **OVERHEAT, deadband=10, for_s=for_s, clear_for_s=for_s)
    whole = engine(r).observe(points(values))
    e, got, bounds = engine(r), [], sorted({0, len(values), *(c for c in cuts if c < len(values))})
    for a, b in itertools.pairwise(bounds):
        got += e.observe(points(values[a:b], start=T0 + 10_000 * a))
    assert brief(got) == brief(whole)
    assert [c.active for c in whole] == [i % 2 == 0 for i in range(len(whole))]


def test_out_of_order_points_within_a_batch_are_sorted_per_series() -> None:
    values = [1190] + [1212] * 40 + [1190]
    b = points(values).points
    rng = np.random.default_rng(7)
    order = rng.permutation(len(b))
    shuffled = Bundle(points=PointBatch(b.series[order], b.ts_ms[order], b.value[order]))
    r = rule("threshold", **OVERHEAT, for_s=60)
    assert brief(engine(r).observe(shuffled)) == brief(engine(r).observe(points(values)))


def test_points_older_than_those_already_evaluated_do_not_move_the_rule() -> None:
    e = engine(rule("threshold", **OVERHEAT))
    assert [c.active for c in e.observe(points([1190, 1210]))] == [True]
    assert e.observe(points([1190], start=T0 + 5_000)) == []  # late, before T0 + 10 s
    assert [c.active for c in e.observe(points([1190], start=T0 + 20_000))] == [False]


def test_a_pending_excursion_is_raised_by_tick_when_no_point_comes() -> None:
    e = engine(rule("threshold", **OVERHEAT, for_s=300))
    assert e.observe(points([1190, 1212])) == []
    assert e.tick(T0 + 10_000 + 299_999) == []
    got = e.tick(T0 + 10_000 + 300_000)
    assert brief(got) == [(True, T0 + 310_000, T0 + 10_000)]
    assert e.tick(T0 + 10_000_000) == []


def test_rate_of_change_raises_when_faster_than_the_limit_over_the_window() -> None:
    # flat at 1,200 until 60 s, +5 °C every 10 s up to 120 s (30 °C/min), flat after
    values = [1200.0] * 7 + [1200.0 + 5 * k for k in range(1, 7)] + [1230.0] * 6
    r = rule("rate", signal="firing_temp", max_per_min=10, window_s=60)
    got = engine(r).observe(points(values))
    # at 90 s the window starts at 30 s: 15 °C in 60 s; at 160 s, 10 °C in 60 s is not over
    assert brief(got) == [(True, T0 + 90_000, T0 + 90_000), (False, T0 + 160_000, T0 + 90_000)]
    assert got[0].value == pytest.approx(15.0)
    assert got[0].message == "kiln-1 firing_temp rising 15 °C/min over 1 min, above 10 °C/min"


def test_rate_carries_its_window_across_batches() -> None:
    values = [1200.0] * 7 + [1200.0 + 5 * k for k in range(1, 7)] + [1230.0] * 6
    r = rule("rate", signal="firing_temp", max_per_min=10, window_s=60)
    e = engine(r)
    got = e.observe(points(values[:9])) + e.observe(points(values[9:], start=T0 + 90_000))
    assert brief(got) == [(True, T0 + 90_000, T0 + 90_000), (False, T0 + 160_000, T0 + 90_000)]


def states(*rows: tuple[int, S], eq: int = KILN) -> Bundle:
    ts, st_ = zip(*rows, strict=True)
    return Bundle(states=StateBatch.of([eq] * len(rows), list(ts), [int(s) for s in st_]))


def test_a_fault_longer_than_for_s_raises_at_start_plus_for_s_and_clears_at_its_end() -> None:
    e = engine(rule("state", state="down_fault", for_s=600))
    got = e.observe(states((T0, S.RUNNING), (T0 + MIN, S.DOWN_FAULT), (T0 + 16 * MIN, S.RUNNING)))
    assert brief(got) == [(True, T0 + 11 * MIN, T0 + MIN), (False, T0 + 16 * MIN, T0 + MIN)]
    assert got[0].message == "kiln-1 down_fault for 10 min"
    assert got[1].message == "kiln-1 left down_fault after 15 min"


def test_a_fault_shorter_than_for_s_raises_nothing() -> None:
    e = engine(rule("state", state="down_fault", for_s=600))
    assert e.observe(states((T0, S.DOWN_FAULT), (T0 + 5 * MIN, S.RUNNING))) == []
    assert e.tick(T0 + 60 * MIN) == []


def test_a_fault_that_goes_on_is_raised_by_tick_once() -> None:
    e = engine(rule("state", state="down_fault", for_s=600))
    assert (
        e.observe(states((T0, S.RUNNING), (T0 + MIN, S.DOWN_FAULT), (T0 + 2 * MIN, S.DOWN_FAULT)))
        == []
    )
    assert e.tick(T0 + 11 * MIN - 1) == []
    assert brief(e.tick(T0 + 11 * MIN)) == [(True, T0 + 11 * MIN, T0 + MIN)]
    assert e.tick(T0 + 12 * MIN) == []
    assert brief(e.observe(states((T0 + 20 * MIN, S.RUNNING)))) == [
        (False, T0 + 20 * MIN, T0 + MIN)
    ]


def test_points_arriving_during_a_fault_tell_the_state_rule_time_has_passed() -> None:
    e = engine(rule("state", state="down_fault", for_s=600))
    e.observe(states((T0, S.DOWN_FAULT)))
    got = e.observe(points([1100.0], start=T0 + 10 * MIN))
    assert brief(got) == [(True, T0 + 10 * MIN, T0)]


def idle_every_10_min(n: int, idle_ms: int = 30_000) -> Bundle:
    rows: list[tuple[int, S]] = []
    for k in range(n):
        rows += [(T0 + k * 10 * MIN, S.IDLE), (T0 + k * 10 * MIN + idle_ms, S.RUNNING)]
    return states(*rows)


def test_more_micro_stops_per_hour_than_allowed_raise_and_clear_when_they_age_out() -> None:
    e = engine(rule("micro_stops", max_per_hour=3))
    got = e.observe(idle_every_10_min(4))
    fourth_end, first_end = T0 + 30 * MIN + 30_000, T0 + 30_000
    assert brief(got) == [(True, fourth_end, first_end)]
    assert got[0].value == 4
    assert got[0].message == "kiln-1 4 micro-stops (under 2 min) in the last hour, above 3"
    assert e.tick(first_end + 60 * MIN - 1) == []
    cleared = e.tick(first_end + 60 * MIN)
    assert [(c.active, c.ts_ms, c.value) for c in cleared] == [(False, first_end + 60 * MIN, 3)]


def test_stops_longer_than_the_micro_stop_length_do_not_count() -> None:
    e = engine(rule("micro_stops", max_per_hour=3))
    assert e.observe(idle_every_10_min(5, idle_ms=3 * MIN)) == []
    e2 = engine(rule("micro_stops", max_per_hour=3, stop_ms=4 * MIN))
    assert len(e2.observe(idle_every_10_min(5, idle_ms=3 * MIN))) == 1


def test_no_data_is_raised_by_tick_and_cleared_by_the_next_data() -> None:
    e = engine(rule("no_data", for_s=300, scope=[KILN, PRESS]), start_ms=T0)
    e.observe(Bundle(counts=CountBatch.of([KILN], [T0 + 10_000], [5], [0])))
    assert e.tick(T0 + 299_999) == []
    assert brief(e.tick(T0 + 300_000)) == [(True, T0 + 300_000, T0)]  # press-1: never heard
    got = e.tick(T0 + 310_000)
    assert brief(got) == [(True, T0 + 310_000, T0 + 10_000)]
    assert got[0].message == "kiln-1 sent no data for 5 min"
    assert got[0].equipment_id == KILN
    back = e.observe(points([1200.0], start=T0 + 400_000))
    assert brief(back) == [(False, T0 + 400_000, None)]
    assert back[0].equipment_id == KILN
    assert e.tick(T0 + 500_000) == []


def test_kpi_rule_raises_for_a_bad_shift_and_clears_for_a_good_one() -> None:
    e = engine(rule("kpi", kpi="oee", op="<", limit=0.6))
    start, end = T0, T0 + 480 * MIN
    got = e.observe_kpi(KILN, "oee", 0.5234, start, end)
    assert brief(got) == [(True, end, start)]
    assert got[0].message == "kiln-1 oee 0.523 below 0.6 for the shift"
    assert e.observe_kpi(KILN, "oee", 0.55, end, end + 480 * MIN) == []
    assert e.observe_kpi(KILN, "oee", float("nan"), end, end + 480 * MIN) == []
    assert e.observe_kpi(KILN, "availability", 0.1, end, end + 480 * MIN) == []
    assert e.observe_kpi(KILN, "oee", 0.1, end, end + 60 * MIN, over="hour") == []
    later = e.observe_kpi(KILN, "oee", 0.71, end, end + 480 * MIN)
    assert [(c.active, c.message) for c in later] == [
        (False, "kiln-1 oee 0.71 back within 0.6 for the shift")
    ]


def test_a_template_scope_covers_its_equipment_and_an_enterprise_narrows_it() -> None:
    r = parse_rule(
        {
            "kind": "threshold",
            "name": "hot",
            "severity": "critical",
            "scope": "roller_kiln",
            **OVERHEAT,
        },
        where="t",
    )
    hot = [1210.0]
    b = Bundle.concat([points(hot), points(hot, series=OTHER_TEMP)])
    got = RuleEngine([r], catalog()).observe(b)
    assert sorted(c.key for c in got) == ["rule:hot:eq:10", "rule:hot:eq:30"]
    assert {c.enterprise_id for c in got} == {1, 2}
    assert got[0].severity is Severity.CRITICAL
    mine = parse_rule(
        {**r.to_doc(), "scope": {"template": "roller_kiln", "enterprise": 2}}, where="t"
    )
    assert [c.key for c in RuleEngine([mine], catalog()).observe(b)] == ["rule:hot:eq:30"]


def test_a_rule_on_a_signal_an_equipment_lacks_is_skipped_for_it_and_reported() -> None:
    r = rule("threshold", **OVERHEAT, scope={"enterprise": 1})
    gone = rule("no_data", for_s=60, scope=[KILN, 999])
    gone = parse_rule({**gone.to_doc(), "name": "gone"}, where="t")
    e = engine(r, gone)
    assert e.problems() == [
        "rule r: press-1 (equipment 20) has no signal 'firing_temp'; skipped",
        "rule gone: equipment 999 is not in the catalogue; skipped",
    ]
    assert [c.equipment_id for c in e.observe(points([1210.0]))] == [KILN]


def test_disabled_rules_do_nothing() -> None:
    e = engine(rule("threshold", **OVERHEAT, enabled=False))
    assert e.observe(points([1250.0])) == []
    assert e.problems() == []


def test_two_rules_with_one_name_are_refused() -> None:
    with pytest.raises(BadInput, match="rules: two rules are named 'r'"):
        engine(rule("no_data", for_s=1), rule("no_data", for_s=2))


def test_points_of_unknown_series_are_ignored() -> None:
    e = engine(rule("no_data", for_s=60), start_ms=T0)
    e.observe(points([1.0], series=12345))
    assert len(e.tick(T0 + MIN)) == 1  # the unknown series did not count as the kiln's data


def test_a_large_batch_is_evaluated_in_one_pass() -> None:
    n = 200_000
    values = np.where((np.arange(n) // 1000) % 2 == 1, 1210.0, 1190.0)
    got = engine(rule("threshold", **OVERHEAT)).observe(points(values.tolist(), step=1000))
    assert len(got) == 199
    assert got[0].ts_ms == T0 + 1_000_000


def test_a_tick_raise_is_cleared_even_when_late_points_show_the_excursion_was_short() -> None:
    e = engine(rule("threshold", **OVERHEAT, for_s=300))
    e.observe(points([1212.0]))
    assert [c.active for c in e.tick(T0 + 300_000)] == [True]
    late = e.observe(points([1190.0], start=T0 + 60_000))
    assert brief(late) == [(False, T0 + 300_000, T0)]  # at the raise, never before it


def test_a_tick_raised_fault_is_cleared_by_a_late_end_of_the_fault() -> None:
    e = engine(rule("state", state="down_fault", for_s=600))
    e.observe(states((T0, S.DOWN_FAULT)))
    assert [c.active for c in e.tick(T0 + 10 * MIN)] == [True]
    got = e.observe(states((T0 + 5 * MIN, S.RUNNING)))
    assert brief(got) == [(False, T0 + 10 * MIN, T0)]


@pytest.mark.parametrize(
    ("r", "then"),
    [
        (rule("threshold", **OVERHEAT), lambda e: e.observe(points([1190.0]))),
        (rule("state", state="down_fault", for_s=60), lambda e: e.observe(states((T0, S.RUNNING)))),
        (rule("micro_stops", max_per_hour=3), lambda e: e.tick(T0)),
        (rule("no_data", for_s=60), lambda e: e.observe(points([1.0]))),
        (
            rule("kpi", kpi="oee", op="<", limit=0.6),
            lambda e: e.observe_kpi(KILN, "oee", 0.8, 0, T0),
        ),
    ],
)
def test_an_engine_primed_with_open_alarms_clears_them_when_back_to_normal(
    r: Rule, then: Any
) -> None:
    fresh = RuleEngine([r], catalog())
    assert then(fresh) == []  # without priming, a rebuilt engine would never clear the alarm
    primed = RuleEngine([r], catalog(), active=["rule:r:eq:10", "rule:r:eq:99"])
    got = then(primed)
    assert [(c.key, c.active) for c in got] == [("rule:r:eq:10", False)]
