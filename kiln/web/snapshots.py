"""What the pages show live: state counts, equipment states and last values, now.

The page routes render a first snapshot and the SSE streams send fresh ones, so both build
them here. Each function reads the store (blocking): streams call them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kiln.domain.states import STATE_NAMES
from kiln.runtime import Runtime
from kiln.store.base import Store

# The order states are listed in: producing first, then the losses, then no data.
STATE_ORDER: tuple[str, ...] = (
    "running",
    "idle",
    "setup",
    "down_fault",
    "planned_down",
    "off_shift",
    "unknown",
)


def current_states(
    store: Store, equipment: Sequence[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Each equipment's latest state change as {"state", "since_ms", "reason"}, by equipment id."""
    cols = store.current_states(equipment).to_pydict()
    return {
        eq: {"state": STATE_NAMES.get(code, "unknown"), "since_ms": ts, "reason": reason}
        for eq, ts, code, reason in zip(
            cols["equipment"], cols["ts_ms"], cols["state"], cols["reason"], strict=True
        )
    }


def count_states(
    states: Mapping[int, Mapping[str, Any]], equipment: Iterable[int]
) -> dict[str, int]:
    """Equipment per state, in STATE_ORDER; equipment that never reported a state is unknown.

    >>> count_states({1: {"state": "running"}, 2: {"state": "idle"}}, [1, 2, 3])["unknown"]
    1
    >>> list(count_states({}, []))[:2]
    ['running', 'idle']
    """
    out = dict.fromkeys(STATE_ORDER, 0)
    for eq in equipment:
        st = states.get(eq)
        out[st["state"] if st else "unknown"] += 1
    return out


def city_states(rt: Runtime) -> dict[str, Any]:
    """The whole city's equipment counted by current state.

    Counted in Arrow, not one Python dict per equipment: a city of 30,000 equipment is asked
    on every city page and every 2 s by each open one (benchmarks/city_page.py).
    """
    cat = rt.catalog
    table = rt.store.current_states()
    known = pc.is_in(table.column("equipment"), value_set=pa.array(list(cat.equipment)))
    by_state = dict.fromkeys(STATE_ORDER, 0)
    for row in pc.value_counts(table.column("state").filter(known)).to_pylist():
        by_state[STATE_NAMES.get(row["values"], "unknown")] += row["counts"]
    by_state["unknown"] += len(cat.equipment) - sum(by_state.values())
    return {"ts_ms": rt.clock.now_ms(), "equipment": len(cat.equipment), "by_state": by_state}


def enterprise_states(rt: Runtime, enterprise_id: int) -> dict[str, Any]:
    """An enterprise's equipment: counts by state, and each one's state (unknown when silent)."""
    ids = [q.id for q in rt.catalog.equipment_of_enterprise(enterprise_id)]
    states = current_states(rt.store, ids)
    unknown = {"state": "unknown", "since_ms": None, "reason": None}
    return {
        "ts_ms": rt.clock.now_ms(),
        "by_state": count_states(states, ids),
        "equipment": {str(eq): states.get(eq, unknown) for eq in ids},
    }


def equipment_live(rt: Runtime, equipment_id: int) -> dict[str, Any]:
    """An equipment's current state (None if it never reported) and its signals' last values."""
    series = rt.catalog.signals_of.get(equipment_id, [])
    cols = rt.store.last_values(series).to_pydict() if series else {}
    values = [
        {"series": s, "ts_ms": ts, "value": v}
        for s, ts, v in zip(
            cols.get("series", []), cols.get("ts_ms", []), cols.get("value", []), strict=True
        )
    ]
    return {
        "ts_ms": rt.clock.now_ms(),
        "state": current_states(rt.store, [equipment_id]).get(equipment_id),
        "values": values,
    }
