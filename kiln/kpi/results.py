"""KPI results: a value, or None with the reason it is undefined, never a silent 0 or NaN.

Formulas work on columns (one row per equipment, group or window): a `KpiColumn` keeps NaN
internally where a KPI is undefined, next to that row's reason; `Kpi` is one row as shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
OBJ = NDArray[np.object_]


@dataclass(frozen=True, slots=True)
class Kpi:
    """One KPI of one row: value None means undefined, and reason says why; flag says what
    is odd about a defined value (e.g. effectiveness above 1)."""

    name: str
    value: float | None
    reason: str = ""
    flag: str = ""


@dataclass(frozen=True, slots=True)
class KpiColumn:
    """One KPI over rows: value (NaN where undefined), reason where undefined, flag where odd."""

    name: str
    value: F64
    reason: OBJ
    flag: OBJ

    def at(self, i: int) -> Kpi:
        """Row i as a Kpi."""
        v = float(self.value[i])
        return Kpi(self.name, None if np.isnan(v) else v, str(self.reason[i]), str(self.flag[i]))

    def values(self) -> list[float | None]:
        """The values with None for undefined rows (for tables and JSON)."""
        return [None if np.isnan(v) else float(v) for v in self.value.tolist()]

    def __len__(self) -> int:
        return len(self.value)

    def undefined_where(self, mask: NDArray[np.bool_], reason: str | OBJ) -> KpiColumn:
        """The column with rows in mask made undefined (a reason already given stays)."""
        fresh = mask & (~np.isnan(self.value) | (self.reason == ""))
        why = self.reason.copy()
        why[fresh] = reason[fresh] if isinstance(reason, np.ndarray) else reason
        return KpiColumn(self.name, np.where(fresh, np.nan, self.value), why, self.flag)

    def flagged_where(self, mask: NDArray[np.bool_], flag: str) -> KpiColumn:
        """The column with a flag on the defined rows in mask."""
        marks = self.flag.copy()
        marks[mask & ~np.isnan(self.value)] = flag
        return KpiColumn(self.name, self.value, self.reason, marks)

    def scaled(self, factor: float) -> KpiColumn:
        """The same KPI in another unit."""
        return KpiColumn(self.name, self.value * factor, self.reason, self.flag)


def ratio(name: str, num: Any, den: Any, *, undefined: str) -> KpiColumn:
    """num / den per row; undefined with the given reason where den is 0.

    >>> k = ratio("availability", np.array([380.0, 0.0]), np.array([450.0, 0.0]),
    ...           undefined="no planned busy time")
    >>> k.at(0).value, k.at(1).value, k.at(1).reason
    (0.8444444444444444, None, 'no planned busy time')
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    defined = den > 0
    value = np.divide(num, den, out=np.full(num.shape, np.nan), where=defined)
    return KpiColumn(name, value, reasons(~defined, undefined), reasons(np.zeros_like(defined), ""))


def reasons(mask: NDArray[np.bool_], text: str) -> OBJ:
    """An object column holding text where mask, else the empty string."""
    out = np.full(len(mask), "", dtype=object)
    out[mask] = text
    return out


def count_reason(
    template: str,
    count: NDArray[Any],
    total: NDArray[Any] | None = None,
    *,
    where: NDArray[np.bool_] | None = None,
) -> OBJ:
    """A reason per row with that row's numbers: template.format(n=count, m=total); only in
    the rows where (default all) given, the others empty (formatting costs)."""
    out = np.full(len(count), "", dtype=object)
    rows = range(len(count)) if where is None else np.flatnonzero(where).tolist()
    for i in rows:
        out[i] = template.format(n=count[i], m=None if total is None else total[i])
    return out
