"""Pages (placeholder until the web pages land)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the pages and static files to the app."""
