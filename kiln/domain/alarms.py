"""Alarms: what rules and detectors report (Condition), how severe, and the alarm they become.

A rule or a detector only says "this source is abnormal from now" or "it is normal again"; the
alarm's lifecycle (raised, acknowledged, cleared, shelved, deduplicated, flapping) is kept by
the alarm book, so every source gets the same behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Severity(IntEnum):
    """How urgent an alarm is (ISA-18.2 priorities); a larger code is more urgent."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Return the severity named by text (case-insensitive), or raise ValueError.

        >>> Severity.parse("High")
        <Severity.HIGH: 3>
        """
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r}; expected one of {names}") from None


# What raised a condition; stored with the alarm and shown in the console.
KINDS = ("threshold", "rate", "state", "micro_stops", "no_data", "kpi", "anomaly")


@dataclass(frozen=True, slots=True)
class Condition:
    """One alarm source becoming abnormal (active) or normal again, at ts_ms.

    ``key`` names the source: two conditions with the same key are the same alarm (a rule on one
    equipment, or the anomaly detector on one series), which is what deduplication keys on.
    """

    key: str  # e.g. "rule:kiln-overheat:eq:42" or "anomaly:series:1234"
    enterprise_id: int
    equipment_id: int
    active: bool
    ts_ms: int
    severity: Severity
    kind: str  # one of KINDS
    message: str  # the explanation in words: which signal, how far from normal, since when
    rule: str | None = None  # the rule's name, for rule conditions
    series: int | None = None  # the signal, where one signal is the cause
    value: float | None = None  # the value that crossed, or the KPI's value
    score: float | None = None  # the anomaly score in [0, 1], for detector conditions
    since_ms: int | None = None  # when the abnormal behaviour began (before ts_ms if delayed)


# What can happen to an alarm; each is one row of its history and may be notified.
ACTIONS = ("raised", "cleared", "acknowledged", "shelved", "unshelved", "flapping", "escalated")


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One thing that happened to an alarm: a row of its history, and what notifications carry."""

    alarm_id: int
    action: str  # one of ACTIONS
    ts_ms: int
    key: str
    enterprise_id: int
    equipment_id: int
    severity: Severity
    kind: str
    message: str
    who: str | None = None  # the user, for acknowledged / shelved / unshelved
    comment: str | None = None
