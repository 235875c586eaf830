"""The equipment page's alarms and KPIs: what the issue asks of that page beyond its live
charts and state timeline, aggregated on the server for this one equipment."""

from __future__ import annotations

from typing import Any

from kiln.errors import BadInput
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService, Window
from kiln.kpi_service.rows import to_rows
from kiln.runtime import Runtime
from kiln.store.alarm_tables import AlarmQuery

ALARMS_SHOWN = 10


def equipment_extras(rt: Runtime, equipment_id: int) -> dict[str, Any]:
    """An equipment's alarms (newest first) and its OEE today by shift, aggregated on the
    server from its states and counts; the caller has checked the viewer owns it."""
    q = rt.catalog.equipment[equipment_id]
    alarms: list[dict[str, Any]] = []
    alarm_total = 0
    found, alarm_total = rt.store.alarms.find(
        AlarmQuery(enterprise_ids=[q.enterprise_id], equipment_id=q.id, limit=ALARMS_SHOWN)
    )
    for a in found:
        alarms.append(
            {
                "id": a.id,
                "severity": a.severity.name.lower(),
                "message": a.message,
                "raised_ms": a.raised_ms,
                "active": a.active,
                "acknowledged": a.acknowledged,
            }
        )
    service = KpiService(rt.store, rt.settings.kpi)
    now = rt.clock.now_ms()
    try:
        day = to_rows(
            service.table(
                rt.catalog, [q.id], KpiRequest(Level.EQUIPMENT, Window.DAY, energy=False), now
            )
        )
        shifts: list[dict[str, Any]] = []
        if day and day[0]["window_end_ms"] > day[0]["window_start_ms"]:
            req = KpiRequest(
                Level.EQUIPMENT,
                Window.SHIFT,
                day[0]["window_start_ms"],
                day[0]["window_end_ms"],
                False,
            )
            shifts = to_rows(service.table(rt.catalog, [q.id], req, now))
    except BadInput:
        day, shifts = [], []
    return {
        "alarms": alarms,
        "alarm_total": alarm_total,
        "kpi_day": day,
        "kpi_shifts": shifts,
        "line_id": rt.catalog.stations[q.station_id].line_id,
    }
