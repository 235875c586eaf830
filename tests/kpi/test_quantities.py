"""Quantities from counts: the window, rework, the ideal time of a product mix, any order."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from kiln.kpi.ideal_cycle import IdealCycles
from kiln.kpi.quantities import Counts, sum_counts


def test_counts_in_the_window_are_summed_per_equipment_with_their_ideal_time() -> None:
    c = Counts.of([1, 1, 2, 1], [0, 10, 10, 20], [5, 6, 7, 100], [1, 0, 0, 0], [0, 1, 0, 0])
    q = sum_counts(
        c, start_ms=0, end_ms=20, equipment=[1, 2, 3], cycles=IdealCycles.constant({1: 2.0, 2: 3.0})
    )
    assert q.produced.tolist() == [13, 7, 0]
    assert (q.good.tolist(), q.scrap.tolist(), q.rework.tolist()) == (
        [11, 7, 0],
        [1, 0, 0],
        [1, 0, 0],
    )
    assert q.ideal_s.tolist() == [26.0, 21.0, 0.0]
    assert q.ideal_good_s.tolist() == [22.0, 21.0, 0]


def test_a_product_change_mid_window_gives_the_sum_of_pri_times_pq_per_product() -> None:
    c = Counts.of([1] * 4, [0, 100, 200, 300], [10, 10, 10, 10], [0, 0, 2, 0])
    cycles = IdealCycles.of([(1, 0, 30.0), (1, 200, 12.0)])
    q = sum_counts(c, start_ms=0, end_ms=400, equipment=[1], cycles=cycles)
    assert q.ideal_s[0] == pytest.approx(30 * 20 + 12 * 22)
    assert q.ideal_good_s[0] == pytest.approx(30 * 20 + 12 * 20)


def test_output_without_pri_is_counted_as_unrated() -> None:
    c = Counts.of([1, 1], [0, 100], [10, 10], [0, 0])
    q = sum_counts(c, start_ms=0, end_ms=400, equipment=[1], cycles=IdealCycles.of([(1, 50, 10.0)]))
    assert q.unrated.tolist() == [10]
    assert q.ideal_s.tolist() == [100.0]
    assert sum_counts(c, start_ms=0, end_ms=400, equipment=[1]).unrated.tolist() == [20]


def test_unsorted_counts_give_the_same_quantities() -> None:
    rng = np.random.default_rng(7)
    eq, ts = rng.integers(1, 4, 300), rng.integers(0, 1000, 300)
    good, scrap = rng.integers(0, 9, 300), rng.integers(0, 2, 300)
    cycles = IdealCycles.of([(1, 0, 3.0), (1, 500, 4.0), (2, 0, 5.0)])
    order = np.lexsort((ts, eq))
    a = sum_counts(
        Counts.of(eq, ts, good, scrap), start_ms=100, end_ms=900, equipment=[1, 2, 3], cycles=cycles
    )
    b = sum_counts(
        Counts.of(eq[order], ts[order], good[order], scrap[order]),
        start_ms=100,
        end_ms=900,
        equipment=[1, 2, 3],
        cycles=cycles,
    )
    for name, col in a.columns().items():
        assert np.allclose(col, getattr(b, name)), name


def test_the_store_table_without_rework_reads_as_no_rework() -> None:
    table = pa.table({"equipment": [1], "ts_ms": [0], "good": [4], "scrap": [1]})
    assert Counts.from_arrow(table).rework.tolist() == [0]


def test_rows_of_equipment_not_asked_for_are_skipped_wherever_they_lie() -> None:
    # Equipment 2 and 9 lie between and after the wanted ones; 7 has no rows at all.
    c = Counts.of([1, 1, 2, 2, 5, 9], [0, 1, 2, 3, 4, 5], [1, 2, 40, 50, 7, 90], [0, 1, 4, 5, 0, 9])
    q = sum_counts(
        c, start_ms=0, end_ms=10, equipment=[7, 5, 1], cycles=IdealCycles.constant({1: 2.0})
    )
    assert q.key.tolist() == [1, 5, 7]
    assert q.good.tolist() == [3, 7, 0]
    assert q.scrap.tolist() == [1, 0, 0]
    assert q.unrated.tolist() == [0, 7, 0]
    assert q.ideal_s.tolist() == [8.0, 0.0, 0.0]
