"""`kiln kpi`: ISO 22400 KPIs from the store, as a table, CSV or JSON.

It reads the store file directly, as its operator: no sign-in, no tenancy (stop `kiln serve`
first, or ask the API, which holds the file).
"""

from __future__ import annotations

import io
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from kiln.cli.options import config_option, settings_from
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, Window

CITY_ZONE = ZoneInfo("Asia/Shanghai")
SHOWN = (  # (column, heading, kind) of the table format
    ("name", "row", "text"),
    ("period", "period", "text"),
    ("pbt_min", "PBT min", "num"),
    ("unknown_min", "unknown min", "num"),
    ("availability", "avail.", "pct"),
    ("effectiveness", "effect.", "pct"),
    ("quality_ratio", "quality", "pct"),
    ("oee", "OEE", "pct"),
    ("mtbf_h", "MTBF h", "num"),
    ("mttr_min", "MTTR min", "num"),
    ("energy_per_unit_kwh", "kWh/unit", "num"),
)


def parse_time(text: str | None, *, where: str) -> int | None:
    """Epoch ms, or a local date or date-time in Foshan (2024-01-05, 2024-01-05T06:30).

    >>> parse_time("2024-01-05", where="--start")
    1704384000000
    """
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"{text!r} is not epoch ms or a date (2024-01-05, 2024-01-05T06:30)", where=where
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=CITY_ZONE)
    return round(t.timestamp() * 1000)


def _cell(value: object, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "pct" and isinstance(value, float):
        return f"{100 * value:.1f}%"
    if kind == "num" and isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def format_table(rows: list[dict[str, object]]) -> str:
    """Rows as an aligned text table; undefined KPIs shown as '–' with their reasons below."""
    head = [h for _, h, _ in SHOWN]
    body = [[_cell(r.get(c), k) for c, _, k in SHOWN] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(head, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(x.ljust(w) for x, w in zip(b, widths, strict=True)).rstrip() for b in body]
    shown = {c for c, _, _ in SHOWN}
    for r in rows:
        reasons = r.get("reasons") or {}
        assert isinstance(reasons, dict)
        why = [f"{k}: {v}" for k, v in reasons.items() if k in shown]
        if why:
            lines.append(f"{r['name']} {r['period']}: " + "; ".join(why))
    return "\n".join(lines)


@click.command()
@config_option
@click.option("--enterprise", default=None, help="Enterprise slug (default: the whole city).")
@click.option(
    "--level",
    type=click.Choice([x.value for x in Level]),
    default="line",
    show_default=True,
    help="Where in the hierarchy each row sits.",
)
@click.option(
    "--window",
    type=click.Choice([x.value for x in Window]),
    default="day",
    show_default=True,
    help="Period of each row: a shift of the site's calendar, a local day, week or month, or "
    "custom (--start to --end).",
)
@click.option("--start", default=None, help="A time in the first period (default: now).")
@click.option("--end", default=None, help="Every period up to this time (custom: the end).")
@click.option("--line", default=None, help="Only this line (id or slug).")
@click.option("--energy/--no-energy", default=True, help="Energy per unit (reads power series).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
def kpi(
    config_path: Path | None,
    enterprise: str | None,
    level: str,
    window: str,
    start: str | None,
    end: str | None,
    line: str | None,
    energy: bool,
    fmt: str,
) -> None:
    """KPIs (ISO 22400-2) per level and period: availability, effectiveness, quality, OEE,
    the six big losses, MTBF, MTTR, energy per unit; undefined ones with their reason."""
    import orjson
    import pyarrow.csv as pacsv

    from kiln.clock import SystemClock
    from kiln.kpi_service import KpiService
    from kiln.kpi_service.rows import to_rows
    from kiln.runtime import open_store

    settings = settings_from(config_path)
    req = KpiRequest(
        Level(level),
        Window(window),
        parse_time(start, where="--start"),
        parse_time(end, where="--end"),
        energy,
    )
    store = open_store(settings)
    try:
        cat = store.catalog()
        ids = _equipment(cat, enterprise, line)
        table = KpiService(store, settings.kpi).table(cat, ids, req, SystemClock().now_ms())
    except BadInput as err:
        # The service names API parameters ("query: end"); here they are options.
        raise BadInput(err.what, where=err.where.replace("query: ", "--")) from None
    finally:
        store.close()
    if fmt == "csv":
        out = io.BytesIO()
        if table.num_columns:
            pacsv.write_csv(table, out)
        sys.stdout.write(out.getvalue().decode())
    elif fmt == "json":
        click.echo(orjson.dumps({"rows": to_rows(table)}, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(format_table(to_rows(table)) if table.num_rows else "no rows")


def _equipment(cat: AssetCatalog, enterprise: str | None, line: str | None) -> list[int]:
    """The equipment of the enterprise (or the city), optionally of one line."""
    eqs = list(cat.equipment.values())
    if enterprise is not None:
        eid = cat.enterprise_by_slug.get(enterprise)
        if eid is None:
            raise BadInput(f"no enterprise {enterprise!r}", where="--enterprise")
        eqs = [q for q in eqs if q.enterprise_id == eid]
    if line is not None:
        lines = {
            ln.id
            for ln in cat.lines.values()
            if (str(ln.id) == line or ln.slug == line)
            and any(cat.line_of(q.id).id == ln.id for q in eqs)
        }
        if not lines:
            raise BadInput(f"no line {line!r}", where="--line")
        eqs = [q for q in eqs if cat.line_of(q.id).id in lines]
    return sorted(q.id for q in eqs)
