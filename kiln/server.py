"""The ASGI app: API + web pages, and the lifespan that starts and stops the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

import kiln
from kiln.advisor_access import demand
from kiln.api import (
    advisor,
    alarms,
    assets,
    auth,
    dead_letters,
    health,
    ingest,
    kpi,
    line_protocol,
    plan,
    plan_report,
    search,
    solutions,
    storage,
    telemetry,
)
from kiln.api.errors import install_error_handlers
from kiln.api.health import ingest_label
from kiln.runtime import Runtime
from kiln.security_headers import SecurityHeaders
from kiln.web import install_web


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    """Build the app around a runtime; the lifespan starts it and stops it when manage_runtime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(
        title="Kiln",
        version=kiln.__version__,
        summary="Open industrial-internet platform for a manufacturing city.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.solution_demand = demand  # the catalogue's demand: the advisor's candidates
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders, hsts=runtime.settings.security.cookie_secure)
    app.include_router(health.router)
    app.include_router(auth.router)
    # What these routes submit is counted as the batches of "http" and "lineproto" (the same
    # adapter names as their dead letters).
    app.include_router(ingest.router, dependencies=[Depends(ingest_label("http"))])
    app.include_router(line_protocol.router, dependencies=[Depends(ingest_label("lineproto"))])
    for module in (
        dead_letters,
        assets,
        telemetry,
        kpi,
        plan,
        plan_report,
        storage,
        alarms,
        solutions,
        advisor,
        search,
    ):
        app.include_router(module.router)
    install_web(app)
    return app


def create_probe_app(runtime: Runtime) -> FastAPI:
    """/healthz, /readyz and /metrics alone, for a process without the web app (`kiln ingest`)."""
    app = FastAPI(title="Kiln probes", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.include_router(health.router)
    return app
