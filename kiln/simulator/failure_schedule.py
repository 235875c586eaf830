"""The schedule of injected failures: drawn ahead per equipment, kept as ground truth."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.simulator.episodes import EpisodeStream
from kiln.simulator.failures import PRECURSOR_H, WEEK_H, InjectedFailure, kinds_of
from kiln.simulator.reasons import reason_code
from kiln.simulator.shifts import ShiftCalendar

I64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Subject:
    """What the schedule needs to know about one equipment."""

    key: int
    equipment_id: int
    template: str
    calendar: ShiftCalendar
    mttr_min: float


class FailureSchedule:
    """Every equipment's injected failures, drawn until each has one starting beyond the plan.

    A failure's precursor begins a gap after the previous repair (exponential, mean one week
    over the rate), at a moment the equipment runs (wear shows in use); the failure follows
    after 2-12 hours of planned working time, at a moment the equipment runs. Counting working
    time, not wall time, keeps a precursor that meets a weekend shutdown visible after it: the
    part does not fail the moment the plant starts again on Monday.
    """

    def __init__(
        self,
        subjects: Sequence[Subject],
        streams: Sequence[EpisodeStream],
        start_ms: int,
        rate_per_week: float,
    ) -> None:
        self._subjects = list(subjects)
        self._streams = list(streams)
        self._rngs = [np.random.Generator(np.random.Philox(key=s.key)) for s in subjects]
        self._kinds = [kinds_of(s.template) for s in subjects]
        self._last_end = [start_ms] * len(subjects)
        self._rate = rate_per_week
        self.by_row: list[list[InjectedFailure]] = [[] for _ in subjects]
        self._horizon_ms = start_ms if rate_per_week > 0 else 1 << 62
        self._p0 = np.zeros(0, dtype=np.int64)
        self._f = np.zeros(0, dtype=np.int64)
        self._all: list[tuple[int, InjectedFailure]] = []

    def extend_to(self, t_ms: int) -> None:
        """Draw failures until every equipment has one whose precursor starts after t_ms."""
        if t_ms < self._horizon_ms:
            return
        for row in range(len(self._subjects)):
            while self._last_precursor(row) <= t_ms:
                self._draw(row)
        self._horizon_ms = min(self._last_precursor(r) for r in range(len(self._subjects)))
        self._all = sorted(
            ((row, f) for row, fs in enumerate(self.by_row) for f in fs),
            key=lambda rf: (rf[1].precursor_start_ms, rf[0]),
        )
        self._p0 = np.array([f.precursor_start_ms for _, f in self._all], dtype=np.int64)
        self._f = np.array([f.failure_ms for _, f in self._all], dtype=np.int64)

    def _last_precursor(self, row: int) -> int:
        fs = self.by_row[row]
        return fs[-1].precursor_start_ms if fs else -1

    def _draw(self, row: int) -> None:
        s, rng, kinds = self._subjects[row], self._rngs[row], self._kinds[row]
        gap_h = rng.exponential(WEEK_H / self._rate)
        pre_h = rng.uniform(*PRECURSOR_H)
        repair_h = rng.lognormal(math.log(max(2.0, 4.0 * s.mttr_min / 60.0)), 0.4)
        weights = np.array([k.weight for k in kinds])
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        p0 = self._running_from(row, self._last_end[row] + _to_ms(gap_h))
        f = self._running_from(row, self._after_working(row, p0, _to_ms(pre_h)))
        end = f + _to_ms(repair_h)
        signals = tuple(e.signal for e in kind.effects)
        self.by_row[row].append(InjectedFailure(s.equipment_id, kind.key, p0, f, end, signals))
        self._last_end[row] = end

    def _running_from(self, row: int, t_ms: int) -> int:
        """The first moment from t_ms on when the equipment runs: parts break in use."""
        calendar, stream = self._subjects[row].calendar, self._streams[row]
        for _ in range(20):
            clear = stream.running_from(calendar.clear_of_stops(t_ms))
            if clear == t_ms:
                break
            t_ms = clear
        return t_ms

    def _after_working(self, row: int, t_ms: int, span_ms: int) -> int:
        """The moment span_ms of planned working time (outside the calendar's planned stops:
        shutdowns, rest days, breaks) has passed from t_ms."""
        calendar = self._subjects[row].calendar
        for _ in range(200):  # a few weeks of stops at most; past them, wall time
            stops = calendar.stops(t_ms, t_ms + span_ms)
            starts = stops.start_ms[stops.end_ms > t_ms]
            ends = stops.end_ms[stops.end_ms > t_ms]
            if not len(starts):
                return t_ms + span_ms
            # stops() gives stops overlapping [t, t + span): the work before one is < span.
            span_ms -= max(0, int(starts[0]) - t_ms)
            t_ms = max(t_ms, int(ends[0]))
        return t_ms + span_ms

    def downs(self, row: int, start_ms: int, end_ms: int) -> tuple[I64, I64, I64]:
        """The repair intervals of one equipment overlapping [start_ms, end_ms), with reasons."""
        hits = [f for f in self.by_row[row] if f.failure_ms < end_ms and f.end_ms > start_ms]
        return (
            np.array([f.failure_ms for f in hits], dtype=np.int64),
            np.array([f.end_ms for f in hits], dtype=np.int64),
            np.array([reason_code(f.kind) for f in hits], dtype=np.int64),
        )

    def active(self, start_ms: int, end_ms: int) -> list[tuple[int, InjectedFailure]]:
        """(row, failure) for every precursor overlapping [start_ms, end_ms)."""
        hit = np.flatnonzero((self._p0 < end_ms) & (self._f > start_ms))
        return [self._all[i] for i in hit]

    def injected(self, before_ms: int) -> list[InjectedFailure]:
        """Every failure whose precursor began before before_ms, by precursor start."""
        return [f for _, f in self._all if f.precursor_start_ms < before_ms]


def _to_ms(hours: float) -> int:
    return round(hours * 3600.0) * 1000
