"""Asset rows in PostgreSQL: upsert from a validated asset tree, load the catalogue, and the
catalogue version that tells other processes to reload theirs.

Ids are handed out as DuckDBStore does (the existing id of a natural key, else the next free
one), under an advisory lock and from the catalogue as stored, so two processes importing at
once never hand out one id twice.
"""

from __future__ import annotations

from typing import Any

import psycopg

from kiln.domain.asset_document import AssetTree
from kiln.domain.assets import (
    FOSHAN_DISTRICTS,
    Enterprise,
    Equipment,
    Line,
    Signal,
    Site,
    SiteCalendar,
    Station,
)
from kiln.domain.catalog import AssetCatalog
from kiln.store.asset_rows import asset_rows

Connection = psycopg.Connection[Any]

VERSION_KEY = "catalog_version"
LOCK_KEY = 0x6B696C6E_00000002  # pg_advisory_xact_lock key of asset imports
# Each asset table's columns and their types, in table order.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "enterprises": (
        ("id", "int"),
        ("slug", "text"),
        ("name", "text"),
        ("name_zh", "text"),
        ("district", "text"),
        ("industry_code", "text"),
        ("robot_maker", "bool"),
    ),
    "sites": (
        ("id", "int"),
        ("enterprise_id", "int"),
        ("slug", "text"),
        ("name", "text"),
        ("timezone", "text"),
        ("calendar", "text"),
    ),
    "lines": (
        ("id", "int"),
        ("enterprise_id", "int"),
        ("site_id", "int"),
        ("slug", "text"),
        ("name", "text"),
        ("area", "text"),
    ),
    "stations": (
        ("id", "int"),
        ("enterprise_id", "int"),
        ("line_id", "int"),
        ("slug", "text"),
        ("name", "text"),
        ("position", "int"),
        ("operators", "int"),
    ),
    "equipment": (
        ("id", "int"),
        ("enterprise_id", "int"),
        ("station_id", "int"),
        ("slug", "text"),
        ("name", "text"),
        ("template", "text"),
        ("ideal_cycle_s", "float8"),
    ),
    "signals": (
        ("id", "int"),
        ("enterprise_id", "int"),
        ("equipment_id", "int"),
        ("name", "text"),
        ("unit", "text"),
        ("kind", "text"),
        ("lo", "float8"),
        ("hi", "float8"),
    ),
}


def seed_districts(conn: Connection) -> None:
    """Build in the city's five districts."""
    conn.execute(
        "INSERT INTO districts SELECT * FROM unnest(%s::int[], %s::text[], %s::text[], "
        "%s::text[]) ON CONFLICT (id) DO NOTHING",
        [
            [d.id for d in FOSHAN_DISTRICTS],
            [d.code for d in FOSHAN_DISTRICTS],
            [d.name_en for d in FOSHAN_DISTRICTS],
            [d.name_zh for d in FOSHAN_DISTRICTS],
        ],
    )


def catalog_version(conn: Connection) -> str:
    """The stored catalogue's version: it changes with every import."""
    row = conn.execute("SELECT value FROM meta WHERE key = %s", [VERSION_KEY]).fetchone()
    return str(row[0]) if row else ""


def load_catalog(conn: Connection) -> AssetCatalog:
    """Read every asset row into a catalogue."""

    def rows(table: str) -> list[tuple[Any, ...]]:
        names = ", ".join(c for c, _ in COLUMNS[table])
        return conn.execute(f"SELECT {names} FROM {table}").fetchall()

    return AssetCatalog.build(
        (
            Enterprise(r[0], r[1], r[2], r[4], r[5], bool(r[6]), r[3] or "")
            for r in rows("enterprises")
        ),
        (Site(r[0], r[1], r[2], r[3], r[4], SiteCalendar.parse(r[5])) for r in rows("sites")),
        (Line(*r) for r in rows("lines")),
        (Station(*r) for r in rows("stations")),
        (Equipment(*r) for r in rows("equipment")),
        (Signal(*r) for r in rows("signals")),
    )


def import_tree(conn: Connection, tree: AssetTree) -> tuple[AssetCatalog, str]:
    """Insert or update every asset of the tree inside the caller's transaction; return the
    catalogue after it and its new version."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
    for table, rows in asset_rows(tree, load_catalog(conn)).items():
        if rows:
            _upsert(conn, table, rows)
    row = conn.execute(
        "INSERT INTO meta VALUES (%s, '1') ON CONFLICT (key) DO UPDATE "
        "SET value = (meta.value::bigint + 1)::text RETURNING value",
        [VERSION_KEY],
    ).fetchone()
    assert row is not None
    return load_catalog(conn), str(row[0])


def _upsert(conn: Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    # One statement over column arrays instead of a statement per row: thousands of signals
    # load in milliseconds.
    cols = COLUMNS[table]
    rows = list({r[0]: r for r in rows}.values())  # one row per id: the last one given
    names = ", ".join(c for c, _ in cols)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in cols)
    updates = ", ".join(f"{c} = excluded.{c}" for c, _ in cols[1:])
    conn.execute(
        f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT (id) DO UPDATE SET {updates}",
        [_column(c, kind) for c, (_, kind) in zip(zip(*rows, strict=True), cols, strict=True)],
    )


def _column(values: tuple[Any, ...], kind: str) -> list[Any]:
    """A column as a list of one Python type (psycopg dumps no mixed lists; 30 is a float8)."""
    if kind == "float8":
        return [None if v is None else float(v) for v in values]
    return list(values)
