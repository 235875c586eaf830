"""The last value of every series, in memory: two NumPy arrays indexed by series id.

Reading them costs microseconds; the store keeps them current after each commit and makes them
durable cheaply (a per-write log folded into a table at compaction; see DuckDBStore).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from kiln.domain.batches import PointBatch

NEVER = np.iinfo(np.int64).min


class LastValues:
    """Latest (ts_ms, value) per series id; thread-safe."""

    def __init__(self) -> None:
        self._ts = np.full(0, NEVER, np.int64)
        self._value = np.zeros(0, np.float64)
        self._lock = threading.Lock()

    def update(self, latest: PointBatch) -> None:
        """Fold in the latest point of some series (one per series), keeping the newer."""
        if not len(latest):
            return
        with self._lock:
            top = int(latest.series.max()) + 1
            if top > len(self._ts):
                grow = max(top, 2 * len(self._ts))
                self._ts = np.concatenate([self._ts, np.full(grow - len(self._ts), NEVER)])
                self._value = np.concatenate([self._value, np.zeros(grow - len(self._value))])
            newer = latest.ts_ms >= self._ts[latest.series]
            s = latest.series[newer]
            self._ts[s] = latest.ts_ms[newer]
            self._value[s] = latest.value[newer]

    def table(self, series: Sequence[int] | None = None) -> pa.Table:
        """(series, ts_ms, value) of the asked series that have a value, ordered by series.

        >>> lv = LastValues()
        >>> lv.update(PointBatch.of([3, 1], [20, 10], [0.3, 0.1]))
        >>> lv.table([3, 2]).to_pydict()
        {'series': [3], 'ts_ms': [20], 'value': [0.3]}
        """
        with self._lock:
            if series is None:
                ids = np.flatnonzero(self._ts != NEVER)
            else:
                ids = np.unique(np.asarray(series, np.int64))
                ids = ids[(ids >= 0) & (ids < len(self._ts))]
                ids = ids[self._ts[ids] != NEVER]
            ts, value = self._ts[ids], self._value[ids]
        return pa.table(
            {
                "series": pa.array(ids.astype(np.int32)),
                "ts_ms": pa.array(ts),
                "value": pa.array(value),
            }
        )
