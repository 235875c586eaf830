"""The pages' languages: Simplified Chinese and English, chosen per request, and the words and
number, date and money formats of each.

English is the source language: the templates and page modules say their words in English
through `_()`, and `kiln/locale/zh_Hans/LC_MESSAGES/kiln.po` holds the Chinese. The catalog is
read from the .po at first use (no compile step at install). Which language a request gets is
decided once, by `LanguageMiddleware`, and kept in a context variable that the template
functions read, so a page module never passes the language around.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import datetime
from functools import cache
from gettext import NullTranslations
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from markupsafe import Markup, escape
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kiln.plan.wording import format_money as plan_money

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DOMAIN = "kiln"
LOCALE_DIR = Path(__file__).parents[1] / "locale"
# The catalog's folder: the script, not a country, since the same words serve the mainland and
# Singapore. `<html lang>` and Babel's number formats use the same tag.
CATALOGS: dict[Language, str] = {"zh": "zh_Hans"}
HTML_LANG: dict[Language, str] = {"zh": "zh-Hans", "en": "en"}
BABEL_LOCALE: dict[Language, str] = {"zh": "zh_Hans_CN", "en": "en"}
LANG_COOKIE = "lang"
COOKIE_MAX_AGE_S = 365 * 86_400
CITY_TZ = ZoneInfo("Asia/Shanghai")

_language: ContextVar[Language] = ContextVar("kiln_language", default="en")


def N_(text: str) -> str:
    """Mark a module-level word for the catalog; it is translated where it is shown."""
    return text


# -- which language ----------------------------------------------------------------------------


def as_language(text: str | None) -> Language | None:
    """A language tag (zh, zh-CN, zh-Hans-CN, en-US, EN...) as one of ours, or None.

    >>> as_language("zh-Hans-CN"), as_language("en_GB"), as_language("fr"), as_language(None)
    ('zh', 'en', None, None)
    """
    if not text:
        return None
    primary = text.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> Language | None:
    """The language of ours that an Accept-Language header prefers most, or None.

    >>> from_accept_language("fr-FR,zh-CN;q=0.9,en;q=0.8")
    'zh'
    >>> from_accept_language("en-US,en;q=0.9"), from_accept_language("de, fr;q=0.5")
    ('en', None)
    >>> from_accept_language("zh;q=0, en;q=0.1")
    'en'
    """
    if not header:
        return None
    best: tuple[float, int, Language] | None = None
    for place, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            key, _, value = p.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        lang = as_language(tag)
        if lang is None or q <= 0:
            continue
        if best is None or (q, -place) > (best[0], -best[1]):
            best = (q, place, lang)
    return best[2] if best else None


def choose_language(
    asked: str | None, cookie: str | None, accept: str | None, default: Language
) -> Language:
    """The page language: an explicit `?lang=`, then the `lang` cookie, then the browser's
    Accept-Language, then the setting `web.default_language`.

    >>> choose_language(None, "en", "zh-CN", "zh"), choose_language("zh", "en", None, "en")
    ('en', 'zh')
    >>> choose_language(None, None, "zh-TW,en;q=0.5", "en"), choose_language(None, "xx", None, "zh")
    ('zh', 'zh')
    """
    return as_language(asked) or as_language(cookie) or from_accept_language(accept) or default


def current_language() -> Language:
    """The language of the request being answered (English outside any request)."""
    return _language.get()


def use_language(lang: Language) -> Any:
    """Make lang the current language; returns the token `reset_language` takes."""
    return _language.set(lang)


def reset_language(token: Any) -> None:
    """Put back the language that was current before `use_language`."""
    _language.reset(token)


class LanguageMiddleware:
    """ASGI middleware: chooses each request's language and, when `?lang=` asked for one,
    keeps it in the `lang` cookie so the next pages follow."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request in its language."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        asked = as_language((query.get("lang") or [""])[0])
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:
            cookies = SimpleCookie()
        cookie = cookies[LANG_COOKIE].value if LANG_COOKIE in cookies else None
        lang = choose_language(asked, cookie, headers.get("accept-language"), _default(scope))
        token = use_language(lang)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and asked and asked != cookie:
                value = f"{LANG_COOKIE}={asked}; Path=/; Max-Age={COOKIE_MAX_AGE_S}; SameSite=Lax"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", value.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            reset_language(token)


def _default(scope: Scope) -> Language:
    app = scope.get("app")
    runtime = getattr(getattr(app, "state", None), "runtime", None)
    settings = getattr(runtime, "settings", None)
    web = getattr(settings, "web", None)
    return cast(Language, getattr(web, "default_language", "zh"))


# -- words -------------------------------------------------------------------------------------


def catalog_path(lang: Language) -> Path:
    """Where a language's catalog is kept (English has none: it is the source)."""
    return LOCALE_DIR / CATALOGS[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: Language) -> NullTranslations:
    """The messages of a language, read from its .po; fuzzy entries are left out."""
    if lang not in CATALOGS:
        return NullTranslations()
    with catalog_path(lang).open("rb") as f:
        catalog = read_po(f, locale=CATALOGS[lang], domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(text: str, /, **values: Any) -> str:
    """A message in the current language, with `%(name)s` filled from values."""
    said = translations(current_language()).gettext(text)
    return said % values if values else said


def ngettext(one: str, many: str, n: int, /, **values: Any) -> str:
    """A message with a count in the current language; `%(num)s` is the count."""
    said = translations(current_language()).ngettext(one, many, n)
    return said % {"num": n, **values}


def template_gettext(text: str, /, **values: Any) -> Markup:
    """`_()` in a template: the message as markup (translators may use <strong> and <code>),
    with the values escaped, as Jinja's own new-style gettext does."""
    said = Markup(translations(current_language()).gettext(text))
    return said % values if values else said


def template_ngettext(one: str, many: str, n: int, /, **values: Any) -> Markup:
    """`ngettext()` in a template, escaped like `template_gettext`."""
    said = translations(current_language()).ngettext(one, many, n)
    return Markup(said) % {"num": n, **values}


def pick(item: Any, field: str = "name") -> str:
    """A bilingual record's `<field>_zh` in Chinese (when it has one), else its `<field>_en`
    (or plain `<field>`): names of districts, industries, plans, indicators, templates."""
    get = item.get if isinstance(item, dict) else lambda k, d=None: getattr(item, k, d)
    if current_language() == "zh" and get(f"{field}_zh"):
        return str(get(f"{field}_zh"))
    return str(get(f"{field}_en") or get(field) or "")


def other_name(text: str | None) -> Markup:
    """A record's Chinese name beside its English one, on English pages only (on Chinese
    pages the Chinese name is the name)."""
    if not text or current_language() == "zh":
        return Markup("")
    return Markup(' <span class="zh" lang="zh-Hans">%s</span>') % escape(text)


# -- numbers, dates, money ---------------------------------------------------------------------


def _babel_locale() -> str:
    return BABEL_LOCALE[current_language()]


def format_number(value: float | None, decimals: int = 0) -> str:
    """A number with the locale's grouping and `decimals` places; '–' for none.

    >>> format_number(8120.456, 1), format_number(None), format_number(float("nan"))
    ('8,120.5', '–', '–')
    """
    if value is None or not math.isfinite(value):
        return "–"
    places = "0" * decimals
    pattern = f"#,##0.{places}" if decimals else "#,##0"
    return format_decimal(value, format=pattern, locale=_babel_locale())


def format_percent(value: float | None, decimals: int = 1, *, ratio: bool = False) -> str:
    """A percentage (given in percent, or as a ratio 0..1 with ratio=True); '–' for none.
    English puts a narrow space before the sign, Chinese none.

    >>> format_percent(4.4844), format_percent(0.873, ratio=True), format_percent(None)
    ('4.5\u202f%', '87.3\u202f%', '–')
    >>> token = use_language("zh")
    >>> format_percent(0.873, 0, ratio=True)
    '87%'
    >>> reset_language(token)
    """
    if value is None or not math.isfinite(value):
        return "–"
    space = "" if current_language() == "zh" else "\u202f"
    return format_number(100 * value if ratio else value, decimals) + space + "%"


def format_money(value_yuan: float | None) -> str:
    """Money the way the locale's readers count it: 亿元 / 万元 in Chinese; bn / mn yuan in
    English, as the plan's report writes it (kiln/plan/wording.py); '–' for none.

    >>> format_money(1.2e10), format_money(35_000.0), format_money(None)
    ('12 bn yuan', '35,000 yuan', '–')
    >>> token = use_language("zh")
    >>> format_money(1.2e10), format_money(35_000.0), format_money(980.0), format_money(7.89e10)
    ('120亿元', '3.5万元', '980元', '789亿元')
    >>> reset_language(token)
    """
    if value_yuan is None or not math.isfinite(value_yuan):
        return "–"
    if current_language() != "zh":
        return plan_money(value_yuan, "en")
    sign, v = ("-" if value_yuan < 0 else ""), abs(value_yuan)
    for unit, name in ((1e12, "万亿元"), (1e8, "亿元"), (1e4, "万元")):
        if round(v / unit, 1) >= 1:
            return f"{sign}{_trim(f'{v / unit:.1f}')}{name}"
    return f"{sign}{v:.0f}元"


def _trim(number: str) -> str:
    return number.removesuffix(".0")


def _local(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz=CITY_TZ)


def format_date(ts_ms: int | None) -> str:
    """A day as yyyy-MM-dd in China Standard Time, in either language.

    >>> format_date(1_764_000_000_000)
    '2025-11-25'
    """
    return "–" if ts_ms is None else _local(ts_ms).strftime("%Y-%m-%d")


def format_datetime(ts_ms: int | None, seconds: bool = False) -> str:
    """A moment as yyyy-MM-dd HH:mm(:ss) in China Standard Time, in either language."""
    if ts_ms is None:
        return "–"
    return _local(ts_ms).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def words(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Translate the values of (key, English) pairs: the words a script or a table is handed."""
    return {k: gettext(v) for k, v in pairs}


# Why a KPI is undefined, as the KPI engine words it (kiln/kpi): fixed reasons are looked up as
# they are; the ones with numbers in them by pattern.
KPI_REASONS = (
    N_("undefined"),
    N_("no planned busy time (PBT = 0)"),
    N_("no production time (APT = 0)"),
    N_("nothing produced (PQ = 0)"),
    N_("no calendar time with data"),
    N_("neither production nor delay time (APT + ADET = 0)"),
    N_("no busy time (AUBT = 0)"),
    N_("no processing time (AUPT = 0)"),
    N_("no planned busy time in the calendar"),
    N_("no robot with planned operation time"),
    N_("no failure"),
    N_("no energy reading"),
    N_("no good unit (GQ = 0)"),
    # Flags on a KPI that is defined but doubtful.
    N_("above 1: ideal cycle time too slow or counts doubled"),
    N_("negative: more output than the ideal cycle allows (see effectiveness)"),
)
_REASON_PATTERNS = (
    (
        re.compile(r"no ideal cycle time \(PRI\) for (?P<n>[\d.]+) of (?P<m>[\d.]+) units"),
        N_("no ideal cycle time (PRI) for %(n)s of %(m)s units"),
    ),
    (
        re.compile(r"no failure in (?P<n>[\d.]+) h of operating time"),
        N_("no failure in %(n)s h of operating time"),
    ),
    (
        re.compile(
            r"suppressed: fewer than (?P<n>\d+) enterprises \(statistical disclosure control\)"
        ),
        N_("suppressed: fewer than %(n)s enterprises (statistical disclosure control)"),
    ),
)


def kpi_reason(text: str | None) -> str:
    """Why a KPI is undefined, in the current language ('undefined' when no reason is given).

    >>> token = use_language("zh")
    >>> kpi_reason("no failure in 7.5 h of operating time") == gettext(
    ...     "no failure in %(n)s h of operating time", n="7.5")
    True
    >>> reset_language(token)
    """
    if not text:
        return gettext("undefined")
    for pattern, message in _REASON_PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return gettext(message, **found.groupdict())
    return gettext(text)


def language_url(request: Any, lang: Language) -> str:
    """The address of the page the request asked for, in another language (`?lang=`)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*query, ('lang', lang)])}"
