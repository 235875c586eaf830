"""Install the web pages on the app: static files, sign-in, pages, live streams, not-found."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from kiln.web import (
    advisor,
    alarms,
    catalogue,
    city_panels,
    connectivity,
    kpi,
    navigation_pages,
    pages,
    plan,
    plan_filings,
    search,
    session,
    sse,
)
from kiln.web.i18n import LanguageMiddleware, gettext

STATIC_DIR = Path(__file__).parent / "static"


async def _not_found_page(request: Request, exc: Exception) -> Response:
    # A person who mistypes a page address gets the page; the API keeps its JSON answers.
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and not request.url.path.startswith(("/api/", "/static/", "/live/")):
        return pages.not_found(request, gettext("page “%(path)s”", path=request.url.path))
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    """Add the pages, their static files, sign-in and live streams, and the not-found page."""
    app.add_middleware(LanguageMiddleware)  # the page language of each request (i18n.py)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(session.router)
    app.include_router(pages.router)
    app.include_router(navigation_pages.router)
    app.include_router(search.router)
    app.include_router(alarms.router)
    app.include_router(catalogue.router)
    app.include_router(advisor.router)
    app.include_router(city_panels.router)
    app.include_router(connectivity.router)
    app.include_router(kpi.router)
    app.include_router(plan.router)
    app.include_router(plan_filings.router)
    app.include_router(sse.router)
    app.add_exception_handler(HTTPException, _not_found_page)
    app.add_exception_handler(session.SignInNeeded, session.redirect_to_sign_in)
    sse.live_streams(app)
