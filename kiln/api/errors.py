"""Map each KilnError to one HTTP status and a JSON body {"error", "message", "where"}."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from kiln.errors import (
    BadInput,
    ConfigError,
    Conflict,
    Forbidden,
    KilnError,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)

STATUS: dict[type[KilnError], int] = {
    BadInput: 422,
    NotFound: 404,
    Conflict: 409,
    Unavailable: 503,
    ConfigError: 500,
    Unauthorized: 401,
    Forbidden: 403,
    TooManyRequests: 429,
}


class ErrorBody(BaseModel):
    """Every error answer: what kind, what was wrong, and where."""

    error: str
    message: str
    where: str
    rejects: list[dict[str, Any]] | None = None  # ingest: every bad item
    errors: list[dict[str, Any]] | None = None  # request validation: every bad parameter
    flags: list[dict[str, str]] | None = None  # filings: values to confirm (send confirm=true)


def _described(text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


# Documented on every API route, so clients (and the fuzzer) know each error's shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _described("no valid credentials (WWW-Authenticate: Bearer)"),
    403: _described("the caller may not do this"),
    404: _described("not found, or not the caller's to see"),
    409: _described("clashes with what is stored"),
    413: _described("the body is too large"),
    422: _described("bad input, named by where"),
    429: _described("rate limited; see Retry-After"),
}


def error_body(err: KilnError) -> dict[str, Any]:
    """The JSON body of an error answer."""
    body: dict[str, Any] = {"error": type(err).__name__, "message": err.what, "where": err.where}
    flags = getattr(err, "flags", None)
    if flags:
        body["flags"] = [{"field": f.field, "what": f.what} for f in flags]
    return body


async def _kiln_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KilnError)
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 500)
    headers = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="kiln"'
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    return JSONResponse(error_body(exc), status_code=status, headers=headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ()))
    return JSONResponse(
        {
            "error": "BadInput",
            "message": str(first.get("msg")),
            "where": where,
            "errors": [
                {"where": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
                for e in errors
            ],
        },
        status_code=422,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(KilnError, _kiln_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
