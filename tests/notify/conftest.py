"""Real receivers for notification tests: an HTTP endpoint served by uvicorn in a thread, and an
SMTP server (aiosmtpd) in a thread, each on a free loopback port, each answering from a script
and recording what it got."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.mosquitto import free_port
from tests.served import served


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    at_s: float  # receiver's monotonic clock
    wall_s: float  # receiver's wall clock, for the replay check
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    """What the receiver answers to one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class HttpReceiver:
    """Answers requests with the scripted replies in turn (then 200), and records them."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.requests: list[Received] = []
        self.lock = threading.Lock()
        self.url = ""
        self.app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.requests.append(
                Received(time.monotonic(), time.time(), dict(request.headers), body)
            )
            reply = self.script.pop(0) if self.script else Reply()
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        return Response(status_code=reply.status, headers=reply.headers)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    rec = HttpReceiver()
    with served(rec.app) as base:
        rec.url = f"{base}/hook"
        yield rec


@pytest.fixture
def dead_url() -> str:
    """A URL on a loopback port where nothing listens: every connection is refused."""
    return f"http://127.0.0.1:{free_port()}/hook"


class SmtpReceiver:
    """An aiosmtpd handler: refuses the first `refuse` messages with 554, keeps the rest."""

    def __init__(self) -> None:
        self.refuse = 0
        self.attempts = 0
        self.accepted: list[Any] = []  # aiosmtpd envelopes
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.refuse:
            self.refuse -= 1
            return "554 Transaction failed: policy says no"
        self.accepted.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    handler = SmtpReceiver()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()
