"""AlarmService: rules and the anomaly detector on what ingest commits, the alarm book, its
storage and notifications, in one thread of its own.

The store writer hands every committed bundle to `observe`, which only queues it: alarm work
never slows ingest. When the queue is full (the evaluator fell behind) bundles are counted as
skipped, not waited for. One thread takes bundles off the queue, evaluates them, applies the
conditions to the book, stores what changed and hands the events to the notifier; the same
thread ticks every second for what depends on time alone (no data, durations, shelving).
Acknowledging and shelving come from the API on other threads; one lock keeps the book whole.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from kiln.alarm_service.kpi_feed import KpiFeed
from kiln.analytics.monitor import AnomalyMonitor
from kiln.clock import Clock
from kiln.domain.alarms import Alarm, AlarmBook, AlarmEvent, Condition
from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput
from kiln.kpi_service import KpiService
from kiln.store.alarm_tables import AlarmQuery
from kiln.store.base import Store
from kiln.stream.rule_defs import Rule, parse_rule
from kiln.stream.rules import RuleEngine

log = logging.getLogger(__name__)

TICK_S = 1.0
QUEUE_BUNDLES = 256  # committed bundles waiting for evaluation; past it they are skipped


class AlarmService:
    """Evaluates committed data into alarms and keeps their lifecycle."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        config_rules: Sequence[Rule] = (),
        detect: bool = True,
        notify: Callable[[Sequence[AlarmEvent]], object] | None = None,
        flap_transitions: int | None = None,
        flap_window_ms: int | None = None,
        kpis: KpiService | None = None,
    ) -> None:
        self.store, self.clock = store, clock
        self.config_rules = list(config_rules)
        self.detect = detect
        self._notify = notify
        self._lock = threading.RLock()
        book_args: dict[str, Any] = {"first_id": store.alarms.next_id()}
        if flap_transitions is not None:
            book_args["flap_transitions"] = flap_transitions
        if flap_window_ms is not None:
            book_args["flap_window_ms"] = flap_window_ms
        self.book = AlarmBook(**book_args)
        self.book.load(store.alarms.open_alarms())
        self._catalog_seen: AssetCatalog | None = None
        self.engine = RuleEngine([], AssetCatalog())
        self.monitor: AnomalyMonitor | None = None
        self._rebuild(store.catalog())
        self._queue: queue.Queue[Bundle | None] = queue.Queue(maxsize=QUEUE_BUNDLES)
        self._thread: threading.Thread | None = None
        self.evaluated = 0  # bundles evaluated since start
        self.skipped = 0  # bundles not evaluated because the queue was full
        self.raised = 0  # alarms raised since start
        self.version = 0  # bumps on every stored change, for the console's live updates
        self.kpi_feed = KpiFeed(kpis, store.catalog, clock.now_ms()) if kpis else None

    # -- rules -------------------------------------------------------------------------------

    def rules(self) -> list[tuple[Rule, str]]:
        """Every rule in force with where it comes from ("config" or "api")."""
        stored = [parse_rule(d, where=f"rule {d.get('name')!r}") for d in self.store.alarms.rules()]
        return [(r, "config") for r in self.config_rules] + [(r, "api") for r in stored]

    def put_rule(self, doc: dict[str, Any], *, who: str) -> tuple[Rule, bool]:
        """Validate and store a rule from the API or the UI; whether it is new."""
        rule = parse_rule(doc, where="rule")
        if any(r.name == rule.name for r in self.config_rules):
            raise BadInput(
                f"rule {rule.name!r} is defined in the configuration file; change it there",
                where="name",
            )
        created = self.store.alarms.put_rule(
            rule.name, rule.to_doc(), who=who, now_ms=self.clock.now_ms()
        )
        with self._lock:
            self._rebuild(self.store.catalog(), force=True)
        return rule, created

    def delete_rule(self, name: str) -> bool:
        """Delete a stored rule; whether it existed."""
        gone = self.store.alarms.delete_rule(name)
        if gone:
            with self._lock:
                self._rebuild(self.store.catalog(), force=True)
        return gone

    def _rebuild(self, catalog: AssetCatalog, *, force: bool = False) -> None:
        """Rebuild the evaluators when the assets or the rules changed."""
        if catalog is self._catalog_seen and not force:
            return
        self._catalog_seen = catalog
        # Alarms open before a rebuild must still clear when their source is normal again.
        self.engine = RuleEngine(
            [r for r, _ in self.rules() if r.enabled],
            catalog,
            start_ms=self.clock.now_ms(),
            active=[a.key for a in self.book.open_alarms() if a.active and a.rule],
        )
        for problem in self.engine.problems():
            log.info("alarm rules: %s", problem)
        if self.detect:
            if self.monitor is None:
                self.monitor = AnomalyMonitor(catalog)
            else:
                self.monitor.catalog = catalog

    # -- the stream --------------------------------------------------------------------------

    def observe(self, bundle: Bundle) -> None:
        """Queue a committed bundle for evaluation (never blocks; skipped when full)."""
        try:
            self._queue.put_nowait(bundle)
        except queue.Full:
            self.skipped += 1

    def start(self) -> None:
        """Start the evaluating thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kiln-alarms", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Evaluate what is queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        next_tick = time.monotonic() + TICK_S
        while True:
            try:
                bundle = self._queue.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                bundle = None
                stop = False
            else:
                stop = bundle is None
            try:
                if bundle is not None:
                    self.evaluate(bundle)
                if time.monotonic() >= next_tick or stop:
                    next_tick = time.monotonic() + TICK_S
                    self.tick()
            except Exception:
                log.exception("alarm evaluation failed; it goes on with the next batch")
            if stop:
                return

    def evaluate(self, bundle: Bundle) -> list[AlarmEvent]:
        """Rules and the detector over one committed bundle; the events it caused."""
        with self._lock:
            self._rebuild(self.store.catalog())
            conditions = self.engine.observe(bundle)
            if self.monitor is not None and len(bundle.points):
                conditions += self.monitor.observe(bundle.points, bundle.states)
            self.evaluated += 1
            return self._apply(conditions)

    def tick(self) -> list[AlarmEvent]:
        """Time-based rules and the book's timers, at the clock's now."""
        with self._lock:
            self._rebuild(self.store.catalog())
            now = self.clock.now_ms()
            conditions = self.engine.tick(now)
            if self.kpi_feed is not None:
                conditions += self.kpi_feed.tick(self.engine, now)
            return self._apply(conditions, now)

    def observe_kpi(
        self, equipment_id: int, kpi: str, value: float, start_ms: int, end_ms: int
    ) -> list[AlarmEvent]:
        """A KPI result for a period (e.g. a shift's OEE) against the KPI rules."""
        with self._lock:
            return self._apply(self.engine.observe_kpi(equipment_id, kpi, value, start_ms, end_ms))

    def _apply(self, conditions: list[Condition], now_ms: int | None = None) -> list[AlarmEvent]:
        now = self.clock.now_ms() if now_ms is None else now_ms
        if not conditions and not self.book.open_alarms():
            return []
        events = self.book.apply(conditions, now)
        touched = {e.alarm_id for e in events}
        for c in conditions:
            alarm = self.book.open_alarm_of(c.key)
            if alarm is not None:
                touched.add(alarm.id)  # an occurrence counted on an open alarm
        if touched:
            self._save([self.book.alarm(i) for i in sorted(touched)], events)
        return events

    def notify_with(self, notify: Callable[[Sequence[AlarmEvent]], object]) -> None:
        """Where events go once stored (the notifier, from the runtime's event loop)."""
        self._notify = notify

    def _save(self, alarms: list[Alarm], events: list[AlarmEvent]) -> None:
        self.store.alarms.save(alarms, events)
        self.version += 1
        self.raised += sum(e.action == "raised" for e in events)
        if events and self._notify is not None:
            self._notify(events)

    # -- people ------------------------------------------------------------------------------

    def acknowledge(self, alarm_id: int, who: str, comment: str | None) -> Alarm:
        """Acknowledge an open alarm (Conflict if it already is, NotFound if none)."""
        with self._lock:
            event = self.book.acknowledge(alarm_id, who, comment, self.clock.now_ms())
            alarm = self.book.alarm(alarm_id)
            self._save([alarm], [event])
            return alarm

    def shelve(self, alarm_id: int, who: str, until_ms: int, comment: str | None) -> Alarm:
        """Silence an open alarm until a time."""
        with self._lock:
            event = self.book.shelve(alarm_id, who, until_ms, comment, self.clock.now_ms())
            alarm = self.book.alarm(alarm_id)
            self._save([alarm], [event])
            return alarm

    def unshelve(self, alarm_id: int, who: str, comment: str | None) -> Alarm:
        """End a shelving early."""
        with self._lock:
            event = self.book.unshelve(alarm_id, who, comment, self.clock.now_ms())
            alarm = self.book.alarm(alarm_id)
            self._save([alarm], [event])
            return alarm

    def find(self, query: AlarmQuery) -> tuple[list[Alarm], int]:
        """Stored alarms matching a query, and how many match."""
        return self.store.alarms.find(query)

    def stats(self) -> dict[str, int]:
        """What the service did since start, for the metrics and the console."""
        return {
            "evaluated": self.evaluated,
            "skipped": self.skipped,
            "raised": self.raised,
            "open": len(self.book.open_alarms()),
            "queued": self._queue.qsize(),
        }
