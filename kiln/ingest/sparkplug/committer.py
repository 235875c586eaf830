"""Commits what the host decoded: bundles of many messages in one group, one group at a time.

While one group is in the store, the next one gathers; a store failure becomes a dead letter
(the host goes on), and a caller that must not outrun the store waits on ``drained``.
"""

from __future__ import annotations

import asyncio
import logging

from kiln.domain.batches import Bundle
from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.sink import Sink

log = logging.getLogger(__name__)


class Committer:
    """Commits decoded bundles in groups: while one group is in the store, the next gathers."""

    def __init__(self, sink: Sink, adapter: str) -> None:
        self.sink, self.adapter = sink, adapter
        self.pending: list[Bundle] = []
        self.rows = 0
        self.committed = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def add(self, bundle: Bundle) -> None:
        """Queue a bundle for the next commit."""
        self.pending.append(bundle)
        self.rows += len(bundle)
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        """Commit whatever is queued whenever something is added, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.commit()

    async def commit(self) -> None:
        """Commit everything queued now, in groups, until nothing is left."""
        while self.pending:
            group, self.pending, self.rows = self.pending, [], 0
            bundle = Bundle.concat(group)
            try:
                self.committed += await self.sink.submit(bundle)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # a store failure must not end the host: keep the reason
                log.exception("%s could not commit %d rows", self.adapter, len(bundle))
                self.sink.dead_letter(
                    DeadLetter(
                        self.sink.now_ms(), self.adapter, "store", f"commit failed: {err}"[:500]
                    )
                )
        self._idle.set()

    async def drained(self) -> None:
        """Return once everything added so far is committed."""
        self._wake.set()
        await self._idle.wait()
