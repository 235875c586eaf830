"""The per-node session: the worked example of domain.md 3.4, wraps, late deaths, rebirths."""

from __future__ import annotations

import pytest

from kiln.ingest.sparkplug.session import NodeSession, SessionRules

RULES = SessionRules(reorder_timeout_ms=2_000, rebirth_every_ms=5_000, max_held=8)


def born(seq: int = 0, bd_seq: int = 7) -> NodeSession[str]:
    s: NodeSession[str] = NodeSession(RULES)
    assert s.birth(seq=seq, bd_seq=bd_seq) == []
    return s


def test_messages_in_order_are_applied_as_they_come() -> None:
    s = born()
    assert [s.sequence(q, f"m{q}", now_ms=0) for q in (1, 2, 3)] == [["m1"], ["m2"], ["m3"]]
    assert s.deadline_ms() is None
    assert s.gaps == 0


def test_a_gap_filled_before_the_timeout_is_applied_in_order_without_rebirth() -> None:
    # NBIRTH 0, DBIRTH 1, DDATA 2, 3, then 5: hold 5; 4 arrives in time: apply 4 then 5.
    s = born()
    for q in (1, 2, 3):
        s.sequence(q, f"m{q}", now_ms=0)
    assert s.sequence(5, "m5", now_ms=1_000) == []
    assert s.deadline_ms() == 3_000
    assert s.held == 1
    assert s.expire(now_ms=2_999) is None
    assert s.sequence(4, "m4", now_ms=2_500) == ["m4", "m5"]
    assert s.deadline_ms() is None
    assert s.held == 0
    assert s.gaps == 1
    assert s.expire(now_ms=10_000) is None
    assert s.sequence(6, "m6", now_ms=2_600) == ["m6"]


def test_a_gap_that_outlives_the_timeout_gives_up_and_continues_after_the_held() -> None:
    s = born()
    s.sequence(1, "m1", now_ms=0)
    assert s.sequence(3, "m3", now_ms=100) == []
    assert s.sequence(5, "m5", now_ms=200) == []
    assert s.sequence(4, "m4", now_ms=300) == []
    assert s.expire(now_ms=2_099) is None
    assert s.expire(now_ms=2_100) == ["m3", "m4", "m5"]  # the timer runs from the first held
    assert s.want_rebirth(now_ms=2_100)
    assert s.sequence(6, "m6", now_ms=2_200) == ["m6"]  # expected moved on past the held


def test_seq_255_is_followed_by_0_without_a_gap() -> None:
    s = born(seq=254)
    assert s.sequence(255, "a", now_ms=0) == ["a"]
    assert s.sequence(0, "b", now_ms=0) == ["b"]
    assert s.sequence(1, "c", now_ms=0) == ["c"]
    assert s.gaps == 0


def test_a_gap_across_the_wrap_is_filled_in_seq_order() -> None:
    s = born(seq=253)
    assert s.sequence(0, "zero", now_ms=0) == []
    assert s.sequence(255, "ff", now_ms=0) == []
    assert s.sequence(254, "fe", now_ms=10) == ["fe", "ff", "zero"]


def test_given_up_messages_across_the_wrap_come_in_seq_order() -> None:
    s = born(seq=250)
    for q in (1, 255, 0, 253):
        s.sequence(q, f"m{q}", now_ms=0)
    assert s.expire(now_ms=2_000) == ["m253", "m255", "m0", "m1"]
    assert s.expected == 2


def test_too_many_held_messages_give_up_at_once() -> None:
    s = born()
    for q in range(2, 2 + RULES.max_held - 1):
        s.sequence(q, f"m{q}", now_ms=0)
    assert s.expire(now_ms=1) is None
    s.sequence(2 + RULES.max_held - 1, "last", now_ms=1)
    released = s.expire(now_ms=1)
    assert released is not None
    assert len(released) == RULES.max_held


def test_a_duplicate_seq_behind_a_gap_keeps_both_messages() -> None:
    s = born()
    s.sequence(2, "a", now_ms=0)
    s.sequence(2, "b", now_ms=0)
    assert s.sequence(1, "one", now_ms=0) == ["one", "a", "b"]


def test_an_ndeath_with_the_current_bdseq_ends_the_session_and_a_late_one_is_ignored() -> None:
    s = born(bd_seq=7)
    s.device_birth("press-2")
    assert s.death(bd_seq=6) == (False, [])  # late, from an earlier connection
    assert s.online
    assert s.born
    assert s.devices == {"press-2": True}
    assert s.death(bd_seq=7) == (True, [])
    assert not s.online
    assert not s.born
    assert s.devices == {"press-2": False}
    assert s.death(bd_seq=7) == (False, [])  # a second NDEATH of the same session


def test_a_late_ndeath_after_the_next_birth_is_ignored() -> None:
    # The connection drops (NDEATH 7 is late), the node comes back with bdSeq 8.
    s = born(bd_seq=7)
    s.birth(seq=0, bd_seq=8)
    assert s.death(bd_seq=7) == (False, [])
    assert s.online
    assert s.bd_seq == 8


def test_a_birth_releases_what_was_held_and_devices_wait_for_their_dbirth() -> None:
    s = born()
    s.device_birth("d1")
    s.sequence(3, "m3", now_ms=0)
    assert s.birth(seq=0, bd_seq=7) == ["m3"]
    assert s.devices == {"d1": False}
    assert s.expected == 1
    assert s.held == 0
    assert s.deadline_ms() is None


def test_death_and_a_lost_connection_release_the_held_messages() -> None:
    s = born()
    s.sequence(3, "m3", now_ms=0)
    assert s.death(bd_seq=7) == (True, ["m3"])
    s = born()
    s.sequence(3, "m3", now_ms=0)
    assert s.lost() == ["m3"]
    assert not s.online
    assert not s.born


def test_sequencing_before_a_birth_is_the_callers_mistake() -> None:
    s: NodeSession[str] = NodeSession(RULES)
    with pytest.raises(RuntimeError, match="before birth"):
        s.sequence(0, "x", now_ms=0)


def test_rebirth_requests_are_one_at_a_time_and_rate_limited() -> None:
    s = born()
    assert s.want_rebirth(now_ms=1_000)
    assert s.rebirth_pending
    assert not s.want_rebirth(now_ms=1_001)
    assert not s.want_rebirth(now_ms=5_999)
    s.birth(seq=0, bd_seq=7)  # answered
    assert not s.rebirth_pending
    assert not s.want_rebirth(now_ms=3_000)  # answered, but still within the rate limit
    assert s.want_rebirth(now_ms=6_000)
    assert not s.want_rebirth(now_ms=10_999)
    assert s.want_rebirth(now_ms=11_000)  # unanswered: asked again after the interval
    assert s.rebirths == 3
