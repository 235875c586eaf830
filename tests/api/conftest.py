"""An in-process client over the app, on the shared runtime fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from kiln.runtime import Runtime
from kiln.server import create_app


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime, manage_runtime=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kiln.test") as c:
        yield c
