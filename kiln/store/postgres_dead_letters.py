"""Dead letters in PostgreSQL: append in batches, keep the newest N, count every one per source
(the same rules and answers as kiln.store.duckdb_dead_letters)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
import pyarrow as pa

from kiln.domain.dead_letters import DeadLetter
from kiln.store.postgres_binary import rows_table

Connection = psycopg.Connection[Any]

NO_ENTERPRISE = -1  # dead_letter_counts keys on enterprise; -1 stands for "none named"
LETTERS = pa.schema(
    [
        ("id", pa.int64()),
        ("ts_ms", pa.int64()),
        ("enterprise_id", pa.int32()),
        ("adapter", pa.string()),
        ("source", pa.string()),
        ("reason", pa.string()),
        ("payload", pa.binary()),
    ]
)
COUNTS = pa.schema(
    [
        ("adapter", pa.string()),
        ("source", pa.string()),
        ("enterprise_id", pa.int32()),
        ("count", pa.int64()),
        ("last_ms", pa.int64()),
        ("last_reason", pa.string()),
    ]
)
_ROWS = (
    "unnest(%(ts)s::bigint[], %(ent)s::int[], %(adapter)s::text[], %(source)s::text[], "
    "%(reason)s::text[], %(payload)s::bytea[])"
)


def write_dead_letters(conn: Connection, letters: Sequence[DeadLetter], keep: int) -> None:
    """Append letters, update the per-source counts, and drop all but the newest ``keep``."""
    if not letters:
        return
    rows = {
        "ts": [d.ts_ms for d in letters],
        "ent": [d.enterprise_id for d in letters],
        "adapter": [d.adapter for d in letters],
        "source": [d.source for d in letters],
        "reason": [d.reason for d in letters],
        "payload": [d.head() for d in letters],
    }
    conn.execute(
        "INSERT INTO dead_letters (ts_ms, enterprise_id, adapter, source, reason, payload) "
        f"SELECT * FROM {_ROWS}",
        rows,
    )
    # The last reason is the newest letter's (the later one in the batch on a tie).
    conn.execute(
        "INSERT INTO dead_letter_counts "
        f"SELECT adapter, source, coalesce(ent, {NO_ENTERPRISE}), count(*), max(ts), "
        "(array_agg(reason ORDER BY ts DESC, k DESC))[1] "
        f"FROM {_ROWS} WITH ORDINALITY AS d(ts, ent, adapter, source, reason, payload, k) "
        "GROUP BY 1, 2, 3 "
        "ON CONFLICT (adapter, source, enterprise_id) DO UPDATE SET "
        "n = dead_letter_counts.n + excluded.n, "
        "last_ms = greatest(dead_letter_counts.last_ms, excluded.last_ms), "
        "last_reason = excluded.last_reason",
        rows,
    )
    # Trim in steps (not on every write) so a flood costs one delete per ~10% of the cap.
    total = conn.execute("SELECT count(*), max(id) FROM dead_letters").fetchone()
    assert total is not None
    if int(total[0]) > keep + max(keep // 10, 1):
        conn.execute("DELETE FROM dead_letters WHERE id <= %s", [int(total[1]) - keep])


def read_dead_letters(
    conn: Connection,
    enterprise_id: int | None,
    *,
    adapter: str | None,
    limit: int,
    before_id: int | None,
) -> pa.Table:
    """The newest letters first, of one enterprise (None: those that named no enterprise)."""
    where = ["enterprise_id IS NULL" if enterprise_id is None else "enterprise_id = %s"]
    params: list[object] = [] if enterprise_id is None else [enterprise_id]
    if adapter:
        where.append("adapter = %s")
        params.append(adapter)
    if before_id is not None:
        where.append("id < %s")
        params.append(before_id)
    params.append(limit)
    rows = conn.execute(
        "SELECT id, ts_ms, enterprise_id, adapter, source, reason, payload FROM dead_letters "
        f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT %s",
        params,
    ).fetchall()
    return rows_table(rows, LETTERS)


def read_dead_letter_counts(
    conn: Connection, enterprise_id: int | None, *, every: bool
) -> pa.Table:
    """Refusals per (adapter, source): count, last time, last reason; most recent first.

    Of one enterprise (None: those that named none), or of every enterprise when ``every``.
    """
    where = "" if every else "WHERE enterprise_id = %s"
    params = [] if every else [NO_ENTERPRISE if enterprise_id is None else enterprise_id]
    rows = conn.execute(
        "SELECT adapter, source, nullif(enterprise_id, -1), n, last_ms, last_reason "
        f"FROM dead_letter_counts {where} ORDER BY last_ms DESC",
        params,
    ).fetchall()
    return rows_table(rows, COUNTS)
