"""What the KPI service reads from PostgreSQL in bulk (state changes, count and energy sums cut
at given times) and the product runs it keeps: kiln.store.duckdb_kpi's answers, in SQL for
PostgreSQL (the bucket rule, `buckets`, is shared)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from kiln.domain.product_runs import ProductChange
from kiln.store.duckdb_kpi import buckets
from kiln.store.postgres_binary import fetch_table, rows_table

Connection = psycopg.Connection[Any]

PRODUCT_RUNS = pa.schema(
    [
        ("equipment", pa.int32()),
        ("start_ms", pa.int64()),
        ("product", pa.string()),
        ("ideal_cycle_s", pa.float64()),
        ("enterprise_id", pa.int32()),
        ("line_id", pa.int32()),
        ("recorded_ms", pa.int64()),
        ("recorded_by", pa.string()),
    ]
)
_WINDOW = "ts >= %(a)s::bigint AND ts < %(b)s::bigint"


def read_state_changes(
    conn: Connection,
    equipment: Sequence[int],
    start_ms: int,
    end_ms: int,
    *,
    reasons: bool,
) -> pa.Table:
    """(equipment, ts_ms, state[, reason]) of the changes in [start_ms, end_ms) and each
    equipment's last change before start_ms, in no particular order."""
    fields = [("equipment", pa.int32()), ("ts_ms", pa.int64()), ("state", pa.int8())]
    cols = "equipment, ts AS ts_ms, state" + (", reason" if reasons else "")
    # The state in force at start_ms: one backward index probe per equipment, however long
    # ago it changed.
    return fetch_table(
        conn,
        f"SELECT {cols} FROM states WHERE equipment = ANY(%(e)s::int[]) AND {_WINDOW} "
        f"UNION ALL SELECT l.* FROM (SELECT DISTINCT unnest(%(e)s::int[]) AS equipment) eq "
        f"CROSS JOIN LATERAL (SELECT {cols} FROM states s WHERE s.equipment = eq.equipment "
        "AND s.ts < %(a)s::bigint ORDER BY s.ts DESC LIMIT 1) l",
        {"e": list(equipment), "a": start_ms, "b": end_ms},
        pa.schema(fields + ([("reason", pa.string())] if reasons else [])),
    )


def _bucketed(
    conn: Connection,
    source: str,
    key: str,
    sums: dict[str, str],
    span: tuple[int, int],
    cuts_ms: Sequence[int],
    params: dict[str, object],
    schema: pa.Schema,
) -> pa.Table:
    """(key, ts_ms, sums...) of the rows of source (which reads %(a)s and %(b)s) summed per
    bucket (see `buckets`), stamped with the bucket's start; raw rows where a cut splits one."""
    start_ms, end_ms = span
    width, split = buckets(cuts_ms, start_ms, end_ms)
    totals = ", ".join(f"{expr} AS {name}" for name, expr in sums.items())
    # One bucket for the whole span (a single window): group by the key alone.
    one = width >= end_ms - start_ms
    bucket = "0::bigint" if one else "(ts - %(a)s::bigint) / %(w)s::bigint"
    whole = fetch_table(
        conn,
        f"SELECT {key}, {bucket} AS bucket, {totals} FROM {source} GROUP BY 1, 2",
        {**params, "a": start_ms, "b": end_ms, "w": width},
        pa.schema([schema.field(key), ("bucket", pa.int64()), *(schema.field(n) for n in sums)]),
    )
    number = whole.column("bucket").to_numpy()
    out = pa.table(
        {
            key: whole.column(key),
            "ts_ms": pa.array(start_ms + number.astype(np.int64) * width, pa.int64()),
            **{name: whole.column(name) for name in sums},
        },
        schema=schema,
    )
    if not split:
        return out
    # The buckets a cut splits are read again as raw rows, and their sums dropped.
    out = out.filter(pc.invert(pc.is_in(whole.column("bucket"), pa.array(split, pa.int64()))))
    parts = [out]
    raw = f"SELECT {key}, ts AS ts_ms, {', '.join(f'{n} AS {n}' for n in sums)} FROM {source}"
    for k in split:
        a = start_ms + k * width
        parts.append(
            fetch_table(conn, raw, {**params, "a": a, "b": min(end_ms, a + width)}, schema)
        )
    return pa.concat_tables(parts)


def read_count_sums(
    conn: Connection,
    equipment: Sequence[int],
    start_ms: int,
    end_ms: int,
    cuts_ms: Sequence[int],
) -> pa.Table:
    """(equipment, ts_ms, good, scrap, rework) in [start_ms, end_ms), summed per bucket (see
    `buckets`), raw where a cut splits one; no row straddles a cut."""
    source = f"(SELECT * FROM counts WHERE equipment = ANY(%(e)s::int[]) AND {_WINDOW}) c"
    sums = {
        "good": "sum(good)::bigint",
        "scrap": "sum(scrap)::bigint",
        "rework": "sum(rework)::bigint",
    }
    schema = pa.schema(
        [
            ("equipment", pa.int32()),
            ("ts_ms", pa.int64()),
            ("good", pa.int64()),
            ("scrap", pa.int64()),
            ("rework", pa.int64()),
        ]
    )
    return _bucketed(
        conn,
        source,
        "equipment",
        sums,
        (start_ms, end_ms),
        cuts_ms,
        {"e": list(equipment)},
        schema,
    )


def read_energy_sums(
    conn: Connection,
    series: Sequence[int],
    start_ms: int,
    end_ms: int,
    cuts_ms: Sequence[int],
    *,
    max_hold_ms: int,
) -> pa.Table:
    """(series, ts_ms, energy_kwh) from power samples in kW: each sample holds until the next
    of its series, at most max_hold_ms (a silent meter is no reading), and counts at its own
    time; summed per bucket like `read_count_sums`."""
    hold = "%(hold)s::bigint"
    source = (
        f"(SELECT series, ts, value * least(lead(ts, 1, ts + {hold}) OVER "
        f"(PARTITION BY series ORDER BY ts) - ts, {hold})::float8 / 3600000.0::float8 "
        f"AS energy_kwh FROM points WHERE series = ANY(%(s)s::int[]) AND {_WINDOW}) p"
    )
    schema = pa.schema(
        [("series", pa.int32()), ("ts_ms", pa.int64()), ("energy_kwh", pa.float64())]
    )
    return _bucketed(
        conn,
        source,
        "series",
        {"energy_kwh": "sum(energy_kwh)"},
        (start_ms, end_ms),
        cuts_ms,
        {"s": list(series), "hold": max_hold_ms},
        schema,
    )


def write_product_changes(conn: Connection, changes: Sequence[ProductChange]) -> int:
    """Insert product changes; one at the same (equipment, start_ms) as a stored one (or a
    later one in the same call) replaces it."""
    if not changes:
        return 0
    latest = list({(c.equipment, c.start_ms): c for c in changes}.values())
    conn.execute(
        "INSERT INTO product_runs SELECT * FROM unnest(%s::int[], %s::bigint[], %s::text[], "
        "%s::float8[], %s::int[], %s::int[], %s::bigint[], %s::text[]) "
        "ON CONFLICT (equipment, start_ms) DO UPDATE SET product = excluded.product, "
        "pri_s = excluded.pri_s, enterprise_id = excluded.enterprise_id, "
        "line_id = excluded.line_id, recorded_ms = excluded.recorded_ms, "
        "recorded_by = excluded.recorded_by",
        [
            [c.equipment for c in latest],
            [c.start_ms for c in latest],
            [c.product for c in latest],
            [None if c.ideal_cycle_s is None else float(c.ideal_cycle_s) for c in latest],
            [c.enterprise_id for c in latest],
            [c.line_id for c in latest],
            [c.recorded_ms for c in latest],
            [c.recorded_by for c in latest],
        ],
    )
    return len(changes)


def read_product_changes(conn: Connection, equipment: Sequence[int], end_ms: int) -> pa.Table:
    """Product changes of the equipment that start before end_ms, by equipment and start."""
    rows = conn.execute(
        "SELECT equipment, start_ms, product, pri_s, enterprise_id, line_id, recorded_ms, "
        "recorded_by FROM product_runs WHERE equipment = ANY(%s::int[]) AND start_ms < %s "
        "ORDER BY equipment, start_ms",
        [list(equipment), end_ms],
    ).fetchall()
    return rows_table(rows, PRODUCT_RUNS)
