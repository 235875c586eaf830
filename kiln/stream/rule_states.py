"""State rules (too long in a state, too many micro-stops) over each equipment's state runs.

State changes are few (one per stop or start, not one per reading), so they are walked in
Python after a vectorised sort and de-duplication. A run is consecutive time in one state;
repeating the current state (a gateway re-publishing it) does not start a new run. Changes at
or before the equipment's last known change (a late or repeated delivery) are ignored here.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from kiln.domain.alarms import Condition
from kiln.domain.batches import StateBatch
from kiln.domain.states import STATE_NAMES, EquipmentState
from kiln.stream.rule_defs import MicroStopsRule, StateRule
from kiln.stream.rule_targets import Target, format_duration

HOUR_MS = 3_600_000
# domain.md 1.4 and kiln.kpi.time_model: an IDLE or DOWN_FAULT run shorter than the threshold
# is a micro-stop.
STOP_STATES = (EquipmentState.IDLE, EquipmentState.DOWN_FAULT)


@dataclass(frozen=True, slots=True)
class Run:
    """Time in one state: [start_ms, end_ms), end None while it goes on."""

    state: int
    start_ms: int
    end_ms: int | None = None


@dataclass(slots=True)
class StateRuns:
    """Each equipment's current run; turns state batches into the runs they close."""

    current: dict[int, Run] = field(default_factory=dict)

    def observe(self, batch: StateBatch) -> dict[int, list[Run]]:
        """The runs each equipment closed in this batch, and the new current runs."""
        if not len(batch):
            return {}
        order = np.lexsort((batch.ts_ms, batch.equipment))
        eq, ts, st = batch.equipment[order], batch.ts_ms[order], batch.state[order]
        cuts = [0, *(np.flatnonzero(eq[1:] != eq[:-1]) + 1).tolist(), len(eq)]
        closed: dict[int, list[Run]] = {}
        for a, b in itertools.pairwise(cuts):
            e = int(eq[a])
            cur = self.current.get(e)
            t, s = ts[a:b], st[a:b]
            if cur is not None:
                keep = t > cur.start_ms
                t, s = t[keep], s[keep]
            before = -1 if cur is None else cur.state
            change = s.astype(np.int16) != np.concatenate([[before], s[:-1]]).astype(np.int16)
            runs: list[Run] = []
            for start, state in zip(t[change].tolist(), s[change].tolist(), strict=True):
                if cur is not None:
                    runs.append(Run(cur.state, cur.start_ms, start))
                cur = Run(int(state), int(start))
            if cur is not None:
                self.current[e] = cur
            if runs:
                closed[e] = runs
        return closed


class StateCheck:
    """A state rule on one equipment: raise once it has stayed in the state for_s."""

    def __init__(self, target: Target) -> None:
        rule = target.rule
        assert isinstance(rule, StateRule)
        self.target, self.active, self._raised_ms = target, False, 0
        self._state = int(EquipmentState.parse(rule.state))
        self._for_ms = int(rule.for_s * 1000)

    def observe(self, closed: list[Run], current: Run | None, known_ms: int) -> list[Condition]:
        """Conditions from runs closed in a batch and the current run, known until known_ms."""
        out: list[Condition] = []
        for run in closed:
            assert run.end_ms is not None
            if run.state != self._state:
                continue
            if not self.active and run.end_ms - run.start_ms >= self._for_ms:
                out.append(self._raise(run.start_ms))
            if self.active:  # raised by this run, here or by a tick before its end arrived
                out.append(self._clear(run))
        return out + self.settle(current, known_ms)

    def settle(self, current: Run | None, now_ms: int) -> list[Condition]:
        """Raise if the current run has lasted for_s by now_ms; clear if it is not the state."""
        if self.active and current is not None and current.state != self._state:
            # Only an engine primed as active (after a restart) gets here: a run of the state
            # clears the rule when it closes, in `observe`.
            self.active = False
            words = f"{self.target.label} no longer {STATE_NAMES[self._state]}"
            at = max(current.start_ms, self._raised_ms)
            return [self.target.condition(False, at, words)]
        if self.active or current is None or current.state != self._state:
            return []
        if now_ms - current.start_ms < self._for_ms:
            return []
        return [self._raise(current.start_ms)]

    def _raise(self, start_ms: int) -> Condition:
        self.active, self._raised_ms = True, start_ms + self._for_ms
        tg, name = self.target, STATE_NAMES[self._state]
        words = f"{tg.label} {name} for {format_duration(self._for_ms)}"
        if not self._for_ms:
            words = f"{tg.label} {name}"
        return tg.condition(True, start_ms + self._for_ms, words, since_ms=start_ms)

    def _clear(self, run: Run) -> Condition:
        assert run.end_ms is not None
        self.active = False
        lasted = format_duration(run.end_ms - run.start_ms)
        words = f"{self.target.label} left {STATE_NAMES[self._state]} after {lasted}"
        at = max(run.end_ms, self._raised_ms)  # a late end never clears before the raise
        return self.target.condition(False, at, words, since_ms=run.start_ms)


class MicroStopCheck:
    """A micro-stop rule on one equipment: more than max_per_hour in the trailing hour."""

    def __init__(self, target: Target) -> None:
        rule = target.rule
        assert isinstance(rule, MicroStopsRule)
        self.target, self.active = target, False
        self._max, self._stop_ms = rule.max_per_hour, rule.stop_ms
        self._ends: deque[int] = deque()  # when each micro-stop of the last hour ended

    def observe(self, closed: list[Run], known_ms: int) -> list[Condition]:
        """Count the micro-stops among closed runs; raise or clear as the hour's count moves."""
        out: list[Condition] = []
        for run in closed:
            assert run.end_ms is not None
            if run.state in STOP_STATES and run.end_ms - run.start_ms < self._stop_ms:
                out += self.settle(run.end_ms)
                self._ends.append(run.end_ms)
                if not self.active and len(self._ends) > self._max:
                    self.active = True
                    out.append(self._condition(True, run.end_ms))
        return out + self.settle(known_ms)

    def settle(self, now_ms: int) -> list[Condition]:
        """Forget micro-stops older than an hour; clear when the count is back to the limit."""
        out: list[Condition] = []
        if self.active and len(self._ends) <= self._max:  # primed as active after a restart
            self.active = False
            out.append(self._condition(False, now_ms))
        if self.active and len(self._ends) > self._max:
            at = self._ends[len(self._ends) - self._max - 1] + HOUR_MS  # count drops to max
            if at <= now_ms:
                while self._ends and self._ends[0] + HOUR_MS <= at:
                    self._ends.popleft()
                self.active = False
                out.append(self._condition(False, at))
        while self._ends and self._ends[0] + HOUR_MS <= now_ms:
            self._ends.popleft()
        return out

    def _condition(self, active: bool, ts_ms: int) -> Condition:
        n, tg = len(self._ends), self.target
        limit = format_duration(self._stop_ms)
        if active:
            words = (
                f"{tg.label} {n} micro-stops (under {limit}) in the last hour, above {self._max}"
            )
        else:
            words = f"{tg.label} micro-stops back to {n} in the last hour"
        since = self._ends[0] if self._ends else None
        return tg.condition(active, ts_ms, words, value=float(n), since_ms=since)
