"""The demo in a browser: sign in, city → enterprise → equipment, live data, then Ctrl-C.

Drives Debian's Chromium through Playwright against `kiln demo` in a subprocess, and saves a
screenshot of each page into docs/screenshots/ for the README.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server_process import KilnProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LIVE_WAIT_MS = 15_000  # signals report every 5-30 s; the fastest shows up within this

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


class BrowserTrouble:
    """Console errors, uncaught page errors and failed or refused requests, as they happen."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.seen.append(f"page error: {err}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self.seen.append(f"console error: {msg.text} at {msg.location}")

    def _failed(self, request: Any) -> None:
        # Leaving a page cancels its open event stream and, if they are still loading, its
        # icon and the panels it fetches after showing; that is the browser, not a failure.
        cancellable = (
            "/live/" in request.url
            or "/city/panels/" in request.url
            or request.url.endswith("/favicon.svg")
        )
        if cancellable and request.failure == "net::ERR_ABORTED":
            return
        self.seen.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.seen.append(f"HTTP {response.status}: {response.url}")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[KilnProcess]:
    """`kiln demo` with a quarter hour of history, ready to serve."""
    server = KilnProcess("demo", tmp_path / "data", {"KILN_SIMULATOR__BACKFILL_HOURS": "0.25"})
    try:
        server.wait_ready(timeout_s=60)
        yield server
    finally:
        server.kill()


def an_enterprise_with_equipment(url: str, password: str) -> str:
    """The slug of an enterprise with equipment, asked of the API as the city admin."""
    with httpx.Client(base_url=url, timeout=30) as api:
        assert api.post(
            "/api/v1/session", json={"username": "admin", "password": password}
        ).is_success
        listed = api.get("/api/v1/enterprises").json()
    return str(next(e["slug"] for e in listed if e["equipment"] > 0))


def sign_in(page: Any, url: str, username: str, password: str) -> None:
    page.goto(url + "/")
    page.wait_for_url("**/sign-in?next=*")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")


def wait_live(page: Any) -> None:
    """Until the page's event stream has delivered (the status in the header says Live)."""
    page.wait_for_function(
        "() => document.getElementById('live-status').dataset.status === 'live'",
        timeout=LIVE_WAIT_MS,
    )


def check_city(page: Any) -> None:
    wait_live(page)
    counts = page.locator("[data-state-count]")
    assert counts.count() == 7
    shown = sum(int(t) for t in counts.all_inner_texts())
    equipment = int(page.locator(".fact-value").nth(1).inner_text().replace(",", ""))
    assert shown == equipment > 0
    assert page.locator("#enterprise-table tbody tr").count() >= 1
    stamp = page.locator("[data-live-stamp]").first.inner_text()
    page.wait_for_function(
        "s => document.querySelector('[data-live-stamp]').textContent !== s",
        arg=stamp,
        timeout=LIVE_WAIT_MS,
    )


def check_enterprise(page: Any) -> None:
    wait_live(page)
    tiles = page.locator("a.tile")
    assert tiles.count() >= 1
    for cls in tiles.evaluate_all("ts => ts.map(t => t.className)"):
        assert any(c.startswith("state-") for c in cls.split()), cls


def check_equipment(page: Any) -> None:
    charts = page.locator(".chart")
    n = charts.count()
    assert n >= 1
    page.wait_for_function("n => document.querySelectorAll('.chart canvas').length === n", arg=n)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart')].some(c => Number(c.dataset.points) > 0)"
    )
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('.chart canvas')].some(cv => {
            const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
            for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true;
            return false;
        })"""
    )
    assert drawn, "no chart drew anything"
    wait_live(page)
    # Live data: a point arrives over the stream and is appended to its chart.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.chart')]"
        ".some(c => Number(c.dataset.livePoints) > 0)",
        timeout=LIVE_WAIT_MS,
    )
    assert page.locator("#timeline rect").count() >= 1
    assert page.locator("#last-values tbody tr").count() == n


def test_demo_pages_show_the_city_live_and_stop_cleanly(demo: KilnProcess, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    url = demo.url
    password = (tmp_path / "data" / "initial-admin-password").read_text().strip()
    slug = an_enterprise_with_equipment(url, password)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    trouble = BrowserTrouble()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(LIVE_WAIT_MS)
            trouble.watch(page)
            sign_in(page, url, slug, password)

            check_city(page)
            page.screenshot(path=SCREENSHOTS / "city.png", full_page=True)

            page.locator("#enterprise-table a").first.click()
            page.wait_for_url(f"{url}/enterprises/{slug}")
            check_enterprise(page)
            page.screenshot(path=SCREENSHOTS / "enterprise.png", full_page=True)

            running = page.locator("a.tile.state-running")
            (running if running.count() else page.locator("a.tile")).first.click()
            page.wait_for_url(f"{url}/equipment/*")
            check_equipment(page)
            page.screenshot(path=SCREENSHOTS / "equipment.png", full_page=True)

            page.get_by_role("link", name="8 h").click()
            page.wait_for_url("**window=8h")
            assert page.get_by_role("link", name="8 h").get_attribute("aria-current") == "page"
            check_equipment(page)

            # The enterprise's statistical filings, seeded for the demo from 2016 on.
            page.goto(url + "/filings")
            assert page.locator("#list-title").count() == 1
            page.screenshot(path=SCREENSHOTS / "filings.png")
            # The city analyst's plan dashboard: the 2018-2020 plan, as it stood in 2019.
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url("**/sign-in")
            sign_in(page, url, "analyst", password)
            page.goto(url + "/plan/tech-reform-2018-2020?as_of=2019")
            cards = page.locator("article.target-card")
            assert cards.count() == 2
            assert set(cards.evaluate_all("cs => cs.map(c => c.dataset.status)")) == {"off_track"}
            page.screenshot(path=SCREENSHOTS / "plan.png", full_page=True)

            assert trouble.seen == []
            # Ctrl-C with the page still open and streaming: the server must not wait on it.
            assert demo.interrupt(timeout_s=20) == 0
        finally:
            browser.close()
    assert "Kiln stopped; data kept." in "".join(demo.output)
