"""Geometry of the KPI pages' server-rendered SVG: the loss waterfall and the trend chart.

Only numbers come out (positions in the SVG's own units); the templates draw them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kiln.web.i18n import N_, gettext

WATERFALL_H = 180.0  # plot height in SVG units
BAR_W, GAP = 74.0, 14.0
# The steps of domain.md 1.4, from planned busy time down to fully productive time.
LOSSES = (
    ("unplanned_stops_min", N_("Unplanned stops"), "loss-stops"),
    ("setup_min", N_("Setup"), "loss-setup"),
    ("minor_stops_min", N_("Minor stops"), "loss-minor"),
    ("reduced_speed_min", N_("Reduced speed"), "loss-speed"),
    ("quality_loss_min", N_("Quality loss"), "loss-quality"),
)
TREND_W, TREND_H = 640.0, 180.0
SERIES_CLASSES = 6  # trend-0 .. trend-5 in kpi.css


def _bar(i: int, top: float, bottom: float, scale: float) -> dict[str, float]:
    lo, hi = sorted((bottom, top))
    return {
        "x": GAP + i * (BAR_W + GAP),
        "y": WATERFALL_H - hi * scale,
        "width": BAR_W,
        "height": max((hi - lo) * scale, 0.0),
    }


def waterfall(row: dict[str, Any]) -> dict[str, Any]:
    """The steps from planned busy time through the six big losses to fully productive time,
    each with its bar; an undefined step (no ideal cycle) keeps its reason and has no bar.

    >>> w = waterfall({"pbt_min": 450.0, "unplanned_stops_min": 45.0, "setup_min": 25.0,
    ...     "minor_stops_min": 0.0, "reduced_speed_min": 30.0, "quality_loss_min": 17.5,
    ...     "fully_productive_min": 332.5, "unknown_min": 0.0, "reasons": {}})
    >>> [(s["label"], s["minutes"], s["bar"]["height"]) for s in w["steps"]][-1]
    ('Fully productive', 332.5, 133.0)
    """
    pbt = float(row.get("pbt_min") or 0.0)
    reasons = row.get("reasons") or {}
    scale = WATERFALL_H / pbt if pbt > 0 else 0.0
    steps = [
        {
            "label": gettext("Planned busy time"),
            "minutes": pbt,
            "kind": "loss-pbt",
            "bar": _bar(0, pbt, 0.0, scale),
            "reason": reasons.get("availability", "") if pbt <= 0 else "",
        }
    ]
    level = pbt
    for i, (name, label, kind) in enumerate(LOSSES, start=1):
        value = row.get(name)
        step: dict[str, Any] = {
            "label": gettext(label),
            "minutes": value,
            "kind": kind,
            "bar": None,
        }
        if value is None:
            step["reason"] = reasons.get(name, "undefined")
        else:
            shown = max(float(value), 0.0)  # a negative speed loss is flagged, not drawn
            step["bar"] = _bar(i, level, level - shown, scale)
            step["reason"] = ""
            level -= shown
        steps.append(step)
    fpt = row.get("fully_productive_min")
    last = len(LOSSES) + 1
    steps.append(
        {
            "label": gettext("Fully productive"),
            "minutes": fpt,
            "kind": "loss-fpt",
            "bar": None if fpt is None else _bar(last, float(fpt), 0.0, scale),
            "reason": reasons.get("fully_productive_min", "") if fpt is None else "",
        }
    )
    return {
        "steps": steps,
        "width": GAP + (last + 1) * (BAR_W + GAP),
        "height": WATERFALL_H,
        "unknown_min": float(row.get("unknown_min") or 0.0),
    }


def trend_chart(rows: Sequence[dict[str, Any]], kpi: str) -> dict[str, Any]:
    """Per row key a polyline of the KPI (0..1) over the periods; gaps where it is undefined.

    >>> c = trend_chart([{"key": "1", "name": "L", "period": "d1", "window_start_ms": 0,
    ...     "oee": 0.5, "reasons": {}}], "oee")
    >>> c["series"][0]["segments"]
    ['0.0,90.0']
    """
    periods = sorted({(r["window_start_ms"], r["period"]) for r in rows})
    index = {start: i for i, (start, _) in enumerate(periods)}
    step = TREND_W / max(len(periods) - 1, 1)
    series: dict[str, dict[str, Any]] = {}
    for r in rows:
        s = series.setdefault(
            r["key"],
            {
                "key": r["key"],
                "name": r["name"],
                "css": f"trend-{len(series) % SERIES_CLASSES}",
                "points": [None] * len(periods),
            },
        )
        s["points"][index[r["window_start_ms"]]] = r.get(kpi)
    for s in series.values():
        segments: list[str] = []
        current: list[str] = []
        for i, v in enumerate(s["points"]):
            if v is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            y = TREND_H * (1.0 - min(max(float(v), 0.0), 1.0))
            current.append(f"{i * step:.1f},{y:.1f}")
        if current:
            segments.append(" ".join(current))
        s["segments"] = segments
        s["dots"] = [
            {"x": i * step, "y": TREND_H * (1.0 - min(max(float(v), 0.0), 1.0)), "value": v}
            for i, v in enumerate(s["points"])
            if v is not None
        ]
    return {
        "series": list(series.values()),
        "periods": [label for _, label in periods],
        "width": TREND_W,
        "height": TREND_H,
        "grid": [{"y": TREND_H * (1 - f), "label": f"{round(100 * f)}%"} for f in (0, 0.5, 1)],
    }
