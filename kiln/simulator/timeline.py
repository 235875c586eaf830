"""The state plan: each equipment's states, composed from its random episodes, its calendar and
its injected failures, and a flat index the signal and count models read it through.

The plan grows a UTC day at a time, whatever the caller's steps, so it is the same however the
simulation is advanced. Precedence, highest first: injected failure, planned stop, episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.domain.batches import StateBatch
from kiln.domain.states import EquipmentState
from kiln.simulator.episodes import EpisodeStream
from kiln.simulator.failure_schedule import FailureSchedule
from kiln.simulator.reasons import REASONS
from kiln.simulator.shifts import DAY_MS, ShiftCalendar

I64 = NDArray[np.int64]
I8 = NDArray[np.int8]
F64 = NDArray[np.float64]
_SPAN_MS = 1 << 42  # room for ~139 years of one equipment's times in the flat key
_RUNNING = int(EquipmentState.RUNNING)


@dataclass(slots=True)
class RowPlan:
    """One equipment's composed segments; weight is the speed while running, else 0."""

    ts_ms: I64
    state: I8
    reason: I64
    weight: F64
    cum_s: F64  # effective running seconds (speed-weighted) from the start to ts_ms


@dataclass(slots=True)
class _Window:
    ts_ms: I64
    state: I8
    reason: I64
    weight: F64


def ranges(first: I64, count: I64) -> I64:
    """first[i], first[i]+1, ... (count[i] of them), for every i, end to end.

    >>> ranges(np.array([5, 0]), np.array([2, 3]))
    array([5, 6, 0, 1, 2])
    """
    offsets = np.cumsum(count) - count
    return np.arange(int(count.sum())) - np.repeat(offsets - first, count)


def _overlay(cuts: I64, win: _Window, start: I64, end: I64, state: I8, reason: I64) -> None:
    """Let intervals [start, end) override the window's state and reason where they hold."""
    if len(start) == 0:
        return
    k = np.searchsorted(start, cuts, side="right") - 1
    kk = np.maximum(k, 0)
    on = (k >= 0) & (cuts < end[kk])
    win.state[on] = state[kk[on]]
    win.reason[on] = reason[kk[on]]


class StatePlan:
    """Every equipment's states from the start to end_ms, and the changes still to be emitted."""

    def __init__(
        self,
        streams: Sequence[EpisodeStream],
        calendars: Sequence[ShiftCalendar],
        failures: FailureSchedule,
        equipment_ids: I64,
        start_ms: int,
    ) -> None:
        self._streams = list(streams)
        self._calendars = list(calendars)
        self._failures = failures
        self._ids = equipment_ids
        self.start_ms = self.end_ms = start_ms
        self._origin = start_ms - DAY_MS
        self._rows: list[RowPlan | None] = [None] * len(self._streams)
        self._ch: tuple[I64, I64, I8, I64] = _empty_changes()
        self.seg_ts = np.zeros(0, dtype=np.int64)
        self.seg_state = np.zeros(0, dtype=np.int8)
        self.seg_weight = np.zeros(0)
        self.seg_cum_s = np.zeros(0)
        self._key = np.zeros(0, dtype=np.int64)

    def extend_to(self, t_ms: int, *, keep_from_ms: int) -> None:
        """Compose whole UTC days until the plan covers t_ms; forget what ended before keep_from."""
        if t_ms <= self.end_ms:
            return
        fresh: list[tuple[I64, I64, I8, I64]] = []
        while self.end_ms < t_ms:
            w0 = self.end_ms
            w1 = (w0 // DAY_MS + 1) * DAY_MS
            self._failures.extend_to(w1)
            fresh.extend(self._compose(row, w0, w1) for row in range(len(self._rows)))
            self.end_ms = w1
        self._add_changes(fresh, keep_from_ms)
        self._prune(keep_from_ms)
        self._index()

    def _compose(self, row: int, w0: int, w1: int) -> tuple[I64, I64, I8, I64]:
        win = self._layers(row, w0, w1)
        prev = self._rows[row]
        keep = _changed(win, prev)
        ts, state, reason = win.ts_ms[keep], win.state[keep], win.reason[keep]
        self._rows[row] = _append(prev, ts, state, reason, win.weight[keep])
        # A change of speed alone is a new segment but not a state change.
        emit = np.ones(len(ts), dtype=bool)
        emit[1:] = (np.diff(state) != 0) | (np.diff(reason) != 0)
        if prev is not None and len(ts):
            emit[0] = bool(state[0] != prev.state[-1] or reason[0] != prev.reason[-1])
        ids = np.full(int(emit.sum()), self._ids[row], dtype=np.int64)
        return ts[emit], ids, state[emit], reason[emit]

    def _layers(self, row: int, w0: int, w1: int) -> _Window:
        stream = self._streams[row]
        stream.extend_to(w1)
        seg = stream.seg
        i0 = int(np.searchsorted(seg.ts_ms, w0, side="right")) - 1
        i1 = int(np.searchsorted(seg.ts_ms, w1, side="left"))
        e_ts = seg.ts_ms[i0:i1].copy()
        e_ts[0] = w0
        cal = self._calendars[row].stops(w0, w1)
        f0, f1, f_reason = self._failures.downs(row, w0, w1)
        cuts = np.unique(np.concatenate([e_ts, cal.start_ms, cal.end_ms, f0, f1]))
        cuts = cuts[(cuts >= w0) & (cuts < w1)]
        j = np.searchsorted(e_ts, cuts, side="right") - 1 + i0
        win = _Window(cuts, seg.state[j], seg.reason[j], seg.speed[j])
        _overlay(cuts, win, cal.start_ms, cal.end_ms, cal.state, cal.reason)
        fault = np.full(len(f0), int(EquipmentState.DOWN_FAULT), dtype=np.int8)
        _overlay(cuts, win, f0, f1, fault, f_reason)
        win.weight = np.where(win.state == _RUNNING, win.weight, 0.0)
        return win

    def _add_changes(self, fresh: list[tuple[I64, I64, I8, I64]], keep_from_ms: int) -> None:
        ts = np.concatenate([f[0] for f in fresh])
        order = np.argsort(ts, kind="stable")
        old = self._ch
        keep = old[0] >= keep_from_ms
        self._ch = (
            np.concatenate([old[0][keep], ts[order]]),
            np.concatenate([old[1][keep], np.concatenate([f[1] for f in fresh])[order]]),
            np.concatenate([old[2][keep], np.concatenate([f[2] for f in fresh])[order]]),
            np.concatenate([old[3][keep], np.concatenate([f[3] for f in fresh])[order]]),
        )

    def _prune(self, keep_from_ms: int) -> None:
        for row, plan in enumerate(self._rows):
            assert plan is not None
            self._streams[row].drop_before(keep_from_ms)
            i = int(np.searchsorted(plan.ts_ms, keep_from_ms, side="right")) - 1
            if i > 0:
                self._rows[row] = RowPlan(
                    plan.ts_ms[i:], plan.state[i:], plan.reason[i:], plan.weight[i:], plan.cum_s[i:]
                )

    def _index(self) -> None:
        rows = [r for r in self._rows if r is not None]
        lens = np.array([len(r.ts_ms) for r in rows], dtype=np.int64)
        self.seg_ts = np.concatenate([r.ts_ms for r in rows])
        self.seg_state = np.concatenate([r.state for r in rows])
        self.seg_weight = np.concatenate([r.weight for r in rows])
        self.seg_cum_s = np.concatenate([r.cum_s for r in rows])
        row_of = np.repeat(np.arange(len(rows), dtype=np.int64), lens)
        self._key = row_of * _SPAN_MS + (self.seg_ts - self._origin)

    def paint(self, lo: int, hi: int, grid_ms: I64) -> I64:
        """For rows lo..hi and sorted times within the plan, the index of the segment holding.

        The result has one row per equipment and one column per time; gather seg_* with it.
        """
        n, k = hi - lo, len(grid_ms)
        base = np.arange(lo, hi, dtype=np.int64) * _SPAN_MS - self._origin
        first = np.searchsorted(self._key, base + grid_ms[0], side="right") - 1
        last = np.searchsorted(self._key, base + grid_ms[-1], side="right")
        count = last - first
        seg = ranges(first, count)
        starts = np.searchsorted(grid_ms, self.seg_ts[seg], side="left")
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:]
        ends[np.cumsum(count) - 1] = k
        return np.repeat(seg, ends - starts).reshape(n, k)

    def changes(self, start_ms: int, end_ms: int) -> StateBatch:
        """The state changes with start_ms <= ts_ms < end_ms, in time order."""
        ts, eq, state, reason = self._ch
        i, j = np.searchsorted(ts, [start_ms, end_ms], side="left")
        reasons = [REASONS[c] for c in reason[i:j].tolist()]
        return StateBatch(eq[i:j].copy(), ts[i:j].copy(), state[i:j].copy(), reasons)


def _changed(win: _Window, prev: RowPlan | None) -> NDArray[np.bool_]:
    """Which of the window's segments differ from the one before (so are state changes)."""
    keep = np.ones(len(win.ts_ms), dtype=bool)
    keep[1:] = (np.diff(win.state) != 0) | (np.diff(win.reason) != 0) | (np.diff(win.weight) != 0)
    if prev is not None:
        keep[0] = bool(
            win.state[0] != prev.state[-1]
            or win.reason[0] != prev.reason[-1]
            or win.weight[0] != prev.weight[-1]
        )
    return keep


def _append(prev: RowPlan | None, ts: I64, state: I8, reason: I64, weight: F64) -> RowPlan:
    """The row's plan with new segments after the last, running time accumulated across."""
    if prev is None:
        cum = np.concatenate([[0.0], np.cumsum(np.diff(ts) * weight[:-1] / 1000.0)])
        return RowPlan(ts, state, reason, weight, cum)
    all_ts = np.concatenate([prev.ts_ms[-1:], ts])
    all_w = np.concatenate([prev.weight[-1:], weight])
    cum = prev.cum_s[-1] + np.cumsum(np.diff(all_ts) * all_w[:-1] / 1000.0)
    return RowPlan(
        np.concatenate([prev.ts_ms, ts]),
        np.concatenate([prev.state, state]),
        np.concatenate([prev.reason, reason]),
        np.concatenate([prev.weight, weight]),
        np.concatenate([prev.cum_s, cum]),
    )


def _empty_changes() -> tuple[I64, I64, I8, I64]:
    z = np.zeros(0, dtype=np.int64)
    return z, z, np.zeros(0, dtype=np.int8), z
