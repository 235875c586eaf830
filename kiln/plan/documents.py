"""Plans, indicators and published figures from documents (TOML, JSON, CSV rows) and back.

The same shapes are the seed file, the API's bodies and what the store keeps, so a plan the
city admin posts reads exactly like the seed. Errors name the key path that is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from kiln.errors import BadInput
from kiln.plan.indicators import Aggregation, Indicator, IndicatorConfig, Origin
from kiln.plan.model import CITY, Bound, Plan, Scope, Target, TargetKind

T = TypeVar("T")

# Units published figures come in, to the indicator's stored unit.
PUBLISHED_UNITS = {"yuan": 1.0, "万元": 1e4, "亿元": 1e8, "bn yuan": 1e9, "trillion yuan": 1e12}


class Measure(StrEnum):
    """A published figure is a level, or a growth on the year before in percent."""

    LEVEL = "level"
    GROWTH = "growth"


@dataclass(frozen=True, slots=True)
class PublishedFigure:
    """A figure the statistics bureau or the press published, with its source."""

    indicator: str
    year: int
    value: float  # a level in the indicator's unit, or a growth in percent
    measure: Measure = Measure.LEVEL
    scope: Scope = CITY
    source: str = ""
    note: str = ""
    reliability: str = "high"  # "low": a mirror or aggregator, cross-check before quoting


def _req(doc: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in doc:
        raise BadInput(f"missing key {key!r}", where=where)
    return doc[key]


def _build(where: str, make: Callable[..., T], **kwargs: Any) -> T:
    try:
        return make(**kwargs)
    except (ValueError, TypeError) as err:
        raise BadInput(str(err), where=where) from None


def target_from(doc: Mapping[str, Any], *, where: str) -> Target:
    """A target from its document form."""
    known = {
        "key", "indicator", "kind", "value", "deadline_year", "baseline_year", "bound",
        "scope", "baseline_value", "name_en", "name_zh",
    }  # fmt: skip
    extra = set(doc) - known
    if extra:
        raise BadInput(f"unknown keys {sorted(extra)}", where=where)
    try:
        kind = TargetKind(_req(doc, "kind", where))
        bound = Bound(doc.get("bound", "floor"))
        scope = Scope.parse(str(doc.get("scope", "city")))
        value = float(_req(doc, "value", where))
        base = doc.get("baseline_value")
        baseline_value = None if base is None else float(base)
    except ValueError as err:
        raise BadInput(str(err), where=where) from None
    if not math.isfinite(value):
        raise BadInput("value is not a finite number", where=f"{where}.value")
    return _build(
        where,
        Target,
        key=str(_req(doc, "key", where)),
        indicator=str(_req(doc, "indicator", where)),
        kind=kind,
        value=value,
        deadline_year=int(_req(doc, "deadline_year", where)),
        baseline_year=int(_req(doc, "baseline_year", where)),
        bound=bound,
        scope=scope,
        baseline_value=baseline_value,
        name_en=str(doc.get("name_en", "")),
        name_zh=str(doc.get("name_zh", "")),
    )


def plan_from(key: str, doc: Mapping[str, Any], config: IndicatorConfig, *, where: str) -> Plan:
    """A plan from its document form; every target's indicator must be defined."""
    targets = []
    for i, t in enumerate(doc.get("targets", [])):
        target = target_from(t, where=f"{where}.targets[{i}]")
        if target.indicator not in config.indicators:
            raise BadInput(
                f"indicator {target.indicator!r} is not defined",
                where=f"{where}.targets[{i}].indicator",
            )
        targets.append(target)
    return _build(
        where,
        Plan,
        key=key,
        name_en=str(doc.get("name_en", key)),
        name_zh=str(doc.get("name_zh", "")),
        start_year=int(_req(doc, "start_year", where)),
        end_year=int(_req(doc, "end_year", where)),
        issuer=str(doc.get("issuer", "")),
        issued=str(doc.get("issued", "")),
        targets=tuple(targets),
        issuer_zh=str(doc.get("issuer_zh", "")),
    )


def plan_doc(plan: Plan) -> dict[str, Any]:
    """The document form of a plan (what plan_from reads)."""
    return {
        "name_en": plan.name_en,
        "name_zh": plan.name_zh,
        "start_year": plan.start_year,
        "end_year": plan.end_year,
        "issuer": plan.issuer,
        "issuer_zh": plan.issuer_zh,
        "issued": plan.issued,
        "targets": [target_doc(t) for t in plan.targets],
    }


def target_doc(t: Target) -> dict[str, Any]:
    """The document form of a target."""
    doc: dict[str, Any] = {
        "key": t.key,
        "name_en": t.name_en,
        "name_zh": t.name_zh,
        "indicator": t.indicator,
        "kind": t.kind.value,
        "value": t.value,
        "baseline_year": t.baseline_year,
        "deadline_year": t.deadline_year,
        "bound": t.bound.value,
        "scope": t.scope.text,
    }
    if t.baseline_value is not None:
        doc["baseline_value"] = t.baseline_value
    return doc


def config_from(doc: Mapping[str, Any], *, where: str = "indicators") -> IndicatorConfig:
    """Indicators and industry sets from a document with 'indicators' and 'industry_sets'."""
    sets = {
        str(name): tuple(str(c).upper().removeprefix("C") for c in codes)
        for name, codes in doc.get("industry_sets", {}).items()
    }
    indicators: dict[str, Indicator] = {}
    for key, d in doc.get("indicators", {}).items():
        spot = f"{where}.{key}"
        try:
            origin = Origin(d.get("origin", "filed"))
            aggregation = Aggregation(d.get("aggregation", "sum"))
        except ValueError as err:
            raise BadInput(str(err), where=spot) from None
        indicators[key] = _build(
            spot,
            Indicator,
            key=key,
            name_en=str(d.get("name_en", key)),
            name_zh=str(d.get("name_zh", "")),
            unit=str(d.get("unit", "")),
            origin=origin,
            numerator=str(d.get("numerator", "")),
            denominator=str(d.get("denominator", "")),
            scale=float(d.get("scale", 1.0)),
            aggregation=aggregation,
            industries=str(d.get("industries", "")),
        )
    return _build(where, IndicatorConfig, indicators=indicators, industry_sets=sets)


def config_doc(config: IndicatorConfig) -> dict[str, Any]:
    """The document form of the indicator configuration."""
    indicators = {}
    for key, i in config.indicators.items():
        d: dict[str, Any] = {"name_en": i.name_en, "name_zh": i.name_zh, "unit": i.unit}
        if i.origin is not Origin.FILED:
            d["origin"] = i.origin.value
        for name in ("numerator", "denominator", "industries"):
            if getattr(i, name):
                d[name] = getattr(i, name)
        if i.scale != 1.0:
            d["scale"] = i.scale
        if i.aggregation is not Aggregation.SUM:
            d["aggregation"] = i.aggregation.value
        indicators[key] = d
    return {
        "industry_sets": {k: list(v) for k, v in config.industry_sets.items()},
        "indicators": indicators,
    }


def published_from(
    row: Mapping[str, str], config: IndicatorConfig, *, where: str
) -> PublishedFigure:
    """A published figure from a CSV row (indicator, scope, year, measure, value, unit, ...)."""
    try:
        indicator = config.indicator(str(_req(row, "indicator", where)))
        measure = Measure(row.get("measure") or "level")
        value = float(_req(row, "value", where))
        year = int(_req(row, "year", where))
        scope = Scope.parse(row.get("scope") or "city")
    except (KeyError, ValueError) as err:
        raise BadInput(str(err).strip("'\""), where=where) from None
    unit = (row.get("unit") or "").strip()
    if measure is Measure.LEVEL and indicator.unit == "yuan":
        if unit not in PUBLISHED_UNITS:
            raise BadInput(
                f"unit {unit!r} is not one of {', '.join(PUBLISHED_UNITS)}", where=f"{where}.unit"
            )
        value *= PUBLISHED_UNITS[unit]
    return PublishedFigure(
        indicator=indicator.key,
        year=year,
        value=value,
        measure=measure,
        scope=scope,
        source=str(row.get("source", "")),
        note=str(row.get("note", "")),
        reliability=str(row.get("reliability") or "high"),
    )
