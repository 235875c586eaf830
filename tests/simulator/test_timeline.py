from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.simulator.engine import Simulator
from kiln.simulator.timeline import ranges

from .catalog_builder import catalog_of
from .conftest import DAY_MS, MONDAY_MS, one_of_each

DOC: dict[str, Any] = one_of_each()


def test_ranges_concatenate_runs_of_indices() -> None:
    np.testing.assert_array_equal(
        ranges(np.array([3, 10, 0]), np.array([2, 0, 3])), np.array([3, 4, 0, 1, 2])
    )


@settings(max_examples=30, deadline=None)
@given(
    offsets=st.lists(st.integers(0, DAY_MS + DAY_MS // 2 - 1), min_size=1, max_size=40),
)
def test_painting_finds_the_segment_holding_at_each_time(offsets: list[int]) -> None:
    sim = Simulator(DOC, catalog_of(DOC), seed=2, start_ms=MONDAY_MS, failure_rate_per_week=20)
    plan = sim._plan  # the plan is internal; this checks its index against a plain search
    plan.extend_to(MONDAY_MS + 2 * DAY_MS, keep_from_ms=MONDAY_MS)
    grid = MONDAY_MS + np.array(sorted(set(offsets)), dtype=np.int64)
    seg = plan.paint(1, 5, grid)
    for row in range(1, 5):
        mine = plan._rows[row]
        assert mine is not None
        expected = np.searchsorted(mine.ts_ms, grid, side="right") - 1
        np.testing.assert_array_equal(plan.seg_ts[seg[row - 1]], mine.ts_ms[expected])
        np.testing.assert_array_equal(plan.seg_cum_s[seg[row - 1]], mine.cum_s[expected])
