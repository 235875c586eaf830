"""`kiln assets import FILE`: load an asset document into the store."""

from __future__ import annotations

from pathlib import Path

import click

from kiln.cli.options import config_option, settings_from


@click.group()
def assets() -> None:
    """Manage assets: enterprises, sites, lines, stations, equipment."""


@assets.command("import")
@config_option
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def import_(config_path: Path | None, files: tuple[Path, ...]) -> None:
    """Create or update the assets described in FILES (.toml, .yaml, .yml or .json)."""
    from kiln.runtime import open_store, read_asset_file

    settings = settings_from(config_path)
    store = open_store(settings)
    try:
        for path in files:
            cat = store.import_assets(read_asset_file(path), where=str(path))
            click.echo(
                f"{path}: ok ({len(cat.enterprises)} enterprises, "
                f"{len(cat.equipment)} equipment in the store)"
            )
    finally:
        store.close()
