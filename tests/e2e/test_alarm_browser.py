"""The alarm console in a browser: a rule defined through the API, data over the ingest API
raises an alarm that appears live, an admin acknowledges it, reads its history, and manages
rules through the form; no console errors and no failed requests.

Drives Debian's Chromium through Playwright against `kiln serve` in a subprocess (no
simulator, no anomaly detector), so only the data this test sends can raise an alarm.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.server_process import KilnProcess
from tests.e2e.test_demo_browser import CHROMIUM, CHROMIUM_ARGS, BrowserTrouble
from tests.e2e.test_restart import ASSETS, enterprise_token

ADMIN, ADMIN_PASSWORD = "acme-admin", "acme-password-1"  # made by enterprise_token
WAIT_MS = 15_000  # the page hears of changes every 2 s; the server evaluates in a thread
RULE = {
    "kind": "threshold",
    "severity": "high",
    "scope": {"template": "press"},
    "signal": "tonnage",
    "op": ">",
    "limit": 9500,
    "deadband": 200,
}
COMMENT = "die cushion checked, easing off"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[KilnProcess]:
    """`kiln serve` on one press, evaluating rules but not learning anomalies."""
    assets = tmp_path / "assets.yaml"
    assets.write_text(ASSETS)
    env = {"KILN_ASSETS": f'["{assets}"]', "KILN_ALARMS__DETECT": "false"}
    proc = KilnProcess("serve", tmp_path / "data", env)
    try:
        proc.wait_ready(timeout_s=60)
        yield proc
    finally:
        proc.kill()


@pytest.fixture
def api(server: KilnProcess, tmp_path: Path) -> Iterator[httpx.Client]:
    """The API as the enterprise admin, through a bearer token."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        token = enterprise_token(c, server.admin_password(tmp_path / "data"))
        c.headers["authorization"] = f"Bearer {token}"
        yield c


def send_tonnage(api: httpx.Client, values: list[float]) -> None:
    """Tonnage of press-1, one value a second ending now."""
    now = int(time.time() * 1000)
    ts = [now - 1000 * (len(values) - 1 - i) for i in range(len(values))]
    body = {
        "enterprise": "acme-auto",
        "points": [{"equipment": "press-1", "signal": "tonnage", "ts": ts, "v": values}],
    }
    sent = api.post("/api/v1/ingest", json=body)
    assert sent.status_code == 200, sent.text


def count_of(page: Any, severity: str) -> str:
    return str(page.locator(f'#alarm-counts [data-severity="{severity}"]').inner_text())


def check_live_alarm(page: Any, api: httpx.Client) -> int:
    """On the empty console, send data over the limit, and see the alarm arrive live."""
    assert count_of(page, "high") == "0"
    assert page.locator("#alarm-rows-empty").is_visible()
    # Live first, so that what follows is a change the stream reports, not the first look.
    page.wait_for_function("() => document.getElementById('live-status').dataset.status === 'live'")
    page.evaluate("() => { window.notReloaded = true; }")

    send_tonnage(api, [9000, 9800, 9900])
    page.wait_for_function(
        "() => document.querySelector('#alarm-counts [data-severity=\"high\"]')"
        ".textContent.trim() === '1'"
    )
    row = page.locator("#alarm-rows tbody tr")
    row.first.wait_for()
    assert row.count() == 1
    assert page.evaluate("() => window.notReloaded === true"), "the page reloaded"
    text = row.first.inner_text()
    assert "tonnage" in text
    assert "above" in text
    assert row.first.get_attribute("data-state") == "raised"

    listed = api.get("/api/v1/alarms", params={"open": "true"}).json()
    assert listed["total"] == 1
    alarm = listed["alarms"][0]
    assert alarm["severity"] == "high"
    assert alarm["rule"] == "press-overload"
    alarm_id = int(alarm["id"])
    assert row.first.get_attribute("data-alarm") == str(alarm_id)
    return alarm_id


def check_acknowledge(page: Any, url: str, alarm_id: int) -> None:
    """Acknowledge from the row's form; the row says who; the alarm's page has the history."""
    row = page.locator(f'#alarm-rows tr[data-alarm="{alarm_id}"]')
    row.get_by_label(f"Comment on alarm {alarm_id}").fill(COMMENT)
    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(url + "/alarms")
    row = page.locator(f'#alarm-rows tr[data-alarm="{alarm_id}"]')
    handled = row.locator("td").nth(6).inner_text()
    assert ADMIN in handled
    assert COMMENT in handled
    assert row.get_by_role("button", name="Acknowledge").count() == 0
    assert count_of(page, "high") == "1"  # acknowledged, still open until it clears

    row.get_by_role("link", name="tonnage").click()
    page.wait_for_url(f"{url}/alarms/{alarm_id}")
    assert "press-overload" in page.locator(".page-head").inner_text()
    history = [
        [c.strip() for c in r.locator("td").all_inner_texts()]
        for r in page.locator("#alarm-history tbody tr").all()
    ]
    assert [h[1] for h in history] == ["raised", "acknowledged"], history
    assert history[1][2:] == [ADMIN, COMMENT]
    assert COMMENT in page.locator("dl.facts").inner_text()


def check_rules(page: Any, url: str) -> None:
    """The API's rule is listed; a rule added by the form joins it; a bad one is refused."""
    api_rule = page.locator('#rule-table tr[data-rule="press-overload"]')
    cells = [c.strip() for c in api_rule.locator("td").all_inner_texts()]
    assert cells[:3] == ["threshold", "high", "press"], cells
    assert cells[4] == "api"
    assert "limit 9500" in cells[3]

    form = page.locator("#rule-form")
    form.get_by_label("Name").fill("press-silent")
    form.get_by_label("Kind").select_option("no_data")
    form.get_by_label("Severity").select_option("low")
    form.get_by_label("Equipment template").select_option("press")
    form.get_by_label("For at least (s)").fill("3600")
    form.get_by_role("button", name="Save rule").click()
    page.wait_for_url(url + "/alarms/rules?saved=press-silent")
    added = page.locator('#rule-table tr[data-rule="press-silent"]')
    cells = [c.strip() for c in added.locator("td").all_inner_texts()]
    assert cells[:3] == ["no_data", "low", "press"], cells
    assert cells[4] == "api"
    assert page.locator("#rule-table tbody tr").count() == 2

    form.get_by_label("Name").fill("press-bad")
    form.get_by_label("Kind").select_option("threshold")
    form.get_by_label("Signal").fill("tonnage")
    form.get_by_label("Limit").fill("abc")
    form.get_by_role("button", name="Save rule").click()
    page.wait_for_url(url + "/alarms/rules")
    error = page.locator("#rule-error")
    assert "limit" in error.inner_text()
    assert "'abc' is not a number" in error.inner_text()
    assert page.locator("#rule-form").get_by_label("Limit").input_value() == "abc"
    assert page.locator('#rule-table tr[data-rule="press-bad"]').count() == 0


def refused_on_purpose(trouble: str, url: str) -> bool:
    """The bad rule's form comes back 422 (shown again with why), and Chromium says so."""
    here = f"{url}/alarms/rules"
    return trouble == f"HTTP 422: {here}" or (
        trouble.startswith("console error: Failed to load resource: the server responded with a ")
        and "status of 422" in trouble
        and f"'url': '{here}'" in trouble
    )


def define_rule(api: httpx.Client) -> None:
    made = api.put("/api/v1/alarm-rules/press-overload", json=RULE)
    assert made.status_code == 201, made.text
    assert made.json()["origin"] == "api"


def in_chromium(url: str, steps: Any) -> list[str]:
    """Run steps(page) in a fresh headless Chromium; what went wrong in the browser."""
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
            steps(page)
        finally:
            browser.close()
    return [s for s in trouble.seen if not refused_on_purpose(s, url)]


def sign_in(page: Any, url: str, path: str) -> None:
    page.goto(url + path)
    page.wait_for_url("**/sign-in?next=*")
    page.get_by_label("User name").fill(ADMIN)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + path)


def test_an_alarm_arrives_live_and_is_acknowledged(
    server: KilnProcess, api: httpx.Client, tmp_path: Path
) -> None:
    define_rule(api)
    url = server.url

    def steps(page: Any) -> None:
        sign_in(page, url, "/alarms")
        alarm_id = check_live_alarm(page, api)
        page.screenshot(path=tmp_path / "alarms.png", full_page=True)
        check_acknowledge(page, url, alarm_id)

    assert in_chromium(url, steps) == []
    assert (tmp_path / "alarms.png").stat().st_size > 10_000


def test_rules_are_listed_added_and_refused_in_the_form(
    server: KilnProcess, api: httpx.Client
) -> None:
    define_rule(api)
    url = server.url

    def steps(page: Any) -> None:
        sign_in(page, url, "/alarms/rules")
        check_rules(page, url)

    assert in_chromium(url, steps) == []
