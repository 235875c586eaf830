"""Disclosure control: the rules' known answers, and that no withheld cell can be computed back.

The property tests check the module's SVD against an independent exact method: Gaussian
elimination over Fractions of the equations restricted to the withheld cells. A withheld cell is
computable from what is published iff its unit vector lies in the row space of that system,
i.e. iff in the reduced row echelon form its column is a pivot whose row has no other entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from itertools import chain

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.plan.disclosure import (
    CITY_RULES,
    Protected,
    ProtectedTable,
    Rules,
    Why,
    percentile_rank,
    protect,
    protect_table,
)

Equations = list[tuple[int, list[int]]]

# --- the independent exact check ---------------------------------------------------------------


def computable(equations: Sequence[tuple[int, Sequence[int]]], hidden: Sequence[bool]) -> set[int]:
    """The withheld cells whose value follows from the published cells and the equations."""
    cols = [i for i, h in enumerate(hidden) if h]
    where = {c: j for j, c in enumerate(cols)}
    rows: list[list[Fraction]] = []
    for total, members in equations:
        row = [Fraction(0)] * len(cols)
        if total in where:
            row[where[total]] += 1
        for m in members:
            if m in where:
                row[where[m]] -= 1
        rows.append(row)
    reduced, pivots = _rref(rows, len(cols))
    return {
        cols[c] for row, c in zip(reduced, pivots, strict=True) if sum(x != 0 for x in row) == 1
    }


def _rref(rows: list[list[Fraction]], width: int) -> tuple[list[list[Fraction]], list[int]]:
    m = [r[:] for r in rows]
    pivots: list[int] = []
    r = 0
    for c in range(width):
        p = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if p is None:
            continue
        m[r], m[p] = m[p], m[r]
        m[r] = [x / m[r][c] for x in m[r]]
        for i in range(len(m)):
            if i != r and m[i][c] != 0:
                f = m[i][c]
                m[i] = [a - f * b for a, b in zip(m[i], m[r], strict=True)]
        pivots.append(c)
        r += 1
    return m[:r], pivots


def test_the_exact_check_finds_a_lone_withheld_cell_and_not_a_covered_pair() -> None:
    eqs = [(3, [0, 1, 2])]
    assert computable(eqs, [True, False, False, False]) == {0}
    assert computable(eqs, [True, True, False, False]) == set()
    assert computable([(2, [0, 1]), (3, [0])], [True, True, False, False]) == {0, 1}


# --- the primary rules -------------------------------------------------------------------------


def alone(value: float, n: int, top: float, rules: Rules = CITY_RULES) -> Why:
    """Why a single cell with no equations is or is not published."""
    p = protect([value], [n], [top], [], rules)
    assert bool(p.suppressed[0]) == np.isnan(p.value[0])
    return Why(p.why[0])


def test_a_cell_of_two_enterprises_is_withheld() -> None:
    p = protect([30.0], [2], [16.0], [])
    assert Why(p.why[0]) is Why.FEW
    assert p.suppressed.tolist() == [True]
    assert np.isnan(p.value[0])


def test_a_cell_of_three_enterprises_is_published() -> None:
    p = protect([30.0], [3], [12.0], [])
    assert Why(p.why[0]) is Why.PUBLISHED
    assert p.value.tolist() == [30.0]


def test_a_contributor_of_90_percent_makes_the_cell_dominant() -> None:
    assert alone(100.0, 5, 90.0) is Why.DOMINANT


@pytest.mark.parametrize(
    ("value", "top"), [(100.0, 85.0), (3.0, 2.55), (7.0, 5.95), (1e6, 850_000.0), (0.2, 0.17)]
)
def test_a_share_of_exactly_85_percent_is_published(value: float, top: float) -> None:
    # "more than 85 %" is withheld, so the boundary itself is published, whatever the rounding.
    assert alone(value, 5, top) is Why.PUBLISHED


def test_a_share_just_above_85_percent_is_withheld() -> None:
    assert alone(100.0, 5, 85.001) is Why.DOMINANT
    assert alone(1e6, 5, 850_001.0) is Why.DOMINANT


def test_one_enterprise_is_few_rather_than_dominant() -> None:
    assert alone(40.0, 1, 40.0) is Why.FEW


def test_the_rules_can_be_set() -> None:
    assert alone(30.0, 4, 12.0, Rules(min_n=5)) is Why.FEW
    assert alone(100.0, 5, 60.0, Rules(dominance=0.5)) is Why.DOMINANT
    assert alone(100.0, 5, 99.0, Rules(dominance=1.0)) is Why.PUBLISHED


def test_a_cell_nobody_contributes_to_is_published_as_zero() -> None:
    p = protect([0.0], [0], [0.0], [])
    assert Why(p.why[0]) is Why.EMPTY
    assert p.value.tolist() == [0.0]
    assert not p.suppressed[0]


def test_a_zero_cell_of_enough_enterprises_is_not_dominant() -> None:
    assert alone(0.0, 3, 0.0) is Why.PUBLISHED


# --- secondary suppression, known answers ------------------------------------------------------

INTERIOR = [[50.0, 60.0, 70.0, 80.0], [40.0, 5.0, 30.0, 90.0], [45.0, 20.0, 65.0, 75.0]]


def test_a_withheld_cell_takes_the_cheapest_rectangle_and_the_totals_stay() -> None:
    n = np.full((3, 4), 5)
    n[1, 1] = 2
    t = protect_table(INTERIOR, n, np.array(INTERIOR) * 0.3)
    # (1,1) is covered in its column by the smallest cell (2,1) = 20, in its row by the smallest
    # (1,2) = 30, and (2,2) closes both the row of (2,1) and the column of (1,2).
    hidden = {(int(i), int(j)) for i, j in np.argwhere(t.interior.suppressed)}
    assert hidden == {(1, 1), (2, 1), (1, 2), (2, 2)}
    assert Why(t.interior.why[1, 1]) is Why.FEW
    assert all(Why(t.interior.why[c]) is Why.SECONDARY for c in hidden - {(1, 1)})
    assert t.row_totals.value.tolist() == [260.0, 165.0, 205.0]
    assert t.col_totals.value.tolist() == [135.0, 85.0, 165.0, 245.0]
    assert float(t.grand_total.value) == 630.0
    assert (t.row_totals.why == Why.PUBLISHED).all()


def test_a_dominant_cell_gets_company_in_its_row_and_column() -> None:
    top = np.array(INTERIOR) * 0.3
    top[0, 3] = 0.9 * 80.0
    t = protect_table(INTERIOR, np.full((3, 4), 5), top)
    assert Why(t.interior.why[0, 3]) is Why.DOMINANT
    assert (t.interior.why[0] == Why.SECONDARY).sum() >= 1
    assert (t.interior.why[:, 3] == Why.SECONDARY).sum() >= 1
    assert not t.row_totals.suppressed.any()
    assert not t.col_totals.suppressed.any()
    assert not t.grand_total.suppressed


def test_a_cell_alone_in_its_row_takes_the_row_total_with_it() -> None:
    # With one column each row total is its cell, so it must go too; the rest stays.
    t = protect_table([[10.0], [2.0], [30.0]], [[5], [1], [5]], [[3.0], [2.0], [9.0]])
    assert t.interior.suppressed[:, 0].tolist() == [True, True, False]
    assert t.row_totals.suppressed.tolist() == [True, True, False]
    # Row 1's total is the same lone enterprise; row 0's goes to cover the withheld (0, 0).
    assert Why(t.row_totals.why[1]) is Why.FEW
    assert Why(t.row_totals.why[0]) is Why.SECONDARY
    assert t.col_totals.value.tolist() == [42.0]
    assert float(t.grand_total.value) == 42.0


def test_an_empty_cell_is_never_withheld_to_cover_another() -> None:
    # Row 0: a withheld cell, an empty one, and one other; the empty cell hides nothing.
    values = [[4.0, 0.0, 50.0], [60.0, 70.0, 80.0]]
    n = [[2, 0, 6], [6, 6, 6]]
    t = protect_table(values, n, np.array(values) * 0.3)
    assert Why(t.interior.why[0, 1]) is Why.EMPTY
    assert t.interior.value[0, 1] == 0.0
    assert t.interior.suppressed[0].tolist() == [True, False, True]


def test_a_margin_of_too_few_enterprises_is_withheld_itself() -> None:
    # A column of two single-enterprise cells: its total has n = 2.
    t = protect_table([[5.0, 40.0], [7.0, 50.0]], [[1, 5], [1, 5]], [[5.0, 9.0], [7.0, 9.0]])
    assert Why(t.col_totals.why[0]) is Why.FEW
    assert computable(table_equations(2, 2), flat_hidden(t)) == set()


def test_a_table_with_nothing_to_hide_is_published_whole() -> None:
    t = protect_table(INTERIOR, np.full((3, 4), 5), np.array(INTERIOR) * 0.3)
    assert not t.interior.suppressed.any()
    assert t.interior.value.tolist() == INTERIOR
    assert t.interior.value.shape == (3, 4)
    assert t.grand_total.value.shape == ()


def test_a_hierarchy_keeps_its_subtotals_when_a_leaf_is_withheld() -> None:
    # robots, automobile, new materials -> advanced manufacturing; textiles, furniture ->
    # other; both -> city.
    values = [8.0, 300.0, 120.0, 90.0, 60.0, 428.0, 150.0, 578.0]
    n = [2, 9, 7, 12, 10, 18, 22, 40]
    top = [5.0, 80.0, 30.0, 20.0, 15.0, 80.0, 20.0, 80.0]
    eqs = [(5, [0, 1, 2]), (6, [3, 4]), (7, [5, 6])]
    p = protect(values, n, top, eqs)
    assert Why(p.why[0]) is Why.FEW
    assert Why(p.why[2]) is Why.SECONDARY  # the smaller of its siblings
    assert p.suppressed.tolist() == [True, False, True, False, False, False, False, False]
    assert computable(eqs, p.suppressed.tolist()) == set()


def test_the_same_input_gives_the_same_answer() -> None:
    n = np.full((3, 4), 5)
    n[0, 0] = n[2, 3] = 1
    a = protect_table(INTERIOR, n, np.array(INTERIOR) * 0.3)
    b = protect_table(INTERIOR, n, np.array(INTERIOR) * 0.3)
    assert (a.interior.why == b.interior.why).all()
    assert (a.row_totals.why == b.row_totals.why).all()


# --- properties --------------------------------------------------------------------------------

# Mostly small contributions with some large ones, so cells with a dominant enterprise occur.
CONTRIBUTION = st.one_of(st.integers(0, 100), st.integers(1_000, 100_000))
CELL = st.lists(CONTRIBUTION, max_size=6)


def table_equations(rows: int, cols: int) -> Equations:
    """The table's equations on the layout interior (row-major), row totals, col totals, grand."""
    size = rows * cols
    grand = size + rows + cols
    eqs: Equations = [(size + i, [i * cols + j for j in range(cols)]) for i in range(rows)]
    eqs += [(size + rows + j, [i * cols + j for i in range(rows)]) for j in range(cols)]
    eqs += [
        (grand, [size + i for i in range(rows)]),
        (grand, [size + rows + j for j in range(cols)]),
    ]
    return eqs


def flat(t: ProtectedTable) -> Protected:
    parts = (t.interior, t.row_totals, t.col_totals, t.grand_total)
    return Protected(
        np.concatenate([p.value.ravel() for p in parts]),
        np.concatenate([p.why.ravel() for p in parts]),
        np.concatenate([p.suppressed.ravel() for p in parts]),
    )


def flat_hidden(t: ProtectedTable) -> list[bool]:
    return [bool(h) for h in flat(t).suppressed]


def joined(cells: Iterable[list[int]]) -> list[int]:
    """The contributions behind an aggregate of cells."""
    return list(chain.from_iterable(cells))


def breaks_rules(contributions: Sequence[int]) -> bool:
    """The city's rules in exact integers: 1 or 2 enterprises, or one above 85 %."""
    n, value = len(contributions), sum(contributions)
    return 0 < n < 3 or (n > 0 and 100 * max(contributions) > 85 * value)


def check(p: Protected, cells: Sequence[Sequence[int]], eqs: Equations) -> None:
    """Everything a protected system must satisfy, against the contributions behind each cell."""
    for i, c in enumerate(cells):
        why = Why(p.why[i])
        if breaks_rules(c):
            assert why in (Why.FEW, Why.DOMINANT), (i, c, why)
        else:
            assert why in (Why.PUBLISHED, Why.EMPTY, Why.SECONDARY), (i, c, why)
        assert (why is Why.EMPTY) == (len(c) == 0)
        assert bool(p.suppressed[i]) == (why in (Why.FEW, Why.DOMINANT, Why.SECONDARY))
        if p.suppressed[i]:
            assert np.isnan(p.value[i])
        else:
            assert p.value[i] == sum(c)
    assert computable(eqs, p.suppressed.tolist()) == set()


@st.composite
def tables(draw: st.DrawFn) -> tuple[int, int, list[list[int]]]:
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 8))
    cells = draw(st.lists(CELL, min_size=rows * cols, max_size=rows * cols))
    return rows, cols, cells


@settings(max_examples=150, deadline=None)
@given(tables())
def test_no_withheld_table_cell_can_be_computed_from_what_is_published(
    table: tuple[int, int, list[list[int]]],
) -> None:
    rows, cols, interior = table
    grid = [[interior[i * cols + j] for j in range(cols)] for i in range(rows)]
    t = protect_table(
        [[float(sum(c)) for c in row] for row in grid],
        [[len(c) for c in row] for row in grid],
        [[float(max(c, default=0)) for c in row] for row in grid],
    )
    margins = [joined(row) for row in grid]
    margins += [joined(grid[i][j] for i in range(rows)) for j in range(cols)]
    check(flat(t), [*interior, *margins, joined(interior)], table_equations(rows, cols))
    # What is published adds up.
    assert t.interior.value.shape == (rows, cols)
    totals = {"rows": t.row_totals, "cols": t.col_totals}
    for axis, part in enumerate(totals.values()):
        sums = np.array([[sum(c) for c in row] for row in grid], dtype=float).sum(axis=1 - axis)
        shown = ~part.suppressed
        assert (part.value[shown] == sums[shown]).all()
    for part in totals.values():
        if not part.suppressed.any() and not t.grand_total.suppressed:
            assert part.value.sum() == float(t.grand_total.value)


@st.composite
def hierarchies(draw: st.DrawFn) -> tuple[list[list[int]], Equations]:
    """Industries under groups under the city, plus aggregates over arbitrary sets of them."""
    leaves = draw(st.lists(CELL, min_size=1, max_size=10))
    k = len(leaves)
    group_of = draw(st.lists(st.integers(0, 3), min_size=k, max_size=k))
    groups = [[i for i in range(k) if group_of[i] == g] for g in sorted(set(group_of))]
    cells = list(leaves)
    eqs: Equations = []

    def add(members: list[int], covered: list[int]) -> int:
        cells.append(joined(leaves[i] for i in covered))
        eqs.append((len(cells) - 1, members))
        return len(cells) - 1

    subtotals = [add(g, g) for g in groups]
    city = add(subtotals, list(range(k)))
    eqs.append((city, list(range(k))))  # the same total from the leaves: redundant on purpose
    picks = st.lists(st.integers(0, k - 1), min_size=1, max_size=k, unique=True)
    for subset in draw(st.lists(picks, max_size=3)):  # e.g. "advanced manufacturing"
        add(sorted(subset), sorted(subset))
    return cells, eqs


@settings(max_examples=150, deadline=None)
@given(hierarchies())
def test_no_withheld_cell_of_a_hierarchy_can_be_computed(
    system: tuple[list[list[int]], Equations],
) -> None:
    cells, eqs = system
    p = protect(
        [float(sum(c)) for c in cells],
        [len(c) for c in cells],
        [float(max(c, default=0)) for c in cells],
        eqs,
    )
    check(p, cells, eqs)


# --- percentile rank ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("own", "peers", "rank"),
    [
        (10.0, [10.0, 20.0, 30.0, 40.0], 12.5),
        (40.0, [10.0, 20.0, 30.0, 40.0], 87.5),
        (30.0, [40.0, 30.0, 10.0, 20.0], 62.5),
        (20.0, [10.0, 20.0, 20.0, 30.0], 50.0),  # ties count half: 1 below + 2 equal / 2
        (5.0, [5.0, 5.0, 5.0], 50.0),
        (7.0, [1.0, 7.0, 3.0], 100 * 2.5 / 3),
    ],
)
def test_percentile_rank_is_the_mid_rank(own: float, peers: list[float], rank: float) -> None:
    assert percentile_rank(own, np.array(peers)) == pytest.approx(rank)


def test_percentile_rank_needs_min_n_peers() -> None:
    assert percentile_rank(3.0, [3.0, 4.0]) is None
    assert percentile_rank(3.0, [3.0]) is None
    assert percentile_rank(3.0, [1.0, 3.0, 4.0]) == 50.0
    assert percentile_rank(3.0, [1.0, 2.0, 3.0, 4.0], Rules(min_n=5)) is None


@given(st.lists(st.integers(-1000, 1000), min_size=3, max_size=30), st.data())
def test_percentile_rank_reads_the_same_from_either_end(
    peers: list[int], data: st.DataObject
) -> None:
    own = data.draw(st.sampled_from(peers))
    up = percentile_rank(float(own), [float(x) for x in peers])
    down = percentile_rank(float(-own), [float(-x) for x in peers])
    assert up is not None
    assert down is not None
    assert 0.0 < up < 100.0
    assert up + down == pytest.approx(100.0)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "n", "top", "eqs", "message"),
    [
        ([1.0, 2.0], [3, 3, 3], [1.0, 1.0], [], r"differ in shape \(\(2,\), \(3,\), \(2,\)\)"),
        ([5.0, 6.0], [3, -1], [1.0, 1.0], [], r"n\[1\] is -1; a count of enterprises"),
        ([5.0, 6.0], [3, 2.5], [1.0, 1.0], [], "n must hold whole numbers"),
        ([5.0, np.nan], [3, 3], [1.0, 1.0], [], r"values\[1\] is nan"),
        ([5.0, -6.0], [3, 3], [1.0, 1.0], [], r"values\[1\] is -6.0; contributions cannot"),
        ([5.0, 6.0], [3, 3], [1.0, 7.0], [], r"top\[1\] is 7.0, more than the cell's value"),
        ([5.0, 6.0], [3, 0], [1.0, 0.0], [], r"values\[1\] is 6.0 but no enterprise"),
        ([[5.0]], [[3]], [[1.0]], [], r"must be 1-D, not of shape \(1, 1\)"),
        (
            [5.0, 6.0],
            [3, 3],
            [1.0, 1.0],
            [(0, [7])],
            r"equation 0: cell 7 is out of range \(0..1\)",
        ),
        ([5.0, 6.0], [3, 3], [1.0, 1.0], [(-1, [0])], "equation 0: cell -1 is out of range"),
        ([5.0, 5.0], [3, 3], [1.0, 1.0], [(0, [])], "equation 0: total 0 has no members"),
        ([5.0, 5.0], [3, 3], [1.0, 1.0], [(0, [1, 1])], "equation 0: a cell appears twice"),
        ([5.0, 5.0], [3, 3], [1.0, 1.0], [(0, [0, 1])], "equation 0: a cell appears twice"),
        (
            [1.0, 2.0, 3.0, 7.0],
            [3, 3, 3, 9],
            [1.0] * 4,
            [(3, [0, 1, 2]), (2, [0, 1])],
            r"equation 0: cell 3 is 7.0 but its members sum to 6.0",
        ),
    ],
)
def test_protect_refuses_bad_input_naming_it(
    values: list[float], n: list[float], top: list[float], eqs: Equations, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        protect(values, n, top, eqs)


def test_a_cell_the_equations_alone_fix_cannot_be_protected() -> None:
    # a = b + c and a = b force c = 0 whatever is withheld; c must be withheld (one enterprise).
    with pytest.raises(ValueError, match="cell 2 is fixed by the equations whatever"):
        protect([10.0, 10.0, 0.0], [5, 5, 1], [3.0, 3.0, 0.0], [(0, [1, 2]), (0, [1])])


@pytest.mark.parametrize(
    ("values", "n", "top", "message"),
    [
        ([1.0, 2.0], [1, 2], [1.0, 2.0], r"at least one row and one column, not shape \(2,\)"),
        ([[]], [[]], [[]], r"at least one row and one column, not shape \(1, 0\)"),
        ([[1.0, 2.0]], [[3, 3]], [[1.0]], "values, n and top differ in shape"),
        ([[1.0, 2.0]], [[3, -3]], [[1.0, 1.0]], r"n\[0, 1\] is -3"),
    ],
)
def test_protect_table_refuses_bad_input_naming_it(
    values: list[float], n: list[int], top: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        protect_table(values, n, top)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_n": 0}, "min_n is 0; it must be at least 1"),
        ({"dominance": 0.0}, r"dominance is 0.0; it must lie in \(0, 1\]"),
        ({"dominance": 1.5}, r"dominance is 1.5; it must lie in \(0, 1\]"),
    ],
)
def test_rules_refuse_what_makes_no_sense(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Rules(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("own", "peers", "message"),
    [
        (5.0, [1.0, 2.0, 3.0], "own value 5.0 is not among the peers"),
        (1.0, [1.0, np.nan, 3.0], "must be finite"),
        (np.inf, [1.0, np.inf, 3.0], "must be finite"),
        (1.0, [[1.0, 2.0, 3.0]], r"peers must be 1-D, not of shape \(1, 3\)"),
    ],
)
def test_percentile_rank_refuses_bad_input_naming_it(
    own: float, peers: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        percentile_rank(own, peers)
