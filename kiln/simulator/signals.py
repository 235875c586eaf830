"""Telemetry of one template's equipment: every signal, sampled on its period, as columns.

All equipment of a template are generated together, one (equipment x sample) array per signal,
with no Python loop over samples. Samples fall on multiples of the signal's period (UTC ms), the
noise is counter-based and filter states are carried, so the values never depend on how the
caller cut time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.domain.states import EquipmentState
from kiln.domain.templates import EquipmentTemplate, SignalSpec
from kiln.simulator.climate import REFERENCE_C, ambient_c
from kiln.simulator.failures import InjectedFailure, kind_effects, ramp
from kiln.simulator.fleet import Machine
from kiln.simulator.noise import ar1, keys_of, lag, normal, uniform
from kiln.simulator.signal_models import SignalModel, model_of
from kiln.simulator.timeline import StatePlan

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Columns = tuple[I64, I64, F64]
_DAY_MS = 86_400_000.0


@dataclass(frozen=True, slots=True)
class _Precursor:
    row: int  # within the bank
    start_ms: int
    failure_ms: int
    shift: float  # in signal units at the failure moment
    growth: float


@dataclass(frozen=True, slots=True)
class _Grid:
    """The sample times of one period, and each equipment's speed there (0 when not running)."""

    k: I64  # sample index: ts = k x period
    ts: I64
    speed: F64
    running: NDArray[np.bool_]
    waiting: NDArray[np.bool_]  # IDLE: powered and warm, waiting for parts, room or orders
    air: F64  # ambient °C, one row


@dataclass(slots=True)
class _Series:
    """One signal of every equipment in the bank: fixed parameters and carried filter state."""

    spec: SignalSpec
    model: SignalModel
    period_ms: int
    ids: I64
    keys: NDArray[np.uint64]
    base: F64
    span: F64  # what noise and drift are fractions of: the normal range, or the base
    drift_amp: F64
    omega: F64  # drift angular frequency, rad/ms
    phase: F64
    lag_prev: F64 | None = None
    noise_prev: F64 | None = None


class SignalBank:
    """The signals of equipment rows lo..hi of the fleet, all of one template."""

    def __init__(self, tmpl: EquipmentTemplate, lo: int, machines: Sequence[Machine], seed: int):
        self.template, self.lo, self.hi = tmpl, lo, lo + len(machines)
        self._series = [
            _make_series(tmpl, i, spec, machines, seed) for i, spec in enumerate(tmpl.signals)
        ]

    def points(
        self, start_ms: int, end_ms: int, plan: StatePlan, active: list[tuple[int, InjectedFailure]]
    ) -> list[Columns]:
        """Every sample with start_ms <= ts < end_ms, one (series, ts, value) triple per signal."""
        mine = [(row - self.lo, f) for row, f in active if self.lo <= row < self.hi]
        grids: dict[int, _Grid | None] = {}
        out = []
        for s in self._series:
            if s.period_ms not in grids:
                grids[s.period_ms] = self._grid(s.period_ms, start_ms, end_ms, plan)
            grid = grids[s.period_ms]
            if grid is not None:
                out.append(_sample(s, grid, mine))
        return out

    def _grid(self, period_ms: int, start_ms: int, end_ms: int, plan: StatePlan) -> _Grid | None:
        k0, k1 = -(-start_ms // period_ms), -(-end_ms // period_ms)
        if k1 <= k0:
            return None
        k = np.arange(k0, k1, dtype=np.int64)
        ts = k * period_ms
        seg = plan.paint(self.lo, self.hi, ts)
        speed = plan.seg_weight[seg]
        waiting = plan.seg_state[seg] == EquipmentState.IDLE
        return _Grid(k, ts, speed, speed > 0.0, waiting, ambient_c(ts)[None, :])


def _sample(s: _Series, g: _Grid, mine: list[tuple[int, InjectedFailure]]) -> Columns:
    """The values of one signal of every equipment of the bank on the grid."""
    pre = [p for p in _precursors(s, mine) if p.start_ms < g.ts[-1] and p.failure_ms > g.ts[0]]
    target = _target(s, g, pre)
    m = s.model
    if m.tau_s > 0:
        alpha = math.exp(-s.period_ms / 1000.0 / m.tau_s)
        prev = target[:, 0] if s.lag_prev is None else s.lag_prev
        target, s.lag_prev = lag(target, alpha, prev)
    value = target + _noise(s, g, pre)
    if not m.signed:
        np.maximum(value, 0.0, out=value)
    value = np.round(value, s.spec.decimals)
    return np.repeat(s.ids, len(g.k)), np.tile(g.ts, len(s.ids)), value.ravel()


def _make_series(
    tmpl: EquipmentTemplate, i: int, spec: SignalSpec, machines: Sequence[Machine], seed: int
) -> _Series:
    model = model_of(tmpl.key, spec)
    keys = keys_of([m.key(seed, "signal", spec.name) for m in machines])
    u = uniform(keys, np.arange(4, dtype=np.int64))
    cycle = np.array([m.ideal_cycle_s for m in machines])
    if model.base == "cycle":
        base = cycle
    elif model.base == "strokes":
        base = 60.0 / cycle
    else:
        base = spec.lo + (0.3 + 0.4 * u[:, 0]) * (spec.hi - spec.lo)
    span = np.abs(base) if model.relative else np.full(len(machines), spec.hi - spec.lo)
    return _Series(
        spec, model, round(spec.period_s * 1000), np.array([m.series[i] for m in machines]),
        keys, base, span, model.drift * span * (0.5 + u[:, 1]),
        2 * np.pi / ((2.0 + 8.0 * u[:, 2]) * _DAY_MS), 2 * np.pi * u[:, 3],
    )  # fmt: skip


def _precursors(s: _Series, mine: list[tuple[int, InjectedFailure]]) -> list[_Precursor]:
    out = []
    for row, f in mine:
        for name, shift, growth in kind_effects(f.kind):
            if name == s.spec.name:
                span = float(s.spec.hi - s.spec.lo)
                out.append(
                    _Precursor(row, f.precursor_start_ms, f.failure_ms, shift * span, growth)
                )
    return out


def _target(s: _Series, g: _Grid, pre: list[_Precursor]) -> F64:
    """Where the signal heads at each sample: running level or stopped level.

    Drift and a precursor move the equipment's own level, so they show when stopped too,
    scaled like the rest of the stopped level (a held torque, a cooling motor).
    """
    m = s.model
    level = s.base[:, None] + s.drift_amp[:, None] * np.sin(
        g.ts[None, :] * s.omega[:, None] + s.phase[:, None]
    )
    for p in pre:
        level[p.row] += p.shift * ramp(g.ts, p.start_ms, p.failure_ms)
    run = level
    if m.speed_exp != 0.0:
        run = level * np.where(g.running, g.speed, 1.0) ** m.speed_exp
    if m.ambient_gain:
        run = run + m.ambient_gain * (g.air - REFERENCE_C)
    rest = g.air if m.thermal else 0.0
    frac = m.stop_frac if m.idle_frac is None else np.where(g.waiting, m.idle_frac, m.stop_frac)
    stop = rest + frac * (level - rest)
    return np.where(g.running, run, stop)


def _noise(s: _Series, g: _Grid, pre: list[_Precursor]) -> F64:
    """AR(1) noise carried across calls, scaled by the signal's spread (and a precursor's)."""
    m = s.model
    if m.noise == 0.0:
        return np.zeros(g.speed.shape)
    phi = math.exp(-s.period_ms / 1000.0 / m.noise_tau_s)
    if s.noise_prev is None:
        s.noise_prev = normal(s.keys, g.k[:1] - 1)[:, 0]
    x, s.noise_prev = ar1(normal(s.keys, g.k), phi, s.noise_prev)
    scale = np.broadcast_to((m.noise * s.span)[:, None], x.shape).copy()
    for p in pre:
        if p.growth:
            scale[p.row] *= 1.0 + p.growth * ramp(g.ts, p.start_ms, p.failure_ms)
    if not m.thermal and m.stop_frac < 1.0:
        scale = np.where(g.running, scale, scale * m.stop_frac)
    return x * scale
