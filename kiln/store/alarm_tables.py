"""Alarms, their history and their rules, in SQL both backends share (see sql_session.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kiln.domain.alarms import Alarm, AlarmEvent, Severity
from kiln.store.sql_session import Row, Sessions

# The columns of `alarms`, in the order of Alarm's fields; `closed` is derived from them.
ALARM_COLUMNS = (
    "id",
    "key",
    "enterprise_id",
    "equipment_id",
    "kind",
    "severity",
    "message",
    "rule",
    "series",
    "value",
    "score",
    "active",
    "acknowledged",
    "raised_ms",
    "last_change_ms",
    "cleared_ms",
    "acked_ms",
    "acked_by",
    "ack_comment",
    "shelved_until_ms",
    "shelved_by",
    "occurrences",
    "flapping",
)
_SELECT = f"SELECT {', '.join(ALARM_COLUMNS)} FROM alarms"
_EVENT_COLUMNS = (
    "alarm_id, ts_ms, action, who, comment, severity, message, enterprise_id, equipment_id"
)
_UPSERT = (
    f"INSERT INTO alarms ({', '.join(ALARM_COLUMNS)}, closed) "
    f"VALUES ({', '.join('?' for _ in ALARM_COLUMNS)}, ?) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*ALARM_COLUMNS[1:], "closed"))
)


def _alarm(row: Row) -> Alarm:
    doc = dict(zip(ALARM_COLUMNS, row, strict=True))
    doc["severity"] = Severity(int(doc["severity"]))
    doc["active"], doc["acknowledged"] = bool(doc["active"]), bool(doc["acknowledged"])
    doc["flapping"] = bool(doc["flapping"])
    return Alarm(**doc)


def _row(alarm: Alarm) -> list[Any]:
    values = [getattr(alarm, c) for c in ALARM_COLUMNS]
    values[ALARM_COLUMNS.index("severity")] = int(alarm.severity)
    return [*values, alarm.closed]


@dataclass(frozen=True, slots=True)
class AlarmQuery:
    """Which alarms a console or the API asks for; None means no filter."""

    enterprise_ids: Sequence[int] | None = None  # the caller's scope
    open_only: bool = False
    equipment_id: int | None = None
    min_severity: Severity | None = None
    since_ms: int | None = None  # raised at or after
    until_ms: int | None = None  # raised before
    limit: int = 100
    offset: int = 0

    def where(self) -> tuple[str, list[Any]]:
        """The WHERE clause and its parameters."""
        parts: list[str] = []
        params: list[Any] = []
        if self.enterprise_ids is not None:
            if not self.enterprise_ids:
                return " WHERE false", []
            parts.append(f"enterprise_id IN ({', '.join('?' for _ in self.enterprise_ids)})")
            params += list(self.enterprise_ids)
        if self.open_only:
            parts.append("NOT closed")
        if self.equipment_id is not None:
            parts.append("equipment_id = ?")
            params.append(self.equipment_id)
        if self.min_severity is not None:
            parts.append("severity >= ?")
            params.append(int(self.min_severity))
        if self.since_ms is not None:
            parts.append("raised_ms >= ?")
            params.append(self.since_ms)
        if self.until_ms is not None:
            parts.append("raised_ms < ?")
            params.append(self.until_ms)
        return (" WHERE " + " AND ".join(parts) if parts else ""), params


class AlarmTables:
    """The alarm book's storage: current state per alarm, the history, the stored rules."""

    def __init__(self, sessions: Sessions) -> None:
        self._s = sessions

    def save(self, alarms: Sequence[Alarm], events: Sequence[AlarmEvent]) -> None:
        """Store changed alarms and their new history rows in one transaction."""
        if not alarms and not events:
            return
        with self._s.write() as s:
            s.many(_UPSERT, [_row(a) for a in alarms])
            s.many(
                f"INSERT INTO alarm_events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.alarm_id,
                        e.ts_ms,
                        e.action,
                        e.who,
                        e.comment,
                        int(e.severity),
                        e.message,
                        e.enterprise_id,
                        e.equipment_id,
                    )
                    for e in events
                ],
            )

    def next_id(self) -> int:
        """The id after the greatest stored one."""
        with self._s.read() as s:
            return int(s.rows("SELECT coalesce(max(id), 0) + 1 FROM alarms")[0][0])

    def open_alarms(self) -> list[Alarm]:
        """Every alarm not yet closed, oldest first: what the alarm book starts from."""
        with self._s.read() as s:
            return [_alarm(r) for r in s.rows(f"{_SELECT} WHERE NOT closed ORDER BY id")]

    def find(self, query: AlarmQuery) -> tuple[list[Alarm], int]:
        """Alarms matching a query, most severe and newest first, and how many match."""
        where, params = query.where()
        with self._s.read() as s:
            total = int(s.rows(f"SELECT count(*) FROM alarms{where}", params)[0][0])
            rows = s.rows(
                f"{_SELECT}{where} ORDER BY closed, severity DESC, raised_ms DESC, id DESC "
                "LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            )
        return [_alarm(r) for r in rows], total

    def get(self, alarm_id: int) -> Alarm | None:
        """One alarm, or None."""
        with self._s.read() as s:
            rows = s.rows(f"{_SELECT} WHERE id = ?", [alarm_id])
        return _alarm(rows[0]) if rows else None

    def history(self, alarm_id: int) -> list[AlarmEvent]:
        """An alarm's events, oldest first."""
        with self._s.read() as s:
            rows = s.rows(
                "SELECT e.alarm_id, e.action, e.ts_ms, a.key, e.enterprise_id, e.equipment_id, "
                "e.severity, a.kind, e.message, e.who, e.comment FROM alarm_events e "
                "JOIN alarms a ON a.id = e.alarm_id WHERE e.alarm_id = ? ORDER BY e.ts_ms",
                [alarm_id],
            )
        return [
            AlarmEvent(
                int(r[0]),
                str(r[1]),
                int(r[2]),
                str(r[3]),
                int(r[4]),
                int(r[5]),
                Severity(int(r[6])),
                str(r[7]),
                str(r[8]),
                r[9],
                r[10],
            )
            for r in rows
        ]

    def severity_counts(self, enterprise_ids: Sequence[int] | None) -> dict[Severity, int]:
        """Open alarms per severity within a scope."""
        where, params = AlarmQuery(enterprise_ids=enterprise_ids, open_only=True).where()
        with self._s.read() as s:
            rows = s.rows(f"SELECT severity, count(*) FROM alarms{where} GROUP BY 1", params)
        counts = dict.fromkeys(Severity, 0)
        counts.update({Severity(int(sev)): int(n) for sev, n in rows})
        return counts

    # -- rules defined through the API or the UI --------------------------------------------

    def rules(self) -> list[dict[str, Any]]:
        """Stored rule documents, by name."""
        with self._s.read() as s:
            rows = s.rows("SELECT doc FROM alarm_rules ORDER BY name")
        return [json.loads(r[0]) for r in rows]

    def put_rule(self, name: str, doc: dict[str, Any], *, who: str, now_ms: int) -> bool:
        """Create or replace a rule; whether it is new."""
        body = json.dumps(doc, ensure_ascii=False, sort_keys=True)
        with self._s.write() as s:
            existed = bool(s.rows("SELECT 1 FROM alarm_rules WHERE name = ?", [name]))
            if existed:
                s.rows(
                    "UPDATE alarm_rules SET doc = ?, updated_ms = ?, updated_by = ? WHERE name = ?",
                    [body, now_ms, who, name],
                )
            else:
                s.rows("INSERT INTO alarm_rules VALUES (?, ?, ?, ?)", [name, body, now_ms, who])
        return not existed

    def delete_rule(self, name: str) -> bool:
        """Delete a stored rule; whether it existed."""
        with self._s.write() as s:
            return bool(s.rows("DELETE FROM alarm_rules WHERE name = ? RETURNING name", [name]))
