"""Day partitions of points and counts: created on demand before a write, vacuumed once closed.

Each UTC day of a partitioned table is its own table (``points_20251124``), attached before the
first write that reaches that day. A process remembers the days it knows exist; a missing one is
created under an advisory lock keyed by table and day, so processes writing the same new day
take turns and the second finds the table there. A partition is created on its own and then
ATTACHed: ``CREATE TABLE ... PARTITION OF`` would lock the parent against every reader until
the creating transaction ends, ATTACH only against other schema changes.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray

from kiln.errors import BadInput

DAY_MS = 86_400_000
TABLES = {"points": 1, "counts": 2}  # partitioned tables, and their advisory lock keys
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_FIRST_DAY = (dt.datetime(1000, 1, 1, tzinfo=dt.UTC) - _EPOCH).days  # names keep 8 digits
_LAST_DAY = (dt.datetime(9999, 12, 31, tzinfo=dt.UTC) - _EPOCH).days


def partition_name(table: str, day: int) -> str:
    """The partition of a table holding a UTC day (days since 1970-01-01).

    >>> partition_name("points", 1_764_000_000_000 // DAY_MS)
    'points_20251124'
    """
    d = _EPOCH + dt.timedelta(days=day)
    return f"{table}_{d.year:04d}{d.month:02d}{d.day:02d}"


def day_of_partition(name: str) -> int | None:
    """The UTC day a partition holds, from its name (None: not a day partition).

    >>> day_of_partition("points_20251124") == 1_764_000_000_000 // DAY_MS
    True
    """
    m = re.fullmatch(r"[a-z_]+_(\d{4})(\d{2})(\d{2})", name)
    if m is None:
        return None
    return (dt.datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=dt.UTC) - _EPOCH).days


def days_of(ts_ms: NDArray[np.int64]) -> list[int]:
    """The UTC days (since 1970-01-01) that the timestamps fall on.

    >>> days_of(np.array([DAY_MS - 1, DAY_MS, 3 * DAY_MS]))
    [0, 1, 3]
    """
    if not len(ts_ms):
        return []
    lo, hi = int(ts_ms.min()) // DAY_MS, int(ts_ms.max()) // DAY_MS
    if lo < _FIRST_DAY or hi > _LAST_DAY:
        bad = int(ts_ms.min()) if lo < _FIRST_DAY else int(ts_ms.max())
        raise BadInput(f"{bad} is outside the years 1000 to 9999", where="ts_ms")
    if lo == hi:  # nearly every batch: no need to look at each timestamp
        return [lo]
    return [int(d) for d in np.unique(ts_ms // DAY_MS)]


class DayPartitions:
    """The day partitions one process knows exist; creates the missing ones."""

    def __init__(self) -> None:
        self._known: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def load(self, conn: psycopg.Connection[Any]) -> None:
        """Learn the partitions the database already has."""
        with conn.transaction():
            for table in TABLES:
                rows = conn.execute(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = %s::regclass",
                    [table],
                ).fetchall()
                days = [day_of_partition(str(r[0])) for r in rows]
                with self._lock:
                    self._known.update((table, d) for d in days if d is not None)

    def days(self, table: str) -> list[int]:
        """The known days of a table, oldest first."""
        with self._lock:
            return sorted(d for t, d in self._known if t == table)

    def ensure(self, conn: psycopg.Connection[Any], table: str, ts_ms: NDArray[np.int64]) -> None:
        """Create the partitions of table that rows at these times need (each day in its own
        short transaction, before the write's own)."""
        with self._lock:
            missing = [d for d in days_of(ts_ms) if (table, d) not in self._known]
        for day in missing:
            self._create(conn, table, day)
            with self._lock:
                self._known.add((table, day))

    @staticmethod
    def _create(conn: psycopg.Connection[Any], table: str, day: int) -> None:
        name = partition_name(table, day)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", [TABLES[table], day])
            if conn.execute("SELECT to_regclass(%s)", [name]).fetchone() != (None,):
                return  # another process made it while this one waited
            conn.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
            conn.execute(
                f"ALTER TABLE {table} ATTACH PARTITION {name} "
                f"FOR VALUES FROM ({day * DAY_MS}) TO ({(day + 1) * DAY_MS})"
            )
