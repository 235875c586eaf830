"""The plan tracker in a browser: an enterprise admin files and corrects a period through the
form, the city analyst reads the dashboard; no console errors and no failed requests.

Drives Debian's Chromium through Playwright against the small test city served by uvicorn in a
thread (tests/web/conftest.py), so it runs in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiln.runtime import Runtime
from kiln.server import create_app
from tests.e2e.test_demo_browser import CHROMIUM, CHROMIUM_ARGS, BrowserTrouble
from tests.served import served
from tests.web.conftest import PASSWORD, USERS, city_runtime

WAIT_MS = 10_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """The small city with an enterprise admin and a city analyst who can sign in."""
    rt = city_runtime(tmp_path)
    for name in ("acme", "analyst"):
        role, enterprise = USERS[name]
        eid = rt.catalog.enterprise_by_slug[enterprise] if enterprise else None
        rt.security.create_user(None, name, PASSWORD, role, eid)
    yield rt
    rt.close()


@pytest.fixture
def url(runtime: Runtime) -> Iterator[str]:
    """The app (with the plan pages) served by uvicorn on a free port, in a thread."""
    app = create_app(runtime, manage_runtime=False)
    with served(app) as base:
        yield base


def sign_in(page: Any, url: str, path: str, username: str) -> None:
    page.goto(url + path)
    page.wait_for_url("**/sign-in?next=*")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def file_period(page: Any, month: str, output_wan: str, reason: str = "") -> None:
    """Fill the filing form for one month (output value in 万元) and send it."""
    page.locator("#kind-month").check()
    page.locator("#month").fill(month)
    page.locator("#fig-output_value").fill(output_wan)
    page.locator("select[name=unit_output_value]").select_option("万元")
    page.locator("#fig-employees").fill("420")
    page.locator("#reason").fill(reason)
    page.get_by_role("button", name="File this period").click()
    page.wait_for_url(f"**/filings?saved=acme-auto&period={month}")


def check_filing_and_correction(page: Any, url: str) -> None:
    sign_in(page, url, "/filings", "acme")
    page.wait_for_url(url + "/filings")
    file_period(page, "2024-03", "1500")
    row = page.locator('#filing-table tr[data-period="2024-03"]')
    assert row.get_attribute("data-version") == "1"
    assert "15,000,000 yuan" in row.inner_text()
    assert "version 1" in page.locator("#saved-notice").inner_text()

    file_period(page, "2024-03", "1600", reason="March output was mistyped")
    row = page.locator('#filing-table tr[data-period="2024-03"]')
    assert row.get_attribute("data-version") == "2"
    row.get_by_role("link", name="History").click()
    page.wait_for_url(url + "/filings/acme-auto/2024-03")
    v2 = page.locator('#history-table tr[data-version="2"]')
    assert "March output was mistyped" in v2.inner_text()
    assert "16,000,000 yuan" in v2.inner_text()
    assert page.locator("#history-table tbody tr").count() == 2
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")


def check_dashboard(page: Any, url: str) -> None:
    sign_in(page, url, "/plan", "analyst")
    page.wait_for_url(url + "/plan/tech-reform-2018-2020")
    badges = page.locator(".target-card .status-badge")
    assert badges.count() == 2
    assert [t.split()[-1] for t in badges.all_text_contents()] == ["Missed", "Missed"]
    charts = page.locator("svg.plan-chart")
    assert charts.count() == 2
    for i in range(2):
        box = charts.nth(i).bounding_box()
        assert box is not None
        assert box["width"] > 200
        assert box["height"] > 60
        assert charts.nth(i).locator("polyline.target-path").count() == 1
        assert charts.nth(i).locator("circle.actual").count() >= 2
    assert page.locator("#measured-table .withheld").count() >= 1
    assert page.locator("#measured-table").is_visible()
    page.locator("#as-of").select_option("2019")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**as_of=2019")
    assert page.locator('.target-card[data-status="no_data"]').count() == 2
    page.get_by_role("link", name="What if? Scenarios").click()
    page.wait_for_url("**/scenario")
    assert page.locator("#scenario-form").is_visible()


def test_filing_and_the_dashboard_in_a_browser(url: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    trouble = BrowserTrouble()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(WAIT_MS)
            trouble.watch(page)
            check_filing_and_correction(page, url)
            check_dashboard(page, url)
            page.goto(url + "/plan/tech-reform-2018-2020")
            page.screenshot(path=tmp_path / "plan.png", full_page=True)
        finally:
            browser.close()
    assert trouble.seen == []
