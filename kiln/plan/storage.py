"""What the plan tracker needs from storage: the PlanStore protocol each backend implements."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

import pyarrow as pa

from kiln.plan.documents import PublishedFigure
from kiln.plan.fields import FIELD_NAMES
from kiln.plan.filings import Filing, Flag, Period

# The columns a stored filing is read back in, by either backend.
FILING_COLUMNS = (
    "enterprise_id", "year", "month", "version", "reason", "filed_by", "filed_ms", "channel",
    "flags", *FIELD_NAMES,
)  # fmt: skip
# The columns of PlanStore.yearly(): per enterprise and year.
YEARLY_COLUMNS = ("enterprise_id", "year", "months", "last_month", "filed_ms")


def filing_from_row(r: Sequence[Any]) -> Filing:
    """A filing from a row of FILING_COLUMNS (both backends read them in this order)."""
    figures = {n: float(v) for n, v in zip(FIELD_NAMES, r[9:], strict=True) if v is not None}
    flags = tuple(Flag(f["field"], f["what"]) for f in json.loads(r[8] or "[]"))
    return Filing(
        enterprise_id=int(r[0]),
        period=Period(int(r[1]), int(r[2])),
        figures=figures,
        version=int(r[3]),
        reason=r[4] or "",
        filed_by=r[5] or "",
        filed_ms=int(r[6] or 0),
        channel=r[7] or "",
        flags=flags,
    )


class PlanStore(Protocol):
    """Plans, indicator definitions, published figures and the versioned filings."""

    def documents(self, kind: str) -> dict[str, dict[str, Any]]:
        """Stored documents of a kind ('plan', 'config'), by key."""
        ...

    def put_document(self, kind: str, key: str, doc: dict[str, Any]) -> None:
        """Create or replace one document."""
        ...

    def delete_document(self, kind: str, key: str) -> bool:
        """Delete one document; whether it existed."""
        ...

    def published(self) -> list[PublishedFigure]:
        """Every published figure."""
        ...

    def put_published(self, figures: Sequence[PublishedFigure]) -> int:
        """Create or replace published figures (by indicator, scope, year and measure)."""
        ...

    def write_filings(self, filings: Sequence[Filing]) -> int:
        """Store new filing versions atomically (all or none). Each must carry the version
        after the stored current one (1 when none); otherwise Conflict, as another filer
        corrected the same period in between. The previous version stops being current."""
        ...

    def current_filings(
        self, keys: Sequence[tuple[int, Period]]
    ) -> dict[tuple[int, Period], Filing]:
        """The current version of each (enterprise, period) that has one."""
        ...

    def filing_history(self, enterprise_id: int, period: Period) -> list[Filing]:
        """Every version of one enterprise's filing for a period, oldest first."""
        ...

    def filings(
        self, enterprise_id: int | None, first_year: int, last_year: int, *, limit: int = 10_000
    ) -> list[Filing]:
        """Current filings of one enterprise (None: all), newest period first."""
        ...

    def yearly(self, first_year: int, last_year: int, *, through_month: int = 12) -> pa.Table:
        """Per enterprise and year, from current filings: flows summed over the months filed up
        to ``through_month`` (an annual filing wins when there is one and through_month is 12),
        stocks as at the last month filed; with YEARLY_COLUMNS and one column per figure."""
        ...
