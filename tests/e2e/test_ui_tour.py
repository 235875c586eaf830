"""A tour of every main page in Chromium, against the running demo city, as an enterprise admin
and as the city analyst, in English and in Chinese.

Each page must answer 200 with no console error and no failed request, pass the accessibility
checks of tests/a11y.py (names, headings, contrast, the skip link by keyboard) and leave no word
of the other language (tests/web/test_i18n_text.py, names from the data taken out). At a
tablet's 768 px the shop-floor pages must not scroll sideways, and the line page must change
without a reload as the simulator streams. The tour writes the README's screenshots of the line,
the advisor, the alarms, the solution catalogue and the city in Chinese (1280 x 800, the first
screen of each page).

One `kiln demo` serves the whole module; each role signs in once (the sign-in limit is ten a
minute per address) and each role and language gets one browser context.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from kiln.advisor.catalogue import RANGES
from kiln.kpi.shift_calendar import AROUND_THE_CLOCK, ONE_BY_EIGHT, THREE_BY_EIGHT, TWO_BY_TWELVE
from kiln.simulator.reasons import REASONS
from tests.a11y import problems, skip_link_problems
from tests.e2e.server_process import KilnProcess
from tests.e2e.test_demo_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LIVE_WAIT_MS,
    SCREENSHOTS,
    BrowserTrouble,
)
from tests.web.test_i18n_text import untranslated, visible_text

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed"),
]
PLAN = "tech-reform-2018-2020"
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
# Keys whose values in the API's documents are names of things, shown as registered.
# Fixed vocabularies (processes, losses, states, industries) are the page's to translate and
# are not among them.
NAME_KEYS = frozenset(
    {"name", "name_zh", "slug", "area", "timezone", "template", "key", "unit", "summary",
     "references", "description", "source", "note", "updated_by", "issuer", "message"}
)  # fmt: skip


@dataclass
class Role:
    """Who tours, with the session cookies the API gave them and the pages they visit."""

    user: str
    cookies: list[dict[str, Any]]
    pages: list[str]
    names: set[str] = field(default_factory=set)


@dataclass
class City:
    """The running demo, its password, and the two roles that tour it."""

    server: KilnProcess
    password: str
    enterprise: Role
    analyst: Role
    line: int
    equipment: int


def _names_in(doc: Any, out: set[str]) -> None:
    """Every string under a name-like key of an API document (and the lists under them); a
    source that is an address also by its host, as the pages link it."""
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in NAME_KEYS and isinstance(v, str):
                out.add(v)
                if v.startswith("http"):
                    out.add(v.split("/")[2])
            elif k in NAME_KEYS and isinstance(v, list):
                out.update(x for x in v if isinstance(x, str))
            else:
                _names_in(v, out)
    elif isinstance(doc, list):
        for v in doc:
            _names_in(v, out)


def _signed_in(url: str, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    answer = client.post("/api/v1/session", json={"username": user, "password": password})
    assert answer.is_success, f"{user} could not sign in: {answer.text}"
    client.headers["x-csrf-token"] = answer.json()["csrf"]  # a cookie alone may not change
    return client


def _cookies(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    return [{"name": c.name, "value": c.value or "", "url": url} for c in client.cookies.jar]


def _common_names() -> set[str]:
    """Names every page may show that come from the data rather than the catalogue: the
    simulator's stop reasons, the shift patterns' shift names, who filed the demo's figures."""
    shifts = {
        s.name for p in (TWO_BY_TWELVE, THREE_BY_EIGHT, ONE_BY_EIGHT, AROUND_THE_CLOCK)
        for s in p.shifts
    }  # fmt: skip
    units = set(RANGES.values())  # the catalogue form's kg, s and yuan
    return {r for r in REASONS if r} | shifts | units | {"admin", "analyst", "simulator"}


def _an_enterprise_with_candidates(
    url: str, password: str, listed: list[dict[str, Any]]
) -> tuple[httpx.Client, dict[str, Any], dict[str, Any]]:
    """A robot maker (it may publish solutions) whose lines have advisor candidates, else any
    of the first enterprises that has some: its signed-in client, registry entry and advice."""
    makers = [e for e in listed if e["robot_maker"]]
    others = [e for e in listed if not e["robot_maker"] and e["equipment"] > 0]
    for ent in (makers + others)[:4]:
        client = _signed_in(url, ent["slug"], password)
        advice = client.get(f"/api/v1/advisor/enterprises/{ent['slug']}").json()
        if any(ln.get("candidates") for ln in advice.get("lines", [])):
            return client, ent, advice
        client.close()
    raise AssertionError("no enterprise of the demo has advisor candidates")


def _raise_an_alarm(client: httpx.Client, tree: dict[str, Any], templates: list[Any]) -> None:
    """A rule its equipment breaks at once (a gauge above the bottom of its normal range), so
    the alarm pages have rows to show; waits until the first alarm is open."""
    first = tree["sites"][0]["lines"][0]["stations"][0]["equipment"][0]["template"]
    signal = next(
        g for t in templates if t["key"] == first for g in t["signals"] if g["kind"] == "gauge"
    )
    rule = {
        "kind": "threshold", "severity": "medium", "scope": {"template": first},
        "signal": signal["name"], "op": ">", "limit": signal["lo"] - 1, "deadband": 0,
    }  # fmt: skip
    made = client.put("/api/v1/alarm-rules/tour-demo", json=rule)
    assert made.status_code == 201, made.text
    deadline = time.monotonic() + LIVE_WAIT_MS / 1000
    while sum(client.get("/api/v1/alarms/summary").json().values()) == 0:
        assert time.monotonic() < deadline, "the rule raised no alarm"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    """`kiln demo` with a quarter hour of history, and the tour of each role worked out from
    the API: the enterprise's own site, line (the advisor's), station and equipment."""
    data = tmp_path_factory.mktemp("tour") / "data"
    server = KilnProcess("demo", data, {"KILN_SIMULATOR__BACKFILL_HOURS": "0.25"})
    try:
        url = server.wait_ready(timeout_s=60)
        password = server.admin_password(data)
        with closing(_signed_in(url, "admin", password)) as admin:
            listed = admin.get("/api/v1/enterprises").json()
            templates = admin.get("/api/v1/templates").json()
            solutions = admin.get("/api/v1/solutions", params={"limit": 500}).json()
            figures = [
                admin.get("/api/v1/published-figures").json(),
                admin.get(f"/api/v1/plans/{PLAN}").json(),
            ]
        common = _common_names() | {
            str(e.get(k) or "") for e in listed for k in ("name", "name_zh", "slug")
        }
        _names_in(templates, common)
        _names_in(solutions, common)
        _names_in(figures, common)

        client, ent, advice = _an_enterprise_with_candidates(url, password, listed)
        with closing(client):
            slug = ent["slug"]
            tree = client.get(f"/api/v1/enterprises/{slug}").json()
            _names_in(client.get("/api/v1/advisor/assumptions").json(), common)
            _raise_an_alarm(client, tree, templates)
            # An alarm's message comes from below the pages, in English (docs/web.md), and a
            # rule's settings are shown as the settings file writes them (their code as a tip).
            _names_in(client.get("/api/v1/alarms").json(), common)
            rules = client.get("/api/v1/alarm-rules").json()
            common |= {str(r[k]) for r in rules for k in ("kind", "severity", "origin")}
            cookies = _cookies(client, url)
        line = next(ln for ln in advice["lines"] if ln.get("candidates"))["line_id"]
        site = next(s for s in tree["sites"] if any(ln["id"] == line for ln in s["lines"]))
        stations = next(ln for ln in site["lines"] if ln["id"] == line)["stations"]
        station = next(s for s in stations if s["equipment"])
        equipment = station["equipment"][0]["id"]
        solution = solutions["solutions"][0]["id"]
        query = station["name"].split()[0]  # what the user typed, shown back as typed
        mine: set[str] = {query}
        _names_in(tree, mine)
        enterprise_pages = [
            "/", f"/districts/{ent['district']}", f"/industries/C{ent['industry_code']}",
            f"/enterprises/{slug}", f"/enterprises/{slug}/sites/{site['slug']}", f"/lines/{line}",
            f"/stations/{station['id']}", f"/equipment/{equipment}", "/kpi", "/filings",
            "/alarms", "/alarms/rules", "/connectivity", "/advisor", f"/advisor/lines/{line}",
            "/solutions", f"/solutions/{solution}",
            *(["/solutions/new"] if ent["robot_maker"] else []),
            f"/search?q={query}",
        ]  # fmt: skip
        with closing(_signed_in(url, "analyst", password)) as analyst:
            analyst_cookies = _cookies(analyst, url)
        key = ent["key_industry"] or next(e["key_industry"] for e in listed if e["key_industry"])
        analyst_pages = [
            "/", f"/districts/{ent['district']}", f"/industries/{key}", "/city/kpi",
            f"/plan/{PLAN}", f"/plan/{PLAN}/scenario", "/alarms", "/alarms/rules",
            "/advisor/city", "/solutions", f"/solutions/{solution}",
            f"/search?q={ent['district']}",
        ]  # fmt: skip
        yield City(
            server=server,
            password=password,
            enterprise=Role(slug, cookies, enterprise_pages, common | mine),
            analyst=Role("analyst", analyst_cookies, analyst_pages, common | {ent["district"]}),
            line=line,
            equipment=equipment,
        )
    finally:
        server.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _context(browser: Any, city: City, role: Role, lang: str, viewport: dict[str, int]) -> Any:
    """A browser context signed in as role, reading lang."""
    url = city.server.url
    context = browser.new_context(viewport=viewport)
    context.add_cookies([*role.cookies, {"name": "lang", "value": lang, "url": url}])
    context.set_default_timeout(LIVE_WAIT_MS)
    return context


def _wait_live_if_any(page: Any) -> None:
    """Until the page is whole: its live stream (if any) has delivered and the panels it
    loads after the first paint (marked aria-busy while loading) are in."""
    page.wait_for_function(
        "() => { const s = document.getElementById('live-status');"
        " return (!s || s.dataset.status === 'live')"
        " && !document.querySelector('[aria-busy=\"true\"]'); }",
        timeout=LIVE_WAIT_MS,
    )


# Screenshots the tour takes on the way, by (role, language, page).
SHOTS = {
    ("enterprise", "en", "line"): "line.png",
    ("enterprise", "en", "advisor-line"): "advisor.png",
    ("enterprise", "en", "/alarms"): "alarms.png",
    ("enterprise", "en", "/solutions"): "solutions.png",
    ("analyst", "zh", "/"): "city-zh.png",
}


def _shot_key(role: str, lang: str, path: str) -> tuple[str, str, str]:
    if path.startswith("/lines/"):
        return (role, lang, "line")
    if path.startswith("/advisor/lines/"):
        return (role, lang, "advisor-line")
    return (role, lang, path)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("who", ["enterprise", "analyst"])
def test_every_main_page_is_whole_accessible_and_in_one_language(
    city: City, browser: Any, who: str, lang: str
) -> None:
    role = city.enterprise if who == "enterprise" else city.analyst
    url = city.server.url
    context = _context(browser, city, role, lang, DESKTOP)
    found: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        trouble = BrowserTrouble()
        trouble.watch(page)
        for path in role.pages:
            response = page.goto(url + path)
            faults: list[str] = []
            if response is None or response.status != 200:
                faults.append(f"HTTP {response.status if response else 'no response'}")
            else:
                _wait_live_if_any(page)
                if page.locator("html").get_attribute("lang") != HTML_LANG[lang]:
                    faults.append(f"<html lang> is not {HTML_LANG[lang]}")
                faults += skip_link_problems(page)
                faults += problems(page)
                words = untranslated(visible_text(page.content(), lang), lang, role.names)
                if words:
                    faults.append(f"left in the other language: {sorted(set(words))}")
                shot = SHOTS.get(_shot_key(who, lang, path))
                if shot:
                    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                    page.evaluate(
                        "() => { document.activeElement?.blur(); window.scrollTo(0, 0); }"
                    )
                    page.screenshot(path=SCREENSHOTS / shot, full_page=False)
            faults += trouble.seen
            trouble.seen.clear()
            if faults:
                found[path] = faults
        # Every place the top bar offers opens for this viewer (no link to a refusal).
        offered = page.eval_on_selector_all(
            "nav.topnav:not(.lang-switch) a", "as => as.map(a => a.getAttribute('href'))"
        )
        refused = [h for h in offered if context.request.get(url + h).status != 200]
        if refused:
            found["top bar"] = [f"links to pages that do not open: {refused}"]
    finally:
        context.close()
    assert found == {}, "\n".join(f"{p}:\n  " + "\n  ".join(f) for p, f in found.items())


def test_the_shop_floor_pages_fit_a_tablet_without_scrolling_sideways(
    city: City, browser: Any
) -> None:
    role = city.enterprise
    url = city.server.url
    slug = role.user
    paths = [
        "/", f"/enterprises/{slug}", f"/lines/{city.line}", f"/equipment/{city.equipment}",
        f"/advisor/lines/{city.line}", "/alarms",
    ]  # fmt: skip
    context = _context(browser, city, role, "zh", TABLET)  # the longer words of the two
    too_wide = {}
    try:
        page = context.new_page()
        trouble = BrowserTrouble()
        trouble.watch(page)
        for path in paths:
            assert page.goto(url + path).status == 200, path
            _wait_live_if_any(page)
            wide, client = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            if wide > client + 1:
                too_wide[path] = (wide, client)
        assert trouble.seen == []
    finally:
        context.close()
    assert too_wide == {}


def test_the_line_page_follows_the_line_without_a_reload(city: City, browser: Any) -> None:
    url = city.server.url
    context = _context(browser, city, city.enterprise, "en", DESKTOP)
    try:
        page = context.new_page()
        trouble = BrowserTrouble()
        trouble.watch(page)
        page.goto(f"{url}/lines/{city.line}")
        _wait_live_if_any(page)
        page.evaluate("() => { window.__notReloaded = true; }")
        before = page.evaluate(
            """() => ({
                stamp: document.querySelector('[data-live-stamp]').textContent,
                tiles: [...document.querySelectorAll('.flow a.tile')].map(t => t.className),
            })"""
        )
        assert before["tiles"], "the line page shows no equipment tiles"
        # The simulator streams every few seconds: the stamp, or a tile's state, moves on.
        page.wait_for_function(
            """b => document.querySelector('[data-live-stamp]').textContent !== b.stamp
                || [...document.querySelectorAll('.flow a.tile')]
                     .some((t, i) => t.className !== b.tiles[i])""",
            arg=before,
            timeout=LIVE_WAIT_MS,
        )
        assert page.evaluate("() => window.__notReloaded === true")
        for cls in page.locator(".flow a.tile").evaluate_all("ts => ts.map(t => t.className)"):
            assert any(c.startswith("state-") for c in cls.split()), cls
        assert trouble.seen == []
    finally:
        context.close()


BAD_PAGE = """<!doctype html><html><head><title>t</title>
<style>body { background: #fff; color: #111; } .faint { color: #bbb; }
.big { color: #949494; font-size: 24px; } .dark { background: #222; color: #444; }</style>
</head><body>
<h1>One</h1><h1>Two</h1>
<input id="nameless"><label for="named">Named</label><input id="named">
<label>Wrapped <select><option>x</option></select></label>
<textarea title="Titled"></textarea><input type="hidden" name="csrf">
<button></button><button aria-label="Close">×</button><a href="/x"></a><a href="/y">Y</a>
<img src="data:,"><img src="data:," alt="">
<table><tr><td>1</td></tr></table><table><tr><th>H</th></tr><tr><td>2</td></tr></table>
<p class="faint">faint text</p><p class="big">large grey</p><p>fine text</p>
<div class="dark"><span>dark on dark</span></div>
</body></html>"""


def test_the_checks_find_what_they_look_for(browser: Any) -> None:
    """The checks fail a page that breaks each rule once, and only where it breaks it."""
    page = browser.new_page()
    try:
        page.set_content(BAD_PAGE)
        found = problems(page)
        assert any("no lang" in p for p in found)
        assert any("2 <h1>" in p for p in found)
        unnamed = [p for p in found if p.startswith("form control")]
        assert len(unnamed) == 1
        assert "input#nameless" in unnamed[0]
        assert len([p for p in found if p.startswith("button without")]) == 1
        assert len([p for p in found if p.startswith("a without")]) == 1
        assert len([p for p in found if p.startswith("img without alt")]) == 1
        assert len([p for p in found if p.startswith("table with data")]) == 1
        contrast = [p for p in found if p.startswith("contrast")]
        assert len(contrast) == 2, contrast  # large grey text passes at 3:1 (#949494 is 3.03)
        assert any('"faint text"' in p for p in contrast)
        assert any('"dark on dark"' in p for p in contrast)
        assert skip_link_problems(page) == [
            "the first Tab lands on input#nameless, not the skip link to #main"
        ]
    finally:
        page.close()
