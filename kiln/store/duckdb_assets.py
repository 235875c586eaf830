"""Asset rows in DuckDB: upsert from a validated asset tree, and load the catalogue."""

from __future__ import annotations

import contextlib
from typing import Any

import duckdb
import pyarrow as pa

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


def seed_districts(con: duckdb.DuckDBPyConnection) -> None:
    """Build in the city's five districts."""
    con.executemany(
        "INSERT OR IGNORE INTO districts VALUES (?, ?, ?, ?)",
        [(d.id, d.code, d.name_en, d.name_zh) for d in FOSHAN_DISTRICTS],
    )


def load_catalog(con: duckdb.DuckDBPyConnection) -> AssetCatalog:
    """Read every asset row into a catalogue."""

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql).fetchall()

    return AssetCatalog.build(
        (
            Enterprise(r[0], r[1], r[2], r[4], r[5], bool(r[6]), r[3] or "")
            for r in rows(
                "SELECT id, slug, name, name_zh, district, industry_code, robot_maker "
                "FROM enterprises"
            )
        ),
        (
            Site(r[0], r[1], r[2], r[3], r[4], SiteCalendar.parse(r[5]))
            for r in rows("SELECT id, enterprise_id, slug, name, timezone, calendar FROM sites")
        ),
        (Line(*r) for r in rows("SELECT id, enterprise_id, site_id, slug, name, area FROM lines")),
        (
            Station(*r)
            for r in rows(
                "SELECT id, enterprise_id, line_id, slug, name, position, operators FROM stations"
            )
        ),
        (
            Equipment(*r)
            for r in rows(
                "SELECT id, enterprise_id, station_id, slug, name, template, ideal_cycle_s "
                "FROM equipment"
            )
        ),
        (
            Signal(*r)
            for r in rows(
                "SELECT id, enterprise_id, equipment_id, name, unit, kind, lo, hi FROM signals"
            )
        ),
    )


def upsert_tree(con: duckdb.DuckDBPyConnection, tree: AssetTree, cat: AssetCatalog) -> None:
    """Insert or update every asset of the tree inside the caller's transaction."""
    for table, rows in asset_rows(tree, cat).items():
        if rows:
            _insert(con, table, rows)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[Any, ...]]) -> None:
    # One columnar insert instead of executemany: thousands of signals load in milliseconds.
    names = [c[0] for c in con.execute(f"SELECT * FROM {table} LIMIT 0").description]
    arrow = pa.table({n: list(col) for n, col in zip(names, zip(*rows, strict=True), strict=True)})
    con.register("_asset_rows", arrow)
    try:
        con.execute(f"INSERT OR REPLACE INTO {table} SELECT * FROM _asset_rows")
    finally:
        with contextlib.suppress(duckdb.Error):  # already gone if the transaction failed
            con.unregister("_asset_rows")
