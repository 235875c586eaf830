"""Parquet export: Hive layout by UTC day and enterprise, read back by DuckDB, typed for Spark."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kiln.domain.batches import Bundle, PointBatch
from kiln.errors import BadInput
from kiln.store import export as export_module
from kiln.store.duckdb import DuckDBStore
from kiln.store.export import export_parquet
from tests.conftest import NOW_MS

MIN, DAY = 60_000, 86_400_000
TODAY = NOW_MS - NOW_MS % DAY
LAYOUT = re.compile(r"date=\d{4}-\d{2}-\d{2}/enterprise=[a-z0-9-]+/part-0\.parquet")


@pytest.fixture
def filled(store: DuckDBStore) -> DuckDBStore:
    """Every signal every 30 s from two days before today to now; compacted, rolled up."""
    sids = np.array(sorted(store.catalog().signals))
    ts = np.arange(TODAY - 2 * DAY, NOW_MS, 30_000)
    values = np.tile(np.arange(len(ts)) % 100 / 10, len(sids))
    store.write(
        Bundle(points=PointBatch.of(np.repeat(sids, len(ts)), np.tile(ts, len(sids)), values))
    )
    store.compact()
    return store


def query(sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


def read(out: Path, what: str = "count(*)") -> Any:
    """One row of a query over the export, as DuckDB reads it: Hive partitions as columns."""
    row = query(f"SELECT {what} FROM read_parquet('{out}/**/*.parquet', hive_partitioning=true)")[0]
    return row[0] if len(row) == 1 else row


def test_raw_points_come_back_through_duckdb(filled: DuckDBStore, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = export_parquet(filled, out, TODAY - 2 * DAY, TODAY)
    stored = filled.points(sorted(filled.catalog().signals), 0, NOW_MS + 1)
    assert result.rows == stored.num_rows == read(out)
    assert result.days == 3
    assert len(result.files) == 3 * 2  # three days, two enterprises
    for f in result.files:
        assert LAYOUT.search(f), f
    assert read(out, "sum(value)") == pytest.approx(float(np.sum(stored["value"])))
    # The partitions come back as columns, typed: the date as a date, ts with its time zone.
    types = query(
        f"SELECT typeof(ts), typeof(date), typeof(enterprise), min(ts) "
        f"FROM read_parquet('{out}/**/*.parquet', hive_partitioning=true) GROUP BY ALL"
    )
    assert [t[:3] for t in types] == [("TIMESTAMP WITH TIME ZONE", "DATE", "VARCHAR")]
    assert types[0][3].timestamp() * 1000 == TODAY - 2 * DAY


def test_each_row_is_named_down_to_the_signal(filled: DuckDBStore, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export_parquet(filled, out, TODAY, TODAY, enterprise="acme-auto")
    got = query(
        f"SELECT DISTINCT enterprise, site, line, station, equipment, signal, unit "
        f"FROM read_parquet('{out}/**/*.parquet', hive_partitioning=true) "
        "WHERE signal = 'tonnage'"
    )
    assert got == [("acme-auto", "nanhai-1", "tandem-a", "op10", "press-1", "tonnage", "kN")]
    assert {p.name for p in out.iterdir()} == {"date=2025-11-24"}
    assert {p.name for p in (out / "date=2025-11-24").iterdir()} == {"enterprise=acme-auto"}


def test_the_parquet_types_are_ones_spark_reads(filled: DuckDBStore, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = export_parquet(filled, out, TODAY, TODAY, resolution="1m")
    meta = pq.ParquetFile(result.files[0])
    ts = meta.schema.column(0)
    assert (ts.name, ts.physical_type) == ("ts", "INT64")
    logical = json.loads(ts.logical_type.to_json())
    assert (logical["Type"], logical["isAdjustedToUTC"], logical["timeUnit"]) == (
        "Timestamp",
        True,
        "milliseconds",
    )
    physical = {
        meta.schema.column(i).name: meta.schema.column(i).physical_type
        for i in range(len(meta.schema))
    }
    assert physical == {
        "ts": "INT64",
        **dict.fromkeys(("site", "line", "station", "equipment", "signal", "unit"), "BYTE_ARRAY"),
        **dict.fromkeys(("value", "min", "max", "last"), "DOUBLE"),
        "count": "INT64",
    }
    assert "INT96" not in str(meta.schema)
    assert "date" not in physical  # partition columns live in the path, as Hive has them
    assert "enterprise" not in physical


def test_rollup_exports_hold_the_same_points(filled: DuckDBStore, tmp_path: Path) -> None:
    raw, hourly = tmp_path / "raw", tmp_path / "1h"
    export_parquet(filled, raw, TODAY - 2 * DAY, TODAY)
    result = export_parquet(filled, hourly, TODAY - 2 * DAY, TODAY, resolution="1h")
    assert result.rows == len(filled.catalog().signals) * (2 * 24 + 16)
    assert read(hourly, "sum(count)") == read(raw)
    assert read(hourly, "sum(value * count)") == pytest.approx(read(raw, "sum(value)"))
    assert read(hourly, "max(max)") == read(raw, "max(value)")


def test_memory_is_bounded_by_reading_in_pieces(
    filled: DuckDBStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, pieces = tmp_path / "whole", tmp_path / "pieces"
    export_parquet(filled, whole, TODAY, TODAY)
    reads: list[int] = []
    real = filled.points
    monkeypatch.setattr(export_module, "PIECE_ROWS", 3_000)

    def counted(series: list[int], start_ms: int, end_ms: int) -> pa.Table:
        reads.append(len(series))
        return real(series, start_ms, end_ms)

    monkeypatch.setattr(filled, "points", counted)
    export_parquet(filled, pieces, TODAY, TODAY)
    assert max(reads) < len(filled.catalog().signals)
    assert len(reads) > 2
    assert read(pieces, "count(*), sum(value)") == read(whole, "count(*), sum(value)")


def test_exporting_a_day_again_replaces_it(filled: DuckDBStore, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export_parquet(filled, out, TODAY, TODAY)
    first = read(out)
    export_parquet(filled, out, TODAY, TODAY)
    export_parquet(filled, out, TODAY - DAY, TODAY - DAY)
    assert read(out) == first + read(out, "count(*) FILTER (WHERE date < '2025-11-24')")
    assert len(list(out.rglob("*.parquet"))) == 4


def test_days_without_points_write_nothing(filled: DuckDBStore, tmp_path: Path) -> None:
    result = export_parquet(filled, tmp_path / "x", TODAY - 9 * DAY, TODAY - 8 * DAY)
    assert (result.rows, result.days, result.files) == (0, 0, [])


def test_bad_requests_name_the_option(filled: DuckDBStore, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="--enterprise: no enterprise 'nosuch'"):
        export_parquet(filled, tmp_path, TODAY, TODAY, enterprise="nosuch")
    with pytest.raises(BadInput, match="--to: --to is before --from"):
        export_parquet(filled, tmp_path, TODAY, TODAY - DAY)
