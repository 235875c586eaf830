"""KPI rules need KPIs: once a minute, the periods that ended since the last look (hours,
shifts or days, in each site's time zone and shift calendar) are computed for the equipment
KPI rules watch, and each equipment's value goes to the rule engine."""

from __future__ import annotations

import logging
from collections.abc import Callable

from kiln.domain.alarms import Condition
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService
from kiln.kpi_service.periods import Window
from kiln.stream.rules import RuleEngine

log = logging.getLogger(__name__)

EVERY_MS = 60_000
LOOKBACK_MS = 2 * 86_400_000  # after a long pause, periods older than this are not judged
HOUR_MS = 3_600_000


class KpiFeed:
    """Computes the KPIs that KPI rules watch, for each period as it ends."""

    def __init__(self, kpis: KpiService, catalog: Callable[[], object], now_ms: int) -> None:
        self.kpis, self._catalog = kpis, catalog
        self._done: dict[tuple[str, str], int] = {}  # (kpi, over) -> end of the last judged
        self._start_ms = now_ms  # periods that ended before the service started are history
        self._next_ms = now_ms
        self._unknown: set[str] = set()

    def tick(self, engine: RuleEngine, now_ms: int) -> list[Condition]:
        """Conditions from the periods that ended since the last tick (once a minute)."""
        if now_ms < self._next_ms:
            return []
        self._next_ms = now_ms + EVERY_MS
        out: list[Condition] = []
        for (kpi, over), ids in engine.kpi_watch().items():
            done = max(self._done.get((kpi, over), self._start_ms), now_ms - LOOKBACK_MS)
            try:
                out += self._judge(engine, kpi, over, ids, done, now_ms)
            except Exception:
                log.exception("KPI %s per %s for the KPI rules could not be computed", kpi, over)
        return out

    def _judge(
        self, engine: RuleEngine, kpi: str, over: str, ids: list[int], done: int, now_ms: int
    ) -> list[Condition]:
        if over == "hour":
            end = now_ms - now_ms % HOUR_MS
            if end <= done:
                return []
            req = KpiRequest(Level.EQUIPMENT, Window.CUSTOM, end - HOUR_MS, end, energy=False)
        else:
            window = Window.SHIFT if over == "shift" else Window.DAY
            req = KpiRequest(Level.EQUIPMENT, window, done, now_ms, energy=False)
        table = self.kpis.table(self._catalog(), ids, req, now_ms)  # type: ignore[arg-type]
        if table.num_rows == 0:
            return []
        if kpi not in table.column_names:
            if kpi not in self._unknown:
                self._unknown.add(kpi)
                log.warning("KPI rules name %r, which is not a KPI Kiln computes", kpi)
            return []
        out: list[Condition] = []
        last = done
        for row in table.select(["key", "window_start_ms", "window_end_ms", kpi]).to_pylist():
            start, end = int(row["window_start_ms"]), int(row["window_end_ms"])
            if end >= now_ms or end <= done:
                continue  # still running (its end is clipped to now), or judged before
            value = row[kpi]
            if value is not None:
                out += engine.observe_kpi(int(row["key"]), kpi, float(value), start, end, over=over)
            last = max(last, end)
        self._done[(kpi, over)] = last
        return out
