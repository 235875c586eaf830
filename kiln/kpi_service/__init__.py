"""The KPI service: ISO 22400 KPIs over the store, per level and period (domain.md 1).

Reads state changes, counts, energy and product runs in bulk, builds the sites' shift
calendars, the time-model rules of the settings and the PRI steps, and runs the pure engine in
`kiln.kpi`. Tenancy is not here: `kiln.access` decides what a caller may ask for.
"""

from kiln.kpi_service.periods import Period, Window
from kiln.kpi_service.service import KpiRequest, KpiService, ParetoRow

__all__ = ["KpiRequest", "KpiService", "ParetoRow", "Period", "Window"]
