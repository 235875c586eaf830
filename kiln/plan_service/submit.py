"""Taking filings in: from API items, CSV or Excel rows, or the web form, checked together and
stored all or none."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput, NotFound
from kiln.plan.fields import FIELD_BY_NAME, FIELD_NAMES
from kiln.plan.filings import (
    Filing,
    Flag,
    NeedsConfirmation,
    Period,
    check_correction,
    check_period,
    flags_for,
    parse_figures,
)
from kiln.plan.storage import PlanStore
from kiln.plan_service.service import local_year_month

MAX_ROWS = 50_000  # one upload; a city's yearly batch of monthly filings is far below
# Column headings a spreadsheet may use, in English or Chinese, to the names Kiln uses.
HEADINGS: dict[str, str] = {
    "enterprise": "enterprise",
    "企业": "enterprise",
    "企业代码": "enterprise",
    "period": "period",
    "报告期": "period",
    "期间": "period",
    "unit": "unit",
    "单位": "unit",
    "计量单位": "unit",
    "reason": "reason",
    "更正原因": "reason",
    "原因": "reason",
    **{f.name: f.name for f in FIELD_BY_NAME.values()},
    **{f.label_zh: f.name for f in FIELD_BY_NAME.values()},
}


@dataclass(frozen=True, slots=True)
class Submission:
    """One filing as received, before checking; ``where`` names it for error messages."""

    enterprise: str
    period: str
    figures: Mapping[str, object]
    unit: str | None = None
    reason: str = ""
    where: str = "filing"


def from_items(items: Sequence[Mapping[str, Any]], *, where: str = "filings") -> list[Submission]:
    """Submissions from API items: {"enterprise", "period", "figures": {...}, "unit", "reason"}."""
    out = []
    for i, item in enumerate(items):
        spot = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise BadInput("expected an object", where=spot)
        extra = set(item) - {"enterprise", "period", "figures", "unit", "reason"}
        if extra:
            raise BadInput(f"unknown keys {sorted(extra)}", where=spot)
        figures = item.get("figures")
        if not isinstance(figures, Mapping):
            raise BadInput("figures must be an object of figure: value", where=f"{spot}.figures")
        out.append(
            Submission(
                enterprise=str(item.get("enterprise", "")),
                period=str(item.get("period", "")),
                figures=figures,
                unit=item.get("unit"),
                reason=str(item.get("reason") or ""),
                where=spot,
            )
        )
    return out


def from_rows(
    header: Sequence[object], rows: Sequence[Sequence[object]], *, name: str
) -> list[Submission]:
    """Submissions from a table whose first row is the header (CSV or a sheet)."""
    names: list[str | None] = []
    for col, h in enumerate(header, start=1):
        text = str(h or "").strip()
        if not text:
            names.append(None)
            continue
        key = HEADINGS.get(text) or HEADINGS.get(text.lower())
        if key is None:
            raise BadInput(
                f"unknown column {text!r}; expected enterprise, period, unit, reason and "
                f"figures ({', '.join(FIELD_NAMES)})",
                where=f"{name}: line 1, column {col}",
            )
        names.append(key)
    for needed in ("enterprise", "period"):
        if needed not in names:
            raise BadInput(f"no {needed!r} column", where=f"{name}: line 1")
    out: list[Submission] = []
    for line, row in enumerate(rows, start=2):
        if len(out) >= MAX_ROWS:
            raise BadInput(f"more than {MAX_ROWS} rows; split the file", where=name)
        if not any(str(c or "").strip() for c in row):
            continue
        cells = {k: v for k, v in zip(names, row, strict=False) if k is not None}
        out.append(
            Submission(
                enterprise=str(cells.get("enterprise") or "").strip(),
                period=str(cells.get("period") or "").strip(),
                figures={k: v for k, v in cells.items() if k in FIELD_BY_NAME},
                unit=str(cells.get("unit") or "").strip() or None,
                reason=str(cells.get("reason") or "").strip(),
                where=f"{name}: line {line}",
            )
        )
    return out


def read_csv(data: bytes, *, name: str = "upload.csv") -> list[Submission]:
    """Submissions from CSV bytes: UTF-8 (with or without a BOM), or GB18030 as Chinese Excel
    saves it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise BadInput("not UTF-8 or GB18030 text", where=name) from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise BadInput("the file is empty", where=name)
    return from_rows(rows[0], rows[1:], name=name)


def read_xlsx(data: bytes, *, name: str = "upload.xlsx") -> list[Submission]:
    """Submissions from the first sheet of an Excel workbook."""
    import openpyxl  # an upload is rare; keep the import off start-up

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises several unrelated types for a bad file
        raise BadInput(f"not an Excel workbook (.xlsx): {err}", where=name) from None
    try:
        sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    if not rows:
        raise BadInput("the first sheet is empty", where=name)
    return from_rows(rows[0], rows[1:], name=f"{name} sheet {sheet.title!r}")


def _period_text(raw: str) -> str:
    # Spreadsheets turn "2019-03" into a date; accept its ISO form back.
    return raw[:7] if len(raw) >= 10 and raw[4] == "-" and raw[7] == "-" else raw


def check(
    plans: PlanStore,
    catalog: AssetCatalog,
    subs: Sequence[Submission],
    *,
    filed_by: str,
    channel: str,
    now_ms: int,
    confirm: bool = False,
    own_enterprise: int | None = None,
) -> list[Filing]:
    """The filings to store, checked together: BadInput (naming the row and field) for the
    first refused value, NeedsConfirmation listing every flagged one unless confirmed."""
    if not subs:
        raise BadInput("nothing to file", where="filings")
    year, month = local_year_month(now_ms)
    parsed: list[tuple[Submission, int, Period, dict[str, float]]] = []
    for s in subs:
        eid = catalog.enterprise_by_slug.get(s.enterprise)
        if eid is None and s.enterprise.isdigit() and int(s.enterprise) in catalog.enterprises:
            eid = int(s.enterprise)
        if eid is None or (own_enterprise is not None and eid != own_enterprise):
            raise NotFound(f"no enterprise {s.enterprise!r}", where=f"{s.where}: enterprise")
        period = Period.parse(_period_text(s.period), where=f"{s.where}: period")
        check_period(period, now_year=year, now_month=month, where=f"{s.where}: period")
        figures = parse_figures(s.figures, unit=s.unit, where=s.where)
        parsed.append((s, eid, period, figures))
    keys = [(eid, p) for _, eid, p, _ in parsed]
    if len(set(keys)) != len(keys):
        raise BadInput("the same enterprise and period appear twice", where="filings")
    in_batch = {(eid, p): f for _, eid, p, f in parsed}
    stored = plans.current_filings(keys + [(eid, p.previous) for eid, p in keys])
    out: list[Filing] = []
    flagged: list[Flag] = []
    for s, eid, period, figures in parsed:
        current = stored.get((eid, period))
        version = check_correction(current, s.reason, where=s.where)
        before = in_batch.get((eid, period.previous))
        if before is None and (prev := stored.get((eid, period.previous))) is not None:
            before = dict(prev.figures)
        flags = flags_for(figures, period, before)
        flagged.extend(Flag(f"{s.where}: {f.field}", f.what) for f in flags)
        out.append(
            Filing(
                enterprise_id=eid,
                period=period,
                figures=figures,
                version=version,
                reason=s.reason,
                filed_by=filed_by,
                filed_ms=now_ms,
                channel=channel,
                flags=flags,
            )
        )
    if flagged and not confirm:
        raise NeedsConfirmation(tuple(flagged), where="filings")
    return out
