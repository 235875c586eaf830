"""Alarms: what rules and detectors report (Condition), how severe, and the alarm they become.

A rule or a detector only says "this source is abnormal from now" or "it is normal again"; the
alarm's lifecycle (raised, acknowledged, cleared, shelved, deduplicated, flapping) is kept by
the alarm book, so every source gets the same behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import IntEnum

from kiln.errors import BadInput, Conflict, NotFound


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


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm as the book keeps it: open while active or unacknowledged, then closed.

    Records are immutable; the book replaces one on every change, so a caller may keep the one
    it was given (e.g. to write it) without it changing underneath.
    """

    id: int
    key: str
    enterprise_id: int
    equipment_id: int
    kind: str
    severity: Severity
    message: str
    rule: str | None
    series: int | None
    value: float | None
    score: float | None
    active: bool
    acknowledged: bool
    raised_ms: int
    last_change_ms: int
    cleared_ms: int | None = None
    acked_ms: int | None = None
    acked_by: str | None = None
    ack_comment: str | None = None
    shelved_until_ms: int | None = None
    shelved_by: str | None = None
    occurrences: int = 1
    flapping: bool = False

    @property
    def closed(self) -> bool:
        """Cleared and acknowledged: the alarm has left the open set."""
        return not self.active and self.acknowledged

    def shelved(self, now_ms: int) -> bool:
        """Whether the alarm is shelved at now_ms."""
        return self.shelved_until_ms is not None and now_ms < self.shelved_until_ms


def event_of(
    alarm: Alarm,
    action: str,
    ts_ms: int,
    *,
    who: str | None = None,
    comment: str | None = None,
    message: str | None = None,
) -> AlarmEvent:
    """The history row for something that happened to an alarm (message: the alarm's own)."""
    return AlarmEvent(
        alarm.id,
        action,
        ts_ms,
        alarm.key,
        alarm.enterprise_id,
        alarm.equipment_id,
        alarm.severity,
        alarm.kind,
        alarm.message if message is None else message,
        who,
        comment,
    )


# ISA-18.2 calls an alarm that clears and returns several times a minute "chattering"; five
# raise/clear transitions within ten minutes is a common site default for suppressing it.
FLAP_TRANSITIONS = 5
FLAP_WINDOW_MS = 600_000
KEEP_CLOSED = 10_000  # closed alarms kept in memory, so acking one says Conflict, not NotFound


class AlarmBook:
    """The lifecycle of every alarm: deduplication, clearing, acknowledgement, shelving, flapping.

    Pure and in memory: time comes in as ``now_ms`` or the conditions' ``ts_ms``. Each change
    returns the `AlarmEvent` rows it caused; whoever stores alarms writes `alarm(id)` after each.

    * An active condition for a key with an open alarm counts an occurrence and raises no new
      alarm; it emits "escalated" only when its severity is higher (which also asks for a new
      acknowledgement). A cleared alarm that returns before it is closed is re-activated
      ("raised" again, same id).
    * An alarm closes when it is both cleared and acknowledged, in either order; a closed alarm
      leaves the open set, and the key's next active condition raises a new alarm.
    * More than ``flap_transitions`` raise/clear transitions of one key within ``flap_window_ms``
      mark the alarm flapping (one "flapping" event); further transitions are counted but emit
      nothing until the key has been stable for the window, when the settled state is emitted
      ("raised" or "cleared"). A shelved alarm emits nothing until unshelved. Neither closes
      while flapping or shelved, so the silent changes always end in an event.
    * Events of one alarm are in time order: an event stamped earlier than the alarm's last one
      (a device clock behind the server's) takes the later time, and a condition older than the
      alarm's last change is ignored and counted in ``stale``.
    """

    def __init__(
        self,
        *,
        first_id: int = 1,
        ids: Callable[[], int] | None = None,
        flap_transitions: int = FLAP_TRANSITIONS,
        flap_window_ms: int = FLAP_WINDOW_MS,
        keep_closed: int = KEEP_CLOSED,
    ) -> None:
        if flap_transitions < 1 or flap_window_ms < 1:
            raise BadInput("flapping needs at least one transition and a window", where="alarms")
        self._next_id, self._ids = first_id, ids
        self._flap_n, self._flap_ms, self._keep_closed = (
            flap_transitions,
            flap_window_ms,
            keep_closed,
        )
        self._open: dict[int, Alarm] = {}
        self._by_key: dict[str, int] = {}
        self._closed: dict[int, Alarm] = {}
        self._flips: dict[str, list[int]] = {}  # transition times per key, within the window
        self._last_ts: dict[int, int] = {}  # last event time per open alarm
        self.stale = 0

    def open_alarms(self) -> list[Alarm]:
        """Every open alarm (active, or cleared but not acknowledged), in id order."""
        return sorted(self._open.values(), key=lambda a: a.id)

    def alarm(self, alarm_id: int) -> Alarm:
        """The alarm with that id, open or recently closed; NotFound otherwise."""
        found = self._open.get(alarm_id) or self._closed.get(alarm_id)
        if found is None:
            raise NotFound(f"no alarm {alarm_id}", where="alarms")
        return found

    def open_alarm_of(self, key: str) -> Alarm | None:
        """The open alarm of a key, if there is one."""
        aid = self._by_key.get(key)
        return None if aid is None else self._open[aid]

    def load(self, alarms: Iterable[Alarm]) -> None:
        """Restore open alarms from storage (closed ones are skipped); ids continue after all."""
        for a in alarms:
            self._next_id = max(self._next_id, a.id + 1)
            if a.closed:
                continue
            if a.key in self._by_key and self._by_key[a.key] != a.id:
                raise BadInput(f"two open alarms for key {a.key!r}", where=f"alarm {a.id}")
            self._open[a.id], self._by_key[a.key] = a, a.id
            self._last_ts[a.id] = max(a.last_change_ms, a.acked_ms or a.last_change_ms)

    def apply(self, conditions: Iterable[Condition], now_ms: int) -> list[AlarmEvent]:
        """Turn conditions into alarm changes, in time order, after `tick` (now_ms)."""
        events = self.tick(now_ms)
        for c in sorted(conditions, key=lambda c: c.ts_ms):
            events += self._apply_one(c)
        return events

    def tick(self, now_ms: int) -> list[AlarmEvent]:
        """Unshelve alarms whose shelving ran out; settle flapping keys stable for the window."""
        events: list[AlarmEvent] = []
        for alarm in self.open_alarms():
            if alarm.shelved_until_ms is not None and alarm.shelved_until_ms <= now_ms:
                until = alarm.shelved_until_ms
                alarm = replace(alarm, shelved_until_ms=None, shelved_by=None)
                events.append(self._event(alarm, "unshelved", until))
            flips = self._flips.get(alarm.key)
            if alarm.flapping and (not flips or flips[-1] + self._flap_ms <= now_ms):
                settled = (flips[-1] if flips else alarm.last_change_ms) + self._flap_ms
                alarm = replace(alarm, flapping=False)
                if alarm.shelved_until_ms is None:
                    action = "raised" if alarm.active else "cleared"
                    events.append(self._event(alarm, action, settled))
            self._put(alarm)
        for key in [k for k, f in self._flips.items() if f[-1] + self._flap_ms <= now_ms]:
            if key not in self._by_key:
                del self._flips[key]
        return events

    def acknowledge(self, alarm_id: int, who: str, comment: str | None, now_ms: int) -> AlarmEvent:
        """Record that who has seen the alarm; a cleared alarm then closes. Twice is a Conflict."""
        alarm = self._open_one(alarm_id, "acknowledge")
        if alarm.acknowledged:
            raise Conflict(f"alarm {alarm_id} is already acknowledged", where=f"alarm {alarm_id}")
        alarm = replace(
            alarm, acknowledged=True, acked_ms=now_ms, acked_by=_who(who), ack_comment=comment
        )
        event = self._event(alarm, "acknowledged", now_ms, who=who, comment=comment)
        self._put(alarm)
        return event

    def shelve(
        self, alarm_id: int, who: str, until_ms: int, comment: str | None, now_ms: int
    ) -> AlarmEvent:
        """Silence an open alarm until until_ms (or `unshelve`); shelving again moves the end."""
        alarm = self._open_one(alarm_id, "shelve")
        if until_ms <= now_ms:
            raise BadInput(f"shelve until {until_ms} is not after now ({now_ms})", where="until_ms")
        alarm = replace(alarm, shelved_until_ms=until_ms, shelved_by=_who(who))
        event = self._event(alarm, "shelved", now_ms, who=who, comment=comment)
        self._put(alarm)
        return event

    def unshelve(self, alarm_id: int, who: str, comment: str | None, now_ms: int) -> AlarmEvent:
        """End an alarm's shelving before its time; Conflict if it is not shelved."""
        alarm = self._open_one(alarm_id, "unshelve")
        if alarm.shelved_until_ms is None:
            raise Conflict(f"alarm {alarm_id} is not shelved", where=f"alarm {alarm_id}")
        alarm = replace(alarm, shelved_until_ms=None, shelved_by=None)
        event = self._event(alarm, "unshelved", now_ms, who=_who(who), comment=comment)
        self._put(alarm)
        return event

    def _apply_one(self, c: Condition) -> list[AlarmEvent]:
        aid = self._by_key.get(c.key)
        if aid is None:
            return self._raise_new(c) if c.active else []
        alarm = self._open[aid]
        if c.ts_ms < alarm.last_change_ms:
            self.stale += 1
            return []
        if c.active and alarm.active:
            severity = max(alarm.severity, c.severity)
            escalated = severity > alarm.severity
            alarm = replace(
                alarm,
                severity=severity,
                message=c.message,
                value=c.value,
                score=c.score,
                occurrences=alarm.occurrences + 1,
                acknowledged=alarm.acknowledged and not escalated,
            )
            quiet = alarm.flapping or alarm.shelved_until_ms is not None
            events = [self._event(alarm, "escalated", c.ts_ms)] if escalated and not quiet else []
            self._put(alarm)
            return events
        if c.active:  # back before it was closed: the same alarm again
            alarm = replace(
                alarm,
                active=True,
                acknowledged=False,
                acked_ms=None,
                acked_by=None,
                ack_comment=None,
                severity=max(alarm.severity, c.severity),
                message=c.message,
                value=c.value,
                score=c.score,
                occurrences=alarm.occurrences + 1,
                cleared_ms=None,
                last_change_ms=c.ts_ms,
            )
            return self._transition(alarm, "raised", c.ts_ms, c.message)
        if not alarm.active:
            return []
        alarm = replace(alarm, active=False, cleared_ms=c.ts_ms, last_change_ms=c.ts_ms)
        return self._transition(alarm, "cleared", c.ts_ms, c.message)

    def _raise_new(self, c: Condition) -> list[AlarmEvent]:
        if self._ids is not None:
            aid = self._ids()
        else:
            aid, self._next_id = self._next_id, self._next_id + 1
        if aid in self._open or aid in self._closed:
            raise Conflict(f"alarm id {aid} is already in use", where="alarms")
        alarm = Alarm(
            aid, c.key, c.enterprise_id, c.equipment_id, c.kind, c.severity, c.message,
            c.rule, c.series, c.value, c.score, active=True, acknowledged=False,
            raised_ms=c.ts_ms, last_change_ms=c.ts_ms,
        )  # fmt: skip
        self._by_key[c.key] = aid
        return self._transition(alarm, "raised", c.ts_ms, c.message)

    def _transition(self, alarm: Alarm, action: str, ts_ms: int, message: str) -> list[AlarmEvent]:
        """Count a raise/clear transition of the key towards flapping, then store and report it."""
        flips = [t for t in self._flips.get(alarm.key, []) if t + self._flap_ms > ts_ms]
        flips.append(ts_ms)
        self._flips[alarm.key] = flips
        events: list[AlarmEvent] = []
        if alarm.shelved_until_ms is None and not alarm.flapping:
            if len(flips) > self._flap_n:
                alarm = replace(alarm, flapping=True)
                events.append(self._event(alarm, "flapping", ts_ms))
            else:
                events.append(self._event(alarm, action, ts_ms, message=message))
        elif not alarm.flapping and len(flips) > self._flap_n:
            alarm = replace(alarm, flapping=True)  # shelved: marked, but silently
        self._put(alarm)
        return events

    def _event(
        self,
        alarm: Alarm,
        action: str,
        ts_ms: int,
        *,
        who: str | None = None,
        comment: str | None = None,
        message: str | None = None,
    ) -> AlarmEvent:
        ts_ms = max(ts_ms, self._last_ts.get(alarm.id, ts_ms))
        self._last_ts[alarm.id] = ts_ms
        return event_of(alarm, action, ts_ms, who=who, comment=comment, message=message)

    def _put(self, alarm: Alarm) -> None:
        """Keep the alarm open, or close it once cleared, acknowledged, not flapping or shelved."""
        if alarm.closed and not alarm.flapping and alarm.shelved_until_ms is None:
            self._open.pop(alarm.id, None)
            self._last_ts.pop(alarm.id, None)
            if self._by_key.get(alarm.key) == alarm.id:
                del self._by_key[alarm.key]
            self._closed[alarm.id] = alarm
            if len(self._closed) > self._keep_closed:
                del self._closed[next(iter(self._closed))]
        else:
            self._open[alarm.id] = alarm

    def _open_one(self, alarm_id: int, doing: str) -> Alarm:
        alarm = self._open.get(alarm_id)
        if alarm is not None:
            return alarm
        if alarm_id in self._closed:
            raise Conflict(
                f"cannot {doing} alarm {alarm_id}: it is closed", where=f"alarm {alarm_id}"
            )
        raise NotFound(f"no open alarm {alarm_id}", where="alarms")


def _who(who: str) -> str:
    if not who or not who.strip():
        raise BadInput("who is empty: name the user", where="who")
    return who.strip()
