"""Filings as columns: one row per enterprise and year, with its district and industry group.

The dashboard sums every indicator by district and industry for several years; doing that on
NumPy columns (bincount) keeps a city of 10,000 enterprises with 36 monthly filings each
inside the dashboard's budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.domain.catalog import AssetCatalog
from kiln.plan.fields import FIELD_NAMES
from kiln.plan.indicators import IndicatorConfig, group_of, industry_groups
from kiln.plan.model import Scope, ScopeKind

DISTRICT_KEYS: tuple[str, ...] = tuple(d.code for d in FOSHAN_DISTRICTS)
GROUP_KEYS: tuple[str, ...] = tuple(g.key for g in industry_groups())


@dataclass(frozen=True, slots=True)
class Registry:
    """The registered enterprises as columns: who is in which district and industry group."""

    ids: NDArray[np.int64]
    district: NDArray[np.int64]  # index into DISTRICT_KEYS, -1 when not one of them
    group: NDArray[np.int64]  # index into GROUP_KEYS
    codes: tuple[str, ...]

    @classmethod
    def of(cls, catalog: AssetCatalog, config: IndicatorConfig) -> Registry:
        """From the asset catalogue, in enterprise id order."""
        ents = sorted(catalog.enterprises.values(), key=lambda e: e.id)
        d_index = {k: i for i, k in enumerate(DISTRICT_KEYS)}
        g_index = {k: i for i, k in enumerate(GROUP_KEYS)}
        return cls(
            ids=np.array([e.id for e in ents], dtype=np.int64),
            district=np.array([d_index.get(e.district, -1) for e in ents], dtype=np.int64),
            group=np.array([g_index[group_of(e.industry_code, config)] for e in ents], np.int64),
            codes=tuple(e.industry_code for e in ents),
        )

    def in_scope(self, scope: Scope) -> NDArray[np.bool_]:
        """Which registered enterprises a scope covers."""
        return scope_mask(scope, self.district, self.group)


def scope_mask(
    scope: Scope, district: NDArray[np.int64], group: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Rows in a scope, from their district and group indexes."""
    if scope.kind is ScopeKind.CITY:
        return np.ones(len(district), dtype=bool)
    keys, col = (
        (DISTRICT_KEYS, district) if scope.kind is ScopeKind.DISTRICT else (GROUP_KEYS, group)
    )
    if scope.key not in keys:
        return np.zeros(len(district), dtype=bool)
    mask: NDArray[np.bool_] = col == keys.index(scope.key)
    return mask


@dataclass(frozen=True, slots=True)
class YearFrame:
    """Per enterprise and year, from current filings; rows of unregistered enterprises dropped."""

    year: NDArray[np.int64]
    row: NDArray[np.int64]  # index into the Registry
    months: NDArray[np.int64]
    last_month: NDArray[np.int64]
    filed_ms: NDArray[np.int64]
    figures: dict[str, NDArray[np.float64]]
    registry: Registry

    @classmethod
    def of(cls, table: pa.Table, registry: Registry) -> YearFrame:
        """From PlanStore.yearly()'s table."""
        eid = table.column("enterprise_id").to_numpy(zero_copy_only=False).astype(np.int64)
        pos = np.searchsorted(registry.ids, eid)
        pos = np.clip(pos, 0, max(len(registry.ids) - 1, 0))
        known = (registry.ids[pos] == eid) if len(registry.ids) else np.zeros(len(eid), bool)

        def col(name: str, dtype: type) -> NDArray[Any]:
            values = table.column(name).to_numpy(zero_copy_only=False)
            out: NDArray[Any] = np.asarray(values, dtype=dtype)[known]
            return out

        return cls(
            year=col("year", np.int64),
            row=pos[known],
            months=col("months", np.int64),
            last_month=col("last_month", np.int64),
            filed_ms=np.nan_to_num(col("filed_ms", np.float64)).astype(np.int64),
            figures={n: col(n, np.float64) for n in FIELD_NAMES},
            registry=registry,
        )

    def of_year(self, year: int) -> YearFrame:
        """Only the rows of one year."""
        keep = self.year == year
        return YearFrame(
            self.year[keep],
            self.row[keep],
            self.months[keep],
            self.last_month[keep],
            self.filed_ms[keep],
            {k: v[keep] for k, v in self.figures.items()},
            self.registry,
        )

    @property
    def district(self) -> NDArray[np.int64]:
        """Each row's district index."""
        return self.registry.district[self.row]

    @property
    def group(self) -> NDArray[np.int64]:
        """Each row's industry group index."""
        return self.registry.group[self.row]

    @property
    def codes(self) -> list[str]:
        """Each row's industry code."""
        codes = self.registry.codes
        return [codes[i] for i in self.row]
