"""`kiln config`: every setting with its default, and a check of a settings file."""

from __future__ import annotations

from pathlib import Path

import click

from kiln.cli.options import config_option, settings_from
from kiln.config import describe_settings


@click.command()
@config_option
def config(config_path: Path | None) -> None:
    """Validate the settings (file and KILN_* variables) and print every key with its value."""
    settings = settings_from(config_path)
    data = settings.model_dump()
    for key, default, description in describe_settings():
        section, _, name = key.partition(".")
        value = data[section][name] if name else data[section]
        click.echo(f"{key:32} = {value!s:28} # {description} (default {default})")
