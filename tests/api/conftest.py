"""In-process clients over the app, signed in as different callers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from kiln.auth.principal import Principal
from kiln.auth.roles import Role
from kiln.runtime import Runtime
from kiln.server import create_app

ClientFactory = Callable[[str | None], AbstractAsyncContextManager[httpx.AsyncClient]]


def issue_token(
    runtime: Runtime, role: Role, enterprise: str | None = None, equipment: list[int] | None = None
) -> str:
    """A bearer token for a caller of that role (in that enterprise)."""
    eid = runtime.catalog.enterprise_by_slug[enterprise] if enterprise else None
    actor = Principal(None, "test", Role.CITY_ADMIN if role.is_city else Role.ENTERPRISE_ADMIN, eid)
    if role is Role.DEVICE:
        token, _ = runtime.security.create_token(
            actor, "device", role=Role.DEVICE, equipment=equipment
        )
    else:
        serial = len(runtime.security.accounts.users(every=True))
        user = runtime.security.create_user(
            None,
            f"{role.value}-{enterprise or 'city'}-{serial}",
            "correct-horse-1",
            role,
            eid,
        )
        who = Principal(user.id, user.username, role, eid)
        token, _ = runtime.security.create_token(who, "test")
    return token


@pytest.fixture
def clients(runtime: Runtime) -> ClientFactory:
    """Make a client with a bearer token (or none for an anonymous caller)."""
    app = create_app(runtime, manage_runtime=False)

    @asynccontextmanager
    async def make(token: str | None) -> AsyncIterator[httpx.AsyncClient]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://kiln.test", headers=headers
        ) as c:
            yield c

    return make


@pytest.fixture
async def client(runtime: Runtime, clients: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as acme-auto's enterprise admin."""
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")) as c:
        yield c


@pytest.fixture
async def city_admin(runtime: Runtime, clients: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as the city admin."""
    async with clients(issue_token(runtime, Role.CITY_ADMIN)) as c:
        yield c
