"""Interval sets: overlaps resolved by level, touching runs joined, bad rows refused."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.errors import BadInput
from kiln.kpi.interval_sets import Ranked, check_intervals, coalesce, is_sorted_disjoint, resolve


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
