"""One small SQL interface over both backends, for tables whose SQL is the same in each.

Operational tables (alarms, their history, their rules) hold a few thousand rows and need
nothing backend-specific, so their SQL is written once, with ``?`` placeholders, and run through
a ``SqlSession``: DuckDB's cursor takes it as it is, psycopg gets ``%s``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import duckdb
import psycopg

from kiln.errors import Unavailable
from kiln.store.postgres_pool import Connection, Pool, describe, unreachable

Row = tuple[Any, ...]


class SqlSession(Protocol):
    """Statements inside one transaction (write) or one snapshot (read)."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; its rows (empty for one that returns none)."""
        ...

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters."""
        ...


class Sessions(Protocol):
    """Where SqlSessions come from."""

    def read(self) -> Any:
        """A context manager giving a session for reads."""
        ...

    def write(self) -> Any:
        """A context manager giving a session whose statements commit together or not at all."""
        ...


class _DuckSession:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = self._con.execute(sql, list(params))
        return cur.fetchall() if cur.description else []

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._con.executemany(sql, [list(r) for r in rows])


class DuckSessions:
    """Sessions on a DuckDB store's per-thread cursor, writes under its write lock."""

    def __init__(
        self, cursor: Callable[[], duckdb.DuckDBPyConnection], lock: threading.Lock
    ) -> None:
        self._cursor, self._lock = cursor, lock

    @contextmanager
    def read(self) -> Iterator[SqlSession]:
        """A session on this thread's cursor."""
        yield _DuckSession(self._cursor())

    @contextmanager
    def write(self) -> Iterator[SqlSession]:
        """One transaction, rolled back on any error."""
        with self._lock:
            con = self._cursor()
            con.execute("BEGIN TRANSACTION")
            try:
                yield _DuckSession(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")


def _pg(sql: str) -> str:
    # The shared SQL has no literal question marks, so every one is a placeholder.
    return sql.replace("?", "%s")


class _PgSession:
    def __init__(self, con: Connection) -> None:
        self._con = con

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = self._con.execute(_pg(sql), list(params))
        return list(cur.fetchall()) if cur.description else []

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._con.cursor() as cur:
                cur.executemany(_pg(sql), [list(r) for r in rows])


class PgSessions:
    """Sessions on a PostgreSQL pool: each read and each write is one transaction."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @contextmanager
    def read(self) -> Iterator[SqlSession]:
        """A session in its own transaction."""
        with self._session() as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[SqlSession]:
        """One transaction, rolled back on any error."""
        with self._session() as s:
            yield s

    @contextmanager
    def _session(self) -> Iterator[SqlSession]:
        # The pooled connection commits on leaving the block and rolls back on an error.
        try:
            with self._pool.connection() as con:
                yield _PgSession(con)
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            if not unreachable(err):
                raise
            where = describe(self._pool.conninfo) if isinstance(self._pool.conninfo, str) else ""
            raise Unavailable(f"PostgreSQL is unreachable: {err}", where=where) from err
