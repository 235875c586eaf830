"""Per-equipment interval sets as columns: clip, resolve overlaps by priority, coalesce runs.

Every function takes and returns parallel NumPy columns: a dense equipment `rank` (0..n-1),
`start_ms`, `end_ms` (half-open, UTC epoch ms) and a small integer `level`. Where two intervals
of one equipment overlap, the higher level wins (domain.md 1.6: a fixed priority, never added
durations). Nothing here loops over intervals in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.errors import BadInput

I64 = NDArray[np.int64]
I8 = NDArray[np.int8]
LEVELS = 8  # levels 0..7 fit one byte of bits

# The highest set bit of every mask of LEVELS bits: which level wins where several are active.
_TOP_LEVEL = np.zeros(1 << LEVELS, dtype=np.int8)
for _mask in range(1, 1 << LEVELS):
    _TOP_LEVEL[_mask] = _mask.bit_length() - 1


@dataclass(frozen=True, slots=True)
class Ranked:
    """Intervals of equipment given by dense rank, with a level each; sorted only if said so."""

    rank: I64
    start_ms: I64
    end_ms: I64
    level: I8

    def __len__(self) -> int:
        return len(self.rank)

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> Ranked:
        """The rows at index (an index array or a mask)."""
        return Ranked(self.rank[index], self.start_ms[index], self.end_ms[index], self.level[index])


def rank_of(ids: I64, equipment: I64) -> tuple[I64, NDArray[np.bool_]]:
    """Dense rank of each equipment id within the sorted unique ids, and which ids are known.

    >>> rank_of(np.array([3, 7, 9]), np.array([7, 8, 3]))
    (array([1, 2, 0]), array([ True, False,  True]))
    """
    if len(equipment) > 1 and bool((equipment[1:] >= equipment[:-1]).all()):
        # Rows sorted by equipment (as the store returns them): look each equipment up once.
        heads = np.flatnonzero(equipment[1:] != equipment[:-1]) + 1
        sizes = np.diff(np.concatenate([[0], heads, [len(equipment)]]))
        rank, known = _lookup(ids, equipment[np.concatenate([[0], heads])])
        return np.repeat(rank, sizes), np.repeat(known, sizes)
    return _lookup(ids, equipment)


def _lookup(ids: I64, equipment: I64) -> tuple[I64, NDArray[np.bool_]]:
    rank = np.searchsorted(ids, equipment).astype(np.int64)
    known = rank < len(ids)
    known[known] = ids[rank[known]] == equipment[known]
    return rank, known


def sorted_runs(
    ids: I64, equipment: I64, start_ms: I64, end_ms: I64, label: I8, span: tuple[int, int]
) -> Ranked | None:
    """`coalesce(resolve(clip(...)))` of rows that need neither clipping nor resolving: sorted
    by (equipment, start), disjoint, non-empty, inside span and of equipment in ids (as the
    store's intervals come). A run starts wherever the label changes or a gap opens; its level
    is the label of its first row, so labels that map one-to-one to levels (state codes) give
    the same runs. None for any other rows: take the general way then.

    >>> r = sorted_runs(np.array([4, 9]), np.array([4, 4, 9]), np.array([0, 5, 0]),
    ...                 np.array([5, 9, 3]), np.int8([1, 1, 1]), (0, 10))
    >>> r.rank.tolist(), r.start_ms.tolist(), r.end_ms.tolist()
    ([0, 1], [0, 0], [9, 3])
    """
    n = len(equipment)
    if n < 2 or int(start_ms.min()) < span[0] or int(end_ms.max()) > span[1]:
        return None
    if not bool((end_ms > start_ms).all()) or not bool((equipment[1:] >= equipment[:-1]).all()):
        return None
    heads = np.flatnonzero(equipment[1:] != equipment[:-1]) + 1
    # Where a row starts before the previous one ends, it must be another equipment's.
    over = np.flatnonzero(start_ms[1:] < end_ms[:-1]) + 1
    if len(over) and not bool(np.isin(over, heads, assume_unique=True).all()):
        return None
    block_rank, known = _lookup(ids, equipment[np.concatenate([[0], heads])])
    if not known.all():
        return None
    new = label[1:] != label[:-1]
    new |= start_ms[1:] != end_ms[:-1]
    new[heads - 1] = True
    bounds = np.concatenate([[0], heads, [n]])
    if new.all():  # nothing to join: the rows are the runs
        return Ranked(np.repeat(block_rank, np.diff(bounds)), start_ms, end_ms, label)
    last = np.flatnonzero(new)  # each run's last row, but for the last run's
    first = np.empty(len(last) + 1, dtype=np.intp)
    first[0] = 0
    np.add(last, 1, out=first[1:])
    end = np.empty(len(first), dtype=end_ms.dtype)
    np.take(end_ms, last, out=end[:-1])
    end[-1] = end_ms[-1]
    rank = np.repeat(block_rank, np.diff(np.searchsorted(first, bounds)))
    return Ranked(rank, start_ms.take(first), end, label.take(first))


def clip(rows: Ranked, start_ms: int, end_ms: int) -> Ranked:
    """The intervals cut to [start_ms, end_ms); empty ones dropped.

    >>> r = clip(Ranked(*(np.array(v) for v in ([0, 0], [-5, 8], [3, 20])), np.int8([1, 2])), 0, 10)
    >>> r.start_ms.tolist(), r.end_ms.tolist()
    ([0, 8], [3, 10])
    """
    if not len(rows):
        return rows
    inside = int(rows.start_ms.min()) >= start_ms and int(rows.end_ms.max()) <= end_ms
    if inside and bool((rows.end_ms > rows.start_ms).all()):
        return rows
    start = np.maximum(rows.start_ms, start_ms)
    end = np.minimum(rows.end_ms, end_ms)
    keep = end > start
    return Ranked(rows.rank[keep], start[keep], end[keep], rows.level[keep])


def check_intervals(start_ms: I64, end_ms: I64, *, where: str) -> None:
    """Raise BadInput naming the first row whose end lies before its start."""
    bad = np.flatnonzero(end_ms < start_ms)
    if len(bad):
        i = int(bad[0])
        raise BadInput(
            f"row {i} ends before it starts ({int(start_ms[i])} > {int(end_ms[i])} ms)", where=where
        )


def is_sorted_disjoint(rows: Ranked) -> bool:
    """Whether rows are ordered by (rank, start) and no two of one rank overlap."""
    if len(rows) < 2:
        return True
    same = rows.rank[1:] == rows.rank[:-1]
    ordered = (rows.rank[1:] > rows.rank[:-1]) | (same & (rows.start_ms[1:] >= rows.end_ms[:-1]))
    return bool(ordered.all())


def sort_rows(rows: Ranked) -> Ranked:
    """Rows ordered by (rank, start, end)."""
    return rows.take(np.lexsort((rows.end_ms, rows.start_ms, rows.rank)))


def resolve(rows: Ranked, span_ms: int) -> Ranked:
    """Disjoint intervals sorted by (rank, start), each carrying the highest level active there.

    span_ms must exceed every end_ms - min(start_ms) (the window length does). Rows already
    sorted and disjoint come back as they are.

    >>> rows = Ranked(np.array([0, 0]), np.array([0, 4]), np.array([10, 6]), np.int8([1, 4]))
    >>> r = resolve(rows, 100)
    >>> list(zip(r.start_ms.tolist(), r.end_ms.tolist(), r.level.tolist()))
    [(0, 4, 1), (4, 6, 4), (6, 10, 1)]
    """
    if is_sorted_disjoint(rows):
        return rows
    rows = sort_rows(rows)
    if is_sorted_disjoint(rows):
        return rows
    return _sweep(_union_per_level(rows, span_ms), span_ms)


def _union_per_level(rows: Ranked, span_ms: int) -> Ranked:
    """Merge the overlapping intervals of each (rank, level), so each level's bit is 0 or 1."""
    order = np.lexsort((rows.start_ms, rows.level, rows.rank))
    rows = rows.take(order)
    origin = int(rows.start_ms.min())
    group = rows.rank * LEVELS + rows.level
    # Offsetting every (rank, level) group by its own span makes one running maximum serve all.
    lo = group * span_ms + (rows.start_ms - origin)
    hi = group * span_ms + (rows.end_ms - origin)
    reach = np.maximum.accumulate(hi)
    first = np.ones(len(rows), dtype=bool)
    first[1:] = lo[1:] > reach[:-1]
    heads = np.flatnonzero(first)
    ends = np.maximum.reduceat(hi, heads) - group[heads] * span_ms + origin
    return Ranked(rows.rank[heads], rows.start_ms[heads], ends, rows.level[heads])


def _sweep(rows: Ranked, span_ms: int) -> Ranked:
    """Cut per-level-disjoint rows into elementary pieces labelled by their top active level."""
    origin = int(rows.start_ms.min())
    bit = (np.int64(1) << rows.level.astype(np.int64)).astype(np.int64)
    key = np.concatenate(
        [
            rows.rank * span_ms + (rows.start_ms - origin),
            rows.rank * span_ms + (rows.end_ms - origin),
        ]
    )
    delta = np.concatenate([bit, -bit])
    order = np.argsort(key, kind="stable")
    key, mask = key[order], np.cumsum(delta[order])
    last = np.ones(len(key), dtype=bool)
    last[:-1] = key[1:] != key[:-1]
    key, mask = key[last], mask[last]
    live = np.flatnonzero(mask[:-1] > 0)
    rank = key[live] // span_ms
    start = key[live] - rank * span_ms + origin
    end = key[live + 1] - rank * span_ms + origin
    level = _TOP_LEVEL[mask[live]]
    return coalesce(Ranked(rank, start, end, level))


def coalesce(rows: Ranked) -> Ranked:
    """Join touching intervals of one rank and level (rows sorted and disjoint).

    >>> zero, level = np.zeros(3, dtype=np.int64), np.int8([1, 1, 2])
    >>> r = coalesce(Ranked(zero, np.array([0, 5, 9]), np.array([5, 9, 12]), level))
    >>> list(zip(r.start_ms.tolist(), r.end_ms.tolist(), r.level.tolist()))
    [(0, 9, 1), (9, 12, 2)]
    """
    if len(rows) < 2:
        return rows
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (
        (rows.rank[1:] != rows.rank[:-1])
        | (rows.level[1:] != rows.level[:-1])
        | (rows.start_ms[1:] != rows.end_ms[:-1])
    )
    if first.all():
        return rows
    heads = np.flatnonzero(first)
    tails = np.append(heads[1:], len(rows)) - 1
    return Ranked(rows.rank[heads], rows.start_ms[heads], rows.end_ms[tails], rows.level[heads])
