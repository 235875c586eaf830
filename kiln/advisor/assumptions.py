"""The advisor's economic assumptions: a Foshan default for each, its unit and its source.

Every figure a payback rests on is here, so a page can show all of them and a user can change
any. `Assumptions.with_overrides` validates a mapping of changes and names the bad key or
value. Sources and rationale are in docs/advisor.md ("How the advisor computes").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from kiln.errors import BadInput

PROCESSES = (
    "welding",
    "painting",
    "glazing",
    "palletising",
    "polishing",
    "assembly",
    "inspection",
    "handling",
    "general",
)

# Robot cell hardware (arm, controller, teach pendant) by process class, yuan. China Daily
# 2014-05-30 quotes the China Robot Industry Alliance: 30 000-200 000 yuan per industrial robot;
# painting/glazing need explosion-proof arms and welding a power source: typical -- calibrate.
_ROBOT_PRICE_YUAN = {
    "welding": 200_000.0,
    "painting": 300_000.0,
    "glazing": 300_000.0,
    "palletising": 150_000.0,
    "polishing": 180_000.0,
    "assembly": 150_000.0,
    "inspection": 100_000.0,
    "handling": 120_000.0,
    "general": 150_000.0,
}


@dataclass(frozen=True, slots=True)
class AssumptionRow:
    """One assumption as a page shows it."""

    name: str
    value: float | None
    unit: str
    source: str


_INFO: dict[str, tuple[str, str, float, float]] = {
    # name: (unit, source or rationale, lowest allowed, highest allowed)
    "robot_price_yuan": (
        "yuan per robot, by process",
        "CRIA via China Daily 2014-05-30: 30 000-200 000 yuan a robot; process premiums typical",
        1.0,
        math.inf,
    ),
    "integration_multiple": (
        "x robot price",
        "integration, guarding, commissioning; arm ~1/3-1/4 of a cell's cost (typical)",
        0.0,
        20.0,
    ),
    "tooling_multiple": (
        "x robot price",
        "end-of-arm tooling, fixtures, feeders (typical)",
        0.0,
        20.0,
    ),
    "operating_cost_share": (
        "share of investment per year",
        "maintenance, spares and energy (typical, calibrate)",
        0.0,
        1.0,
    ),
    "annual_wage_yuan": (
        "yuan per operator per year",
        "NBS 2023 average wage, manufacturing, urban non-private units: 103 932 yuan (national)",
        1.0,
        math.inf,
    ),
    "employer_on_cost_share": (
        "share of wage",
        "employer social insurance + housing fund, Guangzhou rates (~30 %); Foshan's not found",
        0.0,
        2.0,
    ),
    "tend_operators": (
        "operators per shift per cell",
        "loading, checks, faults (typical)",
        0.0,
        10.0,
    ),
    "unit_value_yuan": (
        "yuan per good unit",
        "placeholder; set per line from its product",
        0.0,
        math.inf,
    ),
    "sold_share": (
        "share of added capacity",
        "how much of the capacity a robot adds finds buyers; 1 for a sold-out line (judgement)",
        0.0,
        1.0,
    ),
    "margin_share": (
        "share of unit value",
        "contribution margin of an added unit (typical)",
        0.0,
        1.0,
    ),
    "scrap_cost_share": (
        "share of unit value",
        "material and work lost in a scrapped unit",
        0.0,
        1.0,
    ),
    "discount_rate": ("per year", "a manufacturer's cost of capital (typical)", 0.0, 1.0),
    "life_years": ("years", "depreciation life of a robot cell (typical)", 1.0, 40.0),
    "working_days_per_year": ("days", "six-day weeks less holidays (typical)", 1.0, 366.0),
    "robot_cycle_share": ("x manual cycle", "robot cycle as a share of the manual one", 0.01, 2.0),
    "robot_cycle_s": ("s", "absolute robot cycle; wins over robot_cycle_share when set", 0.01, 1e6),
    "robot_scrap_rate": ("share of produced", "scrap of a robot cell (typical)", 0.0, 1.0),
    "manual_cv_threshold": (
        "coefficient of variation",
        "per-shift cycle CV above which manual variability counts as a loss",
        0.0,
        10.0,
    ),
}


@dataclass(frozen=True, slots=True)
class Assumptions:
    """Every economic assumption of the advisor, with its Foshan default."""

    # A plain dict, read-only by convention, so that asdict, copy and pickle work.
    robot_price_yuan: Mapping[str, float] = field(default_factory=lambda: dict(_ROBOT_PRICE_YUAN))
    integration_multiple: float = 1.0
    tooling_multiple: float = 0.5
    operating_cost_share: float = 0.05
    annual_wage_yuan: float = 103_932.0
    employer_on_cost_share: float = 0.30
    tend_operators: float = 0.25
    unit_value_yuan: float = 100.0
    margin_share: float = 0.15
    # Payback spreadsheets count every added unit as sold; only demand makes it so.
    sold_share: float = 0.5
    scrap_cost_share: float = 0.5
    discount_rate: float = 0.08
    life_years: int = 10
    working_days_per_year: float = 300.0
    robot_cycle_share: float = 0.7
    robot_cycle_s: float | None = None
    robot_scrap_rate: float = 0.005
    manual_cv_threshold: float = 0.10

    @property
    def labour_cost_yuan(self) -> float:
        """Fully loaded cost of one operator for a year: wage x (1 + employer on-costs).

        >>> round(Assumptions().labour_cost_yuan)
        135112
        """
        return self.annual_wage_yuan * (1.0 + self.employer_on_cost_share)

    def robot_price(self, process: str) -> float:
        """The robot price for a process class, falling back to ``general``."""
        return self.robot_price_yuan.get(process, self.robot_price_yuan["general"])

    def with_overrides(self, overrides: Mapping[str, Any]) -> Assumptions:
        """A copy with overrides applied; BadInput naming the first bad key or value.

        ``robot_price_yuan`` takes a mapping of process to price (merged into the current one),
        or one price at a time as ``"robot_price_yuan.welding"``.

        >>> Assumptions().with_overrides({"discount_rate": 0.05}).discount_rate
        0.05
        """
        changes: dict[str, Any] = {}
        prices = dict(self.robot_price_yuan)
        for key, value in overrides.items():
            name, _, process = str(key).partition(".")
            if name not in _INFO:
                known = ", ".join(sorted(_INFO))
                raise BadInput(f"unknown assumption {key!r}; known: {known}", where="assumptions")
            if name == "robot_price_yuan":
                for p, price in _price_items(key, process, value):
                    prices[p] = _number(f"robot_price_yuan.{p}", price)
            elif name == "robot_cycle_s" and value is None:
                changes[name] = None
            else:
                number = _number(name, value)
                if name == "life_years":
                    if number != int(number):
                        raise BadInput(
                            f"life_years is {value!r}; it must be whole years", where="assumptions"
                        )
                    number = int(number)
                changes[name] = number
        return replace(self, robot_price_yuan=prices, **changes)

    def describe(self) -> list[AssumptionRow]:
        """Every assumption with its value, unit and source; one row per robot price."""
        rows = []
        for f in fields(self):
            unit, source, _, _ = _INFO[f.name]
            if f.name == "robot_price_yuan":
                rows += [
                    AssumptionRow(f"robot_price_yuan.{p}", v, unit, source)
                    for p, v in self.robot_price_yuan.items()
                ]
            else:
                rows.append(AssumptionRow(f.name, getattr(self, f.name), unit, source))
        return rows


def _price_items(key: str, process: str, value: Any) -> list[tuple[str, Any]]:
    """The (process, price) pairs an override of robot prices names."""
    if process:
        pairs = [(process, value)]
    elif isinstance(value, Mapping):
        pairs = list(value.items())
    else:
        raise BadInput(
            f"{key} is {value!r}; give a mapping of process to yuan, "
            "or set one as robot_price_yuan.<process>",
            where="assumptions",
        )
    for p, _ in pairs:
        if p not in PROCESSES:
            raise BadInput(
                f"robot_price_yuan: unknown process {p!r}; known: {', '.join(PROCESSES)}",
                where="assumptions",
            )
    return pairs


def _number(name: str, value: Any) -> float:
    """The value as a float within the assumption's range, or BadInput naming both."""
    base = name.partition(".")[0]
    _, _, lo, hi = _INFO[base]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{name} is {value!r}; it must be a number", where="assumptions")
    x = float(value)
    if not math.isfinite(x) or not lo <= x <= hi:
        raise BadInput(f"{name} is {value!r}; it must lie in [{lo:g}, {hi:g}]", where="assumptions")
    return x
