"""Who is looking: the web session, and the sign-in and sign-out pages that start and end it.

The pages and the API share one session cookie, so a page's scripts read the API as the person
who signed in. A page asked for without a session redirects to the sign-in page and back.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiln.auth.principal import Principal
from kiln.auth.secrets import new_csrf_token, same
from kiln.errors import KilnError, TooManyRequests, Unauthorized
from kiln.runtime import Runtime
from kiln.sessions import (
    LOGIN_CSRF_COOKIE,
    clear_session_cookie,
    session_principal,
    set_session_cookie,
)
from kiln.web.deps import RuntimeDep
from kiln.web.i18n import COOKIE_MAX_AGE_S, LANG_COOKIE, as_language
from kiln.web.rendering import render

router = APIRouter(include_in_schema=False)
LANGUAGE_KEY = "language"


class SignInNeeded(Exception):
    """A page needs a signed-in user; answered with a redirect to the sign-in page."""


def viewer(request: Request, rt: Runtime) -> Principal | None:
    """The signed-in user of the request's session, or None."""
    return session_principal(request, rt)


def require_viewer(request: Request, rt: RuntimeDep) -> Principal:
    """The signed-in user; SignInNeeded when there is none. A language the user switches to
    (`?lang=`) is kept as theirs, so it follows them to another browser at sign-in."""
    who = viewer(request, rt)
    if who is None:
        raise SignInNeeded
    asked = as_language(request.query_params.get("lang"))
    if asked is not None and request.cookies.get(LANG_COOKIE) != asked:
        rt.store.preferences.put(who.name, LANGUAGE_KEY, asked, rt.clock.now_ms())
    return who


ViewerDep = Annotated[Principal, Depends(require_viewer)]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, else the city overview.

    >>> safe_next("/equipment/3?window=8h")
    '/equipment/3?window=8h'
    >>> safe_next("//elsewhere.example/"), safe_next("https://elsewhere.example/")
    ('/', '/')
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


async def redirect_to_sign_in(request: Request, exc: Exception) -> Response:
    """Send the browser to the sign-in page, to come back here after."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(here, safe='')}", status_code=303)


def _form(request: Request, next_path: str, *, error: str = "", username: str = "") -> Response:
    # A fresh double-submit token: the form carries it and so does a cookie only this site can
    # set, so another site cannot sign a browser in to an account of its choosing.
    token = new_csrf_token()
    status = 429 if error == "busy" else 403 if error == "expired" else 401 if error else 200
    context = {"next": next_path, "error": error, "username": username, "login_csrf": token}
    resp = render(request, "sign_in.html", context, status_code=status)
    resp.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/sign-in", max_age=3600
    )
    return resp


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(
    request: Request, rt: RuntimeDep, next_path: Annotated[str, Query(alias="next")] = "/"
) -> Response:
    """The sign-in form (or straight on, when already signed in)."""
    if viewer(request, rt) is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    return _form(request, safe_next(next_path))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    rt: RuntimeDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "/",
    login_csrf: Annotated[str, Form()] = "",
) -> Response:
    """Check the password, start a session (HttpOnly cookie) and go on to the asked-for page."""
    address = request.client.host if request.client else "unknown"
    username = username.strip()[:64]
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (expected and login_csrf and same(login_csrf, expected)):
        return _form(request, safe_next(next_path), error="expired", username=username)
    try:
        if not username or not password or len(password) > 256:
            raise Unauthorized("wrong user name or password", where="username")
        session_id, _ = rt.security.sign_in(username, password, address=address)
    except TooManyRequests:
        return _form(request, safe_next(next_path), error="busy", username=username)
    except KilnError:
        return _form(request, safe_next(next_path), error="wrong", username=username)
    resp = RedirectResponse(safe_next(next_path), status_code=303)
    set_session_cookie(resp, rt, session_id)
    kept = as_language(rt.store.preferences.get(username, LANGUAGE_KEY))
    if kept is not None:  # the user's own language, whatever this browser asked before
        resp.set_cookie(LANG_COOKIE, kept, max_age=COOKIE_MAX_AGE_S, samesite="lax", path="/")
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/sign-in")
    return resp


@router.post("/sign-out")
def sign_out(request: Request, rt: RuntimeDep, csrf: Annotated[str, Form()] = "") -> Response:
    """End the session (the form carries the session's CSRF token) and clear its cookie."""
    who = viewer(request, rt)
    if who is not None:
        if not (who.csrf and same(csrf, who.csrf)):
            return render(request, "notice.html", {"kind": "forbidden"}, who, status_code=403)
        address = request.client.host if request.client else "unknown"
        rt.security.sign_out(who, address=address)
    resp = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(resp)
    return resp
