"""Dead letters: messages an adapter could not take, kept with the reason and first bytes."""

from __future__ import annotations

from dataclasses import dataclass

PAYLOAD_HEAD = 256  # bytes of a refused payload kept with its reason


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One refused message: which adapter, which source (topic, node, file:line), why."""

    ts_ms: int
    adapter: str  # "<kind>:<name>", e.g. "mqtt:plant-broker", or "http"
    source: str
    reason: str
    payload: bytes = b""
    enterprise_id: int | None = None  # None when the message named no known enterprise

    def head(self) -> bytes:
        """The first bytes of the payload, as kept."""
        return self.payload[:PAYLOAD_HEAD]
