"""DuckDBStore: Kiln's embedded store, one DuckDB file."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from kiln.domain.asset_document import parse_asset_document
from kiln.domain.batches import Bundle, PointBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter
from kiln.errors import Unavailable
from kiln.store.base import MAX_CHART_POINTS, StorageStats, bucket_width_ms
from kiln.store.duckdb_accounts import DuckDBAccounts
from kiln.store.duckdb_assets import load_catalog, seed_districts, upsert_tree
from kiln.store.duckdb_dead_letters import (
    read_dead_letter_counts,
    read_dead_letters,
    write_dead_letters,
)

# A batch at least this large goes straight into the sorted table; smaller ones wait in
# points_hot until compact() sorts them in (live streams send many small batches).
DIRECT_ROWS = 50_000
POINTS_UNION = (
    "(SELECT series, ts, value FROM points UNION ALL SELECT series, ts, value FROM points_hot)"
)


class DuckDBStore:
    """Kiln's store in one DuckDB file (or in memory for ':memory:')."""

    def __init__(self, path: str | Path, *, memory_limit: str = "1GB", threads: int = 2) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = duckdb.connect(
                self.path, config={"memory_limit": memory_limit, "threads": threads}
            )
        except duckdb.IOException as err:
            raise Unavailable(f"cannot open the DuckDB file: {err}", where=self.path) from err
        self._write_lock = threading.Lock()
        self._local = threading.local()
        schema = resources.files("kiln.store").joinpath("sql/duckdb_schema.sql").read_text()
        self._db.execute(schema)
        seed_districts(self._db)
        self._catalog = load_catalog(self._db)
        self.accounts = DuckDBAccounts(self._cursor, self._write_lock)

    # -- connections -------------------------------------------------------------------------

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        # One cursor per thread: DuckDB connections are not shared between threads.
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cur", None)
        if cur is None:
            cur = self._db.cursor()
            self._local.cur = cur
        return cur

    def _query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> pa.Table:
        args = params if isinstance(params, dict) else list(params)
        return self._cursor().sql(sql, params=args).to_arrow_table()

    # -- writes ------------------------------------------------------------------------------

    def write(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        """Store a bundle atomically; a batch_id already committed is skipped (returns 0)."""
        with self._write_lock:
            con = self._cursor()
            con.execute("BEGIN TRANSACTION")
            try:
                if batch_id is not None:
                    if con.execute("SELECT 1 FROM batches WHERE id = ?", [batch_id]).fetchall():
                        con.execute("ROLLBACK")
                        return 0
                    con.execute("INSERT INTO batches VALUES (?, epoch_ms(now()))", [batch_id])
                added = self._write_points(con, bundle.points)
                added += self._write_states(con, bundle)
                added += self._write_counts(con, bundle)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            return added

    def write_points(self, batch: PointBatch) -> int:
        """Store points atomically; return rows added."""
        return self.write(Bundle(points=batch))

    @staticmethod
    def _insert(
        con: duckdb.DuckDBPyConnection, table: str, arrow: pa.Table, then: str = ""
    ) -> None:
        """Insert an Arrow table into a table, then run an optional statement that reads it."""
        con.register("_new_rows", arrow)
        try:
            con.execute(f"INSERT INTO {table} SELECT * FROM _new_rows")
            if then:
                con.execute(then)
        finally:
            with contextlib.suppress(duckdb.Error):  # already gone if the transaction failed
                con.unregister("_new_rows")

    @classmethod
    def _write_points(cls, con: duckdb.DuckDBPyConnection, batch: PointBatch) -> int:
        if not len(batch):
            return 0
        table = "points" if len(batch) >= DIRECT_ROWS else "points_hot"
        if table == "points" and np.any(np.diff(batch.series) < 0):
            batch = batch.sorted()
        arrow = pa.table(
            {"series": batch.series.astype(np.int32), "ts": batch.ts_ms, "value": batch.value}
        )
        cls._insert(
            con,
            table,
            arrow,
            then=(
                "INSERT INTO series_last SELECT series, max(ts), arg_max(value, ts) "
                "FROM _new_rows GROUP BY series "
                "ON CONFLICT (series) DO UPDATE SET ts = excluded.ts, value = excluded.value "
                "WHERE excluded.ts >= series_last.ts"
            ),
        )
        return len(batch)

    @classmethod
    def _write_states(cls, con: duckdb.DuckDBPyConnection, bundle: Bundle) -> int:
        s = bundle.states
        if len(s):
            cls._insert(
                con,
                "states",
                pa.table(
                    {
                        "equipment": s.equipment.astype(np.int32),
                        "ts": s.ts_ms,
                        "state": s.state,
                        "reason": pa.array(s.reasons(), pa.string()),
                    }
                ),
            )
        return len(s)

    @classmethod
    def _write_counts(cls, con: duckdb.DuckDBPyConnection, bundle: Bundle) -> int:
        c = bundle.counts
        if len(c):
            cls._insert(
                con,
                "counts",
                pa.table(
                    {
                        "equipment": c.equipment.astype(np.int32),
                        "ts": c.ts_ms,
                        "good": c.good,
                        "scrap": c.scrap,
                    }
                ),
            )
        return len(c)

    def compact(self) -> int:
        """Move the points waiting in points_hot into points, sorted by series and time."""
        with self._write_lock:
            con = self._cursor()
            con.execute("BEGIN TRANSACTION")
            try:
                moved = con.execute(
                    "INSERT INTO points SELECT series, ts, value FROM points_hot "
                    "ORDER BY series, ts"
                ).fetchall()
                con.execute("DELETE FROM points_hot")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return int(moved[0][0]) if moved else 0

    def hot_rows(self) -> int:
        """Points waiting in points_hot for compaction."""
        rows = self._cursor().execute("SELECT count(*) FROM points_hot").fetchall()
        return int(rows[0][0])

    # -- reads -------------------------------------------------------------------------------

    def points(self, series: Sequence[int], start_ms: int, end_ms: int) -> pa.Table:
        """Raw points with start_ms <= ts_ms < end_ms, ordered by series, then ts_ms."""
        return self._query(
            f"SELECT series, ts AS ts_ms, value FROM {POINTS_UNION} "
            "WHERE series IN (SELECT unnest(?::INTEGER[])) AND ts >= ? AND ts < ? "
            "ORDER BY series, ts",
            [list(series), start_ms, end_ms],
        )

    def buckets(
        self,
        series: int,
        start_ms: int,
        end_ms: int,
        *,
        max_points: int = MAX_CHART_POINTS,
        bucket_ms: int = 0,
    ) -> pa.Table:
        """Aggregates per bucket (ts_ms, avg, min, max, last, count), at most max_points rows."""
        width = bucket_width_ms(start_ms, end_ms, max_points, bucket_ms)
        return self._query(
            "SELECT (ts // $w) * $w AS ts_ms, avg(value) AS avg, min(value) AS min, "
            "max(value) AS max, arg_max(value, ts) AS last, count(*) AS count FROM ("
            "SELECT ts, value FROM points WHERE series = $s AND ts >= $a AND ts < $b "
            "UNION ALL SELECT ts, value FROM points_hot WHERE series = $s AND ts >= $a AND ts < $b"
            ") GROUP BY 1 ORDER BY 1",
            {"w": width, "s": series, "a": start_ms, "b": end_ms},
        )

    def last_values(self, series: Sequence[int] | None = None) -> pa.Table:
        """The latest (series, ts_ms, value) of each series (all series when None)."""
        if series is None:
            return self._query("SELECT series, ts AS ts_ms, value FROM series_last ORDER BY series")
        return self._query(
            "SELECT series, ts AS ts_ms, value FROM series_last "
            "WHERE series IN (SELECT unnest(?::INTEGER[])) ORDER BY series",
            [list(series)],
        )

    def state_intervals(self, equipment: Sequence[int], start_ms: int, end_ms: int) -> pa.Table:
        """Intervals (equipment, start_ms, end_ms, state, reason) clipped to the window."""
        # The interval open at start_ms began with the last change before it; later changes
        # close each interval, and the last one runs to end_ms.
        return self._query(
            "WITH eq AS (SELECT unnest($e::INTEGER[]) AS equipment), "
            "chg AS (SELECT s.* FROM states s JOIN eq USING (equipment) WHERE ts >= $a AND ts < $b "
            "UNION ALL SELECT s.equipment, max(s.ts), arg_max(s.state, s.ts), "
            "arg_max_null(s.reason, s.ts) "
            "FROM states s JOIN eq USING (equipment) WHERE ts < $a "
            "GROUP BY s.equipment), "
            "ivl AS (SELECT equipment, greatest(ts, $a) AS start_ms, "
            "lead(ts, 1, $b) OVER (PARTITION BY equipment ORDER BY ts) AS end_ms, state, reason "
            "FROM chg) "
            "SELECT equipment, start_ms, end_ms, state, reason FROM ivl WHERE end_ms > start_ms "
            "ORDER BY equipment, start_ms",
            {"e": list(equipment), "a": start_ms, "b": end_ms},
        )

    def current_states(self, equipment: Sequence[int] | None = None) -> pa.Table:
        """The latest state change (equipment, ts_ms, state, reason) of each equipment."""
        where = "" if equipment is None else "WHERE equipment IN (SELECT unnest(?::INTEGER[]))"
        params = [] if equipment is None else [list(equipment)]
        return self._query(
            "SELECT equipment, max(ts) AS ts_ms, arg_max(state, ts) AS state, "
            f"arg_max_null(reason, ts) AS reason FROM states {where} GROUP BY equipment "
            "ORDER BY equipment",
            params,
        )

    def counts(
        self, equipment: Sequence[int], start_ms: int, end_ms: int, *, bucket_ms: int = 0
    ) -> pa.Table:
        """Summed good and scrap per equipment (and per bucket when bucket_ms > 0)."""
        bucket = f"(ts // {int(bucket_ms)}) * {int(bucket_ms)}" if bucket_ms > 0 else f"{start_ms}"
        return self._query(
            f"SELECT equipment, {bucket} AS ts_ms, sum(good)::BIGINT AS good, "
            "sum(scrap)::BIGINT AS scrap "
            "FROM counts WHERE equipment IN (SELECT unnest(?::INTEGER[])) "
            "AND ts >= ? AND ts < ? "
            "GROUP BY ALL ORDER BY equipment, ts_ms",
            [list(equipment), start_ms, end_ms],
        )

    # -- assets ------------------------------------------------------------------------------

    def catalog(self) -> AssetCatalog:
        """Every asset, indexed (rebuilt after each import)."""
        return self._catalog

    def import_assets(self, doc: dict[str, Any], *, where: str = "assets") -> AssetCatalog:
        """Create or update the assets of a document atomically; return the new catalogue."""
        tree = parse_asset_document(doc, where=where)
        with self._write_lock:
            con = self._cursor()
            con.execute("BEGIN TRANSACTION")
            try:
                upsert_tree(con, tree, self._catalog)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            self._catalog = load_catalog(con)
        return self._catalog

    def get_meta(self, key: str) -> str | None:
        """A value Kiln keeps about itself (e.g. how far the simulator got), or None."""
        rows = self._cursor().execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        return str(rows[0][0]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        """Keep a value about Kiln itself."""
        with self._write_lock:
            self._cursor().execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    # -- dead letters ------------------------------------------------------------------------

    def write_dead_letters(self, letters: Sequence[DeadLetter], *, keep: int = 100_000) -> None:
        """Keep refused messages (the newest ``keep``) and count them per source."""
        with self._write_lock:
            con = self._cursor()
            con.execute("BEGIN TRANSACTION")
            try:
                write_dead_letters(con, letters, keep)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def dead_letters(
        self,
        enterprise_id: int | None,
        *,
        adapter: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> pa.Table:
        """Refused messages, newest first, of one enterprise (None: those naming none)."""
        return read_dead_letters(
            self._cursor(), enterprise_id, adapter=adapter, limit=limit, before_id=before_id
        )

    def dead_letter_counts(self, enterprise_id: int | None, *, every: bool = False) -> pa.Table:
        """Refusals per (adapter, source), of one enterprise or (``every``) of all."""
        return read_dead_letter_counts(self._cursor(), enterprise_id, every=every)

    # -- housekeeping ------------------------------------------------------------------------

    def stats(self) -> StorageStats:
        """Row counts and bytes on disk (after a checkpoint, so the file is current)."""
        con = self._cursor()
        con.execute("CHECKPOINT")
        row = con.execute(
            "SELECT (SELECT count(*) FROM points) + (SELECT count(*) FROM points_hot), "
            "(SELECT count(*) FROM states), (SELECT count(*) FROM counts), "
            "(SELECT count(*) FROM signals)"
        ).fetchall()[0]
        size = os.path.getsize(self.path) if self.path != ":memory:" else 0
        return StorageStats(int(row[0]), int(row[1]), int(row[2]), int(row[3]), size)

    def close(self) -> None:
        """Checkpoint and close the database."""
        with self._write_lock:
            try:
                self._db.execute("CHECKPOINT")
            finally:
                self._db.close()
