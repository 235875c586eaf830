"""The yearly report laid out: Markdown, a standalone printable HTML document with inline SVG
charts, and PDF (the HTML through WeasyPrint).

Chart geometry is computed here, as numbers in the SVG's own units; the template draws them.
A withheld figure never reaches a chart: a withheld district has no bar, and a target whose
figures are withheld has no chart (report.py).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.errors import BadInput, Unavailable
from kiln.plan.indicators import industry_groups
from kiln.plan.progress import Source
from kiln.plan_service.report_model import Chart, Report
from kiln.plan_service.report_text import amount
from kiln.plan_service.tables import Cell, IndicatorTable

# The template is a page of the web tier's templates folder; plan_service reads it as a file
# (no import), which the layer contracts allow.
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"
TEMPLATE = "plan_report.html"
MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
PDF_MISSING = (
    "PDF needs WeasyPrint and its system libraries: apt-get install libpango-1.0-0 "
    "libpangoft2-1.0-0, or use --format html"
)
Scale = Callable[[float], float]  # a year or a value to SVG units
CHART_W, CHART_H = 640.0, 240.0
PAD_L, PAD_R, PAD_T, PAD_B = 100.0, 16.0, 12.0, 26.0
LABELS = {
    "en": {
        "summary": "Summary",
        "facts": "Headline facts",
        "indicator": "Indicator",
        "level": "{year}",
        "change": "Change on {prev}",
        "plans": "The action plan",
        "target": "Target",
        "status": "Status",
        "reason": "Where it stands",
        "charts_elsewhere": "The charts of each target's path are in the HTML and PDF editions.",
        "tables": "By district and industry",
        "table_title": "{name}, {year}",
        "coverage": "Filed by {filed} of the {scope} registered enterprises{inds}.",
        "in_set": " in its industries",
        "district": "District",
        "total": "Total",
        "bars": "{name} by district, {year}",
        "notes": "Notes and sources",
        "about": "Sources: published figures are the statistics bureau's or the plan's own, "
        "with their source; filed figures are the sums of the enterprises' statistical "
        "filings, with how many filed; implied figures follow from the plan's own targets; "
        "estimates annualise a year in progress.",
        "withheld": "withheld",
        "legend_trajectory": "plan trajectory",
        "legend_actual": "figures (hollow: implied)",
        "legend_band": "projection, 80 % band",
        "legend_goal": "target",
    },
    "zh": {
        "summary": "概要",
        "facts": "主要指标",
        "indicator": "指标",
        "level": "{year}年",
        "change": "比{prev}年增减",
        "plans": "行动计划",
        "target": "目标",
        "status": "状态",
        "reason": "进展",
        "charts_elsewhere": "各目标的走势图见HTML和PDF版。",
        "tables": "分区、分行业",
        "table_title": "{year}年{name}",
        "coverage": "{inds}登记企业{scope}家中{filed}家填报。",
        "in_set": "相关行业",
        "district": "区",
        "total": "合计",
        "bars": "{year}年各区{name}",
        "notes": "注释及来源",
        "about": "来源说明：公布数为统计部门或规划文件公布的数据，并注明来源；填报数为企业统计"
        "填报数据之和，并注明填报企业数；推算数由规划目标推算；估计数由当年已有月份折算全年。",
        "withheld": "不予公布",
        "legend_trajectory": "规划路径",
        "legend_actual": "实际数（空心：推算）",
        "legend_band": "预测（80%区间）",
        "legend_goal": "目标",
    },
}


def check_format(fmt: str) -> str:
    """'md', 'html' or 'pdf'; BadInput for any other."""
    if fmt not in MEDIA_TYPES:
        raise BadInput(
            f"{fmt!r} is not a format of the report: use html, pdf or md", where="format"
        )
    return fmt


def file_name(report: Report, fmt: str) -> str:
    """A file name for the report: kiln-report-[plan-]year-lang.ext, safe in a header.

    The plan key is the city admin's to choose, so anything but letters, digits, dot, dash and
    underscore is dropped.
    """
    plan = re.sub(r"[^A-Za-z0-9._-]", "", report.plan_key or "")[:60]
    parts = ["kiln-report", plan, str(report.year), report.lang]
    return "-".join(p for p in parts if p) + f".{fmt}"


def render(report: Report, fmt: str) -> bytes:
    """The report in a format: UTF-8 Markdown or HTML, or PDF."""
    check_format(fmt)
    if fmt == "pdf":
        return render_pdf(report)
    text = render_html(report) if fmt == "html" else render_markdown(report)
    return text.encode()


# -- geometry -------------------------------------------------------------------------------


def ticks(top: float) -> list[float]:
    """Gridline values from 0, a round step apart, up to at least ``top``.

    >>> ticks(120e9)
    [0.0, 50000000000.0, 100000000000.0, 150000000000.0]
    >>> ticks(0.0)
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    if not top > 0:
        top = 1.0
    raw = top / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [float(step * i) for i in range(math.ceil(top / step - 1e-9) + 1)]


def _points(xy: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)


def path_chart(chart: Chart, lang: str) -> dict[str, Any]:
    """A level target's chart: the plan's trajectory (dashed), the figures (a line, hollow dots
    for implied ones), the projection with its band to the deadline, and the target's level.

    >>> c = Chart("yuan", 120e9, 2020, ((2017, 80e9), (2020, 120e9)), (), None)
    >>> c = path_chart(c, "en")
    >>> c["trajectory"], [g["label"] for g in c["grid"]][-1]
    ('100.0,106.3 624.0,52.4', '150 bn yuan')
    """
    p = chart.projection
    years = [y for y, _ in chart.trajectory] + [a[0] for a in chart.actuals] + [chart.deadline]
    y0, y1 = min(years), max(years)
    y0 = y0 - 1 if y0 == y1 else y0
    values = [v for _, v in chart.trajectory] + [a[1] for a in chart.actuals] + [chart.goal]
    grid = ticks(max([*values, p.high if p else 0.0]))

    def x(year: float) -> float:
        return PAD_L + (year - y0) / (y1 - y0) * (CHART_W - PAD_L - PAD_R)

    def y(value: float) -> float:
        return PAD_T + (1 - max(value, 0.0) / grid[-1]) * (CHART_H - PAD_T - PAD_B)

    out: dict[str, Any] = {
        "width": CHART_W,
        "height": CHART_H,
        "left": PAD_L,
        "right": CHART_W - PAD_R,
        "grid": [{"y": round(y(g), 1), "label": amount(g, chart.unit, lang)} for g in grid],
        "years": [{"x": round(x(t), 1), "label": str(t)} for t in range(y0, y1 + 1)],
        "trajectory": _points([(x(t), y(v)) for t, v in chart.trajectory]),
        "goal": {"y": round(y(chart.goal), 1), "label": amount(chart.goal, chart.unit, lang)},
        "line": _points([(x(t), y(v)) for t, v, _ in chart.actuals]),
        "dots": [
            {
                "x": round(x(t), 1),
                "y": round(y(v), 1),
                "hollow": s is Source.IMPLIED,
                "label": f"{t}: {amount(v, chart.unit, lang)} ({s.value})",
            }
            for t, v, s in chart.actuals
        ],
        "band": "",
        "central": "",
    }
    if p is not None and chart.actuals and p.central > 0:
        out["band"], out["central"] = _band(chart, x, y)
    return out


def _band(chart: Chart, x: Scale, y: Scale) -> tuple[str, str]:
    """The projection's band as a polygon widening with the square root of the years ahead
    (progress.py), and its central line, from the latest figure to the deadline."""
    p = chart.projection
    assert p is not None
    start, value, _ = chart.actuals[-1]
    span = p.year - start
    up, down = math.log(p.high / p.central), math.log(p.central / p.low)
    growth = math.log1p(p.growth_pct / 100)
    upper, lower, central = [], [], []
    for t in range(start, p.year + 1):
        c = value * math.exp(growth * (t - start))
        f = math.sqrt((t - start) / span)
        upper.append((x(t), y(c * math.exp(up * f))))
        lower.append((x(t), y(c * math.exp(-down * f))))
        central.append((x(t), y(c)))
    return _points(upper + lower[::-1]), _points(central)


def district_bars(table: IndicatorTable, lang: str) -> dict[str, Any] | None:
    """Bars of the districts' totals; a withheld district gets a label and no bar. None when
    no district with a figure may be shown."""
    shown = [c.value for c in table.row_totals if c.value is not None]
    if not any(v > 0 for v in shown):
        return None
    unit, grid = table.indicator.unit, ticks(max(shown))
    plot_h, slot = CHART_H - PAD_T - PAD_B, (CHART_W - PAD_L - PAD_R) / len(table.rows)
    names = _district_names(lang)
    bars = []
    for i, (key, cell) in enumerate(zip(table.rows, table.row_totals, strict=True)):
        h = 0.0 if cell.value is None else cell.value / grid[-1] * plot_h
        bars.append(
            {
                "x": round(PAD_L + i * slot + slot * 0.2, 1),
                "width": round(slot * 0.6, 1),
                "y": round(PAD_T + plot_h - h, 1),
                "height": round(h, 1),
                "mid": round(PAD_L + (i + 0.5) * slot, 1),
                "name": names.get(key, key),
                "text": _cell_text(cell, unit, lang),
                "withheld": not cell.shown,
            }
        )
    return {
        "width": CHART_W,
        "height": CHART_H,
        "left": PAD_L,
        "right": CHART_W - PAD_R,
        "base": PAD_T + plot_h,
        "grid": [
            {"y": round(PAD_T + (1 - g / grid[-1]) * plot_h, 1), "label": amount(g, unit, lang)}
            for g in grid
        ],
        "bars": bars,
    }


# -- tables ---------------------------------------------------------------------------------


def _district_names(lang: str) -> dict[str, str]:
    return {d.code: d.name_zh if lang == "zh" else d.name_en for d in FOSHAN_DISTRICTS}


def _cell_text(cell: Cell, unit: str, lang: str) -> str:
    if cell.value is None:
        return f"{LABELS[lang]['withheld']} *"
    if cell.why == "empty":
        return "–"
    return amount(cell.value, unit, lang)


def table_view(table: IndicatorTable, lang: str) -> dict[str, Any]:
    """A table as text cells: districts down, industry groups across, with totals."""
    labels, ind, unit = LABELS[lang], table.indicator, table.indicator.unit
    name = ind.name_zh if lang == "zh" and ind.name_zh else ind.name_en
    groups = {g.key: g.name_zh if lang == "zh" else g.name_en for g in industry_groups()}
    districts = _district_names(lang)
    rows = [
        {
            "label": districts.get(key, key),
            "cells": [_cell_text(c, unit, lang) for c in cells],
            "total": _cell_text(total, unit, lang),
        }
        for key, cells, total in zip(table.rows, table.interior, table.row_totals, strict=True)
    ]
    rows.append(
        {
            "label": labels["total"],
            "cells": [_cell_text(c, unit, lang) for c in table.col_totals],
            "total": _cell_text(table.total, unit, lang),
        }
    )
    cov = table.coverage
    return {
        "title": labels["table_title"].format(name=name, year=table.year),
        "coverage": labels["coverage"].format(
            filed=cov.filed, scope=cov.in_scope, inds=labels["in_set"] if ind.industries else ""
        ),
        "cols": [groups.get(k, k) for k in table.cols],
        "rows": rows,
        "bars": district_bars(table, lang),
        "bars_title": labels["bars"].format(name=name, year=table.year),
    }


# -- Markdown, HTML, PDF --------------------------------------------------------------------


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [_md_row(head), _md_row(["---"] * len(head)), *(_md_row(r) for r in rows), ""]


def render_markdown(report: Report) -> str:
    """The report as Markdown; the charts are left to the HTML and PDF editions."""
    lb, y = LABELS[report.lang], report.year
    out = [f"# {report.title}", "", report.intro, "", f"## {lb['summary']}", ""]
    for paragraph in report.summary:
        out += [paragraph, ""]
    out += [f"## {lb['facts']}", ""]
    head = [lb["indicator"], lb["level"].format(year=y), lb["change"].format(prev=y - 1)]
    rows = [
        [
            f.name,
            _with_tag(f.level.text, f.level.tag, report.lang),
            "–" if f.growth is None else _with_tag(f.growth.text, f.growth.tag, report.lang),
        ]
        for f in report.facts
    ]
    out += _md_table(head, rows)
    out += [f"## {lb['plans']}", ""]
    if report.plans_note:
        out += [report.plans_note, ""]
    for plan in report.plans:
        out += [f"### {plan.title}", "", plan.about, ""]
        if plan.error:
            out += [plan.error, ""]
        lines = [[t.label, t.status_text, t.reason] for t in plan.targets]
        if lines:
            out += _md_table([lb["target"], lb["status"], lb["reason"]], lines)
        if any(t.chart for t in plan.targets):
            out += [f"_{lb['charts_elsewhere']}_", ""]
    out += [f"## {lb['tables']}", ""]
    if report.tables_note:
        out += [report.tables_note, ""]
    for table in report.tables:
        view = table_view(table, report.lang)
        out += [f"### {view['title']}", "", view["coverage"], ""]
        rows = [[r["label"], *r["cells"], r["total"]] for r in view["rows"]]
        out += _md_table([lb["district"], *view["cols"], lb["total"]], rows)
    out += [f"## {lb['notes']}", "", lb["about"], ""]
    for note in report.notes:
        link = f" <{note.url}>" if note.url else ""
        out.append(f"- [{note.mark}] {note.text}{link}")
    return "\n".join(out).rstrip() + "\n"


def _with_tag(text: str, tag: str, lang: str) -> str:
    if not tag:
        return text
    return f"{text}（{tag}）" if lang == "zh" else f"{text} ({tag})"


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: Report) -> str:
    """The report as one standalone HTML document: inline CSS and SVG, no script, printable."""
    charts = {
        id(t): path_chart(t.chart, report.lang)
        for plan in report.plans
        for t in plan.targets
        if t.chart is not None
    }
    html = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            report=report,
            labels=LABELS[report.lang],
            chart_of=lambda target: charts.get(id(target)),
            tables=[table_view(t, report.lang) for t in report.tables],
        )
    )
    return html.lstrip()


def render_pdf(report: Report) -> bytes:
    """The HTML edition printed to PDF by WeasyPrint; Unavailable without its libraries."""
    html = render_html(report)
    try:
        import weasyprint  # type: ignore[import-untyped]
        from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]
    except (ImportError, OSError) as err:  # OSError: WeasyPrint found no Pango
        raise Unavailable(PDF_MISSING, where="pdf") from err
    # The document carries everything it shows; nothing is fetched while printing.
    fetcher = URLFetcher(allowed_protocols=("data",))
    try:
        pdf: bytes = weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
    except OSError as err:
        raise Unavailable(PDF_MISSING, where="pdf") from err
    return pdf
