"""Alarms and alarm rules.

An enterprise's users list, read, acknowledge and shelve its alarms; city roles read the open
alarms per severity. Rules from the configuration file are listed with origin "config" and
changed there; an enterprise admin defines rules on its own equipment here (origin "api").
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from kiln import alarm_access
from kiln.alarm_access import alarm_doc, event_doc
from kiln.api.deps import AccessDep, RuntimeDep
from kiln.api.errors import ERROR_RESPONSES
from kiln.store.alarm_tables import AlarmQuery
from kiln.stream.rule_defs import Rule

router = APIRouter(prefix="/api/v1", tags=["alarms"], responses=ERROR_RESPONSES)


def rule_doc(rule: Rule, origin: str) -> dict[str, Any]:
    """A rule as the API shows it, with where it is defined."""
    return {**rule.to_doc(), "origin": origin}


@router.get("/alarms", summary="Alarms, open ones first")
async def list_alarms(
    rt: RuntimeDep,
    access: AccessDep,
    open_only: Annotated[bool, Query(alias="open", description="open alarms only")] = False,
    equipment_id: Annotated[int | None, Query(ge=0)] = None,
    min_severity: Annotated[str | None, Query(max_length=10, description="e.g. high")] = None,
    since_ms: Annotated[int | None, Query(ge=0, description="raised at or after")] = None,
    until_ms: Annotated[int | None, Query(ge=0, description="raised before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The caller's enterprise's alarms, open first, then by severity and newest; `total`
    counts every match for paging."""
    query = AlarmQuery(
        open_only=open_only,
        equipment_id=equipment_id,
        min_severity=alarm_access.severity_of(min_severity),
        since_ms=since_ms,
        until_ms=until_ms,
        limit=limit,
        offset=offset,
    )
    alarms, total = await run_in_threadpool(alarm_access.find, rt, access, query)
    return {"alarms": [alarm_doc(a) for a in alarms], "total": total}


@router.get("/alarms/summary", summary="Open alarms per severity")
async def alarm_summary(rt: RuntimeDep, access: AccessDep) -> dict[str, int]:
    """Open alarms per severity: the caller's enterprise, or the city's total for city roles."""
    return await run_in_threadpool(alarm_access.summary, rt, access)


@router.get("/alarms/{alarm_id}", summary="One alarm with its history")
async def get_alarm(rt: RuntimeDep, access: AccessDep, alarm_id: int) -> dict[str, Any]:
    """The alarm and every event of its life: raised, acknowledged (by whom, with what
    comment), shelved, cleared."""
    alarm, history = await run_in_threadpool(alarm_access.one, rt, access, alarm_id)
    return {**alarm_doc(alarm), "history": [event_doc(e) for e in history]}


class AckBody(BaseModel):
    """What a person says when acknowledging or unshelving."""

    comment: str | None = Field(None, max_length=1000)


class ShelveBody(BaseModel):
    """How long to silence an alarm, and why."""

    minutes: float = Field(gt=0, le=7 * 24 * 60, description="at most a week")
    comment: str | None = Field(None, max_length=1000)


@router.post("/alarms/{alarm_id}/acknowledge", summary="Acknowledge an alarm")
async def acknowledge(
    rt: RuntimeDep, access: AccessDep, alarm_id: int, body: AckBody
) -> dict[str, Any]:
    """Say that a person has seen the alarm; a cleared alarm then closes. 409 if it already
    was acknowledged or is closed."""
    alarm = await run_in_threadpool(
        alarm_access.handle, rt, access, alarm_id, "acknowledge", comment=body.comment
    )
    return alarm_doc(alarm)


@router.post("/alarms/{alarm_id}/shelve", summary="Shelve an alarm for a while")
async def shelve(
    rt: RuntimeDep, access: AccessDep, alarm_id: int, body: ShelveBody
) -> dict[str, Any]:
    """Silence an open alarm (no notifications, no changes shown) for some minutes."""
    alarm = await run_in_threadpool(
        lambda: alarm_access.handle(
            rt, access, alarm_id, "shelve", comment=body.comment, minutes=body.minutes
        )
    )
    return alarm_doc(alarm)


@router.post("/alarms/{alarm_id}/unshelve", summary="End a shelving early")
async def unshelve(
    rt: RuntimeDep, access: AccessDep, alarm_id: int, body: AckBody
) -> dict[str, Any]:
    """Bring a shelved alarm back; 409 if it is not shelved."""
    alarm = await run_in_threadpool(
        alarm_access.handle, rt, access, alarm_id, "unshelve", comment=body.comment
    )
    return alarm_doc(alarm)


@router.get("/alarm-rules", summary="Alarm rules in force")
async def list_rules(rt: RuntimeDep, access: AccessDep) -> list[dict[str, Any]]:
    """Rules acting on the caller's equipment, each with its origin (config or api)."""
    rules = await run_in_threadpool(alarm_access.visible_rules, rt, access)
    return [rule_doc(r, origin) for r, origin in rules]


@router.put("/alarm-rules/{name}", summary="Create or replace an alarm rule")
async def put_rule(
    rt: RuntimeDep, access: AccessDep, name: str, body: dict[str, Any], response: Response
) -> dict[str, Any]:
    """A rule on the caller's enterprise's equipment (docs/alarms.md gives every kind and
    field); 201 when new. A bad field answers 422 naming it."""
    rule, created = await run_in_threadpool(alarm_access.put_rule, rt, access, name, body)
    response.status_code = 201 if created else 200
    return rule_doc(rule, "api")


@router.delete("/alarm-rules/{name}", summary="Delete an alarm rule", status_code=204)
async def delete_rule(rt: RuntimeDep, access: AccessDep, name: str) -> Response:
    """Delete a rule the caller's enterprise defined; its open alarms clear as data comes."""
    await run_in_threadpool(alarm_access.delete_rule, rt, access, name)
    return Response(status_code=204)
