"""The ISO 22400-2 time model: equipment state intervals and planned time to time elements.

Each millisecond of the window lands in exactly one leaf (domain.md 1.1):

    window = outside POT + PDOT + ADOT + AUST + ADET + APT + UNKNOWN

* Outside POT: no shift in the calendar, or the equipment reports OFF_SHIFT (which wins over
  all). Only TEEP sees it.
* PDOT: planned down time of the calendar (it overrides the machine's state: a fault during a
  planned break is not ADET), and PLANNED_DOWN states inside planned busy time.
* ADOT, AUST, ADET, APT: the planned busy time of IDLE, SETUP, DOWN_FAULT and RUNNING states,
  by an `ElementMapping` that an equipment template may change.
* UNKNOWN: planned busy time without data (a gap between intervals, or an UNKNOWN state). It is
  data coverage, never running or down, and is left out of numerator and denominator alike:
  `pbt_ms` is the planned busy time *with* data, so POT = PDOT + PBT + UNKNOWN.

Overlapping or out-of-order intervals are resolved with the fixed priority OFF_SHIFT >
PLANNED_DOWN > DOWN_FAULT > SETUP > IDLE > RUNNING > UNKNOWN (domain.md 1.6). A DOWN_FAULT or
IDLE run (consecutive intervals of one state) shorter than the micro-stop threshold counts in
APT (domain.md 1.4: minor stops are a performance loss); it is also totalled in
`micro_stop_ms`. Every other DOWN_FAULT run with planned busy time is one failure event (FE),
its ADET its time to restoration.

Elements add up across windows: a run is classified by its whole length in the data given (up
to `REACH_MS` beyond the window), not by the part inside the window, and a failure or micro-stop
is counted in the window where its run starts. So the elements of two adjacent windows sum to
those of their union, and shifts add up to the day.

How, without a loop over rows: the calendar's cumulative PBT, looked up once at the ends of
every run, gives each run's planned busy time; a window sums it per (rank, leaf) in one
`bincount`, less the part beyond its edges for the few runs that cross one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum
from itertools import pairwise
from typing import TypeVar

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from kiln.domain.states import DEFAULT_MICRO_STOP_MS
from kiln.domain.states import EquipmentState as S
from kiln.errors import BadInput
from kiln.kpi.elements import TimeElements
from kiln.kpi.interval_sets import (
    I8,
    I64,
    Ranked,
    check_intervals,
    clip,
    coalesce,
    rank_of,
    resolve,
    sorted_runs,
)
from kiln.kpi.planned_time import F64, CalendarMeasure, EquipmentPlan

_T = TypeVar("_T", bound=np.generic)

REACH_MS = 7 * 86_400_000  # how far beyond the window a run is followed to classify it


class Leaf(IntEnum):
    """The leaves of the time model; each millisecond of a window is in exactly one."""

    OUTSIDE_POT = 0
    PDOT = 1
    ADOT = 2
    AUST = 3
    ADET = 4
    APT = 5
    UNKNOWN = 6


# Priority of each state where intervals overlap (higher wins), and back.
_LEVEL_OF_STATE = np.zeros(len(S), dtype=np.int8)
for _level, _state in enumerate(
    (S.UNKNOWN, S.RUNNING, S.IDLE, S.SETUP, S.DOWN_FAULT, S.PLANNED_DOWN, S.OFF_SHIFT)
):
    _LEVEL_OF_STATE[_state] = _level
_STATE_OF_LEVEL = np.argsort(_LEVEL_OF_STATE).astype(np.int8)
_MAPPABLE = (Leaf.PDOT, Leaf.ADOT, Leaf.AUST, Leaf.ADET, Leaf.APT)


@dataclass(frozen=True, slots=True)
class ElementMapping:
    """Which element the planned busy time of each state counts as (domain.md 1.5 step 3).

    OFF_SHIFT is always outside POT and UNKNOWN always unknown; the other five may be mapped
    to PDOT, ADOT, AUST, ADET or APT (a site that books idle time as a fault maps IDLE to ADET).
    """

    running: Leaf = Leaf.APT
    idle: Leaf = Leaf.ADOT
    setup: Leaf = Leaf.AUST
    down_fault: Leaf = Leaf.ADET
    planned_down: Leaf = Leaf.PDOT

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) not in _MAPPABLE:
                allowed = ", ".join(x.name for x in _MAPPABLE)
                raise BadInput(
                    f"{getattr(self, f.name)!r} is not an element a state maps to; use {allowed}",
                    where=f"element mapping: {f.name}",
                )

    def by_state(self) -> I8:
        """The leaf of each state code, as a lookup row."""
        row = np.empty(len(S), dtype=np.int8)
        row[[S.UNKNOWN, S.OFF_SHIFT]] = [Leaf.UNKNOWN, Leaf.OUTSIDE_POT]
        row[[S.RUNNING, S.IDLE, S.SETUP, S.DOWN_FAULT, S.PLANNED_DOWN]] = [
            self.running,
            self.idle,
            self.setup,
            self.down_fault,
            self.planned_down,
        ]
        return row


@dataclass(frozen=True, slots=True)
class TimeModelRules:
    """Micro-stop threshold and state mapping: defaults, then per-equipment exceptions."""

    micro_stop_ms: int = DEFAULT_MICRO_STOP_MS
    mapping: ElementMapping = field(default_factory=ElementMapping)
    micro_stop_ms_of: Mapping[int, int] = field(default_factory=dict)
    mapping_of: Mapping[int, ElementMapping] = field(default_factory=dict)

    @classmethod
    def by_template(
        cls,
        template_of: Mapping[int, str],
        *,
        micro_stop_ms: Mapping[str, int] | None = None,
        mapping: Mapping[str, ElementMapping] | None = None,
        default_micro_stop_ms: int = DEFAULT_MICRO_STOP_MS,
    ) -> TimeModelRules:
        """Rules per equipment from its template's entry (template_of: equipment id -> key)."""
        micro, maps = micro_stop_ms or {}, mapping or {}
        return cls(
            micro_stop_ms=default_micro_stop_ms,
            micro_stop_ms_of={e: micro[t] for e, t in template_of.items() if t in micro},
            mapping_of={e: maps[t] for e, t in template_of.items() if t in maps},
        )

    def columns(self, ids: I64) -> tuple[I64, NDArray[np.int8]]:
        """Micro-stop threshold per equipment, and its (equipment x state) leaf table."""
        micro = np.array(
            [self.micro_stop_ms_of.get(int(e), self.micro_stop_ms) for e in ids], dtype=np.int64
        )
        default = self.mapping.by_state()
        table = np.tile(default, (len(ids), 1))
        if self.mapping_of:
            for r, e in enumerate(ids.tolist()):
                if e in self.mapping_of:
                    table[r] = self.mapping_of[e].by_state()
        return micro, table


@dataclass(frozen=True, slots=True)
class StateIntervals:
    """Equipment state intervals [start_ms, end_ms) as the store returns them; any order."""

    equipment: I64
    start_ms: I64
    end_ms: I64
    state: I8

    @classmethod
    def of(
        cls, equipment: object, start_ms: object, end_ms: object, state: object
    ) -> StateIntervals:
        """Build from anything NumPy turns into the four columns."""
        return cls(
            np.asarray(equipment, dtype=np.int64),
            np.asarray(start_ms, dtype=np.int64),
            np.asarray(end_ms, dtype=np.int64),
            np.asarray(state, dtype=np.int8),
        )

    @classmethod
    def from_arrow(cls, table: pa.Table) -> StateIntervals:
        """From the store's (equipment, start_ms, end_ms, state, reason) table."""
        cols = [table.column(c).to_numpy() for c in ("equipment", "start_ms", "end_ms", "state")]
        return cls.of(*cols)

    def __len__(self) -> int:
        return len(self.equipment)


def time_elements(
    states: StateIntervals,
    plan: EquipmentPlan,
    *,
    start_ms: int,
    end_ms: int,
    equipment: Sequence[int] | I64 | None = None,
    rules: TimeModelRules | None = None,
) -> TimeElements:
    """Time elements of each equipment over the window [start_ms, end_ms).

    equipment: the rows wanted (default: every equipment in states or plan); states of other
    equipment are ignored, and equipment without states is all UNKNOWN in planned busy time.
    plan: planned time; give it beyond the window too where runs may cross the window's edge.

    >>> from kiln.kpi.planned_time import PlannedTime
    >>> plan = EquipmentPlan.broadcast([7], PlannedTime.of([(0, 60, False), (60, 80, True)]))
    >>> states = StateIntervals.of([7, 7, 7], [0, 30, 35], [30, 35, 70], [1, 4, 1])
    >>> el = time_elements(states, plan, start_ms=0, end_ms=100, rules=TimeModelRules(10))
    >>> el.apt_ms.tolist(), el.adet_ms.tolist(), el.pdot_ms.tolist(), el.outside_ms.tolist()
    ([60], [0], [20], [20])
    """
    windows = [(start_ms, end_ms)]
    return time_elements_by_window(states, plan, windows, equipment=equipment, rules=rules)[0]


def time_elements_by_window(
    states: StateIntervals,
    plan: EquipmentPlan,
    windows: Sequence[tuple[int, int]],
    *,
    equipment: Sequence[int] | I64 | None = None,
    rules: TimeModelRules | None = None,
) -> list[TimeElements]:
    """Time elements per window (e.g. per shift), resolving the states once for all of them."""
    for w0, w1 in windows:
        if w1 < w0:
            raise BadInput(f"window ends before it starts ({w0} > {w1})", where="window")
    if not windows:
        return []
    ids = _ids(states, plan, equipment)
    first, last = min(w[0] for w in windows), max(w[1] for w in windows)
    runs = _runs(states, ids, first - REACH_MS, last + REACH_MS)
    lo = min(first, int(runs.start_ms.min(initial=first)))
    hi = max(last, int(runs.end_ms.max(initial=last)))
    calendar = CalendarMeasure.build(plan, ids, lo, hi)
    classified = _classify(runs, calendar, *(rules or TimeModelRules()).columns(ids))
    found: dict[int, TimeElements] = {}
    for batch in _batches(windows):
        elements = _batch_elements(ids, [windows[k] for k in batch], calendar, classified)
        found.update(zip(batch, elements, strict=True))
    return [found[k] for k in range(len(windows))]


def _ids(states: StateIntervals, plan: EquipmentPlan, equipment: Sequence[int] | I64 | None) -> I64:
    if equipment is not None:
        return np.unique(np.asarray(equipment, dtype=np.int64))
    return np.unique(np.concatenate([states.equipment, plan.equipment]))


def _runs(states: StateIntervals, ids: I64, start_ms: int, end_ms: int) -> Ranked:
    """Clipped, priority-resolved runs of one state each, sorted by (rank, start)."""
    check_intervals(states.start_ms, states.end_ms, where="state intervals")
    if len(states) and (int(states.state.min()) < 0 or int(states.state.max()) >= len(S)):
        i = int(np.flatnonzero((states.state < 0) | (states.state >= len(S)))[0])
        raise BadInput(
            f"state code {int(states.state[i])} is not an EquipmentState",
            where=f"state intervals row {i}",
        )
    # Sorted, disjoint rows (the store's) are joined by state, which maps one-to-one to level.
    span = (start_ms, end_ms)
    runs = sorted_runs(ids, states.equipment, states.start_ms, states.end_ms, states.state, span)
    if runs is not None:
        return Ranked(runs.rank, runs.start_ms, runs.end_ms, _LEVEL_OF_STATE.take(runs.level))
    rank, known = rank_of(ids, states.equipment)
    level = _LEVEL_OF_STATE.take(states.state)
    rows = Ranked(rank, states.start_ms, states.end_ms, level)
    if not known.all():
        rows = rows.take(known)
    return coalesce(resolve(clip(rows, start_ms, end_ms), end_ms - start_ms + 1))


# What a run's planned busy time counts as: its leaf, or one of these two (which are APT and
# ADET, and also totalled and counted apart).
MICRO_STOP, FAILURE = len(Leaf), len(Leaf) + 1
_CODES = len(Leaf) + 2


@dataclass(frozen=True, slots=True)
class _Classified:
    """Runs sorted by (rank, start) with what they count as (a leaf, MICRO_STOP or FAILURE),
    the calendar's cumulative PBT at their start and their own PBT, and the micro-stops and
    failures that count as events (those with planned busy time)."""

    runs: Ranked
    slot: I64  # rank * _CODES + code: where a run's time is summed
    code: I8
    pbt_start: F64
    pbt: F64
    events: NDArray[np.intp]


def _classify(
    runs: Ranked, calendar: CalendarMeasure, micro_ms: I64, table: NDArray[np.int8]
) -> _Classified:
    """What each run counts as (by the rules' threshold and leaf table, per rank) and its
    planned busy time, looked up once for every window."""
    # Where every equipment has the same rules (the usual case) one small table serves all.
    if len(micro_ms) and (table == table[0]).all() and (micro_ms == micro_ms[0]).all():
        short = runs.end_ms - runs.start_ms < micro_ms[0]
        code = _code_table(table[:1]).take(runs.level * 2 + short)
    else:
        short = runs.end_ms - runs.start_ms < micro_ms.take(runs.rank)
        code = _code_table(table).take((runs.rank * len(S) + runs.level) * 2 + short)
    pbt_start = calendar.pbt_before(runs.rank, runs.start_ms)
    pbt = _pbt_at_ends(runs, calendar, pbt_start)
    pbt -= pbt_start
    events = np.flatnonzero((code >= MICRO_STOP) & (pbt > 0))
    slot = runs.rank * _CODES
    slot += code
    return _Classified(runs, slot, code, pbt_start, pbt, events)


def _code_table(table: NDArray[np.int8]) -> I8:
    """What a run counts as, by (equipment row of table, level, shorter than the micro-stop
    threshold): its leaf; MICRO_STOP for a short DOWN_FAULT or IDLE (any state whose leaf is
    ADET or ADOT); FAILURE for any other DOWN_FAULT in ADET."""
    out = np.empty((len(table), len(S), 2), dtype=np.int8)
    for level, state in enumerate(_STATE_OF_LEVEL):
        leaf = table[:, state]
        stop = (leaf == Leaf.ADET) | (leaf == Leaf.ADOT)
        fault = (state == S.DOWN_FAULT) & (leaf == Leaf.ADET)
        out[:, level, 0] = np.where(fault, FAILURE, leaf)
        out[:, level, 1] = np.where(stop, MICRO_STOP, leaf)
    return out.ravel()


def _pbt_at_ends(runs: Ranked, calendar: CalendarMeasure, pbt_start: F64) -> F64:
    """Cumulative PBT at each run's end: where a run ends as the next of its rank starts (the
    usual case) it is that run's start value, looked up only for the others."""
    out = np.empty_like(pbt_start)
    out[:-1] = pbt_start[1:]
    own = np.ones(len(runs), dtype=bool)
    own[:-1] = (runs.end_ms[:-1] != runs.start_ms[1:]) | (runs.rank[:-1] != runs.rank[1:])
    rest = np.flatnonzero(own)
    out[rest] = calendar.pbt_before(runs.rank[rest], runs.end_ms[rest])
    return out


def _batches(windows: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Window indices in batches whose starts and ends both rise, so the windows a run (or a
    time) overlaps form a range: one batch for consecutive periods, one each otherwise."""
    order = sorted(range(len(windows)), key=lambda k: windows[k])
    ends = [windows[k][1] for k in order]
    if all(a <= b for a, b in pairwise(ends)):
        return [order]
    return [[k] for k in order]


@dataclass(frozen=True, slots=True)
class _Pieces:
    """The (interval, window) pairs that overlap: the interval's row and the window's index in
    the batch; None for every row in order, and for window 0 of a batch of one."""

    row: NDArray[np.intp] | None
    window: I64 | None

    def cells(self, rank: I64, n: int) -> I64:
        """(window, rank) cell of each piece, of n ranks per window."""
        r = rank if self.row is None else rank[self.row]
        return r if self.window is None else self.window * n + r


def _pieces(starts: I64, ends: I64, w0: I64, w1: I64) -> _Pieces:
    """Pairs of the intervals [starts, ends) and the windows [w0, w1) (both bounds rising)
    that overlap, each interval's windows in order."""
    if len(w0) == 1:
        if not len(starts) or (int(ends.min()) > w0[0] and int(starts.max()) < w1[0]):
            return _Pieces(None, None)
        return _Pieces(np.flatnonzero((ends > w0[0]) & (starts < w1[0])), None)
    first = np.searchsorted(w1, starts, side="right")
    last = np.searchsorted(w0, ends, side="left") - 1
    count = np.maximum(last - first + 1, 0)
    if bool((count == 1).all()):
        return _Pieces(None, first)
    row = np.repeat(np.arange(len(count)), count)
    # Each interval's pieces go to its first window, then the next ones in turn.
    offset = np.repeat(first - (np.cumsum(count) - count), count)
    return _Pieces(row, offset + np.arange(len(row)))


def _pick(values: NDArray[_T], p: _Pieces) -> NDArray[_T]:
    return values if p.row is None else values[p.row]


def _batch_elements(
    ids: I64, windows: Sequence[tuple[int, int]], calendar: CalendarMeasure, c: _Classified
) -> list[TimeElements]:
    """Elements of windows whose starts and ends rise: every run's planned busy time in each
    window it overlaps is summed into its (window, rank, code) cell."""
    n, nw, runs = len(ids), len(windows), c.runs
    w0 = np.array([w[0] for w in windows], dtype=np.int64)
    w1 = np.array([w[1] for w in windows], dtype=np.int64)
    # Each (window, rank) cell's calendar at the window's start and end.
    cell_rank, cell_w0, cell_w1 = np.tile(np.arange(n), nw), np.repeat(w0, n), np.repeat(w1, n)
    pot0, pdot0 = calendar.pot_before(cell_rank, cell_w0), calendar.pdot_before(cell_rank, cell_w0)
    pot1, pdot1 = calendar.pot_before(cell_rank, cell_w1), calendar.pdot_before(cell_rank, cell_w1)
    pbt0, pbt1 = pot0 - pdot0, pot1 - pdot1
    p = _pieces(runs.start_ms, runs.end_ms, w0, w1)
    slot = _pick(c.slot, p) if p.window is None else p.window * (n * _CODES) + _pick(c.slot, p)
    size = nw * n * _CODES
    # Every piece counts its run's planned busy time, less the part beyond the window's
    # edges for the few runs that cross one.
    time = _sums(slot, _pick(c.pbt, p), size)
    cut, beyond = _beyond(c, p, (w0, w1), (pbt0, pbt1), n)
    time -= _sums(slot[cut], beyond, size)
    time = time.reshape(nw, n, _CODES)
    leaves = time[:, :, : len(Leaf)].copy()
    leaves[:, :, Leaf.APT] += time[:, :, MICRO_STOP]
    leaves[:, :, Leaf.ADET] += time[:, :, FAILURE]
    # Each run moved its planned busy time out of UNKNOWN into its leaf; an OFF_SHIFT run also
    # moves its calendar PDOT out of POT.
    off_pdot = _off_shift_pdot(c, p, (w0, w1), calendar, n).reshape(nw, n)
    leaves[:, :, Leaf.UNKNOWN] += (pbt1 - pbt0).reshape(nw, n) - leaves.sum(axis=2)
    outside = (cell_w1 - cell_w0) - (pot1 - pot0)
    leaves[:, :, Leaf.OUTSIDE_POT] += outside.reshape(nw, n) + off_pdot
    leaves[:, :, Leaf.PDOT] += (pdot1 - pdot0).reshape(nw, n) - off_pdot
    # (window, column, rank): each window's column of ranks is contiguous.
    whole, spent = _by_column(_exact(leaves)), _by_column(_exact(time))
    events = _by_column(_events(c, w0, w1, n).reshape(nw, n, 2))
    return [
        TimeElements(
            key=ids,
            window_ms=np.full(n, b - a, dtype=np.int64),
            outside_ms=whole[k, Leaf.OUTSIDE_POT],
            pdot_ms=whole[k, Leaf.PDOT],
            adot_ms=whole[k, Leaf.ADOT],
            aust_ms=whole[k, Leaf.AUST],
            adet_ms=whole[k, Leaf.ADET],
            apt_ms=whole[k, Leaf.APT],
            unknown_ms=whole[k, Leaf.UNKNOWN],
            micro_stop_ms=spent[k, MICRO_STOP],
            micro_stops=events[k, 0],
            failures=events[k, 1],
            ttr_ms=spent[k, FAILURE],
        )
        for k, (a, b) in enumerate(windows)
    ]


def _beyond(
    c: _Classified, p: _Pieces, windows: tuple[I64, I64], edges: tuple[F64, F64], n: int
) -> tuple[NDArray[np.intp], F64]:
    """The pieces whose run crosses an edge of their window (at most two per rank and
    window), and the planned busy time of their run outside it: measured by the calendar's
    cumulative PBT at the edges, which never falls, so clipping the time clips the sum."""
    runs = c.runs
    start, end = _pick(runs.start_ms, p), _pick(runs.end_ms, p)
    w0, w1 = windows
    if p.window is None:
        cut = np.flatnonzero((start < w0[0]) | (end > w1[0]))
        k = np.zeros(len(cut), dtype=np.int64)
    else:
        cut = np.flatnonzero((start < w0.take(p.window)) | (end > w1.take(p.window)))
        k = p.window[cut]
    run = cut if p.row is None else p.row[cut]
    cell = k * n + runs.rank[run]
    a, pbt = c.pbt_start[run], c.pbt[run]
    inside = np.minimum(a + pbt, edges[1][cell]) - np.maximum(a, edges[0][cell])
    return cut, pbt - inside


def _off_shift_pdot(
    c: _Classified, p: _Pieces, windows: tuple[I64, I64], calendar: CalendarMeasure, n: int
) -> F64:
    """Calendar PDOT inside the OFF_SHIFT runs, per (window, rank) cell."""
    w0, w1 = windows
    off = np.flatnonzero(_pick(c.code, p) == Leaf.OUTSIDE_POT)
    if not len(off):
        return np.zeros(len(w0) * n)
    run = off if p.row is None else p.row[off]
    k = np.zeros(len(off), dtype=np.int64) if p.window is None else p.window[off]
    rank = c.runs.rank[run]
    a = np.maximum(c.runs.start_ms[run], w0[k])
    b = np.minimum(c.runs.end_ms[run], w1[k])
    pdot = calendar.pdot_before(rank, b) - calendar.pdot_before(rank, a)
    return _sums(k * n + rank, pdot, len(w0) * n)


def _events(c: _Classified, w0: I64, w1: I64, n: int) -> I64:
    """Micro-stops and failures per (window, rank) cell: those starting in the window."""
    start = c.runs.start_ms[c.events]
    p = _pieces(start, start + 1, w0, w1)
    cell = p.cells(c.runs.rank[c.events], n)
    kind = _pick(c.code[c.events], p) - MICRO_STOP
    return np.bincount(cell * 2 + kind, minlength=len(w0) * n * 2).astype(np.int64)


def _sums(slot: I64, value: F64, size: int) -> F64:
    """value summed per slot 0..size-1 (float64 even when there is nothing to sum)."""
    return np.bincount(slot, weights=value, minlength=size).astype(np.float64, copy=False)


def _by_column(x: I64) -> I64:
    """(window, rank, column) sums as (window, column, rank), each column contiguous."""
    return np.ascontiguousarray(x.transpose(0, 2, 1))


def _exact(x: F64) -> NDArray[np.int64]:
    """Integer-valued float64 sums of milliseconds back to int64."""
    return np.rint(x).astype(np.int64)
