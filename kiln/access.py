"""Tenancy in one place: what a principal may see of the assets and telemetry.

Every route that reads enterprise data asks an Access for it. An enterprise user sees its own
enterprise; anything else answers 404, as if it did not exist (so ids cannot be probed). City
roles see the registry (names, districts, industries) and aggregates, never one enterprise's
raw telemetry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.assets import Enterprise, Equipment, Signal
from kiln.domain.catalog import AssetCatalog
from kiln.domain.industries import key_industry_of
from kiln.domain.product_runs import ProductChange, check_cycle, check_product
from kiln.domain.states import STATE_NAMES
from kiln.errors import BadInput, Forbidden, NotFound
from kiln.kpi.rollup import Level
from kiln.kpi_service import KpiRequest, KpiService, ParetoRow, Period
from kiln.kpi_service.rows import enterprises_per_group, only_columns, suppress_small_groups
from kiln.store.base import MAX_CHART_POINTS, Store

CITY_LEVELS = (Level.INDUSTRY, Level.DISTRICT, Level.CITY)
CONSENTED_LEVELS = (Level.LINE, Level.ENTERPRISE)
OEE_INDICATOR = "oee"  # the consent that shows the city one enterprise's OEE (indicators.py)
# What the "oee" consent shows: OEE, its factors, and how much of the time had data.
OEE_COLUMNS = ("oee", "availability", "effectiveness", "quality_ratio", "data_coverage")


class Access:
    """A principal's view of the store: reads are scoped, refusals are 403 or 404."""

    def __init__(self, store: Store, who: Principal, *, now_ms: int = 0) -> None:
        self.store = store
        self.who = who
        self.now_ms = now_ms
        self.catalog: AssetCatalog = store.catalog()

    # -- what may be seen --------------------------------------------------------------------

    def require(self, permission: Permission) -> None:
        """Forbidden unless the caller's role carries the permission."""
        if not self.who.may(permission):
            raise Forbidden(
                f"a {self.who.role.value} may not {permission.value.replace('_', ' ')}",
                where="role",
            )

    def enterprises(self) -> list[Enterprise]:
        """The enterprises listed to the caller: all for the city, its own for an enterprise."""
        if self.who.role.is_city:
            return sorted(self.catalog.enterprises.values(), key=lambda e: e.id)
        self.require(Permission.READ_OWN_DATA)
        own = self.catalog.enterprises.get(self.who.enterprise_id or -1)
        return [own] if own else []

    def own_enterprise(self, slug: str) -> Enterprise:
        """An enterprise whose own data the caller may read; 404 for any other."""
        self.require(Permission.READ_OWN_DATA)
        eid = self.catalog.enterprise_by_slug.get(slug)
        if eid is None or not self.who.owns(eid):
            raise NotFound(f"no enterprise {slug!r}", where="path: enterprise")
        return self.catalog.enterprises[eid]

    def equipment(self, equipment_id: int) -> Equipment:
        """An equipment of the caller's enterprise; 404 for any other."""
        self.require(Permission.READ_OWN_DATA)
        q = self.catalog.equipment.get(equipment_id)
        if q is None or not self.who.owns(q.enterprise_id):
            raise NotFound(f"no equipment {equipment_id}", where="path: equipment_id")
        return q

    def signal(self, series_id: int) -> Signal:
        """A signal (series) of the caller's enterprise; 404 for any other."""
        self.require(Permission.READ_OWN_DATA)
        s = self.catalog.signals.get(series_id)
        if s is None or not self.who.owns(s.enterprise_id):
            raise NotFound(f"no series {series_id}", where="path: series_id")
        return s

    # -- scoped reads ------------------------------------------------------------------------

    def points(self, series_id: int, start_ms: int, end_ms: int) -> pa.Table:
        """Raw points of one own series."""
        return self.store.points([self.signal(series_id).id], start_ms, end_ms)

    def buckets(
        self,
        series_id: int,
        start_ms: int,
        end_ms: int,
        *,
        max_points: int = MAX_CHART_POINTS,
        bucket_ms: int = 0,
    ) -> pa.Table:
        """Chart buckets of one own series."""
        return self.store.buckets(
            self.signal(series_id).id, start_ms, end_ms, max_points=max_points, bucket_ms=bucket_ms
        )

    def last_values(self, series: Sequence[int] | None) -> pa.Table:
        """Last values of own series (all own series when None); 404 for any other."""
        self.require(Permission.READ_OWN_DATA)
        if series is None:
            ids = [s.id for s in self.catalog.signals.values() if self.who.owns(s.enterprise_id)]
        else:
            ids = [self.signal(s).id for s in series]
        return self.store.last_values(ids)

    def state_intervals(self, equipment_id: int, start_ms: int, end_ms: int) -> pa.Table:
        """State intervals of one own equipment."""
        return self.store.state_intervals([self.equipment(equipment_id).id], start_ms, end_ms)

    def current_states(self, equipment: Sequence[int]) -> pa.Table:
        """Current states of own equipment."""
        return self.store.current_states([self.equipment(e).id for e in equipment])

    def counts(
        self, equipment_id: int, start_ms: int, end_ms: int, *, bucket_ms: int = 0
    ) -> pa.Table:
        """Counts of one own equipment."""
        return self.store.counts(
            [self.equipment(equipment_id).id], start_ms, end_ms, bucket_ms=bucket_ms
        )

    def _dead_letter_scope(self) -> int | None:
        # An enterprise sees its own refused messages; the city admin, who runs the platform,
        # sees those that named no enterprise (and the counts of all), never another
        # enterprise's payloads.
        if self.who.may(Permission.READ_OWN_DATA) and self.who.enterprise_id is not None:
            return self.who.enterprise_id
        self.require(Permission.MANAGE_ENTERPRISES)
        return None

    def dead_letters(
        self, *, adapter: str | None = None, limit: int = 100, before_id: int | None = None
    ) -> pa.Table:
        """Refused messages the caller may see, newest first."""
        return self.store.dead_letters(
            self._dead_letter_scope(), adapter=adapter, limit=limit, before_id=before_id
        )

    def dead_letter_counts(self) -> pa.Table:
        """Refusals per adapter and source: the caller's own, or every one for the city admin."""
        scope = self._dead_letter_scope()
        return self.store.dead_letter_counts(scope, every=scope is None)

    def city_read(self, enterprise_id: int, indicator: str, *, address: str = "") -> None:
        """Allow a city user to read one enterprise-level indicator only with the enterprise's
        live consent, and audit the read; Forbidden otherwise."""
        self.require(Permission.READ_CITY_AGGREGATES)
        live = {c["indicator"] for c in self.store.accounts.consents(enterprise_id)}
        if indicator not in live:
            raise Forbidden(
                f"the enterprise has not granted the city {indicator!r}", where="indicator"
            )
        self.store.accounts.audit(
            ts_ms=self.now_ms,
            actor=self.who.name,
            role=self.who.role.value,
            enterprise_id=enterprise_id,
            action="city_read",
            target=indicator,
            address=address,
        )

    def city_summary(self) -> dict[str, Any]:
        """The city at a glance: registry counts and equipment by state, all aggregates."""
        if not (
            self.who.may(Permission.READ_CITY_AGGREGATES) or self.who.may(Permission.READ_OWN_DATA)
        ):
            self.require(Permission.READ_CITY_AGGREGATES)
        cat = self.catalog
        by_district: Counter[str] = Counter()
        by_industry: Counter[str] = Counter()
        for e in cat.enterprises.values():
            by_district[e.district] += 1
            key = key_industry_of(e.industry_code)
            by_industry[key.key if key else "other"] += 1
        current = self.store.current_states().to_pydict()
        by_state: Counter[str] = Counter(STATE_NAMES[s] for s in current["state"])
        by_state["unknown"] += len(cat.equipment) - len(current["state"])
        return {
            "enterprises": len(cat.enterprises),
            "equipment": len(cat.equipment),
            "signals": len(cat.signals),
            "by_district": dict(by_district),
            "by_industry": dict(by_industry),
            "equipment_by_state": dict(by_state),
        }

    # -- KPIs (ISO 22400) --------------------------------------------------------------------

    def kpi_scope(
        self, level: Level, enterprise: str | None, line: str | None = None, *, address: str = ""
    ) -> KpiScope:
        """The equipment a KPI request may sum, and how its rows are shown.

        An enterprise user gets any level inside its own enterprise (404 for another). A city
        role gets industry, district and city roll-ups (small groups suppressed), and one
        enterprise's OEE by line or enterprise only with its consent, audited.
        """
        if self.who.may(Permission.READ_OWN_DATA):
            if level in CITY_LEVELS:
                raise Forbidden(
                    "industry, district and city roll-ups are the city's; an enterprise sees "
                    "equipment, station, line, site and enterprise",
                    where="query: level",
                )
            ent = self.own_enterprise(enterprise or self._own_slug())
            return KpiScope(self._kpi_equipment(ent, line), "own", ent)
        self.require(Permission.READ_CITY_AGGREGATES)
        if level in CITY_LEVELS:
            if enterprise or line:
                raise Forbidden(
                    "a roll-up covers the whole city; one enterprise needs its consent at "
                    "level enterprise or line",
                    where="query: enterprise",
                )
            return KpiScope(sorted(self.catalog.equipment), "city", None)
        if not enterprise or level not in CONSENTED_LEVELS:
            raise Forbidden(
                "a city role sees one enterprise's OEE by line or enterprise only with its "
                "consent: name it with enterprise=",
                where="query: enterprise" if not enterprise else "query: level",
            )
        eid = self.catalog.enterprise_by_slug.get(enterprise)
        if eid is None:
            raise NotFound(f"no enterprise {enterprise!r}", where="query: enterprise")
        self.city_read(eid, OEE_INDICATOR, address=address)
        ent = self.catalog.enterprises[eid]
        return KpiScope(self._kpi_equipment(ent, line), "consent", ent)

    def kpi_table(
        self,
        service: KpiService,
        req: KpiRequest,
        *,
        enterprise: str | None = None,
        line: str | None = None,
        address: str = "",
    ) -> pa.Table:
        """KPI rows the caller may see (see `kpi_scope`): own rows whole; city roll-ups with
        groups of fewer than `kpi.min_enterprises` suppressed; a consenting enterprise's OEE
        columns only."""
        scope = self.kpi_scope(req.level, enterprise, line, address=address)
        table = service.table(self.catalog, scope.equipment, req, self.now_ms)
        if scope.mode == "city":
            groups = enterprises_per_group(self.catalog, scope.equipment, req.level)
            return suppress_small_groups(table, groups, service.settings.min_enterprises)
        if scope.mode == "consent":
            return only_columns(table, OEE_COLUMNS)
        return table

    def kpi_pareto(
        self,
        service: KpiService,
        req: KpiRequest,
        *,
        enterprise: str | None = None,
        line: str | None = None,
    ) -> tuple[Period, list[ParetoRow]]:
        """Downtime by reason of the caller's own enterprise (or one of its lines) over the
        request's periods, as one span."""
        self.require(Permission.READ_OWN_DATA)
        ent = self.own_enterprise(enterprise or self._own_slug())
        ids = self._kpi_equipment(ent, line)
        found = [
            p
            for _, periods in service.period_groups(self.catalog, ids, req, self.now_ms)
            for p in periods
        ]
        if not found:
            raise BadInput("the window has not begun yet", where="query: start")
        first, last = min(found, key=lambda p: p.start_ms), max(found, key=lambda p: p.end_ms)
        label = first.label if first == last else f"{first.label} – {last.label}"
        span = Period(first.start_ms, last.end_ms, label, first.shift if first == last else "")
        return span, service.pareto(self.catalog, ids, span, self.now_ms)

    def product_changes(self, enterprise: str | None, end_ms: int) -> pa.Table:
        """The product runs recorded for the caller's own enterprise, up to end_ms."""
        self.require(Permission.READ_OWN_DATA)
        ent = self.own_enterprise(enterprise or self._own_slug())
        ids = [q.id for q in self.catalog.equipment_of_enterprise(ent.id)]
        return self.store.product_changes(ids, end_ms)

    def record_product_change(
        self,
        enterprise: str | None,
        *,
        product: str,
        start_ms: int,
        line: str | None = None,
        equipment: str | None = None,
        ideal_cycle_s: float | dict[str, float] | None = None,
        address: str = "",
    ) -> list[ProductChange]:
        """An enterprise admin records a product change on one of its lines (every equipment
        of the line) or on one equipment, with the product's ideal cycle; audited."""
        self.require(Permission.MANAGE_OWN_ASSETS)
        ent = self.own_enterprise(enterprise or self._own_slug())
        if (line is None) == (equipment is None):
            raise BadInput("name either a line or an equipment", where="body: line")
        name = check_product(product, where="body: product")
        if equipment is not None:
            targets = [self._own_equipment(ent, equipment)]
            line_id = self.catalog.line_of(targets[0].id).id
        else:
            assert line is not None
            line_id = self._own_line(ent, line)
            targets = self._line_equipment(line_id)
        cycles = self._cycles_for(targets, ideal_cycle_s)
        changes = [
            ProductChange(
                q.id, start_ms, name, cycles.get(q.id), ent.id, line_id, self.now_ms, self.who.name
            )
            for q in targets
        ]
        self.store.write_product_changes(changes)
        self.store.accounts.audit(
            ts_ms=self.now_ms,
            actor=self.who.name,
            role=self.who.role.value,
            enterprise_id=ent.id,
            action="product_change",
            target=name,
            detail=f"{len(changes)} equipment from {start_ms}",
            address=address,
        )
        return changes

    def _own_slug(self) -> str:
        own = self.catalog.enterprises.get(self.who.enterprise_id or -1)
        if own is None:
            raise NotFound("the caller has no enterprise", where="query: enterprise")
        return own.slug

    def _own_line(self, ent: Enterprise, line: str) -> int:
        """A line of the enterprise by id or slug; 404 naming the parameter otherwise."""
        found = [
            ln.id
            for ln in self.catalog.lines.values()
            if ln.enterprise_id == ent.id and (str(ln.id) == line or ln.slug == line)
        ]
        if not found:
            raise NotFound(f"no line {line!r}", where="line")
        if len(found) > 1:
            raise BadInput(f"line {line!r} is on several sites: give its id", where="line")
        return found[0]

    def _own_equipment(self, ent: Enterprise, equipment: str) -> Equipment:
        eid = (
            int(equipment)
            if equipment.isdigit()
            else self.catalog.equipment_by_path.get((ent.id, equipment))
        )
        q = self.catalog.equipment.get(eid) if eid is not None else None
        if q is None or q.enterprise_id != ent.id:
            raise NotFound(f"no equipment {equipment!r}", where="body: equipment")
        return q

    def _line_equipment(self, line_id: int) -> list[Equipment]:
        stations = {s.id for s in self.catalog.stations.values() if s.line_id == line_id}
        return sorted(
            (q for q in self.catalog.equipment.values() if q.station_id in stations),
            key=lambda q: q.id,
        )

    def _kpi_equipment(self, ent: Enterprise, line: str | None) -> list[int]:
        if line is None:
            return sorted(q.id for q in self.catalog.equipment_of_enterprise(ent.id))
        return [q.id for q in self._line_equipment(self._own_line(ent, line))]

    def _cycles_for(
        self, targets: list[Equipment], cycle: float | dict[str, float] | None
    ) -> dict[int, float | None]:
        if not isinstance(cycle, dict):
            value = check_cycle(cycle, where="body: ideal_cycle_s")
            return {q.id: value for q in targets}
        by_slug = {q.slug: q.id for q in targets}
        out: dict[int, float | None] = {}
        for slug, seconds in cycle.items():
            if slug not in by_slug:
                raise BadInput(
                    f"{slug!r} is not an equipment of this change", where="body: ideal_cycle_s"
                )
            out[by_slug[slug]] = check_cycle(seconds, where=f"body: ideal_cycle_s.{slug}")
        return out


@dataclass(frozen=True, slots=True)
class KpiScope:
    """The equipment a KPI request sums; mode: own rows, a city roll-up, or consented rows."""

    equipment: list[int]
    mode: str
    enterprise: Enterprise | None
