"""Simulator-like telemetry for the benchmarks: many signals at 1 Hz, values with 1-2 decimals.

Each signal is a slow wave plus a random walk around its own level, rounded to the resolution a
device reports with (one or two decimals), so it compresses like real gauges, not like noise.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from kiln.domain.batches import PointBatch


def signal_values(series: NDArray[np.int64], start_s: int, seconds: int) -> NDArray[np.float64]:
    """Values of the given series for seconds [start_s, start_s + seconds): shape (len, seconds).

    Deterministic per (series, second), so any chunk of a day can be made on its own.
    """
    out = np.empty((len(series), seconds), dtype=np.float64)
    t = np.arange(start_s, start_s + seconds, dtype=np.float64)
    for row, s in enumerate(series):
        rng = np.random.default_rng([int(s), int(start_s)])
        level = 20.0 + (int(s) * 7919 % 1000)
        period = 600.0 + (int(s) * 104729 % 3000)
        wave = 0.05 * level * np.sin(2 * np.pi * t / period + s)
        walk = np.cumsum(rng.normal(0.0, 0.002 * level, seconds))
        decimals = 1 if s % 2 else 2
        out[row] = np.round(level + wave + walk, decimals)
    return out


def sorted_batch(series: NDArray[np.int64], start_ms: int, seconds: int) -> PointBatch:
    """Points of the series at 1 Hz from start_ms for seconds, ordered by series then time."""
    start_s = start_ms // 1000
    values = signal_values(series, start_s, seconds)
    ts = start_ms + np.arange(seconds, dtype=np.int64) * 1000
    return PointBatch(
        np.repeat(series.astype(np.int64), seconds),
        np.tile(ts, len(series)),
        values.reshape(-1),
    )
