"""Roles and what each may do. The enterprise is the unit of tenancy: enterprise roles act only
on their own enterprise; city roles see the city's aggregates, never one enterprise's raw data."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who a user (or a token) is to Kiln."""

    CITY_ADMIN = "city_admin"
    CITY_ANALYST = "city_analyst"
    ENTERPRISE_ADMIN = "enterprise_admin"
    ENTERPRISE_VIEWER = "enterprise_viewer"
    DEVICE = "device"

    @property
    def is_city(self) -> bool:
        """A city role: no enterprise of its own."""
        return self in (Role.CITY_ADMIN, Role.CITY_ANALYST)


class Permission(StrEnum):
    """One thing a caller may do."""

    READ_OWN_DATA = "read_own_data"  # assets, telemetry, states, counts of its enterprise
    INGEST = "ingest"  # send telemetry for its enterprise
    MANAGE_OWN_ASSETS = "manage_own_assets"
    MANAGE_OWN_USERS = "manage_own_users"  # users and device credentials of its enterprise
    READ_CITY_AGGREGATES = "read_city_aggregates"
    MANAGE_ENTERPRISES = "manage_enterprises"  # register enterprises, manage any user
    READ_AUDIT = "read_audit"
    MANAGE_PLANS = "manage_plans"  # plans, targets, indicators and published figures
    FILE_STATISTICS = "file_statistics"  # statistical filings: own enterprise, or any (city)
    # Acknowledge and shelve its enterprise's alarms: the line engineer's job (a viewer).
    HANDLE_ALARMS = "handle_alarms"
    MANAGE_ALARM_RULES = "manage_alarm_rules"  # alarm rules on its enterprise's equipment
    # Solution catalogue entries: a provider's own (enterprise admin), or any (city admin).
    MANAGE_SOLUTIONS = "manage_solutions"


P = Permission
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CITY_ADMIN: frozenset(
        {
            P.READ_CITY_AGGREGATES,
            P.MANAGE_ENTERPRISES,
            P.READ_AUDIT,
            P.MANAGE_PLANS,
            P.FILE_STATISTICS,
            P.MANAGE_SOLUTIONS,
        }
    ),
    Role.CITY_ANALYST: frozenset({P.READ_CITY_AGGREGATES}),
    Role.ENTERPRISE_ADMIN: frozenset(
        {
            P.READ_OWN_DATA,
            P.INGEST,
            P.MANAGE_OWN_ASSETS,
            P.MANAGE_OWN_USERS,
            P.READ_AUDIT,
            P.FILE_STATISTICS,
            P.HANDLE_ALARMS,
            P.MANAGE_ALARM_RULES,
            P.MANAGE_SOLUTIONS,
        }
    ),
    Role.ENTERPRISE_VIEWER: frozenset({P.READ_OWN_DATA, P.HANDLE_ALARMS}),
    Role.DEVICE: frozenset({P.INGEST}),
}

# Roles a user of each role may hand out (create users or tokens with).
GRANTABLE: dict[Role, frozenset[Role]] = {
    Role.CITY_ADMIN: frozenset(Role),
    Role.ENTERPRISE_ADMIN: frozenset({Role.ENTERPRISE_ADMIN, Role.ENTERPRISE_VIEWER, Role.DEVICE}),
}


def may(role: Role, permission: Permission) -> bool:
    """Whether the role carries the permission.

    >>> may(Role.CITY_ANALYST, Permission.READ_OWN_DATA)
    False
    """
    return permission in PERMISSIONS[role]
