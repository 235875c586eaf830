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


class Unauthorized(KilnError):
    """No valid credentials: sign in or send a token."""


class Forbidden(KilnError):
    """Valid credentials, but this caller may not do this."""


class TooManyRequests(KilnError):
    """A rate limit was hit; retry after retry_after_s."""

    def __init__(self, what: str, *, where: str = "", retry_after_s: float = 1.0) -> None:
        super().__init__(what, where=where)
        self.retry_after_s = retry_after_s


class Conflict(KilnError):
    """The request clashes with what is already stored."""


class Unavailable(KilnError):
    """A part Kiln depends on cannot be reached or is shutting down."""


class ConfigError(KilnError):
    """A configuration value is missing or wrong; names the key and its source."""
