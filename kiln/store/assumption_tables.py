"""Each enterprise's own advisor assumptions (its wages, its products' value), kept as the
changes it made to Kiln's defaults. SQL shared by both backends (see sql_session.py)."""

from __future__ import annotations

import json
from typing import Any

from kiln.store.sql_session import Sessions


class AssumptionTables:
    """Read and keep an enterprise's changed assumptions."""

    def __init__(self, sessions: Sessions) -> None:
        self._s = sessions

    def get(self, enterprise_id: int) -> dict[str, Any]:
        """The changes kept for the enterprise ({} for none)."""
        with self._s.read() as s:
            rows = s.rows(
                "SELECT doc FROM advisor_assumptions WHERE enterprise_id = ?", [enterprise_id]
            )
        return dict(json.loads(rows[0][0])) if rows else {}

    def all(self) -> dict[int, dict[str, Any]]:
        """Every enterprise's kept changes, by enterprise id."""
        with self._s.read() as s:
            rows = s.rows("SELECT enterprise_id, doc FROM advisor_assumptions")
        return {int(e): dict(json.loads(doc)) for e, doc in rows}

    def put(self, enterprise_id: int, changes: dict[str, Any], now_ms: int, by: str) -> None:
        """Keep the enterprise's changes (replacing what was kept); {} goes back to defaults."""
        with self._s.write() as s:
            s.rows("DELETE FROM advisor_assumptions WHERE enterprise_id = ?", [enterprise_id])
            if changes:
                s.rows(
                    "INSERT INTO advisor_assumptions (enterprise_id, doc, updated_ms, updated_by) "
                    "VALUES (?, ?, ?, ?)",
                    [enterprise_id, json.dumps(changes, sort_keys=True), now_ms, by],
                )
