"""The simulated city's OPC UA server as the peer: flat folders, OPC 40010 robots, security."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from kiln.clock import ManualClock
from kiln.config_ingest import OpcUaFolder
from kiln.domain.batches import Bundle
from kiln.domain.templates import ROBOT
from kiln.ingest.opcua.client import OpcUaAdapter
from kiln.runtime import Runtime
from kiln.simulator.protocols.feed import CityFeed
from kiln.simulator.protocols.opcua_server import (
    CityOpcUaServer,
    node_id,
    robot_id,
    serve_opcua,
)
from tests.conftest import NOW_MS

from .conftest import HOST, Watch, eventually, free_port, make_certificate, running

ENTERPRISE = "shengda-kitchen-appliances"  # has presses and robots in the seed-7 city of 3


@pytest.fixture
def feed(runtime: Runtime) -> CityFeed:
    """Three enterprises of the seeded city, registered in the runtime's store too."""
    city = CityFeed(seed=7, enterprises=3, start_ms=NOW_MS - 3_600_000)
    runtime.store.import_assets(city.doc)
    return city


def equipment(feed: CityFeed, template: str) -> str:
    return min(
        p.equipment
        for p in feed.paths.values()
        if p.enterprise == ENTERPRISE and p.template == template
    )


def expected(feed: CityFeed, bundles: list[Bundle], slug: str) -> dict[str, dict[int, float]]:
    """signal -> ts -> value the feed produced for one equipment."""
    eid = feed.catalog.equipment_id(ENTERPRISE, slug)
    out: dict[str, dict[int, float]] = {}
    for b in bundles:
        for sid, ts, v in zip(
            b.points.series.tolist(), b.points.ts_ms.tolist(), b.points.value.tolist(), strict=True
        ):
            if feed.series[sid].equipment_id == eid:
                out.setdefault(feed.series[sid].signal, {})[ts] = v
    return out


async def play(server: CityOpcUaServer, feed: CityFeed, steps: int) -> list[Bundle]:
    """Advance the city 5 s at a time (one value per signal at most), publishing each step."""
    bundles = []
    for _ in range(steps):
        bundle = feed.step(feed.now_ms + 5_000)
        await server.publish(bundle)
        bundles.append(bundle)
        await asyncio.sleep(0.03)
    return bundles


@pytest_asyncio.fixture
async def city_server(feed: CityFeed) -> AsyncIterator[CityOpcUaServer]:
    async with CityOpcUaServer(
        feed, host=HOST, port=free_port(), enterprises=[ENTERPRISE]
    ) as server:
        yield server


async def test_robots_are_read_through_opc_40010_and_equipment_through_folders(
    city_server: CityOpcUaServer, feed: CityFeed, watch: Watch
) -> None:
    robot, press = equipment(feed, "industrial_robot"), equipment(feed, "press")
    adapter = OpcUaAdapter(
        _settings(
            city_server.endpoint,
            folders=[
                OpcUaFolder(node=robot_id(ENTERPRISE, robot), equipment=robot),
                OpcUaFolder(node=node_id(ENTERPRISE, press), equipment=press),
            ],
        )
    )
    async with running(adapter, watch):
        await eventually("the subscription", lambda: adapter.sessions == 1)
        bundles = await play(city_server, feed, 14)
        last = max(ts for b in bundles for ts in b.points.ts_ms.tolist())
        await watch.until("the last step", lambda: _latest(watch) >= last)
        await asyncio.sleep(0.3)  # one more publishing interval for the slowest series
    robot_found = {t.signal: t.found_by for t in adapter.targets if t.equipment == robot}
    assert robot_found == {s.name: "robot" for s in ROBOT.signals}  # j4-j6 are not taken
    for slug in (robot, press):
        want = expected(feed, bundles, slug)
        assert len(want) >= 6
        for signal, values in want.items():
            assert _stored(watch, slug, signal) == values, f"{slug}/{signal}"
    assert watch.kept_letters(ENTERPRISE) == []


async def test_a_signed_and_encrypted_session_with_a_user_and_password(
    feed: CityFeed, watch: Watch, tmp_path: Path
) -> None:
    server_cert, server_key = make_certificate(tmp_path, "server", "urn:kiln:simulator:opcua")
    client_cert, client_key = make_certificate(tmp_path, "client", "urn:kiln:test:client")
    press = equipment(feed, "press")
    secure = {
        "security_policy": "Basic256Sha256",
        "security_mode": "SignAndEncrypt",
        "certificate": client_cert,
        "private_key": client_key,
        "username": "kiln",
        "password": "s3cret",
        "folders": [OpcUaFolder(node=node_id(ENTERPRISE, press), equipment=press)],
    }
    async with CityOpcUaServer(
        feed,
        host=HOST,
        port=free_port(),
        enterprises=[ENTERPRISE],
        certificate=server_cert,
        private_key=server_key,
        users={"kiln": "s3cret"},
    ) as server:
        assert server.server is not None
        offered = {
            (e.SecurityPolicyUri.rsplit("#", 1)[-1], e.SecurityMode.name)
            for e in await server.server.get_endpoints()
        }
        assert offered == {("Basic256Sha256", "Sign"), ("Basic256Sha256", "SignAndEncrypt")}
        good = OpcUaAdapter(_settings(server.endpoint, **secure))
        wrong = OpcUaAdapter(_settings(server.endpoint, **{**secure, "password": "guess"}))
        async with running(good, watch), running(wrong, watch):
            await eventually("the secured subscription", lambda: good.sessions == 1)
            bundles = await play(server, feed, 4)
            want = expected(feed, bundles, press)
            sid = watch.series(press, "tonnage", ENTERPRISE)
            await watch.until(
                "the tonnage", lambda: watch.received(sid).keys() >= want["tonnage"].keys()
            )
            await eventually("the wrong password to be retried", lambda: wrong.attempts >= 2)
    assert _stored(watch, press, "tonnage") == want["tonnage"]
    assert wrong.sessions == 0
    assert "BadUserAccessDenied" in wrong.last_error or "BadIdentityToken" in wrong.last_error


async def test_serve_opcua_steps_the_city_to_the_clock(feed: CityFeed, watch: Watch) -> None:
    clock = ManualClock(feed.now_ms)
    port = free_port()
    press = equipment(feed, "press")
    serving = asyncio.create_task(
        serve_opcua(feed, host=HOST, port=port, enterprises=[ENTERPRISE], step_s=0.05, clock=clock)
    )
    adapter = OpcUaAdapter(
        _settings(
            f"opc.tcp://{HOST}:{port}/kiln",
            folders=[OpcUaFolder(node=node_id(ENTERPRISE, press), equipment=press)],
        )
    )
    sid = watch.series(press, "tonnage", ENTERPRISE)
    try:
        async with running(adapter, watch):
            await eventually("the subscription", lambda: adapter.sessions == 1, timeout_s=20)
            start = clock.now_ms()
            for _ in range(6):
                clock.advance(5_000)
                await asyncio.sleep(0.1)
            await watch.until(
                "tonnage from the clock's last minute",
                lambda: bool({t for t in watch.received(sid) if t > start}),
            )
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
    assert feed.now_ms == clock.now_ms()  # the feed followed the clock
    assert all(t <= clock.now_ms() for t in watch.received(sid))


def _settings(endpoint: str, **overrides: Any) -> Any:
    from kiln.config_ingest import OpcUaSettings

    return OpcUaSettings(
        **{
            "name": "city",
            "endpoint": endpoint,
            "enterprise": ENTERPRISE,
            "publishing_ms": 100.0,
            "sampling_ms": 50.0,
            "reconnect_max_s": 0.5,
            **overrides,
        }
    )


def _latest(watch: Watch) -> int:
    return max((int(b.points.ts_ms.max()) for b in watch.bundles if len(b.points)), default=0)


def _stored(watch: Watch, slug: str, signal: str) -> dict[int, float]:
    sid = watch.series(slug, signal, ENTERPRISE)
    table = watch.runtime.store.points([sid], 0, NOW_MS + 3_600_000)
    return dict(zip(table["ts_ms"].to_pylist(), table["value"].to_pylist(), strict=True))
