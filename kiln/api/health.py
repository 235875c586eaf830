"""/healthz, /readyz and /metrics: the process's health for probes and Prometheus.

They need no authentication: a load balancer, the kubelet and Prometheus call them without
credentials. They reveal no enterprise's data: the checks name parts of the process (store,
writer, adapters by their place in the settings), and the metrics are labelled by adapter kind
and settings place only (see kiln.metrics). No rate limit applies to them (Kiln limits sign-ins
and ingest only), so a probe is never refused for being frequent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from kiln.api.deps import RuntimeDep
from kiln.metrics import INGEST_ADAPTER, MEDIA_TYPE, settings_keys
from kiln.runtime import Runtime
from kiln.store.base import Store

log = logging.getLogger(__name__)

# Out of the API schema, as the pages are: they are for machines that know these paths.
router = APIRouter(tags=["health"], include_in_schema=False)
STORE_TIMEOUT_S = 2.0  # the trivial query readiness asks of the store
NO_STORE: dict[str, str] = {"Cache-Control": "no-store"}


def ingest_label(adapter: str) -> Callable[[], Awaitable[None]]:
    """A dependency labelling what a router's requests submit as ``adapter``'s batches."""

    async def label() -> None:
        # Async, so it runs in the request's own context (a sync one would run in a thread).
        INGEST_ADAPTER.set(adapter)

    return label


class StoreProbe:
    """Asks the store a trivial query, at most one at a time: a store that hangs holds one
    worker thread, not one per probe."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: asyncio.Future[Any] | None = None

    async def check(self, timeout_s: float) -> str:
        """'ok', or why not."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(asyncio.to_thread(self.store.get_meta, "ready"))
        try:
            await asyncio.wait_for(asyncio.shield(self._pending), timeout_s)
        except TimeoutError:
            return f"no answer within {timeout_s:g} s"
        except Exception as err:
            # The probe answers anyone: the error's text (hosts, paths) stays in the log.
            log.debug("readiness: the store failed", exc_info=True)
            return f"failed ({type(err).__name__})"
        return "ok"


def _writer(rt: Runtime) -> str:
    if not rt.writer.alive:
        return "the writer thread is stopped"
    if rt.writer.full:
        return "the writer's queue is full"
    return "ok"


def _adapters(rt: Runtime) -> str:
    never = [key for key, adapter in settings_keys(rt.adapters) if adapter.connections == 0]
    return f"never connected: {', '.join(never)}" if never else "ok"


async def readiness(rt: Runtime, probe: StoreProbe, timeout_s: float) -> dict[str, str]:
    """Each check's outcome: 'ok', or why it fails."""
    return {
        "store": await probe.check(timeout_s),
        "writer": _writer(rt),
        "adapters": _adapters(rt),
    }


def _probe(request: Request, rt: Runtime) -> StoreProbe:
    probe: StoreProbe | None = getattr(request.app.state, "store_probe", None)
    if probe is None or probe.store is not rt.store:
        probe = request.app.state.store_probe = StoreProbe(rt.store)
    return probe


@router.get("/healthz")
async def healthz() -> Response:
    """Liveness: 200 {"status": "ok"} while the process serves requests at all."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz")
async def readyz(request: Request, rt: RuntimeDep) -> Response:
    """Readiness: 200 when the store answers a trivial query in time, the writer thread runs
    with room in its queue, and every configured adapter has connected at least once; else 503
    with the failing checks named ("failing") and why ("checks")."""
    checks = await readiness(rt, _probe(request, rt), STORE_TIMEOUT_S)
    failing = [name for name, outcome in checks.items() if outcome != "ok"]
    if failing:
        body = {"status": "not ready", "failing": failing, "checks": checks}
        return JSONResponse(body, status_code=503, headers=NO_STORE)
    return JSONResponse({"status": "ready", "checks": checks}, headers=NO_STORE)


@router.get("/metrics")
async def metrics(rt: RuntimeDep) -> Response:
    """Every metric of the process, in Prometheus' text exposition format."""
    return Response(rt.metrics.exposition(), media_type=MEDIA_TYPE, headers=NO_STORE)
