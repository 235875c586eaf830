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
from kiln.domain.templates import TEMPLATES


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


class _Ids:
    """Hands out ids: the existing one for a known key, else the next free one."""

    def __init__(self, existing: dict[Any, int]) -> None:
        self.existing = existing
        self.next = max(existing.values(), default=0) + 1

    def __call__(self, key: Any) -> int:
        if key not in self.existing:
            self.existing[key] = self.next
            self.next += 1
        return self.existing[key]


def upsert_tree(con: duckdb.DuckDBPyConnection, tree: AssetTree, cat: AssetCatalog) -> None:
    """Insert or update every asset of the tree inside the caller's transaction."""
    ent_ids = _Ids(dict(cat.enterprise_by_slug))
    site_ids = _Ids({(s.enterprise_id, s.slug): s.id for s in cat.sites.values()})
    line_ids = _Ids({(ln.site_id, ln.slug): ln.id for ln in cat.lines.values()})
    st_ids = _Ids({(s.line_id, s.slug): s.id for s in cat.stations.values()})
    eq_ids = _Ids(dict(cat.equipment_by_path))
    sig_ids = _Ids(dict(cat.series_by_name))
    ent_rows, site_rows, line_rows, st_rows, eq_rows, sig_rows = [], [], [], [], [], []
    for e in tree.enterprises:
        ent_rows.append(
            (
                ent_ids(e["slug"]),
                e["slug"],
                e["name"],
                e["name_zh"],
                e["district"],
                e["industry_code"],
                e["robot_maker"],
            )
        )
    for s in tree.sites:
        eid = ent_ids(s["enterprise"])
        site_rows.append(
            (
                site_ids((eid, s["slug"])),
                eid,
                s["slug"],
                s["name"],
                s["timezone"],
                s["calendar"].text,
            )
        )
    for ln in tree.lines:
        eid = ent_ids(ln["enterprise"])
        sid = site_ids((eid, ln["site"]))
        line_rows.append(
            (line_ids((sid, ln["slug"])), eid, sid, ln["slug"], ln["name"], ln["area"])
        )
    for st in tree.stations:
        eid = ent_ids(st["enterprise"])
        lid = line_ids((site_ids((eid, st["site"])), st["line"]))
        st_rows.append(
            (
                st_ids((lid, st["slug"])),
                eid,
                lid,
                st["slug"],
                st["name"],
                st["position"],
                st["operators"],
            )
        )
    for q in tree.equipment:
        eid = ent_ids(q.enterprise)
        stid = st_ids((line_ids((site_ids((eid, q.site)), q.line)), q.station))
        qid = eq_ids((eid, q.slug))
        tmpl = TEMPLATES[q.template]
        eq_rows.append(
            (qid, eid, stid, q.slug, q.name, q.template, q.ideal_cycle_s or tmpl.ideal_cycle_s)
        )
        for spec in tmpl.signals:
            sig_rows.append(
                (
                    sig_ids((qid, spec.name)),
                    eid,
                    qid,
                    spec.name,
                    spec.unit,
                    spec.kind,
                    spec.lo,
                    spec.hi,
                )
            )
    for table, rows in (
        ("enterprises", ent_rows),
        ("sites", site_rows),
        ("lines", line_rows),
        ("stations", st_rows),
        ("equipment", eq_rows),
        ("signals", sig_rows),
    ):
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
