"""What a Modbus poll's values become: signal points, state changes and production counts.

A register map entry feeds a signal of the equipment, except three reserved names:

* ``state``: an EquipmentState code (0 unknown, 1 running, 2 idle, 3 setup, 4 down/fault,
  5 planned down, 6 off shift); a change becomes a state row.
* ``good`` and ``scrap``: the device's part counters, which wrap at 2^16 or 2^32 (domain.md
  1.5); the parts since the previous poll become a count row, times ``scale`` (parts a stroke).

The first reading of a counter only sets its baseline: what it counted before Kiln was
watching is not known to fall in any period.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.config_ingest import ModbusRegister
from kiln.domain.batches import Bundle, CountBatch, PointBatch, StateBatch
from kiln.domain.states import EquipmentState

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]

STATE, GOOD, SCRAP = "state", "good", "scrap"
RESERVED = frozenset({STATE, GOOD, SCRAP})
STATE_TYPES = frozenset({"uint16", "int16", "uint32", "int32"})
COUNTER_TYPES = frozenset({"uint16", "uint32"})
STATE_CODES = frozenset(int(s) for s in EquipmentState)


def count_delta(old: I64, new: I64, bits: I64) -> I64:
    """Parts counted between two readings of wrapping counters; a drop is a wrap or a reset.

    A drop that is a short step forward across the top is a wrap; any other drop is a reset to
    zero (a restarted device), after which the new reading is what it counted since.

    >>> count_delta(np.array([10, 65530, 1000]), np.array([15, 3, 5]), np.array([16, 16, 16]))
    array([5, 9, 5])
    """
    span = np.left_shift(np.int64(1), bits)
    wrapped = (new - old) % span
    is_wrap = (new < old) & (wrapped < span // 4)
    return np.where(new >= old, new - old, np.where(is_wrap, wrapped, new))


def check_role(reg: ModbusRegister) -> str | None:
    """What is wrong with a reserved entry's type, or None.

    >>> check_role(ModbusRegister(signal="good", address=0, type="float32"))
    "'good' is a part counter: type must be uint16 or uint32, not float32"
    """
    if reg.signal == STATE and reg.type not in STATE_TYPES:
        return f"'state' is a state code: type must be an integer type, not {reg.type}"
    if reg.signal in (GOOD, SCRAP) and reg.type not in COUNTER_TYPES:
        return f"{reg.signal!r} is a part counter: type must be uint16 or uint32, not {reg.type}"
    if reg.signal in (GOOD, SCRAP) and reg.scale <= 0:
        return f"{reg.signal!r} is a part counter: scale (parts per count) must be > 0"
    return None


@dataclass(frozen=True, slots=True)
class Refused:
    """A value that cannot be taken: which map entry, a short cause, and why."""

    index: int
    cause: str
    reason: str


class Readings:
    """Turns each poll's decoded values into a Bundle, remembering states and counter readings."""

    def __init__(self, registers: Sequence[ModbusRegister]) -> None:
        names = [r.signal for r in registers]
        self.gauges = np.array([i for i, s in enumerate(names) if s not in RESERVED], np.int64)
        self.state_at = names.index(STATE) if STATE in names else -1
        self.counters = np.array(
            [names.index(s) if s in names else -1 for s in (GOOD, SCRAP)], dtype=np.int64
        )
        self.bits = np.array(
            [16 if i < 0 or registers[i].type == "uint16" else 32 for i in self.counters],
            dtype=np.int64,
        )
        self.scale = np.array([registers[i].scale if i >= 0 else 1.0 for i in self.counters])
        self.state: int | None = None  # last state sent
        self.last_count = np.full(2, -1, dtype=np.int64)  # last good, scrap readings (-1: none)

    def bundle(
        self, ts_ms: int, equipment: int | None, series: I64, raw: F64, value: F64, ok: B
    ) -> tuple[Bundle, list[Refused]]:
        """The bundle of one poll and the values refused (not finite, unknown state code).

        ``series`` holds the series id of each gauge entry (-1: unknown); ``ok`` says which
        entries were read this poll.
        """
        refused: list[Refused] = []
        g = self.gauges
        finite = np.isfinite(value[g])
        for i in g[ok[g] & ~finite]:
            refused.append(Refused(int(i), "not-finite", f"read {value[i]}, not a finite number"))
        keep = ok[g] & finite & (series >= 0)
        points = PointBatch.of(series[keep], np.full(int(keep.sum()), ts_ms), value[g][keep])
        if equipment is None:
            self._track(raw, ok)
            return Bundle(points), refused
        states, bad = self._states(ts_ms, equipment, raw, ok)
        return Bundle(points, states, self._counts(ts_ms, equipment, raw, ok)), refused + bad

    def lost(self, ts_ms: int, equipment: int | None) -> Bundle:
        """A state change to UNKNOWN when the device is lost (if the map reads a state)."""
        if self.state_at < 0 or self.state in (None, EquipmentState.UNKNOWN):
            return Bundle()
        self.state = int(EquipmentState.UNKNOWN)
        if equipment is None:
            return Bundle()
        return Bundle(states=StateBatch.of([equipment], [ts_ms], [self.state]))

    def _states(
        self, ts_ms: int, equipment: int, raw: F64, ok: B
    ) -> tuple[StateBatch, list[Refused]]:
        i = self.state_at
        if i < 0 or not ok[i]:
            return StateBatch.empty(), []
        code = int(raw[i])
        if code not in STATE_CODES:
            why = f"state code {code} is not a Kiln state (0-{max(STATE_CODES)})"
            return StateBatch.empty(), [Refused(i, f"state-{code}", why)]
        if code == self.state:
            return StateBatch.empty(), []
        self.state = code
        return StateBatch.of([equipment], [ts_ms], [code]), []

    def _counts(self, ts_ms: int, equipment: int, raw: F64, ok: B) -> CountBatch:
        new, old, seen = self._track(raw, ok)
        if not seen.any():
            return CountBatch.empty()
        delta = np.where(seen, count_delta(old, new, self.bits), 0)
        parts = np.rint(delta * self.scale).astype(np.int64)
        if not parts.any():
            return CountBatch.empty()
        return CountBatch.of([equipment], [ts_ms], [parts[0]], [parts[1]])

    def _track(self, raw: F64, ok: B) -> tuple[I64, I64, B]:
        """Take this poll's counter readings: new, previous, and which have both."""
        at = np.maximum(self.counters, 0)
        read = (self.counters >= 0) & ok[at]
        new = np.where(read, np.nan_to_num(raw[at]), -1).astype(np.int64)
        old = self.last_count
        self.last_count = np.where(read, new, old)
        return new, old, read & (old >= 0)
