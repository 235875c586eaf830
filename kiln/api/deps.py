"""Dependencies the routers share: the runtime, the caller, its scoped access, time windows."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from kiln.access import Access
from kiln.auth.principal import Principal
from kiln.auth.secrets import same
from kiln.errors import BadInput, Forbidden, Unauthorized
from kiln.runtime import Runtime
from kiln.sessions import SESSION_COOKIE

DAY_MS = 86_400_000
MAX_MS = 32_503_680_000_000  # year 3000: keeps every window inside 64-bit arithmetic
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_runtime(request: Request) -> Runtime:
    """The runtime the app was built with (async: a sync dependency costs a thread hop)."""
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def client_address(request: Request) -> str:
    """The caller's address, for rate limits and the audit log."""
    return request.client.host if request.client else "unknown"


def authenticate(request: Request, rt: Runtime) -> Principal:
    """The caller from a bearer token or the session cookie; Unauthorized if neither is valid.

    A cookie-authenticated request that changes anything must carry the session's CSRF token
    (header X-CSRF-Token): a cookie alone is what a forged cross-site request would have.
    """
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use 'Authorization: Bearer <token>'", where="authorization")
        who = rt.security.from_token(token.strip())
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise Unauthorized("sign in or send a bearer token", where="authorization")
        who = rt.security.from_session(cookie)
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not (who.csrf and sent and same(sent, who.csrf)):
                raise Forbidden("missing or wrong CSRF token", where="header: X-CSRF-Token")
    request.state.principal = who
    return who


async def get_principal(request: Request, rt: RuntimeDep) -> Principal:
    """The authenticated caller.

    A bearer token is checked on the event loop (verified tokens are cached, so it is a
    dictionary lookup nearly always); a session cookie reads the store, in a worker thread.
    """
    if request.headers.get("authorization"):
        return authenticate(request, rt)
    return await run_in_threadpool(authenticate, request, rt)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_access(rt: RuntimeDep, who: PrincipalDep) -> Access:
    """The caller's scoped view of the store."""
    return Access(rt.store, who, now_ms=rt.clock.now_ms())


AccessDep = Annotated[Access, Depends(get_access)]


def now_s() -> float:
    """Monotonic seconds, for rate limits."""
    return time.monotonic()


class Window:
    """A [start_ms, end_ms) window; by default the last hour up to now."""

    def __init__(
        self,
        rt: RuntimeDep,
        start: Annotated[
            int | None, Query(ge=0, le=MAX_MS, description="UTC epoch ms, inclusive")
        ] = None,
        end: Annotated[
            int | None, Query(ge=1, le=MAX_MS, description="UTC epoch ms, exclusive")
        ] = None,
    ) -> None:
        now = rt.clock.now_ms()
        self.end_ms = end if end is not None else now + 1
        self.start_ms = start if start is not None else self.end_ms - 3_600_000
        if self.start_ms >= self.end_ms:
            raise BadInput("start must be before end", where="query: start")
        if self.end_ms - self.start_ms > 400 * DAY_MS:
            raise BadInput("a window may span at most 400 days", where="query: start")


WindowDep = Annotated[Window, Depends(Window)]
