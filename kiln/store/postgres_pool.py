"""A PostgresStore's connections: a checked pool, one transaction per call, and an unreachable
server turned into Unavailable (with work that failed before its commit retried once)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

from kiln.errors import Unavailable

log = logging.getLogger(__name__)

Connection = psycopg.Connection[TupleRow]
Pool = ConnectionPool[Connection]
T = TypeVar("T")

WAIT_S = 5.0  # how long a call waits for a connection (a restart takes a second or two)
CONNECT_TIMEOUT_S = 5
# The pool retries a lost connection in the background with doubling delays; giving up after
# this long lets the next call connect at once, so a server that comes back after a long
# outage is used within seconds, not after the next (minutes long) delay.
RECONNECT_S = 10.0
# Session settings for dashboard-sized queries: JIT costs a few ms of compilation that short
# queries never win back; custom plans prune partitions while planning, so a query locks and
# plans only the days it reads; 32 MB lets a day of one series aggregate in memory.
SESSION = "SET jit = off; SET plan_cache_mode = force_custom_plan; SET work_mem = '32MB'"
# SQLSTATEs that mean the server went away: connection exceptions, and shutdowns.
_GONE = ("08", "57P01", "57P02", "57P03")


def unreachable(err: BaseException) -> bool:
    """Whether a psycopg error means the server cannot be reached (not a refused statement)."""
    if isinstance(err, PoolTimeout):
        return True
    if not isinstance(err, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    state = err.sqlstate
    return state is None or state.startswith(_GONE)


def describe(url: str) -> str:
    """Where a URL points, without its password.

    >>> describe("postgresql://kiln:secret@db.local:5433/kiln")
    'postgresql://kiln@db.local:5433/kiln'
    """
    parts = conninfo_to_dict(url)
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def _configure(conn: Connection) -> None:
    conn.execute(SESSION.encode())
    conn.commit()


class PostgresPool:
    """The pool of one store; its ``pool`` is shared with the accounts and plans tables."""

    def __init__(self, url: str, *, size: int) -> None:
        self.where = describe(url)
        self.pool: Pool = ConnectionPool(
            url,
            min_size=min(2, size),
            max_size=size,
            open=False,
            check=ConnectionPool.check_connection,
            configure=_configure,
            timeout=WAIT_S,
            reconnect_timeout=RECONNECT_S,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
            name=f"kiln {self.where}",
        )
        try:
            # One plain connection first: its error says why (refused, no such database...).
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
            self.pool.open(wait=True, timeout=WAIT_S + CONNECT_TIMEOUT_S)
        except psycopg.OperationalError as err:
            self.pool.close()
            raise self._unavailable(err) from err

    def _unavailable(self, err: BaseException) -> Unavailable:
        return Unavailable(f"PostgreSQL is unreachable: {err}", where=self.where)

    def transaction(
        self,
        work: Callable[[Connection], T],
        *,
        prepare: Callable[[Connection], object] | None = None,
    ) -> T:
        """Run work in one transaction on a pooled connection (prepare first, in its own
        transactions) and return its result.

        When the server goes away before the commit was sent, the transaction is rolled back
        for sure, so the call runs once more on a fresh connection; a failure of the commit
        itself may have committed, so it is not retried. Either way the error that remains
        becomes Unavailable.
        """
        for attempt in (1, 2):
            committing = False
            try:
                with self.pool.connection() as conn:
                    if prepare is not None:
                        prepare(conn)
                    with conn.transaction():
                        result = work(conn)
                        committing = True
                    return result
            except (psycopg.OperationalError, psycopg.InterfaceError) as err:
                if not unreachable(err):
                    raise
                if committing or attempt == 2 or isinstance(err, PoolTimeout):
                    raise self._unavailable(err) from err
                log.warning("PostgreSQL %s went away (%s); trying once more", self.where, err)
        raise AssertionError("unreachable")  # pragma: no cover

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run work that opens its own transactions on a pooled connection, once."""
        try:
            with self.pool.connection() as conn:
                return work(conn)
        except (psycopg.OperationalError, psycopg.InterfaceError) as err:
            if unreachable(err):
                raise self._unavailable(err) from err
            raise

    def autocommit(self, work: Callable[[Connection], T]) -> T:
        """Run work outside any transaction block (VACUUM needs that), once."""

        def outside(conn: Connection) -> T:
            conn.autocommit = True
            try:
                return work(conn)
            finally:
                if not conn.broken:
                    conn.autocommit = False

        return self.run(outside)

    def close(self) -> None:
        """Close every connection."""
        self.pool.close()
