"""Helpers that read a simulation's output back: concatenated runs, state at a time."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from kiln.domain.batches import Bundle, PointBatch, StateBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.simulator.engine import Simulator

from .catalog_builder import catalog_of


def simulate(
    doc: dict[str, Any],
    start_ms: int,
    cuts_ms: list[int],
    *,
    seed: int = 1,
    rate: float = 0.5,
    catalog: AssetCatalog | None = None,
) -> tuple[Simulator, Bundle]:
    """Advance a new simulator through start + each cut, and join what it returned."""
    sim = Simulator(
        doc, catalog or catalog_of(doc), seed=seed, start_ms=start_ms, failure_rate_per_week=rate
    )
    return sim, Bundle.concat([sim.advance(start_ms + c) for c in cuts_ms])


def state_at(states: StateBatch, equipment: NDArray[np.int64], ts_ms: NDArray[np.int64]) -> Any:
    """The state each equipment was in at each time (UNKNOWN before its first state)."""
    order = np.lexsort((states.ts_ms, states.equipment))
    eq, ts, st = states.equipment[order], states.ts_ms[order], states.state[order]
    span = np.int64(1) << np.int64(42)
    key = eq * span + ts
    i = np.searchsorted(key, equipment * span + ts_ms, side="right") - 1
    found = (i >= 0) & (eq[np.maximum(i, 0)] == equipment)
    return np.where(found, st[np.maximum(i, 0)], int(EquipmentState.UNKNOWN))


def assert_same(a: Bundle, b: Bundle) -> None:
    """Two bundles hold the same rows, whatever their order."""
    pa, pb = a.points.sorted(), b.points.sorted()
    _equal_points(pa, pb)
    oa = np.lexsort((a.states.equipment, a.states.ts_ms))
    ob = np.lexsort((b.states.equipment, b.states.ts_ms))
    for col in ("equipment", "ts_ms", "state"):
        np.testing.assert_array_equal(getattr(a.states, col)[oa], getattr(b.states, col)[ob])
    assert [a.states.reasons()[i] for i in oa] == [b.states.reasons()[i] for i in ob]
    ca = np.lexsort((a.counts.ts_ms, a.counts.equipment))
    cb = np.lexsort((b.counts.ts_ms, b.counts.equipment))
    for col in ("equipment", "ts_ms", "good", "scrap"):
        np.testing.assert_array_equal(getattr(a.counts, col)[ca], getattr(b.counts, col)[cb])


def _equal_points(a: PointBatch, b: PointBatch) -> None:
    np.testing.assert_array_equal(a.series, b.series)
    np.testing.assert_array_equal(a.ts_ms, b.ts_ms)
    np.testing.assert_array_equal(a.value, b.value)
