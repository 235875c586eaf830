"""Accounts in DuckDB: users, tokens, sessions, consents and the audit log."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import duckdb

from kiln.auth.accounts import TokenRow, UserRow
from kiln.auth.roles import Role
from kiln.errors import Conflict, NotFound

_USER = "SELECT id, username, password_hash, role, enterprise_id, disabled FROM users"
_TOKEN = (
    "SELECT id, user_id, name, role, enterprise_id, equipment, created_ms, expires_ms, "
    "revoked_ms, last_used_ms FROM tokens"
)


def _user(r: Sequence[Any]) -> UserRow:
    return UserRow(r[0], r[1], r[2], Role(r[3]), r[4], bool(r[5]))


def _token(r: Sequence[Any]) -> TokenRow:
    return TokenRow(
        r[0],
        r[1],
        r[2],
        Role(r[3]),
        r[4],
        tuple(r[5]) if r[5] is not None else None,
        r[6],
        r[7],
        r[8],
        r[9],
    )


class DuckDBAccounts:
    """Users, tokens, sessions, consents and audit, in the store's DuckDB database."""

    def __init__(self, cursor: Callable[[], duckdb.DuckDBPyConnection], lock: threading.Lock):
        self._cursor = cursor
        self._lock = lock

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._cursor().execute(sql, list(params)).fetchall()

    def _write(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._cursor().execute(sql, list(params)).fetchall()

    # -- users -------------------------------------------------------------------------------

    def add_user(
        self, username: str, password_hash: str, role: Role, enterprise_id: int | None, now_ms: int
    ) -> UserRow:
        """Create a user; Conflict if the name is taken."""
        with self._lock:
            cur = self._cursor()
            if cur.execute(
                "SELECT 1 FROM users WHERE lower(username) = lower(?)", [username]
            ).fetchall():
                raise Conflict(f"user {username!r} exists", where="username")
            uid = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM users").fetchall()[0][0]
            cur.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, false)",
                [uid, username, password_hash, role.value, enterprise_id, now_ms],
            )
        return UserRow(uid, username, password_hash, role, enterprise_id, False)

    def user(self, user_id: int) -> UserRow | None:
        """A user by id."""
        rows = self._rows(f"{_USER} WHERE id = ?", [user_id])
        return _user(rows[0]) if rows else None

    def user_by_name(self, username: str) -> UserRow | None:
        """A user by name (case-insensitive)."""
        rows = self._rows(f"{_USER} WHERE lower(username) = lower(?)", [username])
        return _user(rows[0]) if rows else None

    def users(self, enterprise_id: int | None = None, *, every: bool = False) -> list[UserRow]:
        """The users of an enterprise (or the city's when None), or every user."""
        if every:
            return [_user(r) for r in self._rows(f"{_USER} ORDER BY id")]
        return [
            _user(r)
            for r in self._rows(
                f"{_USER} WHERE enterprise_id IS NOT DISTINCT FROM ? ORDER BY id", [enterprise_id]
            )
        ]

    def set_password(self, user_id: int, password_hash: str) -> None:
        """Replace a user's password hash and end the user's sessions."""
        self._write("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])
        self._write("DELETE FROM sessions WHERE user_id = ?", [user_id])

    def disable_user(self, user_id: int, now_ms: int) -> None:
        """Disable a user: sessions end and tokens are revoked at once."""
        if self.user(user_id) is None:
            raise NotFound(f"no user {user_id}", where="path: user_id")
        self._write("UPDATE users SET disabled = true WHERE id = ?", [user_id])
        self._write("DELETE FROM sessions WHERE user_id = ?", [user_id])
        self._write(
            "UPDATE tokens SET revoked_ms = ? WHERE user_id = ? AND revoked_ms IS NULL",
            [now_ms, user_id],
        )

    # -- tokens ------------------------------------------------------------------------------

    def add_token(
        self,
        *,
        user_id: int | None,
        name: str,
        token_hash: str,
        role: Role,
        enterprise_id: int | None,
        equipment: Sequence[int] | None,
        now_ms: int,
        expires_ms: int | None,
        mqtt_hash: str | None = None,
    ) -> TokenRow:
        """Store a new token's hash."""
        with self._lock:
            cur = self._cursor()
            tid = cur.execute("SELECT coalesce(max(id), 0) + 1 FROM tokens").fetchall()[0][0]
            cur.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
                [
                    tid,
                    user_id,
                    name,
                    token_hash,
                    role.value,
                    enterprise_id,
                    list(equipment) if equipment is not None else None,
                    now_ms,
                    expires_ms,
                    mqtt_hash,
                ],
            )
        return TokenRow(
            tid,
            user_id,
            name,
            role,
            enterprise_id,
            tuple(equipment) if equipment is not None else None,
            now_ms,
            expires_ms,
            None,
            None,
        )

    def broker_credentials(self) -> list[tuple[int, int, str]]:
        """(token id, enterprise id, broker password hash) of every live device token."""
        rows = self._rows(
            "SELECT id, enterprise_id, mqtt_hash FROM tokens WHERE role = 'device' "
            "AND revoked_ms IS NULL AND mqtt_hash IS NOT NULL ORDER BY id"
        )
        return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]

    def token_by_hash(self, token_hash: str) -> TokenRow | None:
        """A token by the hash of its secret."""
        rows = self._rows(f"{_TOKEN} WHERE token_hash = ?", [token_hash])
        return _token(rows[0]) if rows else None

    def token(self, token_id: int) -> TokenRow | None:
        """A token by id."""
        rows = self._rows(f"{_TOKEN} WHERE id = ?", [token_id])
        return _token(rows[0]) if rows else None

    def tokens(
        self, *, user_id: int | None = None, enterprise_id: int | None = None
    ) -> list[TokenRow]:
        """Tokens owned by a user, or every token of an enterprise."""
        if user_id is not None:
            return [
                _token(r) for r in self._rows(f"{_TOKEN} WHERE user_id = ? ORDER BY id", [user_id])
            ]
        return [
            _token(r)
            for r in self._rows(
                f"{_TOKEN} WHERE enterprise_id IS NOT DISTINCT FROM ? ORDER BY id", [enterprise_id]
            )
        ]

    def revoke_token(self, token_id: int, now_ms: int) -> None:
        """Revoke a token; it stops working at once."""
        self._write(
            "UPDATE tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL",
            [now_ms, token_id],
        )

    def touch_token(self, token_id: int, now_ms: int) -> None:
        """Record a token's use."""
        self._write("UPDATE tokens SET last_used_ms = ? WHERE id = ?", [now_ms, token_id])

    # -- sessions ----------------------------------------------------------------------------

    def add_session(
        self, id_hash: str, user_id: int, csrf: str, now_ms: int, expires_ms: int
    ) -> None:
        """Start a web session."""
        self._write(
            "INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
            [id_hash, user_id, csrf, now_ms, expires_ms],
        )

    def session(self, id_hash: str, now_ms: int) -> tuple[int, str] | None:
        """The (user id, csrf token) of a live session."""
        rows = self._rows(
            "SELECT user_id, csrf FROM sessions WHERE id_hash = ? AND expires_ms > ?",
            [id_hash, now_ms],
        )
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def end_session(self, id_hash: str) -> None:
        """End a web session."""
        self._write("DELETE FROM sessions WHERE id_hash = ?", [id_hash])

    # -- consents ----------------------------------------------------------------------------

    def grant(self, enterprise_id: int, indicator: str, user_id: int | None, now_ms: int) -> None:
        """Record an enterprise's consent to show the city one indicator (once while live)."""
        with self._lock:
            cur = self._cursor()
            live = cur.execute(
                "SELECT 1 FROM consents WHERE enterprise_id = ? AND indicator = ? "
                "AND revoked_ms IS NULL",
                [enterprise_id, indicator],
            ).fetchall()
            if not live:
                cur.execute(
                    "INSERT INTO consents VALUES (?, ?, ?, ?, NULL)",
                    [enterprise_id, indicator, user_id, now_ms],
                )

    def revoke(self, enterprise_id: int, indicator: str, now_ms: int) -> bool:
        """End a consent; False if none was live. The record is kept."""
        with self._lock:
            cur = self._cursor()
            live = cur.execute(
                "SELECT 1 FROM consents WHERE enterprise_id = ? AND indicator = ? "
                "AND revoked_ms IS NULL",
                [enterprise_id, indicator],
            ).fetchall()
            cur.execute(
                "UPDATE consents SET revoked_ms = ? WHERE enterprise_id = ? "
                "AND indicator = ? AND revoked_ms IS NULL",
                [now_ms, enterprise_id, indicator],
            )
        return bool(live)

    def consents(self, enterprise_id: int | None = None) -> list[dict[str, Any]]:
        """Live consents (of one enterprise, or all)."""
        where = "" if enterprise_id is None else "AND enterprise_id = ?"
        params = [] if enterprise_id is None else [enterprise_id]
        cur = self._cursor().execute(
            "SELECT enterprise_id, indicator, granted_by, granted_ms FROM consents "
            f"WHERE revoked_ms IS NULL {where} ORDER BY enterprise_id, indicator",
            params,
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    # -- audit -------------------------------------------------------------------------------

    def audit(
        self,
        *,
        ts_ms: int,
        actor: str,
        role: str | None,
        enterprise_id: int | None,
        action: str,
        target: str = "",
        detail: str = "",
        address: str = "",
    ) -> None:
        """Append one line to the audit log."""
        self._write(
            "INSERT INTO audit (ts_ms, actor, role, enterprise_id, action, target, detail, "
            "address) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [ts_ms, actor, role, enterprise_id, action, target, detail, address],
        )

    def audit_log(
        self,
        *,
        enterprise_id: int | None,
        every: bool,
        limit: int = 200,
        before_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """Newest audit lines first: every line, or those about one enterprise."""
        where, params = ["1 = 1"], []
        if not every:
            where.append("enterprise_id = ?")
            params.append(enterprise_id)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        cur = self._cursor().execute(
            f"SELECT id, ts_ms, actor, role, enterprise_id, action, target, detail, address "
            f"FROM audit WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT {int(limit)}",
            params,
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
