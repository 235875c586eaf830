"""Retention and the storage report, in PostgreSQL.

Raw points go a whole day partition at a time where every series is past retention on that
day (DROP TABLE: no dead rows to vacuum, the space back at once), else by DELETE; rollups by
DELETE (a plain table per width, kiln/store/sql/postgres/0004_rollups.sql).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from kiln.domain.catalog import AssetCatalog
from kiln.store.base import StorageReport, TableUsage
from kiln.store.postgres_partitions import DAY_MS, partition_name
from kiln.store.postgres_rollups import ROLLUP_LOCK, pending_rollups
from kiln.store.retention import TABLES, Removal, RetentionGroup, RetentionPlan

Connection = psycopg.Connection[Any]

TELEMETRY = ("points", "rollup_1m", "rollup_1h")  # tables with a ts column
# Raw points of an hour not rolled up yet stay: compaction merges them into the rollups first.
NOT_DIRTY = (
    "NOT EXISTS (SELECT 1 FROM rollup_dirty d "
    "WHERE d.series = points.series AND d.hour = points.ts / 3600000)"
)


def _scope(g: RetentionGroup) -> str:
    return "series <> ALL(%(ids)s::int[])" if g.others else "series = ANY(%(ids)s::int[])"


def droppable_days(conn: Connection, plan: RetentionPlan, days: Sequence[int]) -> list[int]:
    """The day partitions of points wholly past every series' raw retention (the plan covers
    every series, and keeps none of them forever), with no hour awaiting its rollup."""
    groups = [g for g in plan.groups if g.series or g.others]
    cuts = [g.raw_before_ms for g in groups]
    if not any(g.others for g in groups) or any(c is None for c in cuts):
        return []
    before = min(c for c in cuts if c is not None)
    out = []
    for day in days:
        if (day + 1) * DAY_MS > before:
            break
        dirty = conn.execute(
            "SELECT 1 FROM rollup_dirty WHERE hour >= %s AND hour < %s LIMIT 1",
            [day * 24, (day + 1) * 24],
        ).fetchone()
        if dirty is None:
            out.append(day)
    return out


def apply_retention(
    conn: Connection, plan: RetentionPlan, days: Sequence[int], *, dry_run: bool
) -> tuple[list[Removal], list[int]]:
    """Delete (or, dry_run, count) each group's rows older than its cuts, in the caller's
    transaction, and record the raw cuts; return the removals and the days dropped whole.

    ``days`` are the day partitions of points, oldest first.
    """
    named = [s for g in plan.groups if not g.others for s in g.series]
    # Compaction reads the raw points this removes: it waits, then merges later points.
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
    drop = [] if dry_run else droppable_days(conn, plan, days)
    dropped_rows: dict[str, int] = {}
    for g in plan.groups:
        ids = {"ids": named if g.others else list(g.series)}
        dropped_rows[g.rule] = sum(
            _count(
                conn, f"SELECT count(*) FROM {partition_name('points', d)} WHERE {_scope(g)}", ids
            )
            for d in drop
        )
    for d in drop:
        conn.execute(f"DROP TABLE {partition_name('points', d)}")
    out: list[Removal] = []
    for g in plan.groups:
        args: dict[str, Any] = {"ids": named if g.others else list(g.series)}
        for table in TABLES:
            before = g.before_ms(table)
            if before is None:
                continue
            where = f"ts < %(before)s::bigint AND {_scope(g)}"
            args["before"] = before
            if dry_run:
                rows = _count(conn, f"SELECT count(*) FROM {table} WHERE {where}", args)
            else:
                if table == "points":
                    where += f" AND {NOT_DIRTY}"
                rows = conn.execute(f"DELETE FROM {table} WHERE {where}", args).rowcount
                rows += dropped_rows[g.rule] if table == "points" else 0
            out.append(Removal(table, g.rule, len(g.series), before, rows))
        if not dry_run and g.raw_before_ms is not None and g.series:
            conn.execute(
                "INSERT INTO raw_cuts SELECT unnest(%s::int[]), %s ON CONFLICT (series) "
                "DO UPDATE SET cut_ms = greatest(raw_cuts.cut_ms, excluded.cut_ms)",
                [list(g.series), g.raw_before_ms],
            )
    return out, drop


def _count(conn: Connection, sql: str, args: Any) -> int:
    row = conn.execute(sql, args).fetchone()
    return int(row[0]) if row else 0


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def _tables(conn: Connection) -> list[TableUsage]:
    """Every table of the schema (a partitioned one as a whole): rows, bytes with indexes and
    TOAST summed over its partitions, and the ts span of telemetry tables."""
    names = conn.execute(
        "SELECT c.relname, (SELECT coalesce(sum(pg_total_relation_size(t.relid)), 0) "
        "FROM pg_partition_tree(c.oid) t) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
        "AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"
    ).fetchall()
    out = []
    for name, size in names:
        span = "min(ts), max(ts)" if name in TELEMETRY else "NULL::bigint, NULL::bigint"
        row = conn.execute(f"SELECT count(*), {span} FROM {name}").fetchone()
        assert row is not None
        n, lo, hi = row
        out.append(TableUsage(str(name), int(n), int(size), lo, hi))
    out.sort(key=lambda t: (-t.bytes, t.name))
    return out


def read_storage_report(
    conn: Connection, catalog: AssetCatalog, now_ms: int, *, days: int
) -> StorageReport:
    """What uses the space (see Store.storage_report)."""
    tables = _tables(conn)
    slugs = {e.id: e.slug for e in catalog.enterprises.values()}
    per_enterprise: dict[str, int] = {}
    for series, n in conn.execute("SELECT series, count(*) FROM points GROUP BY 1").fetchall():
        sig = catalog.signals.get(int(series))
        slug = slugs.get(sig.enterprise_id, "(unknown)") if sig else "(unknown)"
        per_enterprise[slug] = per_enterprise.get(slug, 0) + int(n)
    since = now_ms - now_ms % DAY_MS - (days - 1) * DAY_MS
    per_day = conn.execute(
        f"SELECT ts / {DAY_MS} * {DAY_MS} AS day, count(*) FROM points "
        "WHERE ts >= %s AND ts < %s GROUP BY 1 ORDER BY 1",
        [since, since + days * DAY_MS],
    ).fetchall()
    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return StorageReport(
        bytes_on_disk=int(size[0]) if size else 0,
        tables=tuple(tables),
        raw_by_enterprise=tuple(sorted(per_enterprise.items(), key=lambda kv: (-kv[1], kv[0]))),
        raw_by_day=tuple((_day(int(d)), int(n)) for d, n in per_day),
        pending_rollup=pending_rollups(conn),
    )
