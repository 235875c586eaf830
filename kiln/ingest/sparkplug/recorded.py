"""What the host has recorded per series and equipment: so a rebirth's restated values are not
stored twice, and a state given after an NDEATH counts again from then on."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kiln.domain.batches import PointBatch, StateBatch


class Recorded:
    """What the host last recorded per series and equipment, so that a BIRTH restating values
    already stored (a rebirth repeats them with their old timestamps) does not store them
    twice, and so that the state a BIRTH gives after an NDEATH counts again from then on."""

    def __init__(self) -> None:
        self.point_ts = np.full(1024, -1, dtype=np.int64)  # by series id
        self.state_ts: dict[int, int] = {}  # equipment id -> last state change recorded
        self.stale: set[int] = set()  # equipment recorded as unknown (offline) last

    def points(self, points: PointBatch, *, birth: bool) -> PointBatch:
        """Note the points; of a BIRTH's, keep only those newer than what was recorded."""
        if not len(points):
            return points
        top = int(points.series.max())
        if top >= len(self.point_ts):
            grown = np.full(max(top + 1, 2 * len(self.point_ts)), -1, dtype=np.int64)
            grown[: len(self.point_ts)] = self.point_ts
            self.point_ts = grown
        if birth:
            fresh = points.ts_ms > self.point_ts[points.series]
            if not fresh.all():
                points = PointBatch(points.series[fresh], points.ts_ms[fresh], points.value[fresh])
        last = self.point_ts[points.series]
        self.point_ts[points.series] = np.maximum(last, points.ts_ms)
        return points

    def states(self, states: StateBatch, *, birth: bool, now_ms: int) -> StateBatch:
        """Note the state changes; a BIRTH's restatement is dropped, unless the equipment was
        offline since, when the state holds again from now."""
        rows = []
        for eq, ts, code, reason in zip(
            states.equipment.tolist(),
            states.ts_ms.tolist(),
            states.state.tolist(),
            states.reasons(),
            strict=True,
        ):
            last = self.state_ts.get(eq, -1)
            if birth and ts <= last:
                if eq not in self.stale:
                    continue
                ts = max(now_ms, last + 1)
            self.state_ts[eq] = max(last, ts)
            self.stale.discard(eq)
            rows.append((eq, ts, code, reason))
        return _state_batch(rows) if birth else states

    def offline(self, equipment: Sequence[int], now_ms: int) -> None:
        """Note the equipment recorded as unknown (offline) at now_ms."""
        for eq in equipment:
            self.state_ts[eq] = max(self.state_ts.get(eq, -1), now_ms)
            self.stale.add(eq)


def _state_batch(rows: list[tuple[int, int, int, str | None]]) -> StateBatch:
    reasons = [r[3] for r in rows]
    return StateBatch.of(
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        reasons if any(x is not None for x in reasons) else None,
    )
