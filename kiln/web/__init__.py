"""Server-rendered pages: routes, templates, static files, live updates over SSE."""

from __future__ import annotations

from fastapi import FastAPI


def install_web(app: FastAPI) -> None:
    """Add the pages and static files to the app."""
    from kiln.web.routes import install

    install(app)
