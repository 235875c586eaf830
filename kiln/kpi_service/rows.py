"""KPI tables as the API and the pages show them: JSON rows with each undefined KPI's reason,
and the city's disclosure rule (a group of too few enterprises is suppressed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from kiln.domain.catalog import AssetCatalog
from kiln.domain.industries import key_industry_of
from kiln.kpi.rollup import UNASSIGNED, Level

# Columns that describe a row; every other column is a figure that disclosure control hides.
ROW_COLUMNS = ("level", "key", "name", "period", "shift", "window_start_ms", "window_end_ms")
NOTE_COLUMNS = ("undefined", "flags")


def kpi_names(table: pa.Table) -> list[str]:
    """The KPI columns of a KPI table, in the order the engine computes them."""
    cols: list[str] = table.column_names
    if "energy_kwh" in cols:
        return cols[cols.index("energy_kwh") + 1 : cols.index("undefined")]
    return [c for c in cols if c not in (*ROW_COLUMNS, *NOTE_COLUMNS)]  # a consent's columns


def notes(text: str) -> dict[str, str]:
    """'kpi: reason; kpi: reason' (the table's notes) as a dict.

    >>> notes("oee: no planned busy time (PBT = 0); effectiveness: above 1: too fast")
    {'oee': 'no planned busy time (PBT = 0)', 'effectiveness': 'above 1: too fast'}
    """
    out = {}
    for part in text.split("; ") if text else ():
        name, _, why = part.partition(": ")
        out[name] = why
    return out


def to_rows(table: pa.Table) -> list[dict[str, Any]]:
    """One dict per row: every column, with `reasons` and `flags` as dicts by KPI name."""
    rows: list[dict[str, Any]] = table.to_pylist()
    for r in rows:
        r["reasons"] = notes(r.pop("undefined", "") or "")
        r["flags"] = notes(r.pop("flags", "") or "")
    return rows


def group_key(catalog: AssetCatalog, e: int, level: Level) -> str:
    """The key of the industry, district or city row an equipment rolls up into (as the
    engine's roll-up keys them)."""
    eq = catalog.equipment.get(e)
    if level is Level.CITY:
        return "city"
    if eq is None or eq.station_id not in catalog.stations:
        return UNASSIGNED
    ent = catalog.enterprises[eq.enterprise_id]
    if level is Level.DISTRICT:
        return ent.district
    key = key_industry_of(ent.industry_code)
    return key.key if key else f"C{ent.industry_code[:2]}"


def enterprises_per_group(
    catalog: AssetCatalog, ids: Sequence[int], level: Level
) -> dict[str, int]:
    """How many enterprises each industry, district or city row sums."""
    seen: dict[str, set[int]] = {}
    for e in ids:
        eq = catalog.equipment.get(e)
        if eq is not None:
            seen.setdefault(group_key(catalog, e, level), set()).add(eq.enterprise_id)
    return {k: len(v) for k, v in seen.items()}


def suppress_small_groups(table: pa.Table, enterprises: dict[str, int], minimum: int) -> pa.Table:
    """Statistical disclosure control: every figure of a row that sums fewer than `minimum`
    enterprises is withheld (null) with the reason; adds `enterprises` and `suppressed`."""
    if not table.num_rows:
        return table
    keys = table.column("key").to_pylist()
    count = [enterprises.get(k, 0) for k in keys]
    hide = pa.array([n < minimum for n in count])
    text = f"suppressed: fewer than {minimum} enterprises (statistical disclosure control)"
    why = "; ".join(f"{name}: {text}" for name in kpi_names(table))
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if name in ROW_COLUMNS:
            cols[name] = col
        elif name == "undefined":
            cols[name] = pa.compute.if_else(hide, why, col)
        elif name == "flags":
            cols[name] = pa.compute.if_else(hide, "", col)
        else:
            cols[name] = pa.compute.if_else(hide, pa.scalar(None, col.type), col)
    cols["enterprises"] = pa.array(count, pa.int64())
    cols["suppressed"] = hide
    return pa.table(cols)


def only_columns(table: pa.Table, names: Sequence[str]) -> pa.Table:
    """The row columns and the named figures (what a consent covers), notes cut to them."""
    keep = [c for c in table.column_names if c in ROW_COLUMNS or c in names]
    out = table.select(keep)
    for note in NOTE_COLUMNS:
        if note in table.column_names:
            text = [
                "; ".join(f"{k}: {v}" for k, v in notes(t or "").items() if k in names)
                for t in table.column(note).to_pylist()
            ]
            out = out.append_column(note, pa.array(text, pa.string()))
    return out
