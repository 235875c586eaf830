"""Alarms, their history and stored rules, on both backends (one SQL module serves both)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiln.domain.alarms import Alarm, AlarmEvent, Severity, event_of
from kiln.store.alarm_tables import AlarmQuery
from kiln.store.base import Store


def alarm(alarm_id: int, **changes: object) -> Alarm:
    base = Alarm(
        id=alarm_id, key=f"rule:hot:eq:{alarm_id}", enterprise_id=1, equipment_id=10 + alarm_id,
        kind="threshold", severity=Severity.HIGH, message="kiln-1 firing_temp above 1,200 °C",
        rule="hot", series=None, value=1212.0, score=None, active=True, acknowledged=False,
        raised_ms=1_000 * alarm_id, last_change_ms=1_000 * alarm_id,
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_saved_alarms_come_back_field_for_field_with_their_history(store: Store) -> None:
    a = alarm(1, series=7, score=0.93, occurrences=3)
    store.alarms.save([a], [event_of(a, "raised", 1_000)])
    acked = replace(a, acknowledged=True, acked_ms=2_000, acked_by="li.wei", ack_comment="见")
    store.alarms.save([acked], [event_of(acked, "acknowledged", 2_000, who="li.wei", comment="见")])
    assert store.alarms.get(1) == acked
    assert store.alarms.get(2) is None
    history = store.alarms.history(1)
    assert [(e.action, e.who, e.comment) for e in history] == [
        ("raised", None, None),
        ("acknowledged", "li.wei", "见"),
    ]
    assert isinstance(history[0], AlarmEvent)
    assert history[0].severity is Severity.HIGH
    assert store.alarms.next_id() == 2


def test_closed_alarms_leave_the_open_set_but_stay_in_the_history(store: Store) -> None:
    store.alarms.save(
        [
            alarm(1),
            alarm(2, active=False, acknowledged=True, cleared_ms=5_000),  # closed
            alarm(3, active=False, acknowledged=False, cleared_ms=5_000),  # cleared, unacked
        ],
        [],
    )
    assert [a.id for a in store.alarms.open_alarms()] == [1, 3]
    found, total = store.alarms.find(AlarmQuery())
    assert total == 3
    assert [a.id for a in found] == [3, 1, 2]
    found, total = store.alarms.find(AlarmQuery(open_only=True))
    assert total == 2


def test_queries_filter_by_scope_equipment_severity_and_time_and_page(store: Store) -> None:
    store.alarms.save(
        [
            alarm(1, enterprise_id=1, severity=Severity.LOW),
            alarm(2, enterprise_id=2, severity=Severity.CRITICAL),
            alarm(3, enterprise_id=2, severity=Severity.MEDIUM),
            alarm(4, enterprise_id=3),
        ],
        [],
    )
    ids = lambda q: [a.id for a in store.alarms.find(q)[0]]  # noqa: E731
    assert ids(AlarmQuery(enterprise_ids=[2])) == [2, 3]
    assert ids(AlarmQuery(enterprise_ids=[])) == []  # a scope with nothing in it sees nothing
    assert ids(AlarmQuery(equipment_id=14)) == [4]
    assert ids(AlarmQuery(min_severity=Severity.HIGH)) == [2, 4]
    assert ids(AlarmQuery(since_ms=2_000, until_ms=4_000)) == [2, 3]
    assert ids(AlarmQuery(limit=2, offset=1)) == [4, 3]
    counts = store.alarms.severity_counts([2])
    assert counts[Severity.CRITICAL] == 1
    assert counts[Severity.MEDIUM] == 1
    assert counts[Severity.LOW] == 0


def test_a_failed_save_stores_neither_the_alarms_nor_the_events(store: Store) -> None:
    good = alarm(1)
    bad = replace(good, id=2, key=None)  # type: ignore[arg-type]  # NOT NULL violated
    with pytest.raises(Exception):  # noqa: B017, PT011 - each driver raises its own error
        store.alarms.save([good, bad], [event_of(good, "raised", 1_000)])
    assert store.alarms.get(1) is None
    assert store.alarms.history(1) == []


def test_rules_are_stored_replaced_and_deleted(store: Store) -> None:
    doc = {"name": "hot", "kind": "threshold", "signal": "firing_temp", "limit": 1200}
    assert store.alarms.put_rule("hot", doc, who="admin", now_ms=1) is True
    assert store.alarms.put_rule("hot", {**doc, "limit": 1250}, who="admin", now_ms=2) is False
    assert store.alarms.rules() == [{**doc, "limit": 1250}]
    assert store.alarms.delete_rule("hot") is True
    assert store.alarms.delete_rule("hot") is False
    assert store.alarms.rules() == []
