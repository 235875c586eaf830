"""Options several commands share."""

from __future__ import annotations

import asyncio
import signal
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


def stop_event() -> asyncio.Event:
    """An event set by Ctrl-C or SIGTERM, for a command that runs until stopped (call it in the
    running loop; Kiln runs on Linux, where the loop takes signal handlers)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
