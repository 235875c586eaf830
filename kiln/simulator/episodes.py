"""The random running-and-stopping of one equipment: stops drawn as competing risks.

Running time to the next stop is exponential with the summed rate of every kind of stop (minor
faults from the template's MTBF, changeovers, starved/blocked waits, no order, no operator); the
stop's kind is drawn by rate and its length is lognormal. Draws come in fixed batches from the
equipment's own generator, so the sequence never depends on how far ahead it was asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.domain.states import EquipmentState
from kiln.domain.templates import EquipmentTemplate
from kiln.simulator.reasons import reason_code

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
I8 = NDArray[np.int8]

_BATCH = 256
_NEVER_MS = 1 << 60  # "no further change" for an equipment that never stops

# Changeovers per template: (hours between, median minutes). Presses change dies quickly
# (domain.md 7.3: < 3-10 min automatic); kilns run one product for days.
_SETUPS = {
    "industrial_robot": (24.0, 10.0),
    "roller_kiln": (0.0, 0.0),
    "press": (4.0, 8.0),
    "injection_moulding": (8.0, 25.0),
    "smt_line": (6.0, 20.0),
    "cnc_machine": (6.0, 15.0),
}
# Minor faults per template, drawn at the template's MTBF with its MTTR.
MINOR_FAULTS = {
    "industrial_robot": ("collision", "servo_alarm"),
    "roller_kiln": ("roller_jam", "fan_trip"),
    "press": ("misfeed", "double_blank"),
    "injection_moulding": ("nozzle_freeze", "mould_sensor"),
    "smt_line": ("feeder_jam", "board_jam"),
    "cnc_machine": ("tool_break", "chip_jam"),
}


@dataclass(frozen=True, slots=True)
class StopKind:
    """One kind of stop: the state and reason it shows, how often, and how long (lognormal)."""

    state: EquipmentState
    reason: str
    rate_per_h: float  # per hour of running
    median_min: float
    sigma: float = 0.6


def stop_kinds(
    template: EquipmentTemplate, *, flow_share: float, flow_reason: str, manual: bool
) -> tuple[StopKind, ...]:
    """The stops an equipment of this template, at this place on its line, is subject to.

    flow_share is the share of time the line's bottleneck keeps it waiting (starved or blocked).

    >>> from kiln.domain.templates import TEMPLATES
    >>> kinds = stop_kinds(TEMPLATES["roller_kiln"], flow_share=0, flow_reason="", manual=False)
    >>> sorted({k.state.name for k in kinds})
    ['DOWN_FAULT']
    """
    kinds = []
    faults = MINOR_FAULTS[template.key]
    # Lognormal with sigma 0.8 has mean = median * exp(0.32): keep the template's MTTR as mean.
    for reason in faults:
        median = template.mttr_min * math.exp(-0.32)
        rate = 1.0 / template.mtbf_h / len(faults)
        kinds.append(StopKind(EquipmentState.DOWN_FAULT, reason, rate, median, 0.8))
    every_h, setup_min = _SETUPS[template.key]
    if every_h > 0:
        kinds.append(StopKind(EquipmentState.SETUP, "changeover", 1.0 / every_h, setup_min, 0.4))
    if template.continuous:
        return tuple(kinds)
    if flow_share > 0:
        wait_min = 2.5  # median; a lognormal (0.7) wait averages 3.2 min
        rate = flow_share / (1.0 - flow_share) / (wait_min * math.exp(0.245) / 60.0)
        kinds.append(StopKind(EquipmentState.IDLE, flow_reason, rate, wait_min, 0.7))
    kinds.append(StopKind(EquipmentState.IDLE, "no_order", 1.0 / 48.0, 45.0, 0.6))
    if manual:
        kinds.append(StopKind(EquipmentState.IDLE, "no_operator", 1.0 / 12.0, 8.0, 0.6))
    return tuple(kinds)


@dataclass(slots=True)
class Segments:
    """Piecewise-constant behaviour: from ts_ms[i] on, state, reason and speed (0 if stopped)."""

    ts_ms: I64
    state: I8
    reason: I64
    speed: F64


class EpisodeStream:
    """One equipment's random run/stop sequence, from start_ms on, grown on demand."""

    def __init__(
        self, key: int, start_ms: int, kinds: tuple[StopKind, ...], *, speed_loss_share: float
    ) -> None:
        self._rng = np.random.Generator(np.random.Philox(key=key))
        self._kinds = kinds
        total = sum(k.rate_per_h for k in kinds)
        self._run_mean_s = 3600.0 / total if total > 0 else 0.0
        self._p = np.array([k.rate_per_h / total for k in kinds]) if total > 0 else np.zeros(0)
        self._mu = np.log(np.array([k.median_min * 60.0 for k in kinds]))
        self._sigma = np.array([k.sigma for k in kinds])
        self._states = np.array([int(k.state) for k in kinds], dtype=np.int8)
        self._reasons = np.array([reason_code(k.reason) for k in kinds], dtype=np.int64)
        self._loss = speed_loss_share
        self._fresh: list[Segments] = []
        self._seg = Segments(
            np.zeros(0, dtype=np.int64),
            np.zeros(0, dtype=np.int8),
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
        )
        self._start_ms = start_ms
        self._next_ms = start_ms  # the end of the last drawn episode

    def extend_to(self, t_ms: int) -> None:
        """Draw batches until the sequence is known beyond t_ms."""
        if self._run_mean_s == 0.0 and self._next_ms < _NEVER_MS:
            run = np.array([int(EquipmentState.RUNNING)], dtype=np.int8)
            self._seg = Segments(
                np.array([self._start_ms], np.int64), run, np.zeros(1, np.int64), np.ones(1)
            )
            self._next_ms = _NEVER_MS
        while self._next_ms <= t_ms:
            self._draw()

    def _draw(self) -> None:
        rng, n = self._rng, _BATCH
        run_s = np.maximum(1.0, np.round(rng.exponential(self._run_mean_s, n)))
        which = rng.choice(len(self._kinds), size=n, p=self._p)
        stop_s = np.maximum(30.0, np.round(rng.lognormal(self._mu[which], self._sigma[which])))
        slow = rng.random(n) < self._loss
        speed = np.where(slow, rng.uniform(0.75, 0.95, n), 1.0)
        ends = np.empty(2 * n, dtype=np.int64)  # run, stop, run, stop, ...
        ends[0::2] = run_s * 1000.0
        ends[1::2] = stop_s * 1000.0
        np.cumsum(ends, out=ends)
        ends += self._next_ms
        fresh = Segments(
            np.concatenate([[self._next_ms], ends[:-1]]),
            np.empty(2 * n, dtype=np.int8),
            np.zeros(2 * n, dtype=np.int64),
            np.zeros(2 * n),
        )
        fresh.state[0::2] = int(EquipmentState.RUNNING)
        fresh.state[1::2] = self._states[which]
        fresh.reason[1::2] = self._reasons[which]
        fresh.speed[0::2] = speed
        self._fresh.append(fresh)
        self._next_ms = int(ends[-1])

    @property
    def seg(self) -> Segments:
        """Every segment drawn and not yet dropped."""
        if self._fresh:
            parts = [self._seg, *self._fresh]
            self._seg = Segments(
                np.concatenate([p.ts_ms for p in parts]),
                np.concatenate([p.state for p in parts]),
                np.concatenate([p.reason for p in parts]),
                np.concatenate([p.speed for p in parts]),
            )
            self._fresh = []
        return self._seg

    def running_from(self, t_ms: int) -> int:
        """The first moment at or after t_ms at which the equipment is running."""
        self.extend_to(t_ms)
        seg = self.seg
        i = int(np.searchsorted(seg.ts_ms, t_ms, side="right")) - 1
        if seg.state[i] == EquipmentState.RUNNING:
            return t_ms
        # Stops alternate with runs, and each batch starts with a run.
        return int(seg.ts_ms[i + 1]) if i + 1 < len(seg.ts_ms) else self._next_ms

    def drop_before(self, t_ms: int) -> None:
        """Forget segments that ended before t_ms (the one holding at t_ms stays)."""
        i = int(np.searchsorted(self.seg.ts_ms, t_ms, side="right")) - 1
        if i > 0:
            s = self.seg
            self._seg = Segments(s.ts_ms[i:], s.state[i:], s.reason[i:], s.speed[i:])
