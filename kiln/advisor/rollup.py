"""Roll-ups of candidates: the best per enterprise, and the city's by industry and district.

The city figure the robot target needs is how many robot cells would pay back within N years,
what they cost and the output value they would add. Each city cell carries the number of
enterprises behind it and the largest one's share, and `protect_city` applies the city's
disclosure rules (kiln/plan/disclosure.py) to the industry x district table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from kiln.advisor.economics import Candidate
from kiln.errors import BadInput
from kiln.plan.disclosure import CITY_RULES, ProtectedTable, Rules, protect_table

_INF = float("inf")


def best_per_enterprise(
    found: Iterable[Candidate], n: int = 3, by: Literal["npv", "payback"] = "npv"
) -> dict[str, tuple[Candidate, ...]]:
    """Each enterprise's top ``n`` candidates, by NPV (highest first) or payback (shortest)."""
    if n < 1:
        raise BadInput(f"n is {n}; it must be at least 1", where="best_per_enterprise")
    if by not in ("npv", "payback"):
        raise BadInput(f"by is {by!r}; rank by 'npv' or 'payback'", where="best_per_enterprise")
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for c in found:
        groups[c.enterprise].append(c)

    def key(c: Candidate) -> tuple[float, float]:
        payback = c.money.payback_years if c.money.payback_years is not None else _INF
        return (-c.money.npv_yuan, payback) if by == "npv" else (payback, -c.money.npv_yuan)

    return {e: tuple(sorted(cs, key=key)[:n]) for e, cs in sorted(groups.items())}


@dataclass(frozen=True, slots=True)
class CityCell:
    """Candidates paying back within the horizon in one industry and district."""

    industry: str  # GB/T 4754 prefix (2 digits by default: the division)
    district: str
    robots: int
    investment_yuan: float
    added_output_yuan_per_year: float
    enterprises: int
    top_share: float  # largest single enterprise's share of added output (0 when none added)
    top_robots: int  # largest single enterprise's robots
    top_investment_yuan: float  # largest single enterprise's investment


def city_cells(
    found: Iterable[Candidate], within_years: float, industry_digits: int = 2
) -> list[CityCell]:
    """Cells by industry and district of candidates whose payback is at most ``within_years``.

    Each candidate is one robot cell. Cells are sorted by industry, then district; an industry
    and district with no such candidate has no row.
    """
    if not within_years > 0:
        raise BadInput(f"within_years is {within_years}; it must be > 0", where="city_cells")
    if not 1 <= industry_digits <= 4:
        raise BadInput(f"industry_digits is {industry_digits}; use 1 to 4", where="city_cells")
    per: dict[tuple[str, str], dict[str, list[Candidate]]] = defaultdict(lambda: defaultdict(list))
    for c in found:
        if c.money.payback_years is not None and c.money.payback_years <= within_years:
            per[(c.industry_code[:industry_digits], c.district)][c.enterprise].append(c)
    rows = []
    for (industry, district), by_enterprise in sorted(per.items()):
        added = [
            sum(c.money.added_output_yuan_per_year for c in cs) for cs in by_enterprise.values()
        ]
        invest = [sum(c.money.investment_yuan for c in cs) for cs in by_enterprise.values()]
        robots = [len(cs) for cs in by_enterprise.values()]
        total = sum(added)
        rows.append(
            CityCell(
                industry=industry,
                district=district,
                robots=sum(robots),
                investment_yuan=sum(invest),
                added_output_yuan_per_year=total,
                enterprises=len(by_enterprise),
                top_share=max(added) / total if total > 0 else 0.0,
                top_robots=max(robots),
                top_investment_yuan=max(invest),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class CityTable:
    """The city table as it may be published: a ProtectedTable per figure, one shared mask.

    A cell withheld for any figure is withheld for all three (hiding more never makes a hidden
    cell computable), so ``suppressed`` is the union of the three protections.
    """

    industries: tuple[str, ...]
    districts: tuple[str, ...]
    robots: ProtectedTable
    investment_yuan: ProtectedTable
    added_output_yuan_per_year: ProtectedTable
    suppressed: NDArray[np.bool_]  # shape (industries, districts), bool

    def published(self, figure: str) -> NDArray[np.float64]:
        """One figure's interior, NaN where any figure is withheld."""
        table: ProtectedTable = getattr(self, figure)
        return np.where(self.suppressed, np.nan, table.interior.value)


def protect_city(
    cells: Sequence[CityCell],
    industries: Sequence[str] | None = None,
    districts: Sequence[str] | None = None,
    rules: Rules = CITY_RULES,
) -> CityTable:
    """Apply the disclosure rules to the industry x district table of `city_cells`.

    ``industries`` and ``districts`` fix the table's rows and columns (all five districts, say,
    so an empty one shows as 0); by default they are those the cells name.
    """
    rows = tuple(industries or sorted({c.industry for c in cells}))
    cols = tuple(districts or sorted({c.district for c in cells}))
    if not rows or not cols:
        raise BadInput(
            "no cells to protect: the table has no row or no column", where="protect_city"
        )
    shape = (len(rows), len(cols))
    grid = {name: np.zeros(shape) for name in ("robots", "inv", "added", "n", "tr", "ti", "ta")}
    for c in cells:
        if c.industry not in rows or c.district not in cols:
            raise BadInput(
                f"cell ({c.industry}, {c.district}) lies outside the table's rows or columns",
                where="protect_city",
            )
        at = (rows.index(c.industry), cols.index(c.district))
        for name, value in (
            ("robots", c.robots),
            ("inv", c.investment_yuan),
            ("added", c.added_output_yuan_per_year),
            ("n", c.enterprises),
            ("tr", c.top_robots),
            ("ti", c.top_investment_yuan),
            ("ta", c.top_share * c.added_output_yuan_per_year),
        ):
            grid[name][at] += value
    n = grid["n"].astype(np.int64)
    robots = protect_table(grid["robots"], n, grid["tr"], rules)
    invest = protect_table(grid["inv"], n, grid["ti"], rules)
    added = protect_table(grid["added"], n, grid["ta"], rules)
    mask = robots.interior.suppressed | invest.interior.suppressed | added.interior.suppressed
    return CityTable(rows, cols, robots, invest, added, mask)
