"""Time elements as columns: one row per equipment (or group), milliseconds per leaf of the
ISO 22400-2 time model (see `time_model`), plus the counts reliability needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kiln.kpi.interval_sets import I64

_COUNTERS = (
    "window_ms",
    "outside_ms",
    "pdot_ms",
    "adot_ms",
    "aust_ms",
    "adet_ms",
    "apt_ms",
    "unknown_ms",
    "micro_stop_ms",
    "micro_stops",
    "failures",
    "ttr_ms",
)


@dataclass(frozen=True, slots=True)
class TimeElements:
    """Time elements per row, in milliseconds, plus the counts the reliability KPIs need.

    `key` is the equipment id (or, after `sum_by`, the group index). The leaves add up to
    `window_ms`; `micro_stop_ms` is inside `apt_ms`; `ttr_ms` is inside `adet_ms`.
    """

    key: I64
    window_ms: I64
    outside_ms: I64
    pdot_ms: I64
    adot_ms: I64
    aust_ms: I64
    adet_ms: I64
    apt_ms: I64
    unknown_ms: I64
    micro_stop_ms: I64
    micro_stops: I64
    failures: I64
    ttr_ms: I64

    @property
    def aubt_ms(self) -> I64:
        """Actual unit busy time: setup, delay and production."""
        return self.aust_ms + self.adet_ms + self.apt_ms

    @property
    def aupt_ms(self) -> I64:
        """Actual unit processing time APT + AUST (operating time for MTBF)."""
        return self.apt_ms + self.aust_ms

    @property
    def pbt_ms(self) -> I64:
        """Planned busy time with data: ADOT + AUBT."""
        return self.adot_ms + self.aubt_ms

    @property
    def pot_ms(self) -> I64:
        """Planned operation time: PDOT + PBT + UNKNOWN."""
        return self.pdot_ms + self.pbt_ms + self.unknown_ms

    def __len__(self) -> int:
        return len(self.key)

    def counters(self) -> dict[str, I64]:
        """Every additive column by name."""
        return {name: getattr(self, name) for name in _COUNTERS}

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> TimeElements:
        """The rows at index."""
        return TimeElements(self.key[index], **{k: v[index] for k, v in self.counters().items()})

    def sum_by(self, group: I64, groups: int) -> TimeElements:
        """Elements summed into `groups` rows by each row's group index (roll-ups add, never
        average); the key of a summed row is its group index."""
        return TimeElements(
            np.arange(groups, dtype=np.int64),
            **{k: sum_per(group, v, groups) for k, v in self.counters().items()},
        )

    @classmethod
    def concat(cls, parts: Sequence[TimeElements]) -> TimeElements:
        """Rows of several element sets, one after the other."""
        return cls(
            np.concatenate([p.key for p in parts]),
            **{k: np.concatenate([getattr(p, k) for p in parts]) for k in _COUNTERS},
        )

    def row(self, i: int) -> dict[str, Any]:
        """One row as plain integers, derived elements included."""
        out: dict[str, Any] = {"key": int(self.key[i])}
        out.update({k: int(v[i]) for k, v in self.counters().items()})
        for name in ("pot_ms", "pbt_ms", "aubt_ms", "aupt_ms"):
            out[name] = int(getattr(self, name)[i])
        return out


def sum_per(group: I64, value: I64, groups: int) -> I64:
    """value summed per group 0..groups-1 (exact: milliseconds stay far below 2**53)."""
    return np.rint(np.bincount(group, weights=value, minlength=groups)).astype(np.int64)
