"""What the security service needs from storage: the rows, and the Accounts protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kiln.auth.roles import Role


@dataclass(frozen=True, slots=True)
class UserRow:
    """A user as stored."""

    id: int
    username: str
    password_hash: str
    role: Role
    enterprise_id: int | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A bearer token as stored (never the token itself)."""

    id: int
    user_id: int | None
    name: str
    role: Role
    enterprise_id: int | None
    equipment: tuple[int, ...] | None
    created_ms: int
    expires_ms: int | None
    revoked_ms: int | None
    last_used_ms: int | None


class Accounts(Protocol):
    """Users, tokens, sessions and audit; the store's backend implements it."""

    def add_user(
        self, username: str, password_hash: str, role: Role, enterprise_id: int | None, now_ms: int
    ) -> UserRow:
        """Create a user; Conflict if the name is taken."""
        ...

    def user(self, user_id: int) -> UserRow | None:
        """A user by id."""
        ...

    def user_by_name(self, username: str) -> UserRow | None:
        """A user by name (case-insensitive)."""
        ...

    def users(self, enterprise_id: int | None = None, *, every: bool = False) -> list[UserRow]:
        """The users of an enterprise (or the city's when None), or every user."""
        ...

    def set_password(self, user_id: int, password_hash: str) -> None:
        """Replace a user's password hash and end the user's sessions."""
        ...

    def disable_user(self, user_id: int, now_ms: int) -> None:
        """Disable a user: sessions end and tokens are revoked at once."""
        ...

    def add_token(
        self,
        *,
        user_id: int | None,
        name: str,
        token_hash: str,
        role: Role,
        enterprise_id: int | None,
        equipment: Sequence[int] | None,
        now_ms: int,
        expires_ms: int | None,
        mqtt_hash: str | None = None,
    ) -> TokenRow:
        """Store a new token's hash."""
        ...

    def broker_credentials(self) -> list[tuple[int, int, str]]:
        """(token id, enterprise id, broker password hash) of every live device token."""
        ...

    def token_by_hash(self, token_hash: str) -> TokenRow | None:
        """A token by the hash of its secret."""
        ...

    def token(self, token_id: int) -> TokenRow | None:
        """A token by id."""
        ...

    def tokens(
        self, *, user_id: int | None = None, enterprise_id: int | None = None
    ) -> list[TokenRow]:
        """Tokens owned by a user, or every token of an enterprise."""
        ...

    def revoke_token(self, token_id: int, now_ms: int) -> None:
        """Revoke a token; it stops working at once."""
        ...

    def touch_token(self, token_id: int, now_ms: int) -> None:
        """Record a token's use."""
        ...

    def add_session(
        self, id_hash: str, user_id: int, csrf: str, now_ms: int, expires_ms: int
    ) -> None:
        """Start a web session."""
        ...

    def session(self, id_hash: str, now_ms: int) -> tuple[int, str] | None:
        """The (user id, csrf token) of a live session."""
        ...

    def end_session(self, id_hash: str) -> None:
        """End a web session."""
        ...

    def grant(self, enterprise_id: int, indicator: str, user_id: int | None, now_ms: int) -> None:
        """Record an enterprise's consent to show the city one indicator."""
        ...

    def revoke(self, enterprise_id: int, indicator: str, now_ms: int) -> bool:
        """End a consent; False if none was live."""
        ...

    def consents(self, enterprise_id: int | None = None) -> list[dict[str, Any]]:
        """Live consents (of one enterprise, or all)."""
        ...

    def audit(
        self,
        *,
        ts_ms: int,
        actor: str,
        role: str | None,
        enterprise_id: int | None,
        action: str,
        target: str = "",
        detail: str = "",
        address: str = "",
    ) -> None:
        """Append one line to the audit log."""
        ...

    def audit_log(
        self,
        *,
        enterprise_id: int | None,
        every: bool,
        limit: int = 200,
        before_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """Newest audit lines first: every line, or those about one enterprise."""
        ...
