"""Rule definitions: every kind parses, round-trips through to_doc, and bad fields are named."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiln.domain.alarms import Severity
from kiln.domain.states import DEFAULT_MICRO_STOP_MS
from kiln.errors import BadInput
from kiln.stream.rule_defs import (
    RULE_TYPES,
    KpiRule,
    MicroStopsRule,
    Rule,
    Scope,
    StateRule,
    ThresholdRule,
    parse_rule,
)

WHERE = "kiln.toml: rules[3]"
BASE = {"name": "kiln-overheat", "severity": "high", "scope": "roller_kiln"}
THRESHOLD = {"kind": "threshold", **BASE, "signal": "firing_temp", "op": ">", "limit": 1200}


def test_a_threshold_rule_from_toml() -> None:
    r = parse_rule({**THRESHOLD, "deadband": 10, "for_s": 300, "description": "hot"}, where=WHERE)
    assert r == ThresholdRule(
        name="kiln-overheat",
        severity=Severity.HIGH,
        scope=Scope(template="roller_kiln"),
        description="hot",
        signal="firing_temp",
        op=">",
        limit=1200.0,
        deadband=10.0,
        for_s=300.0,
    )
    assert r.enabled
    assert r.clear_for_s == 0


def test_defaults_of_every_kind() -> None:
    m = parse_rule({"kind": "micro_stops", **BASE, "max_per_hour": 6}, where=WHERE)
    assert isinstance(m, MicroStopsRule)
    assert m.stop_ms == DEFAULT_MICRO_STOP_MS
    k = parse_rule({"kind": "kpi", **BASE, "kpi": "oee", "op": "<", "limit": 0.6}, where=WHERE)
    assert isinstance(k, KpiRule)
    assert k.over == "shift"
    s = parse_rule({"kind": "state", **BASE, "state": " Down_Fault ", "for_s": 600}, where=WHERE)
    assert isinstance(s, StateRule)
    assert s.state == "down_fault"


def test_scope_shorthands_and_tables() -> None:
    def scope(value: Any) -> Scope:
        return parse_rule({**THRESHOLD, "scope": value}, where=WHERE).scope

    assert scope([4, 5]) == Scope(equipment=(4, 5))
    assert scope({"enterprise": 7}) == Scope(enterprise=7)
    assert scope({"template": "press", "enterprise": 7}) == Scope("press", (), 7)


@pytest.mark.parametrize(
    ("change", "where", "what"),
    [
        ({"kind": "threshhold"}, "kind", "unknown kind 'threshhold'; expected one of threshold"),
        ({"limt": 3}, "limt", "unknown field 'limt' for a threshold rule"),
        ({"limit": None}, "limit", "None is not a number"),
        ({"limit": "high"}, "limit", "'high' is not a number"),
        ({"limit": True}, "limit", "True is not a number"),
        ({"limit": float("inf")}, "limit", "inf is not a finite number"),
        ({"op": ">="}, "op", "op '>=' is not one of >, <"),
        ({"for_s": -5}, "for_s", "-5 is negative"),
        ({"severity": "urgent"}, "severity", "unknown severity 'urgent'"),
        ({"severity": 3}, "severity", "3 is not a severity name"),
        ({"name": "Kiln Overheat"}, "name", "'Kiln Overheat' is not a slug"),
        ({"enabled": "yes"}, "enabled", "'yes' is not true or false"),
        ({"description": 5}, "description", "5 is not text"),
        ({"signal": ""}, "signal", "empty"),
        ({"scope": 5}, "scope", "5 is not a template, a list of ids or a table"),
        ({"scope": []}, "scope", "give one of"),
        ({"scope": [1, "x"]}, "scope.equipment", "[1, 'x'] is not a list of equipment ids"),
        ({"scope": [True]}, "scope.equipment", "is not a list of equipment ids"),
        ({"scope": {"plant": 1}}, "scope.plant", "unknown field 'plant'"),
        ({"scope": {"enterprise": 0}}, "scope.enterprise", "0 is not an enterprise id"),
        ({"scope": {"template": "Kiln!"}}, "scope.template", "'Kiln!' is not a template name"),
        ({"scope": {"equipment": [1], "enterprise": 2}}, "scope", "give one of"),
    ],
)
def test_a_bad_field_is_named_with_where_it_came_from(
    change: dict[str, Any], where: str, what: str
) -> None:
    with pytest.raises(
        BadInput, match="^" + rf"{WHERE}\.{where}: ".replace("[", r"\[").replace("]", r"\]")
    ) as err:
        parse_rule({**THRESHOLD, **change}, where=WHERE)
    assert what in err.value.what
    assert err.value.where == f"{WHERE}.{where}"


@pytest.mark.parametrize(
    ("doc", "where", "what"),
    [
        ({**BASE, "kind": "rate", "signal": "x"}, "max_per_min", "missing"),
        (
            {**BASE, "kind": "rate", "signal": "x", "max_per_min": 1, "window_s": 0},
            "window_s",
            "more than 0",
        ),
        (
            {**BASE, "kind": "state", "state": "asleep", "for_s": 1},
            "state",
            "unknown state 'asleep'",
        ),
        (
            {**BASE, "kind": "micro_stops", "max_per_hour": 2.5},
            "max_per_hour",
            "not a whole number",
        ),
        (
            {**BASE, "kind": "micro_stops", "max_per_hour": 2, "stop_ms": 0},
            "stop_ms",
            "more than 0",
        ),
        ({**BASE, "kind": "no_data"}, "for_s", "missing"),
        ({**BASE, "kind": "kpi", "kpi": "OEE%", "op": "<", "limit": 1}, "kpi", "not a KPI name"),
        (
            {**BASE, "kind": "kpi", "kpi": "oee", "op": "<", "limit": 1, "over": "week"},
            "over",
            "over 'week'",
        ),
        ({"kind": "no_data", "severity": "low", "scope": [1], "for_s": 1}, "name", "missing"),
        ({"kind": 3}, "kind", "3 is not text"),
    ],
)
def test_kind_specific_checks_name_the_field(doc: dict[str, Any], where: str, what: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_rule(doc, where=WHERE)
    assert err.value.where == f"{WHERE}.{where}"
    assert what in err.value.what


def test_a_rule_that_is_not_a_table_is_refused() -> None:
    with pytest.raises(BadInput, match=r"^rules\[0\]: a rule is a table of fields, not list"):
        parse_rule([1, 2], where="rules[0]")  # type: ignore[arg-type]


slug = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,10}[a-z0-9]\Z")
ident = st.from_regex(r"\A[a-z][a-z0-9_]{0,12}\Z")
num = st.floats(-1e6, 1e6, allow_nan=False).map(float)
pos = st.floats(0, 1e6).map(float)
scopes = st.one_of(
    st.builds(Scope, template=ident),
    st.builds(Scope, template=ident, enterprise=st.integers(1, 99)),
    st.builds(Scope, equipment=st.lists(st.integers(1, 10**6), min_size=1, max_size=4).map(tuple)),
    st.builds(Scope, enterprise=st.integers(1, 99)),
)
common = {
    "name": slug,
    "severity": st.sampled_from(list(Severity)),
    "scope": scopes,
    "enabled": st.booleans(),
    "description": st.text(max_size=20),
}
ops = st.sampled_from([">", "<"])
rules = st.one_of(
    st.builds(
        RULE_TYPES["threshold"],
        signal=ident,
        op=ops,
        limit=num,
        deadband=pos,
        for_s=pos,
        clear_for_s=pos,
        **common,
    ),
    st.builds(
        RULE_TYPES["rate"], signal=ident, max_per_min=pos, window_s=st.floats(1, 1e4), **common
    ),
    st.builds(
        RULE_TYPES["state"],
        state=st.sampled_from(["down_fault", "idle", "setup"]),
        for_s=pos,
        **common,
    ),
    st.builds(
        RULE_TYPES["micro_stops"],
        max_per_hour=st.integers(0, 100),
        stop_ms=st.integers(1, 10**7),
        **common,
    ),
    st.builds(RULE_TYPES["no_data"], for_s=pos, **common),
    st.builds(
        RULE_TYPES["kpi"],
        kpi=ident,
        op=ops,
        limit=num,
        over=st.sampled_from(["hour", "shift", "day"]),
        **common,
    ),
)


@given(rules)
def test_to_doc_parses_back_to_the_same_rule(r: Rule) -> None:
    doc = r.to_doc()
    assert doc["kind"] == r.kind
    assert isinstance(doc["severity"], str)
    assert parse_rule(doc, where="api") == r
