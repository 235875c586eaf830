"""What every ingest adapter produces: a bundle of good rows, or the reasons it was refused."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiln.domain.batches import Bundle

EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00Z: older timestamps are clock faults
MAX_FUTURE_MS = 10 * 60 * 1000  # a device clock more than 10 minutes ahead is wrong


@dataclass(frozen=True, slots=True)
class Reject:
    """One refused item: which section and item, which field, and why."""

    section: str
    index: int
    field: str
    reason: str

    def where(self) -> str:
        """A path to the bad item: ``points[3].v``, or the field alone at the top level."""
        item = f"{self.section}[{self.index}]" if self.section else ""
        return ".".join(p for p in (item, self.field) if p) or "body"

    def as_dict(self) -> dict[str, object]:
        """The JSON form an API answers with."""
        return {
            "section": self.section,
            "index": self.index,
            "field": self.field,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Decoded:
    """What a body decoded to: a bundle, and the rejects (if any, nothing is stored)."""

    bundle: Bundle
    rejects: list[Reject] = field(default_factory=list)
    batch_id: str | None = None
