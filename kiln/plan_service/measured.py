"""Indicators measured from telemetry, next to the filed ones: enterprises connected, equipment
and robots online, robots running, by district and industry group.

"Online" means a value arrived in the last few minutes; "running" is the equipment's current
state. Counts per group of fewer than three enterprises are withheld like any other cell
(a district with two enterprises would show their fleets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.plan.disclosure import CITY_RULES
from kiln.plan.indicators import IndicatorConfig
from kiln.plan_service.frame import DISTRICT_KEYS, GROUP_KEYS, Registry

ONLINE_WITHIN_MS = 5 * 60_000


@dataclass(frozen=True, slots=True)
class MeasuredRow:
    """The measured indicators of one group (None where withheld)."""

    key: str
    enterprises: int
    connected: int | None
    equipment: int | None
    online: int | None
    robots: int | None
    robots_online: int | None
    robots_running: int | None

    @property
    def robot_utilisation(self) -> float | None:
        """Robots running now as a share of robots online."""
        if not self.robots_online or self.robots_running is None:
            return None
        return self.robots_running / self.robots_online


@dataclass(frozen=True, slots=True)
class Measured:
    """The city's measured indicators now, whole and by district and industry group."""

    now_ms: int
    city: MeasuredRow
    by_district: tuple[MeasuredRow, ...]
    by_industry: tuple[MeasuredRow, ...]


def is_robot(template: str) -> bool:
    """Whether an equipment template is a robot."""
    return "robot" in template


def measure(
    catalog: AssetCatalog,
    config: IndicatorConfig,
    last_values: pa.Table,
    current_states: pa.Table,
    now_ms: int,
    *,
    online_within_ms: int = ONLINE_WITHIN_MS,
) -> Measured:
    """Count connected enterprises, online equipment and running robots per group."""
    reg = Registry.of(catalog, config)
    eqs = sorted(catalog.equipment.values(), key=lambda q: q.id)
    eq_ids = np.array([q.id for q in eqs], dtype=np.int64)
    row_of = {int(e): i for i, e in enumerate(reg.ids)}
    eq_row = np.array([row_of.get(q.enterprise_id, -1) for q in eqs], dtype=np.int64)
    robot = np.array([is_robot(q.template) for q in eqs], dtype=bool)

    series = last_values.column("series").to_numpy(zero_copy_only=False)
    ts = last_values.column("ts_ms").to_numpy(zero_copy_only=False)
    fresh = {int(s) for s, t in zip(series, ts, strict=True) if t >= now_ms - online_within_ms}
    online_eq = {catalog.signals[s].equipment_id for s in fresh if s in catalog.signals}
    online = np.isin(eq_ids, np.fromiter(online_eq, np.int64, len(online_eq)))
    cur = current_states.to_pydict()
    running_eq = [
        e
        for e, s in zip(cur["equipment"], cur["state"], strict=True)
        if s == EquipmentState.RUNNING
    ]
    running = np.isin(eq_ids, np.asarray(running_eq, dtype=np.int64)) & online

    connected_ent = np.zeros(len(reg.ids), dtype=bool)
    connected_ent[eq_row[online & (eq_row >= 0)]] = True

    def row(key: str, ent_mask: NDArray[np.bool_]) -> MeasuredRow:
        n = int(ent_mask.sum())
        in_eq = (eq_row >= 0) & ent_mask[np.clip(eq_row, 0, None)] if len(reg.ids) else eq_row < 0
        if 0 < n < CITY_RULES.min_n:
            return MeasuredRow(key, n, None, None, None, None, None, None)
        return MeasuredRow(
            key,
            n,
            int((connected_ent & ent_mask).sum()),
            int(in_eq.sum()),
            int((online & in_eq).sum()),
            int((robot & in_eq).sum()),
            int((robot & online & in_eq).sum()),
            int((robot & running & in_eq).sum()),
        )

    return Measured(
        now_ms=now_ms,
        city=row("city", np.ones(len(reg.ids), dtype=bool)),
        by_district=tuple(row(k, reg.district == i) for i, k in enumerate(DISTRICT_KEYS)),
        by_industry=tuple(row(k, reg.group == i) for i, k in enumerate(GROUP_KEYS)),
    )
