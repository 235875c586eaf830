"""build_runtime(settings): the only place that wires Kiln's parts together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.advisor_service.service import AdvisorService
from kiln.auth.ratelimit import RateLimiter
from kiln.auth.service import Security
from kiln.clock import Clock, SystemClock
from kiln.config import Settings
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput
from kiln.ingest.adapter import Adapter, adapters_from
from kiln.metrics import Metrics, ingesting_for
from kiln.pipeline import StoreSink, run_adapter, stop_tasks
from kiln.plan_service.service import PlanService
from kiln.store.base import Store
from kiln.store.duckdb import DuckDBStore
from kiln.store.retention import Removal, retention_plan
from kiln.store.writer import StoreWriter

if TYPE_CHECKING:
    from kiln.alarm_service.service import AlarmService
    from kiln.notify.dispatch import Notifier
    from kiln.simulator.live import SimulatorRunner

log = logging.getLogger(__name__)
RETAINED_KEY = "retention.last_run_ms"


def read_asset_file(path: Path) -> dict[str, Any]:
    """Read an asset document from a TOML, YAML or JSON file; BadInput names the file."""
    import json
    import tomllib

    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise BadInput(f"cannot read: {err.strerror}", where=str(path)) from None
    try:
        if path.suffix == ".toml":
            doc: Any = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            doc = yaml.safe_load(text)
        elif path.suffix == ".json":
            doc = json.loads(text)
        else:
            raise BadInput("asset files end in .toml, .yaml, .yml or .json", where=str(path))
    except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as err:
        raise BadInput(f"cannot parse: {err}", where=str(path)) from None
    if not isinstance(doc, dict):
        raise BadInput("an asset document must be a mapping with 'enterprises'", where=str(path))
    return doc


@dataclass
class Runtime:
    """Kiln's parts for one process: store, writer, simulator, metrics, background tasks."""

    settings: Settings
    store: Store
    writer: StoreWriter
    clock: Clock
    security: Security = field(init=False)
    ingest_limit: RateLimiter = field(init=False)
    sink: StoreSink = field(init=False)
    metrics: Metrics = field(init=False)
    plan: PlanService = field(init=False)
    adapters: list[Adapter] = field(default_factory=list)
    simulator: SimulatorRunner | None = None
    alarms: AlarmService | None = None  # rules and detectors, where this process evaluates them
    notifier: Notifier | None = None
    started_ms: int = 0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closed: bool = False

    def __post_init__(self) -> None:
        self.security = Security(
            self.store.accounts,
            self.clock,
            login_per_minute=self.settings.security.login_per_minute,
        )
        sec = self.settings.security
        self.ingest_limit = RateLimiter(rate=sec.ingest_per_s, burst=sec.ingest_burst)
        self.sink = StoreSink(
            self.store, self.writer, self.clock, keep=self.settings.ingest.dead_letters_keep
        )
        self.plan = PlanService(self.store)
        self.advisor = AdvisorService(self.store, self.settings.kpi)
        self.metrics = self.writer.metrics
        self.metrics.watch_adapters(lambda: self.adapters)

    @property
    def catalog(self) -> AssetCatalog:
        """Every asset, indexed."""
        return self.store.catalog()

    async def start(self, *, adapters: bool = True) -> None:
        """Start the background work: the configured ingest adapters, the simulator's live
        stream and compaction."""
        self.started_ms = self.clock.now_ms()
        self._tasks.append(asyncio.create_task(self.sink.run_flusher(), name="kiln-dead-letters"))
        if adapters:
            self.adapters = adapters_from(self.settings.ingest)
            for adapter in self.adapters:
                self._tasks.append(
                    asyncio.create_task(
                        run_adapter(adapter, self.sink), name=f"kiln-{adapter.kind}-{adapter.name}"
                    )
                )
        if self.simulator is not None:
            with ingesting_for("simulator"):
                await asyncio.to_thread(self.simulator.catch_up, self.clock.now_ms())
            self._tasks.append(asyncio.create_task(self._simulate(), name="kiln-simulator"))
        self._tasks.append(asyncio.create_task(self._compact(), name="kiln-compact"))
        if self.alarms is not None:
            self._start_alarms(self.alarms)

    def _start_alarms(self, alarms: AlarmService) -> None:
        """Evaluate what the writer commits; notify from this event loop."""
        notifier = self.notifier
        if notifier is not None:
            loop = asyncio.get_running_loop()
            alarms.notify_with(lambda events: loop.call_soon_threadsafe(notifier.notify, events))
            self._tasks.append(asyncio.create_task(notifier.run(), name="kiln-notify"))
        self.writer.after_commit.append(alarms.observe)
        alarms.start()

    async def stop(self) -> None:
        """Stop the background work, commit what is queued and close the store."""
        # Adapters first (they may still submit), then the rest; the flusher writes its last
        # dead letters as it is cancelled.
        await stop_tasks(self._tasks[1:])
        await stop_tasks(self._tasks[:1])
        self._tasks.clear()
        if self.alarms is not None:
            await asyncio.to_thread(self.alarms.stop)
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Commit what is queued, sort in the live points and close the store (once)."""
        if self._closed:
            return
        self._closed = True
        self.writer.close()
        if self.alarms is not None:
            self.alarms.stop()
        with contextlib.suppress(Exception):
            self.store.compact()
        self.store.close()

    async def _simulate(self) -> None:
        assert self.simulator is not None
        step_s = self.settings.simulator.step_s
        with ingesting_for("simulator"):
            while True:
                t0 = time.monotonic()
                bundle = await asyncio.to_thread(self.simulator.step, self.clock.now_ms())
                if len(bundle):
                    await self.writer.submit(bundle)
                    self.simulator.committed(self.store)
                await asyncio.sleep(max(0.0, step_s - (time.monotonic() - t0)))

    async def _compact(self) -> None:
        every = self.settings.store.compact_every_s
        while True:
            await asyncio.sleep(every)
            try:
                await asyncio.to_thread(self.store.compact)
                await asyncio.to_thread(self.store.reorganize)
            except Exception:
                log.exception("compaction failed; live points stay in the hot table")
            try:
                keep_ms = int(self.settings.store.batch_ids_days * 86_400_000)
                await asyncio.to_thread(self.store.forget_batches, self.clock.now_ms() - keep_ms)
            except Exception:
                log.exception("forgetting old batch identities failed; tried again next time")
            try:
                await asyncio.to_thread(self.retain)
            except Exception:
                log.exception("retention failed; it is tried again after the next compaction")

    def retain(self, *, every_ms: int = 86_400_000) -> list[Removal] | None:
        """Apply the [retention] settings if they last ran every_ms ago or more (or never);
        what was removed, or None when it was not due."""
        now = self.clock.now_ms()
        last = int(self.store.get_meta(RETAINED_KEY) or 0)
        if not self.settings.retention.enabled or now - last < every_ms:
            return None
        plan = retention_plan(self.catalog, self.settings.retention, now)
        removed = self.store.retention(plan)
        self.store.set_meta(RETAINED_KEY, str(now))
        log.info("retention removed %s rows", f"{sum(r.rows for r in removed):,}")
        return removed


def open_store(settings: Settings) -> Store:
    """The configured store: the embedded DuckDB file, or a PostgreSQL database shared by
    several processes (`kiln serve` and `kiln ingest` workers)."""
    if settings.store.backend == "postgres":
        from kiln.store.postgres import PostgresStore

        return PostgresStore(settings.store.url, pool_size=settings.store.pool_size)
    return DuckDBStore(settings.store.path, memory_limit=settings.store.memory_limit)


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    simulate: bool | None = None,
    alarms: bool | None = None,
) -> Runtime:
    """Open the store, load the configured assets, and prepare the simulator if enabled and
    the alarm service where this process evaluates alarms (``alarms``; by default when
    [alarms] is enabled)."""
    clock = clock or SystemClock()
    store = open_store(settings)
    try:
        for path in settings.assets:
            store.import_assets(read_asset_file(path), where=str(path))
        writer = StoreWriter(store, metrics=Metrics(clock))
    except BaseException:
        store.close()
        raise
    rt = Runtime(settings, store, writer, clock)
    if settings.simulator.enabled if simulate is None else simulate:
        from kiln.simulator.live import SimulatorRunner

        rt.simulator = SimulatorRunner(settings.simulator, store, writer)
    if settings.alarms.enabled if alarms is None else alarms:
        _add_alarms(rt)
    return rt


def _add_alarms(rt: Runtime) -> None:
    # One alarm book per database: processes sharing PostgreSQL (API replicas) elect one
    # evaluator; the others list alarms and answer 503 to acknowledging (docs/alarms.md).
    if not rt.store.claim("alarms"):
        log.warning("another process evaluates alarms on this database; this one lists them only")
        return
    from kiln.alarm_service.service import AlarmService
    from kiln.kpi_service import KpiService
    from kiln.stream.rule_defs import parse_rule

    cfg = rt.settings.alarms
    rules = [parse_rule(d, where=f"alarms.rules[{i}]") for i, d in enumerate(cfg.rules)]
    rt.alarms = AlarmService(
        rt.store,
        rt.clock,
        config_rules=rules,
        detect=cfg.detect,
        flap_transitions=cfg.flap_transitions,
        flap_window_ms=int(cfg.flap_window_s * 1000),
        kpis=KpiService(rt.store, rt.settings.kpi),
    )
    notify = rt.settings.notify
    if notify.webhooks or notify.email:
        from kiln.alarm_service.names import describer
        from kiln.notify.dispatch import Notifier

        rt.notifier = Notifier(notify, describer(rt.store), registry=rt.metrics.registry)
