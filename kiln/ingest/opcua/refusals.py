"""Dead letters of one OPC UA adapter: one per node and kind, until that node delivers again.

A node that keeps sending strings would otherwise fill the dead-letter table with copies of one
message; repeats are counted here instead, and a node that recovers and fails again is
reported again.
"""

from __future__ import annotations

from collections.abc import Iterable

from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.sink import Sink


class Refusals:
    """Sends the first refusal of each (source, kind) to the sink; counts the repeats."""

    def __init__(self, adapter: str) -> None:
        self.adapter = adapter
        self.repeats = 0  # refusals not sent because the same one is already reported
        self._open: set[tuple[str, str]] = set()

    def refuse(
        self,
        sink: Sink,
        *,
        source: str,
        kind: str,
        reason: str,
        payload: bytes = b"",
        enterprise_id: int | None = None,
    ) -> bool:
        """Dead-letter a refusal unless it is already reported; True if it was sent."""
        key = (source, kind)
        if key in self._open:
            self.repeats += 1
            return False
        self._open.add(key)
        sink.dead_letter(
            DeadLetter(sink.now_ms(), self.adapter, source, reason, payload, enterprise_id)
        )
        return True

    def clear(self, sources: Iterable[str]) -> None:
        """These sources delivered good values: report their next refusal again."""
        if self._open:
            done = set(sources)
            self._open = {key for key in self._open if key[0] not in done}
