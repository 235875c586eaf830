"""`kiln report`: the city's yearly report on its industry and the action plan, as HTML, PDF
or Markdown.

It reads the store file directly, as its operator, like `kiln kpi` (stop `kiln serve` first,
or ask the API, which holds the file).
"""

from __future__ import annotations

from pathlib import Path

import click

from kiln.cli.options import config_option, settings_from
from kiln.errors import BadInput, KilnError

WHERE = {"year": "--year", "lang": "--lang", "format": "--format", "plan": "--plan"}


@click.command()
@config_option
@click.option("--year", type=int, required=True, help="The year to report on (one that is over).")
@click.option(
    "--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Language."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf", "md"]),
    default="html",
    show_default=True,
    help="HTML with inline charts, PDF for print, or Markdown (no charts).",
)
@click.option(
    "--plan",
    "plan_key",
    default=None,
    help="Only this plan (default: every plan in force in or before the year).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to this file (default: standard output; a PDF goes to "
    "kiln-report-[plan-]YEAR-LANG.pdf here).",
)
def report(
    config_path: Path | None,
    year: int,
    lang: str,
    fmt: str,
    plan_key: str | None,
    output: Path | None,
) -> None:
    """The city's yearly report: headline facts with their sources, the plan's targets as known
    at the end of the year, tables by district and industry (disclosure control applied) and
    charts, written in English or Chinese from the data."""
    from kiln.clock import SystemClock
    from kiln.plan_service.report import build_report
    from kiln.plan_service.report_render import file_name, render
    from kiln.plan_service.service import PlanService
    from kiln.runtime import open_store

    settings = settings_from(config_path)
    store = open_store(settings)
    try:
        made = build_report(
            PlanService(store),
            store.catalog(),
            SystemClock().now_ms(),
            year=year,
            lang=lang,
            plan_key=plan_key,
        )
        body = render(made, fmt)
    except KilnError as err:
        # The report names its inputs ("year"); here they are options.
        raise type(err)(err.what, where=WHERE.get(err.where, err.where)) from None
    finally:
        store.close()
    if output is None and fmt != "pdf":
        click.echo(body.decode(), nl=False)
        return
    path = output or Path(file_name(made, fmt))
    try:
        path.write_bytes(body)
    except OSError as err:
        raise BadInput(f"cannot write {path}: {err.strerror}", where="--output") from None
    click.echo(f"wrote {path} ({len(body):,} bytes)", err=True)
