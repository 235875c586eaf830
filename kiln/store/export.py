"""Parquet export: telemetry as Hive-partitioned Parquet, for DuckDB, Spark and the like.

``DIR/date=YYYY-MM-DD/enterprise=<slug>/part-0.parquet``, one UTC day at a time, with columns
ts (timestamp[ms, UTC]: Parquet INT64, TIMESTAMP(MILLIS, isAdjustedToUTC=true)), site, line,
station, equipment, signal, unit and value (rollups: value is the average, plus min, max, last
and count); date and enterprise come from the path, as Hive partitions. No nanosecond or INT96
types, so Spark reads it as it is. It reads only through the Store protocol (catalog, points,
buckets), so every backend exports alike, and in pieces of about a million rows, so memory stays
bounded however long the range; one daily bucket query per series first finds the days
with data (and about how many rows), so empty days cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
from numpy.typing import NDArray

from kiln.domain.assets import Signal
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput
from kiln.store.base import Store

Resolution = Literal["raw", "1m", "1h"]
WIDTH_MS = {"1m": 60_000, "1h": 3_600_000}
DAY_MS = 86_400_000
PIECE_ROWS = 1_000_000  # rows read at a time: bounds memory
NAMES = ("site", "line", "station", "equipment", "signal", "unit")


def export_schema(resolution: Resolution) -> pa.Schema:
    """The columns of an export, partition columns (date, enterprise) included."""
    fields = [pa.field("ts", pa.timestamp("ms", tz="UTC"), nullable=False)]
    fields += [pa.field(n, pa.dictionary(pa.int32(), pa.string())) for n in NAMES]
    fields.append(pa.field("value", pa.float64()))
    if resolution != "raw":
        fields += [pa.field(n, pa.float64()) for n in ("min", "max", "last")]
        fields.append(pa.field("count", pa.int64()))
    fields += [pa.field("date", pa.string()), pa.field("enterprise", pa.string())]
    return pa.schema(fields)


@dataclass
class ExportResult:
    """What an export wrote."""

    rows: int = 0
    files: list[str] = field(default_factory=list)
    days: int = 0  # days with at least one row


@dataclass(frozen=True, slots=True)
class _Group:
    """The signals of one enterprise, sorted by id, with their names as dictionaries."""

    slug: str
    ids: NDArray[np.int64]
    names: dict[str, pa.Array]


def _groups(catalog: AssetCatalog, enterprise: str | None) -> list[_Group]:
    if enterprise is not None and enterprise not in catalog.enterprise_by_slug:
        raise BadInput(f"no enterprise {enterprise!r}", where="--enterprise")
    by_enterprise: dict[int, list[Signal]] = {}
    for s in sorted(catalog.signals.values(), key=lambda x: x.id):
        by_enterprise.setdefault(s.enterprise_id, []).append(s)
    out = []
    for eid, signals in sorted(by_enterprise.items()):
        ent = catalog.enterprises.get(eid)
        if ent is None or enterprise not in (None, ent.slug):
            continue
        rows: dict[str, list[str]] = {n: [] for n in NAMES}
        for s in signals:
            eq = catalog.equipment[s.equipment_id]
            station = catalog.stations[eq.station_id]
            line = catalog.lines[station.line_id]
            for n, v in zip(
                NAMES,
                (
                    catalog.sites[line.site_id].slug,
                    line.slug,
                    station.slug,
                    eq.slug,
                    s.name,
                    s.unit,
                ),
                strict=True,
            ):
                rows[n].append(v)
        ids = np.array([s.id for s in signals], dtype=np.int64)
        out.append(_Group(ent.slug, ids, {n: pa.array(v, pa.string()) for n, v in rows.items()}))
    return out


def _read(store: Store, ids: list[int], day: int, resolution: Resolution) -> pa.Table:
    """One day of some series: (series, ts_ms, value[, min, max, last, count])."""
    if resolution == "raw":
        return store.points(ids, day, day + DAY_MS)
    width = WIDTH_MS[resolution]
    parts = []
    for sid in ids:
        t = store.buckets(sid, day, day + DAY_MS, max_points=DAY_MS // width, bucket_ms=width)
        parts.append(
            pa.table(
                {
                    "series": pa.array(np.full(t.num_rows, sid, dtype=np.int64)),
                    "ts_ms": t["ts_ms"],
                    "value": t["avg"],
                    "min": t["min"],
                    "max": t["max"],
                    "last": t["last"],
                    "count": t["count"],
                }
            )
        )
    return pa.concat_tables(parts) if parts else pa.table({})


def _pieces(ids: list[int], rows: list[int], limit: int) -> list[list[int]]:
    """Consecutive runs of ids whose rows add up to at most limit (or one id alone).

    >>> _pieces([1, 2, 3, 4], [5, 5, 5, 20], 10)
    [[1, 2], [3], [4]]
    """
    out: list[list[int]] = []
    run: list[int] = []
    total = 0
    for i, n in zip(ids, rows, strict=True):
        if run and total + n > limit:
            out.append(run)
            run, total = [], 0
        run.append(i)
        total += n
    return [*out, run] if run else out


def _census(
    store: Store, groups: list[_Group], first: int, end: int, resolution: Resolution
) -> dict[int, dict[str, tuple[list[int], list[int]]]]:
    """Per day, per enterprise: the series with rows that day, and about how many rows (one
    daily bucket query per series: days without data cost nothing more)."""
    per_row = DAY_MS // WIDTH_MS[resolution] if resolution != "raw" else None
    days: dict[int, dict[str, tuple[list[int], list[int]]]] = {}
    for g in groups:
        for sid in g.ids.tolist():
            t = store.buckets(sid, first, end, max_points=(end - first) // DAY_MS, bucket_ms=DAY_MS)
            for day, n in zip(t["ts_ms"].to_pylist(), t["count"].to_pylist(), strict=True):
                ids, rows = days.setdefault(day, {}).setdefault(g.slug, ([], []))
                ids.append(sid)
                rows.append(n if per_row is None else min(n, per_row))
    return dict(sorted(days.items()))


def _batches(
    store: Store,
    groups: list[_Group],
    day: int,
    census: dict[str, tuple[list[int], list[int]]],
    resolution: Resolution,
    result: ExportResult,
) -> Iterator[pa.RecordBatch]:
    """The day's rows, enterprise after enterprise, read about PIECE_ROWS at a time."""
    schema = export_schema(resolution)
    date = datetime.fromtimestamp(day / 1000, UTC).date().isoformat()
    for g in groups:
        if g.slug not in census:
            continue
        for ids in _pieces(*census[g.slug], PIECE_ROWS):
            t = _read(store, ids, day, resolution)
            if not t.num_rows:
                continue
            idx = pa.array(np.searchsorted(g.ids, np.asarray(t["series"])).astype(np.int32))
            cols: dict[str, pa.Array] = {
                "ts": pa.array(np.asarray(t["ts_ms"], dtype=np.int64)).cast(schema.field("ts").type)
            }
            for n in NAMES:
                cols[n] = pa.DictionaryArray.from_arrays(idx, g.names[n])
            for n in schema.names[len(NAMES) + 1 : -2]:
                cols[n] = t[n].combine_chunks()
            cols["date"] = pa.array([date] * t.num_rows, pa.string())
            cols["enterprise"] = pa.array([g.slug] * t.num_rows, pa.string())
            result.rows += t.num_rows
            yield from pa.table(cols, schema=schema).to_batches()


def export_parquet(
    store: Store,
    out: Path,
    first_day_ms: int,
    last_day_ms: int,
    *,
    enterprise: str | None = None,
    resolution: Resolution = "raw",
) -> ExportResult:
    """Write the UTC days from first_day_ms to last_day_ms (inclusive) under ``out``; a
    partition written again is replaced."""
    if last_day_ms < first_day_ms:
        raise BadInput("--to is before --from", where="--to")
    groups = _groups(store.catalog(), enterprise)
    schema = export_schema(resolution)
    fmt = ds.ParquetFileFormat()
    options = fmt.make_write_options(
        compression="zstd", coerce_timestamps="ms", allow_truncated_timestamps=False
    )
    result = ExportResult()
    first = first_day_ms - first_day_ms % DAY_MS
    end = last_day_ms - last_day_ms % DAY_MS + DAY_MS
    for day, census in _census(store, groups, first, end, resolution).items():
        before = result.rows
        ds.write_dataset(
            _batches(store, groups, day, census, resolution, result),
            out,
            schema=schema,
            format=fmt,
            file_options=options,
            partitioning=ds.partitioning(
                pa.schema([("date", pa.string()), ("enterprise", pa.string())]), flavor="hive"
            ),
            basename_template="part-{i}.parquet",
            existing_data_behavior="delete_matching",
            # Enterprises come one after another: few files need to stay open.
            max_open_files=16,
            min_rows_per_group=65_536,
            max_rows_per_group=1_048_576,
            file_visitor=lambda f: result.files.append(f.path),
        )
        result.days += result.rows > before
    return result
