"""The time model: every millisecond in one leaf, priorities, the calendar's override, gaps as
unknown, micro-stops, failure events, and windows that add up."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.domain.states import EquipmentState as S
from kiln.errors import BadInput
from kiln.kpi.elements import TimeElements
from kiln.kpi.planned_time import EquipmentPlan, PlannedTime
from kiln.kpi.time_model import (
    ElementMapping,
    Leaf,
    StateIntervals,
    TimeModelRules,
    time_elements,
    time_elements_by_window,
)
from tests.kpi.reference import DEFAULT_LEAF, reference_elements

LEAF_FIELDS = {
    Leaf.OUTSIDE_POT: "outside_ms",
    Leaf.PDOT: "pdot_ms",
    Leaf.ADOT: "adot_ms",
    Leaf.AUST: "aust_ms",
    Leaf.ADET: "adet_ms",
    Leaf.APT: "apt_ms",
    Leaf.UNKNOWN: "unknown_ms",
}
MIN = 60_000


def elements(
    rows: list[tuple[int, int, int, int]],
    plan: PlannedTime,
    window: tuple[int, int],
    equipment: list[int] | None = None,
    **rules: object,
) -> TimeElements:
    eq, a, b, s = zip(*rows, strict=True) if rows else ((), (), (), ())
    ids = equipment or sorted(set(eq)) or [1]
    return time_elements(
        StateIntervals.of(eq, a, b, s),
        EquipmentPlan.broadcast(ids, plan),
        start_ms=window[0],
        end_ms=window[1],
        equipment=ids,
        rules=TimeModelRules(**rules),  # type: ignore[arg-type]
    )


def leaves(el: TimeElements, i: int = 0) -> dict[str, int]:
    return {name: int(getattr(el, name)[i]) for name in LEAF_FIELDS.values()}


BUSY = PlannedTime.of([(0, 100 * MIN, False)])


# -- known answers ---------------------------------------------------------------------------


def test_running_idle_setup_and_fault_land_in_their_elements() -> None:
    el = elements(
        [
            (1, 0, 10 * MIN, S.RUNNING),
            (1, 10 * MIN, 20 * MIN, S.IDLE),
            (1, 20 * MIN, 30 * MIN, S.SETUP),
            (1, 30 * MIN, 40 * MIN, S.DOWN_FAULT),
            (1, 40 * MIN, 50 * MIN, S.PLANNED_DOWN),
            (1, 50 * MIN, 60 * MIN, S.OFF_SHIFT),
        ],
        BUSY,
        (0, 100 * MIN),
    )
    assert leaves(el) == {
        "outside_ms": 10 * MIN,
        "pdot_ms": 10 * MIN,
        "adot_ms": 10 * MIN,
        "aust_ms": 10 * MIN,
        "adet_ms": 10 * MIN,
        "apt_ms": 10 * MIN,
        "unknown_ms": 40 * MIN,
    }
    assert int(el.pbt_ms[0]) == 40 * MIN
    assert int(el.pot_ms[0]) == 90 * MIN
    assert int(el.failures[0]) == 1
    assert int(el.ttr_ms[0]) == 10 * MIN


def test_overlapping_states_resolve_by_priority_never_adding_durations() -> None:
    # A fault inside a run, setup overlapping both, planned down over part of the fault.
    el = elements(
        [
            (1, 0, 60 * MIN, S.RUNNING),
            (1, 10 * MIN, 30 * MIN, S.DOWN_FAULT),
            (1, 25 * MIN, 40 * MIN, S.SETUP),
            (1, 20 * MIN, 22 * MIN, S.PLANNED_DOWN),
        ],
        BUSY,
        (0, 60 * MIN),
    )
    assert leaves(el) == {
        "outside_ms": 0,
        "pdot_ms": 2 * MIN,
        "adot_ms": 0,
        "aust_ms": 10 * MIN,
        "adet_ms": 18 * MIN,
        "apt_ms": 30 * MIN,
        "unknown_ms": 0,
    }


def test_out_of_order_rows_give_the_same_elements_as_ordered_ones() -> None:
    rows = [
        (1, 0, 5 * MIN, S.RUNNING),
        (1, 5 * MIN, 9 * MIN, S.DOWN_FAULT),
        (2, 0, 9 * MIN, S.SETUP),
        (1, 9 * MIN, 20 * MIN, S.IDLE),
    ]
    ordered = elements(rows, BUSY, (0, 20 * MIN))
    shuffled = elements([rows[3], rows[1], rows[2], rows[0]], BUSY, (0, 20 * MIN))
    for i in (0, 1):
        assert leaves(ordered, i) == leaves(shuffled, i)


def test_off_shift_wins_over_everything_and_leaves_pot() -> None:
    plan = PlannedTime.of([(0, 10 * MIN, False), (10 * MIN, 20 * MIN, True)])
    el = elements(
        [(1, 0, 20 * MIN, S.DOWN_FAULT), (1, 5 * MIN, 15 * MIN, S.OFF_SHIFT)], plan, (0, 20 * MIN)
    )
    assert leaves(el)["outside_ms"] == 10 * MIN
    assert leaves(el)["adet_ms"] == 5 * MIN
    assert leaves(el)["pdot_ms"] == 5 * MIN


def test_a_fault_during_a_planned_break_is_planned_down_time_not_a_failure() -> None:
    plan = PlannedTime.of([(0, 30 * MIN, False), (30 * MIN, 60 * MIN, True)])
    el = elements(
        [(1, 0, 30 * MIN, S.RUNNING), (1, 30 * MIN, 60 * MIN, S.DOWN_FAULT)], plan, (0, 60 * MIN)
    )
    assert leaves(el)["pdot_ms"] == 30 * MIN
    assert leaves(el)["adet_ms"] == 0
    assert int(el.failures[0]) == 0


def test_time_without_data_is_unknown_never_running_or_down() -> None:
    el = elements(
        [(1, 0, 10 * MIN, S.RUNNING), (1, 40 * MIN, 50 * MIN, S.UNKNOWN)], BUSY, (0, 60 * MIN)
    )
    assert leaves(el)["unknown_ms"] == 50 * MIN
    assert int(el.pbt_ms[0]) == 10 * MIN  # the denominator leaves unknown time out


def test_equipment_without_any_state_is_all_unknown_in_planned_busy_time() -> None:
    el = elements([], BUSY, (0, 100 * MIN), equipment=[5])
    assert leaves(el)["unknown_ms"] == 100 * MIN
    assert int(el.key[0]) == 5


def test_stops_shorter_than_the_threshold_are_micro_stops_inside_apt() -> None:
    el = elements(
        [
            (1, 0, 10 * MIN, S.RUNNING),
            (1, 10 * MIN, 11 * MIN, S.DOWN_FAULT),
            (1, 11 * MIN, 20 * MIN, S.RUNNING),
            (1, 20 * MIN, 21 * MIN, S.IDLE),
            (1, 21 * MIN, 30 * MIN, S.RUNNING),
            (1, 30 * MIN, 33 * MIN, S.DOWN_FAULT),
        ],
        BUSY,
        (0, 33 * MIN),
    )
    assert leaves(el)["apt_ms"] == 30 * MIN
    assert leaves(el)["adet_ms"] == 3 * MIN
    assert int(el.micro_stops[0]) == 2
    assert int(el.micro_stop_ms[0]) == 2 * MIN
    assert int(el.failures[0]) == 1


def test_a_stop_exactly_as_long_as_the_threshold_is_no_micro_stop() -> None:
    el = elements([(1, 0, 2 * MIN, S.DOWN_FAULT)], BUSY, (0, 2 * MIN), micro_stop_ms=2 * MIN)
    assert int(el.adet_ms[0]) == 2 * MIN
    assert int(el.failures[0]) == 1


def test_the_micro_stop_threshold_is_set_per_equipment() -> None:
    rows = [(e, 0, 5 * MIN, S.DOWN_FAULT) for e in (1, 2)]
    el = elements(rows, BUSY, (0, 5 * MIN), micro_stop_ms_of={2: 10 * MIN})
    assert el.adet_ms.tolist() == [5 * MIN, 0]
    assert el.apt_ms.tolist() == [0, 5 * MIN]


def test_a_template_may_book_idle_time_as_a_delay() -> None:
    rules = TimeModelRules.by_template(
        {1: "press", 2: "roller_kiln"}, mapping={"press": ElementMapping(idle=Leaf.ADET)}
    )
    rows = [(e, 0, 10 * MIN, S.IDLE) for e in (1, 2)]
    eq, a, b, s = zip(*rows, strict=True)
    el = time_elements(
        StateIntervals.of(eq, a, b, s),
        EquipmentPlan.broadcast([1, 2], BUSY),
        start_ms=0,
        end_ms=10 * MIN,
        rules=rules,
    )
    assert el.adet_ms.tolist() == [10 * MIN, 0]
    assert el.adot_ms.tolist() == [0, 10 * MIN]
    assert el.failures.tolist() == [0, 0]  # idle booked as delay is no failure event


def test_a_fault_across_the_window_edge_is_one_failure_counted_where_it_starts() -> None:
    rows = [
        (1, 0, 50 * MIN, S.RUNNING),
        (1, 50 * MIN, 53 * MIN, S.DOWN_FAULT),
        (1, 53 * MIN, 100 * MIN, S.RUNNING),
    ]
    eq, a, b, s = zip(*rows, strict=True)
    first, second = time_elements_by_window(
        StateIntervals.of(eq, a, b, s),
        EquipmentPlan.broadcast([1], BUSY),
        [(0, 51 * MIN), (51 * MIN, 100 * MIN)],
    )
    assert (int(first.failures[0]), int(second.failures[0])) == (1, 0)
    assert (int(first.adet_ms[0]), int(second.adet_ms[0])) == (1 * MIN, 2 * MIN)


def test_bad_rows_are_refused_naming_the_row() -> None:
    with pytest.raises(BadInput, match="state intervals: row 1 ends before it starts"):
        elements([(1, 0, 5, S.RUNNING), (1, 9, 6, S.IDLE)], BUSY, (0, 10))
    with pytest.raises(BadInput, match="state intervals row 0: state code 9"):
        elements([(1, 0, 5, 9)], BUSY, (0, 10))
    with pytest.raises(BadInput, match="window: window ends before it starts"):
        elements([], BUSY, (10, 0))
    with pytest.raises(BadInput, match="element mapping: running"):
        ElementMapping(running=Leaf.OUTSIDE_POT)


# -- properties ------------------------------------------------------------------------------

STATES = st.sampled_from(list(S))
SPAN = 60


@st.composite
def logs(
    draw: st.DrawFn,
) -> tuple[list[tuple[int, int, int, int]], list[tuple[int, int, bool]], tuple[int, int], int]:
    def interval() -> tuple[int, int]:
        a = draw(st.integers(0, SPAN - 1))
        return a, draw(st.integers(a, SPAN))

    rows = [
        (draw(st.sampled_from([1, 2])), *interval(), int(draw(STATES)))
        for _ in range(draw(st.integers(0, 8)))
    ]
    plan = [(*interval(), draw(st.booleans())) for _ in range(draw(st.integers(0, 4)))]
    w0 = draw(st.integers(0, SPAN))
    # A threshold equal to some interval's length probes the boundary of the micro-stop rule.
    lengths = [b - a for _, a, b, _ in rows] or [0]
    micro = draw(st.one_of(st.integers(0, 12), st.sampled_from(lengths)))
    return rows, plan, (w0, draw(st.integers(w0, SPAN))), micro


@settings(max_examples=150, deadline=None)
@given(logs())
def test_elements_match_a_millisecond_by_millisecond_reference(case: tuple) -> None:
    rows, plan, window, micro = case
    el = elements(rows, PlannedTime.of(plan), window, equipment=[1, 2], micro_stop_ms=micro)
    for i, e in enumerate((1, 2)):
        mine = [(a, b, s) for q, a, b, s in rows if q == e]
        ref = reference_elements(mine, plan, window, micro)
        expected = {LEAF_FIELDS[leaf]: ref.get(leaf.name, 0) for leaf in Leaf}
        assert leaves(el, i) == expected
        for name in ("micro_stops", "micro_stop_ms", "failures", "ttr_ms"):
            assert int(getattr(el, name)[i]) == ref.get(name, 0), name


@settings(max_examples=150, deadline=None)
@given(logs())
def test_the_leaves_partition_the_window_exactly(case: tuple) -> None:
    rows, plan, window, micro = case
    el = elements(rows, PlannedTime.of(plan), window, equipment=[1, 2], micro_stop_ms=micro)
    total = sum(getattr(el, f) for f in LEAF_FIELDS.values())
    assert total.tolist() == [window[1] - window[0]] * 2
    assert (el.pot_ms == el.pdot_ms + el.pbt_ms + el.unknown_ms).all()
    assert (el.micro_stop_ms <= el.apt_ms).all()
    assert (el.ttr_ms <= el.adet_ms).all()


@settings(max_examples=150, deadline=None)
@given(logs(), st.integers(0, SPAN))
def test_two_adjacent_windows_sum_to_their_union(case: tuple, cut: int) -> None:
    rows, plan, (w0, w1), micro = case
    cut = min(max(cut, w0), w1)
    eq, a, b, s = zip(*rows, strict=True) if rows else ((), (), (), ())
    args = (StateIntervals.of(eq, a, b, s), EquipmentPlan.broadcast([1, 2], PlannedTime.of(plan)))
    rules = TimeModelRules(micro)
    left, right, union = time_elements_by_window(
        *args, [(w0, cut), (cut, w1), (w0, w1)], equipment=[1, 2], rules=rules
    )
    for name, col in union.counters().items():
        assert (getattr(left, name) + getattr(right, name)).tolist() == col.tolist(), name


def test_a_month_of_sorted_states_takes_the_fast_path() -> None:
    # The store's intervals are sorted and disjoint already; nothing is re-sorted then.
    n = 10_000
    start = np.arange(n, dtype=np.int64) * MIN
    el = time_elements(
        StateIntervals.of(np.ones(n), start, start + MIN, np.ones(n)),
        EquipmentPlan.broadcast([1], PlannedTime.always(0, n * MIN)),
        start_ms=0,
        end_ms=n * MIN,
    )
    assert int(el.apt_ms[0]) == n * MIN


def test_reference_leaf_table_matches_the_default_mapping() -> None:
    table = ElementMapping().by_state()
    assert {S(s): Leaf(int(table[s])) for s in range(len(S))} == DEFAULT_LEAF


@settings(max_examples=150, deadline=None)
@given(logs(), st.lists(st.tuples(st.integers(0, SPAN), st.integers(0, SPAN // 2)), max_size=6))
def test_windows_in_any_order_nested_or_repeated_match_each_alone(
    case: tuple, spans: list[tuple[int, int]]
) -> None:
    rows, plan, _, micro = case
    eq, a, b, s = zip(*rows, strict=True) if rows else ((), (), (), ())
    args = (StateIntervals.of(eq, a, b, s), EquipmentPlan.broadcast([1, 2], PlannedTime.of(plan)))
    windows = [(w0, w0 + length) for w0, length in spans]
    rules = TimeModelRules(micro)
    together = time_elements_by_window(*args, windows, equipment=[1, 2], rules=rules)
    for w, el in zip(windows, together, strict=True):
        alone = time_elements_by_window(*args, [w], equipment=[1, 2], rules=rules)[0]
        for name, col in alone.counters().items():
            assert getattr(el, name).tolist() == col.tolist(), (w, name)


def test_sorted_back_to_back_states_give_what_shuffled_ones_give() -> None:
    # The store's intervals take the fast path; the same rows shuffled take the general one.
    rng = np.random.default_rng(3)
    n = 2_000
    eq = np.repeat([1, 2], n // 2)
    length = rng.integers(1, 10 * MIN, n)
    start = np.concatenate([np.cumsum(length[: n // 2]), np.cumsum(length[n // 2 :])]) - length
    state = rng.choice([S.RUNNING, S.IDLE, S.DOWN_FAULT, S.SETUP, S.OFF_SHIFT], n)
    plan = EquipmentPlan.broadcast([1, 2], PlannedTime.of([(0, 9_000 * MIN, False)]))
    windows = [(k * 600 * MIN, (k + 1) * 600 * MIN) for k in range(8)]
    shuffled = rng.permutation(n)
    sorted_, mixed = (
        time_elements_by_window(
            StateIntervals.of(eq[i], start[i], start[i] + length[i], state[i]),
            plan,
            windows,
            equipment=[1, 2],
        )
        for i in (np.arange(n), shuffled)
    )
    for x, y in zip(sorted_, mixed, strict=True):
        for name, col in x.counters().items():
            assert getattr(y, name).tolist() == col.tolist(), name
