"""Interval sets: overlaps resolved by level, touching runs joined, bad rows refused, and the
fast path for sorted rows giving the same runs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.errors import BadInput
from kiln.kpi.interval_sets import (
    Ranked,
    check_intervals,
    clip,
    coalesce,
    is_sorted_disjoint,
    resolve,
    sorted_runs,
)


def rows(*r: tuple[int, int, int, int]) -> Ranked:
    rank, a, b, level = (np.array(c) for c in zip(*r, strict=True))
    return Ranked(
        rank.astype(np.int64), a.astype(np.int64), b.astype(np.int64), level.astype(np.int8)
    )


def as_list(r: Ranked) -> list[tuple[int, int, int, int]]:
    return list(
        zip(r.rank.tolist(), r.start_ms.tolist(), r.end_ms.tolist(), r.level.tolist(), strict=True)
    )


def test_the_highest_level_wins_and_equipment_stay_apart() -> None:
    out = resolve(rows((1, 0, 10, 2), (0, 5, 8, 1), (0, 0, 10, 3), (1, 4, 6, 5), (0, 2, 3, 6)), 100)
    assert as_list(out) == [
        (0, 0, 2, 3),
        (0, 2, 3, 6),
        (0, 3, 10, 3),
        (1, 0, 4, 2),
        (1, 4, 6, 5),
        (1, 6, 10, 2),
    ]


def test_overlapping_intervals_of_one_level_merge() -> None:
    assert as_list(resolve(rows((0, 0, 5, 1), (0, 3, 9, 1), (0, 9, 12, 1)), 100)) == [(0, 0, 12, 1)]


def test_sorted_disjoint_rows_come_back_untouched() -> None:
    r = rows((0, 0, 5, 1), (0, 5, 9, 2), (1, 0, 3, 1))
    assert is_sorted_disjoint(r)
    assert resolve(r, 100) is r
    assert as_list(coalesce(rows((0, 0, 5, 1), (0, 5, 9, 1), (0, 10, 12, 1)))) == [
        (0, 0, 9, 1),
        (0, 10, 12, 1),
    ]


def test_a_row_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(BadInput, match="counts: row 1 ends before it starts"):
        check_intervals(np.array([0, 9]), np.array([5, 3]), where="counts")


# -- the sorted fast path ----------------------------------------------------------------------

SPAN = (0, 1_000)


@st.composite
def sorted_rows(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """Rows sorted by (equipment, start), disjoint and non-empty, with gaps and repeats."""
    eq, start, end, label = [], [], [], []
    for e in sorted(draw(st.sets(st.integers(1, 5), max_size=4))):
        t = draw(st.integers(0, 50))
        for _ in range(draw(st.integers(0, 12))):
            t += draw(st.sampled_from([0, 0, 0, 7]))  # mostly touching, sometimes a gap
            length = draw(st.integers(1, 60))
            eq.append(e)
            start.append(t)
            end.append(t + length)
            label.append(draw(st.integers(0, 2)))
            t += length
    dtypes = (np.int64, np.int64, np.int64, np.int8)
    return tuple(np.array(c, dtype=d) for c, d in zip((eq, start, end, label), dtypes, strict=True))


@settings(max_examples=200, deadline=None)
@given(sorted_rows())
def test_sorted_runs_are_those_of_the_general_way(r: tuple[np.ndarray, ...]) -> None:
    eq, start, end, label = r
    ids = np.unique(eq)
    fast = sorted_runs(ids, eq, start, end, label, SPAN)
    if len(eq) < 2:
        assert fast is None
        return
    assert fast is not None
    rank = np.searchsorted(ids, eq).astype(np.int64)
    general = coalesce(resolve(clip(Ranked(rank, start, end, label), *SPAN), SPAN[1] + 1))
    assert as_list(fast) == as_list(general)


def test_rows_that_need_clipping_resolving_or_dropping_are_left_to_the_general_way() -> None:
    ids = np.array([1, 2])

    def fast(eq: list[int], a: list[int], b: list[int]) -> Ranked | None:
        cols = (np.array(c, dtype=np.int64) for c in (eq, a, b))
        return sorted_runs(ids, *cols, np.zeros(len(eq), dtype=np.int8), SPAN)

    assert fast([1, 1, 2], [0, 5, 0], [5, 9, 3]) is not None
    assert fast([1, 1], [0, 4], [5, 9]) is None  # overlap
    assert fast([2, 1], [0, 0], [5, 9]) is None  # not sorted by equipment
    assert fast([1, 1], [0, 5], [5, 5]) is None  # an empty row
    assert fast([1, 1], [0, 5], [5, 2_000]) is None  # beyond the span
    assert fast([1, 3], [0, 0], [5, 9]) is None  # equipment 3 is not wanted
