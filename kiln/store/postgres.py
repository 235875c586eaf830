"""PostgresStore: Kiln's store in a PostgreSQL database, shared by every process of a deployment.

`kiln serve` and any number of `kiln ingest` workers open the same database, so nothing another
process needs lives only in one process's memory: last values are a table upserted with every
batch, and the asset catalogue is cached per process and reloaded when the catalogue version
in meta changes. Points and counts go in by binary COPY into day partitions made on demand.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import psycopg
import pyarrow as pa

from kiln.domain.asset_document import parse_asset_document
from kiln.domain.batches import Bundle, PointBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter
from kiln.domain.product_runs import ProductChange
from kiln.errors import Unavailable
from kiln.store import postgres_kpi as kpi
from kiln.store import postgres_queries as q
from kiln.store.alarm_tables import AlarmTables
from kiln.store.assumption_tables import AssumptionTables
from kiln.store.base import MAX_CHART_POINTS, StorageReport, StorageStats, bucket_width_ms
from kiln.store.installation_tables import InstallationTables
from kiln.store.postgres_accounts import PostgresAccounts
from kiln.store.postgres_assets import catalog_version, import_tree, load_catalog, seed_districts
from kiln.store.postgres_dead_letters import (
    read_dead_letter_counts,
    read_dead_letters,
    write_dead_letters,
)
from kiln.store.postgres_migrations import migrate
from kiln.store.postgres_partitions import DAY_MS, DayPartitions, days_of, partition_name
from kiln.store.postgres_plans import PostgresPlans
from kiln.store.postgres_pool import Connection, PostgresPool
from kiln.store.postgres_rollups import dirty_days, mark_dirty, read_rollup_buckets, roll_up_day
from kiln.store.postgres_storage import apply_retention, read_storage_report
from kiln.store.postgres_telemetry import (
    claim_batch_ids,
    copy_points,
    save_last_values,
    write_counts,
    write_states,
)
from kiln.store.preference_tables import PreferenceTables
from kiln.store.retention import Removal, RetentionPlan
from kiln.store.solution_tables import SolutionTables
from kiln.store.sql_session import PgSessions

CATALOG_CHECK_S = 1.0  # how often catalog() asks whether another process changed the assets
# A UTC day is vacuumed as closed once it has been over this long (later points may trickle in).
LATE_GRACE_MS = 3_600_000
SORTED_UNTIL_KEY = "store.sorted_until_ms"


class PostgresStore:
    """Kiln's store in a PostgreSQL database (a libpq URL), with a pool of connections."""

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self._url = url
        self._claims: dict[str, psycopg.Connection[Any]] = {}
        self._db = PostgresPool(url, size=pool_size)
        self._pool = self._db.pool
        self.where = self._db.where
        self._partitions = DayPartitions()
        self._dirty: set[tuple[str, int]] = set()  # partitions written since compact()
        self._lock = threading.Lock()  # guards _dirty
        self._catalog_lock = threading.Lock()
        try:
            self._db.run(self._start)
            self._catalog, self._catalog_version = self._db.transaction(_read_catalog)
        except BaseException:
            self._db.close()
            raise
        self._catalog_checked = time.monotonic()
        self.accounts = PostgresAccounts(self._pool)
        self.plans = PostgresPlans(self._pool)
        self.alarms = AlarmTables(PgSessions(self._pool))
        self.solutions = SolutionTables(PgSessions(self._pool))
        self.installations = InstallationTables(PgSessions(self._pool))
        self.preferences = PreferenceTables(PgSessions(self._pool))
        self.assumptions = AssumptionTables(PgSessions(self._pool))

    def _start(self, conn: Connection) -> None:
        migrate(conn)
        with conn.transaction():
            seed_districts(conn)
        self._partitions.load(conn)

    # -- writes ------------------------------------------------------------------------------

    def write(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        """Store a bundle atomically; a batch_id already committed is skipped (returns 0)."""
        return self.write_group([(bundle, batch_id)])[0]

    def write_points(self, batch: PointBatch) -> int:
        """Store points atomically; return rows added."""
        return self.write(Bundle(points=batch))

    def write_group(self, items: Sequence[tuple[Bundle, str | None]]) -> list[int]:
        """Store several bundles in one transaction (all or none); rows added per bundle, 0 for
        one whose batch_id was already committed (or came earlier in the same group)."""
        whole = Bundle.concat([b for b, _ in items]) if items else Bundle()
        ids = [bid for _, bid in items]
        if not len(whole) and all(bid is None for bid in ids):
            return [0] * len(items)

        def prepare(conn: Connection) -> None:
            # The day partitions the rows need, each made (if missing) in its own transaction.
            self._partitions.ensure(conn, "points", whole.points.ts_ms)
            self._partitions.ensure(conn, "counts", whole.counts.ts_ms)

        def work(conn: Connection) -> list[bool]:
            fresh = claim_batch_ids(conn, ids)
            kept = whole
            if not all(fresh):
                kept = Bundle.concat([b for (b, _), new in zip(items, fresh, strict=True) if new])
            copy_points(conn, kept.points)
            mark_dirty(conn, kept.points)
            write_states(conn, kept)
            self._write_counts(conn, kept)
            # Last: the series_last row locks are held for the shortest time.
            save_last_values(conn, kept.points.latest())
            return fresh

        fresh = self._db.transaction(work, prepare=prepare)
        with self._lock:
            self._dirty.update(("points", d) for d in days_of(whole.points.ts_ms))
            self._dirty.update(("counts", d) for d in days_of(whole.counts.ts_ms))
        return [len(b) if new else 0 for (b, _), new in zip(items, fresh, strict=True)]

    _write_counts = staticmethod(write_counts)

    def compact(self) -> int:
        """Nothing waits to be moved here (points go straight into their day): vacuum and
        analyze the partitions written since the last call, so chart reads stay index-only
        and the planner knows the new rows, then bring the rollups up to date (of the hours
        any process wrote); return 0 rows moved."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        self._vacuum([partition_name(t, d) for t, d in sorted(dirty)])
        self.rollup()
        return 0

    def forget_batches(self, before_ms: int) -> int:
        """Forget the identities of batches committed before before_ms; how many."""

        def work(conn: Any) -> int:
            cur = conn.execute("DELETE FROM batches WHERE committed_ms < %s", [before_ms])
            return int(cur.rowcount)

        return int(self._db.transaction(work))

    def rollup(self) -> int:
        """Recompute the rollups of the hours written since their last rollup, one UTC day per
        transaction, newest first (live data stays current through a long back-fill); return
        the rollup rows written."""
        rows = 0
        for day in self._db.transaction(dirty_days):
            rows += self._db.transaction(partial(roll_up_day, day=day))
        return rows

    def _vacuum(self, tables: Sequence[str]) -> None:
        def work(conn: Connection) -> None:
            for name in tables:
                if conn.execute("SELECT to_regclass(%s)", [name]).fetchone() != (None,):
                    conn.execute(f"VACUUM (ANALYZE, SKIP_LOCKED) {name}")

        if tables:
            self._db.autocommit(work)

    def reorganize(self) -> int:
        """Vacuum the oldest closed UTC day not done yet, so its rows are all visible (chart
        reads then never touch its heap); return its rows, 0 when no closed day is left.

        Re-sorting a day by series (CLUSTER) would rewrite it under an exclusive lock (about a
        minute for 17 M rows) to gain nothing over the index-only reads a vacuumed day gets.
        """
        done = int(self.get_meta(SORTED_UNTIL_KEY) or 0)

        def closed_day(conn: Connection) -> tuple[str, int, int] | None:
            self._partitions.load(conn)  # days other processes made
            newest = conn.execute("SELECT max(ts) FROM series_last").fetchone()
            if newest is None or newest[0] is None:
                return None
            for day in self._partitions.days("points"):
                end = (day + 1) * DAY_MS
                if end <= done:
                    continue
                name = partition_name("points", day)
                rows = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
                if rows is None or not rows[0]:
                    continue
                return (name, end, int(rows[0])) if end + LATE_GRACE_MS <= newest[0] else None
            return None

        found = self._db.run(closed_day)
        if found is None:
            return 0
        name, end, rows = found
        self._vacuum([name])
        self.set_meta(SORTED_UNTIL_KEY, str(end))
        return rows

    def hot_rows(self) -> int:
        """Points waiting to be moved into place: none in PostgreSQL."""
        return 0

    # -- reads -------------------------------------------------------------------------------

    def points(self, series: Sequence[int], start_ms: int, end_ms: int) -> pa.Table:
        """Raw points with start_ms <= ts_ms < end_ms, ordered by series, then ts_ms."""
        return self._db.transaction(lambda c: q.read_points(c, series, start_ms, end_ms))

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

        def read(conn: Connection) -> pa.Table:
            # Long ranges read the rollups (kiln.store.postgres_rollups): the same answer, faster.
            rolled = read_rollup_buckets(conn, series, start_ms, end_ms, width)
            return (
                q.read_buckets(conn, series, start_ms, end_ms, width) if rolled is None else rolled
            )

        return self._db.transaction(read)

    def last_values(self, series: Sequence[int] | None = None) -> pa.Table:
        """The latest (series, ts_ms, value) of each series (all series when None)."""
        return self._db.transaction(lambda c: q.read_last_values(c, series))

    def state_intervals(self, equipment: Sequence[int], start_ms: int, end_ms: int) -> pa.Table:
        """Intervals (equipment, start_ms, end_ms, state, reason) clipped to the window."""
        return self._db.transaction(
            lambda c: q.read_state_intervals(c, equipment, start_ms, end_ms)
        )

    def current_states(self, equipment: Sequence[int] | None = None) -> pa.Table:
        """The latest state change (equipment, ts_ms, state, reason) of each equipment."""
        return self._db.transaction(lambda c: q.read_current_states(c, equipment))

    def counts(
        self, equipment: Sequence[int], start_ms: int, end_ms: int, *, bucket_ms: int = 0
    ) -> pa.Table:
        """Summed good, scrap and rework per equipment (and per bucket when bucket_ms > 0)."""
        return self._db.transaction(
            lambda c: q.read_counts(c, equipment, start_ms, end_ms, bucket_ms)
        )

    # -- assets ------------------------------------------------------------------------------

    def catalog(self) -> AssetCatalog:
        """Every asset, indexed: cached, and reloaded when another process changed them (asked
        at most once every CATALOG_CHECK_S; while the database is unreachable, the cached one)."""
        if time.monotonic() - self._catalog_checked < CATALOG_CHECK_S:
            return self._catalog
        if not self._catalog_lock.acquire(blocking=False):
            return self._catalog  # another thread is asking right now
        try:
            if time.monotonic() - self._catalog_checked >= CATALOG_CHECK_S:
                try:
                    version = self._db.transaction(catalog_version)
                    if version != self._catalog_version:
                        self._catalog, self._catalog_version = self._db.transaction(_read_catalog)
                except Unavailable:
                    pass  # the cached catalogue is still the best answer there is
                self._catalog_checked = time.monotonic()
            return self._catalog
        finally:
            self._catalog_lock.release()

    def import_assets(self, doc: dict[str, Any], *, where: str = "assets") -> AssetCatalog:
        """Create or update the assets of a document atomically; return the new catalogue."""
        tree = parse_asset_document(doc, where=where)
        catalog, version = self._db.transaction(lambda c: import_tree(c, tree))
        with self._catalog_lock:
            self._catalog, self._catalog_version = catalog, version
            self._catalog_checked = time.monotonic()
        return catalog

    def get_meta(self, key: str) -> str | None:
        """A value Kiln keeps about itself (e.g. how far the simulator got), or None."""

        def read(conn: Connection) -> str | None:
            row = conn.execute("SELECT value FROM meta WHERE key = %s", [key]).fetchone()
            return None if row is None else str(row[0])

        return self._db.transaction(read)

    def set_meta(self, key: str, value: str) -> None:
        """Keep a value about Kiln itself."""
        self._db.transaction(
            lambda c: c.execute(
                "INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE "
                "SET value = excluded.value",
                [key, value],
            )
        )

    # -- dead letters ------------------------------------------------------------------------

    def write_dead_letters(self, letters: Sequence[DeadLetter], *, keep: int = 100_000) -> None:
        """Keep refused messages (the newest ``keep``) and count them per source."""
        if letters:
            self._db.transaction(lambda c: write_dead_letters(c, letters, keep))

    def dead_letters(
        self,
        enterprise_id: int | None,
        *,
        adapter: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> pa.Table:
        """Refused messages, newest first, of one enterprise (None: those naming none)."""
        return self._db.transaction(
            lambda c: read_dead_letters(
                c, enterprise_id, adapter=adapter, limit=limit, before_id=before_id
            )
        )

    def dead_letter_counts(self, enterprise_id: int | None, *, every: bool = False) -> pa.Table:
        """Refusals per (adapter, source), of one enterprise or (``every``) of all."""
        return self._db.transaction(
            lambda c: read_dead_letter_counts(c, enterprise_id, every=every)
        )

    # -- housekeeping ------------------------------------------------------------------------

    def stats(self) -> StorageStats:
        """Row counts, and the bytes of every table of the schema with its indexes."""

        def read(conn: Connection) -> tuple[Any, ...]:
            row = conn.execute(
                "SELECT (SELECT count(*) FROM points), (SELECT count(*) FROM states), "
                "(SELECT count(*) FROM counts), (SELECT count(*) FROM signals), "
                "(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r')"
            ).fetchone()
            assert row is not None
            return tuple(row)

        points, states, counts, series, size = self._db.transaction(read)
        return StorageStats(int(points), int(states), int(counts), int(series), int(size))

    def retention(self, plan: RetentionPlan, *, dry_run: bool = False) -> list[Removal]:
        """Compact, then delete what the plan says is past retention (or count it, dry_run):
        raw points by whole day partitions where every series is past it, else by DELETE."""
        if not dry_run:
            self.compact()

        def work(conn: Connection) -> tuple[list[Removal], list[int]]:
            self._partitions.load(conn)
            days = self._partitions.days("points")
            return apply_retention(conn, plan, days, dry_run=dry_run)

        removed, dropped = self._db.transaction(work)
        if dropped:  # forget the dropped days, so a late point there makes its day again
            partitions = DayPartitions()
            self._db.run(partitions.load)
            self._partitions = partitions
        return removed

    def storage_report(self, now_ms: int, *, days: int = 30) -> StorageReport:
        """Rows and bytes per table, raw points per enterprise and per day of the last days."""
        return self._db.transaction(
            lambda c: read_storage_report(c, self.catalog(), now_ms, days=days)
        )

    def claim(self, role: str) -> bool:
        """Take a role only one process of those sharing the database may hold (the alarm
        evaluator): a session-level advisory lock on a connection of its own, released when
        this process closes the store or dies, so another can take over."""
        if role in self._claims:
            return True
        try:
            con = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as err:
            raise Unavailable(f"PostgreSQL is unreachable: {err}", where=self.where) from err
        row = con.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [f"kiln:{role}"]).fetchone()
        if row is None or not row[0]:
            con.close()
            return False
        self._claims[role] = con
        return True

    def close(self) -> None:
        """Close the pool (every write is committed as it is made) and give up the roles."""
        for con in self._claims.values():
            with contextlib.suppress(Exception):
                con.close()
        self._claims.clear()
        self._db.close()

    # -- KPIs (kiln.store.postgres_kpi) ------------------------------------------------------

    def state_changes(
        self, equipment: Sequence[int], start_ms: int, end_ms: int, *, reasons: bool = False
    ) -> pa.Table:
        """State changes in the window plus the state in force at its start, in no order."""
        return self._db.transaction(
            lambda c: kpi.read_state_changes(c, equipment, start_ms, end_ms, reasons=reasons)
        )

    def count_sums(
        self, equipment: Sequence[int], start_ms: int, end_ms: int, cuts_ms: Sequence[int]
    ) -> pa.Table:
        """Good, scrap and rework summed into pieces that no cut splits."""
        return self._db.transaction(
            lambda c: kpi.read_count_sums(c, equipment, start_ms, end_ms, cuts_ms)
        )

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
        return self._db.transaction(
            lambda c: kpi.read_energy_sums(
                c, series, start_ms, end_ms, cuts_ms, max_hold_ms=max_hold_ms
            )
        )

    def write_product_changes(self, changes: Sequence[ProductChange]) -> int:
        """Keep product changes atomically (a same-time change of an equipment replaces)."""
        return self._db.transaction(lambda c: kpi.write_product_changes(c, changes))

    def product_changes(self, equipment: Sequence[int], end_ms: int) -> pa.Table:
        """Product changes of the equipment starting before end_ms."""
        return self._db.transaction(lambda c: kpi.read_product_changes(c, equipment, end_ms))


def _read_catalog(conn: Connection) -> tuple[AssetCatalog, str]:
    # The version first: an import committing in between makes the next check reload again,
    # never leaves a stale catalogue under a current version.
    version = catalog_version(conn)
    return load_catalog(conn), version
