"""What the advisor is fed: measured figures per station and shift, and the line around them.

Plain data, built by the caller from the store (one `Sample` per station and shift window). A
line's stations are in flow order and hold one sample per window each, aligned: sample i of
every station is the same shift, so the bottleneck can be located window by window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from kiln.errors import BadInput


@dataclass(frozen=True, slots=True)
class Sample:
    """One window (a shift) of one station: ISO 22400 time elements in seconds, counts in units.

    ``down_s`` is availability loss (faults, setup, unplanned stops); ``starved_s`` and
    ``blocked_s`` are idle time caused by the neighbours; ``produced`` counts every unit made
    (good + scrap + rework).

    >>> s = Sample(planned_busy_s=28_800, run_s=24_000, down_s=1_800, starved_s=600,
    ...            blocked_s=2_400, produced=600, scrap=12, rework=6)
    >>> s.cycle_s, s.good, round(s.active_share, 4)
    (40.0, 582, 0.8958)
    """

    planned_busy_s: float
    run_s: float
    down_s: float
    starved_s: float
    blocked_s: float
    produced: int
    scrap: int = 0
    rework: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            x = getattr(self, f.name)
            if not math.isfinite(x) or x < 0:
                raise BadInput(f"{f.name} is {x}; it must be a finite number >= 0", where="sample")
        if self.scrap + self.rework > self.produced:
            raise BadInput(
                f"scrap {self.scrap} + rework {self.rework} exceed produced {self.produced}",
                where="sample",
            )
        used = self.run_s + self.down_s + self.starved_s + self.blocked_s
        if used > self.planned_busy_s * (1 + 1e-9):
            raise BadInput(
                f"run + down + starved + blocked = {used} s exceeds planned busy "
                f"{self.planned_busy_s} s",
                where="sample",
            )

    @property
    def cycle_s(self) -> float | None:
        """Mean cycle: run time per unit produced; None when nothing was produced."""
        return self.run_s / self.produced if self.produced else None

    @property
    def good(self) -> int:
        """Good units: produced less scrap and rework (domain.md 1.1: PQ = GQ + SQ + RQ)."""
        return self.produced - self.scrap - self.rework

    @property
    def active_share(self) -> float:
        """(run + down) / planned busy: the share of the window the station was itself busy."""
        if self.planned_busy_s <= 0:
            return 0.0
        return (self.run_s + self.down_s) / self.planned_busy_s


@dataclass(frozen=True, slots=True)
class StationMeasure:
    """A station (work unit) with its measured samples; operators > 0 means manual work."""

    station_id: int
    slug: str
    name: str
    position: int
    operators: int  # per shift
    automated: bool  # holds a robot already
    ideal_cycle_s: float | None
    samples: tuple[Sample, ...]

    def __post_init__(self) -> None:
        where = f"station {self.slug}"
        if self.operators < 0:
            raise BadInput(f"operators is {self.operators}; it must be >= 0", where=where)
        if self.ideal_cycle_s is not None and not (
            math.isfinite(self.ideal_cycle_s) and self.ideal_cycle_s > 0
        ):
            raise BadInput(f"ideal_cycle_s is {self.ideal_cycle_s}; it must be > 0", where=where)

    @property
    def manual(self) -> bool:
        """True for a station worked by operators and holding no robot yet."""
        return self.operators > 0 and not self.automated

    def total(self, name: str) -> float:
        """The sum of one sample field (e.g. ``"run_s"``) over every sample."""
        return float(sum(getattr(s, name) for s in self.samples))

    @property
    def produced(self) -> int:
        """Units produced over all samples."""
        return sum(s.produced for s in self.samples)

    @property
    def scrap(self) -> int:
        """Units scrapped over all samples."""
        return sum(s.scrap for s in self.samples)

    @property
    def cycle_s(self) -> float | None:
        """Mean cycle over all samples, run time / produced; None if nothing was produced."""
        produced = self.produced
        return self.total("run_s") / produced if produced else None

    @property
    def cycles_s(self) -> tuple[float | None, ...]:
        """The mean cycle of each sample, None where that sample produced nothing."""
        return tuple(s.cycle_s for s in self.samples)

    @property
    def cycle_cv(self) -> float | None:
        """Coefficient of variation of the per-sample cycles (sample std, ddof=1 / mean).

        None with fewer than two samples that produced anything.
        """
        c = np.array([x for x in self.cycles_s if x is not None])
        if c.size < 2:
            return None
        return float(c.std(ddof=1) / c.mean())

    @property
    def scrap_rate(self) -> float | None:
        """Scrapped / produced over all samples; None if nothing was produced."""
        produced = self.produced
        return self.scrap / produced if produced else None

    @property
    def scrap_rates(self) -> tuple[float | None, ...]:
        """The scrap rate of each sample, None where that sample produced nothing."""
        return tuple(s.scrap / s.produced if s.produced else None for s in self.samples)

    def share(self, name: str) -> float | None:
        """One time element's share of planned busy time (``"starved_s"`` → starved share)."""
        pbt = self.total("planned_busy_s")
        return self.total(name) / pbt if pbt > 0 else None


@dataclass(frozen=True, slots=True)
class LineMeasure:
    """A line (work centre) over a measured span: its stations in flow order and its output.

    ``good_units`` is the line's output: the last station's good units over the span.
    ``takt_s`` is the configured takt when the plant set one. Operators are counted per shift,
    so a station needs ``crews`` (= shifts per day) people to be staffed every shift.
    """

    line_id: int
    slug: str
    name: str
    enterprise: str  # enterprise slug
    industry_code: str  # GB/T 4754-2017 class, 4 digits without the section letter
    district: str
    stations: tuple[StationMeasure, ...]
    shifts_per_day: int
    days: float
    takt_s: float | None
    good_units: int

    def __post_init__(self) -> None:
        where = f"line {self.slug}"
        if not self.stations:
            raise BadInput("a line needs at least one station", where=where)
        if len(self.industry_code) != 4 or not self.industry_code.isdigit():
            raise BadInput(
                f"industry_code is {self.industry_code!r}; it must be a 4-digit GB/T 4754 class",
                where=where,
            )
        if self.shifts_per_day < 1:
            raise BadInput(f"shifts_per_day is {self.shifts_per_day}; it must be >= 1", where=where)
        if not (math.isfinite(self.days) and self.days > 0):
            raise BadInput(f"days is {self.days}; it must be > 0", where=where)
        if self.takt_s is not None and not (math.isfinite(self.takt_s) and self.takt_s > 0):
            raise BadInput(f"takt_s is {self.takt_s}; it must be > 0", where=where)
        if self.good_units < 0:
            raise BadInput(f"good_units is {self.good_units}; it must be >= 0", where=where)
        positions = [s.position for s in self.stations]
        if positions != sorted(positions) or len(set(positions)) != len(positions):
            raise BadInput(f"stations are not in flow order: positions {positions}", where=where)
        counts = {len(s.samples) for s in self.stations}
        if len(counts) != 1:
            raise BadInput(
                "every station needs one sample per window; sample counts differ: "
                + ", ".join(f"{s.slug}={len(s.samples)}" for s in self.stations),
                where=where,
            )

    @property
    def crews(self) -> int:
        """Operator crews per station: one per shift."""
        return self.shifts_per_day

    @property
    def planned_busy_s(self) -> float:
        """The line's planned busy time: the largest of its stations' (they share a calendar)."""
        return max(s.total("planned_busy_s") for s in self.stations)

    @property
    def output_per_planned_h(self) -> float | None:
        """Good units per planned busy hour; None with no planned time."""
        pbt = self.planned_busy_s
        return self.good_units / (pbt / 3600.0) if pbt > 0 else None
