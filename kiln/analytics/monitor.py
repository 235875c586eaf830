"""The anomaly monitor: detector scores per series turned into alarm conditions that explain.

Points are averaged per series per minute (`BucketMeans`), each minute is scored by the
detector, and a per-series state machine with hysteresis decides: a series raises once its
score has stayed at or above `raise_score` for `raise_after_ms` (a dip between the two
thresholds does not reset the count), and clears once it has stayed below `clear_score` for
`clear_after_ms`. A series raises nothing during its first `warmup_ms`, while it is learned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

from kiln.analytics.detectors.base import F64, I64, SeriesRows, grow, run_in_order, score_to_z
from kiln.analytics.detectors.envelope import LearnedEnvelope
from kiln.analytics.detectors.resample import BucketMeans
from kiln.analytics.detectors.robust_level import Assessment
from kiln.domain.alarms import Condition, Severity
from kiln.domain.batches import PointBatch
from kiln.domain.catalog import AssetCatalog

NONE = np.iinfo(np.int64).min
SEVERITY_Z = ((20.0, Severity.CRITICAL), (10.0, Severity.HIGH), (6.0, Severity.MEDIUM))


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """Thresholds and times of the hysteresis (scores as `z_to_score`: 0.6 is 4.5 sigma)."""

    raise_score: float = 0.6
    clear_score: float = 0.5
    raise_after_ms: int = 60 * 60_000
    clear_after_ms: int = 10 * 60_000
    warmup_ms: int = 24 * 3_600_000
    bucket_ms: int = 60_000

    def __post_init__(self) -> None:
        if not 0.0 < self.clear_score <= self.raise_score < 1.0:
            raise ValueError("need 0 < clear_score <= raise_score < 1")
        if min(self.raise_after_ms, self.clear_after_ms, self.warmup_ms) < 0:
            raise ValueError("times must not be negative")


def severity_of(z: float) -> Severity:
    """How urgent a deviation of z sigmas is.

    >>> severity_of(-12.0)
    <Severity.HIGH: 3>
    """
    for limit, sev in SEVERITY_Z:
        if abs(z) >= limit:
            return sev
    return Severity.LOW


class ExplainingDetector(Protocol):
    """A detector that also says what it measured each point against."""

    def assess_many(self, series: I64, ts_ms: I64, value: F64) -> Assessment:
        """Score, z, baseline and sigma per point, learning as it goes."""
        ...


class AnomalyMonitor:
    """Watches every series of a batch stream and reports when one becomes abnormal or normal."""

    def __init__(
        self,
        catalog: AssetCatalog,
        *,
        detector: ExplainingDetector | None = None,
        settings: MonitorSettings | None = None,
    ) -> None:
        self.catalog = catalog
        self.settings = settings or MonitorSettings()
        self.detector: ExplainingDetector = detector or LearnedEnvelope()
        self._buckets = BucketMeans(self.settings.bucket_ms)
        self._rows = SeriesRows()
        self._first = np.zeros(0, dtype=np.int64)
        self._above = np.zeros(0, dtype=np.int64)  # since when at or above raise_score
        self._below = np.zeros(0, dtype=np.int64)  # since when below clear_score, while active
        self._active = np.zeros(0, dtype=bool)
        self._events: list[tuple[I64, I64, NDArray[np.bool_]]] = []  # (index, since, raised)
        self._score = np.zeros(0, dtype=np.float64)

    def observe(self, batch: PointBatch) -> list[Condition]:
        """Learn a batch and return the conditions it raised or cleared, in time order."""
        series, ts, mean = self._buckets.add(batch.series, batch.ts_ms, batch.value)
        if not len(series):
            return []
        a = self.detector.assess_many(series, ts, mean)
        rows, count = self._rows.rows_of(series)
        for name, fill in (("_first", NONE), ("_above", NONE), ("_below", NONE)):
            setattr(self, name, grow(getattr(self, name), count, fill))
        self._active = grow(self._active, count, False)
        self._events, self._score = [], a.score
        # The step gets each point's index as its value, to report events by index.
        run_in_order(rows, ts, np.arange(len(rows), dtype=np.float64), self._step, 1)
        conditions = []
        for idx, since, raised in self._events:
            for i, s, up in zip(idx.tolist(), since.tolist(), raised.tolist(), strict=True):
                conditions.append(
                    self._condition(
                        int(series[i]), int(ts[i]), s, bool(up), float(mean[i]),
                        float(a.z[i]), float(a.level[i]), float(a.sigma[i]), float(a.score[i]),
                    )
                )  # fmt: skip
        conditions.sort(key=lambda c: (c.ts_ms, c.key))
        return conditions

    def active_series(self) -> int:
        """How many series are in an active anomaly now."""
        return int(self._active.sum())

    def _step(self, rows: I64, ts: I64, index: F64) -> tuple[F64]:
        st = self.settings
        idx = index.astype(np.int64)
        score = self._score[idx]
        first = np.where(self._first[rows] == NONE, ts, self._first[rows])
        self._first[rows] = first
        high = (score >= st.raise_score) & (ts - first >= st.warmup_ms)
        low = score < st.clear_score
        above = np.where(high & (self._above[rows] == NONE), ts, self._above[rows])
        above = np.where(low, NONE, above)
        below = np.where(low & (self._below[rows] == NONE), ts, self._below[rows])
        below = np.where(low, below, NONE)
        active = self._active[rows]
        up = ~active & (above != NONE) & (ts - above >= st.raise_after_ms)
        down = active & (below != NONE) & (ts - below >= st.clear_after_ms)
        self._active[rows] = (active | up) & ~down
        self._above[rows] = np.where(down, NONE, above)
        self._below[rows] = np.where(up, NONE, below)
        hit = np.flatnonzero(up | down)
        if len(hit):
            self._events.append((idx[hit], np.where(up, above, below)[hit], up[hit]))
        return (index,)

    def _condition(
        self,
        series: int,
        ts_ms: int,
        since_ms: int,
        raised: bool,
        value: float,
        z: float,
        level: float,
        sigma: float,
        score: float,
    ) -> Condition:
        sig = self.catalog.signals.get(series)
        eq = self.catalog.equipment.get(sig.equipment_id) if sig else None
        name = sig.name if sig else f"series {series}"
        where = f" on {eq.slug}" if eq else ""
        unit = f" {sig.unit}" if sig and sig.unit else ""
        seen = f"({value:.4g}{unit} vs {level:.4g} ± {sigma:.2g})"
        if raised:
            side = "above" if z >= 0 else "below"
            when = self._local(eq.station_id if eq else None, since_ms)
            text = f"{name}{where} is {abs(z):.1f} σ {side} normal {seen} since {when}"
        else:
            text = f"{name}{where} is back to normal {seen}"
        return Condition(
            key=f"anomaly:series:{series}",
            enterprise_id=sig.enterprise_id if sig else 0,
            equipment_id=sig.equipment_id if sig else 0,
            active=raised,
            ts_ms=ts_ms,
            severity=severity_of(max(abs(z), score_to_z(min(score, 0.999)))),
            kind="anomaly",
            message=text,
            series=series,
            value=value,
            score=score,
            since_ms=since_ms,
        )

    def _local(self, station_id: int | None, ts_ms: int) -> str:
        """ts_ms as HH:MM on the wall clock of the equipment's site (UTC if unknown)."""
        zone_name = "UTC"
        station = self.catalog.stations.get(station_id) if station_id is not None else None
        line = self.catalog.lines.get(station.line_id) if station else None
        site = self.catalog.sites.get(line.site_id) if line else None
        if site is not None:
            zone_name = site.timezone
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(zone).strftime("%H:%M")
