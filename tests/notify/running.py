"""Notifiers with tiny backoffs, running in the test's event loop until the block ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CollectorRegistry

from kiln.notify.dispatch import Notifier
from kiln.notify.settings import NotifySettings
from tests.notify.events import describe

SECRET = "receiver-shares-this-secret"
FAST = {"first_backoff_s": 0.01, "max_backoff_s": 2.0, "timeout_s": 2.0}


def hook(url: str, **over: Any) -> dict[str, Any]:
    return {"name": "ops-hook", "url": url, "secret": SECRET, **FAST, **over}


def mail(port: int, **over: Any) -> dict[str, Any]:
    return {
        "name": "shift-leads",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "kiln@plant.example.com",
        "recipients": ["lead@plant.example.com", "upkeep@plant.example.com"],
        **FAST,
        **over,
    }


def notifier(registry: CollectorRegistry | None = None, **settings: Any) -> Notifier:
    return Notifier(NotifySettings.model_validate(settings), describe, registry=registry)


@contextlib.asynccontextmanager
async def running(n: Notifier) -> AsyncIterator[Notifier]:
    task = asyncio.create_task(n.run())
    await asyncio.sleep(0)  # let run() start: a task cancelled before it starts never drains
    try:
        yield n
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
