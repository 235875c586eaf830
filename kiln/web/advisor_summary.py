"""The advisor's best candidates as a short list for the enterprise and line pages.

Those pages must show even when the advisor cannot (no data yet, a store error): the summary is
then empty and the pages say nothing of it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from kiln.advisor_access import explained
from kiln.advisor_service.service import rank
from kiln.errors import KilnError
from kiln.runtime import Runtime
from kiln.web.i18n import current_language

log = logging.getLogger(__name__)


def advice_summary(rt: Runtime, line_ids: Sequence[int], limit: int = 3) -> list[dict[str, Any]]:
    """The best `limit` candidates on these lines (the caller has checked they are the
    viewer's), each with its line, station, words in the page's language and payback."""
    if not line_ids:
        return []
    try:
        found = rt.advisor.advise(rt.catalog, list(line_ids), rt.clock.now_ms(), solutions=[])
    except KilnError as err:
        log.warning("the advisor's summary is left out: %s", err)
        return []
    best = sorted((p.candidate for la in found for p in la.proposals), key=rank)[:limit]
    lang = "zh" if current_language() == "zh" else "en"
    return [
        {
            "line_id": c.line_id,
            "line": rt.catalog.lines[c.line_id].name,
            "station": c.station.measure.name,
            "text": explained(c, lang),
            "payback_years": c.money.payback_years,
        }
        for c in best
    ]
