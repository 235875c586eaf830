"""What an ingest adapter hands its output to: a Sink (the runtime provides the real one).

Adapters know protocols and nothing of storage: they decode what arrives into a Bundle and
``await sink.submit(...)``, which returns only once the bundle is committed, so a protocol that
acknowledges (MQTT QoS 1, a CSV checkpoint) acknowledges after the commit. What cannot be decoded
goes to ``sink.dead_letter(...)``: counted per source and kept with its reason and first bytes,
while the adapter goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter

__all__ = ["DeadLetter", "Sink"]


class Sink(Protocol):
    """Where adapters deliver: committed bundles, dead letters, and asset registration."""

    @property
    def catalog(self) -> AssetCatalog:
        """The current asset catalogue (it changes when assets are registered)."""
        ...

    def now_ms(self) -> int:
        """The platform clock, for checking timestamps and stamping dead letters."""
        ...

    async def submit(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        """Store a bundle atomically and return once committed; rows added (0 if a duplicate)."""
        ...

    async def submit_group(self, items: Sequence[tuple[Bundle, str | None]]) -> int:
        """Store several (bundle, batch_id) in one transaction, all or none, and return once
        committed; rows added in all (an item whose batch_id was committed before adds none).

        For a protocol whose messages each carry an identity (a JetStream stream sequence):
        one item per message, so a message delivered again is skipped, whatever it came with.
        """
        ...

    def dead_letter(self, letter: DeadLetter) -> None:
        """Keep a refused message (buffered; written in batches, never blocks the adapter)."""
        ...

    async def register(self, doc: dict[str, Any], *, where: str) -> AssetCatalog:
        """Create or update assets from an asset document (auto-registration); new catalogue."""
        ...
