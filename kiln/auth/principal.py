"""Principal: who is calling, and the enterprise scope every query is bounded by."""

from __future__ import annotations

from dataclasses import dataclass

from kiln.auth.roles import Permission, Role, may


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a user through a session or a token, or a device token."""

    user_id: int | None
    name: str
    role: Role
    enterprise_id: int | None  # None for city roles
    token_id: int | None = None
    session: str | None = None  # session id hash when signed in through the web
    csrf: str | None = None
    equipment: frozenset[int] | None = None  # a device token limited to these equipment

    def may(self, permission: Permission) -> bool:
        """Whether the caller's role carries the permission."""
        return may(self.role, permission)

    def owns(self, enterprise_id: int) -> bool:
        """Whether the caller may act on this enterprise's own data."""
        return self.enterprise_id is not None and self.enterprise_id == enterprise_id
