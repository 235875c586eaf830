"""The ASGI app: API + web pages, and the lifespan that starts and stops the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import kiln
from kiln.api import (
    assets,
    auth,
    dead_letters,
    ingest,
    kpi,
    line_protocol,
    plan,
    plan_report,
    telemetry,
)
from kiln.api.errors import install_error_handlers
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
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders, hsts=runtime.settings.security.cookie_secure)
    for module in (
        auth,
        ingest,
        line_protocol,
        dead_letters,
        assets,
        telemetry,
        kpi,
        plan,
        plan_report,
    ):
        app.include_router(module.router)
    install_web(app)
    return app
