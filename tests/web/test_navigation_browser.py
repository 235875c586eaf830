"""In Chromium: click from the city down to an equipment (district, enterprise, site, line,
station), watch a value arrive live, search from the top bar, and reach the navigation by
keyboard; with no console error and no failed request on the way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from kiln.domain.batches import Bundle, PointBatch
from kiln.runtime import Runtime
from kiln.web.sse import close_streams
from tests.e2e.test_demo_browser import CHROMIUM, CHROMIUM_ARGS, BrowserTrouble
from tests.served import served
from tests.web.conftest import NOW_MS, PASSWORD, session_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]
WAIT_MS = 15_000


@pytest.fixture
def site(app: FastAPI) -> Iterator[str]:
    """The app served on a free port; its live streams are ended before the server stops."""
    with served(app) as url:
        try:
            yield url
        finally:
            close_streams(app)


@pytest.fixture
def page(site: str, runtime: Runtime) -> Iterator[tuple[Any, BrowserTrouble]]:
    """A Chromium page signed in as Acme's admin, reading English, watched for trouble."""
    sync_api = pytest.importorskip("playwright.sync_api")
    session_of(runtime, "acme")  # creates the user
    trouble = BrowserTrouble()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1024, "height": 900})
            context.add_cookies([{"name": "lang", "value": "en", "url": site}])
            signed = context.request.post(
                site + "/api/v1/session", data={"username": "acme", "password": PASSWORD}
            )
            assert signed.ok, signed.text()
            p = context.new_page()
            p.set_default_timeout(WAIT_MS)
            trouble.watch(p)
            yield p, trouble
        finally:
            browser.close()


def test_clicking_from_the_city_to_an_equipment_shows_live_values(
    page: tuple[Any, BrowserTrouble], site: str, runtime: Runtime
) -> None:
    p, trouble = page
    p.goto(site + "/")
    p.locator("table.bars").first.get_by_role("link", name="Nanhai").click()
    p.wait_for_url(site + "/districts/nanhai")
    p.locator("#enterprise-table").get_by_role("link", name="Acme Auto Parts").click()
    p.wait_for_url(site + "/enterprises/acme-auto")
    p.get_by_role("link", name="Nanhai plant 1").click()
    p.wait_for_url(site + "/enterprises/acme-auto/sites/nanhai-1")
    p.get_by_role("heading", name="Tandem line A").get_by_role("link").click()
    p.wait_for_url(site + "/lines/*")
    assert p.locator(".flow a.tile").count() == 2
    p.get_by_role("link", name="OP10").click()
    p.wait_for_url(site + "/stations/*")
    p.get_by_role("link", name="Draw press").click()
    p.wait_for_url(site + "/equipment/*")
    trail = p.locator("nav.breadcrumb li").all_inner_texts()
    assert trail == [
        "City", "Nanhai", "Acme Auto Parts", "Nanhai plant 1", "Tandem line A", "OP10",
        "Draw press",
    ]  # fmt: skip
    p.wait_for_function("() => document.getElementById('live-status').dataset.status === 'live'")
    press = runtime.catalog.equipment_id("acme-auto", "press-1")
    assert press is not None
    tonnage = runtime.catalog.series_id(press, "tonnage")
    cell = p.locator(f'tr[data-series="{tonnage}"] [data-role="value"]')
    assert cell.inner_text() == "8,155"
    runtime.store.write(Bundle(points=PointBatch.of([tonnage], [NOW_MS - 1_000], [8_321.0])))
    p.wait_for_function(
        "s => document.querySelector(s).textContent === '8,321'",
        arg=f'tr[data-series="{tonnage}"] [data-role="value"]',
    )
    assert trouble.seen == []


def test_the_top_bar_search_finds_an_equipment_by_its_code(
    page: tuple[Any, BrowserTrouble], site: str
) -> None:
    p, trouble = page
    p.goto(site + "/")
    box = p.get_by_role("searchbox", name="Search by name or code")
    box.fill("press-2")
    box.press("Enter")
    p.wait_for_url(site + "/search?q=press-2")
    p.locator("#search-results").get_by_role("link", name="Trim press").click()
    p.wait_for_url(site + "/equipment/*")
    assert trouble.seen == []


def test_the_navigation_is_reached_by_keyboard_with_a_visible_focus(
    page: tuple[Any, BrowserTrouble], site: str
) -> None:
    p, trouble = page
    p.set_viewport_size({"width": 768, "height": 1024})
    p.goto(site + "/districts/nanhai")
    p.keyboard.press("Tab")  # the skip link
    p.keyboard.press("Tab")  # the brand
    seen = []
    for _ in range(12):
        p.keyboard.press("Tab")
        seen.append(
            p.evaluate(
                """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                return [el.getAttribute('href') || el.id, style.outlineStyle !== 'none'
                        || style.boxShadow !== 'none'];
            }"""
            )
        )
    hrefs = [h for h, _ in seen]
    assert "/kpi" in hrefs
    assert "/alarms" in hrefs
    assert "topbar-q" in hrefs
    assert all(visible for _, visible in seen), seen
    # Nothing wider than the tablet's screen.
    assert p.evaluate("() => document.documentElement.scrollWidth") <= 768
    assert trouble.seen == []


def test_a_breadcrumb_leads_back_up(page: tuple[Any, BrowserTrouble], site: str) -> None:
    p, trouble = page
    p.goto(site + "/enterprises/acme-auto/sites/nanhai-1")
    p.locator("nav.breadcrumb").get_by_role("link", name="Nanhai", exact=True).click()
    p.wait_for_url(site + "/districts/nanhai")
    assert Path(p.url).name == "nanhai"
    assert trouble.seen == []
