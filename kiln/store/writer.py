"""The one writer thread: drains a bounded queue of bundles into the store, in group commits.

Back-pressure, not unbounded queues: ``submit`` waits while ``max_pending`` bundles are queued,
so a slow disk slows the sources instead of growing memory. Each caller's future resolves only
after its bundle is committed, so a protocol that acknowledges can acknowledge after the commit.
Each commit is counted in the process's metrics, labelled with the adapter that submitted it
(``kiln.metrics.INGEST_ADAPTER`` where ``submit`` was called).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kiln.domain.batches import Bundle
from kiln.errors import Unavailable
from kiln.metrics import INGEST_ADAPTER, Metrics
from kiln.store.base import Store

log = logging.getLogger(__name__)

GROUP_ROWS = 200_000  # rows per group commit: large enough to amortise, small for latency


@dataclass(slots=True)
class _Job:
    bundle: Bundle
    batch_id: str | None
    adapter: str  # for the metrics
    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[int] | None
    done: threading.Event = field(default_factory=threading.Event)
    result: int | BaseException = 0
    parts: list[tuple[Bundle, str | None]] | None = None  # submit_group's items (bundle: all)

    def items(self) -> list[tuple[Bundle, str | None]]:
        """What the job stores, as (bundle, batch_id) items of one transaction."""
        return self.parts if self.parts is not None else [(self.bundle, self.batch_id)]


class StoreWriter:
    """Owns all writes to a store from one thread."""

    def __init__(
        self, store: Store, *, max_pending: int = 64, metrics: Metrics | None = None
    ) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self._queue: queue.Queue[_Job | None] = queue.Queue(maxsize=max_pending)
        self.metrics.watch_queue(self._queue.qsize)
        self._thread = threading.Thread(target=self._run, name="kiln-writer", daemon=True)
        self._stopped = False
        self.committed_rows = 0
        self.committed_batches = 0
        # Called on the writer thread with each bundle that stored rows (a redelivered one,
        # stored before, is not passed again); they must only queue, never block.
        self.after_commit: list[Callable[[Bundle], None]] = []
        self._thread.start()

    async def submit(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        """Queue a bundle and wait until it is committed; return the rows added."""
        if self._stopped:
            raise Unavailable("the store writer is stopped")
        loop = asyncio.get_running_loop()
        job = _Job(bundle, batch_id, INGEST_ADAPTER.get(), loop, loop.create_future())
        return await self._queued(job)

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        """Queue (bundle, batch_id) items to be stored in one transaction, all or none, and wait
        until committed; return the rows added (none for a batch_id committed before)."""
        if self._stopped:
            raise Unavailable("the store writer is stopped")
        if not items:
            return 0
        loop = asyncio.get_running_loop()
        whole = Bundle.concat([b for b, _ in items])
        job = _Job(whole, None, INGEST_ADAPTER.get(), loop, loop.create_future(), parts=list(items))
        return await self._queued(job)

    async def _queued(self, job: _Job) -> int:
        while True:
            try:
                self._queue.put_nowait(job)
                break
            except queue.Full:
                await asyncio.sleep(0.005)  # the writer is behind: hold the source back
        assert job.future is not None
        return await job.future

    def submit_sync(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        """Queue a bundle from a plain thread and block until it is committed."""
        if self._stopped:
            raise Unavailable("the store writer is stopped")
        job = _Job(bundle, batch_id, INGEST_ADAPTER.get(), None, None)
        self._queue.put(job)
        job.done.wait()
        if isinstance(job.result, BaseException):
            raise job.result
        return job.result

    @property
    def alive(self) -> bool:
        """Whether the writer thread runs and takes bundles."""
        return self._thread.is_alive() and not self._stopped

    @property
    def full(self) -> bool:
        """Whether the queue is full (the next submit waits)."""
        return self._queue.full()

    async def flushed(self) -> None:
        """Return once every bundle submitted so far is committed."""
        await self.submit(Bundle())

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        if not self._stopped:
            self._stopped = True
            self._queue.put(None)
            self._thread.join()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            group = [job]
            rows = len(job.bundle)
            # What queued while the last commit ran shares this one (no waiting for more: a
            # writer that keeps up commits at once, one that falls behind groups by itself).
            while rows < GROUP_ROWS:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._commit(group)
                    return
                group.append(nxt)
                rows += len(nxt.bundle)
            self._commit(group)

    def _commit(self, group: list[_Job]) -> None:
        if len(group) > 1:
            try:
                added = iter(self._write([item for j in group for item in j.items()]))
            except Unavailable as err:
                # The database is away: every bundle would fail alike, each after a wait.
                log.warning("store unavailable; %d bundles not committed: %s", len(group), err)
                for j in group:
                    self._finish(j, err)
                return
            except Exception:  # one bad bundle must not fail the others: retry one by one
                log.warning("group commit failed; committing its %d bundles one by one", len(group))
            else:
                for j in group:
                    self._finish(j, sum(next(added) for _ in j.items()))
                return
        for j in group:
            try:
                self._finish(j, sum(self._write(j.items())))
            except Exception as err:
                log.exception("store write failed")
                self._finish(j, err)

    def _write(self, items: list[tuple[Bundle, str | None]]) -> list[int]:
        """One store transaction; its latency goes to the metrics (flushed()'s empty barrier
        bundles alone are no commit)."""
        t0 = time.perf_counter()
        if len(items) == 1:
            added = [self.store.write(items[0][0], batch_id=items[0][1])]
        else:
            added = self.store.write_group(items)
        if any(len(bundle) for bundle, _ in items):
            self.metrics.write_seconds.observe(time.perf_counter() - t0)
        return added

    def _tell(self, job: _Job) -> None:
        for listener in self.after_commit:
            for bundle in _bundles_of(job):
                try:
                    listener(bundle)
                except Exception:
                    log.exception("a commit listener failed; the commit stands")

    def _finish(self, job: _Job, result: int | BaseException) -> None:
        if isinstance(result, int):
            self.committed_rows += result
            self.committed_batches += 1
        if len(job.bundle):  # an empty bundle is flushed()'s barrier, not a batch
            if isinstance(result, int):
                duplicate = (job.batch_id is not None or job.parts is not None) and result == 0
                self.metrics.committed(job.adapter, job.bundle, result, duplicate=duplicate)
                if result:
                    self._tell(job)
            else:
                self.metrics.failed(job.adapter)
        job.result = result
        job.done.set()
        if job.loop is not None and job.future is not None:
            job.loop.call_soon_threadsafe(_resolve, job.future, result)


def _bundles_of(job: _Job) -> list[Bundle]:
    return [b for b, _ in job.parts] if job.parts is not None else [job.bundle]


def _resolve(future: asyncio.Future[int], result: int | BaseException) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
