"""`kiln import FILE`: load a CSV of telemetry (wide or long) into the store, in chunks."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from kiln.cli.options import config_option, settings_from
from kiln.errors import KilnError
from kiln.ingest.csv_import import FORMATS, CsvImport, CsvRefused

SHOWN_REJECTS = 10


@click.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--enterprise", required=True, help="Slug of the enterprise the data belongs to.")
@click.option(
    "--equipment",
    default=None,
    help="Equipment of a wide file whose columns are signal names (else name them "
    "equipment.signal).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="wide: time + a column per signal; long: time,equipment,signal,value.",
)
@click.option(
    "--timezone",
    default="Asia/Shanghai",
    show_default=True,
    help="Zone of times written without an offset.",
)
def import_csv(
    config_path: Path | None,
    file: Path,
    enterprise: str,
    equipment: str | None,
    fmt: str,
    timezone: str,
) -> None:
    """Import a CSV file of telemetry: every cell is checked first, so a bad one (named by
    file:line:column) stores nothing; an interrupted import, run again, stores each point once.
    """
    from kiln.runtime import build_runtime

    rt = build_runtime(settings_from(config_path), simulate=False)
    try:
        t0 = time.perf_counter()
        job = CsvImport(
            file,
            rt.catalog,
            enterprise=enterprise,
            equipment=equipment,
            fmt=fmt,
            timezone=timezone,
            now_ms=rt.clock.now_ms(),
        )
        rows = job.check()
        points = skipped = chunks = 0
        with click.progressbar(length=rows, label=f"importing {file.name}") as bar:
            for chunk in job.chunks():
                added = rt.writer.submit_sync(chunk.bundle, batch_id=chunk.batch_id)
                points += added
                skipped += added == 0 and len(chunk.bundle) > 0
                chunks += 1
                bar.update(chunk.rows)
        took = time.perf_counter() - t0
        again = f", {skipped} already imported before" if skipped else ""
        click.echo(
            f"{file}: {rows:,} rows, {points:,} points stored in {chunks} chunk(s){again} "
            f"({took:.1f} s, {points / max(took, 1e-9):,.0f} points/s)"
        )
    except CsvRefused as err:
        for r in err.rejects[:SHOWN_REJECTS]:
            click.echo(f"kiln: {r.where()}: {r.reason}", err=True)
        if err.count > SHOWN_REJECTS:
            click.echo(f"kiln: ... {err.count - SHOWN_REJECTS} more; nothing was stored", err=True)
        sys.exit(1)
    except KilnError as err:
        click.echo(f"kiln: {err}", err=True)
        sys.exit(1)
    finally:
        rt.close()
