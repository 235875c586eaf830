"""The plan tracker's results as JSON-ready data, for the API, the pages and the report."""

from __future__ import annotations

import dataclasses
import math
from enum import Enum
from typing import Any

from kiln.plan.filings import Filing, Period
from kiln.plan.model import Scope
from kiln.plan_service.service import Dashboard
from kiln.plan_service.tables import Cell, IndicatorTable


def plain(obj: Any) -> Any:
    """Dataclasses, enums, tuples and maps as JSON values; NaN and infinities as null."""
    if isinstance(obj, Cell):
        return {"value": obj.value, "why": obj.why, "n": obj.n}
    if isinstance(obj, Scope):
        return obj.text
    if isinstance(obj, Period):
        return obj.text
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        for name in ("share", "is_ratio"):
            if hasattr(type(obj), name) and isinstance(getattr(type(obj), name), property):
                out[name] = plain(getattr(obj, name))
        return out
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(plain(k)): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def filing_json(f: Filing, slug: str = "") -> dict[str, Any]:
    """One filing version."""
    return {
        "enterprise_id": f.enterprise_id,
        "enterprise": slug,
        "period": f.period.text,
        "version": f.version,
        "figures": dict(f.figures),
        "reason": f.reason,
        "filed_by": f.filed_by,
        "filed_ms": f.filed_ms,
        "channel": f.channel,
        "flags": [{"field": g.field, "what": g.what} for g in f.flags],
    }


def table_json(t: IndicatorTable) -> dict[str, Any]:
    """An indicator table."""
    data: dict[str, Any] = plain(t)
    data["indicator"] = t.indicator.key
    data["unit"] = t.indicator.unit
    return data


def dashboard_json(d: Dashboard) -> dict[str, Any]:
    """A plan's dashboard."""
    return {
        "plan": plain(d.plan),
        "as_of_year": d.as_of_year,
        "targets": [
            {
                "target": plain(v.target),
                "indicator": v.indicator.key,
                "unit": v.indicator.unit,
                "progress": {k: plain(val) for k, val in _progress(v.progress).items()},
                "coverage": plain(v.coverage),
                "withheld_years": list(v.withheld_years),
            }
            for v in d.targets
        ],
        "tables": [table_json(t) for t in d.tables],
        "published": plain(list(d.published)),
    }


def _progress(p: Any) -> dict[str, Any]:
    out = {f.name: getattr(p, f.name) for f in dataclasses.fields(p) if f.name != "target"}
    out["trajectory"] = [{"year": y, "value": v} for y, v in p.trajectory]
    out["yoy_pct"] = {str(k): v for k, v in p.yoy_pct.items()}
    return out
