"""Data-change notifications of one publish response → a PointBatch, and what was refused.

asyncua hands over one Python object per monitored-item notification; we read their fields
once into columns and do every check on the columns. A notification is refused, first
matching rule wins, when its node maps to no known signal, its status is Bad, its value is not
a number (booleans count as 0/1), it has no timestamp or one before 2000 or more than ten
minutes ahead, or its value is not finite. ``BadWaitingForInitialData`` is no refusal: the
server simply has no value yet. The source timestamp is used when present, else the server's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from asyncua import ua
from asyncua.ua.status_codes import StatusCodes
from numpy.typing import NDArray

from kiln.domain.batches import PointBatch
from kiln.domain.dead_letters import PAYLOAD_HEAD
from kiln.ingest.base import EARLIEST_MS, MAX_FUTURE_MS

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NUMBERS = frozenset({int, float, bool})
_WAITING = StatusCodes.BadWaitingForInitialData

# Refusal kinds, in the order the rules apply; 0 is a good row, SKIP is dropped silently.
OK, UNMAPPED, SKIP, STATUS, TYPE, TIMESTAMP, VALUE = range(7)
KIND_NAMES = {
    UNMAPPED: "mapping",
    STATUS: "status",
    TYPE: "type",
    TIMESTAMP: "timestamp",
    VALUE: "value",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """The first refused notification of one node and kind in a publish response."""

    handle: int
    kind: str  # "mapping", "status", "type", "timestamp" or "value"
    reason: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Decoded:
    """What a publish response decoded to."""

    points: PointBatch
    delivered: NDArray[np.int64]  # handles that delivered at least one good value
    refusals: list[Refusal]


def decode(
    items: Sequence[ua.MonitoredItemNotification],
    series: NDArray[np.int64],
    why: Sequence[str | None],
    *,
    now_ms: int,
) -> Decoded:
    """Check notifications (client handle = index into ``series``) and keep the good ones.

    >>> def item(h, v, ms):
    ...     ts = datetime.fromtimestamp(ms / 1000, UTC)
    ...     return ua.MonitoredItemNotification(h, ua.DataValue(ua.Variant(v), SourceTimestamp=ts))
    >>> d = decode([item(0, 1.5, 1_764_000_000_000), item(1, "on", 1_764_000_000_000),
    ...             item(0, True, 1_764_000_000_500)], np.array([7, 8]), [None, None],
    ...            now_ms=1_764_000_000_000)
    >>> d.points.series.tolist(), d.points.ts_ms.tolist(), d.points.value.tolist()
    ([7, 7], [1764000000000, 1764000000500], [1.5, 1.0])
    >>> [(r.handle, r.kind, r.reason) for r in d.refusals]
    [(1, 'type', 'value of type str is not a number')]
    """
    n = len(items)
    # One pass per field over asyncua's objects is unavoidable; everything after is columnar.
    handles = np.fromiter((m.ClientHandle for m in items), np.int64, n)
    values = [m.Value for m in items]
    status = np.fromiter((_status(dv) for dv in values), np.int64, n)
    raw = [None if dv.Value is None else dv.Value.Value for dv in values]
    micros = np.fromiter((_micros(dv) for dv in values), np.float64, n)
    numeric = np.fromiter((type(v) in _NUMBERS for v in raw), np.bool_, n)
    value = np.fromiter((v if type(v) in _NUMBERS else np.nan for v in raw), np.float64, n)

    in_range = (handles >= 0) & (handles < len(series))
    sid = np.full(n, -1, dtype=np.int64)
    sid[in_range] = series[handles[in_range]]
    no_ts = np.isnan(micros)
    ts_ms = np.where(no_ts, 0, micros // 1000).astype(np.int64)
    bad_ts = no_ts | (ts_ms < EARLIEST_MS) | (ts_ms > now_ms + MAX_FUTURE_MS)
    kind = np.select(
        [
            sid < 0,
            status == _WAITING,
            (status >> 30) >= 2,  # the two top bits: 0 Good, 1 Uncertain, 2 and 3 Bad
            ~numeric,
            bad_ts,
            ~np.isfinite(value),
        ],
        [UNMAPPED, SKIP, STATUS, TYPE, TIMESTAMP, VALUE],
        OK,
    )
    ok = kind == OK
    points = PointBatch(sid[ok], ts_ms[ok], value[ok])
    refusals = _refusals(handles, kind, raw, status, no_ts, ts_ms, why, now_ms)
    return Decoded(points, np.unique(handles[ok]), refusals)


def _refusals(
    handles: NDArray[np.int64],
    kind: NDArray[np.int64],
    raw: list[Any],
    status: NDArray[np.int64],
    no_ts: NDArray[np.bool_],
    ts_ms: NDArray[np.int64],
    why: Sequence[str | None],
    now_ms: int,
) -> list[Refusal]:
    """The first refused notification of each (node, kind); the rest of a burst says nothing
    new."""
    refused = np.flatnonzero((kind != OK) & (kind != SKIP))
    if not len(refused):
        return []
    _, first = np.unique(handles[refused] * 8 + kind[refused], return_index=True)
    out: list[Refusal] = []
    for i in refused[np.sort(first)]:
        h, k = int(handles[i]), int(kind[i])
        if k == UNMAPPED:
            reason = (why[h] if 0 <= h < len(why) else None) or f"unknown client handle {h}"
        else:
            reason = _reason(k, raw[i], int(status[i]), bool(no_ts[i]), int(ts_ms[i]), now_ms)
        out.append(Refusal(h, KIND_NAMES[k], reason, _payload(raw[i])))
    return out


def _status(dv: ua.DataValue) -> int:
    return 0 if dv.StatusCode is None else int(dv.StatusCode.value)


def _micros(dv: ua.DataValue) -> float:
    """Microseconds since 1970 of the source timestamp, else the server's; NaN if neither."""
    at: datetime | None = dv.SourceTimestamp or dv.ServerTimestamp
    if at is None:
        return np.nan
    if at.tzinfo is None:  # OPC UA DateTime is UTC; asyncua usually says so, not always
        at = at.replace(tzinfo=UTC)
    return float((at - _EPOCH) // _MICROSECOND)


def _reason(kind: int, raw: Any, status: int, no_ts: bool, ts_ms: int, now_ms: int) -> str:
    if kind == STATUS:
        return f"status {ua.StatusCode(ua.UInt32(status)).name} (0x{status:08X}); no value stored"
    if kind == TYPE:
        if raw is None:
            return "null value"
        if isinstance(raw, list | tuple):
            return "array value; only scalar numbers are stored"
        return f"value of type {type(raw).__name__} is not a number"
    if kind == TIMESTAMP:
        if no_ts:
            return "no source or server timestamp"
        when = "before 2000-01-01" if ts_ms < EARLIEST_MS else "more than 10 minutes ahead"
        return f"timestamp {ts_ms} is {when} (now {now_ms})"
    return f"value {raw!r} is not finite"


def _payload(raw: Any) -> bytes:
    return repr(raw).encode("utf-8", "replace")[:PAYLOAD_HEAD]
