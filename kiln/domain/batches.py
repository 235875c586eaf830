"""Columnar batches: how telemetry, state changes and counts travel through Kiln."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


def _i64(values: object) -> I64:
    return np.ascontiguousarray(values, dtype=np.int64)


def _f64(values: object) -> F64:
    return np.ascontiguousarray(values, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class PointBatch:
    """Telemetry points as three equal-length columns, in arrival order."""

    series: I64  # ids from the series catalogue, resolved in bulk
    ts_ms: I64  # UTC epoch milliseconds
    value: F64

    def __post_init__(self) -> None:
        if not (len(self.series) == len(self.ts_ms) == len(self.value)):
            raise ValueError("PointBatch columns must have equal lengths")

    @classmethod
    def of(cls, series: object, ts_ms: object, value: object) -> PointBatch:
        """Build a batch from anything NumPy can turn into the three columns."""
        return cls(_i64(series), _i64(ts_ms), _f64(value))

    @classmethod
    def empty(cls) -> PointBatch:
        """A batch with no points."""
        return cls.of([], [], [])

    @classmethod
    def concat(cls, batches: Sequence[PointBatch]) -> PointBatch:
        """Join batches end to end, keeping their order.

        >>> b = PointBatch.of([1], [10], [1.5])
        >>> len(PointBatch.concat([b, b]))
        2
        """
        if not batches:
            return cls.empty()
        if len(batches) == 1:
            return batches[0]
        return cls(
            np.concatenate([b.series for b in batches]),
            np.concatenate([b.ts_ms for b in batches]),
            np.concatenate([b.value for b in batches]),
        )

    def sorted(self) -> PointBatch:
        """The same points ordered by series, then time (the stored layout)."""
        order = np.lexsort((self.ts_ms, self.series))
        return PointBatch(self.series[order], self.ts_ms[order], self.value[order])

    def is_ordered(self) -> bool:
        """Whether the points are ordered by series, then time (the stored layout).

        >>> PointBatch.of([1, 1, 2], [5, 9, 1], [0, 0, 0]).is_ordered()
        True
        >>> PointBatch.of([1, 1, 2], [9, 5, 1], [0, 0, 0]).is_ordered()
        False
        """
        s, t = self.series, self.ts_ms
        if len(s) < 2:
            return True
        ds = np.diff(s)
        return bool(np.all((ds > 0) | ((ds == 0) & (np.diff(t) >= 0))))

    def latest(self, *, ordered: bool | None = None) -> PointBatch:
        """The last point (greatest ts_ms) of each series, ordered by series; `ordered` says
        the batch is known to be ordered (or not) so the check is not made again.

        >>> b = PointBatch.of([2, 1, 2, 1], [5, 9, 7, 3], [0.5, 0.9, 0.7, 0.3]).latest()
        >>> b.series.tolist(), b.ts_ms.tolist(), b.value.tolist()
        ([1, 2], [9, 7], [0.9, 0.7])
        """
        s, t, v = self.series, self.ts_ms, self.value
        # Batches from the simulator and most gateways come sorted: skip the sort for them.
        if not (self.is_ordered() if ordered is None else ordered):
            order = np.lexsort((t, s))
            s, t, v = s[order], t[order], v[order]
        last = np.flatnonzero(np.r_[s[1:] != s[:-1], True]) if len(s) else np.empty(0, np.int64)
        return PointBatch(s[last], t[last], v[last])

    def __len__(self) -> int:
        return len(self.series)


@dataclass(frozen=True, slots=True)
class StateBatch:
    """State changes: from ts_ms on, the equipment is in state (an EquipmentState code)."""

    equipment: I64
    ts_ms: I64
    state: NDArray[np.int8]
    reason: list[str | None] = field(default_factory=list)  # one per row, or empty for none

    def __post_init__(self) -> None:
        n = len(self.equipment)
        if not (len(self.ts_ms) == len(self.state) == n) or (self.reason and len(self.reason) != n):
            raise ValueError("StateBatch columns must have equal lengths")

    @classmethod
    def of(
        cls, equipment: object, ts_ms: object, state: object, reason: list[str | None] | None = None
    ) -> StateBatch:
        """Build a batch from anything NumPy can turn into the columns."""
        return cls(_i64(equipment), _i64(ts_ms), np.asarray(state, dtype=np.int8), reason or [])

    @classmethod
    def empty(cls) -> StateBatch:
        """A batch with no state changes."""
        return cls.of([], [], [])

    @classmethod
    def concat(cls, batches: Sequence[StateBatch]) -> StateBatch:
        """Join batches end to end."""
        if not batches:
            return cls.empty()
        reasons: list[str | None] = []
        if any(b.reason for b in batches):
            for b in batches:
                reasons.extend(b.reason or [None] * len(b))
        return cls(
            np.concatenate([b.equipment for b in batches]),
            np.concatenate([b.ts_ms for b in batches]),
            np.concatenate([b.state for b in batches]),
            reasons,
        )

    def reasons(self) -> list[str | None]:
        """One reason per row (None where none was given)."""
        return self.reason if self.reason else [None] * len(self)

    def __len__(self) -> int:
        return len(self.equipment)


@dataclass(frozen=True, slots=True)
class CountBatch:
    """Production counts: parts made since the equipment's previous report, at ts_ms.

    good + scrap + rework are all the parts produced (ISO 22400 PQ = GQ + SQ + RQ); rework is
    zero where a source does not report it.
    """

    equipment: I64
    ts_ms: I64
    good: I64
    scrap: I64
    rework: I64 = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        n = len(self.equipment)
        if len(self.rework) != n:
            if len(self.rework):
                raise ValueError("CountBatch columns must have equal lengths")
            object.__setattr__(self, "rework", np.zeros(n, np.int64))
        if not (len(self.ts_ms) == len(self.good) == len(self.scrap) == n):
            raise ValueError("CountBatch columns must have equal lengths")

    @classmethod
    def of(
        cls,
        equipment: object,
        ts_ms: object,
        good: object,
        scrap: object,
        rework: object | None = None,
    ) -> CountBatch:
        """Build a batch from anything NumPy can turn into the columns (rework: zeros)."""
        eq = _i64(equipment)
        rw = np.zeros(len(eq), np.int64) if rework is None else _i64(rework)
        return cls(eq, _i64(ts_ms), _i64(good), _i64(scrap), rw)

    @classmethod
    def empty(cls) -> CountBatch:
        """A batch with no counts."""
        return cls.of([], [], [], [])

    @classmethod
    def concat(cls, batches: Sequence[CountBatch]) -> CountBatch:
        """Join batches end to end."""
        if not batches:
            return cls.empty()
        return cls(
            np.concatenate([b.equipment for b in batches]),
            np.concatenate([b.ts_ms for b in batches]),
            np.concatenate([b.good for b in batches]),
            np.concatenate([b.scrap for b in batches]),
            np.concatenate([b.rework for b in batches]),
        )

    def __len__(self) -> int:
        return len(self.equipment)


@dataclass(frozen=True, slots=True)
class Bundle:
    """What one ingest unit carries: points, state changes and counts, stored all or nothing."""

    points: PointBatch = field(default_factory=PointBatch.empty)
    states: StateBatch = field(default_factory=StateBatch.empty)
    counts: CountBatch = field(default_factory=CountBatch.empty)

    @classmethod
    def concat(cls, bundles: Sequence[Bundle]) -> Bundle:
        """Join bundles part by part."""
        if len(bundles) == 1:
            return bundles[0]
        return cls(
            PointBatch.concat([b.points for b in bundles]),
            StateBatch.concat([b.states for b in bundles]),
            CountBatch.concat([b.counts for b in bundles]),
        )

    def __len__(self) -> int:
        return len(self.points) + len(self.states) + len(self.counts)
