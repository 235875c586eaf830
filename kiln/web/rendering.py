"""The Jinja environment of the pages: templates folder, filters for times and numbers, JSON."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import kiln
from kiln.auth.principal import Principal
from kiln.web import i18n
from kiln.web.snapshots import STATE_ORDER

# Foshan keeps China Standard Time; every time on a page is shown there, whatever the browser's.
CITY_TZ = ZoneInfo("Asia/Shanghai")
TEMPLATES_DIR = Path(__file__).parent / "templates"


def local_time(ts_ms: int | None, fmt: str = "%H:%M:%S") -> str:
    """A UTC epoch-ms time as shown on the pages (China Standard Time); '–' for none.

    >>> local_time(1_764_000_000_000)
    '00:00:00'
    >>> local_time(1_764_000_000_000, "%Y-%m-%d %H:%M")
    '2025-11-25 00:00'
    """
    if ts_ms is None:
        return "–"
    return datetime.fromtimestamp(ts_ms / 1000, tz=CITY_TZ).strftime(fmt)


def format_value(value: float | None, decimals: int = 2) -> str:
    """A measured value with the resolution its device reports; '–' for none.

    >>> format_value(8120.0, 0)
    '8,120'
    >>> format_value(None)
    '–'
    """
    if value is None or value != value:  # NaN
        return "–"
    return i18n.format_number(value, decimals)


def _dumps(obj: Any, **_: Any) -> str:
    # orjson writes NaN as null, which JSON.parse accepts; Jinja's tojson then escapes <, > and &.
    return orjson.dumps(obj).decode()


def build_templates() -> Jinja2Templates:
    """The page templates, with autoescaping, strict undefined names and Kiln's filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_function"] = _dumps
    env.filters["local_time"] = local_time
    env.filters["value"] = format_value
    env.filters["number"] = i18n.format_number
    env.filters["percent"] = i18n.format_percent
    env.filters["money"] = i18n.format_money
    env.filters["date"] = i18n.format_date
    env.filters["datetime"] = i18n.format_datetime
    env.filters["pick"] = i18n.pick
    env.globals["kiln_version"] = kiln.__version__
    # Message lookup for the pages, in the request's language (kiln/web/i18n.py):
    # `_("%(n)s alarms open", n=count)` and `ngettext(one, many, n)`.
    env.globals["_"] = i18n.template_gettext
    env.globals["gettext"] = i18n.template_gettext
    env.globals["ngettext"] = i18n.template_ngettext
    env.globals["other_name"] = i18n.other_name
    env.globals["kpi_reason"] = i18n.kpi_reason
    env.globals["language_url"] = i18n.language_url
    env.globals["current_language"] = i18n.current_language
    env.globals["html_lang"] = lambda: i18n.HTML_LANG[i18n.current_language()]
    return Jinja2Templates(env=env)


TEMPLATES = build_templates()


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    who: Principal | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A page from its template, with who is signed in (for the header) and the state order."""
    shown = None
    if who is not None:
        shown = {"name": who.name, "role": who.role.value, "csrf": who.csrf or ""}
    full = {"viewer": shown, "states": STATE_ORDER, **context}
    return TEMPLATES.TemplateResponse(request, name, full, status_code=status_code)
