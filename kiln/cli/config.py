"""`kiln config`: every setting with its default, and a check of a settings file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kiln.cli.options import config_option, settings_from
from kiln.config import describe_settings


@click.command()
@config_option
def config(config_path: Path | None) -> None:
    """Validate the settings (file and KILN_* variables) and print every key with its value."""
    settings = settings_from(config_path)
    data = settings.model_dump(mode="json")
    for key, default, description in describe_settings():
        if "[]" in key:
            continue  # the keys of each table of a list: shown with the list
        value: Any = data
        for part in key.split("."):
            value = value[part]
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = ", ".join(str(v.get("name", "?")) for v in value) or "[]"
        click.echo(f"{key:32} = {value!s:28} # {description} (default {default})")
