"""The alarm book: every lifecycle transition by known answer, and its invariants by Hypothesis."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kiln.domain.alarms import ACTIONS, Alarm, AlarmBook, AlarmEvent, Condition, Severity
from kiln.errors import BadInput, Conflict, NotFound

KEY = "rule:kiln-overheat:eq:10"
T0 = 1_700_000_000_000
MIN = 60_000


def cond(
    active: bool, ts: int, *, key: str = KEY, severity: Severity = Severity.HIGH, msg: str = ""
) -> Condition:
    return Condition(
        key, 1, 10, active, ts, severity, "threshold", msg or ("hot" if active else "cool"),
        rule="kiln-overheat", series=100, value=1212.0, since_ms=ts - MIN,
    )  # fmt: skip


def actions(events: list[AlarmEvent]) -> list[tuple[str, int, int]]:
    return [(e.action, e.alarm_id, e.ts_ms) for e in events]


def test_a_new_key_raises_an_alarm() -> None:
    book = AlarmBook(first_id=41)
    events = book.apply([cond(True, T0, msg="kiln-1 firing_temp 1,212 °C above 1,200 °C")], T0)
    assert actions(events) == [("raised", 41, T0)]
    assert events[0].message == "kiln-1 firing_temp 1,212 °C above 1,200 °C"
    (a,) = book.open_alarms()
    assert (a.id, a.key, a.active, a.acknowledged, a.raised_ms, a.occurrences) == (
        41,
        KEY,
        True,
        False,
        T0,
        1,
    )
    assert (a.rule, a.series, a.value, a.severity) == ("kiln-overheat", 100, 1212.0, Severity.HIGH)


def test_a_repeated_active_condition_is_deduplicated() -> None:
    book = AlarmBook()
    book.apply([cond(True, T0)], T0)
    assert book.apply([cond(True, T0 + MIN), cond(True, T0 + 2 * MIN)], T0 + 2 * MIN) == []
    (a,) = book.open_alarms()
    assert a.occurrences == 3
    assert a.last_change_ms == T0


def test_a_rising_severity_escalates_and_asks_for_a_new_acknowledgement() -> None:
    book = AlarmBook()
    book.apply([cond(True, T0)], T0)
    book.acknowledge(1, "li", None, T0 + 1)
    events = book.apply([cond(True, T0 + MIN, severity=Severity.CRITICAL)], T0 + MIN)
    assert actions(events) == [("escalated", 1, T0 + MIN)]
    assert events[0].severity is Severity.CRITICAL
    assert not book.alarm(1).acknowledged
    assert book.apply([cond(True, T0 + 2 * MIN, severity=Severity.LOW)], T0 + 2 * MIN) == []
    assert book.alarm(1).severity is Severity.CRITICAL  # severity never falls while open


def test_a_cleared_unacknowledged_alarm_stays_open_until_acknowledged() -> None:
    book = AlarmBook()
    book.apply([cond(True, T0)], T0)
    events = book.apply([cond(False, T0 + MIN, msg="kiln-1 back below")], T0 + MIN)
    assert actions(events) == [("cleared", 1, T0 + MIN)]
    assert events[0].message == "kiln-1 back below"
    (a,) = book.open_alarms()
    assert (a.active, a.cleared_ms, a.message) == (False, T0 + MIN, "hot")
    ack = book.acknowledge(1, "li", "seen", T0 + 2 * MIN)
    assert (ack.action, ack.who, ack.comment, ack.ts_ms) == (
        "acknowledged",
        "li",
        "seen",
        T0 + 2 * MIN,
    )
    assert book.open_alarms() == []
    closed = book.alarm(1)
    assert closed.closed
    assert (closed.acked_by, closed.ack_comment, closed.acked_ms) == ("li", "seen", T0 + 2 * MIN)


def test_an_acknowledged_alarm_closes_when_it_clears_and_the_key_raises_anew_after() -> None:
    book = AlarmBook()
    book.apply([cond(True, T0)], T0)
    book.acknowledge(1, "li", None, T0 + 1)
    assert book.open_alarms()[0].acknowledged
    assert actions(book.apply([cond(False, T0 + MIN)], T0 + MIN)) == [("cleared", 1, T0 + MIN)]
    assert book.open_alarms() == []
    assert actions(book.apply([cond(True, T0 + 2 * MIN)], T0 + 2 * MIN)) == [
        ("raised", 2, T0 + 2 * MIN)
    ]


def test_a_cleared_alarm_that_returns_before_it_is_closed_is_reactivated() -> None:
    book = AlarmBook()
    book.apply([cond(True, T0), cond(False, T0 + MIN)], T0 + MIN)
    events = book.apply([cond(True, T0 + 2 * MIN)], T0 + 2 * MIN)
    assert actions(events) == [("raised", 1, T0 + 2 * MIN)]
    (a,) = book.open_alarms()
    assert (a.id, a.active, a.cleared_ms, a.occurrences, a.raised_ms) == (1, True, None, 2, T0)


def test_an_inactive_condition_without_an_active_alarm_does_nothing() -> None:
    book = AlarmBook()
    assert book.apply([cond(False, T0)], T0) == []
    book.apply([cond(True, T0), cond(False, T0 + 1)], T0 + 1)
    assert book.apply([cond(False, T0 + 2)], T0 + 2) == []


def test_conditions_are_applied_in_time_order_and_stale_ones_are_ignored() -> None:
    book = AlarmBook()
    events = book.apply([cond(False, T0 + MIN), cond(True, T0)], T0 + MIN)
    assert [e.action for e in events] == ["raised", "cleared"]
    book.apply([cond(True, T0 + 3 * MIN)], T0 + 3 * MIN)
    assert book.apply([cond(False, T0 + 2 * MIN)], T0 + 3 * MIN) == []
    assert book.stale == 1
    assert book.alarm(1).active


def flip(book: AlarmBook, n: int, start: int, step: int = 10_000) -> list[AlarmEvent]:
    conds = [cond(i % 2 == 0, start + i * step) for i in range(n)]
    return book.apply(conds, start + (n - 1) * step)


def test_more_than_five_transitions_in_ten_minutes_mark_it_flapping_once() -> None:
    book = AlarmBook()
    events = flip(book, 12, T0)
    assert [e.action for e in events] == ["raised", "cleared"] * 2 + ["raised", "flapping"]
    assert events[-1].ts_ms == T0 + 50_000
    a = book.alarm(1)
    assert a.flapping
    assert a.occurrences == 6  # every raise counts, flapping or not
    assert not a.active  # the 12th condition (i = 11) was a clear


def test_flapping_settles_after_a_quiet_window_with_the_final_state() -> None:
    book = AlarmBook()
    flip(book, 12, T0)
    last = T0 + 110_000
    assert book.tick(last + 10 * MIN - 1) == []
    settled = book.tick(last + 10 * MIN)
    assert actions(settled) == [("cleared", 1, last + 10 * MIN)]
    assert not book.alarm(1).flapping
    book.acknowledge(1, "li", None, last + 11 * MIN)
    assert book.open_alarms() == []


def test_a_flapping_alarm_does_not_close_until_it_settles() -> None:
    book = AlarmBook(flap_transitions=2, flap_window_ms=MIN)
    book.apply([cond(True, T0)], T0)
    book.acknowledge(1, "li", None, T0)
    events = book.apply([cond(False, T0 + 1), cond(True, T0 + 2)], T0 + 2)
    # alarm 1 closes; the key's third transition raises alarm 2, which is flapping at once
    assert actions(events) == [("cleared", 1, T0 + 1), ("flapping", 2, T0 + 2)]
    book.acknowledge(2, "li", None, T0 + 3)
    assert book.apply([cond(False, T0 + 4)], T0 + 4) == []
    assert [a.id for a in book.open_alarms()] == [2]  # cleared and acked, but still flapping
    assert actions(book.tick(T0 + 4 + MIN)) == [("cleared", 2, T0 + 4 + MIN)]
    assert book.open_alarms() == []


def test_a_shelved_alarm_is_silent_until_its_shelving_runs_out() -> None:
    book = AlarmBook()
    book.apply([cond(True, T0)], T0)
    ev = book.shelve(1, "li", T0 + 30 * MIN, "sensor swap", T0 + MIN)
    assert (ev.action, ev.who, ev.comment) == ("shelved", "li", "sensor swap")
    assert book.alarm(1).shelved_until_ms == T0 + 30 * MIN
    assert book.alarm(1).shelved(T0 + 29 * MIN)
    quiet = [cond(False, T0 + 2 * MIN), cond(True, T0 + 3 * MIN, severity=Severity.CRITICAL)]
    assert book.apply(quiet, T0 + 3 * MIN) == []
    assert book.tick(T0 + 30 * MIN - 1) == []
    assert actions(book.tick(T0 + 30 * MIN)) == [("unshelved", 1, T0 + 30 * MIN)]
    assert book.alarm(1).severity is Severity.CRITICAL
    assert book.alarm(1).shelved_until_ms is None
    assert actions(book.apply([cond(False, T0 + 31 * MIN)], T0 + 31 * MIN)) == [
        ("cleared", 1, T0 + 31 * MIN)
    ]


def test_unshelving_by_hand_and_errors_of_shelving() -> None:
    book = AlarmBook()
    book.apply([cond(True, T0)], T0)
    with pytest.raises(Conflict, match="alarm 1: alarm 1 is not shelved"):
        book.unshelve(1, "li", None, T0)
    with pytest.raises(BadInput, match=r"until_ms: shelve until 5 is not after now \(6\)"):
        book.shelve(1, "li", 5, None, 6)
    with pytest.raises(BadInput, match="who: who is empty"):
        book.shelve(1, " ", T0 + MIN, None, T0)
    book.shelve(1, "li", T0 + 60 * MIN, None, T0)
    assert book.unshelve(1, "wang", "done", T0 + MIN).action == "unshelved"
    assert book.tick(T0 + 61 * MIN) == []


def test_a_cleared_acked_alarm_closes_once_unshelved() -> None:
    book = AlarmBook()
    book.apply([cond(True, T0)], T0)
    book.shelve(1, "li", T0 + 10 * MIN, None, T0)
    book.acknowledge(1, "li", None, T0 + 1)
    book.apply([cond(False, T0 + MIN)], T0 + MIN)
    assert [a.id for a in book.open_alarms()] == [1]
    book.tick(T0 + 10 * MIN)
    assert book.open_alarms() == []


def test_acknowledging_twice_unknown_or_closed_alarms_is_refused() -> None:
    book = AlarmBook()
    book.apply([cond(True, T0)], T0)
    book.acknowledge(1, "li", None, T0)
    with pytest.raises(Conflict, match="alarm 1: alarm 1 is already acknowledged"):
        book.acknowledge(1, "li", None, T0)
    book.apply([cond(False, T0 + 1)], T0 + 1)
    with pytest.raises(Conflict, match="cannot acknowledge alarm 1: it is closed"):
        book.acknowledge(1, "li", None, T0 + 2)
    with pytest.raises(Conflict, match="cannot shelve alarm 1: it is closed"):
        book.shelve(1, "li", T0 + MIN, None, T0 + 2)
    with pytest.raises(NotFound, match="alarms: no open alarm 7"):
        book.acknowledge(7, "li", None, T0)
    with pytest.raises(NotFound, match="alarms: no alarm 7"):
        book.alarm(7)


def test_ids_come_from_a_given_counter() -> None:
    ids = itertools.count(500)
    book = AlarmBook(ids=lambda: next(ids))
    book.apply([cond(True, T0), cond(True, T0, key="other")], T0)
    assert [a.id for a in book.open_alarms()] == [500, 501]


def test_load_restores_the_open_set_and_continues_the_ids() -> None:
    book = AlarmBook()
    book.apply([cond(True, T0), cond(True, T0, key="b")], T0)
    book.acknowledge(2, "li", None, T0)
    book.apply([cond(False, T0 + 1, key="b")], T0 + 1)
    saved = [*book.open_alarms(), book.alarm(2)]  # a closed one too, which load skips
    again = AlarmBook()
    again.load(saved)
    assert again.open_alarms() == book.open_alarms()
    assert again.apply([cond(True, T0 + 2)], T0 + 2) == []  # deduplicated onto alarm 1
    assert actions(again.apply([cond(True, T0 + 3, key="c")], T0 + 3)) == [("raised", 3, T0 + 3)]
    twin = Alarm(**{**_fields(saved[0]), "id": 9})
    with pytest.raises(BadInput, match=f"alarm 9: two open alarms for key '{KEY}'"):
        again.load([twin])


def _fields(a: Alarm) -> dict[str, object]:
    return {f: getattr(a, f) for f in Alarm.__dataclass_fields__}


def test_flapping_settings_must_be_positive() -> None:
    with pytest.raises(BadInput, match="alarms: flapping needs"):
        AlarmBook(flap_window_ms=0)


class Lifecycle(RuleBasedStateMachine):
    """Random conditions, acknowledgements, shelving and ticks, in moving time."""

    def __init__(self) -> None:
        super().__init__()
        self.book = AlarmBook(flap_transitions=3, flap_window_ms=5 * MIN)
        self.now = T0
        self.events: list[AlarmEvent] = []
        self.acked: set[int] = set()

    @rule(
        key=st.sampled_from(["a", "b", "c"]),
        active=st.booleans(),
        back=st.integers(0, 2 * MIN),
        step=st.integers(0, 3 * MIN),
        severity=st.sampled_from(list(Severity)),
    )
    def condition(self, key: str, active: bool, back: int, step: int, severity: Severity) -> None:
        self.now += step
        c = cond(active, self.now - back, key=key, severity=severity)
        self.events += self.book.apply([c], self.now)

    @precondition(lambda self: bool(self.book.open_alarms()))
    @rule(pick=st.integers(0, 10))
    def acknowledge(self, pick: int) -> None:
        opened = self.book.open_alarms()
        a = opened[pick % len(opened)]
        if a.acknowledged:
            with pytest.raises(Conflict):
                self.book.acknowledge(a.id, "li", None, self.now)
            return
        self.events.append(self.book.acknowledge(a.id, "li", None, self.now))
        with pytest.raises(Conflict):
            self.book.acknowledge(a.id, "li", None, self.now)

    @precondition(lambda self: bool(self.book.open_alarms()))
    @rule(pick=st.integers(0, 10), minutes=st.integers(1, 20))
    def shelve(self, pick: int, minutes: int) -> None:
        opened = self.book.open_alarms()
        a = opened[pick % len(opened)]
        self.events.append(self.book.shelve(a.id, "li", self.now + minutes * MIN, None, self.now))

    @rule(step=st.integers(0, 10 * MIN))
    def tick(self, step: int) -> None:
        self.now += step
        self.events += self.book.tick(self.now)

    @invariant()
    def no_key_has_two_open_alarms(self) -> None:
        keys = [a.key for a in self.book.open_alarms()]
        assert len(keys) == len(set(keys))

    @invariant()
    def every_alarms_events_are_in_time_order(self) -> None:
        by_alarm: dict[int, list[int]] = {}
        for e in self.events:
            assert e.action in ACTIONS
            by_alarm.setdefault(e.alarm_id, []).append(e.ts_ms)
        for times in by_alarm.values():
            assert times == sorted(times)

    @invariant()
    def an_alarm_is_open_exactly_when_active_or_unacknowledged_or_held(self) -> None:
        for a in self.book.open_alarms():
            assert a.active or not a.acknowledged or a.flapping or a.shelved_until_ms is not None

    @invariant()
    def a_raised_alarm_starts_its_history(self) -> None:
        first: dict[int, str] = {}
        for e in self.events:
            first.setdefault(e.alarm_id, e.action)
        assert set(first.values()) <= {"raised", "flapping"}


Lifecycle.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_alarm_lifecycle = Lifecycle.TestCase
