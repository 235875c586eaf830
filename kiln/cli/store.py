"""`kiln store`: what the store holds and what uses the space, retention, Parquet export.

It opens the store file directly, as its operator (stop `kiln serve` first, or use
GET /api/v1/storage, which the server answers from the file it holds).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kiln.cli.options import config_option, settings_from
from kiln.config import Settings
from kiln.errors import BadInput

if TYPE_CHECKING:
    from kiln.store.base import StorageReport, Store
    from kiln.store.retention import Removal, RetentionPlan

DAY_MS = 86_400_000


def _open(settings: Settings) -> Store:
    from kiln.runtime import open_store

    return open_store(settings)


def _plan(settings: Settings, store: Store, now_ms: int) -> RetentionPlan:
    from kiln.store.retention import retention_plan

    return retention_plan(store.catalog(), settings.retention, now_ms)


def human_bytes(n: int) -> str:
    """Bytes in B, KB, MB, GB or TB (powers of 1024).

    >>> human_bytes(512), human_bytes(3 * 2**20)
    ('512 B', '3.0 MB')
    """
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def day_of(ms: int | None) -> str:
    """The UTC date of epoch ms, '-' for None.

    >>> day_of(1_764_000_000_000)
    '2025-11-24'
    """
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def format_removals(removals: list[Removal], *, dry_run: bool) -> list[str]:
    """One line per (rule, table) with rows to remove."""
    verb = "would remove" if dry_run else "removed"
    lines = [
        f"{r.table}: {verb} {r.rows:,} rows before {day_of(r.before_ms)} "
        f"({r.rule}, {r.series} series)"
        for r in removals
        if r.rows
    ]
    return lines or [f"nothing {'would be' if dry_run else 'was'} removed"]


def format_report(report: StorageReport, removals: list[Removal]) -> str:
    """The storage report as text."""
    lines = [
        f"file: {human_bytes(report.bytes_on_disk)}",
        "",
        "table                rows      bytes",
    ]
    for t in report.tables:
        if t.rows or t.bytes:
            span = f"  {day_of(t.oldest_ms)} .. {day_of(t.newest_ms)}" if t.oldest_ms else ""
            lines.append(f"{t.name:<18} {t.rows:>12,} {human_bytes(t.bytes):>10}{span}")
    raw = report.table("points")
    lines += ["", f"oldest raw day: {day_of(raw.oldest_ms if raw else None)}"]
    lines.append(f"hours awaiting rollup: {report.pending_rollup:,}")
    lines += ["", "raw points per enterprise:"]
    lines += [f"  {slug:<24} {n:>14,}" for slug, n in report.raw_by_enterprise] or ["  none"]
    lines += ["", "raw points per day (UTC):"]
    lines += [f"  {day}  {n:>14,}" for day, n in report.raw_by_day] or ["  none"]
    lines += ["", "retention will remove next:"]
    lines += [f"  {x}" for x in format_removals(removals, dry_run=True)]
    return "\n".join(lines)


def parse_day(text: str | None, *, where: str) -> int | None:
    """A UTC date (2025-11-24) as the epoch ms of its start; None stays None.

    >>> parse_day("2025-11-24", where="--from")
    1763942400000
    """
    if text is None:
        return None
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{text!r} is not a date (2025-11-24)", where=where) from None
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


@click.group()
def store() -> None:
    """The telemetry store: what uses the space, retention, Parquet export."""


@store.command()
@config_option
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="As JSON (the API's body).")
def report(config_path: Path | None, days: int, as_json: bool) -> None:
    """Rows and bytes per table, raw points per enterprise and per day, the oldest raw day,
    and what retention will remove next."""
    import orjson

    from kiln.clock import SystemClock

    settings = settings_from(config_path)
    now = SystemClock().now_ms()
    db = _open(settings)
    try:
        rep = db.storage_report(now, days=days)
        removals = db.retention(_plan(settings, db, now), dry_run=True)
    finally:
        db.close()
    if as_json:
        click.echo(orjson.dumps(rep.view(removals), option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(format_report(rep, removals))


@store.command()
@config_option
@click.option("--dry-run", is_flag=True, help="Only show what would be removed.")
def retention(config_path: Path | None, dry_run: bool) -> None:
    """Remove raw points and rollups past the [retention] settings (whole UTC days); the
    server does this once a day by itself."""
    from kiln.clock import SystemClock

    settings = settings_from(config_path)
    db = _open(settings)
    try:
        plan = _plan(settings, db, SystemClock().now_ms())
        removals = db.retention(plan, dry_run=dry_run)
    finally:
        db.close()
    for rule in plan.unmatched:
        click.echo(f"warning: retention rule '{rule}' matches no signal", err=True)
    click.echo("\n".join(format_removals(removals, dry_run=dry_run)))


@store.command()
@config_option
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write date=YYYY-MM-DD/enterprise=<slug>/part-0.parquet under.",
)
@click.option("--from", "from_", default=None, help="First UTC day (default: the oldest).")
@click.option("--to", default=None, help="Last UTC day, inclusive (default: today).")
@click.option("--enterprise", default=None, help="Only this enterprise (slug).")
@click.option(
    "--rollup",
    type=click.Choice(["raw", "1m", "1h"]),
    default="raw",
    show_default=True,
    help="Raw points, or 1-minute or 1-hour rollups (value = average, plus min/max/last/count).",
)
def export(
    config_path: Path | None,
    out: Path,
    from_: str | None,
    to: str | None,
    enterprise: str | None,
    rollup: str,
) -> None:
    """Write telemetry as Hive-partitioned Parquet, readable by DuckDB and Spark."""
    from kiln.clock import SystemClock
    from kiln.store.export import Resolution, export_parquet

    first, last = parse_day(from_, where="--from"), parse_day(to, where="--to")
    settings = settings_from(config_path)
    now = SystemClock().now_ms()
    db = _open(settings)
    try:
        if first is None:
            rep = db.storage_report(now, days=1)
            table = rep.table("points" if rollup == "raw" else f"rollup_{rollup}")
            first = table.oldest_ms if table and table.oldest_ms is not None else now
        resolution: Resolution = "1m" if rollup == "1m" else "1h" if rollup == "1h" else "raw"
        result = export_parquet(
            db,
            out,
            first,
            now if last is None else last,
            enterprise=enterprise,
            resolution=resolution,
        )
    finally:
        db.close()
    click.echo(
        f"wrote {result.rows:,} rows in {len(result.files)} files "
        f"({result.days} days with data) under {out}"
    )
