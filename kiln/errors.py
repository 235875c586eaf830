"""The error family: every error Kiln raises on purpose says what was wrong and where."""

from __future__ import annotations


class KilnError(Exception):
    """Base of every error Kiln raises on purpose."""

    def __init__(self, what: str, *, where: str = "") -> None:
        super().__init__(f"{where}: {what}" if where else what)
        self.what, self.where = what, where


class BadInput(KilnError):
    """Input we refuse: what was wrong, and where."""


class NotFound(KilnError):
    """Something named does not exist."""


class Conflict(KilnError):
    """The request clashes with what is already stored."""


class Unavailable(KilnError):
    """A part Kiln depends on cannot be reached or is shutting down."""


class ConfigError(KilnError):
    """A configuration value is missing or wrong; names the key and its source."""
