"""The Store interface: everything Kiln keeps, behind one protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from kiln.auth.accounts import Accounts
from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter
from kiln.domain.product_runs import ProductChange
from kiln.plan.storage import PlanStore
from kiln.store.retention import Removal, RetentionPlan

if TYPE_CHECKING:  # the shared SQL module imports both drivers; the protocol needs neither
    from kiln.store.alarm_tables import AlarmTables
    from kiln.store.assumption_tables import AssumptionTables
    from kiln.store.installation_tables import InstallationTables
    from kiln.store.preference_tables import PreferenceTables
    from kiln.store.solution_tables import SolutionTables

MAX_CHART_POINTS = 2_000

# Bucket widths a chart may get, so that buckets line up across charts and refreshes.
NICE_BUCKETS_MS = (
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
)


def bucket_width_ms(start_ms: int, end_ms: int, max_points: int, at_least_ms: int = 0) -> int:
    """The smallest nice bucket width whose epoch-aligned buckets over [start, end) number at
    most max_points (aligned buckets line up across charts and refreshes).

    >>> bucket_width_ms(0, 86_400_000, 2_000)
    60000
    >>> bucket_width_ms(0, 3_600_000, 2_000, at_least_ms=10_000)
    10000
    """
    max_points = max(max_points, 1)
    last = max(end_ms - 1, start_ms)

    def fits(width: int) -> bool:
        return last // width - start_ms // width + 1 <= max_points

    for width in NICE_BUCKETS_MS:
        if width >= at_least_ms and fits(width):
            return width
    width = max(at_least_ms, NICE_BUCKETS_MS[-1])
    while not fits(width):
        width *= 2
    return width


@dataclass(frozen=True, slots=True)
class StorageStats:
    """What the store holds and what it costs on disk."""

    points: int
    states: int
    counts: int
    series: int
    bytes_on_disk: int

    @property
    def bytes_per_point(self) -> float | None:
        """Disk bytes per stored point, or None when nothing is stored."""
        return self.bytes_on_disk / self.points if self.points else None


@dataclass(frozen=True, slots=True)
class TableUsage:
    """One table: its rows, the bytes of the blocks it uses (an estimate), and for telemetry
    tables the span of its ts column."""

    name: str
    rows: int
    bytes: int
    oldest_ms: int | None = None
    newest_ms: int | None = None


@dataclass(frozen=True, slots=True)
class StorageReport:
    """What uses the space: per table, raw points per enterprise and per recent UTC day."""

    bytes_on_disk: int
    tables: tuple[TableUsage, ...]
    raw_by_enterprise: tuple[tuple[str, int], ...]  # (enterprise slug, raw points), most first
    raw_by_day: tuple[tuple[str, int], ...]  # (UTC date YYYY-MM-DD, raw points), oldest first
    pending_rollup: int  # (series, hour)s not rolled up yet, and hours marked by big writes

    def table(self, name: str) -> TableUsage | None:
        """The usage of one table, or None if there is no such table."""
        return next((t for t in self.tables if t.name == name), None)

    def view(self, removals: Sequence[Removal] = ()) -> dict[str, Any]:
        """As plain data (the API's body), with what retention will remove next."""
        raw = self.table("points")
        return {
            "bytes_on_disk": self.bytes_on_disk,
            "tables": [asdict(t) for t in self.tables],
            "oldest_raw_ms": raw.oldest_ms if raw else None,
            "raw_by_enterprise": [
                {"enterprise": e, "points": n} for e, n in self.raw_by_enterprise
            ],
            "raw_by_day": [{"date": d, "points": n} for d, n in self.raw_by_day],
            "pending_rollup": self.pending_rollup,
            "retention_next": [asdict(r) for r in removals],
        }


class Store(Protocol):
    """Everything Kiln keeps, behind one interface; each backend holds its own SQL."""

    @property
    def accounts(self) -> Accounts:
        """Users, tokens, sessions and the audit log."""
        ...

    @property
    def plans(self) -> PlanStore:
        """Plans, indicators, published figures and statistical filings."""
        ...

    @property
    def alarms(self) -> AlarmTables:
        """Alarms, their history and the rules defined through the API or the UI."""
        ...

    @property
    def solutions(self) -> SolutionTables:
        """The solution catalogue: providers' entries, each owned by its enterprise."""
        ...

    @property
    def installations(self) -> InstallationTables:
        """Robots installed on stations with the advisor's prediction: its follow-up."""
        ...

    @property
    def preferences(self) -> PreferenceTables:
        """People's preferences (the page language), kept across browsers."""
        ...

    @property
    def assumptions(self) -> AssumptionTables:
        """Each enterprise's own changes to the advisor's default assumptions."""
        ...

    def write(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        """Store a bundle atomically: all of it or, on any error, none of it.

        A bundle whose batch_id was already committed is skipped (returns 0), so a redelivered
        batch is stored once. Returns the number of rows added.
        """
        ...

    def write_group(self, items: Sequence[tuple[Bundle, str | None]]) -> list[int]:
        """Store several (bundle, batch_id) in one transaction, all or none; rows added per
        bundle (0 for a batch_id already committed, or repeated within the group)."""
        ...

    def points(self, series: Sequence[int], start_ms: int, end_ms: int) -> pa.Table:
        """Raw points with start_ms <= ts_ms < end_ms, ordered by series, then ts_ms."""
        ...

    def buckets(
        self,
        series: int,
        start_ms: int,
        end_ms: int,
        *,
        max_points: int = MAX_CHART_POINTS,
        bucket_ms: int = 0,
    ) -> pa.Table:
        """Aggregates per bucket (ts_ms, avg, min, max, last, count), never over max_points rows.

        The bucket width is the smallest nice width >= bucket_ms giving at most max_points.
        """
        ...

    def last_values(self, series: Sequence[int] | None = None) -> pa.Table:
        """The latest (series, ts_ms, value) of each series (all series when None)."""
        ...

    def state_intervals(self, equipment: Sequence[int], start_ms: int, end_ms: int) -> pa.Table:
        """Intervals (equipment, start_ms, end_ms, state, reason) clipped to the window.

        The last interval of an equipment ends at end_ms (it is still open).
        """
        ...

    def current_states(self, equipment: Sequence[int] | None = None) -> pa.Table:
        """The latest state change (equipment, ts_ms, state, reason) of each equipment."""
        ...

    def counts(
        self, equipment: Sequence[int], start_ms: int, end_ms: int, *, bucket_ms: int = 0
    ) -> pa.Table:
        """Summed good and scrap per equipment (and per bucket when bucket_ms > 0)."""
        ...

    def catalog(self) -> AssetCatalog:
        """Every asset, indexed."""
        ...

    def import_assets(self, doc: dict[str, Any], *, where: str = "assets") -> AssetCatalog:
        """Create or update the assets an asset document describes; return the new catalogue."""
        ...

    def write_dead_letters(self, letters: Sequence[DeadLetter], *, keep: int = 100_000) -> None:
        """Keep refused messages (the newest ``keep``) and count every one per source."""
        ...

    def dead_letters(
        self,
        enterprise_id: int | None,
        *,
        adapter: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> pa.Table:
        """Refused messages (id, ts_ms, enterprise_id, adapter, source, reason, payload), newest
        first, of one enterprise (None: those that named no enterprise)."""
        ...

    def dead_letter_counts(self, enterprise_id: int | None, *, every: bool = False) -> pa.Table:
        """Refusals per (adapter, source, enterprise_id): count, last_ms, last_reason; of one
        enterprise (None: those naming none), or of all when ``every``."""
        ...

    def get_meta(self, key: str) -> str | None:
        """A value Kiln keeps about itself (e.g. how far the simulator got), or None."""
        ...

    def set_meta(self, key: str, value: str) -> None:
        """Keep a value about Kiln itself."""
        ...

    def stats(self) -> StorageStats:
        """Row counts and bytes on disk."""
        ...

    def compact(self) -> int:
        """Reorder recently appended points into the stored layout, then bring the rollups up
        to date; return rows moved.

        Rollups hold, per series and minute (and hour), n, sum, min, max and last of the raw
        points: every (series, hour) written since its last rollup, at any age (a back-filled
        week), is recomputed from its raw points, so recomputing twice changes nothing.
        ``buckets`` answers from them when the width is a multiple of a minute or an hour and
        the range is long (or older than raw retention), stitching in raw points of the hours
        not rolled up yet: the same answer as from raw points alone.
        """
        ...

    def retention(self, plan: RetentionPlan, *, dry_run: bool = False) -> list[Removal]:
        """Delete the raw points and rollups the plan says are past retention, after compacting
        (rolled up first, so no hour is lost from the rollups); one Removal per (group, table),
        in plan order. dry_run only counts. Points later written before a group's raw cut are
        merged into the rollups at the next compaction, then removed.
        """
        ...

    def storage_report(self, now_ms: int, *, days: int = 30) -> StorageReport:
        """Rows and bytes per table, the ts span of telemetry tables, raw points per enterprise
        and per UTC day over the ``days`` days up to now_ms, and the hours awaiting rollup."""
        ...

    def forget_batches(self, before_ms: int) -> int:
        """Forget the identities of batches committed before before_ms (they stop guarding
        against a redelivery that old); return how many were forgotten."""
        ...

    def reorganize(self) -> int:
        """Rewrite the oldest closed day of points in the layout that compresses best (one run
        per series); return rows rewritten, 0 when no closed day is left to do."""
        ...

    def claim(self, role: str) -> bool:
        """Take a role that only one process sharing the store may hold at a time (it is
        released when the holder closes the store or dies); whether this process has it."""
        ...

    def close(self) -> None:
        """Flush and release the database."""
        ...

    # -- KPIs (kiln.kpi_service) -------------------------------------------------------------

    def state_changes(
        self, equipment: Sequence[int], start_ms: int, end_ms: int, *, reasons: bool = False
    ) -> pa.Table:
        """(equipment, ts_ms, state[, reason]) of every state change in [start_ms, end_ms),
        plus each equipment's last change before start_ms (the state in force), in no order."""
        ...

    def count_sums(
        self, equipment: Sequence[int], start_ms: int, end_ms: int, cuts_ms: Sequence[int]
    ) -> pa.Table:
        """(equipment, ts_ms, good, scrap) over [start_ms, end_ms), summed into pieces that no
        cut in cuts_ms splits, each stamped with a time inside its piece."""
        ...

    def energy_sums(
        self,
        series: Sequence[int],
        start_ms: int,
        end_ms: int,
        cuts_ms: Sequence[int],
        *,
        max_hold_ms: int = 300_000,
    ) -> pa.Table:
        """(series, ts_ms, energy_kwh) from power series in kW (sample and hold, at most
        max_hold_ms), summed like count_sums."""
        ...

    def write_product_changes(self, changes: Sequence[ProductChange]) -> int:
        """Keep product changes; one at an (equipment, start_ms) already kept replaces it."""
        ...

    def product_changes(self, equipment: Sequence[int], end_ms: int) -> pa.Table:
        """(equipment, start_ms, product, ideal_cycle_s, enterprise_id, line_id, recorded_ms,
        recorded_by) of the changes starting before end_ms, by equipment and start."""
        ...
