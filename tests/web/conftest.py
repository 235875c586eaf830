"""A runtime with a small hand-written city, a few points and states, and the app around it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kiln.auth.roles import Role
from kiln.clock import ManualClock
from kiln.config import load_settings
from kiln.domain.batches import Bundle, PointBatch, StateBatch
from kiln.domain.states import EquipmentState
from kiln.runtime import Runtime, build_runtime
from kiln.server import create_app
from kiln.sessions import SESSION_COOKIE

NOW_MS = 1_764_000_000_000  # 2025-11-24T16:00:00Z, 00:00:00 in Foshan
MIN_MS = 60_000
PASSWORD = "correct-horse-1"
USERS = {  # user name: role, enterprise
    "acme": (Role.ENTERPRISE_ADMIN, "acme-auto"),
    "huamei": (Role.ENTERPRISE_VIEWER, "huamei-ceramics"),
    "analyst": (Role.CITY_ANALYST, None),
    "cityadmin": (Role.CITY_ADMIN, None),
}
ClientFactory = Callable[[str | None], AbstractAsyncContextManager[httpx.AsyncClient]]


def city_doc() -> dict[str, Any]:
    """One press shop with two presses, and a ceramics works with a kiln that never reports."""
    return {
        "enterprises": [
            {
                "slug": "acme-auto",
                "name": "Acme Auto Parts",
                "name_zh": "艾克米汽配",
                "district": "nanhai",
                "industry": "3670",
                "sites": [
                    {
                        "slug": "nanhai-1",
                        "name": "Nanhai plant 1",
                        "lines": [
                            {
                                "slug": "tandem-a",
                                "name": "Tandem line A",
                                "area": "press shop",
                                "stations": [
                                    {
                                        "slug": "op10",
                                        "name": "OP10",
                                        "position": 1,
                                        "equipment": [
                                            {
                                                "slug": "press-1",
                                                "name": "Draw press",
                                                "template": "press",
                                            }
                                        ],
                                    },
                                    {
                                        "slug": "op20",
                                        "name": "OP20",
                                        "position": 2,
                                        "operators": 2,
                                        "equipment": [
                                            {
                                                "slug": "press-2",
                                                "name": "Trim press",
                                                "template": "press",
                                            }
                                        ],
                                    },
                                ],
                            }
                        ],
                    }
                ],
            },
            {
                "slug": "huamei-ceramics",
                "name": "Huamei Ceramics",
                "district": "chancheng",
                "industry": "3071",
                "sites": [
                    {
                        "slug": "plant",
                        "lines": [
                            {
                                "slug": "kiln-line",
                                "stations": [
                                    {
                                        "slug": "firing",
                                        "equipment": [
                                            {
                                                "slug": "kiln-1",
                                                "name": "Roller kiln 1",
                                                "template": "roller_kiln",
                                            }
                                        ],
                                    }
                                ],
                            }
                        ],
                    }
                ],
            },
        ]
    }


def city_runtime(tmp_path: Path) -> Runtime:
    """The small city on a temp DuckDB file, a manual clock, and a little history."""
    settings = load_settings(
        environ={},
        overrides={
            "store": {"path": tmp_path / "k.duckdb"},
            "simulator": {"enabled": False},
            # The tests read English pages unless they ask for Chinese (tests/web/test_i18n.py).
            "web": {"default_language": "en"},
        },
    )
    rt = build_runtime(settings, clock=ManualClock(NOW_MS), simulate=False)
    cat = rt.store.import_assets(city_doc())
    press1 = cat.equipment_id("acme-auto", "press-1")
    press2 = cat.equipment_id("acme-auto", "press-2")
    assert press1 is not None
    assert press2 is not None
    tonnage = cat.series_id(press1, "tonnage")
    lube = cat.series_id(press1, "lube_temp")
    ts = [NOW_MS - 30 * MIN_MS, NOW_MS - 20 * MIN_MS, NOW_MS - 10 * MIN_MS]
    rt.store.write(
        Bundle(
            points=PointBatch.of([tonnage] * 3 + [lube], [*ts, ts[-1]], [8000, 8120, 8155, 41.25]),
            states=StateBatch.of(
                [press1, press1, press2],
                [NOW_MS - 40 * MIN_MS, NOW_MS - 15 * MIN_MS, NOW_MS - 50 * MIN_MS],
                [EquipmentState.RUNNING, EquipmentState.DOWN_FAULT, EquipmentState.IDLE],
                [None, "die jam", "starved"],
            ),
        )
    )
    return rt


def session_of(rt: Runtime, username: str) -> str:
    """A fresh web session of one of USERS (created on first use): the cookie's value."""
    if rt.security.accounts.user_by_name(username) is None:
        role, enterprise = USERS[username]
        eid = rt.catalog.enterprise_by_slug[enterprise] if enterprise else None
        rt.security.create_user(None, username, PASSWORD, role, eid)
    session_id, _ = rt.security.sign_in(username, PASSWORD, address="tests")
    return session_id


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """The small city's runtime, closed after the test."""
    rt = city_runtime(tmp_path)
    yield rt
    rt.close()


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    """The whole app (API and pages) around the runtime, which the test owns."""
    return create_app(runtime, manage_runtime=False)


@pytest.fixture
def clients(app: FastAPI, runtime: Runtime) -> ClientFactory:
    """Make an in-process client signed in as one of USERS (or anonymous for None)."""

    @asynccontextmanager
    async def make(username: str | None) -> AsyncIterator[httpx.AsyncClient]:
        cookies = {SESSION_COOKIE: session_of(runtime, username)} if username else {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://kiln.test", cookies=cookies
        ) as c:
            yield c

    return make


@pytest.fixture
async def client(clients: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in as Acme Auto Parts' enterprise admin."""
    async with clients("acme") as c:
        yield c
