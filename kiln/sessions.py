"""The web session cookie, shared by the API and the pages (one sign-in serves both)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from kiln.auth.principal import Principal
from kiln.errors import Unauthorized
from kiln.runtime import Runtime

SESSION_COOKIE = "kiln_session"
LOGIN_CSRF_COOKIE = "kiln_login_csrf"  # double-submit token of the sign-in form (login CSRF)


def set_session_cookie(resp: Response, rt: Runtime, session_id: str) -> None:
    """Set the session cookie: HttpOnly, SameSite=Lax, Secure when configured."""
    resp.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=rt.settings.security.cookie_secure,
        path="/",
        max_age=int(rt.settings.security.session_hours * 3600),
    )


def clear_session_cookie(resp: Response) -> None:
    """Remove the session cookie from the browser."""
    resp.delete_cookie(SESSION_COOKIE, path="/")


def session_principal(request: Request, rt: Runtime) -> Principal | None:
    """The signed-in user of the request's session cookie, or None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return rt.security.from_session(cookie)
    except Unauthorized:
        return None
