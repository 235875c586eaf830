"""What the plan pages draw: a target's trajectory chart as SVG geometry, and the number
formats of the charts' axes, the cards and the tables.

The chart shows the target's own path from its baseline to the level it calls for, the yearly
figures (each marked by where it comes from) and the projection from the latest figure to the
deadline with its band. Only numbers come out (positions in the SVG's own units); the template
draws and labels them.
"""

from __future__ import annotations

import math
from typing import Any

from kiln.plan.progress import Actual, Progress
from kiln.plan_service.tables import IndicatorTable
from kiln.web.i18n import N_, current_language, format_money, format_number, gettext

CHART_W, CHART_H = 640.0, 240.0
LEFT, RIGHT, TOP, BOTTOM = 84.0, 18.0, 14.0, 30.0  # room for the axis labels
TICKS = 4  # about this many grid lines on the value axis
# The indicators' units (kiln/plan/seed/plan.toml), for the catalog; shown through gettext.
UNITS = (
    N_("enterprises"),
    N_("people"),
    N_("robots"),
    N_("robots per 10,000 employees"),
    N_("tce per 10,000 yuan"),
)


def amount(value: float | None, unit: str = "yuan") -> str:
    """A figure for a reader: money in bn yuan or 亿元 (kiln/web/i18n.py), others with their
    unit; '–' for none.

    >>> amount(7.89e10), amount(1234.0, "robots"), amount(None)
    ('78.9 bn yuan', '1,234 robots', '–')
    """
    if value is None or value != value:
        return "–"
    if unit == "yuan":
        return format_money(value)
    shown = format_number(value, 1).removesuffix(".0")
    if not unit:
        return shown
    return f"{shown}{'' if current_language() == 'zh' else ' '}{gettext(unit)}"


def pct(value: float | None, decimals: int = 1) -> str:
    """A percentage; '–' for none.

    >>> pct(4.4844), pct(None)
    ('4.5 %', '–')
    """
    if value is None or value != value:
        return "–"
    return f"{value:.{decimals}f}{'' if current_language() == 'zh' else ' '}%"


def number(value: float | None, factor: float = 1.0, decimals: int = 0) -> str:
    """A table cell's value divided by its table's factor.

    >>> number(1.25e9, 1e9, 2)
    '1.25'
    """
    return "–" if value is None or value != value else format_number(value / factor, decimals)


def table_scale(t: IndicatorTable) -> dict[str, Any]:
    """A table with the one scale its cells are shown in (bn or mn yuan for money; 亿元 or
    万元 in Chinese), so they compare at a glance and the unit is said once, in the caption."""
    cells = [*(c for row in t.interior for c in row), *t.row_totals, *t.col_totals, t.total]
    top = max((c.value for c in cells if c.value is not None), default=0.0)
    scale, factor, decimals = "", 1.0, 0 if not t.indicator.is_ratio else 1
    if t.indicator.unit == "yuan":
        if current_language() == "zh":
            scale, factor, decimals = ("yi", 1e8, 1) if top >= 1e8 else ("wan", 1e4, 0)
        else:
            scale, factor, decimals = ("bn", 1e9, 2) if top >= 1e9 else ("mn", 1e6, 1)
    return {"t": t, "scale": scale, "factor": factor, "decimals": decimals}


def nice_step(top: float, ticks: int = TICKS) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` steps up to top.

    >>> nice_step(120e9), nice_step(7.0), nice_step(0.0)
    (50000000000.0, 2.0, 1.0)
    """
    if not (math.isfinite(top) and top > 0):
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    factor = next(f for f in (1.0, 2.0, 5.0, 10.0) if raw <= f * power)
    return float(factor * power)


def _r(v: float) -> float:
    return round(v, 1)


def _point(x: float, y: float, a: Actual) -> dict[str, Any]:
    return {"x": x, "y": y, "year": a.year, "value": a.value, "source": a.source.value}


def trajectory_chart(p: Progress) -> dict[str, Any] | None:
    """Where the target path, the figures, the projection and its band go; None when there is
    nothing to draw (no baseline and no figures).

    >>> from kiln.plan.model import Target, TargetKind
    >>> from kiln.plan.progress import Actual, Source, progress
    >>> t = Target("out", "x", TargetKind.LEVEL, 120.0, 2020, 2017, baseline_value=80.0)
    >>> c = trajectory_chart(progress(t, [Actual(2018, 88.0, Source.FILED)], as_of_year=2018))
    >>> [(x["year"], x["x"]) for x in c["xticks"]][::3], [g["value"] for g in c["yticks"]]
    ([(2017, 84.0), (2020, 622.0)], [0.0, 50.0, 100.0, 150.0])
    >>> [q["source"] for q in c["points"]], c["projection"]["from_year"], c["goal"]["x"]
    (['published', 'filed'], 2018, 622.0)
    """
    t = p.target
    # The baseline is drawn even where it does not count as a figure (an implied one).
    shown = list(p.actuals)
    if p.baseline is not None and all(a.year != p.baseline.year for a in shown):
        shown.insert(0, p.baseline)
    values = [v for _, v in p.trajectory] + [a.value for a in shown]
    if p.projection is not None:
        values += [p.projection.high, p.projection.central]
    if not values:
        return None
    y0, y1 = t.baseline_year, t.deadline_year
    plot_w, plot_h = CHART_W - LEFT - RIGHT, CHART_H - TOP - BOTTOM
    low = min(0.0, *values)
    step = nice_step(max(values) - low)
    top = math.ceil(max(values) / step) * step or step
    low = math.floor(low / step) * step

    def x(year: float) -> float:
        return _r(LEFT + plot_w * (year - y0) / (y1 - y0))

    def y(value: float) -> float:
        return _r(TOP + plot_h * (1.0 - (value - low) / (top - low)))

    chart: dict[str, Any] = {
        "width": CHART_W,
        "height": CHART_H,
        "left": LEFT,
        "right": CHART_W - RIGHT,
        "top": TOP,
        "bottom": CHART_H - BOTTOM,
        "xticks": [{"year": yr, "x": x(yr)} for yr in range(y0, y1 + 1)],
        "yticks": [
            {"value": v, "y": y(v)}
            for v in (low + i * step for i in range(round((top - low) / step) + 1))
        ],
        "path": " ".join(f"{x(yr)},{y(v)}" for yr, v in p.trajectory),
        "goal": None,
        "points": [_point(x(a.year), y(a.value), a) for a in shown],
        "projection": None,
    }
    if p.trajectory:
        year, value = p.trajectory[-1]
        chart["goal"] = {"x": x(year), "y": y(value), "value": value}
    latest = p.actuals[-1] if p.actuals else None
    pr = p.projection
    if pr is not None and latest is not None and latest.year < pr.year:
        sx, sy, ex = x(latest.year), y(latest.value), x(pr.year)
        chart["projection"] = {
            "from_year": latest.year,
            "line": f"{sx},{sy} {ex},{y(pr.central)}",
            "band": f"{sx},{sy} {ex},{y(pr.high)} {ex},{y(pr.low)}",
            "x": ex,
            "central": y(pr.central),
            "low": y(pr.low),
            "high": y(pr.high),
        }
    return chart
