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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import IntEnum

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from kiln.domain.states import EquipmentState as S
from kiln.errors import BadInput
from kiln.kpi.elements import TimeElements, sum_per
from kiln.kpi.interval_sets import (
    I8,
    I64,
    Ranked,
    check_intervals,
    clip,
    coalesce,
    rank_of,
    resolve,
)
from kiln.kpi.planned_time import CalendarMeasure, EquipmentPlan

DEFAULT_MICRO_STOP_MS = 120_000  # domain.md 1.4: Kiln's default threshold, site policy
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
    classified = _classify(runs, *(rules or TimeModelRules()).columns(ids))
    out = []
    for w0, w1 in windows:
        near = classified.take(np.flatnonzero((runs.end_ms > w0) & (runs.start_ms < w1)))
        out.append(_window_elements(ids, (w0, w1), calendar, near))
    return out


def _ids(states: StateIntervals, plan: EquipmentPlan, equipment: Sequence[int] | I64 | None) -> I64:
    if equipment is not None:
        return np.unique(np.asarray(equipment, dtype=np.int64))
    return np.unique(np.concatenate([states.equipment, plan.equipment]))


def _runs(states: StateIntervals, ids: I64, start_ms: int, end_ms: int) -> Ranked:
    """Clipped, priority-resolved runs of one state each, sorted by (rank, start)."""
    check_intervals(states.start_ms, states.end_ms, where="state intervals")
    bad = np.flatnonzero((states.state < 0) | (states.state >= len(S)))
    if len(bad):
        i = int(bad[0])
        raise BadInput(
            f"state code {int(states.state[i])} is not an EquipmentState",
            where=f"state intervals row {i}",
        )
    rank, known = rank_of(ids, states.equipment)
    level = _LEVEL_OF_STATE[states.state]
    rows = Ranked(rank, states.start_ms, states.end_ms, level)
    if not known.all():
        rows = rows.take(known)
    return coalesce(resolve(clip(rows, start_ms, end_ms), end_ms - start_ms + 1))


@dataclass(frozen=True, slots=True)
class _Classified:
    """Runs with their leaf (micro-stops moved to APT) and what they count as."""

    runs: Ranked
    leaf: I8
    micro: NDArray[np.bool_]
    fault: NDArray[np.bool_]

    def take(self, index: NDArray[np.intp]) -> _Classified:
        return _Classified(
            self.runs.take(index), self.leaf[index], self.micro[index], self.fault[index]
        )


def _classify(runs: Ranked, micro_ms: I64, table: NDArray[np.int8]) -> _Classified:
    state = _STATE_OF_LEVEL[runs.level]
    leaf = table[runs.rank, state]
    stop = (leaf == Leaf.ADET) | (leaf == Leaf.ADOT)
    micro = stop & (runs.end_ms - runs.start_ms < micro_ms[runs.rank])
    leaf = np.where(micro, np.int8(Leaf.APT), leaf).astype(np.int8)
    return _Classified(runs, leaf, micro, (state == S.DOWN_FAULT) & (leaf == Leaf.ADET))


def _window_elements(
    ids: I64, window: tuple[int, int], calendar: CalendarMeasure, c: _Classified
) -> TimeElements:
    """Start from the calendar (all planned busy time unknown), then move each run's time."""
    n, nleaf, runs = len(ids), len(Leaf), c.runs
    w0, w1 = window
    a, b = np.maximum(runs.start_ms, w0), np.minimum(runs.end_ms, w1)
    _, pdot, pbt = calendar.split(runs.rank, a, b)
    # Each run moves its planned busy time out of UNKNOWN into its leaf, and an OFF_SHIFT run
    # moves its calendar PDOT out of POT as well.
    leaves = sum_per(runs.rank * nleaf + c.leaf, pbt, n * nleaf).reshape(n, nleaf)
    outside_w, pdot_w, pbt_w = calendar.split(np.arange(n), np.full(n, w0), np.full(n, w1))
    off = np.flatnonzero(c.leaf == Leaf.OUTSIDE_POT)
    off_pdot = sum_per(runs.rank[off], pdot[off], n)
    leaves[:, Leaf.UNKNOWN] += pbt_w - leaves.sum(axis=1)
    leaves[:, Leaf.OUTSIDE_POT] += outside_w + off_pdot
    leaves[:, Leaf.PDOT] += pdot_w - off_pdot
    counted = _counted_here(calendar, runs, pbt, window)
    return TimeElements(
        key=ids,
        window_ms=np.full(n, w1 - w0, dtype=np.int64),
        outside_ms=leaves[:, Leaf.OUTSIDE_POT].copy(),
        pdot_ms=leaves[:, Leaf.PDOT].copy(),
        adot_ms=leaves[:, Leaf.ADOT].copy(),
        aust_ms=leaves[:, Leaf.AUST].copy(),
        adet_ms=leaves[:, Leaf.ADET].copy(),
        apt_ms=leaves[:, Leaf.APT].copy(),
        unknown_ms=leaves[:, Leaf.UNKNOWN].copy(),
        micro_stop_ms=sum_per(runs.rank[c.micro], pbt[c.micro], n),
        micro_stops=np.bincount(runs.rank[c.micro & counted], minlength=n).astype(np.int64),
        failures=np.bincount(runs.rank[c.fault & counted], minlength=n).astype(np.int64),
        ttr_ms=sum_per(runs.rank[c.fault], pbt[c.fault], n),
    )


def _counted_here(
    calendar: CalendarMeasure, runs: Ranked, pbt_inside: I64, window: tuple[int, int]
) -> NDArray[np.bool_]:
    """Runs that start in the window and have planned busy time somewhere; only those that
    run past the window's end are looked up again (few)."""
    here = (runs.start_ms >= window[0]) & (runs.start_ms < window[1])
    whole = pbt_inside.copy()
    cut = np.flatnonzero(here & (runs.end_ms > window[1]))
    if len(cut):
        whole[cut] = calendar.split(runs.rank[cut], runs.start_ms[cut], runs.end_ms[cut])[2]
    return here & (whole > 0)
