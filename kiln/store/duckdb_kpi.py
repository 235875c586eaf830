"""What the KPI service reads from DuckDB in bulk (state changes, count and energy sums cut at
given times) and the product runs it keeps.

Sums come per bucket of the widest width that every cut falls on (a month window is one
bucket per equipment, a trend by day one per day, shifts one per shift), never finer than an
hour; a bucket that a cut splits anyway (a custom window edge, a product change) comes as raw
rows instead. So no row straddles a cut, and each row carries a time inside the piece it sums.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from kiln.domain.product_runs import ProductChange

HOUR_MS = 3_600_000
LOOKBACK_MS = 7 * 86_400_000  # where the state before a window is looked for first
POINTS_UNION = (
    "(SELECT series, ts, value FROM points UNION ALL SELECT series, ts, value FROM points_hot)"
)
# list_contains on a list parameter filters a scan faster than IN (SELECT unnest(...)).
IN_EQUIPMENT = "list_contains($e::INTEGER[], equipment)"


def buckets(cuts_ms: Sequence[int], start_ms: int, end_ms: int) -> tuple[int, list[int]]:
    """The bucket width (from start_ms) that every cut falls on, at least an hour, and the
    buckets (by number) that some cut still splits.

    >>> buckets([0, 86_400_000], 0, 172_800_000)
    (86400000, [])
    >>> buckets([5_400_000], 0, 7_200_000)
    (3600000, [1])
    """
    offsets = [int(c) - start_ms for c in cuts_ms if start_ms < int(c) < end_ms]
    # A cut off the hour grid keeps the buckets at an hour, so only its own hour is read raw.
    grid = [d if d % HOUR_MS == 0 else HOUR_MS for d in offsets]
    width = max(math.gcd(max(end_ms - start_ms, 1), *grid), HOUR_MS)
    split = sorted({d // width for d in offsets if d % width})
    return width, split


def read_state_changes(
    con: duckdb.DuckDBPyConnection,
    equipment: Sequence[int],
    start_ms: int,
    end_ms: int,
    *,
    reasons: bool,
) -> pa.Table:
    """(equipment, ts_ms, state[, reason]) of the changes in [start_ms, end_ms) and each
    equipment's last change before start_ms, in no particular order."""
    cols = "equipment, ts AS ts_ms, state" + (", reason" if reasons else "")
    last = "max(ts) AS ts_ms, arg_max(state, ts) AS state" + (
        ", arg_max_null(reason, ts) AS reason" if reasons else ""
    )
    inside = con.sql(
        f"SELECT {cols} FROM states WHERE {IN_EQUIPMENT} AND ts >= $a AND ts < $b",
        params={"e": list(equipment), "a": start_ms, "b": end_ms},
    ).to_arrow_table()
    # The state in force at start_ms: usually changed within the last week (a cheap scan of
    # recent rows); equipment quiet for longer is looked up over all history.
    before = con.sql(
        f"SELECT equipment, {last} FROM states WHERE {IN_EQUIPMENT} AND ts >= $lo AND ts < $a "
        "GROUP BY equipment",
        params={"e": list(equipment), "a": start_ms, "lo": start_ms - LOOKBACK_MS},
    ).to_arrow_table()
    quiet = sorted(set(equipment) - set(before.column("equipment").to_pylist()))
    parts = [inside, before]
    if quiet:
        parts.append(
            con.sql(
                f"SELECT equipment, {last} FROM states WHERE {IN_EQUIPMENT} AND ts < $lo "
                "GROUP BY equipment",
                params={"e": quiet, "lo": start_ms - LOOKBACK_MS},
            ).to_arrow_table()
        )
    return pa.concat_tables([p.select(inside.column_names).cast(inside.schema) for p in parts])


def _bucketed(
    con: duckdb.DuckDBPyConnection,
    source: str,
    key: str,
    sums: dict[str, str],
    span: tuple[int, int],
    cuts_ms: Sequence[int],
    params: dict[str, object],
) -> pa.Table:
    """(key, ts_ms, sums...) of the rows of source (which reads $a and $b) summed per bucket
    (see `buckets`), stamped with the bucket's start; raw rows where a cut splits a bucket."""
    start_ms, end_ms = span
    width, split = buckets(cuts_ms, start_ms, end_ms)
    totals = ", ".join(f"{expr} AS {name}" for name, expr in sums.items())
    # One bucket for the whole span (a single window): grouping by the key alone, without a
    # bucket computed per row, halves the scan.
    one = width >= end_ms - start_ms
    bucket, group = ("0::BIGINT", key) if one else ("(ts - $a) // $w", "ALL")
    whole = con.sql(
        f"SELECT {key}, {bucket} AS bucket, {totals} FROM {source} GROUP BY {group}",
        params={**params, "a": start_ms, "b": end_ms} | ({} if one else {"w": width}),
    ).to_arrow_table()
    bucket = whole.column("bucket").to_numpy()
    out = pa.table(
        {
            key: whole.column(key),
            "ts_ms": pa.array(start_ms + bucket.astype("int64") * width, pa.int64()),
            **{name: whole.column(name) for name in sums},
        }
    )
    if not split:
        return out
    # The buckets a cut splits are read again as raw rows, and their sums dropped.
    out = out.filter(pc.invert(pc.is_in(whole.column("bucket"), pa.array(split, pa.int64()))))
    parts = [out]
    for k in split:
        a = start_ms + k * width
        raw = con.sql(
            f"SELECT {key}, ts AS ts_ms, {', '.join(f'{n} AS {n}' for n in sums)} FROM {source}",
            params={**params, "a": a, "b": min(end_ms, a + width)},
        ).to_arrow_table()
        parts.append(raw.cast(out.schema))
    return pa.concat_tables(parts)


def read_count_sums(
    con: duckdb.DuckDBPyConnection,
    equipment: Sequence[int],
    start_ms: int,
    end_ms: int,
    cuts_ms: Sequence[int],
) -> pa.Table:
    """(equipment, ts_ms, good, scrap, rework) in [start_ms, end_ms), summed per bucket (see
    `buckets`), raw where a cut splits one; no row straddles a cut."""
    source = f"(SELECT * FROM counts WHERE {IN_EQUIPMENT} AND ts >= $a AND ts < $b)"
    sums = {
        "good": "sum(good)::BIGINT",
        "scrap": "sum(scrap)::BIGINT",
        "rework": "sum(rework)::BIGINT",
    }
    return _bucketed(
        con, source, "equipment", sums, (start_ms, end_ms), cuts_ms, {"e": list(equipment)}
    )


def read_energy_sums(
    con: duckdb.DuckDBPyConnection,
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
    source = (
        "(SELECT series, ts, value * least(lead(ts, 1, ts + $hold) OVER "
        "(PARTITION BY series ORDER BY ts) - ts, $hold) / 3600000.0 AS energy_kwh "
        f"FROM {POINTS_UNION} WHERE list_contains($s::INTEGER[], series) "
        "AND ts >= $a AND ts < $b)"
    )
    return _bucketed(
        con,
        source,
        "series",
        {"energy_kwh": "sum(energy_kwh)"},
        (start_ms, end_ms),
        cuts_ms,
        {"s": list(series), "hold": max_hold_ms},
    )


def write_product_changes(con: duckdb.DuckDBPyConnection, changes: Sequence[ProductChange]) -> int:
    """Insert product changes; one at the same (equipment, start_ms) as a stored one replaces it."""
    if not changes:
        return 0
    rows = pa.table(
        {
            "equipment": pa.array([c.equipment for c in changes], pa.int32()),
            "start_ms": pa.array([c.start_ms for c in changes], pa.int64()),
            "product": pa.array([c.product for c in changes], pa.string()),
            "pri_s": pa.array([c.ideal_cycle_s for c in changes], pa.float64()),
            "enterprise_id": pa.array([c.enterprise_id for c in changes], pa.int32()),
            "line_id": pa.array([c.line_id for c in changes], pa.int32()),
            "recorded_ms": pa.array([c.recorded_ms for c in changes], pa.int64()),
            "recorded_by": pa.array([c.recorded_by for c in changes], pa.string()),
        }
    )
    con.register("_product_rows", rows)
    try:
        con.execute("INSERT OR REPLACE INTO product_runs SELECT * FROM _product_rows")
    finally:
        with contextlib.suppress(duckdb.Error):  # already gone if the transaction failed
            con.unregister("_product_rows")
    return len(changes)


def read_product_changes(
    con: duckdb.DuckDBPyConnection, equipment: Sequence[int], end_ms: int
) -> pa.Table:
    """Product changes of the equipment that start before end_ms, by equipment and start."""
    return con.sql(
        "SELECT equipment, start_ms, product, pri_s AS ideal_cycle_s, enterprise_id, line_id, "
        "recorded_ms, recorded_by FROM product_runs "
        "WHERE equipment IN (SELECT unnest($e::INTEGER[])) AND start_ms < $b "
        "ORDER BY equipment, start_ms",
        params={"e": list(equipment), "b": end_ms},
    ).to_arrow_table()
