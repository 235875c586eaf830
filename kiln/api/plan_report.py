"""The city's yearly report on its industry and the action plan, as Markdown, HTML or PDF
(city roles: it is written from aggregates, with disclosure control applied)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from kiln.api.deps import AccessDep, RuntimeDep
from kiln.api.errors import ERROR_RESPONSES
from kiln.auth.roles import Permission
from kiln.errors import KilnError
from kiln.plan_service.report import build_report
from kiln.plan_service.report_render import MEDIA_TYPES, check_format, file_name, render
from kiln.plan_service.report_text import check_lang, check_year

router = APIRouter(prefix="/api/v1", tags=["plan"], responses=ERROR_RESPONSES)
# Where each of the report's own error locations is in this request.
WHERE = {
    "year": "query: year",
    "lang": "query: lang",
    "format": "query: format",
    "plan": "path: key",
}
# The HTML edition styles itself inline and runs no script.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


@router.get(
    "/plans/{key}/report",
    summary="The city's yearly report on its industry and the plan (city roles)",
    response_class=Response,
    responses={
        200: {
            "description": "the report, as an attachment",
            "content": {t.split(";")[0]: {} for t in MEDIA_TYPES.values()},
        }
    },
)
def report(
    key: str,
    rt: RuntimeDep,
    access: AccessDep,
    year: Annotated[int, Query(ge=2000, le=2100, description="a year that is over")],
    lang: Annotated[str, Query(max_length=8, description="en or zh")] = "en",
    fmt: Annotated[str, Query(alias="format", max_length=8, description="html, pdf or md")] = (
        "html"
    ),
) -> Response:
    """Headline facts with their sources, the plan's targets as known at the end of the year,
    the tables by district and industry (cells withheld by disclosure control) and charts."""
    access.require(Permission.READ_CITY_AGGREGATES)
    now_ms = rt.clock.now_ms()
    try:
        check_format(fmt)
        check_lang(lang)
        check_year(year, now_ms)
        made = build_report(rt.plan, access.catalog, now_ms, year=year, lang=lang, plan_key=key)
        body = render(made, fmt)
    except KilnError as err:
        raise type(err)(err.what, where=WHERE.get(err.where, err.where)) from None
    headers = {"content-disposition": f'attachment; filename="{file_name(made, fmt)}"'}
    if fmt == "html":
        headers["content-security-policy"] = REPORT_CSP
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)
