"""Retention and the storage report, in DuckDB."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import duckdb

from kiln.domain.catalog import AssetCatalog
from kiln.store.base import StorageReport, TableUsage
from kiln.store.duckdb_rollups import pending_rollups
from kiln.store.retention import TABLES, Removal, RetentionPlan

DAY_MS = 86_400_000
# Telemetry tables: the column and unit (ms) of their time.
TIME = {
    "points": ("ts", 1),
    "points_hot": ("ts", 1),
    "rollup_1m": ("minute", 60_000),
    "rollup_1h": ("hour", 3_600_000),
}
RAW = "(SELECT series, ts FROM points UNION ALL SELECT series, ts FROM points_hot)"
# Raw points of an hour not rolled up yet stay: compaction merges them into the rollups first.
NOT_DIRTY = (
    "NOT EXISTS (SELECT 1 FROM rollup_dirty d "
    "WHERE d.series = points.series AND d.hour = points.ts // 3600000) "
    "AND NOT EXISTS (SELECT 1 FROM rollup_hour_marks d "
    "WHERE points.series BETWEEN d.series_lo AND d.series_hi AND d.hour = points.ts // 3600000)"
)


def apply_retention(
    con: duckdb.DuckDBPyConnection, plan: RetentionPlan, *, dry_run: bool
) -> list[Removal]:
    """Delete (or, dry_run, count) each group's rows older than its cuts, in one transaction,
    and record the raw cuts, so late points before them are merged rather than recomputed."""
    named = [s for g in plan.groups if not g.others for s in g.series]
    out: list[Removal] = []
    if not dry_run:
        con.execute("BEGIN TRANSACTION")
    try:
        for g in plan.groups:
            ids = named if g.others else list(g.series)
            scope = f"series {'NOT IN' if g.others else 'IN'} (SELECT unnest($ids::INTEGER[]))"
            for table in TABLES:
                before = g.before_ms(table)
                if before is None:
                    continue
                col, unit = TIME[table]
                where = f"{col} < $before // {unit} AND {scope}"
                if table == "points" and not dry_run:
                    where += f" AND {NOT_DIRTY}"
                verb = "SELECT count(*) FROM" if dry_run else "DELETE FROM"
                rows = con.execute(
                    f"{verb} {table} WHERE {where}", {"before": before, "ids": ids}
                ).fetchall()
                out.append(Removal(table, g.rule, len(g.series), before, int(rows[0][0])))
            if not dry_run and g.raw_before_ms is not None and g.series:
                con.execute(
                    "INSERT INTO raw_cuts SELECT unnest($ids::INTEGER[]), $cut "
                    "ON CONFLICT DO UPDATE SET cut_ms = greatest(raw_cuts.cut_ms, excluded.cut_ms)",
                    {"ids": list(g.series), "cut": g.raw_before_ms},
                )
        if not dry_run:
            con.execute("COMMIT")
    except BaseException:
        if not dry_run:
            con.execute("ROLLBACK")
        raise
    return out


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def table_bytes(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, int]:
    """Bytes each table's persistent segments take, estimated from block offsets: a segment
    runs to the next segment of its block (or the block's end); tables share blocks."""
    block = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
    if not tables or not block:
        return {}
    segments = " UNION ALL ".join(
        f"SELECT '{t}' AS t, block_id, block_offset, additional_block_ids "
        f"FROM pragma_storage_info('{t}') WHERE block_id >= 0"
        for t in tables
    )
    rows = con.execute(
        f"WITH seg AS ({segments}), sized AS (SELECT t, coalesce(lead(block_offset) "
        "OVER (PARTITION BY block_id ORDER BY block_offset), $b) - block_offset "
        "+ len(additional_block_ids) * $b AS bytes FROM seg) "
        "SELECT t, sum(bytes)::BIGINT FROM sized GROUP BY t",
        {"b": block},
    ).fetchall()
    return {str(t): int(n) for t, n in rows}


def read_storage_report(
    con: duckdb.DuckDBPyConnection, catalog: AssetCatalog, path: str, now_ms: int, *, days: int
) -> StorageReport:
    """What uses the space (see Store.storage_report); call after a checkpoint."""
    names = [
        str(r[0])
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' ORDER BY 1"
        ).fetchall()
    ]
    sizes = table_bytes(con, names)
    tables = []
    for name in names:
        col, unit = TIME.get(name, ("NULL", 1))
        span = f"min({col})::BIGINT * {unit}, max({col})::BIGINT * {unit}"
        n, lo, hi = con.execute(f"SELECT count(*), {span} FROM {name}").fetchall()[0]
        tables.append(TableUsage(name, int(n), sizes.get(name, 0), lo, hi))
    tables.sort(key=lambda t: (-t.bytes, t.name))
    slugs = {e.id: e.slug for e in catalog.enterprises.values()}
    per_enterprise: dict[str, int] = {}
    for series, n in con.execute(f"SELECT series, count(*) FROM {RAW} GROUP BY 1").fetchall():
        sig = catalog.signals.get(int(series))
        slug = slugs.get(sig.enterprise_id, "(unknown)") if sig else "(unknown)"
        per_enterprise[slug] = per_enterprise.get(slug, 0) + int(n)
    since = now_ms - now_ms % DAY_MS - (days - 1) * DAY_MS
    per_day = con.execute(
        f"SELECT ts // {DAY_MS} * {DAY_MS} AS day, count(*) FROM {RAW} "
        "WHERE ts >= ? AND ts < ? GROUP BY 1 ORDER BY 1",
        [since, since + days * DAY_MS],
    ).fetchall()
    pending = pending_rollups(con)
    return StorageReport(
        bytes_on_disk=os.path.getsize(path) if path != ":memory:" else 0,
        tables=tuple(tables),
        raw_by_enterprise=tuple(sorted(per_enterprise.items(), key=lambda kv: (-kv[1], kv[0]))),
        raw_by_day=tuple((_day(int(d)), int(n)) for d, n in per_day),
        pending_rollup=int(pending),
    )
