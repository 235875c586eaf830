"""Installations the advisor follows up: a robot put on a station, with what was predicted.

The prediction is kept as it was shown when the installation was recorded (a JSON document), so
the measured effect is compared with what the advisor said then, not with what it says now.
SQL shared by both backends (see sql_session.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kiln.store.sql_session import Row, Sessions

COLUMNS = (
    "id",
    "enterprise_id",
    "line_id",
    "station_id",
    "installed_ms",
    "solution_id",
    "description",
    "prediction",
    "recorded_ms",
    "recorded_by",
)
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM installations"


@dataclass(frozen=True, slots=True)
class Installation:
    """One recorded installation."""

    id: int
    enterprise_id: int
    line_id: int
    station_id: int
    installed_ms: int
    solution_id: int | None
    description: str
    prediction: dict[str, Any]
    recorded_ms: int
    recorded_by: str


def _installation(row: Row) -> Installation:
    doc = dict(zip(COLUMNS, row, strict=True))
    doc["prediction"] = json.loads(doc["prediction"])
    return Installation(**doc)


class InstallationTables:
    """Record and read installations."""

    def __init__(self, sessions: Sessions) -> None:
        self._s = sessions

    def add(self, item: Installation) -> Installation:
        """Store a new installation under the next free id; returns it with that id."""
        with self._s.write() as s:
            new_id = int(s.rows("SELECT coalesce(max(id), 0) + 1 FROM installations")[0][0])
            values: list[Any] = [getattr(item, c) for c in COLUMNS]
            values[0] = new_id
            values[COLUMNS.index("prediction")] = json.dumps(item.prediction, sort_keys=True)
            s.rows(
                f"INSERT INTO installations ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in COLUMNS)})",
                values,
            )
        return Installation(**{**{c: getattr(item, c) for c in COLUMNS}, "id": new_id})

    def of_lines(self, line_ids: list[int]) -> list[Installation]:
        """The installations on these lines, oldest first."""
        if not line_ids:
            return []
        marks = ", ".join("?" for _ in line_ids)
        with self._s.read() as s:
            rows = s.rows(
                f"{_SELECT} WHERE line_id IN ({marks}) ORDER BY installed_ms, id", line_ids
            )
        return [_installation(r) for r in rows]

    def get(self, installation_id: int) -> Installation | None:
        """One installation by id."""
        with self._s.read() as s:
            rows = s.rows(f"{_SELECT} WHERE id = ?", [installation_id])
        return _installation(rows[0]) if rows else None

    def delete(self, installation_id: int) -> bool:
        """Remove a mistaken record; whether it existed."""
        with self._s.write() as s:
            found = s.rows("SELECT id FROM installations WHERE id = ?", [installation_id])
            s.rows("DELETE FROM installations WHERE id = ?", [installation_id])
        return bool(found)
