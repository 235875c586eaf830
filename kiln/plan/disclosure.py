"""Statistical disclosure control for the city's published tables (architecture.md: plan).

A city analyst sees figures summed over enterprises (one district's output in one industry
group, say) but never one that gives away a single enterprise's figure. A cell is withheld
(primary suppression) when fewer than ``min_n`` enterprises contribute to it, or when one of
them makes up more than ``dominance`` of it. Then more cells are withheld (secondary
suppression) until no withheld cell can be computed exactly from the published cells and the
additivity the table shows (a row total is the sum of its row).

What this protects, and what it does not:

- It protects against exact recovery by linear combination. It does not protect bounds: with
  nonnegative figures a withheld cell lies between 0 and its row total less the published
  cells, and two withheld cells that sum to 0 are both 0.
- A cell no enterprise contributes to (n == 0) is published as 0 and marked EMPTY. The business
  register says which enterprises are in which district and industry, so that nobody is there
  is public knowledge: an empty cell counts as known when checking what else can be derived,
  and is never withheld to cover another cell.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

# A share within rounding of the threshold counts as at it: 2.55 of 3.0 is 85 %, published.
_SHARE_TOL = 1e-12
# Sums of floats are checked to this relative tolerance (a total against its members).
_SUM_TOL = 1e-9
# Squared norm below which a row of an orthonormal null-space basis counts as zero. The
# equations hold only 0 and +-1, so a cell that is not fixed has a row far above this.
_FIXED_TOL = 1e-12


@dataclass(frozen=True, slots=True)
class Rules:
    """When a cell may not be published: too few enterprises, or one that dominates it.

    A cell is withheld when 0 < n < ``min_n``, or when its largest single contribution is more
    than ``dominance`` of it; a share of exactly ``dominance`` is published.
    """

    min_n: int = 3
    dominance: float = 0.85

    def __post_init__(self) -> None:
        if self.min_n < 1:
            raise ValueError(f"rules: min_n is {self.min_n}; it must be at least 1")
        if not 0.0 < self.dominance <= 1.0:
            raise ValueError(f"rules: dominance is {self.dominance}; it must lie in (0, 1]")


CITY_RULES = Rules()


class Why(StrEnum):
    """Why a cell is, or is not, published."""

    PUBLISHED = "published"
    EMPTY = "empty"  # no enterprise contributes: published as 0 (see the module docstring)
    FEW = "fewer_enterprises"  # wins over DOMINANT: a lone enterprise always dominates
    DOMINANT = "dominant_enterprise"
    SECONDARY = "secondary"  # withheld so that a FEW or DOMINANT cell cannot be computed


_NAMES = np.array([w.value for w in Why])
_PUBLISHED, _EMPTY, _FEW, _DOMINANT, _SECONDARY = range(len(Why))


@dataclass(frozen=True, slots=True)
class Protected:
    """Cells as they may be published: the value, or NaN where withheld, and why.

    ``why`` holds the `Why` values as strings in the shape of ``value``, so it compares with a
    `Why` cell by cell (``p.why == Why.SECONDARY``) and ``Why(p.why[i])`` gives the member.
    """

    value: NDArray[np.float64]
    why: NDArray[np.str_]
    suppressed: NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ProtectedTable:
    """A two-way table as it may be published: its interior, both margins and the total."""

    interior: Protected  # shape (rows, cols)
    row_totals: Protected  # shape (rows,)
    col_totals: Protected  # shape (cols,)
    grand_total: Protected  # shape (): float(t.grand_total.value), Why(t.grand_total.why)


def protect(
    values: ArrayLike,
    n: ArrayLike,
    top: ArrayLike,
    equations: Sequence[tuple[int, Sequence[int]]],
    rules: Rules = CITY_RULES,
) -> Protected:
    """Which cells to withhold, and why, so that no withheld cell can be computed back.

    Cell i has ``values[i]``, ``n[i]`` contributing enterprises and largest single contribution
    ``top[i]`` (1-D, nonnegative). Each equation ``(total, members)`` is additivity the reader
    knows: ``values[total] == sum(values[members])``. A total is a cell like any other, so the
    caller gives it its own n and top (for disjoint members: the sum of the members' n and the
    largest of their tops); `protect_table` does that for a two-way table.

    Secondary suppression is greedy and deterministic. While some withheld cell is fixed by the
    published cells and the equations, withhold one published cell in an equation that fixes
    it, preferring an equation with the fewest withheld cells, then a cell that is no total,
    then one that closes the most such equations at once, then the smallest value, then the
    lowest index. Each pass withholds one more cell, so there are at most ``len(values)``
    passes. ValueError if the equations alone fix a cell that must be withheld.

    An industry group of three districts and their total; district 0 has two enterprises:

    >>> p = protect([5.0, 30.0, 40.0, 75.0], [2, 4, 6, 12], [3.0, 9.0, 8.0, 9.0], [(3, [0, 1, 2])])
    >>> p.value
    array([nan, nan, 40., 75.])
    >>> [str(w) for w in p.why]
    ['fewer_enterprises', 'secondary', 'published', 'published']
    """
    v, counts, tops = _cells(values, n, top)
    if v.ndim != 1:
        raise ValueError(f"values, n and top must be 1-D, not of shape {v.shape}")
    a = _equation_matrix(equations, v.size)
    _check_additive(a, v)
    return _protect(v, counts, tops, a, rules)


def protect_table(
    values: ArrayLike, n: ArrayLike, top: ArrayLike, rules: Rules = CITY_RULES
) -> ProtectedTable:
    """Protect a two-way table (e.g. districts x industry groups) with its margins and total.

    ``values``, ``n`` and ``top`` are the interior cells (rows x cols). The margins are computed
    here: each enterprise lies in exactly one interior cell, so a margin's n is the sum of its
    cells' n and its top is the largest of their tops. The reader knows that each row total,
    each column total and the grand total is the sum of what it covers.

    >>> t = protect_table(
    ...     [[40.0, 2.0, 30.0], [50.0, 6.0, 35.0]], [[5, 2, 4], [6, 3, 5]], [[9, 1, 8], [9, 2, 8]]
    ... )
    >>> t.interior.value
    array([[40., nan, nan],
           [50., nan, nan]])
    >>> t.interior.why[0].tolist()
    ['published', 'fewer_enterprises', 'secondary']
    >>> t.row_totals.value.tolist(), t.col_totals.value.tolist(), float(t.grand_total.value)
    ([72.0, 91.0], [90.0, 8.0, 65.0], 163.0)
    """
    v, counts, tops = _cells(values, n, top)
    if v.ndim != 2 or 0 in v.shape:
        raise ValueError(f"a table needs at least one row and one column, not shape {v.shape}")
    rows, cols = v.shape
    size = rows * cols
    p = _protect(
        np.concatenate([v.ravel(), v.sum(axis=1), v.sum(axis=0), [v.sum()]]),
        np.concatenate([counts.ravel(), counts.sum(axis=1), counts.sum(axis=0), [counts.sum()]]),
        np.concatenate([tops.ravel(), tops.max(axis=1), tops.max(axis=0), [tops.max()]]),
        _table_matrix(rows, cols),
        rules,
    )
    return ProtectedTable(
        interior=_part(p, 0, (rows, cols)),
        row_totals=_part(p, size, (rows,)),
        col_totals=_part(p, size + rows, (cols,)),
        grand_total=_part(p, size + rows + cols, ()),
    )


def percentile_rank(own: float, peers: ArrayLike, rules: Rules = CITY_RULES) -> float | None:
    """Where an enterprise's own value stands among its industry's, 0-100; None below min_n.

    ``peers`` includes the enterprise itself. Ties count half (mid-rank): 100 x (peers below +
    half of the peers equal, itself included) / peers. So the rank reads the same from either
    end (p from the bottom is 100 - p from the top), and an industry where everyone is equal
    puts everyone at 50. With fewer than ``rules.min_n`` peers the rank would say too much
    about the others, so there is none.

    >>> percentile_rank(30.0, [10.0, 20.0, 30.0, 40.0])
    62.5
    >>> percentile_rank(30.0, [30.0, 30.0, 30.0])
    50.0
    >>> percentile_rank(30.0, [30.0, 40.0]) is None
    True
    """
    p = np.asarray(peers, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"peers must be 1-D, not of shape {p.shape}")
    if not np.isfinite(own) or not np.isfinite(p).all():
        raise ValueError("own and peers must be finite numbers")
    if not (p == own).any():
        raise ValueError(f"own value {own} is not among the peers; peers include the enterprise")
    if p.size < rules.min_n:
        return None
    below = int(np.count_nonzero(p < own))
    equal = int(np.count_nonzero(p == own))
    return 100.0 * (below + 0.5 * equal) / p.size


def _protect(
    v: NDArray[np.float64],
    counts: NDArray[np.int64],
    tops: NDArray[np.float64],
    a: NDArray[np.float64],
    rules: Rules,
) -> Protected:
    """Primary suppression by the rules, then secondary suppression against the equations."""
    codes = np.full(v.size, _PUBLISHED, dtype=np.int8)
    codes[counts == 0] = _EMPTY
    # top > dominance x value rather than top / value > dominance: a zero cell is no division.
    codes[(counts > 0) & (tops > rules.dominance * v * (1.0 + _SHARE_TOL))] = _DOMINANT
    codes[(counts > 0) & (counts < rules.min_n)] = _FEW
    primary = codes >= _FEW
    codes[_secondary(a, primary, counts == 0, v) & ~primary] = _SECONDARY
    hidden = codes >= _FEW
    return Protected(np.where(hidden, np.nan, v), _NAMES[codes], hidden)


def _secondary(
    a: NDArray[np.float64],
    primary: NDArray[np.bool_],
    known: NDArray[np.bool_],
    v: NDArray[np.float64],
) -> NDArray[np.bool_]:
    """Every cell to withhold, primary ones included, so that none of them can be computed."""
    member = a != 0
    is_total = np.asarray((a > 0).any(axis=0))
    hidden = primary.copy()
    # Each pass withholds one more cell or raises, so at most v.size passes run.
    for _ in range(v.size + 1):
        fixed = _fixed(a, hidden)
        if not fixed.any():
            return hidden
        hidden[_next_cell(member, hidden, fixed, known, is_total, v)] = True
    raise AssertionError("unreachable: every pass withholds one more cell")


def _fixed(a: NDArray[np.float64], hidden: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Which hidden cells the equations fix given every other cell, all in one SVD.

    Hidden cell i is fixed iff every solution x of A_h x = 0 has x_i = 0 (A_h: the equations
    restricted to the hidden cells), i.e. iff row i of a null-space basis of A_h is zero.
    """
    out = np.zeros(hidden.size, dtype=np.bool_)
    cols = np.flatnonzero(hidden)
    sub = a[:, cols]
    sub = sub[(sub != 0).any(axis=1)]
    if sub.shape[0] == 0:
        return out
    _, s, vt = np.linalg.svd(sub)
    rank = int(np.count_nonzero(s > s[0] * max(sub.shape) * np.finfo(np.float64).eps))
    null = vt[rank:]
    out[cols] = np.einsum("ij,ij->j", null, null) < _FIXED_TOL
    return out


def _next_cell(
    member: NDArray[np.bool_],
    hidden: NDArray[np.bool_],
    fixed: NDArray[np.bool_],
    known: NDArray[np.bool_],
    is_total: NDArray[np.bool_],
    v: NDArray[np.float64],
) -> int:
    """The cheapest published cell to withhold next, in an equation with a fixed cell."""
    open_ = member & ~(hidden | known)
    has_open = open_.any(axis=1)
    unknowns = np.count_nonzero(member & hidden, axis=1)
    near = member[:, fixed].any(axis=1) & has_open
    if not near.any():
        # The fixed cells' own equations are all withheld or empty; widen to any equation
        # with a withheld cell. When none is left, nothing more can be withheld.
        near = (unknowns > 0) & has_open
        if not near.any():
            cell = int(np.flatnonzero(fixed)[0])
            raise ValueError(
                f"cell {cell} is fixed by the equations whatever else is withheld; "
                "it cannot be protected"
            )
    # An equation with a single withheld cell gives it away outright: close the tightest first.
    tight = near & (unknowns == unknowns[near].min())
    hits = np.count_nonzero(open_[tight], axis=0)
    cand = np.flatnonzero(hits)
    order = np.lexsort((cand, v[cand], -hits[cand], is_total[cand]))
    return int(cand[order[0]])


def _cells(
    values: ArrayLike, n: ArrayLike, top: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """The three cell arrays as float, int and float, or ValueError naming the bad cell."""
    v = np.asarray(values, dtype=np.float64)
    raw_n = np.asarray(n)
    tops = np.asarray(top, dtype=np.float64)
    if not v.shape == raw_n.shape == tops.shape:
        raise ValueError(
            f"values, n and top differ in shape ({v.shape}, {raw_n.shape}, {tops.shape})"
        )
    if raw_n.dtype.kind not in "iuf" or (raw_n.dtype.kind == "f" and (raw_n % 1 != 0).any()):
        raise ValueError("n must hold whole numbers of enterprises")
    counts = raw_n.astype(np.int64)
    for name, arr in (("values", v), ("top", tops)):
        _refuse(~np.isfinite(arr), arr, f"{name}{{at}} is {{x}}; every cell needs a number")
        _refuse(arr < 0, arr, f"{name}{{at}} is {{x}}; contributions cannot be negative")
    _refuse(counts < 0, counts, "n{at} is {x}; a count of enterprises cannot be negative")
    _refuse((counts == 0) & (v != 0), v, "values{at} is {x} but no enterprise contributes to it")
    _refuse(tops > v * (1.0 + _SUM_TOL), tops, "top{at} is {x}, more than the cell's value")
    return v, counts, tops


def _refuse(bad: NDArray[np.bool_], arr: NDArray[np.generic], message: str) -> None:
    """Raise ValueError for the first bad cell, naming its index and value in message."""
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(message.format(at=list(at), x=arr[at]))


def _equation_matrix(
    equations: Sequence[tuple[int, Sequence[int]]], size: int
) -> NDArray[np.float64]:
    """One row per equation: +1 at its total, -1 at each member."""
    a = np.zeros((len(equations), size))
    for k, (total, members) in enumerate(equations):
        cells = [operator.index(total), *(operator.index(i) for i in members)]
        for i in cells:
            if not 0 <= i < size:
                raise ValueError(f"equation {k}: cell {i} is out of range (0..{size - 1})")
        if len(cells) == 1:
            raise ValueError(f"equation {k}: total {total} has no members")
        if len(set(cells)) != len(cells):
            raise ValueError(f"equation {k}: a cell appears twice in {total} = sum{cells[1:]}")
        a[k, cells[0]] = 1.0
        a[k, cells[1:]] = -1.0
    return a


def _check_additive(a: NDArray[np.float64], v: NDArray[np.float64]) -> None:
    """ValueError naming the first equation the values do not satisfy."""
    residual = np.abs(a @ v)
    bad = np.flatnonzero(residual > _SUM_TOL * (np.abs(a) @ v))
    if bad.size:
        k = int(bad[0])
        total = int(np.flatnonzero(a[k] > 0)[0])
        members = float(v[a[k] < 0].sum())
        raise ValueError(
            f"equation {k}: cell {total} is {v[total]} but its members sum to {members}"
        )


def _table_matrix(rows: int, cols: int) -> NDArray[np.float64]:
    """The equations of a table laid out as interior (row-major), row totals, col totals, grand."""
    size = rows * cols
    cell = np.arange(size).reshape(rows, cols)
    row_total = size + np.arange(rows)
    col_total = size + rows + np.arange(cols)
    grand = size + rows + cols
    r, c = np.arange(rows), np.arange(cols)
    a = np.zeros((rows + cols + 2, grand + 1))
    a[r[:, None], cell] = -1.0
    a[r, row_total] = 1.0
    a[rows + c[:, None], cell.T] = -1.0
    a[rows + c, col_total] = 1.0
    a[rows + cols, row_total] = -1.0
    a[rows + cols + 1, col_total] = -1.0
    a[rows + cols :, grand] = 1.0
    return a


def _part(p: Protected, start: int, shape: tuple[int, ...]) -> Protected:
    """The cells of p from start on, reshaped to shape."""
    stop = start + int(np.prod(shape))
    return Protected(
        p.value[start:stop].reshape(shape),
        p.why[start:stop].reshape(shape),
        p.suppressed[start:stop].reshape(shape),
    )
