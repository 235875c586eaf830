"""Accounts in PostgreSQL: users, tokens, sessions, consents and the audit log."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from kiln.auth.accounts import TokenRow, UserRow
from kiln.auth.roles import Role
from kiln.errors import Conflict, NotFound, Unavailable
from kiln.store.postgres_pool import Connection, Pool, describe, unreachable

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


def _dicts(cur: psycopg.Cursor[TupleRow]) -> list[dict[str, Any]]:
    names = [d.name for d in cur.description or ()]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@contextmanager
def _transaction(pool: Pool) -> Iterator[Connection]:
    """A pooled connection in one transaction: committed on leaving, rolled back on an error;
    a server that cannot be reached becomes Unavailable (a refused statement stays itself)."""
    try:
        with pool.connection() as con:
            yield con
    except (psycopg.OperationalError, psycopg.InterfaceError) as err:
        if not unreachable(err):
            raise
        where = describe(pool.conninfo) if isinstance(pool.conninfo, str) else ""
        raise Unavailable(f"PostgreSQL is unreachable: {err}", where=where) from err


class PostgresAccounts:
    """Users, tokens, sessions, consents and audit; one pooled transaction per call."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[TupleRow]:
        with _transaction(self._pool) as con:
            return con.execute(sql, params).fetchall()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> None:
        with _transaction(self._pool) as con:
            con.execute(sql, params)

    # -- users -------------------------------------------------------------------------------

    def add_user(
        self, username: str, password_hash: str, role: Role, enterprise_id: int | None, now_ms: int
    ) -> UserRow:
        """Create a user; Conflict if the name is taken."""
        taken = Conflict(f"user {username!r} exists", where="username")
        with _transaction(self._pool) as con:
            # Look first rather than ON CONFLICT, which would spend an id on a refused name.
            if con.execute(
                "SELECT 1 FROM users WHERE lower(username) = lower(%s)", [username]
            ).fetchall():
                raise taken
            try:
                row = con.execute(
                    "INSERT INTO users (username, password_hash, role, enterprise_id, created_ms) "
                    "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    [username, password_hash, role.value, enterprise_id, now_ms],
                ).fetchone()
            except psycopg.errors.UniqueViolation as err:  # another process took it just now
                raise taken from err
        assert row is not None
        return UserRow(int(row[0]), username, password_hash, role, enterprise_id, False)

    def user(self, user_id: int) -> UserRow | None:
        """A user by id."""
        rows = self._rows(f"{_USER} WHERE id = %s", [user_id])
        return _user(rows[0]) if rows else None

    def user_by_name(self, username: str) -> UserRow | None:
        """A user by name (case-insensitive)."""
        rows = self._rows(f"{_USER} WHERE lower(username) = lower(%s)", [username])
        return _user(rows[0]) if rows else None

    def users(self, enterprise_id: int | None = None, *, every: bool = False) -> list[UserRow]:
        """The users of an enterprise (or the city's when None), or every user."""
        if every:
            return [_user(r) for r in self._rows(f"{_USER} ORDER BY id")]
        if enterprise_id is None:
            return [
                _user(r) for r in self._rows(f"{_USER} WHERE enterprise_id IS NULL ORDER BY id")
            ]
        rows = self._rows(f"{_USER} WHERE enterprise_id = %s ORDER BY id", [enterprise_id])
        return [_user(r) for r in rows]

    def set_password(self, user_id: int, password_hash: str) -> None:
        """Replace a user's password hash and end the user's sessions."""
        with _transaction(self._pool) as con:
            con.execute(
                "UPDATE users SET password_hash = %s WHERE id = %s", [password_hash, user_id]
            )
            con.execute("DELETE FROM sessions WHERE user_id = %s", [user_id])

    def disable_user(self, user_id: int, now_ms: int) -> None:
        """Disable a user: sessions end and tokens are revoked at once."""
        with _transaction(self._pool) as con:
            if not con.execute(
                "UPDATE users SET disabled = true WHERE id = %s RETURNING id", [user_id]
            ).fetchall():
                raise NotFound(f"no user {user_id}", where="path: user_id")
            con.execute("DELETE FROM sessions WHERE user_id = %s", [user_id])
            con.execute(
                "UPDATE tokens SET revoked_ms = %s WHERE user_id = %s AND revoked_ms IS NULL",
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
        kept = tuple(int(e) for e in equipment) if equipment is not None else None
        rows = self._rows(
            "INSERT INTO tokens (user_id, name, token_hash, role, enterprise_id, equipment, "
            "created_ms, expires_ms, mqtt_hash) "
            "VALUES (%s, %s, %s, %s, %s, %s::integer[], %s, %s, %s) RETURNING id",
            [
                user_id,
                name,
                token_hash,
                role.value,
                enterprise_id,
                list(kept) if kept is not None else None,
                now_ms,
                expires_ms,
                mqtt_hash,
            ],
        )
        return TokenRow(
            int(rows[0][0]),
            user_id,
            name,
            role,
            enterprise_id,
            kept,
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
        rows = self._rows(f"{_TOKEN} WHERE token_hash = %s", [token_hash])
        return _token(rows[0]) if rows else None

    def token(self, token_id: int) -> TokenRow | None:
        """A token by id."""
        rows = self._rows(f"{_TOKEN} WHERE id = %s", [token_id])
        return _token(rows[0]) if rows else None

    def tokens(
        self, *, user_id: int | None = None, enterprise_id: int | None = None
    ) -> list[TokenRow]:
        """Tokens owned by a user, or every token of an enterprise."""
        if user_id is not None:
            rows = self._rows(f"{_TOKEN} WHERE user_id = %s ORDER BY id", [user_id])
        elif enterprise_id is None:
            rows = self._rows(f"{_TOKEN} WHERE enterprise_id IS NULL ORDER BY id")
        else:
            rows = self._rows(f"{_TOKEN} WHERE enterprise_id = %s ORDER BY id", [enterprise_id])
        return [_token(r) for r in rows]

    def revoke_token(self, token_id: int, now_ms: int) -> None:
        """Revoke a token; it stops working at once."""
        self._run(
            "UPDATE tokens SET revoked_ms = %s WHERE id = %s AND revoked_ms IS NULL",
            [now_ms, token_id],
        )

    def touch_token(self, token_id: int, now_ms: int) -> None:
        """Record a token's use."""
        self._run("UPDATE tokens SET last_used_ms = %s WHERE id = %s", [now_ms, token_id])

    # -- sessions ----------------------------------------------------------------------------

    def add_session(
        self, id_hash: str, user_id: int, csrf: str, now_ms: int, expires_ms: int
    ) -> None:
        """Start a web session."""
        self._run(
            "INSERT INTO sessions VALUES (%s, %s, %s, %s, %s)",
            [id_hash, user_id, csrf, now_ms, expires_ms],
        )

    def session(self, id_hash: str, now_ms: int) -> tuple[int, str] | None:
        """The (user id, csrf token) of a live session."""
        rows = self._rows(
            "SELECT user_id, csrf FROM sessions WHERE id_hash = %s AND expires_ms > %s",
            [id_hash, now_ms],
        )
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def end_session(self, id_hash: str) -> None:
        """End a web session."""
        self._run("DELETE FROM sessions WHERE id_hash = %s", [id_hash])

    # -- consents ----------------------------------------------------------------------------

    def grant(self, enterprise_id: int, indicator: str, user_id: int | None, now_ms: int) -> None:
        """Record an enterprise's consent to show the city one indicator (once while live)."""
        self._run(
            "INSERT INTO consents VALUES (%s, %s, %s, %s, NULL) "
            "ON CONFLICT (enterprise_id, indicator) WHERE revoked_ms IS NULL DO NOTHING",
            [enterprise_id, indicator, user_id, now_ms],
        )

    def revoke(self, enterprise_id: int, indicator: str, now_ms: int) -> bool:
        """End a consent; False if none was live. The record is kept."""
        return bool(
            self._rows(
                "UPDATE consents SET revoked_ms = %s WHERE enterprise_id = %s "
                "AND indicator = %s AND revoked_ms IS NULL RETURNING 1",
                [now_ms, enterprise_id, indicator],
            )
        )

    def consents(self, enterprise_id: int | None = None) -> list[dict[str, Any]]:
        """Live consents (of one enterprise, or all)."""
        where = "" if enterprise_id is None else "AND enterprise_id = %s"
        params = [] if enterprise_id is None else [enterprise_id]
        with _transaction(self._pool) as con:
            # COLLATE "C": byte order, as DuckDB sorts, whatever the database's locale.
            return _dicts(
                con.execute(
                    "SELECT enterprise_id, indicator, granted_by, granted_ms FROM consents "
                    f"WHERE revoked_ms IS NULL {where} "
                    'ORDER BY enterprise_id, indicator COLLATE "C"',
                    params,
                )
            )

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
        self._run(
            "INSERT INTO audit (ts_ms, actor, role, enterprise_id, action, target, detail, "
            "address) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
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
        where, params = ["true"], list[Any]()
        if not every:
            where.append("enterprise_id = %s")
            params.append(enterprise_id)
        if before_id is not None:
            where.append("id < %s")
            params.append(before_id)
        with _transaction(self._pool) as con:
            return _dicts(
                con.execute(
                    "SELECT id, ts_ms, actor, role, enterprise_id, action, target, detail, "
                    f"address FROM audit WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT %s",
                    [*params, int(limit)],
                )
            )
