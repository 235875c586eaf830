"""Hand-built lines for the advisor's tests, with round numbers that make answers exact."""

from __future__ import annotations

from kiln.advisor.measures import LineMeasure, Sample, StationMeasure

SHIFT_S = 28_800.0


def station(
    sid: int,
    slug: str,
    *,
    cycles: list[float],
    produced: int = 700,
    down_s: float = 0.0,
    starved_s: float | None = None,
    blocked_s: float | None = None,
    scrap: int = 0,
    operators: int = 1,
    automated: bool = False,
    ideal: float | None = None,
    name: str | None = None,
) -> StationMeasure:
    """A station with one sample per cycle given; idle time goes to starved unless told."""
    samples = []
    for c in cycles:
        run = c * produced
        idle = SHIFT_S - run - down_s
        if blocked_s is None and starved_s is None:
            starved, blocked = idle, 0.0
        else:
            starved = starved_s if starved_s is not None else idle - (blocked_s or 0.0)
            blocked = blocked_s if blocked_s is not None else idle - starved
        samples.append(Sample(SHIFT_S, run, down_s, starved, blocked, produced, scrap=scrap))
    return StationMeasure(sid, slug, name or slug, sid, operators, automated, ideal, tuple(samples))


def welding_line(shifts: int = 2, takt_s: float | None = None) -> LineMeasure:
    """Four stations; station 3, manual spot welding at 40 s, is the bottleneck every shift.

    Per shift: 700 units pass stations 1-3 and station 3 scraps 14 (2 %), so station 4 makes
    686 good. Upstream stations are blocked, station 4 is starved. Two shifts a day.
    """
    cycles = [1.0] * shifts
    s1 = station(
        1,
        "load",
        cycles=[30.0 * x for x in cycles],
        down_s=300,
        blocked_s=7_500,
        starved_s=0,
        ideal=30.0,
        name="Loading",
    )
    s2 = station(
        2,
        "press",
        cycles=[35.0 * x for x in cycles],
        blocked_s=4_300,
        starved_s=0,
        operators=0,
        automated=True,
        ideal=35.0,
        name="Press",
    )
    s3 = station(
        3,
        "spot-weld",
        cycles=[40.0 * x for x in cycles],
        down_s=800,
        blocked_s=0,
        starved_s=0,
        scrap=14,
        operators=2,
        name="Spot welding",
    )
    s4 = station(
        4,
        "pack",
        cycles=[30.0 * x for x in cycles],
        produced=686,
        blocked_s=0,
        ideal=30.0,
        name="Packing",
    )
    return LineMeasure(
        line_id=1,
        slug="body-a",
        name="Body line A",
        enterprise="acme-auto",
        industry_code="3670",
        district="nanhai",
        stations=(s1, s2, s3, s4),
        shifts_per_day=2,
        days=shifts / 2,
        takt_s=takt_s,
        good_units=686 * shifts,
    )
