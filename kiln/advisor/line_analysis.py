"""Where a line loses output: each station's cycle against takt, its losses, and the bottleneck.

Losses are in seconds of station time, ISO 22400 style (domain.md 1.4):

* availability: ``down_s`` (faults, setup, unplanned stops);
* performance: ``run_s - reference_cycle x produced``;
* quality: ``reference_cycle x (scrap + rework)``.

The reference cycle is the station's ideal cycle (PRI) when known; otherwise the fastest of its
per-sample mean cycles, flagged as an estimate (domain.md 1.6: never invent PRI silently).

The bottleneck of each sample (shift) is found with the active-period idea: a station's active
share is (run + down) / planned busy, the part of the window it was busy by itself rather than
starved or blocked by a neighbour. The station with the largest active share is that window's
bottleneck; a tie goes to the longer cycle in that window, then to the upstream station. A
window where no station had planned time has no bottleneck. The pattern check counts the
windows in which every station upstream of the bottleneck was more blocked than starved and
every station downstream more starved than blocked, as a serial line's bottleneck makes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiln.advisor.measures import LineMeasure, StationMeasure


@dataclass(frozen=True, slots=True)
class StationAnalysis:
    """One station's figures within its line."""

    measure: StationMeasure
    cycle_s: float | None
    cycle_vs_takt: float | None  # cycle / takt; above 1 the station cannot keep takt
    reference_cycle_s: float | None
    reference_estimated: bool  # True when no ideal cycle was given
    availability_loss_s: float
    performance_loss_s: float
    quality_loss_s: float
    loss_share: float  # of the line's total A + P + Q loss; 0 when the line lost nothing
    bottleneck_share: float  # share of windows in which it was the bottleneck
    cycle_cv: float | None
    scrap_rate: float | None

    @property
    def loss_s(self) -> float:
        """Availability + performance + quality loss, in seconds."""
        return self.availability_loss_s + self.performance_loss_s + self.quality_loss_s


@dataclass(frozen=True, slots=True)
class LineAnalysis:
    """A line's stations analysed, its takt and its bottleneck."""

    measure: LineMeasure
    takt_s: float | None
    takt_configured: bool
    stations: tuple[StationAnalysis, ...]
    bottlenecks: tuple[int | None, ...]  # station_id of each window's bottleneck
    pattern_consistency: float | None  # share of windows whose starved/blocked pattern agrees

    @property
    def bottleneck(self) -> StationAnalysis | None:
        """The station most often the bottleneck (ties: longer cycle); None if never found."""
        ranked = [s for s in self.stations if s.bottleneck_share > 0]
        if not ranked:
            return None
        return max(
            ranked, key=lambda s: (s.bottleneck_share, s.cycle_s or 0.0, -s.measure.position)
        )

    def station(self, station_id: int) -> StationAnalysis:
        """The analysis of one station, by id; KeyError if the line has no such station."""
        for s in self.stations:
            if s.measure.station_id == station_id:
                return s
        raise KeyError(f"line {self.measure.slug} has no station {station_id}")


def analyse_line(m: LineMeasure) -> LineAnalysis:
    """Analyse a measured line: takt, per-station losses and cycle, the bottleneck per window.

    >>> from kiln.advisor.measures import Sample, StationMeasure, LineMeasure
    >>> def st(i, run, starved, blocked):
    ...     s = Sample(3600, run, 0, starved, blocked, produced=int(run // (10 * i)))
    ...     return StationMeasure(i, f"s{i}", f"S{i}", i, 1, False, None, (s, s))
    >>> line = LineMeasure(1, "l", "L", "e", "3670", "nanhai",
    ...                    (st(1, 1800, 0, 1800), st(2, 3600, 0, 0), st(3, 1800, 1800, 0)),
    ...                    1, 1.0, None, 360)
    >>> a = analyse_line(line)
    >>> a.bottleneck.measure.slug, a.bottleneck.bottleneck_share, a.pattern_consistency
    ('s2', 1.0, 1.0)
    """
    takt = m.takt_s
    if takt is None and m.good_units > 0:
        takt = m.planned_busy_s / m.good_units
    windows = len(m.stations[0].samples)
    bottlenecks = tuple(_bottleneck_of(m, i) for i in range(windows))
    found = [b for b in bottlenecks if b is not None]
    agree = [_pattern_agrees(m, i, b) for i, b in enumerate(bottlenecks) if b is not None]
    partial = [_station_losses(s) for s in m.stations]
    line_loss = sum(a + p + q for _, _, a, p, q in partial)
    stations = tuple(
        StationAnalysis(
            measure=s,
            cycle_s=s.cycle_s,
            cycle_vs_takt=s.cycle_s / takt if s.cycle_s is not None and takt else None,
            reference_cycle_s=ref,
            reference_estimated=est,
            availability_loss_s=a,
            performance_loss_s=p,
            quality_loss_s=q,
            loss_share=(a + p + q) / line_loss if line_loss > 0 else 0.0,
            bottleneck_share=found.count(s.station_id) / len(found) if found else 0.0,
            cycle_cv=s.cycle_cv,
            scrap_rate=s.scrap_rate,
        )
        for s, (ref, est, a, p, q) in zip(m.stations, partial, strict=True)
    )
    return LineAnalysis(
        measure=m,
        takt_s=takt,
        takt_configured=m.takt_s is not None,
        stations=stations,
        bottlenecks=bottlenecks,
        pattern_consistency=sum(agree) / len(agree) if agree else None,
    )


def _station_losses(s: StationMeasure) -> tuple[float | None, bool, float, float, float]:
    """Reference cycle, whether it is estimated, and the A, P, Q losses in seconds."""
    ref, estimated = s.ideal_cycle_s, False
    if ref is None:
        cycles = [c for c in s.cycles_s if c is not None]
        ref, estimated = (min(cycles), True) if cycles else (None, True)
    availability = s.total("down_s")
    if ref is None:
        return None, estimated, availability, 0.0, 0.0
    # A station faster than its stated ideal has no performance loss, not a negative one.
    performance = max(s.total("run_s") - ref * s.produced, 0.0)
    quality = ref * sum(x.scrap + x.rework for x in s.samples)
    return ref, estimated, availability, performance, quality


def _bottleneck_of(m: LineMeasure, i: int) -> int | None:
    """The station_id of window i's bottleneck (largest active share), None if none planned."""
    planned = [s for s in m.stations if s.samples[i].planned_busy_s > 0]
    if not planned:
        return None
    best = max(
        planned,
        key=lambda s: (s.samples[i].active_share, s.samples[i].cycle_s or 0.0, -s.position),
    )
    return best.station_id


def _pattern_agrees(m: LineMeasure, i: int, bottleneck: int) -> bool:
    """Upstream of the bottleneck more blocked than starved, downstream more starved."""
    at = next(k for k, s in enumerate(m.stations) if s.station_id == bottleneck)
    up = all(s.samples[i].blocked_s >= s.samples[i].starved_s for s in m.stations[:at])
    down = all(s.samples[i].starved_s >= s.samples[i].blocked_s for s in m.stations[at + 1 :])
    return up and down
