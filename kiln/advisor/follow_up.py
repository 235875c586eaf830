"""Follow-up: what a robot cell measurably changed against what the advisor predicted.

Given the prediction stored when the robot was installed and two measured spans of the line
(N days before and N days after the installation date), compare three figures:

* line output rate: good units per planned busy hour; the measured gain is after / before - 1;
* the station's mean cycle (run time / produced) after installation;
* the station's scrap rate (scrapped / produced) after installation.

Each error is measured - predicted, and relative to the prediction. A figure is "as predicted"
when its relative error is within ``tolerance`` (10 % by default; for the gain and the scrap
rate, which are small fractions, within ``tolerance`` of the prediction or one percentage
point, whichever is larger).
"""

from __future__ import annotations

from dataclasses import dataclass

from kiln.advisor.measures import LineMeasure, StationMeasure
from kiln.errors import BadInput


@dataclass(frozen=True, slots=True)
class Prediction:
    """What the advisor predicted for a station when its robot was installed."""

    station_id: int
    cycle_s: float
    throughput_gain: float  # fraction, 0.11 = +11 %
    scrap_rate: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """One figure: predicted, measured, the error and whether it is as predicted."""

    figure: str
    predicted: float
    measured: float
    better_when_higher: bool
    tolerance: float

    @property
    def error(self) -> float:
        """Measured - predicted."""
        return self.measured - self.predicted

    @property
    def relative_error(self) -> float | None:
        """(measured - predicted) / predicted; None when the prediction was 0."""
        return self.error / self.predicted if self.predicted else None

    @property
    def verdict(self) -> str:
        """``as predicted``, ``better than predicted`` or ``worse than predicted``."""
        if abs(self.error) <= self.tolerance:
            return "as predicted"
        better = self.error > 0 if self.better_when_higher else self.error < 0
        return "better than predicted" if better else "worse than predicted"


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The measured effect of an installed robot cell against its prediction."""

    output_before_per_h: float
    output_after_per_h: float
    gain: Comparison
    cycle: Comparison
    scrap: Comparison

    @property
    def verdict(self) -> str:
        """The comparison in words, one clause per figure (English)."""
        return self.describe("en")

    def describe(self, lang: str = "en") -> str:
        """The comparison in words, in English (``en``) or Chinese (``zh``)."""
        g, c, s = self.gain, self.cycle, self.scrap
        if lang == "en":
            return "; ".join(
                [
                    f"line output {g.verdict} ({g.measured:+.1%} against {g.predicted:+.1%})",
                    f"station cycle {c.verdict} ({c.measured:.1f} s against {c.predicted:.1f} s)",
                    f"scrap rate {s.verdict} ({s.measured:.1%} against {s.predicted:.1%})",
                ]
            )
        if lang == "zh":
            return "；".join(
                [
                    f"产线产量{_ZH[g.verdict]}（实测{g.measured:+.1%}，预测{g.predicted:+.1%}）",
                    f"工位节拍{_ZH[c.verdict]}（实测{c.measured:.1f}秒，预测{c.predicted:.1f}秒）",
                    f"废品率{_ZH[s.verdict]}（实测{s.measured:.1%}，预测{s.predicted:.1%}）",
                ]
            )
        raise BadInput(f"language {lang!r} is not offered; use 'en' or 'zh'", where="follow-up")


_ZH = {
    "as predicted": "与预测相符",
    "better than predicted": "好于预测",
    "worse than predicted": "差于预测",
}


def compare(
    prediction: Prediction, before: LineMeasure, after: LineMeasure, tolerance: float = 0.10
) -> FollowUp:
    """Measured effect after installation against the prediction; BadInput if unmeasurable.

    >>> from kiln.advisor.measures import Sample, StationMeasure, LineMeasure
    >>> def line(run, produced, good):
    ...     st = StationMeasure(7, "op7", "Op 7", 1, 0, True, None,
    ...                         (Sample(3600, run, 0, 0, 0, produced, scrap=produced // 100),))
    ...     return LineMeasure(1, "l", "L", "e", "3670", "nanhai", (st,), 1, 1.0, None, good)
    >>> f = compare(Prediction(7, 30.0, 0.20, 0.01), line(3600, 90, 90), line(3600, 120, 108))
    >>> round(f.gain.measured, 4), f.cycle.measured, f.verdict.split(";")[0]
    (0.2, 30.0, 'line output as predicted (+20.0% against +20.0%)')
    """
    rate_before, rate_after = before.output_per_planned_h, after.output_per_planned_h
    if not rate_before:
        raise BadInput("no output or planned time before installation", where=f"line {before.slug}")
    if rate_after is None:
        raise BadInput("no planned time after installation", where=f"line {after.slug}")
    station = _station(after, prediction.station_id)
    cycle, scrap = station.cycle_s, station.scrap_rate
    if cycle is None or scrap is None:
        raise BadInput(
            "the station produced nothing after installation", where=f"station {station.slug}"
        )
    return FollowUp(
        output_before_per_h=rate_before,
        output_after_per_h=rate_after,
        gain=Comparison(
            "line output gain",
            prediction.throughput_gain,
            rate_after / rate_before - 1.0,
            True,
            max(tolerance * abs(prediction.throughput_gain), 0.01),
        ),
        cycle=Comparison(
            "station cycle", prediction.cycle_s, cycle, False, tolerance * prediction.cycle_s
        ),
        scrap=Comparison(
            "scrap rate",
            prediction.scrap_rate,
            scrap,
            False,
            max(tolerance * prediction.scrap_rate, 0.01),
        ),
    )


def _station(m: LineMeasure, station_id: int) -> StationMeasure:
    """The station of a line by id; BadInput naming the line if it has none."""
    for s in m.stations:
        if s.station_id == station_id:
            return s
    raise BadInput(f"no station {station_id} on the line", where=f"line {m.slug}")
