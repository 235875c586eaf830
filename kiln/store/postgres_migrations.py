"""Schema migrations for PostgreSQL: numbered SQL files, each applied once, in order.

``kiln/store/sql/postgres/NNNN_name.sql`` run in version order, each in its own transaction
that also records it in schema_migrations. Processes starting together (``kiln serve`` and its
ingest workers) take turns on one advisory lock, and each re-reads what is applied once it has
the lock, so a file never runs twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg

MIGRATIONS_DIR = "sql/postgres"
# pg_advisory_xact_lock key of schema changes: "kiln" in ASCII, then the migration lock's number.
LOCK_KEY = 0x6B696C6E_00000001
_FILE = re.compile(r"(\d{4})_(\w+)\.sql")
_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema change: its version, name and SQL."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """Every migration shipped with Kiln, by version."""
    folder = resources.files("kiln.store").joinpath(MIGRATIONS_DIR)
    found = []
    for item in folder.iterdir():
        if m := _FILE.fullmatch(item.name):
            found.append(Migration(int(m[1]), m[2], item.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version in {MIGRATIONS_DIR}: {versions}")
    return found


def applied_versions(conn: psycopg.Connection[Any]) -> set[int]:
    """The versions recorded in schema_migrations (none before the first migration)."""
    with conn.transaction():
        if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,):
            return set()
        return {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations")}


def migrate(conn: psycopg.Connection[Any], *, upto: int | None = None) -> list[int]:
    """Apply the migrations not applied yet (those up to version ``upto`` when given), each in
    one transaction; return the versions this call applied."""
    done = applied_versions(conn)
    todo = [
        m for m in migrations() if m.version not in done and (upto is None or m.version <= upto)
    ]
    applied = []
    for m in todo:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            conn.execute(_TABLE)
            # Another process may have applied it while this one waited for the lock.
            if conn.execute(
                "SELECT 1 FROM schema_migrations WHERE version = %s", [m.version]
            ).fetchone():
                continue
            conn.execute(m.sql.encode())  # a whole file: several statements, no parameters
            conn.execute(
                "INSERT INTO schema_migrations VALUES (%s, %s, now())", [m.version, m.name]
            )
        applied.append(m.version)
    return applied
