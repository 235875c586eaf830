"""Alarm rules as data: one frozen dataclass per kind, parsed from and written back to dicts.

A rule arrives as a mapping from kiln.toml, the API's JSON or the console's form; `parse_rule`
checks every field and names the bad one and where it came from, and `Rule.to_doc` gives the
mapping back (``parse_rule(r.to_doc(), where=...) == r``). The scope says which equipment a
rule watches: every equipment of a template (optionally of one enterprise), a list of equipment
ids, or all of an enterprise's equipment.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from kiln.domain.alarms import Severity
from kiln.domain.assets import check_slug
from kiln.domain.states import DEFAULT_MICRO_STOP_MS, EquipmentState
from kiln.errors import BadInput

OPS = (">", "<")
KPI_PERIODS = ("hour", "shift", "day")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class Scope:
    """Which equipment a rule watches: a template's, a list of ids, or a whole enterprise's."""

    template: str | None = None
    equipment: tuple[int, ...] = ()
    enterprise: int | None = None  # alone: all its equipment; with a template: its only

    def to_doc(self) -> dict[str, Any]:
        """The scope as a mapping, leaving out what is unset."""
        doc: dict[str, Any] = {}
        if self.template is not None:
            doc["template"] = self.template
        if self.equipment:
            doc["equipment"] = list(self.equipment)
        if self.enterprise is not None:
            doc["enterprise"] = self.enterprise
        return doc


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleBase:
    """What every rule has: a slug name, a severity, a scope, a switch and a description."""

    kind: ClassVar[str] = ""
    name: str
    severity: Severity
    scope: Scope
    enabled: bool = True
    description: str = ""

    def to_doc(self) -> dict[str, Any]:
        """The rule as a mapping that `parse_rule` reads back to an equal rule."""
        doc: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Severity):
                value = value.name.lower()
            elif isinstance(value, Scope):
                value = value.to_doc()
            doc[f.name] = value
        return doc


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdRule(RuleBase):
    """A signal beyond a limit for at least for_s; it clears once back past limit ∓ deadband."""

    kind: ClassVar[str] = "threshold"
    signal: str
    op: str  # ">" raises above the limit, "<" below it
    limit: float
    deadband: float = 0.0
    for_s: float = 0.0
    clear_for_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RateRule(RuleBase):
    """A signal changing faster than max_per_min (up or down), measured over window_s."""

    kind: ClassVar[str] = "rate"
    signal: str
    max_per_min: float
    window_s: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class StateRule(RuleBase):
    """The equipment staying in one state (e.g. down_fault) for longer than for_s."""

    kind: ClassVar[str] = "state"
    state: str
    for_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class MicroStopsRule(RuleBase):
    """More than max_per_hour micro-stops (idle or fault runs shorter than stop_ms) in an hour."""

    kind: ClassVar[str] = "micro_stops"
    max_per_hour: int
    stop_ms: int = DEFAULT_MICRO_STOP_MS


@dataclass(frozen=True, slots=True, kw_only=True)
class NoDataRule(RuleBase):
    """The equipment sent nothing (no point, state or count) for for_s."""

    kind: ClassVar[str] = "no_data"
    for_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class KpiRule(RuleBase):
    """A KPI of a period (e.g. the shift's OEE) beyond a limit."""

    kind: ClassVar[str] = "kpi"
    kpi: str
    op: str
    limit: float
    over: str = "shift"


Rule = ThresholdRule | RateRule | StateRule | MicroStopsRule | NoDataRule | KpiRule
RULE_TYPES: dict[str, type[Rule]] = {
    t.kind: t for t in (ThresholdRule, RateRule, StateRule, MicroStopsRule, NoDataRule, KpiRule)
}


def parse_rule(doc: Mapping[str, Any], *, where: str) -> Rule:
    """Check a rule's mapping and build it; BadInput names the field and where.

    >>> r = parse_rule({"kind": "no_data", "name": "silent", "severity": "low",
    ...                 "scope": "roller_kiln", "for_s": 300}, where="kiln.toml: rules[0]")
    >>> r.for_s, r.scope.template
    (300.0, 'roller_kiln')
    >>> parse_rule({"kind": "no_data"}, where="kiln.toml: rules[1]")
    Traceback (most recent call last):
    kiln.errors.BadInput: kiln.toml: rules[1].name: missing
    """
    if not isinstance(doc, Mapping):
        raise BadInput(f"a rule is a table of fields, not {type(doc).__name__}", where=where)
    kind = _text(doc, "kind", where)
    cls = RULE_TYPES.get(kind)
    if cls is None:
        raise BadInput(
            f"unknown kind {kind!r}; expected one of {', '.join(RULE_TYPES)}",
            where=at(where, "kind"),
        )
    known = {f.name for f in fields(cls)} | {"kind"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise BadInput(
            f"unknown field {unknown[0]!r} for a {kind} rule", where=at(where, unknown[0])
        )
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in doc:
            if f.name in _REQUIRED or f.name in _REQUIRED_OF.get(kind, ()):
                raise BadInput("missing", where=at(where, f.name))
            continue
        values[f.name] = _FIELDS[f.name](doc, f.name, where)
    rule = cls(**values)
    _check(rule, where)
    return rule


def at(where: str, field_name: str) -> str:
    """Where a field is: the rule's place and the field's name."""
    return f"{where}.{field_name}"


def _check(rule: Rule, where: str) -> None:
    """Checks across fields and of values against their kind."""
    if isinstance(rule, ThresholdRule | KpiRule) and rule.op not in OPS:
        raise BadInput(f"op {rule.op!r} is not one of {', '.join(OPS)}", where=at(where, "op"))
    if isinstance(rule, KpiRule):
        if not _NAME.match(rule.kpi):
            raise BadInput(f"{rule.kpi!r} is not a KPI name", where=at(where, "kpi"))
        if rule.over not in KPI_PERIODS:
            what = f"over {rule.over!r} is not one of {', '.join(KPI_PERIODS)}"
            raise BadInput(what, where=at(where, "over"))
    if isinstance(rule, RateRule) and rule.window_s <= 0:
        raise BadInput("window_s must be more than 0", where=at(where, "window_s"))
    if isinstance(rule, MicroStopsRule) and rule.stop_ms <= 0:
        raise BadInput("stop_ms must be more than 0", where=at(where, "stop_ms"))


_REQUIRED = ("name", "severity", "scope")
_REQUIRED_OF = {
    "threshold": ("signal", "op", "limit"),
    "rate": ("signal", "max_per_min"),
    "state": ("state", "for_s"),
    "micro_stops": ("max_per_hour",),
    "no_data": ("for_s",),
    "kpi": ("kpi", "op", "limit"),
}


def _text(doc: Mapping[str, Any], key: str, where: str) -> str:
    value = doc.get(key)
    if value is None:
        raise BadInput("missing", where=at(where, key))
    if not isinstance(value, str):
        raise BadInput(f"{value!r} is not text", where=at(where, key))
    return value.strip()


def _free_text(doc: Mapping[str, Any], key: str, where: str) -> str:
    value = doc[key]
    if not isinstance(value, str):
        raise BadInput(f"{value!r} is not text", where=at(where, key))
    return value


def _name(doc: Mapping[str, Any], key: str, where: str) -> str:
    try:
        return check_slug(_text(doc, key, where), where="name")
    except ValueError as err:
        raise BadInput(str(err).removeprefix("name: "), where=at(where, key)) from None


def _signal(doc: Mapping[str, Any], key: str, where: str) -> str:
    text = _text(doc, key, where)
    if not text:
        raise BadInput("empty", where=at(where, key))
    return text


def _state(doc: Mapping[str, Any], key: str, where: str) -> str:
    try:
        return EquipmentState.parse(_text(doc, key, where)).name.lower()
    except ValueError as err:
        raise BadInput(str(err), where=at(where, key)) from None


def _number(doc: Mapping[str, Any], key: str, where: str) -> float:
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"{value!r} is not a number", where=at(where, key))
    if not math.isfinite(value):
        raise BadInput(f"{value!r} is not a finite number", where=at(where, key))
    return float(value)


def _non_negative(doc: Mapping[str, Any], key: str, where: str) -> float:
    value = _number(doc, key, where)
    if value < 0:
        raise BadInput(f"{value:g} is negative", where=at(where, key))
    return value


def _count(doc: Mapping[str, Any], key: str, where: str) -> int:
    value = doc[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadInput(f"{value!r} is not a whole number of at least 0", where=at(where, key))
    return value


def _flag(doc: Mapping[str, Any], key: str, where: str) -> bool:
    value = doc[key]
    if not isinstance(value, bool):
        raise BadInput(f"{value!r} is not true or false", where=at(where, key))
    return value


def _severity(doc: Mapping[str, Any], key: str, where: str) -> Severity:
    value = doc[key]
    if isinstance(value, Severity):
        return value
    if not isinstance(value, str):
        raise BadInput(f"{value!r} is not a severity name", where=at(where, key))
    try:
        return Severity.parse(value)
    except ValueError as err:
        raise BadInput(str(err), where=at(where, key)) from None


def _scope(doc: Mapping[str, Any], key: str, where: str) -> Scope:
    """A template name, a list of equipment ids, or a table of template/equipment/enterprise."""
    value, here = doc[key], at(where, key)
    if isinstance(value, str):
        value = {"template": value}
    elif isinstance(value, list | tuple):
        value = {"equipment": value}
    if not isinstance(value, Mapping):
        raise BadInput(f"{value!r} is not a template, a list of ids or a table", where=here)
    unknown = sorted(set(value) - {"template", "equipment", "enterprise"})
    if unknown:
        raise BadInput(f"unknown field {unknown[0]!r}", where=at(here, unknown[0]))
    template = _text(value, "template", here) if "template" in value else None
    if template is not None and not _NAME.match(template):
        raise BadInput(f"{template!r} is not a template name", where=at(here, "template"))
    ids = value.get("equipment", [])
    if not isinstance(ids, list | tuple) or not all(_is_id(i) for i in ids):
        raise BadInput(f"{ids!r} is not a list of equipment ids", where=at(here, "equipment"))
    enterprise = value.get("enterprise")
    if enterprise is not None and not _is_id(enterprise):
        raise BadInput(f"{enterprise!r} is not an enterprise id", where=at(here, "enterprise"))
    if (template is not None) + bool(ids) + (enterprise is not None and template is None) != 1:
        what = "give one of: a template (with an optional enterprise), equipment ids, an enterprise"
        raise BadInput(what, where=here)
    return Scope(template, tuple(int(i) for i in ids), enterprise)


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


_FIELDS: dict[str, Callable[[Mapping[str, Any], str, str], Any]] = {
    "name": _name,
    "severity": _severity,
    "scope": _scope,
    "enabled": _flag,
    "description": _free_text,
    "signal": _signal,
    "op": _text,
    "limit": _number,
    "deadband": _non_negative,
    "for_s": _non_negative,
    "clear_for_s": _non_negative,
    "max_per_min": _non_negative,
    "window_s": _non_negative,
    "state": _state,
    "max_per_hour": _count,
    "stop_ms": _count,
    "kpi": _text,
    "over": _text,
}
