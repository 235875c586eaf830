"""A slow, obviously right time model on a millisecond grid, for property tests to compare with.

It walks every millisecond: the calendar there, the highest-priority state there, the runs of
equal state, and the leaf each millisecond lands in.
"""

from __future__ import annotations

from collections import Counter

from kiln.domain.states import EquipmentState as S
from kiln.kpi.time_model import Leaf

PRIORITY = [S.UNKNOWN, S.RUNNING, S.IDLE, S.SETUP, S.DOWN_FAULT, S.PLANNED_DOWN, S.OFF_SHIFT]
DEFAULT_LEAF = {
    S.RUNNING: Leaf.APT,
    S.IDLE: Leaf.ADOT,
    S.SETUP: Leaf.AUST,
    S.DOWN_FAULT: Leaf.ADET,
    S.PLANNED_DOWN: Leaf.PDOT,
    S.UNKNOWN: Leaf.UNKNOWN,
    S.OFF_SHIFT: Leaf.OUTSIDE_POT,
}


def reference_elements(
    states: list[tuple[int, int, int]],
    plan: list[tuple[int, int, bool]],
    window: tuple[int, int],
    micro_ms: int,
    leaf_of: dict[S, Leaf] | None = None,
) -> dict[str, int]:
    """Elements of one equipment: states (start, end, state) and plan (start, end, down)."""
    leaf_of = leaf_of or DEFAULT_LEAF
    lo = min([window[0], *(a for a, _, _ in states)])
    hi = max([window[1], *(b for _, b, _ in states)])
    state = {t: _state_at(states, t) for t in range(lo, hi)}
    calendar = {t: _calendar_at(plan, t) for t in range(lo, hi)}
    out: Counter[str] = Counter()
    for start, end, s in _runs(state, lo, hi):
        leaf = leaf_of[S(s)] if s is not None else Leaf.UNKNOWN
        micro = leaf in (Leaf.ADET, Leaf.ADOT) and end - start < micro_ms
        if micro:
            leaf = Leaf.APT
        busy_anywhere = any(calendar[t] == "busy" for t in range(start, end))
        here = window[0] <= start < window[1] and s is not None and busy_anywhere
        out["micro_stops"] += micro and here
        out["failures"] += s == S.DOWN_FAULT and leaf == Leaf.ADET and here
        for t in range(max(start, window[0]), min(end, window[1])):
            landed = _leaf(calendar[t], leaf)
            out[landed.name] += 1
            if landed == Leaf.APT and micro:
                out["micro_stop_ms"] += 1
            if landed == Leaf.ADET and s == S.DOWN_FAULT:
                out["ttr_ms"] += 1
    return dict(out)


def _state_at(states: list[tuple[int, int, int]], t: int) -> int | None:
    here = [s for a, b, s in states if a <= t < b]
    return max(here, key=PRIORITY.index) if here else None


def _calendar_at(plan: list[tuple[int, int, bool]], t: int) -> str:
    here = [down for a, b, down in plan if a <= t < b]
    return "outside" if not here else ("down" if any(here) else "busy")


def _runs(state: dict[int, int | None], lo: int, hi: int) -> list[tuple[int, int, int | None]]:
    runs: list[tuple[int, int, int | None]] = []
    for t in range(lo, hi):
        if runs and runs[-1][2] == state[t] and runs[-1][1] == t:
            runs[-1] = (runs[-1][0], t + 1, state[t])
        else:
            runs.append((t, t + 1, state[t]))
    return runs


def _leaf(calendar: str, leaf: Leaf) -> Leaf:
    if calendar == "outside" or leaf == Leaf.OUTSIDE_POT:
        return Leaf.OUTSIDE_POT
    if calendar == "down":
        return Leaf.PDOT
    return leaf
