"""DuckDBStore: Kiln's embedded store, one DuckDB file."""

from __future__ import annotations

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
from kiln.domain.product_runs import ProductChange
from kiln.errors import Unavailable
from kiln.store.alarm_tables import AlarmTables
from kiln.store.assumption_tables import AssumptionTables
from kiln.store.base import MAX_CHART_POINTS, StorageReport, StorageStats, bucket_width_ms
from kiln.store.duckdb_accounts import DuckDBAccounts
from kiln.store.duckdb_assets import load_catalog, seed_districts, upsert_tree
from kiln.store.duckdb_buckets import read_buckets
from kiln.store.duckdb_dead_letters import (
    read_dead_letter_counts,
    read_dead_letters,
    write_dead_letters,
)
from kiln.store.duckdb_kpi import (
    read_count_sums,
    read_energy_sums,
    read_product_changes,
    read_state_changes,
    write_product_changes,
)
from kiln.store.duckdb_plans import DuckDBPlans
from kiln.store.duckdb_rollups import (
    Marks,
    mark_dirty,
    mark_hot_dirty,
    pending_rollups,
    prepare,
    raw_cut,
    resort_day,
    roll_up,
)
from kiln.store.duckdb_storage import apply_retention, read_storage_report
from kiln.store.installation_tables import InstallationTables
from kiln.store.last_values import LastValues
from kiln.store.preference_tables import PreferenceTables
from kiln.store.retention import Removal, RetentionPlan
from kiln.store.solution_tables import SolutionTables
from kiln.store.sql_session import DuckSessions

# A batch at least this large goes straight into the sorted table; smaller ones wait in
# points_hot until compact() sorts them in (live streams send many small batches).
DIRECT_ROWS = 50_000
DAY_MS = 86_400_000
# A UTC day is re-sorted once it has been closed this long (later points may still trickle in).
LATE_GRACE_MS = 3_600_000
RESORT_SLICE_ROWS = 4_000_000  # rows re-sorted per transaction: bounds memory and lock time
SORTED_UNTIL_KEY = "store.sorted_until_ms"
CLEAN_CLOSE_KEY = "store.closed_cleanly"
POINTS_UNION = (
    "(SELECT series, ts, value FROM points UNION ALL SELECT series, ts, value FROM points_hot)"
)


def _arrow_points(batch: PointBatch) -> pa.Table:
    return pa.table(
        {"series": batch.series.astype(np.int32), "ts": batch.ts_ms, "value": batch.value}
    )


def _slices(per_series: list[tuple[int, int]], rows: int) -> list[tuple[int, int]]:
    """Consecutive series ranges of about ``rows`` points each.

    >>> _slices([(1, 3), (2, 3), (5, 3)], 5)
    [(1, 2), (5, 5)]
    """
    out: list[tuple[int, int]] = []
    start, total = None, 0
    for series, n in per_series:
        if start is None:
            start = series
        total += n
        if total >= rows:
            out.append((start, series))
            start, total = None, 0
    if start is not None:
        out.append((start, per_series[-1][0]))
    return out


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
        self._lag = prepare(self._db)
        self._catalog = load_catalog(self._db)
        self._last = LastValues()
        self._marks: Marks = {}
        self._last.update(self._stored_last_values())
        self.set_meta(CLEAN_CLOSE_KEY, "0")  # until close() says otherwise
        self.accounts = DuckDBAccounts(self._cursor, self._write_lock)
        self.plans = DuckDBPlans(self._cursor, self._write_lock)
        self.alarms = AlarmTables(DuckSessions(self._cursor, self._write_lock))
        self.solutions = SolutionTables(DuckSessions(self._cursor, self._write_lock))
        self.installations = InstallationTables(DuckSessions(self._cursor, self._write_lock))
        self.preferences = PreferenceTables(DuckSessions(self._cursor, self._write_lock))
        self.assumptions = AssumptionTables(DuckSessions(self._cursor, self._write_lock))

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
        return self.write_group([(bundle, batch_id)])[0]

    def write_group(self, items: Sequence[tuple[Bundle, str | None]]) -> list[int]:
        """Store several bundles in one transaction (all or none); rows added per bundle, 0 for
        one whose batch_id was already committed (or came earlier in the same group)."""
        with self._write_lock:
            con = self._cursor()
            if all(bid is None and not (len(b.states) or len(b.counts)) for b, bid in items):
                # Points alone are one INSERT, atomic by itself: no explicit transaction. A big
                # batch first logs its (series, hour)s for the rollups, in a statement of its
                # own: a transaction over two tables costs DuckDB a fifth of the insert rate,
                # and a mark without its points (a crash between) only asks for a recompute.
                latest = self._write_points(con, Bundle.concat([b for b, _ in items]).points)
                self._last.update(latest)
                return [len(b) for b, _ in items]
            con.execute("BEGIN TRANSACTION")
            try:
                fresh = self._claim_batch_ids(con, [bid for _, bid in items])
                keep = [b for (b, bid), new in zip(items, fresh, strict=True) if new]
                whole = Bundle.concat(keep) if keep else Bundle()
                latest = self._write_points(con, whole.points)
                self._write_states(con, whole)
                self._write_counts(con, whole)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            self._last.update(latest)
            return [len(b) if new else 0 for (b, _), new in zip(items, fresh, strict=True)]

    @staticmethod
    def _claim_batch_ids(
        con: duckdb.DuckDBPyConnection, batch_ids: Sequence[str | None]
    ) -> list[bool]:
        """Record the new batch ids; True for each item to store (no id, or an id not seen)."""
        named = [b for b in batch_ids if b is not None]
        if not named:
            return [True] * len(batch_ids)
        seen = {
            r[0]
            for r in con.execute(
                "SELECT id FROM batches WHERE id IN (SELECT unnest(?::VARCHAR[]))", [named]
            ).fetchall()
        }
        fresh = []
        for bid in batch_ids:
            fresh.append(bid is None or bid not in seen)
            if bid is not None:
                seen.add(bid)  # a second copy in the same group is a duplicate too
        new_ids = [b for b, f in zip(batch_ids, fresh, strict=True) if f and b is not None]
        if new_ids:
            con.execute(
                "INSERT INTO batches SELECT unnest(?::VARCHAR[]), epoch_ms(now())", [new_ids]
            )
        return fresh

    def write_points(self, batch: PointBatch) -> int:
        """Store points atomically; return rows added."""
        return self.write(Bundle(points=batch))

    @staticmethod
    def _insert(con: duckdb.DuckDBPyConnection, table: str, arrow: pa.Table, how: str = "") -> None:
        """Insert an Arrow table into a table (or run ``how``, which reads it as _new_rows)."""
        # DuckDB finds the local variable by name (a replacement scan): a third cheaper per
        # insert than registering and unregistering a view, which live streams do hundreds of
        # times a second.
        _new_rows = arrow
        con.execute(how or f"INSERT INTO {table} SELECT * FROM _new_rows")

    def _write_points(self, con: duckdb.DuckDBPyConnection, batch: PointBatch) -> PointBatch:
        """Append the points; return the latest point of each series, for the last values."""
        if not len(batch):
            return batch
        table = "points" if len(batch) >= DIRECT_ROWS else "points_hot"
        ordered = batch.is_ordered()
        if table == "points" and not ordered:
            batch, ordered = batch.sorted(), True
        rows = _arrow_points(batch)
        self._lag.wrote(int(batch.ts_ms.min()), hot=table == "points_hot")  # before it shows
        if table == "points":
            mark_dirty(con, rows, self._marks)  # live batches: when compact() moves them
        self._insert(con, table, rows)
        return batch.latest(ordered=ordered)

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
                        "rework": c.rework,
                    }
                ),
            )
        return len(c)

    def compact(self) -> int:
        """Move the points waiting in points_hot into points, sorted by series and time, then
        bring the rollups up to date."""
        with self._write_lock:
            con = self._cursor()
            con.execute("BEGIN TRANSACTION")
            try:
                mark_hot_dirty(con)
                moved = con.execute(
                    "INSERT INTO points SELECT series, ts, value FROM points_hot "
                    "ORDER BY series, ts"
                ).fetchall()
                con.execute("DELETE FROM points_hot")
                self._lag.dirty = True
                self._save_last_values(con)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            self._lag.hot_from_ms = None
        self.rollup()
        return int(moved[0][0]) if moved else 0

    def forget_batches(self, before_ms: int) -> int:
        """Forget the identities of batches committed before before_ms; how many."""
        with self._write_lock:
            rows = self._cursor().execute(
                "DELETE FROM batches WHERE committed_ms < ? RETURNING id", [before_ms]
            )
            return len(rows.fetchall())

    def rollup(self) -> int:
        """Recompute the rollups of the hours written since their last rollup; rows written."""
        rows = roll_up(self._cursor(), self._write_lock, self._marks)
        with self._write_lock:
            self._lag.dirty = pending_rollups(self._cursor()) > 0
        return rows

    def reorganize(self) -> int:
        """Re-sort the oldest closed UTC day not yet re-sorted by (series, ts); rows rewritten.

        Points arrive in hourly backfill chunks or five-minute compactions, so each series'
        timestamps restart every chunk, which costs DuckDB's delta bit-packing about 3 bytes a
        point. One run per series per day brings a point near 2 bytes. The day is rewritten in
        series slices of a few million rows, each its own short transaction.
        """
        con = self._cursor()
        done = int(self.get_meta(SORTED_UNTIL_KEY) or 0)
        lo, hi = con.execute(
            "SELECT min(ts), max(ts) FROM points WHERE ts >= ?", [done]
        ).fetchall()[0]
        if lo is None:
            return 0
        day = max(done, int(lo) - int(lo) % DAY_MS)
        end = day + DAY_MS
        if end + LATE_GRACE_MS > int(hi):
            return 0  # the day is not closed yet
        per_series = con.execute(
            "SELECT series, count(*) FROM points WHERE ts >= ? AND ts < ? GROUP BY series "
            "ORDER BY series",
            [day, end],
        ).fetchall()
        rows = 0
        for first, last in _slices(per_series, RESORT_SLICE_ROWS):
            with self._write_lock:
                con.execute("BEGIN TRANSACTION")
                try:
                    where = "ts >= $a AND ts < $b AND series BETWEEN $s AND $t"
                    args = {"a": day, "b": end, "s": first, "t": last}
                    piece = con.sql(
                        f"SELECT series, ts, value FROM points WHERE {where} ORDER BY series, ts",
                        params=args,
                    ).to_arrow_table()
                    con.execute(f"DELETE FROM points WHERE {where}", args)
                    self._insert(con, "points", piece)
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                # Free the old row groups now, so the next slice is written into them and the
                # file does not grow by a day's worth of dead blocks.
                con.execute("CHECKPOINT")
            rows += piece.num_rows
        with self._write_lock:  # and the day's rollups, one run per series (duckdb_rollups)
            con.execute("BEGIN TRANSACTION")
            try:
                resort_day(con, day)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        self.set_meta(SORTED_UNTIL_KEY, str(end))
        return rows

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
        # Long ranges read the rollups (kiln.store.duckdb_buckets): the same answer, faster.
        return read_buckets(self._cursor(), series, start_ms, end_ms, width, self._lag)

    def last_values(self, series: Sequence[int] | None = None) -> pa.Table:
        """The latest (series, ts_ms, value) of each series (all series when None)."""
        return self._last.table(series)

    def _stored_last_values(self) -> PointBatch:
        if self.get_meta(CLEAN_CLOSE_KEY) == "1":
            t = self._query("SELECT series, ts, value FROM series_last")
        else:
            # A crash (or a file from before this table was kept this way): the saved values
            # may be behind the points, so find them again from the points themselves.
            t = self._query(
                f"SELECT series, max(ts) AS ts, arg_max(value, ts) AS value FROM {POINTS_UNION} "
                "GROUP BY series"
            )
        return PointBatch.of(t["series"], t["ts"], t["value"])

    def _save_last_values(self, con: duckdb.DuckDBPyConnection) -> None:
        self._insert(
            con,
            "series_last",
            self._last.table(),
            how="INSERT OR REPLACE INTO series_last SELECT * FROM _new_rows",
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
        """Summed good, scrap and rework per equipment (and per bucket when bucket_ms > 0)."""
        bucket = f"(ts // {int(bucket_ms)}) * {int(bucket_ms)}" if bucket_ms > 0 else f"{start_ms}"
        return self._query(
            f"SELECT equipment, {bucket} AS ts_ms, sum(good)::BIGINT AS good, "
            "sum(scrap)::BIGINT AS scrap, sum(rework)::BIGINT AS rework "
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

    def retention(self, plan: RetentionPlan, *, dry_run: bool = False) -> list[Removal]:
        """Compact, then delete what the plan says is past retention (or count it, dry_run)."""
        if dry_run:
            return apply_retention(self._cursor(), plan, dry_run=True)
        self.compact()
        with self._write_lock:
            removed = apply_retention(self._cursor(), plan, dry_run=False)
            self._lag.raw_cut_ms = raw_cut(self._cursor())
        self._cursor().execute("CHECKPOINT")
        return removed

    def storage_report(self, now_ms: int, *, days: int = 30) -> StorageReport:
        """Rows and bytes per table, raw points per enterprise and per day of the last days."""
        con = self._cursor()
        con.execute("CHECKPOINT")
        return read_storage_report(con, self._catalog, self.path, now_ms, days=days)

    def claim(self, role: str) -> bool:
        """A role only one process may hold: a DuckDB file has one process, so always."""
        return True

    def close(self) -> None:
        """Save the last values, checkpoint and close the database."""
        with self._write_lock:
            try:
                con = self._cursor()
                con.execute("BEGIN TRANSACTION")
                self._save_last_values(con)
                con.execute("INSERT OR REPLACE INTO meta VALUES (?, '1')", [CLEAN_CLOSE_KEY])
                con.execute("COMMIT")
                self._db.execute("CHECKPOINT")
            finally:
                self._db.close()

    # -- KPIs (kiln.store.duckdb_kpi) --------------------------------------------------------

    def state_changes(
        self, equipment: Sequence[int], start_ms: int, end_ms: int, *, reasons: bool = False
    ) -> pa.Table:
        """State changes in the window plus the state in force at its start, in no order."""
        return read_state_changes(self._cursor(), equipment, start_ms, end_ms, reasons=reasons)

    def count_sums(
        self, equipment: Sequence[int], start_ms: int, end_ms: int, cuts_ms: Sequence[int]
    ) -> pa.Table:
        """Good, scrap and rework summed into pieces that no cut splits."""
        return read_count_sums(self._cursor(), equipment, start_ms, end_ms, cuts_ms)

    def energy_sums(
        self,
        series: Sequence[int],
        start_ms: int,
        end_ms: int,
        cuts_ms: Sequence[int],
        *,
        max_hold_ms: int = 300_000,
    ) -> pa.Table:
        """kWh from power series, summed into pieces that no cut splits."""
        return read_energy_sums(
            self._cursor(), series, start_ms, end_ms, cuts_ms, max_hold_ms=max_hold_ms
        )

    def write_product_changes(self, changes: Sequence[ProductChange]) -> int:
        """Keep product changes atomically (a same-time change of an equipment replaces)."""
        with self._write_lock:
            con = self._cursor()
            con.execute("BEGIN TRANSACTION")
            try:
                n = write_product_changes(con, changes)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return n

    def product_changes(self, equipment: Sequence[int], end_ms: int) -> pa.Table:
        """Product changes of the equipment starting before end_ms."""
        return read_product_changes(self._cursor(), equipment, end_ms)
