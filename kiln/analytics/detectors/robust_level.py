"""Robust EWMA z-score: how far a point is from its series' slowly tracked level, in sigmas.

Per series: a level (EWMA with a time constant, so irregular sampling is fine), a scale (EWMA of
the absolute residual, as a sigma), and a count. A residual is clipped to `clip_z` sigmas before
it is learned, so a fault pulls the baseline only slowly while it lasts, and a level shift after
a product change is adopted within hours instead of at once. Until a series has `warmup`
points it learns with running means (1/n), which converge quickly, and scores 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kiln.analytics.detectors.base import (
    F64,
    I64,
    SeriesRows,
    check_columns,
    grow,
    run_in_order,
    z_to_score,
)

SIGMA_PER_MAD = 1.2533  # sigma / mean absolute deviation, for a normal distribution


@dataclass(frozen=True, slots=True)
class Assessment:
    """Per point: the score, the deviation in sigmas, and the baseline it was measured against."""

    score: F64
    z: F64  # signed: above (+) or below (-) normal
    level: F64  # the normal level before the point was learned
    sigma: F64  # the normal spread before the point was learned


class RobustLevel:
    """Scores each point by its clipped-EWMA z-score against its own series' history."""

    def __init__(
        self,
        *,
        level_tau_s: float = 6 * 3600.0,
        scale_tau_s: float = 24 * 3600.0,
        clip_z: float = 3.0,
        warmup: int = 60,
        min_sigma_frac: float = 1e-3,
    ) -> None:
        if level_tau_s <= 0 or scale_tau_s <= 0 or clip_z <= 0 or warmup < 1:
            raise ValueError("time constants, clip_z and warmup must be positive")
        self.level_tau_ms = level_tau_s * 1000.0
        self.scale_tau_ms = scale_tau_s * 1000.0
        self.clip_z = clip_z
        self.warmup = warmup
        # A constant series has no spread: measure against a small fraction of its level.
        self.min_sigma_frac = min_sigma_frac
        self._rows = SeriesRows()
        self._n = np.zeros(0, dtype=np.int64)
        self._last_ts = np.zeros(0, dtype=np.int64)
        self._level = np.zeros(0, dtype=np.float64)
        self._mad = np.zeros(0, dtype=np.float64)
        self._floor = np.zeros(0, dtype=np.float64)

    def score_many(self, series: I64, ts_ms: I64, value: F64) -> F64:
        """Score each point in [0, 1] against its series' history, then learn it."""
        return self.assess_many(series, ts_ms, value).score

    def assess_many(
        self, series: I64, ts_ms: I64, value: F64, floor: F64 | None = None
    ) -> Assessment:
        """Score, z, level and sigma for each point, learning as it goes (see `Detector`).

        floor is a least sigma per point (its series' meaningful change), kept per series.
        """
        check_columns(series, ts_ms, value)
        rows, count = self._rows.rows_of(series)
        self._floor = grow(self._floor, count, 0.0)
        if floor is not None:
            self._floor[rows] = floor
        self._n = grow(self._n, count, 0)
        self._last_ts = grow(self._last_ts, count, 0)
        self._level = grow(self._level, count, 0.0)
        self._mad = grow(self._mad, count, 0.0)
        score, z, level, sigma = run_in_order(rows, ts_ms, value, self._step, 4)
        return Assessment(score, z, level, sigma)

    def sigma_of(self, rows: I64) -> F64:
        """The current sigma of state rows (the floor applied)."""
        floor = self.min_sigma_frac * np.maximum(np.abs(self._level[rows]), 1.0)
        floor = np.maximum(floor, self._floor[rows])
        return np.maximum(SIGMA_PER_MAD * self._mad[rows], floor)

    def _step(self, rows: I64, ts: I64, x: F64) -> tuple[F64, F64, F64, F64]:
        n = self._n[rows]
        sigma = self.sigma_of(rows)
        level = np.where(n == 0, x, self._level[rows])
        r = x - level
        z = r / sigma
        warm = n >= self.warmup
        bad = np.isnan(x)
        score = np.where(warm & ~bad, z_to_score(z), 0.0)
        dt = np.maximum(ts - self._last_ts[rows], 0).astype(np.float64)
        # Running means while warming up; time-constant EWMAs after.
        inv_n = 1.0 / (n + 1.0)
        a_level = np.where(warm, -np.expm1(-dt / self.level_tau_ms), inv_n)
        a_scale = np.where(warm, -np.expm1(-dt / self.scale_tau_ms), inv_n)
        lim = np.where(warm, self.clip_z * sigma, np.inf)
        rc = np.where(bad, 0.0, np.clip(r, -lim, lim))
        a_level = np.where(bad, 0.0, a_level)
        a_scale = np.where(bad, 0.0, a_scale)
        self._level[rows] = np.where(bad, self._level[rows], level + a_level * rc)
        self._mad[rows] += a_scale * (np.abs(rc) - self._mad[rows])
        self._n[rows] = n + ~bad
        self._last_ts[rows] = np.where(bad, self._last_ts[rows], ts)
        return score, np.where(bad, np.nan, z), level, sigma
