"""The pages in Simplified Chinese and English: the catalog holds every message, translated;
the language follows ?lang=, the cookie, the browser and the setting, in that order; and the
main pages in Chinese leave no English word untranslated, nor in English any Chinese."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from kiln.config import WebSettings
from kiln.runtime import Runtime
from kiln.web import i18n
from tests.web.conftest import NOW_MS, ClientFactory
from tests.web.test_i18n_text import untranslated, visible_text

ROOT = Path(__file__).parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
PLAN = "tech-reform-2018-2020"


def texts(value: object) -> tuple[str, ...]:
    """A message's id or translation as a tuple: one text, or singular and plural."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, (tuple, list)) else ()


def extracted(tmp_path: Path) -> set[tuple[str, ...]]:
    """The message ids scripts/i18n extracts now, from the templates and the web modules."""
    pot = tmp_path / "kiln.pot"
    extract = "from babel.messages.frontend import main; main()"
    args = ["-q", "extract", "-F", "babel.cfg", "-k", "N_", "-o", str(pot), "."]
    subprocess.run([sys.executable, "-c", extract, *args], cwd=ROOT, check=True)
    with pot.open("rb") as f:
        return {texts(m.id) for m in read_po(f) if m.id}


def test_every_message_of_the_pages_is_translated_in_the_chinese_catalog(tmp_path: Path) -> None:
    with i18n.catalog_path("zh").open("rb") as f:
        catalog = {texts(m.id): m for m in read_po(f) if m.id}
    wanted = extracted(tmp_path)
    assert len(wanted) > 300
    missing = sorted(m[0] for m in wanted if m not in catalog)
    assert missing == [], "run scripts/i18n and translate these"
    untranslated_ids = sorted(
        key[0]
        for key, m in catalog.items()
        if key in wanted and (m.fuzzy or not texts(m.string) or not all(texts(m.string)))
    )
    assert untranslated_ids == [], "translate these in kiln/locale/zh_Hans/LC_MESSAGES/kiln.po"


def test_every_translation_fills_the_same_placeholders_as_its_message() -> None:
    with i18n.catalog_path("zh").open("rb") as f:
        catalog = [m for m in read_po(f) if m.id and m.string]
    wrong = []
    for m in catalog:
        ids, strings = texts(m.id), texts(m.string)
        wanted = set(PLACEHOLDER.findall(ids[-1])) - {"num"}
        for s in strings:
            got = set(PLACEHOLDER.findall(s)) - {"num"}
            if got != wanted:
                wrong.append(ids[0])
    assert wrong == []


@pytest.mark.parametrize(
    ("asked", "cookie", "accept", "default", "chosen"),
    [
        ("en", "zh", "zh-CN", "zh", "en"),  # the explicit choice first
        (None, "en", "zh-CN,zh;q=0.9", "zh", "en"),  # then the cookie
        (None, None, "fr-FR,zh-TW;q=0.8,en;q=0.5", "en", "zh"),  # then the browser
        (None, None, "en-US,en;q=0.9", "zh", "en"),  # Playwright's Chromium
        (None, None, "de", "zh", "zh"),  # then the setting
        ("xx", "yy", None, "en", "en"),  # nonsense is ignored
    ],
)
def test_the_language_is_chosen_by_request_then_cookie_then_browser_then_setting(
    asked: str | None, cookie: str | None, accept: str | None, default: i18n.Language, chosen: str
) -> None:
    assert i18n.choose_language(asked, cookie, accept, default) == chosen


async def test_a_browser_asking_for_chinese_gets_the_city_page_in_chinese(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert '<html lang="zh-Hans">' in r.text
    assert "全市概览" in r.text
    assert "设备当前状态" in r.text
    assert "City overview" not in visible_text(r.text, "zh")
    assert "艾克米汽配" in r.text  # the enterprise by its Chinese name
    words = re.search(r'id="kiln-words">(.*?)</script>', r.text)
    assert words, "the words for kiln.js"
    assert '"running":"运行"' in words.group(1)
    assert '"locale":"zh-Hans"' in words.group(1)


async def test_the_language_switch_keeps_the_choice_in_a_cookie(client: httpx.AsyncClient) -> None:
    r = await client.get("/kpi?lang=zh", headers={"Accept-Language": "en"}, follow_redirects=True)
    assert '<html lang="zh-Hans">' in r.text
    assert client.cookies.get("lang") == "zh"
    again = await client.get("/alarms", headers={"Accept-Language": "en-US"})
    assert '<html lang="zh-Hans">' in again.text
    assert "报警" in again.text
    switch = re.search(
        r'<nav class="[^"]*lang-switch" aria-label="语言">(.*?)</nav>', again.text, re.S
    )
    assert switch, "the switch is a labelled navigation"
    assert 'href="/alarms?lang=en" lang="en" hreflang="en">English</a>' in switch.group(1)
    assert 'aria-current="true">中文</a>' in switch.group(1)
    back = await client.get("/alarms?lang=en")
    assert '<html lang="en">' in back.text
    assert client.cookies.get("lang") == "en"


async def test_without_a_choice_or_a_browser_language_the_setting_decides(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    assert '<html lang="en">' in (await client.get("/")).text  # the tests' setting
    runtime.settings = runtime.settings.model_copy(
        update={"web": WebSettings(default_language="zh")}
    )
    assert '<html lang="zh-Hans">' in (await client.get("/")).text


async def test_chinese_pages_show_money_dates_and_percentages_in_the_chinese_style(
    clients: ClientFactory,
) -> None:
    async with clients("analyst") as c:
        html = (await c.get(f"/plan/{PLAN}?lang=zh")).text
    text = visible_text(html, "zh")
    cards = visible_text(html.split('id="targets-title"')[1].split('id="tables-title"')[0], "zh")
    assert re.search(r"\d+(\.\d)?亿元", cards), "money in 亿元"
    assert "yuan" not in cards
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", text), "dates as yyyy-MM-dd"
    assert re.search(r"\d\.\d%", text), "87.3%, no space"
    assert " %" not in text


def names_in(rt: Runtime) -> set[str]:
    """The names of things that stay as they were entered, in whichever language."""
    cat = rt.catalog
    out: set[str] = set()
    for e in cat.enterprises.values():
        out |= {e.name, e.name_zh or "", e.slug}
    for s in cat.sites.values():
        out |= {s.name, s.slug}
    for ln in cat.lines.values():
        out |= {ln.name, ln.area or "", ln.slug}
    for st in cat.stations.values():
        out |= {st.name, st.slug}
    for q in cat.equipment.values():
        out |= {q.name, q.slug, q.template}
    for sig in cat.signals.values():
        out |= {sig.name, sig.unit or ""}
    out |= {"die jam", "starved", "acme", "analyst", "cityadmin", "huamei"}  # reasons, users
    for plan in rt.plan.plans():
        out |= {plan.issuer or "", plan.key}
        out |= {t.key for t in plan.targets}
        view = rt.plan.dashboard(plan.key, cat, NOW_MS, as_of_year=None)
        out |= {f.note or "" for f in view.published}  # published figures' notes, as found
        out |= {f.source.split("/")[2] for f in view.published if f.source.startswith("http")}
    return out | {address for _, address in MAIN_PAGES}  # named by the not-found page


MAIN_PAGES: list[tuple[str | None, str]] = [  # (user, address); None: signed out
    ("acme", "/"),
    ("acme", "/enterprises/acme-auto"),
    ("acme", "/equipment/{press}"),
    ("acme", "/enterprises/acme-auto/kpi"),
    ("analyst", "/city/kpi"),
    ("analyst", f"/plan/{PLAN}"),
    ("acme", "/filings"),
    ("cityadmin", "/filings"),
    ("acme", "/alarms"),
    ("acme", "/alarms/rules"),
    ("analyst", "/alarms"),
    ("cityadmin", "/connectivity"),
    (None, "/sign-in"),
    ("acme", "/no-such-page"),
]


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_main_pages_leave_nothing_in_the_other_language(
    clients: ClientFactory, runtime: Runtime, lang: str
) -> None:
    press = runtime.catalog.equipment_id("acme-auto", "press-1")
    names = names_in(runtime)
    left: dict[str, list[str]] = {}
    for user in dict(MAIN_PAGES):  # one session per user: sign-ins are rate-limited
        async with clients(user) as c:
            for address in [a for u, a in MAIN_PAGES if u == user]:
                r = await c.get(address.format(press=press), params={"lang": lang})
                assert r.status_code in (200, 404), address
                words = untranslated(visible_text(r.text, lang), lang, names)
                if words:
                    left[f"{user} {address}"] = sorted(set(words))
    assert left == {}, "\n".join(f"{k}: {v}" for k, v in left.items())


def test_every_template_imports_its_words_with_context() -> None:
    """A module of words imported without context is cached by Jinja in the language it was
    first rendered in, and shown in it to everyone after."""
    templates = ROOT / "kiln" / "web" / "templates"
    cached = [
        f"{path.name}: {line.strip()}"
        for path in sorted(templates.glob("*.html"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"{%-?\s*(import|from)\s", line) and "with context" not in line
    ]
    assert cached == []
