"""Production counts: good and scrap parts per equipment, reported at the end of every minute.

Parts follow effective running time (running seconds x speed) divided by the ideal cycle, with a
few per cent of cycle-to-cycle jitter; a fractional carry keeps the totals honest. Scrap is
Poisson around the template's scrap ratio, several times higher as a failure approaches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from kiln.domain.batches import CountBatch
from kiln.simulator.failures import InjectedFailure, ramp
from kiln.simulator.fleet import Machine
from kiln.simulator.noise import keys_of, normal, uniform
from kiln.simulator.timeline import StatePlan

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
MINUTE_MS = 60_000
JITTER = 0.04  # cycle-to-cycle spread of output per minute
SCRAP_NEAR_FAILURE = 4.0  # scrap ratio multiplier reached at the failure moment
_MAX_SCRAP_TERMS = 16


def poisson_quantile(u: F64, lam: F64) -> I64:
    """The Poisson(lam) quantile of u, elementwise (small lam: a few terms suffice).

    >>> poisson_quantile(np.array([0.1, 0.5, 0.99]), np.array([0.0, 1.0, 1.0]))
    array([0, 1, 4])
    """
    p = np.exp(-lam)
    cdf = p.copy()
    k = np.zeros(u.shape, dtype=np.int64)
    for i in range(1, _MAX_SCRAP_TERMS):
        more = u > cdf
        if not more.any():
            break
        k += more
        p = p * lam / i
        cdf += p
    return k


class CountMeter:
    """Counts of every equipment of the fleet, with each one's fractional carry."""

    def __init__(self, machines: Sequence[Machine], start_ms: int, seed: int) -> None:
        self._start_ms = start_ms
        self._ids = np.array([m.equipment_id for m in machines], dtype=np.int64)
        self._cycle = np.array([m.ideal_cycle_s for m in machines])
        self._jitter_keys = keys_of([m.key(seed, "count-jitter") for m in machines])
        self._scrap_keys = keys_of([m.key(seed, "scrap") for m in machines])
        factor = 0.6 + 0.8 * uniform(self._scrap_keys, np.array([-1], dtype=np.int64))[:, 0]
        self._scrap = np.array([m.template.scrap_ratio for m in machines]) * factor
        # A random phase in the first cycle, so the fleet's first parts do not all land at once.
        self._carry = uniform(self._jitter_keys, np.array([-1], dtype=np.int64))[:, 0]

    def counts(
        self, start_ms: int, end_ms: int, plan: StatePlan, active: list[tuple[int, InjectedFailure]]
    ) -> CountBatch:
        """The reports at minute ends with start_ms <= ts < end_ms, for minutes with running."""
        m0, m1 = -(-start_ms // MINUTE_MS), -(-end_ms // MINUTE_MS)
        if m1 <= m0:
            return CountBatch.empty()
        minute = np.arange(m0, m1, dtype=np.int64)
        ts = minute * MINUTE_MS
        grid = np.maximum(np.concatenate([ts[:1] - MINUTE_MS, ts]), self._start_ms)
        seg = plan.paint(0, len(self._ids), grid)
        run_s = plan.seg_cum_s[seg] + (grid - plan.seg_ts[seg]) * plan.seg_weight[seg] / 1000.0
        worked_s = np.diff(run_s, axis=1)
        jitter = np.maximum(0.0, 1.0 + JITTER * normal(self._jitter_keys, minute))
        parts = worked_s / self._cycle[:, None] * jitter
        total = np.cumsum(np.concatenate([self._carry[:, None], parts], axis=1), axis=1)
        self._carry = total[:, -1].copy()
        made = np.diff(np.floor(total), axis=1).astype(np.int64)
        scrap = np.minimum(made, self._scrap_parts(made, ts, minute, active))
        rows, cols = np.nonzero(worked_s > 0.0)
        return CountBatch(
            self._ids[rows], ts[cols], made[rows, cols] - scrap[rows, cols], scrap[rows, cols]
        )

    def _scrap_parts(
        self, made: I64, ts: I64, minute: I64, active: list[tuple[int, InjectedFailure]]
    ) -> I64:
        ratio = np.broadcast_to(self._scrap[:, None], made.shape).copy()
        for row, f in active:
            ratio[row] *= 1.0 + SCRAP_NEAR_FAILURE * ramp(ts, f.precursor_start_ms, f.failure_ms)
        return poisson_quantile(uniform(self._scrap_keys, minute), made * ratio)
