"""Signing in and out through the pages, with the session cookie the API reads too."""

from __future__ import annotations

import re

import httpx

from kiln.runtime import Runtime
from kiln.sessions import SESSION_COOKIE
from tests.web.conftest import PASSWORD, ClientFactory, session_of


async def post_form(anon: httpx.AsyncClient, data: dict[str, str]) -> httpx.Response:
    """Post the sign-in form as a browser would: with the token the form page handed out."""
    page = await anon.get("/sign-in")
    found = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert found
    return await anon.post("/sign-in", data={**data, "login_csrf": found.group(1)})


async def test_the_sign_in_page_is_a_labelled_form_that_returns_to_the_asked_page(
    clients: ClientFactory,
) -> None:
    async with clients(None) as anon:
        r = await anon.get("/sign-in", params={"next": "/enterprises/acme-auto"})
    assert r.status_code == 200
    assert '<form method="post" action="/sign-in" class="form">' in r.text
    assert '<label for="username">User name</label>' in r.text
    assert 'autocomplete="current-password"' in r.text
    assert '<input type="hidden" name="next" value="/enterprises/acme-auto">' in r.text


async def test_signing_in_sets_an_http_only_session_cookie_and_goes_on(
    clients: ClientFactory, runtime: Runtime
) -> None:
    session_of(runtime, "acme")  # creates the user
    async with clients(None) as anon:
        r = await post_form(
            anon,
            {"username": "acme", "password": PASSWORD, "next": "/enterprises/acme-auto"},
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/enterprises/acme-auto"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        page = await anon.get("/enterprises/acme-auto")
        api = await anon.get("/api/v1/enterprises/acme-auto")  # the same session reads the API
    assert page.status_code == 200
    assert api.status_code == 200


async def test_a_wrong_password_shows_the_form_again_with_an_error(
    clients: ClientFactory, runtime: Runtime
) -> None:
    session_of(runtime, "acme")
    async with clients(None) as anon:
        r = await post_form(anon, {"username": "acme", "password": "wrong-horse-2"})
    assert r.status_code == 401
    assert "Wrong user name or password." in r.text
    assert 'value="acme"' in r.text
    assert f"{SESSION_COOKIE}=" not in r.headers.get("set-cookie", "")  # no session


async def test_an_empty_form_is_refused_like_a_wrong_password(clients: ClientFactory) -> None:
    async with clients(None) as anon:
        r = await post_form(anon, {})
    assert r.status_code == 401
    assert "Wrong user name or password." in r.text


async def test_too_many_attempts_are_told_apart(clients: ClientFactory, runtime: Runtime) -> None:
    session_of(runtime, "acme")
    async with clients(None) as anon:
        codes = [
            (await post_form(anon, {"username": "acme", "password": "x1"})).status_code
            for _ in range(15)
        ]
        last = await post_form(anon, {"username": "acme", "password": "x1"})
    assert 429 in codes
    assert "Too many attempts" in last.text


async def test_sign_in_goes_only_to_pages_of_this_site(
    clients: ClientFactory, runtime: Runtime
) -> None:
    session_of(runtime, "acme")
    async with clients(None) as anon:
        r = await post_form(
            anon,
            {"username": "acme", "password": PASSWORD, "next": "//elsewhere.example/"},
        )
    assert r.status_code == 303
    assert r.headers["location"] == "/"


async def test_a_signed_in_user_skips_the_sign_in_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/sign-in", params={"next": "/enterprises/acme-auto"})
    assert r.status_code == 303
    assert r.headers["location"] == "/enterprises/acme-auto"


async def test_signing_out_ends_the_session(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    old = client.cookies[SESSION_COOKIE]
    r = await client.post("/sign-out", data={"csrf": found.group(1)})
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in"
    assert f'{SESSION_COOKIE}=""' in r.headers["set-cookie"]
    client.cookies.set(SESSION_COOKIE, old)  # the old cookie no longer opens a session
    assert (await client.get("/")).status_code == 303


async def test_signing_out_needs_the_sessions_csrf_token(client: httpx.AsyncClient) -> None:
    r = await client.post("/sign-out", data={"csrf": "forged"})
    assert r.status_code == 403
    assert (await client.get("/")).status_code == 200  # still signed in


async def test_a_sign_in_form_from_another_site_is_refused(
    clients: ClientFactory, runtime: Runtime
) -> None:
    session_of(runtime, "acme")
    async with clients(None) as anon:  # no token from our form: a cross-site (login CSRF) post
        r = await anon.post("/sign-in", data={"username": "acme", "password": PASSWORD})
        forged = await anon.post(
            "/sign-in", data={"username": "acme", "password": PASSWORD, "login_csrf": "guessed"}
        )
    assert r.status_code == forged.status_code == 403
    assert "The form had expired" in r.text
    assert f"{SESSION_COOKIE}=" not in r.headers.get("set-cookie", "")
