"""A person's language follows them: switched once, it is theirs at the next sign-in from any
browser, whatever that browser asks for."""

from __future__ import annotations

from kiln.runtime import Runtime
from kiln.web.i18n import LANG_COOKIE
from kiln.web.session import LANGUAGE_KEY
from tests.web.conftest import PASSWORD, ClientFactory, session_of
from tests.web.test_session import post_form


async def test_a_switched_language_follows_the_user_to_another_browser(
    runtime: Runtime, clients: ClientFactory
) -> None:
    session_of(runtime, "acme")  # creates the user
    async with clients("acme") as first:
        page = await first.get("/enterprises/acme-auto", params={"lang": "zh"})
    assert page.status_code == 200
    assert 'lang="zh-Hans"' in page.text
    assert runtime.store.preferences.get("acme", LANGUAGE_KEY) == "zh"
    async with clients(None) as other:
        other.headers["accept-language"] = "en-US,en;q=0.9"
        signed = await post_form(other, {"username": "acme", "password": PASSWORD})
        assert signed.status_code == 303
        assert other.cookies.get(LANG_COOKIE) == "zh"
        page = await other.get("/enterprises/acme-auto")
    assert 'lang="zh-Hans"' in page.text


async def test_a_user_without_a_kept_language_gets_the_browsers(
    runtime: Runtime, clients: ClientFactory
) -> None:
    session_of(runtime, "huamei")
    async with clients(None) as other:
        other.headers["accept-language"] = "en-US"
        signed = await post_form(other, {"username": "huamei", "password": PASSWORD})
        assert signed.status_code == 303
        assert other.cookies.get(LANG_COOKIE) is None
        page = await other.get("/enterprises/huamei-ceramics")
    assert 'lang="en"' in page.text
    assert runtime.store.preferences.get("huamei", LANGUAGE_KEY) is None


async def test_switching_back_is_kept_too(runtime: Runtime, clients: ClientFactory) -> None:
    async with clients("acme") as c:
        await c.get("/", params={"lang": "zh"})
        await c.get("/", params={"lang": "en"})
    assert runtime.store.preferences.get("acme", LANGUAGE_KEY) == "en"
