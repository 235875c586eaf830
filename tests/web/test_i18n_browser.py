"""In Chromium, against the running demo: the language switch in the top bar (by keyboard)
turns the city's pages Chinese, live words included, with no English word left untranslated;
switching back leaves no Chinese on the English pages; no console errors, no failed requests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.server_process import KilnProcess
from tests.e2e.test_demo_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LIVE_WAIT_MS,
    BrowserTrouble,
    demo,
    sign_in,
    wait_live,
)
from tests.web.test_i18n_text import untranslated, visible_text

__all__ = ["demo"]  # the fixture, used by name

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]
CITY_PAGES = ["/", "/city/kpi", "/alarms", "/filings", "/connectivity"]


def names_of_the_city(url: str, password: str) -> set[str]:
    """Every enterprise's names and slug, as the city admin reads them from the API."""
    with httpx.Client(base_url=url, timeout=30) as api:
        signed = api.post("/api/v1/session", json={"username": "admin", "password": password})
        assert signed.is_success
        listed = api.get("/api/v1/enterprises").json()
    users = {"admin", "simulator"}  # who signed in, and who filed the demo's figures
    return {str(e.get(k) or "") for e in listed for k in ("name", "name_zh", "slug")} | users


def left_over(page: Any, url: str, lang: str, names: set[str]) -> dict[str, list[str]]:
    """Per page, the words found in the other language."""
    out = {}
    for path in CITY_PAGES:
        page.goto(url + path)
        assert page.locator("html").get_attribute("lang") == ("zh-Hans" if lang == "zh" else "en")
        words = untranslated(visible_text(page.content(), lang), lang, names)
        if words:
            out[path] = sorted(set(words))
    return out


def test_the_language_switch_turns_the_city_pages_chinese_and_back(
    demo: KilnProcess, tmp_path: Any
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    url = demo.url
    password = (tmp_path / "data" / "initial-admin-password").read_text().strip()
    names = names_of_the_city(url, password)
    trouble = BrowserTrouble()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})  # sends en-US
            page.set_default_timeout(LIVE_WAIT_MS)
            trouble.watch(page)
            sign_in(page, url, "admin", password)
            assert page.locator("html").get_attribute("lang") == "en"

            switch = page.get_by_role("navigation", name="Language")
            switch.get_by_role("link", name="中文").focus()
            page.keyboard.press("Enter")
            page.wait_for_url(url + "/?lang=zh")
            assert page.locator("html").get_attribute("lang") == "zh-Hans"
            wait_live(page)
            assert page.locator("#live-status .live-text").inner_text() == "实时"
            assert page.get_by_role("heading", name="设备当前状态").count() == 1
            assert left_over(page, url, "zh", names) == {}

            page.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
            page.wait_for_url("**lang=en")
            assert left_over(page, url, "en", names) == {}
        finally:
            browser.close()
    assert trouble.seen == []
