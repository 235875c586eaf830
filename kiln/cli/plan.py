"""`kiln plan`: the action plan's status, and filings loaded from a CSV or Excel file.

It reads the store file directly, as its operator (stop `kiln serve` first, or use the API,
which holds the file). Filings loaded here are checked exactly as the API checks them.
"""

from __future__ import annotations

from pathlib import Path

import click

from kiln.cli.options import config_option, settings_from


@click.group()
def plan() -> None:
    """The city's action-plan tracker: status of the targets, filings from files."""


@plan.command()
@config_option
@click.option("--plan", "key", default="tech-reform-2018-2020", show_default=True)
@click.option("--as-of", "as_of", type=int, default=None, help="The plan as known that year.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
def status(config_path: Path | None, key: str, as_of: int | None, lang: str) -> None:
    """Each target's status with its reason, and the coverage of its figures."""
    from kiln.clock import SystemClock
    from kiln.plan_service.service import PlanService
    from kiln.runtime import open_store

    settings = settings_from(config_path)
    store = open_store(settings)
    try:
        service = PlanService(store)
        d = service.dashboard(key, store.catalog(), SystemClock().now_ms(), as_of_year=as_of)
    finally:
        store.close()
    click.echo(f"{d.plan.name_zh if lang == 'zh' else d.plan.name_en} (as of {d.as_of_year})")
    for v in d.targets:
        name = v.target.name_zh if lang == "zh" else v.target.name_en
        reason = v.progress.reason_zh if lang == "zh" else v.progress.reason_en
        cov = v.coverage
        share = f"{cov.filed} of {cov.in_scope} filed" if cov.in_scope else "no one in scope"
        click.echo(f"\n[{v.progress.status.value}] {name or v.target.key}\n  {reason}")
        click.echo(f"  coverage: {share}; data to {cov.latest or '-'}")


@plan.command(name="file")
@config_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--confirm", is_flag=True, help="Store values flagged as implausible or jumps.")
@click.option("--by", default="cli", show_default=True, help="Who filed, for the history.")
def file_cmd(config_path: Path | None, path: Path, confirm: bool, by: str) -> None:
    """Load filings from a CSV (UTF-8 or GB18030) or .xlsx file: one row per enterprise and
    period; a row for a period already filed is a correction and needs a reason column."""
    from kiln.clock import SystemClock
    from kiln.plan_service import submit
    from kiln.runtime import open_store

    settings = settings_from(config_path)
    data = path.read_bytes()
    is_xlsx = path.suffix.lower() == ".xlsx"
    subs = (submit.read_xlsx if is_xlsx else submit.read_csv)(data, name=path.name)
    store = open_store(settings)
    try:
        filings = submit.check(
            store.plans,
            store.catalog(),
            subs,
            filed_by=by,
            channel="xlsx" if is_xlsx else "csv",
            now_ms=SystemClock().now_ms(),
            confirm=confirm,
        )
        store.plans.write_filings(filings)
    finally:
        store.close()
    corrections = sum(1 for f in filings if f.version > 1)
    click.echo(f"stored {len(filings)} filings ({corrections} corrections) from {path.name}")
