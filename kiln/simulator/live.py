"""SimulatorRunner: registers the simulated city, backfills its history and streams it live.

In the foundation the simulator feeds the store in-process; the protocol speakers come with the
connectivity work. How far the city has been simulated is kept in the store's meta table, so a
restart continues where the last run stopped (filling the gap, up to the backfill window).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kiln.domain.batches import Bundle
from kiln.simulator.engine import Simulator
from kiln.simulator.world import build_city

if TYPE_CHECKING:
    from kiln.config import SimulatorSettings
    from kiln.store.base import Store
    from kiln.store.writer import StoreWriter

log = logging.getLogger(__name__)

UNTIL_KEY = "simulator.until_ms"
CHUNK_MS = 3_600_000  # backfill an hour at a time: big sorted batches, bounded memory


class SimulatorRunner:
    """Drives one Simulator against the store, in backfill and live steps."""

    def __init__(self, settings: SimulatorSettings, store: Store, writer: StoreWriter) -> None:
        self.settings = settings
        self.store = store
        self.writer = writer
        self.doc = build_city(seed=settings.seed, enterprises=settings.enterprises)
        self.catalog = store.import_assets(self.doc, where="simulator")
        self.sim: Simulator | None = None
        self.until_ms = 0
        self._origin_real_ms = 0
        self._origin_sim_ms = 0

    def catch_up(self, now_ms: int) -> int:
        """Backfill from where the last run stopped (or the backfill window) up to now."""
        window_ms = int(self.settings.backfill_hours * 3_600_000)
        stored = self.store.get_meta(UNTIL_KEY)
        start = max(int(stored) if stored else 0, now_ms - window_ms)
        start -= start % 1000
        self.sim = Simulator(self.doc, self.catalog, seed=self.settings.seed, start_ms=start)
        self.until_ms = start
        rows = self.backfill(now_ms)
        self._origin_real_ms, self._origin_sim_ms = now_ms, self.until_ms
        return rows

    def backfill(self, to_ms: int) -> int:
        """Simulate [until, to_ms) an hour at a time, writing each hour as one sorted batch."""
        rows = 0
        while self.until_ms < to_ms:
            end = min(self.until_ms + CHUNK_MS, to_ms)
            bundle = self._advance(end)
            rows += self.writer.submit_sync(
                Bundle(bundle.points.sorted(), bundle.states, bundle.counts)
            )
            self.store.set_meta(UNTIL_KEY, str(self.until_ms))
        return rows

    def step(self, now_ms: int) -> Bundle:
        """The next live step: everything simulated up to the (scaled) present."""
        target = self._origin_sim_ms + int((now_ms - self._origin_real_ms) * self.settings.speed)
        if target <= self.until_ms:
            return Bundle()
        return self._advance(target)

    def committed(self, store: Store) -> None:
        """Record how far the simulation is stored, after a live step's commit."""
        store.set_meta(UNTIL_KEY, str(self.until_ms))

    def _advance(self, to_ms: int) -> Bundle:
        assert self.sim is not None, "catch_up() first"
        bundle = self.sim.advance(to_ms)
        self.until_ms = to_ms
        return bundle
