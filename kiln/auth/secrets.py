"""Passwords (argon2id) and bearer tokens (random, stored as SHA-256)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with the library's defaults (RFC 9106 low-memory profile): ~50 ms per check here.
_HASHER = PasswordHasher()
TOKEN_PREFIX = "kiln_"
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    """An argon2id hash of the password, with its own salt and parameters."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash (constant time inside argon2)."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> str | None:
    """Why a new password is refused, or None if it is acceptable."""
    if len(password) < MIN_PASSWORD:
        return f"must have at least {MIN_PASSWORD} characters"
    if password.isdigit() or password.isalpha():
        return "must mix letters with digits or symbols"
    return None


def new_token() -> tuple[str, str]:
    """A new bearer token and the hash to store: the token itself is shown once, never kept.

    >>> token, digest = new_token()
    >>> token.startswith("kiln_") and token_hash(token) == digest
    True
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    """SHA-256 of a token; tokens carry 256 random bits, so a fast hash is safe here."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_id() -> str:
    """A new session id for the cookie."""
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    """A new CSRF token, bound to one session."""
    return secrets.token_urlsafe(24)


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(a.encode(), b.encode())
