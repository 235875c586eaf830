"""Tenancy in one place: what a principal may see of the assets and telemetry.

Every route that reads enterprise data asks an Access for it. An enterprise user sees its own
enterprise; anything else answers 404, as if it did not exist (so ids cannot be probed). City
roles see the registry (names, districts, industries) and aggregates, never one enterprise's
raw telemetry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from kiln.auth.principal import Principal
from kiln.auth.roles import Permission
from kiln.domain.assets import Enterprise, Equipment, Signal
from kiln.domain.catalog import AssetCatalog
from kiln.domain.industries import key_industry_of
from kiln.domain.states import STATE_NAMES
from kiln.errors import Forbidden, NotFound
from kiln.store.base import MAX_CHART_POINTS, Store


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
