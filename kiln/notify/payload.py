"""The JSON body a webhook receives for one alarm event, and its signature.

The body (``kiln.alarm-event/1``; fields are only ever added, never renamed)::

    {
      "schema": "kiln.alarm-event/1",
      "id": "42:raised:1764239489000",  # alarm_id:action:ts_ms, the same for every target
      "alarm_id": 42,
      "action": "raised",              # raised, cleared, acknowledged, shelved, unshelved,
                                       # flapping, escalated
      "ts_ms": 1764239489000,          # when it happened, UTC epoch milliseconds
      "time": "2025-11-27T10:31:29Z",  # the same instant in ISO 8601
      "severity": "high",              # low, medium, high, critical
      "severity_code": 3,              # 1..4, larger is more urgent (ISA-18.2 priority)
      "kind": "threshold",             # threshold, rate, state, micro_stops, no_data, kpi, anomaly
      "key": "rule:kiln-overheat:eq:7",
      "message": "firing_temp 1,212 °C above 1,200 °C",
      "who": null, "comment": null,    # the user and their note, for acknowledged / shelved
      "enterprise": {"id": 3, "slug": "acme-ceramics", "name": "Acme Ceramics"},
      "equipment": {"id": 7, "name": "kiln-1", "path": "acme-ceramics/plant-1/line-2/kiln-1"}
    }

Each POST carries three headers:

* ``X-Kiln-Delivery``: one id per event and target, the same on every retry; a receiver that has
  seen it before answers 2xx and ignores the body (deliveries are at-least-once).
* ``X-Kiln-Timestamp``: UNIX seconds when this attempt was signed.
* ``X-Kiln-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with the target's secret, of
  ``"<timestamp>.<body>"`` (the raw body bytes, before any JSON parsing).

A receiver verifies (``verify`` below does all of it): recompute the HMAC over the timestamp
header, a dot and the raw body; compare it with the signature in constant time; and reject a
timestamp more than 5 minutes from its own clock, so a captured request cannot be replayed
later. Signing the timestamp with the body is what stops an attacker from refreshing it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kiln.domain.alarms import AlarmEvent, Severity

SCHEMA = "kiln.alarm-event/1"
DELIVERY_HEADER = "X-Kiln-Delivery"
TIMESTAMP_HEADER = "X-Kiln-Timestamp"
SIGNATURE_HEADER = "X-Kiln-Signature"
REPLAY_TOLERANCE_S = 300


# The event the docs and doctests describe.
EXAMPLE_EVENT = AlarmEvent(
    alarm_id=42,
    action="raised",
    ts_ms=1764239489000,
    key="rule:kiln-overheat:eq:7",
    enterprise_id=3,
    equipment_id=7,
    severity=Severity.HIGH,
    kind="threshold",
    message="firing_temp 1,212 °C above 1,200 °C",
)


@dataclass(frozen=True, slots=True)
class Names:
    """What people call the event's enterprise and equipment (the event only holds ids)."""

    enterprise_slug: str
    enterprise_name: str
    equipment_name: str
    path: str  # enterprise/site/line/.../equipment


# Given by whoever builds the Notifier (it knows the asset catalogue); called in the delivery
# task, so it must answer from memory and not block.
Describe = Callable[[AlarmEvent], Names]


def fallback_names(event: AlarmEvent) -> Names:
    """Names made of the ids alone, for when describe cannot name the event's assets.

    >>> fallback_names(EXAMPLE_EVENT).equipment_name
    'equipment 7'
    """
    return Names(
        enterprise_slug=f"enterprise-{event.enterprise_id}",
        enterprise_name=f"enterprise {event.enterprise_id}",
        equipment_name=f"equipment {event.equipment_id}",
        path=f"enterprise-{event.enterprise_id}/equipment-{event.equipment_id}",
    )


def event_id(event: AlarmEvent) -> str:
    """The event's own id, the same for every target: ``alarm_id:action:ts_ms``.

    >>> event_id(EXAMPLE_EVENT)
    '42:raised:1764239489000'
    """
    return f"{event.alarm_id}:{event.action}:{event.ts_ms}"


def iso_time(ts_ms: int) -> str:
    """UTC epoch milliseconds as ISO 8601, to the second or millisecond.

    >>> iso_time(1764239489000), iso_time(1764239489250)
    ('2025-11-27T10:31:29Z', '2025-11-27T10:31:29.250Z')
    """
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
    spec = "seconds" if ts_ms % 1000 == 0 else "milliseconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def to_dict(event: AlarmEvent, names: Names) -> dict[str, Any]:
    """The body's fields, as documented at the top of this module."""
    return {
        "schema": SCHEMA,
        "id": event_id(event),
        "alarm_id": event.alarm_id,
        "action": event.action,
        "ts_ms": event.ts_ms,
        "time": iso_time(event.ts_ms),
        "severity": event.severity.name.lower(),
        "severity_code": int(event.severity),
        "kind": event.kind,
        "key": event.key,
        "message": event.message,
        "who": event.who,
        "comment": event.comment,
        "enterprise": {
            "id": event.enterprise_id,
            "slug": names.enterprise_slug,
            "name": names.enterprise_name,
        },
        "equipment": {"id": event.equipment_id, "name": names.equipment_name, "path": names.path},
    }


def encode(event: AlarmEvent, names: Names) -> bytes:
    """The body as UTF-8 JSON with sorted keys, built once and signed as sent."""
    return json.dumps(
        to_dict(event, names), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Kiln-Signature`` value: ``sha256=`` and the HMAC of ``"<timestamp>.<body>"``.

    >>> sign("a-shared-secret-of-16+", 1764239489, b'{"id":"1"}')[:15]
    'sha256=fbc1a86c'
    """
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: str | int,
    body: bytes,
    signature: str,
    now_s: float,
    tolerance_s: float = REPLAY_TOLERANCE_S,
) -> bool:
    """Whether a received body is Kiln's, signed at most tolerance_s from now_s.

    For a receiver: pass the ``X-Kiln-Timestamp`` and ``X-Kiln-Signature`` headers as received,
    the raw body bytes and the receiver's clock. A tampered body, a wrong secret, a malformed
    header or a timestamp too old (a replay) or too far ahead all give False.

    >>> body, sig = b"{}", sign("a-shared-secret-of-16+", 1000, b"{}")
    >>> verify("a-shared-secret-of-16+", "1000", body, sig, now_s=1200)
    True
    >>> verify("a-shared-secret-of-16+", "1000", body, sig, now_s=1400)
    False
    """
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now_s - stamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature.strip())
