"""The plan tracker's scoped actions, shared by the API and the pages: storing filings as the
caller may, and the measured indicators with the KPI roll-ups a city role may see."""

from __future__ import annotations

from typing import Any

from kiln.access import Access
from kiln.auth.roles import Permission
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService, Window
from kiln.kpi_service.rows import to_rows
from kiln.plan.filings import Filing
from kiln.plan_service import submit
from kiln.plan_service.measured import Measured, measure
from kiln.runtime import Runtime


def store_filings(
    rt: Runtime, access: Access, subs: list[submit.Submission], channel: str, confirm: bool
) -> list[Filing]:
    """Check and store filings: an enterprise admin for its own enterprise, the city admin for
    any (paper forms the bureau enters); audited."""
    access.require(Permission.FILE_STATISTICS)
    who = access.who
    own = None if who.role.is_city else who.enterprise_id
    filings = submit.check(
        rt.plan.plans_store,
        access.catalog,
        subs,
        filed_by=who.name,
        channel=channel,
        now_ms=rt.clock.now_ms(),
        confirm=confirm,
        own_enterprise=own,
    )
    rt.plan.plans_store.write_filings(filings)
    corrections = sum(1 for f in filings if f.version > 1)
    rt.security.record(
        who,
        "filings_stored",
        enterprise_id=own,
        detail=f"{len(filings)} filings via {channel}, {corrections} corrections",
    )
    return filings


def measured(rt: Runtime, access: Access) -> tuple[Measured, dict[str, list[dict[str, Any]]]]:
    """The measured indicators now, and this month's KPI rows by industry and by district (small
    groups withheld by the KPI roll-up's own rule)."""
    access.require(Permission.READ_CITY_AGGREGATES)
    m = measure(
        access.catalog,
        rt.plan.config(),
        rt.store.last_values(),
        rt.store.current_states(),
        rt.clock.now_ms(),
    )
    service = KpiService(rt.store, rt.settings.kpi)
    oee = {
        level.value: to_rows(
            access.kpi_table(service, KpiRequest(level=level, window=Window.MONTH, energy=False))
        )
        for level in (Level.INDUSTRY, Level.DISTRICT)
    }
    return m, oee
