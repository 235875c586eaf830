"""The yearly report: the seeded 2017 figures in words, filed figures with their coverage,
withheld cells that stay withheld, the plan's targets, charts, PDF, and the API route."""

from __future__ import annotations

import re
import sys
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from kiln.auth.roles import Role
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput, NotFound, Unavailable
from kiln.plan.filings import Filing, Period
from kiln.plan.indicators import Indicator
from kiln.plan.progress import format_money
from kiln.plan_service.report import build_report
from kiln.plan_service.report_model import Basis, Report
from kiln.plan_service.report_render import district_bars, render
from kiln.plan_service.tables import Cell, Coverage, IndicatorTable
from kiln.runtime import Runtime
from kiln.server import create_app
from tests.api.conftest import issue_token
from tests.conftest import NOW_MS

PLAN = "tech-reform-2018-2020"
BN = 1e9
EN_2017 = (
    "In 2017 the city generated 2.24 trillion yuan of total industrial output value. "
    "The output value of advanced manufacturing grew by 9.8 % and that of high-tech "
    "manufacturing by 16.3 %."
)
ZH_2017 = (
    "2017年，全市实现工业总产值2.24万亿元",
    "先进制造业和高技术制造业产值分别增长9.8%和16.3%。",
)
# Four more enterprises beside small_city's two; huamei-ceramics does not file.
MORE = (
    ("nanfeng-robots", "shunde", "3491"),
    ("meidi-1", "shunde", "3852"),
    ("meidi-2", "shunde", "3854"),
    ("lingnan-electronics", "nanhai", "3982"),
)
FILED = {  # enterprise: {year: figures}
    "acme-auto": {2018: {"output_value": 1.0 * BN}, 2019: {"output_value": 1.1 * BN}},
    "nanfeng-robots": {
        2018: {"output_value": 0.8 * BN, "robot_output_value": 0.8 * BN},
        2019: {"output_value": 0.9 * BN, "robot_output_value": 0.9 * BN},
    },
    "meidi-1": {2018: {"output_value": 1.4 * BN}, 2019: {"output_value": 1.5 * BN}},
    "meidi-2": {2018: {"output_value": 1.2 * BN}, 2019: {"output_value": 1.3 * BN}},
    "lingnan-electronics": {2018: {"output_value": 0.6 * BN}, 2019: {"output_value": 0.7 * BN}},
}
# 2019 figures the tables must withhold: one enterprise's, or two's (Nanhai, Shunde's
# appliance makers), or what the published total would give away (Shunde).
SECRETS = (1.1 * BN, 0.9 * BN, 1.5 * BN, 1.3 * BN, 0.7 * BN, 1.8 * BN, 2.8 * BN, 3.7 * BN)


def write_filings(
    runtime: Runtime,
    filed: dict[str, dict[int, dict[str, float]]],
    more: tuple[tuple[str, str, str], ...] = MORE,
) -> None:
    """Register more enterprises and store annual filings for them."""
    doc = {"enterprises": [{"slug": s, "district": d, "industry": c} for s, d, c in more]}
    ids = runtime.store.import_assets(doc).enterprise_by_slug
    runtime.plan.plans_store.write_filings(
        [
            Filing(ids[slug], Period(year), figures, filed_ms=NOW_MS)
            for slug, years in filed.items()
            for year, figures in years.items()
        ]
    )


def report(runtime: Runtime, year: int, lang: str = "en", plan: str | None = None) -> Report:
    return build_report(runtime.plan, runtime.catalog, NOW_MS, year=year, lang=lang, plan_key=plan)


def text_of(runtime: Runtime, year: int, lang: str, fmt: str) -> str:
    return render(report(runtime, year, lang), fmt).decode()


def squeeze(text: str) -> str:
    return "".join(text.split())


def pdf_text(pdf: bytes) -> str:
    """The text a WeasyPrint PDF shows, in order: each font's ToUnicode map applied to the
    glyph strings shown in that font (enough for these tests, not a PDF reader)."""
    objects: dict[int, bytes] = {}
    for num, body in re.findall(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S):
        head, _, stream = body.partition(b"stream")
        data = stream.strip(b"\r\n").removesuffix(b"endstream").rstrip(b"\r\n")
        inflated = zlib.decompress(data) if b"FlateDecode" in head else data
        objects[int(num)] = head + b"\n" + inflated
        if b"/ObjStm" in head:  # compressed objects: "num offset ..." pairs, then bodies
            first = int(re.search(rb"/First (\d+)", head).group(1))  # type: ignore[union-attr]
            pairs = [int(x) for x in inflated[:first].split()]
            starts = [*pairs[1::2], len(inflated) - first]
            for k, n in enumerate(pairs[0::2]):
                objects[n] = inflated[first + starts[k] : first + starts[k + 1]]
    maps: dict[int, dict[str, str]] = {}
    for num, text in objects.items():
        ref = re.search(rb"/ToUnicode (\d+) 0 R", text)
        if ref:
            cmap = objects[int(ref.group(1))]
            blocks = b"".join(re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S))
            pairs = re.findall(rb"<([0-9a-f]+)>\s*<([0-9a-f]+)>", blocks)
            maps[num] = {
                g.decode(): bytes.fromhex(u.decode()).decode("utf-16-be") for g, u in pairs
            }
    names = {
        name.decode(): maps[int(ref)]
        for text in objects.values()
        for name, ref in re.findall(rb"/([\w+-]+) (\d+) 0 R", text)
        if int(ref) in maps
    }
    out, font = [], {}
    for text in objects.values():
        for name, shown, single in re.findall(
            rb"/([\w+-]+) [\d.]+ Tf|\[([^\]]*)\]\s*TJ|<([0-9a-f]+)>\s*Tj", text
        ):
            if name:
                font = names.get(name.decode(), {})
                continue
            for h in re.findall(rb"<([0-9a-f]+)>", shown) or [single]:
                out += [font.get(h[i : i + 4].decode(), "?") for i in range(0, len(h), 4)]
            out.append("\n")
    return "".join(out)


# -- the narrative -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_the_2017_report_says_the_published_figures_in_english(runtime: Runtime, fmt: str) -> None:
    assert EN_2017 in text_of(runtime, 2017, "en", fmt)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_the_2017_report_says_the_published_figures_in_chinese(runtime: Runtime, fmt: str) -> None:
    text = text_of(runtime, 2017, "zh", fmt)
    for sentence in ZH_2017:
        assert sentence in text


def test_the_plan_is_issued_by_the_bureau_named_in_each_language(runtime: Runtime) -> None:
    assert "佛山市经济和信息化局" in text_of(runtime, 2019, "zh", "md")
    assert "Foshan Economy and Information Technology Bureau" in text_of(runtime, 2019, "en", "md")


def test_each_fact_says_where_it_comes_from_and_a_missing_one_is_missing(
    runtime: Runtime,
) -> None:
    r = report(runtime, 2017)
    facts = {f.key: f for f in r.facts}
    total = facts["total_output"]
    assert (total.level.basis, total.level.value, total.level.tag) == (
        Basis.PUBLISHED, 2.24e12, "published [1]"
    )  # fmt: skip
    assert r.notes[0].url.startswith("https://global.chinadaily.com.cn/")
    # No 2016 figure: the growth is missing, and said to be.
    assert total.growth is not None
    assert total.growth.basis is Basis.MISSING
    assert "No figure for the growth of total industrial output value in 2017." in r.summary[0]
    # The plan's own targets imply the robot makers' 2017 output: 120 bn / 1.15^3.
    robots = facts["robot_ie_output"].level
    assert (robots.basis, robots.text, robots.tag) == (
        Basis.IMPLIED, "78.9 bn yuan", "implied by the plan's targets"
    )  # fmt: skip
    assert facts["robots_installed"].level.basis is Basis.MISSING
    md = render(r, "md").decode()
    assert "No figure for industrial robots in use in 2017." in md
    assert "2.24 trillion yuan (published [1])" in md


def test_a_year_with_filings_reports_the_filed_figure_with_its_coverage(
    runtime: Runtime,
) -> None:
    write_filings(runtime, FILED)
    en = text_of(runtime, 2019, "en", "md")
    assert (
        "Total industrial output value in 2019: 5.5 bn yuan, as filed by 5 of the 6 "
        "registered enterprises." in en
    )
    # Growth like for like: the same five enterprises filed 5.0 bn yuan for 2018.
    assert "Total industrial output value grew by 10.0 % on 2018 (like for like: the 5" in en
    assert "Enterprises that filed statistics for 2019: 5 of 6 registered." in en
    zh = text_of(runtime, 2019, "zh", "html")
    assert "2019年工业总产值55.0亿元（登记企业6家中5家填报）。" in zh
    assert "工业总产值比上年增长10.0%" in zh


def test_a_published_figure_wins_over_the_filings(runtime: Runtime) -> None:
    write_filings(runtime, {"acme-auto": {2017: {"output_value": 3.0 * BN}}})
    total = {f.key: f for f in report(runtime, 2017).facts}["total_output"].level
    assert (total.basis, total.value) == (Basis.PUBLISHED, 2.24e12)


def test_withheld_cells_say_so_and_their_values_appear_nowhere(runtime: Runtime) -> None:
    write_filings(runtime, FILED)
    r = report(runtime, 2019)
    nanhai = r.tables[0].row_totals[1]
    assert r.tables[0].indicator.key == "total_output"
    assert (nanhai.value, nanhai.why) == (None, "fewer_enterprises")
    rules = (("en", "withheld *", "fewer than 3 enterprises"), ("zh", "不予公布 *", "少于3家"))
    for lang, word, rule in rules:
        for fmt in ("md", "html"):
            text = text_of(runtime, 2019, lang, fmt)
            assert word in text
            assert rule in text
            for secret in SECRETS:
                money = re.escape(format_money(secret, lang))
                assert not re.search(rf"(?<![\d.,]){money}", text), (lang, fmt, secret)
    # One robot maker: its output is withheld in the facts and behind the plan's targets.
    md = text_of(runtime, 2019, "en", "md")
    assert "Output value of robots and intelligent equipment in 2019 is withheld" in md
    assert "The figures behind this target are withheld (see note *)." in md


# -- the plan, charts, PDF -----------------------------------------------------------------


def test_the_plan_section_gives_each_target_with_its_status_and_reason(
    runtime: Runtime,
) -> None:
    (plan,) = report(runtime, 2020).plans
    assert plan.key == PLAN
    first = plan.targets[0]
    assert first.status_text == "Missed"
    assert first.reason.startswith("Missed: 90 bn yuan in 2020 against a floor of 120 bn yuan.")
    zh = text_of(runtime, 2020, "zh", "md")
    assert "未完成：2020年为900.0亿元，目标不低于1200亿元。" in zh
    # Before the plan started there is no plan to report on, unless one is asked for.
    assert report(runtime, 2017).plans == ()
    ahead = report(runtime, 2017, plan=PLAN).plans[0]
    assert "The plan starts in 2018" in ahead.about


def test_the_target_chart_draws_the_trajectory_figures_and_projection_band(
    runtime: Runtime,
) -> None:
    robots = {"output_value": 30 * BN, "robot_output_value": 28 * BN}
    makers = (("rb-1", "shunde", "3491"), ("rb-2", "shunde", "3492"), ("rb-3", "shunde", "3493"))
    filed = {
        slug: {2018: robots, 2019: {k: v * 1.1 for k, v in robots.items()}} for slug, _, _ in makers
    }
    write_filings(runtime, filed, makers)
    line = report(runtime, 2019).plans[0].targets[0]
    assert line.chart is not None
    assert [(y, s.value) for y, _, s in line.chart.actuals] == [
        (2017, "implied"),
        (2018, "filed"),
        (2019, "filed"),
    ]
    html = text_of(runtime, 2019, "en", "html")
    assert html.count("<svg") == 3  # the target's path; output and robot output by district
    assert "<polygon" in html  # the band to 2020
    assert "<script" not in html
    assert text_of(runtime, 2019, "en", "md").count("<svg") == 0


def test_a_withheld_district_gets_no_bar() -> None:
    ind = Indicator("total_output", "Total output", "工业总产值", "yuan", numerator="output_value")
    rows = (
        Cell(None, "fewer_enterprises", None),
        Cell(3.0 * BN, "published", 4),
        Cell(0.0, "empty", 0),
        Cell(1.5 * BN, "published", 3),
        Cell(None, "secondary", None),
    )
    table = IndicatorTable(
        ind, 2019, ("a", "b", "c", "d", "e"), (), (), rows, (), Cell(4.5 * BN, "", 7),
        Coverage(7, 7, "2019-12", 0.0),
    )  # fmt: skip
    chart = district_bars(table, "en")
    assert chart is not None
    bars = chart["bars"]
    assert [b["withheld"] for b in bars] == [True, False, False, False, True]
    assert [b["height"] for b in bars][:2] == [0.0, pytest.approx(2 * bars[3]["height"])]
    assert bars[0]["text"] == "withheld *"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_pdf_is_a_pdf_with_the_figures(runtime: Runtime, lang: str) -> None:
    pdf = render(report(runtime, 2017, lang), "pdf")
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf)
    assert text.count("\n") > 20
    expected = [EN_2017] if lang == "en" else list(ZH_2017)
    for sentence in expected:
        assert squeeze(sentence) in squeeze(text)


def test_pdf_without_weasyprint_says_what_to_install(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = report(runtime, 2017)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if it could not be imported
    with pytest.raises(Unavailable) as caught:
        render(made, "pdf")
    assert "apt-get install libpango-1.0-0 libpangoft2-1.0-0" in str(caught.value)
    assert "--format html" in str(caught.value)


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "where", "words"),
    [
        ({"year": 2025}, BadInput, "year", "2025 is out of range"),
        ({"year": 2009}, BadInput, "year", "2010-2024"),
        ({"year": 2017, "lang": "fr"}, BadInput, "lang", "use en or zh"),
        ({"year": 2017, "plan_key": "nope"}, NotFound, "plan", "no plan 'nope'"),
    ],
)
def test_bad_input_is_named(
    runtime: Runtime, kwargs: dict[str, object], error: type[Exception], where: str, words: str
) -> None:
    catalog: AssetCatalog = runtime.catalog
    with pytest.raises(error) as caught:
        build_report(runtime.plan, catalog, NOW_MS, **kwargs)  # type: ignore[arg-type]
    assert caught.value.where == where  # type: ignore[attr-defined]
    assert words in str(caught.value)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(BadInput, match="'docx' is not a format of the report"):
        render(None, "docx")  # type: ignore[arg-type]


# -- the API -------------------------------------------------------------------------------


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    """The app as create_app builds it."""
    return create_app(runtime, manage_runtime=False)


@pytest.fixture
async def analyst(runtime: Runtime, app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A city analyst's client."""
    headers = {"authorization": f"Bearer {issue_token(runtime, Role.CITY_ANALYST)}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://kiln.test", headers=headers
    ) as c:
        yield c


URL = f"/api/v1/plans/{PLAN}/report"


async def test_the_api_report_is_for_city_roles(runtime: Runtime, app: FastAPI) -> None:
    token = issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://kiln.test",
        headers={"authorization": f"Bearer {token}"},
    ) as c:
        r = await c.get(URL, params={"year": 2017})
    assert r.status_code == 403
    assert r.json()["where"] == "role"


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("html", "text/html"), ("md", "text/markdown"), ("pdf", "application/pdf")],
)
async def test_the_api_answers_each_format_as_an_attachment(
    analyst: httpx.AsyncClient, fmt: str, media_type: str
) -> None:
    r = await analyst.get(URL, params={"year": 2017, "lang": "en", "format": fmt})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == media_type
    name = f"kiln-report-{PLAN}-2017-en.{fmt}"
    assert r.headers["content-disposition"] == f'attachment; filename="{name}"'
    if fmt == "pdf":
        assert r.content.startswith(b"%PDF-")
    else:
        assert EN_2017 in r.text
    if fmt == "html":
        assert "style-src 'unsafe-inline'" in r.headers["content-security-policy"]


async def test_the_api_report_in_chinese(analyst: httpx.AsyncClient) -> None:
    r = await analyst.get(URL, params={"year": 2017, "lang": "zh", "format": "md"})
    assert r.status_code == 200, r.text
    assert all(sentence in r.text for sentence in ZH_2017)


@pytest.mark.parametrize(
    ("path", "params", "status", "where"),
    [
        (URL, {"year": 2030}, 422, "query: year"),
        (URL, {"year": 1990}, 422, "query.year"),
        (URL, {"year": 2017, "lang": "fr"}, 422, "query: lang"),
        (URL, {"year": 2017, "format": "docx"}, 422, "query: format"),
        ("/api/v1/plans/nope/report", {"year": 2017}, 404, "path: key"),
    ],
)
async def test_the_api_names_bad_input(
    analyst: httpx.AsyncClient, path: str, params: dict[str, object], status: int, where: str
) -> None:
    r = await analyst.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.json()["where"] == where
