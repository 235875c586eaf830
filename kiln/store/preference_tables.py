"""A person's preferences (the page language), kept with the store so they follow the person
to any browser. SQL shared by both backends (see sql_session.py)."""

from __future__ import annotations

from kiln.store.sql_session import Sessions

MAX_VALUE = 200


class PreferenceTables:
    """Read and keep preferences by user name and key."""

    def __init__(self, sessions: Sessions) -> None:
        self._s = sessions

    def get(self, username: str, key: str) -> str | None:
        """The value kept for the user, or None."""
        with self._s.read() as s:
            rows = s.rows(
                "SELECT value FROM user_preferences WHERE username = ? AND key = ?", [username, key]
            )
        return str(rows[0][0]) if rows else None

    def put(self, username: str, key: str, value: str, now_ms: int) -> None:
        """Keep a value for the user (replacing the one kept)."""
        if len(value) > MAX_VALUE:
            raise ValueError(f"preference {key!r} is longer than {MAX_VALUE} characters")
        with self._s.write() as s:
            s.rows(
                "INSERT INTO user_preferences (username, key, value, updated_ms) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (username, key) DO UPDATE SET "
                "value = excluded.value, updated_ms = excluded.updated_ms",
                [username, key, value, now_ms],
            )
