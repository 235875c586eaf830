"""An indicator by district and industry group for one year, with disclosure control applied,
and the coverage that goes with every figure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from kiln.plan.disclosure import Protected, protect_table
from kiln.plan.indicators import Indicator, IndicatorConfig, aggregate
from kiln.plan.model import Scope
from kiln.plan_service.frame import DISTRICT_KEYS, GROUP_KEYS, Registry, YearFrame

CITY_ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Cell:
    """One published figure: the value (None when withheld), why, and its enterprises."""

    value: float | None
    why: str
    n: int | None  # enterprises contributing; None where withheld

    @property
    def shown(self) -> bool:
        """Whether the value may be shown."""
        return self.value is not None


@dataclass(frozen=True, slots=True)
class Coverage:
    """How complete a figure is: who in scope filed, and how recent the newest data is."""

    filed: int
    in_scope: int
    latest: str | None  # newest period filed, "2020-12"
    age_days: float | None  # from the end of that period to now

    @property
    def share(self) -> float | None:
        """Filed / in scope (None when nobody is in scope)."""
        return self.filed / self.in_scope if self.in_scope else None


@dataclass(frozen=True, slots=True)
class IndicatorTable:
    """Districts (rows) x industry groups (columns), with totals, as a city user may see it."""

    indicator: Indicator
    year: int
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    interior: tuple[tuple[Cell, ...], ...]
    row_totals: tuple[Cell, ...]
    col_totals: tuple[Cell, ...]
    total: Cell
    coverage: Coverage


def coverage(
    ind: Indicator, config: IndicatorConfig, frame: YearFrame, scope: Scope, now_ms: int
) -> Coverage:
    """Who in scope (and in the indicator's industries) filed this indicator in the frame."""
    reg = frame.registry
    eligible = reg.in_scope(scope) & config.in_set(ind.industries, reg.codes)
    rows = eligible[frame.row] & ~np.isnan(frame.figures[ind.numerator]) & (frame.months > 0)
    filed = len(np.unique(frame.row[rows]))
    if not rows.any():
        return Coverage(filed, int(eligible.sum()), None, None)
    key = frame.year[rows] * 100 + frame.last_month[rows]
    newest = int(key.max())
    year, month = divmod(newest, 100)
    latest = f"{year}-{month:02d}"
    end = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=CITY_ZONE)
    age = max(0.0, (now_ms - end.timestamp() * 1000) / 86_400_000)
    return Coverage(filed, int(eligible.sum()), latest, round(age, 1))


def _cells(p: Protected, n: NDArray[np.int64]) -> list[Cell]:
    out = []
    for value, why, hidden, count in zip(
        p.value.ravel(), p.why.ravel(), p.suppressed.ravel(), n.ravel(), strict=True
    ):
        out.append(
            Cell(None, str(why), None) if hidden else Cell(float(value), str(why), int(count))
        )
    return out


def indicator_table(
    ind: Indicator, config: IndicatorConfig, frame: YearFrame, year: int, now_ms: int
) -> IndicatorTable:
    """One indicator by district and group for a year, protected.

    A ratio indicator (robots per 10,000 employees) is protected on its numerator sums, as if
    they were published: a ratio's cell gives away no more than the sum it divides.
    """
    rows, cols = len(DISTRICT_KEYS), len(GROUP_KEYS)
    f = frame.of_year(year)
    cell = np.where(f.district >= 0, f.district * cols + f.group, -1)
    c = aggregate(ind, config, f.figures, f.codes, cell, rows * cols)
    shape = (rows, cols)
    t = protect_table(c.numerator.reshape(shape), c.n.reshape(shape), c.top.reshape(shape))
    n = c.n.reshape(shape)

    def values(p: Protected, num: NDArray[np.float64], den: NDArray[np.float64]) -> Protected:
        if not ind.denominator:
            scaled = np.where(p.suppressed, np.nan, num * ind.scale)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                scaled = np.where(p.suppressed | (den <= 0), np.nan, num / den * ind.scale)
        return Protected(scaled, p.why, p.suppressed)

    num, den = c.numerator.reshape(shape), c.denominator.reshape(shape)
    interior = _cells(values(t.interior, num, den), n)
    row_totals = _cells(values(t.row_totals, num.sum(1), den.sum(1)), n.sum(1))
    col_totals = _cells(values(t.col_totals, num.sum(0), den.sum(0)), n.sum(0))
    total = _cells(
        values(t.grand_total, np.asarray(num.sum()), np.asarray(den.sum())), np.asarray(n.sum())
    )[0]
    return IndicatorTable(
        indicator=ind,
        year=year,
        rows=DISTRICT_KEYS,
        cols=GROUP_KEYS,
        interior=tuple(tuple(interior[r * cols : (r + 1) * cols]) for r in range(rows)),
        row_totals=tuple(row_totals),
        col_totals=tuple(col_totals),
        total=total,
        coverage=coverage(ind, config, f, Scope(), now_ms),
    )


def registry_for(frame: YearFrame) -> Registry:
    """The registry a frame was built on."""
    return frame.registry
