"""Robot candidates: the stations where a robot cell addresses a measured loss, and the money.

For a manual station (operators > 0, no robot yet) with cycle c, the robot's cycle is
r = robot_cycle_s, or robot_cycle_share x c. The effects:

* throughput: the line's cycle can fall only to floor = max(r, the next slowest station's
  cycle, the configured takt) -- a station alone on its line is bounded by its own reference
  cycle instead (ideal, or its fastest shift: line_analysis.py); the station limits the line
  only in its bottleneck share b of the windows, so gain = b x (c / floor - 1) when
  c > floor, else 0. Added good units a year = gain x line good units / days x working days.
* scrap avoided a year = max(scrap rate - robot scrap rate, 0) x units produced a year.
* operators freed per shift = max(operators - tend_operators, 0).
* manual variability: per-shift cycle CV >= manual_cv_threshold counts as a loss the robot
  addresses (a robot repeats its cycle); it is priced through the throughput, not apart.

A station is a candidate only when one of these losses is there (gain > 0, scrap avoided > 0,
or variability): operators alone make no candidate.

Money: investment = robot price x (1 + integration_multiple + tooling_multiple); operating
cost = operating_cost_share x investment a year; labour saved = freed x crews x labour cost;
added margin = added units x sold share x unit value x margin share; scrap saved = avoided x
unit value x scrap cost share; net = labour + margin + scrap - operating; payback = investment /
net (None when net <= 0: it never pays back), and from labour and scrap alone, as if no added
unit sold; NPV = -investment + net x (1 - (1 + i)^-n) / i.

The range re-evaluates the same station with its per-shift cycle and scrap rate at their 10th
and 90th percentiles (numpy's linear interpolation), the robot's cycle held where the mean put
it: the low payback comes from the slow, scrap-heavy shifts, the high one from the good ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kiln.advisor.assumptions import Assumptions
from kiln.advisor.line_analysis import LineAnalysis, StationAnalysis

__all__ = [
    "Assumptions",
    "Candidate",
    "Effects",
    "Money",
    "Range",
    "annuity_factor",
    "candidates",
    "process_hint",
]

# Keywords in a station's slug or name that say which process a robot would take over.
_KEYWORDS = (
    ("welding", ("weld", "焊")),
    ("painting", ("paint", "spray", "coat", "喷涂", "喷漆")),
    ("glazing", ("glaz", "釉")),
    ("palletising", ("pallet", "stack", "码垛")),
    ("polishing", ("polish", "grind", "deburr", "打磨", "抛光")),
    ("assembly", ("assembl", "装配", "组装")),
    ("inspection", ("inspect", "test", "check", "检")),
    ("handling", ("load", "pick", "pack", "handl", "上下料", "搬运", "包装")),
)


@dataclass(frozen=True, slots=True)
class Effects:
    """What the robot cell would change on the line, per year where it says so."""

    manual_cycle_s: float
    robot_cycle_s: float
    throughput_gain: float  # fraction of line output, 0.11 = +11 %
    added_units_per_year: float
    scrap_avoided_per_year: float
    operators_freed_per_shift: float


@dataclass(frozen=True, slots=True)
class Money:
    """Investment, yearly flows, payback and NPV, in yuan and years."""

    robot_yuan: float
    integration_yuan: float
    tooling_yuan: float
    operating_cost_yuan_per_year: float
    labour_saved_yuan_per_year: float
    added_margin_yuan_per_year: float
    scrap_saved_yuan_per_year: float
    added_output_yuan_per_year: float  # added units x unit value: the city's output figure
    payback_years: float | None  # None: the net benefit is not positive, it never pays back
    npv_yuan: float
    # From labour and scrap alone, as if no added unit sold: the conservative figure.
    payback_labour_years: float | None = None

    @property
    def investment_yuan(self) -> float:
        """Robot + integration + tooling."""
        return self.robot_yuan + self.integration_yuan + self.tooling_yuan

    @property
    def net_benefit_yuan_per_year(self) -> float:
        """Labour saved + added margin + scrap saved - operating cost."""
        return (
            self.labour_saved_yuan_per_year
            + self.added_margin_yuan_per_year
            + self.scrap_saved_yuan_per_year
            - self.operating_cost_yuan_per_year
        )


@dataclass(frozen=True, slots=True)
class Range:
    """Payback and NPV re-evaluated at the station's 10th and 90th percentile shifts."""

    payback_low_years: float | None
    payback_high_years: float | None  # None: in the bad case it never pays back
    npv_low_yuan: float
    npv_high_yuan: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """A station where a robot cell would help, with its effects, money and assumptions."""

    enterprise: str
    industry_code: str
    district: str
    line_id: int
    line_slug: str
    station: StationAnalysis
    process: str
    reasons: tuple[str, ...]  # of "bottleneck", "scrap", "variability"
    effects: Effects
    money: Money
    range: Range
    assumptions_used: Assumptions


def process_hint(slug: str, name: str) -> str:
    """The process class a station's slug or name suggests; ``general`` when none does.

    >>> process_hint("op40-spot-weld", "Spot welding"), process_hint("s7", "施釉")
    ('welding', 'glazing')
    """
    text = f"{slug} {name}".lower()
    for process, words in _KEYWORDS:
        if any(w in text for w in words):
            return process
    return "general"


def candidates(analysis: LineAnalysis, assumptions: Assumptions | None = None) -> list[Candidate]:
    """The line's robot candidates, best NPV first; none where no measured loss is addressed."""
    a = assumptions or Assumptions()
    found = [c for s in analysis.stations if (c := _candidate(analysis, s, a)) is not None]
    return sorted(found, key=lambda c: -c.money.npv_yuan)


def _candidate(line: LineAnalysis, s: StationAnalysis, a: Assumptions) -> Candidate | None:
    """The candidate at one station, or None when it is not manual or loses nothing."""
    m = s.measure
    if not m.manual or s.cycle_s is None or m.scrap_rate is None:
        return None
    robot_cycle = (
        a.robot_cycle_s if a.robot_cycle_s is not None else a.robot_cycle_share * s.cycle_s
    )
    process = process_hint(m.slug, m.name)
    effects, money = _evaluate(line, s, a, process, s.cycle_s, m.scrap_rate, robot_cycle)
    reasons = tuple(
        why
        for why, present in (
            ("bottleneck", effects.throughput_gain > 0),
            ("scrap", effects.scrap_avoided_per_year > 0),
            ("variability", s.cycle_cv is not None and s.cycle_cv >= a.manual_cv_threshold),
        )
        if present
    )
    if not reasons:
        return None
    cycles = [c for c in m.cycles_s if c is not None]
    rates = [r for r in m.scrap_rates if r is not None]
    cases = [
        _evaluate(
            line,
            s,
            a,
            process,
            float(np.percentile(cycles, q)),
            float(np.percentile(rates, q)),
            robot_cycle,
        )[1]
        for q in (10, 90)
    ]
    inf = float("inf")
    paybacks = sorted((x.payback_years if x.payback_years is not None else inf) for x in cases)
    npvs = sorted(x.npv_yuan for x in cases)
    lm = line.measure
    return Candidate(
        enterprise=lm.enterprise,
        industry_code=lm.industry_code,
        district=lm.district,
        line_id=lm.line_id,
        line_slug=lm.slug,
        station=s,
        process=process,
        reasons=reasons,
        effects=effects,
        money=money,
        range=Range(
            payback_low_years=None if paybacks[0] == inf else paybacks[0],
            payback_high_years=None if paybacks[1] == inf else paybacks[1],
            npv_low_yuan=npvs[0],
            npv_high_yuan=npvs[1],
        ),
        assumptions_used=a,
    )


def _evaluate(
    line: LineAnalysis,
    s: StationAnalysis,
    a: Assumptions,
    process: str,
    cycle_s: float,
    scrap_rate: float,
    robot_cycle_s: float,
) -> tuple[Effects, Money]:
    """Effects and money of a robot at station s, given its manual cycle and scrap rate."""
    lm = line.measure
    per_year = a.working_days_per_year / lm.days
    others = [x.cycle_s for x in line.stations if x is not s and x.cycle_s is not None]
    # Alone on its line, a station's measured loss is its gap to its own reference cycle.
    bound = max(others) if others else (s.reference_cycle_s or cycle_s)
    floor = max(robot_cycle_s, bound, lm.takt_s or 0.0)
    gain = s.bottleneck_share * (cycle_s / floor - 1.0) if cycle_s > floor else 0.0
    added = gain * lm.good_units * per_year
    avoided = max(scrap_rate - a.robot_scrap_rate, 0.0) * s.measure.produced * per_year
    freed = max(s.measure.operators - a.tend_operators, 0.0)
    effects = Effects(cycle_s, robot_cycle_s, gain, added, avoided, freed)
    robot = a.robot_price(process)
    investment = robot * (1.0 + a.integration_multiple + a.tooling_multiple)
    operating = a.operating_cost_share * investment
    labour = freed * lm.crews * a.labour_cost_yuan
    sold = added * a.sold_share
    margin = sold * a.unit_value_yuan * a.margin_share
    scrap = avoided * a.unit_value_yuan * a.scrap_cost_share
    net = labour + margin + scrap - operating
    without_output = labour + scrap - operating
    money = Money(
        robot_yuan=robot,
        integration_yuan=robot * a.integration_multiple,
        tooling_yuan=robot * a.tooling_multiple,
        operating_cost_yuan_per_year=operating,
        labour_saved_yuan_per_year=labour,
        added_margin_yuan_per_year=margin,
        scrap_saved_yuan_per_year=scrap,
        added_output_yuan_per_year=sold * a.unit_value_yuan,
        payback_years=investment / net if net > 0 else None,
        npv_yuan=-investment + net * annuity_factor(a.discount_rate, a.life_years),
        payback_labour_years=investment / without_output if without_output > 0 else None,
    )
    return effects, money


def annuity_factor(rate: float, years: int) -> float:
    """Present value of 1 yuan a year for ``years`` years: (1 - (1 + i)^-n) / i; n when i = 0.

    >>> round(annuity_factor(0.10, 2), 6), annuity_factor(0.0, 5)
    (1.735537, 5.0)
    """
    if rate == 0:
        return float(years)
    # expm1/log1p keep the factor exact for tiny rates, where 1 - (1 + i)^-n cancels to 0.
    return -math.expm1(-years * math.log1p(rate)) / rate
