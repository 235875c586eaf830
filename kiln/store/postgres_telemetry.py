"""Telemetry writes in PostgreSQL: batch claims, binary COPY of points and counts, states, and
the last value of each series; all inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg

from kiln.domain.batches import Bundle, PointBatch
from kiln.store.postgres_binary import copy_in, copy_rows

Connection = psycopg.Connection[Any]


def claim_batch_ids(conn: Connection, batch_ids: Sequence[str | None]) -> list[bool]:
    """Record the batch ids not committed before, in one statement; True for each item to
    store (no id, or the first copy of an id nobody committed).

    A concurrent transaction claiming the same id makes this one wait for its outcome: if it
    commits, the id is taken and its batch is skipped here.
    """
    named = list(dict.fromkeys(b for b in batch_ids if b is not None))
    if not named:
        return [True] * len(batch_ids)
    rows = conn.execute(
        "INSERT INTO batches SELECT unnest(%s::text[]), "
        "(extract(epoch FROM now()) * 1000)::bigint ON CONFLICT DO NOTHING RETURNING id",
        [named],
    ).fetchall()
    claimed = {r[0] for r in rows}
    fresh = []
    for bid in batch_ids:
        fresh.append(bid is None or bid in claimed)
        claimed.discard(bid)  # a second copy in the same group is a duplicate too
    return fresh


def copy_points(conn: Connection, batch: PointBatch) -> None:
    """Append points with one binary COPY."""
    if len(batch):
        rows = copy_rows([(batch.series, ">i4"), (batch.ts_ms, ">i8"), (batch.value, ">f8")])
        copy_in(conn.cursor(), "points", ("series", "ts", "value"), rows)


def write_states(conn: Connection, bundle: Bundle) -> int:
    """Append state changes (few per batch: one statement over arrays)."""
    s = bundle.states
    if len(s):
        conn.execute(
            "INSERT INTO states (equipment, ts, state, reason) "
            "SELECT * FROM unnest(%s::int[], %s::bigint[], %s::smallint[], %s::text[])",
            [s.equipment.tolist(), s.ts_ms.tolist(), s.state.tolist(), s.reasons()],
        )
    return len(s)


def write_counts(conn: Connection, bundle: Bundle) -> int:
    """Append production counts with one binary COPY."""
    c = bundle.counts
    if len(c):
        rows = copy_rows(
            [
                (c.equipment, ">i4"),
                (c.ts_ms, ">i8"),
                (c.good, ">i8"),
                (c.scrap, ">i8"),
                (c.rework, ">i8"),
            ]
        )
        copy_in(conn.cursor(), "counts", ("equipment", "ts", "good", "scrap", "rework"), rows)
    return len(c)


def save_last_values(conn: Connection, latest: PointBatch) -> None:
    """Upsert the latest point of each series (one per series, ordered by series), keeping a
    stored one that is newer.

    Rows are locked in series order, so writers sharing series never deadlock here.
    """
    if len(latest):
        conn.execute(
            "INSERT INTO series_last (series, ts, value) "
            "SELECT * FROM unnest(%s::int[], %s::bigint[], %s::float8[]) "
            "ON CONFLICT (series) DO UPDATE SET ts = excluded.ts, value = excluded.value "
            "WHERE excluded.ts >= series_last.ts",
            [
                latest.series.tolist(),
                latest.ts_ms.tolist(),
                latest.value.astype(np.float64).tolist(),
            ],
        )
