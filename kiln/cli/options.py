"""Options several commands share."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kiln.config import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def config_option(fn: F) -> F:
    """Add --config FILE."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="TOML settings file (default: $KILN_CONFIG, else built-in defaults).",
    )(fn)


def settings_from(config_path: Path | None, **overrides: Any) -> Settings:
    """Load settings, then apply the command line's overrides (sections as nested dicts)."""
    return load_settings(config_path, overrides=overrides)
