"""Live streams send snapshots as server-sent events and end when the client or server stops."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import FastAPI

from kiln.runtime import Runtime
from kiln.sessions import SESSION_COOKIE
from kiln.web import sse
from tests.web.conftest import NOW_MS, session_of


class StreamClient:
    """Calls the app as uvicorn does (ASGI spec 2.3) and reads a stream event by event."""

    def __init__(self, app: FastAPI, path: str, session: str | None = None) -> None:
        self.app, self.path = app, path
        self.cookie = f"{SESSION_COOKIE}={session}".encode() if session else b""
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.gone = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._buffer = b""
        self.raw = b""

    async def __aenter__(self) -> StreamClient:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": self.path,
            "raw_path": self.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"kiln.test"),
                (b"accept", b"text/event-stream"),
                *([(b"cookie", self.cookie)] if self.cookie else []),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("kiln.test", 80),
        }
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await self.gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            elif message.get("body"):
                self.raw += message["body"]
                await self.chunks.put(message["body"])
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await self.chunks.put(None)

        self.task = asyncio.create_task(self.app(scope, receive, send))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.gone.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout=5)

    async def event(self) -> tuple[str, Any]:
        """The next named event and its JSON data."""
        while True:
            block, sep, rest = self._buffer.partition(b"\n\n")
            if sep:
                self._buffer = rest
                fields = dict(line.split(": ", 1) for line in block.decode().splitlines())
                if "event" in fields:
                    return fields["event"], json.loads(fields["data"])
                continue
            chunk = await asyncio.wait_for(self.chunks.get(), timeout=5)
            if chunk is None:
                raise EOFError("the stream ended")
            self._buffer += chunk

    async def ended(self) -> bool:
        """Whether the app finished the response (without the client going away)."""
        assert self.task is not None
        while (chunk := await asyncio.wait_for(self.chunks.get(), timeout=5)) is not None:
            self._buffer += chunk
        await asyncio.wait_for(self.task, timeout=5)
        return True


@pytest.fixture
def acme(runtime: Runtime) -> str:
    """A session of Acme Auto Parts' admin."""
    return session_of(runtime, "acme")


def ids(rt: Runtime) -> tuple[int, int, int]:
    cat = rt.catalog
    found = (
        cat.equipment_id("acme-auto", "press-1"),
        cat.equipment_id("acme-auto", "press-2"),
        cat.equipment_id("huamei-ceramics", "kiln-1"),
    )
    assert None not in found
    return found  # type: ignore[return-value]


async def test_city_stream_sends_equipment_counts_by_state(app: FastAPI, acme: str) -> None:
    async with StreamClient(app, "/live/city", acme) as stream:
        name, data = await stream.event()
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-store"
    assert name == "states"
    assert data["ts_ms"] == NOW_MS
    assert data["equipment"] == 3
    assert data["by_state"] == {
        "running": 0,
        "idle": 1,
        "setup": 0,
        "down_fault": 1,
        "planned_down": 0,
        "off_shift": 0,
        "unknown": 1,
    }
    assert list(data["by_state"]) == [
        "running",
        "idle",
        "setup",
        "down_fault",
        "planned_down",
        "off_shift",
        "unknown",
    ]


async def test_enterprise_stream_sends_each_equipments_state(
    app: FastAPI, acme: str, runtime: Runtime
) -> None:
    press1, press2, _ = ids(runtime)
    async with StreamClient(app, "/live/enterprises/acme-auto", acme) as stream:
        name, data = await stream.event()
    assert name == "states"
    assert data["equipment"] == {
        str(press1): {"state": "down_fault", "since_ms": NOW_MS - 15 * 60_000, "reason": "die jam"},
        str(press2): {"state": "idle", "since_ms": NOW_MS - 50 * 60_000, "reason": "starved"},
    }
    assert data["by_state"]["down_fault"] == 1
    assert data["by_state"]["unknown"] == 0


async def test_equipment_stream_sends_state_and_last_values(
    app: FastAPI, acme: str, runtime: Runtime
) -> None:
    press1, _, _ = ids(runtime)
    tonnage = runtime.catalog.series_id(press1, "tonnage")
    lube = runtime.catalog.series_id(press1, "lube_temp")
    async with StreamClient(app, f"/live/equipment/{press1}", acme) as stream:
        name, data = await stream.event()
    assert name == "live"
    assert data["state"] == {
        "state": "down_fault",
        "since_ms": NOW_MS - 15 * 60_000,
        "reason": "die jam",
    }
    assert data["values"] == [
        {"series": tonnage, "ts_ms": NOW_MS - 10 * 60_000, "value": 8155.0},
        {"series": lube, "ts_ms": NOW_MS - 10 * 60_000, "value": 41.25},
    ]


async def test_equipment_that_never_reported_streams_no_state_and_no_values(
    app: FastAPI, acme: str, runtime: Runtime
) -> None:
    _, _, kiln = ids(runtime)
    huamei = session_of(runtime, "huamei")
    async with StreamClient(app, f"/live/equipment/{kiln}", huamei) as stream:
        _, data = await stream.event()
    assert data["state"] is None
    assert data["values"] == []


@pytest.mark.parametrize("path", ["/live/enterprises/no-such-works", "/live/equipment/987654"])
async def test_streams_of_unknown_assets_answer_404(app: FastAPI, acme: str, path: str) -> None:
    async with StreamClient(app, path, acme) as stream:
        assert await stream.ended()
    assert stream.status == 404


async def test_a_stream_sends_fresh_snapshots_every_tick(
    app: FastAPI, acme: str, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "STATES_EVERY_S", 0.01)
    async with StreamClient(app, "/live/city", acme) as stream:
        _, first = await stream.event()
        runtime.clock.advance(2_000)  # type: ignore[attr-defined]
        _, second = await stream.event()
    assert second["ts_ms"] - first["ts_ms"] >= 2_000


async def test_a_stream_ends_at_once_when_the_client_goes_away(app: FastAPI, acme: str) -> None:
    streams = sse.live_streams(app)
    loop = asyncio.get_running_loop()
    async with StreamClient(app, "/live/city", acme) as stream:
        await stream.event()
        assert streams.open == 1
        left_at = loop.time()
    # __aexit__ said the client went away and waited for the app: it did not sleep out its tick
    assert loop.time() - left_at < sse.STATES_EVERY_S / 2
    assert streams.open == 0


async def test_closing_the_streams_ends_open_ones_at_their_next_tick(
    app: FastAPI, acme: str, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "VALUES_EVERY_S", 0.05)
    press1, _, _ = ids(runtime)
    async with StreamClient(app, f"/live/equipment/{press1}", acme) as stream:
        await stream.event()
        sse.close_streams(app)
        assert await stream.ended()
    assert sse.live_streams(app).open == 0


async def test_a_stream_ends_after_its_longest_life_so_the_browser_reconnects(
    app: FastAPI, acme: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "STREAM_MAX_S", 0.0)
    async with StreamClient(app, "/live/city", acme) as stream:
        await stream.event()
        assert await stream.ended()
    assert stream.raw.startswith(b"retry: 1000\n\n")
    assert stream.raw.count(b"event: ") == 1


async def test_a_stream_opened_after_closing_ends_at_once(app: FastAPI, acme: str) -> None:
    sse.close_streams(app)
    async with StreamClient(app, "/live/city", acme) as stream:
        assert await stream.ended()
    assert stream.status == 200
    assert b"event: " not in stream.raw


async def test_streams_need_a_session(app: FastAPI) -> None:
    async with StreamClient(app, "/live/city") as stream:
        assert await stream.ended()
    assert stream.status == 401


async def test_another_enterprises_streams_are_not_found(
    app: FastAPI, acme: str, runtime: Runtime
) -> None:
    _, _, kiln = ids(runtime)
    for path in ("/live/enterprises/huamei-ceramics", f"/live/equipment/{kiln}"):
        async with StreamClient(app, path, acme) as stream:
            assert await stream.ended()
        assert stream.status == 404, path


async def test_the_city_streams_city_counts_but_no_enterprises_own(
    app: FastAPI, runtime: Runtime
) -> None:
    analyst = session_of(runtime, "analyst")
    async with StreamClient(app, "/live/city", analyst) as stream:
        name, _ = await stream.event()
    assert name == "states"
    async with StreamClient(app, "/live/enterprises/acme-auto", analyst) as stream:
        assert await stream.ended()
    assert stream.status == 403


def test_an_event_is_one_named_json_line() -> None:
    assert sse.sse_event("live", {"v": float("nan")}) == b'event: live\ndata: {"v":null}\n\n'
