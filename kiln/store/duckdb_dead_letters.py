"""Dead letters in DuckDB: append in batches, keep the newest N, count every one per source."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from kiln.domain.dead_letters import DeadLetter

NO_ENTERPRISE = -1  # dead_letter_counts keys on enterprise; -1 stands for "none named"


def write_dead_letters(
    con: duckdb.DuckDBPyConnection, letters: Sequence[DeadLetter], keep: int
) -> None:
    """Append letters, update the per-source counts, and drop all but the newest ``keep``."""
    if not letters:
        return
    rows = pa.table(
        {
            "ts_ms": pa.array([d.ts_ms for d in letters], pa.int64()),
            "enterprise_id": pa.array([d.enterprise_id for d in letters], pa.int32()),
            "adapter": pa.array([d.adapter for d in letters], pa.string()),
            "source": pa.array([d.source for d in letters], pa.string()),
            "reason": pa.array([d.reason for d in letters], pa.string()),
            "payload": pa.array([d.head() for d in letters], pa.binary()),
        }
    )
    con.register("_dead", rows)
    try:
        con.execute(
            "INSERT INTO dead_letters (ts_ms, enterprise_id, adapter, source, reason, payload) "
            "SELECT * FROM _dead"
        )
        con.execute(
            "INSERT INTO dead_letter_counts "
            f"SELECT adapter, source, coalesce(enterprise_id, {NO_ENTERPRISE}), count(*), "
            "max(ts_ms), arg_max(reason, ts_ms) FROM _dead GROUP BY ALL "
            "ON CONFLICT (adapter, source, enterprise_id) DO UPDATE SET "
            "n = dead_letter_counts.n + excluded.n, "
            "last_ms = greatest(dead_letter_counts.last_ms, excluded.last_ms), "
            "last_reason = excluded.last_reason"
        )
    finally:
        con.unregister("_dead")
    # Trim in steps (not on every write) so a flood costs one delete per ~10% of the cap.
    total = con.execute("SELECT count(*), max(id) FROM dead_letters").fetchall()[0]
    if int(total[0]) > keep + max(keep // 10, 1):
        con.execute("DELETE FROM dead_letters WHERE id <= ?", [int(total[1]) - keep])


def read_dead_letters(
    con: duckdb.DuckDBPyConnection,
    enterprise_id: int | None,
    *,
    adapter: str | None,
    limit: int,
    before_id: int | None,
) -> pa.Table:
    """The newest letters first, of one enterprise (None: those that named no enterprise)."""
    where = ["enterprise_id IS NULL" if enterprise_id is None else "enterprise_id = ?"]
    params: list[object] = [] if enterprise_id is None else [enterprise_id]
    if adapter:
        where.append("adapter = ?")
        params.append(adapter)
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    params.append(limit)
    return con.sql(
        "SELECT id, ts_ms, enterprise_id, adapter, source, reason, payload FROM dead_letters "
        f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        params=params,
    ).to_arrow_table()


def read_dead_letter_counts(
    con: duckdb.DuckDBPyConnection, enterprise_id: int | None, *, every: bool
) -> pa.Table:
    """Refusals per (adapter, source): count, last time, last reason; most recent first.

    Of one enterprise (None: those that named none), or of every enterprise when ``every``.
    """
    where = "" if every else "WHERE enterprise_id = ?"
    params = [] if every else [NO_ENTERPRISE if enterprise_id is None else enterprise_id]
    return con.sql(
        "SELECT adapter, source, nullif(enterprise_id, -1)::INTEGER AS enterprise_id, n AS count, "
        f"last_ms, last_reason FROM dead_letter_counts {where} ORDER BY last_ms DESC",
        params=params,
    ).to_arrow_table()
