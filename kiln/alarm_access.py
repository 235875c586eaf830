"""Alarms as a caller may see and handle them, shared by the API and the console page.

An enterprise's users see and handle their enterprise's alarms (an alarm of another looks like
it does not exist); city roles see counts by severity only. Acknowledging and shelving need
`handle_alarms`; rules through the API need `manage_alarm_rules` and stay within the caller's
enterprise. Each change is audited.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from kiln.access import Access
from kiln.alarm_service.service import AlarmService
from kiln.auth.roles import Permission
from kiln.domain.alarms import Alarm, AlarmEvent, Severity
from kiln.errors import BadInput, Conflict, NotFound, Unavailable
from kiln.runtime import Runtime
from kiln.store.alarm_tables import AlarmQuery
from kiln.stream.rule_defs import Rule, parse_rule

MAX_SHELVE_MS = 7 * 86_400_000  # a shelved alarm comes back within a week


def alarm_doc(alarm: Alarm) -> dict[str, Any]:
    """An alarm as the API shows it: its fields, severity by name, and its state in words."""
    doc = asdict(alarm)
    doc["severity"] = alarm.severity.name.lower()
    doc["state"] = state_of(alarm)
    return doc


def state_of(alarm: Alarm) -> str:
    """raised, acknowledged, cleared (not yet acknowledged) or closed."""
    if alarm.closed:
        return "closed"
    if not alarm.active:
        return "cleared"
    return "acknowledged" if alarm.acknowledged else "raised"


def event_doc(event: AlarmEvent) -> dict[str, Any]:
    """A history row as the API shows it."""
    doc = asdict(event)
    doc["severity"] = event.severity.name.lower()
    return doc


def service(rt: Runtime) -> AlarmService:
    """The process's alarm service, or 503 when this process does not evaluate alarms."""
    if rt.alarms is None:
        raise Unavailable("alarms are not evaluated by this process ([alarms] enabled)")
    return rt.alarms


def scope(access: Access) -> list[int]:
    """The enterprises whose alarms the caller sees one by one."""
    access.require(Permission.READ_OWN_DATA)
    return [e.id for e in access.enterprises()]


def find(rt: Runtime, access: Access, query: AlarmQuery) -> tuple[list[Alarm], int]:
    """Alarms in the caller's scope matching the query."""
    mine = scope(access)
    if query.equipment_id is not None:
        access.equipment(query.equipment_id)  # 404 unless the caller's
    q = AlarmQuery(**{**_fields(query), "enterprise_ids": mine})
    return rt.store.alarms.find(q)


def _fields(query: AlarmQuery) -> dict[str, Any]:
    return {f: getattr(query, f) for f in query.__dataclass_fields__}


def one(rt: Runtime, access: Access, alarm_id: int) -> tuple[Alarm, list[AlarmEvent]]:
    """An alarm of the caller's enterprise with its history; 404 for any other."""
    mine = scope(access)
    alarm = rt.store.alarms.get(alarm_id)
    if alarm is None or alarm.enterprise_id not in mine:
        raise NotFound(f"no alarm {alarm_id}", where="path: alarm_id")
    return alarm, rt.store.alarms.history(alarm_id)


def summary(rt: Runtime, access: Access) -> dict[str, int]:
    """Open alarms per severity: the caller's enterprise, or the whole city for city roles."""
    if access.who.role.is_city:
        access.require(Permission.READ_CITY_AGGREGATES)
        counts = rt.store.alarms.severity_counts(None)
    else:
        counts = rt.store.alarms.severity_counts(scope(access))
    return {s.name.lower(): n for s, n in counts.items()}


def handle(
    rt: Runtime,
    access: Access,
    alarm_id: int,
    action: str,
    *,
    comment: str | None = None,
    minutes: float | None = None,
) -> Alarm:
    """Acknowledge, shelve (for minutes) or unshelve an alarm of the caller's enterprise."""
    access.require(Permission.HANDLE_ALARMS)
    one(rt, access, alarm_id)
    svc = service(rt)
    who = access.who.name
    if action == "acknowledge":
        alarm = svc.acknowledge(alarm_id, who, comment)
    elif action == "shelve":
        if minutes is None or not 0 < minutes * 60_000 <= MAX_SHELVE_MS:
            raise BadInput("minutes must be above 0 and at most a week", where="minutes")
        alarm = svc.shelve(alarm_id, who, rt.clock.now_ms() + int(minutes * 60_000), comment)
    elif action == "unshelve":
        alarm = svc.unshelve(alarm_id, who, comment)
    else:
        raise BadInput(f"unknown action {action!r}", where="path: action")
    rt.security.record(
        access.who, f"alarm.{action}", target=f"alarm {alarm_id}", enterprise_id=alarm.enterprise_id
    )
    return alarm


# -- rules -----------------------------------------------------------------------------------


def visible_rules(rt: Runtime, access: Access) -> list[tuple[Rule, str]]:
    """The rules that act on the caller's equipment (all of them for city roles)."""
    if access.who.role.is_city:
        access.require(Permission.READ_CITY_AGGREGATES)
        return service(rt).rules()
    mine = set(scope(access))
    cat = access.catalog
    out = []
    for rule, origin in service(rt).rules():
        s = rule.scope
        if s.enterprise is not None and s.enterprise not in mine:
            continue
        if s.equipment and not any(
            (q := cat.equipment.get(e)) is not None and q.enterprise_id in mine for e in s.equipment
        ):
            continue
        out.append((rule, origin))
    return out


def put_rule(rt: Runtime, access: Access, name: str, doc: dict[str, Any]) -> tuple[Rule, bool]:
    """Create or replace a rule of the caller's enterprise (its scope is confined to it)."""
    access.require(Permission.MANAGE_ALARM_RULES)
    own = access.who.enterprise_id
    if own is None:
        raise BadInput("rules are defined by an enterprise's admin", where="role")
    if doc.get("name", name) != name:
        raise BadInput(f"the body names rule {doc.get('name')!r}, the path {name!r}", where="name")
    body = {**doc, "name": name}
    raw = body.get("scope") or {}
    scope_doc = {"template": raw} if isinstance(raw, str) else dict(raw)
    if scope_doc.get("enterprise", own) != own:
        raise NotFound(f"no enterprise {scope_doc.get('enterprise')}", where="scope.enterprise")
    if not scope_doc.get("equipment"):  # equipment ids are checked one by one below
        scope_doc["enterprise"] = own
    body["scope"] = scope_doc
    rule = parse_rule(body, where="rule")
    for eq in rule.scope.equipment:
        access.equipment(eq)  # 404 unless the caller's
    existing = [r for r, origin in service(rt).rules() if r.name == name and origin == "api"]
    if existing and owner(existing[0], access) != own:
        raise Conflict(f"the rule name {name!r} is taken", where="name")
    saved, created = service(rt).put_rule(rule.to_doc(), who=access.who.name)
    rt.security.record(access.who, "alarm_rule.put", target=f"rule {name}", enterprise_id=own)
    return saved, created


def owner(rule: Rule, access: Access) -> int | None:
    """The enterprise a stored rule belongs to: its scope's, or its equipment's."""
    if rule.scope.enterprise is not None:
        return rule.scope.enterprise
    for eq in rule.scope.equipment:
        found = access.catalog.equipment.get(eq)
        if found is not None:
            return found.enterprise_id
    return None


def delete_rule(rt: Runtime, access: Access, name: str) -> None:
    """Delete a rule of the caller's enterprise; 404 for any other."""
    access.require(Permission.MANAGE_ALARM_RULES)
    own = access.who.enterprise_id
    mine = [r for r, origin in service(rt).rules() if r.name == name and origin == "api"]
    if not mine or owner(mine[0], access) != own:
        raise NotFound(f"no rule {name!r}", where="path: name")
    service(rt).delete_rule(name)
    rt.security.record(access.who, "alarm_rule.delete", target=f"rule {name}", enterprise_id=own)


def severity_of(text: str | None) -> Severity | None:
    """A severity query parameter, or None."""
    if text is None:
        return None
    try:
        return Severity.parse(text)
    except ValueError as err:
        raise BadInput(str(err), where="query: min_severity") from None
