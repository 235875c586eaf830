"""Live updates over server-sent events: the city's state counts, an enterprise's equipment
states, and an equipment's current state and last values.

Each stream sends a fresh snapshot every tick and ends when the client goes away, when the app's
streams are closed (the server is stopping), or after STREAM_MAX_S, when the browser's
EventSource reconnects by itself. uvicorn waits for every open response before it shuts down
and tells the app nothing until then, so that last bound is what keeps Ctrl-C prompt even when
the server does not call close_streams.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from kiln.access import Access
from kiln.errors import Forbidden, NotFound
from kiln.runtime import Runtime
from kiln.web.deps import RuntimeDep
from kiln.web.session import viewer
from kiln.web.snapshots import city_states, enterprise_states, equipment_live

router = APIRouter(prefix="/live", include_in_schema=False)

STATES_EVERY_S = 2.0  # state counts change slowly; every two seconds is live enough
VALUES_EVERY_S = 1.0  # the fastest signals report every few seconds
STREAM_MAX_S = 60.0  # then the browser reconnects, and the session is checked again
RETRY_MS = 1_000  # how soon the browser reconnects after a stream ends
HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class LiveStreams:
    """The app's open streams; once closed, each ends at its next tick and new ones end at once."""

    def __init__(self) -> None:
        self.closed = False
        self.open = 0

    def close(self) -> None:
        """End every stream (safe to call from a signal handler: it only sets a flag)."""
        self.closed = True


def live_streams(app: FastAPI) -> LiveStreams:
    """The app's streams, created on first use."""
    streams: LiveStreams | None = getattr(app.state, "live_streams", None)
    if streams is None:
        streams = app.state.live_streams = LiveStreams()
    return streams


def close_streams(app: FastAPI) -> None:
    """End the app's live streams; the server calls this when it starts shutting down."""
    live_streams(app).close()


def sse_event(event: str, data: Any) -> bytes:
    """One server-sent event: its name and one line of JSON data (NaN written as null).

    >>> sse_event("states", {"running": 3})
    b'event: states\\ndata: {"running":3}\\n\\n'
    """
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _events(
    request: Request, event: str, snapshot: Callable[[], dict[str, Any]], every_s: float
) -> AsyncIterator[bytes]:
    streams = live_streams(request.app)
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + STREAM_MAX_S
    streams.open += 1
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        while not streams.closed and not await request.is_disconnected():
            # The store's reads block; a worker thread keeps the event loop free meanwhile.
            yield sse_event(event, await asyncio.to_thread(snapshot))
            if loop.time() + every_s > ends_at:
                break
            await asyncio.sleep(every_s)
    finally:
        streams.open -= 1


def _stream(
    request: Request, event: str, snapshot: Callable[[], dict[str, Any]], every_s: float
) -> StreamingResponse:
    return StreamingResponse(
        _events(request, event, snapshot, every_s), media_type="text/event-stream", headers=HEADERS
    )


def _access(request: Request, rt: Runtime) -> Access | Response:
    # Checked when a stream opens; streams end within STREAM_MAX_S, so a session that ends
    # (sign-out, expiry, a disabled user) stops its streams at their next reconnect.
    who = viewer(request, rt)
    if who is None:
        return PlainTextResponse("sign in first", status_code=401)
    return Access(rt.store, who)


def _refused(err: NotFound | Forbidden) -> Response:
    return PlainTextResponse(err.what, status_code=404 if isinstance(err, NotFound) else 403)


@router.get("/city")
async def city(request: Request, rt: RuntimeDep) -> Response:
    """Event "states" every 2 s: {ts_ms, equipment, by_state: {state: count}}."""
    access = await asyncio.to_thread(_access, request, rt)
    if isinstance(access, Response):
        return access
    return _stream(request, "states", lambda: city_states(rt), STATES_EVERY_S)


@router.get("/enterprises/{slug}")
async def enterprise(request: Request, slug: str, rt: RuntimeDep) -> Response:
    """Event "states" every 2 s: {ts_ms, by_state, equipment: {id: {state, since_ms, reason}}}."""
    access = await asyncio.to_thread(_access, request, rt)
    if isinstance(access, Response):
        return access
    try:
        eid = access.own_enterprise(slug).id
    except (NotFound, Forbidden) as err:
        return _refused(err)
    return _stream(request, "states", lambda: enterprise_states(rt, eid), STATES_EVERY_S)


@router.get("/equipment/{equipment_id}")
async def equipment(request: Request, equipment_id: int, rt: RuntimeDep) -> Response:
    """Event "live" every second: {ts_ms, state: {state, since_ms, reason}, values: [...]}."""
    access = await asyncio.to_thread(_access, request, rt)
    if isinstance(access, Response):
        return access
    try:
        eid = access.equipment(equipment_id).id
    except (NotFound, Forbidden) as err:
        return _refused(err)
    return _stream(request, "live", lambda: equipment_live(rt, eid), VALUES_EVERY_S)
