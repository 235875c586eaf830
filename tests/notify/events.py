"""Alarm events and asset names the notification tests send."""

from __future__ import annotations

from kiln.domain.alarms import AlarmEvent, Severity
from kiln.notify.payload import Names


def event(
    *,
    alarm_id: int = 42,
    action: str = "raised",
    severity: Severity = Severity.HIGH,
    enterprise_id: int = 3,
    message: str = "firing_temp 1,212 °C above 1,200 °C",
) -> AlarmEvent:
    """An alarm event on kiln-1 of enterprise 3, raised at 2025-11-27 10:31:29 UTC."""
    return AlarmEvent(
        alarm_id=alarm_id,
        action=action,
        ts_ms=1_764_239_489_000,
        key=f"rule:kiln-overheat:eq:{alarm_id}",
        enterprise_id=enterprise_id,
        equipment_id=7,
        severity=severity,
        kind="threshold",
        message=message,
    )


def describe(ev: AlarmEvent) -> Names:
    """The caller's naming of assets, as the runtime would give it from its catalogue."""
    return Names(
        enterprise_slug="acme-ceramics",
        enterprise_name="Acme Ceramics",
        equipment_name="kiln-1",
        path="acme-ceramics/plant-1/line-2/kiln-1",
    )
