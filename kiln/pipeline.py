"""StoreSink: the Sink adapters deliver to, backed by the store writer and the dead-letter table.

Dead letters are buffered and written in batches by a background task, so a flood of bad input
costs one insert per flush, not one per message, and never blocks the adapter that refused it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

from kiln.clock import Clock
from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.adapter import Adapter
from kiln.metrics import ingesting_for
from kiln.store.base import Store
from kiln.store.writer import StoreWriter

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 0.5
MAX_BUFFERED = 50_000  # dead letters waiting for a flush; past it the oldest payloads go
LOGGED_PER_MINUTE = 20  # refusals logged one by one per adapter; the rest are counted


class RefusalLog:
    """Logs refusals one by one up to a rate, then counts them and says how many were not
    logged: a flood of bad input must not flood the log (each one is in the dead letters)."""

    def __init__(self, *, per_minute: int = LOGGED_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self._window: dict[str, tuple[int, int, int]] = {}  # adapter -> (minute, logged, quiet)

    def refused(self, letter: DeadLetter, now_ms: int) -> None:
        """Log one refusal, or count it if its adapter has used this minute's lines."""
        minute = now_ms // 60_000
        start, logged, quiet = self._window.get(letter.adapter, (minute, 0, 0))
        if minute != start:
            if quiet:
                log.warning(
                    "%s: %d more refusals in the minute before were not logged one by one; "
                    "they are in the dead letters",
                    letter.adapter,
                    quiet,
                )
            start, logged, quiet = minute, 0, 0
        if logged < self.per_minute:
            log.info("refused %s from %s: %s", letter.adapter, letter.source, letter.reason)
            logged += 1
        else:
            quiet += 1
        self._window[letter.adapter] = (start, logged, quiet)


class StoreSink:
    """Commits bundles through the writer; keeps dead letters; registers assets."""

    def __init__(self, store: Store, writer: StoreWriter, clock: Clock, *, keep: int) -> None:
        self.store, self.writer, self.clock, self.keep = store, writer, clock, keep
        self._letters: list[DeadLetter] = []
        self._lock = threading.Lock()  # dead_letter may be called from a client library's thread
        self.refused: Counter[str] = Counter()  # per adapter, since start
        self.metrics = writer.metrics
        self.lost = 0  # letters dropped because the buffer was full (logged)
        self._log = RefusalLog()

    @property
    def catalog(self) -> AssetCatalog:
        """The current asset catalogue."""
        return self.store.catalog()

    def now_ms(self) -> int:
        """The platform clock."""
        return self.clock.now_ms()

    async def submit(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        """Commit a bundle; return once it is stored."""
        return await self.writer.submit(bundle, batch_id=batch_id)

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        """Commit several (bundle, batch_id) in one transaction; return once stored."""
        return await self.writer.submit_group(items)

    def dead_letter(self, letter: DeadLetter) -> None:
        """Buffer a refused message for the next flush."""
        # Counted here, not at the flush: a letter lost to a full buffer was refused all the same.
        self.metrics.refused(letter.adapter)
        with self._lock:
            self._log.refused(letter, self.clock.now_ms())
            self.refused[letter.adapter] += 1
            if len(self._letters) >= MAX_BUFFERED:
                self._letters.pop(0)
                self.lost += 1
            self._letters.append(letter)

    async def register(self, doc: dict[str, Any], *, where: str) -> AssetCatalog:
        """Create or update assets from a document, off the event loop."""
        return await asyncio.to_thread(self.store.import_assets, doc, where=where)

    def flush(self) -> int:
        """Write the buffered dead letters now; return how many."""
        with self._lock:
            letters, self._letters = self._letters, []
        if letters:
            try:
                self.store.write_dead_letters(letters, keep=self.keep)
            except Exception:
                log.exception("could not write %d dead letters; keeping them", len(letters))
                with self._lock:
                    self._letters[:0] = letters[-MAX_BUFFERED:]
                return 0
        return len(letters)

    async def run_flusher(self) -> None:
        """Flush dead letters every half second until cancelled, then once more."""
        try:
            while True:
                await asyncio.sleep(FLUSH_EVERY_S)
                await asyncio.to_thread(self.flush)
        finally:
            self.flush()


async def run_adapter(adapter: Adapter, sink: StoreSink) -> None:
    """Run one adapter; if it ever fails, log and restart it after a pause (never give up)."""
    with ingesting_for(adapter.kind):
        await _run_adapter(adapter, sink)


async def _run_adapter(adapter: Adapter, sink: StoreSink) -> None:
    pause = 1.0
    while True:
        try:
            await adapter.run(sink)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "%s adapter %r failed; restarting in %.0f s", adapter.kind, adapter.name, pause
            )
            sink.dead_letter(
                DeadLetter(
                    sink.now_ms(),
                    f"{adapter.kind}:{adapter.name}",
                    "adapter",
                    "adapter failed; restarted",
                )
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, 60.0)


async def stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel tasks and wait for them to end."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
