"""From Sparkplug names to Kiln's assets (domain.md 2.2), decided once per BIRTH.

* group_id → enterprise: ``cfg.enterprises[group]``, else the text before the first ``.``
  (``acme-auto.nanhai-1.press-shop`` → ``acme-auto``);
* device_id → the enterprise's equipment of that slug; node-level metrics belong to the
  equipment named by the edge_node_id;
* metric ``telemetry/<signal>`` or ``<signal>`` → that signal's series (numeric types only);
  ``state/<any>`` (String: a state name) → a state change, with ``state/reason`` as its reason;
  ``count/good`` and ``count/scrap`` → a count (parts since the previous report);
* ``bdSeq``, ``Node Control/*``, ``Device Control/*``, ``Properties/*`` and ``meta/*`` are
  protocol or description, not data.

A BIRTH yields a ``ScopePlan``: per metric of the BIRTH's table, what it feeds. Applying DATA is
then array indexing (``to_bundle``), with no per-metric Python on the telemetry path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from kiln.domain.batches import Bundle, CountBatch, PointBatch, StateBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.ingest.base import EARLIEST_MS, MAX_FUTURE_MS
from kiln.ingest.sparkplug.codec import Columns, MetricTable
from kiln.ingest.sparkplug.datatypes import Kind, type_name

PROTOCOL_PREFIXES = ("Node Control/", "Device Control/", "Node Info/", "Properties/", "meta/")


class Target(IntEnum):
    """What a metric feeds."""

    SKIP = 0
    POINT = 1
    STATE = 2
    REASON = 3
    GOOD = 4
    SCRAP = 5


def enterprise_slug(group: str, enterprises: Mapping[str, str]) -> str:
    """The enterprise a group belongs to.

    >>> enterprise_slug("acme-auto.nanhai-1.press-shop", {})
    'acme-auto'
    >>> enterprise_slug("plant7", {"plant7": "huamei-ceramics"})
    'huamei-ceramics'
    """
    return enterprises.get(group) or group.split(".", 1)[0]


def classify(name: str, kind: int) -> tuple[Target, str, str]:
    """(target, signal name, why not) for one BIRTH metric; SKIP with a reason is unmapped.

    >>> classify("telemetry/tonnage", 3)[:2], classify("state/current", 5)[:2]
    ((<Target.POINT: 1>, 'tonnage'), (<Target.STATE: 2>, ''))
    >>> classify("alarm/overload", 4)
    (<Target.SKIP: 0>, '', "no mapping for metric class 'alarm'")
    """
    numeric = kind in (Kind.INT, Kind.FLOAT, Kind.DOUBLE, Kind.BOOL)
    if name == "bdSeq" or name.startswith(PROTOCOL_PREFIXES):
        return Target.SKIP, "", ""
    cls, sep, rest = name.partition("/")
    if not sep:
        cls, rest = "telemetry", name
    if cls == "telemetry" and rest:
        if not numeric:
            return Target.SKIP, "", "only numeric types are stored as telemetry"
        return Target.POINT, rest, ""
    if cls == "state":
        if kind != Kind.TEXT:
            return Target.SKIP, "", "a state metric must be a String (a state name)"
        return (Target.REASON if rest == "reason" else Target.STATE), "", ""
    if cls == "count" and rest in ("good", "scrap"):
        if kind != Kind.INT:
            return Target.SKIP, "", "a count must be an integer type"
        return (Target.GOOD if rest == "good" else Target.SCRAP), "", ""
    return Target.SKIP, "", f"no mapping for metric class {cls!r}"


@dataclass(frozen=True, slots=True)
class ScopePlan:
    """What each metric of one BIRTH (a node or a device) feeds in Kiln."""

    enterprise_id: int | None
    equipment_id: int | None
    target: NDArray[np.int8]  # per table position
    series: NDArray[np.int64]  # per table position; -1 where not a point
    names: tuple[str, ...]
    equipment: NDArray[np.int64]  # per table position (plans of several scopes may be merged)
    unmapped: dict[str, str] = field(default_factory=dict)  # metric -> why its data is dropped

    @property
    def stores_anything(self) -> bool:
        """Whether any metric of the scope reaches the store."""
        return bool(np.any(self.target != Target.SKIP))


def plan_scope(
    catalog: AssetCatalog, enterprise: str, equipment: str, table: MetricTable
) -> ScopePlan:
    """Resolve a BIRTH's metrics against the catalogue."""
    n = len(table)
    target = np.zeros(n, dtype=np.int8)
    series = np.full(n, -1, dtype=np.int64)
    unmapped: dict[str, str] = {}
    ent_id = catalog.enterprise_by_slug.get(enterprise)
    eq_id = None if ent_id is None else catalog.equipment_by_path.get((ent_id, equipment))
    for j, name in enumerate(table.names):
        tgt, signal, why = classify(name, int(table.kind[j]))
        if why:
            unmapped[name] = f"{why} ({type_name(int(table.datatype[j]))})"
        if tgt is Target.SKIP:
            continue
        if eq_id is None:
            unmapped[name] = (
                f"unknown enterprise {enterprise!r}"
                if ent_id is None
                else f"unknown equipment {equipment!r} of {enterprise!r}"
            )
            continue
        if tgt is Target.POINT:
            sid = catalog.series_by_name.get((eq_id, signal))
            if sid is None:
                unmapped[name] = f"unknown signal {signal!r} of {equipment!r}"
                continue
            series[j] = sid
        target[j] = tgt
    per_metric = np.full(n, -1 if eq_id is None else eq_id, dtype=np.int64)
    return ScopePlan(ent_id, eq_id, target, series, table.names, per_metric, unmapped)


def merge_plans(plans: Sequence[ScopePlan]) -> ScopePlan:
    """One plan over the concatenated tables of several scopes (an edge node and its devices,
    whose aliases are unique across the node), so their DATA can be mapped in one go."""
    return ScopePlan(
        None,
        None,
        np.concatenate([p.target for p in plans]),
        np.concatenate([p.series for p in plans]),
        tuple(name for p in plans for name in p.names),
        np.concatenate([p.equipment for p in plans]),
    )


def to_bundle(
    plan: ScopePlan,
    cols: Columns,
    *,
    now_ms: int,
    birth: bool = False,
    message: NDArray[np.int64] | None = None,
) -> tuple[Bundle, dict[int, list[str]]]:
    """The bundle that columns make under a plan, and what was refused, as sentences per
    message (``message`` says which message each row came from; without it all are message 0).

    Timestamps before 2000 or more than 10 minutes ahead are refused; so are non-finite values.
    Nulls are skipped (a null is not a zero). Counts in a BIRTH are not stored: a BIRTH
    repeats the last report, and a count is parts since the previous one.
    """
    tgt = plan.target[cols.index]
    used = tgt != 0
    problems: dict[int, list[str]] = {}
    ts = cols.ts_ms
    ok = (ts >= EARLIEST_MS) & (ts <= now_ms + MAX_FUTURE_MS)
    if not ok.all():
        bad = np.flatnonzero(used & ~ok & ~cols.null)  # a null stores nothing: its time is moot
        for k, more in _first_per_message(bad, message):
            when = "before 2000-01-01" if ts[k] < EARLIEST_MS else "more than 10 minutes ahead"
            if ts[k] == -1:
                when = "missing (no metric or payload timestamp)"
            also = f" (and {more - 1} more)" if more > 1 else ""
            _say(
                problems,
                message,
                k,
                f"metric {_name(plan, cols, k)!r}: timestamp {ts[k]} is {when}{also}",
            )
    pt = (tgt == Target.POINT) & ok & ~cols.null
    finite = np.isfinite(cols.value)
    if not finite[pt].all():
        for k, _ in _first_per_message(np.flatnonzero(pt & ~finite), message):
            _say(
                problems,
                message,
                k,
                f"metric {_name(plan, cols, k)!r}: value {cols.value[k]} is not finite",
            )
        pt &= finite
    points = PointBatch(plan.series[cols.index[pt]], ts[pt], cols.value[pt])
    if not used.any() or np.all(tgt[used] == Target.POINT):
        return Bundle(points=points), problems
    states = _states(plan, cols, tgt, ok, problems, message)
    counts = CountBatch.empty() if birth else _counts(plan, cols, tgt, ok, problems, message)
    return Bundle(points, states, counts), problems


def _first_per_message(
    rows: NDArray[np.int64], message: NDArray[np.int64] | None
) -> list[tuple[int, int]]:
    """(first row, how many) of the given rows, per message."""
    if not len(rows):
        return []
    if message is None:
        return [(int(rows[0]), len(rows))]
    _, first, count = np.unique(message[rows], return_index=True, return_counts=True)
    return [(int(rows[f]), int(c)) for f, c in zip(first, count, strict=True)]


def _say(
    problems: dict[int, list[str]], message: NDArray[np.int64] | None, row: int, text: str
) -> None:
    problems.setdefault(0 if message is None else int(message[row]), []).append(text)


def _name(plan: ScopePlan, cols: Columns, k: int) -> str:
    return plan.names[int(cols.index[k])]


def _states(
    plan: ScopePlan,
    cols: Columns,
    tgt: NDArray[np.int8],
    ok: NDArray[np.bool_],
    problems: dict[int, list[str]],
    message: NDArray[np.int64] | None,
) -> StateBatch:
    # A reason applies to the state changes of its own message.
    reason_of: dict[int, str] = {}
    for k in np.flatnonzero(tgt == Target.REASON).tolist():
        if cols.text.get(k):
            reason_of[0 if message is None else int(message[k])] = cols.text[k]
    eq, ts, codes, reasons = [], [], [], []
    for k in np.flatnonzero((tgt == Target.STATE) & ok & ~cols.null).tolist():
        try:
            code = EquipmentState.parse(cols.text.get(k, ""))
        except ValueError as err:
            _say(problems, message, k, f"metric {_name(plan, cols, k)!r}: {err}")
            continue
        eq.append(int(plan.equipment[cols.index[k]]))
        ts.append(int(cols.ts_ms[k]))
        codes.append(int(code))
        reasons.append(reason_of.get(0 if message is None else int(message[k])))
    return StateBatch.of(eq, ts, codes, reasons if any(reasons) else None)


def _counts(
    plan: ScopePlan,
    cols: Columns,
    tgt: NDArray[np.int8],
    ok: NDArray[np.bool_],
    problems: dict[int, list[str]],
    message: NDArray[np.int64] | None,
) -> CountBatch:
    rows: dict[tuple[int, int], list[int]] = {}  # (equipment, ts) -> [good, scrap]: one row
    for k in np.flatnonzero(((tgt == Target.GOOD) | (tgt == Target.SCRAP)) & ok & ~cols.null):
        v = float(cols.value[k])
        if not (v >= 0 and v.is_integer()):
            said = f"metric {_name(plan, cols, int(k))!r}: {v} is not a count >= 0"
            _say(problems, message, int(k), said)
            continue
        row = rows.setdefault((int(plan.equipment[cols.index[k]]), int(cols.ts_ms[k])), [0, 0])
        row[0 if tgt[k] == Target.GOOD else 1] += int(v)
    return CountBatch.of(
        [key[0] for key in rows],
        [key[1] for key in rows],
        [r[0] for r in rows.values()],
        [r[1] for r in rows.values()],
    )
