"""Kiln's JSON ingest batch: decode a body into a bundle, or name every bad item.

A batch belongs to one enterprise and may carry many equipment, signals, states and counts::

    {"enterprise": "acme-auto", "batch_id": "gw7-000123",
     "points": [{"equipment": "press-2", "signal": "tonnage", "ts": [t0, t1], "v": [812.0, 815.5]},
                {"equipment": "press-2", "signal": "lube_temp", "ts": t0, "v": 41.2}],
     "states": [{"equipment": "press-2", "ts": t0, "state": "idle", "reason": "starved"}],
     "counts": [{"equipment": "press-2", "ts": t0, "good": 12, "scrap": 1, "rework": 0}]}

Timestamps are UTC epoch milliseconds; ``ts`` and ``v`` are both scalars or equal-length lists.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

from kiln.domain.batches import Bundle, CountBatch, PointBatch, StateBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.ingest.base import EARLIEST_MS, MAX_FUTURE_MS, Decoded, Reject

SECTIONS = ("points", "states", "counts")


class _Ctx:
    """What decoding one body needs: the catalogue, the enterprise, the clock, the rejects."""

    def __init__(
        self, catalog: AssetCatalog, enterprise_id: int, now_ms: int, allowed: frozenset[int] | None
    ) -> None:
        self.catalog, self.enterprise_id, self.now_ms = catalog, enterprise_id, now_ms
        self.allowed = allowed
        self.rejects: list[Reject] = []

    def reject(self, section: str, index: int, field: str, reason: str) -> None:
        self.rejects.append(Reject(section, index, field, reason))

    def equipment(self, section: str, i: int, item: dict[str, Any]) -> int | None:
        slug = item.get("equipment")
        if not isinstance(slug, str):
            self.reject(section, i, "equipment", "missing or not a string")
            return None
        eid = self.catalog.equipment_by_path.get((self.enterprise_id, slug))
        if eid is None:
            self.reject(section, i, "equipment", f"unknown equipment {slug!r}")
        elif self.allowed is not None and eid not in self.allowed:
            self.reject(section, i, "equipment", f"{slug!r} is outside this token's equipment")
            return None
        return eid

    def check_ts(self, section: str, ts: np.ndarray, owner: np.ndarray, field: str = "ts") -> None:
        """Reject timestamps before 2000 or more than 10 minutes ahead (vectorised)."""
        bad = (ts < EARLIEST_MS) | (ts > self.now_ms + MAX_FUTURE_MS)
        for k in np.flatnonzero(bad)[:100]:
            when = "before 2000-01-01" if ts[k] < EARLIEST_MS else "more than 10 minutes ahead"
            self.reject(section, int(owner[k]), field, f"timestamp {int(ts[k])} is {when}")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _points(ctx: _Ctx, items: list[Any]) -> PointBatch:
    series: list[int] = []
    counts: list[int] = []
    owners: list[int] = []
    # Typed arrays check each element's type in C as they are filled (a Python check per value
    # cost a third of a batch's decoding); booleans pass as 1 and 0, as on every other path.
    ts_all = array("q")
    v_all = array("d")
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            ctx.reject("points", i, "", "must be an object")
            continue
        eid = ctx.equipment("points", i, item)
        sig = item.get("signal")
        sid = None
        if not isinstance(sig, str):
            ctx.reject("points", i, "signal", "missing or not a string")
        elif eid is not None:
            sid = ctx.catalog.series_by_name.get((eid, sig))
            if sid is None:
                ctx.reject(
                    "points", i, "signal", f"unknown signal {sig!r} of {item['equipment']!r}"
                )
        ts, v = item.get("ts"), item.get("v")
        if isinstance(ts, list) or isinstance(v, list):
            if not (isinstance(ts, list) and isinstance(v, list) and len(ts) == len(v)):
                ctx.reject("points", i, "ts", "'ts' and 'v' must be lists of equal length")
                continue
            n, start = len(ts), len(ts_all)
            try:
                ts_all.extend(ts)
            except (TypeError, OverflowError):
                del ts_all[start:]  # extend stops part-way: take back what it added
                ctx.reject("points", i, "ts", "every timestamp must be an integer (epoch ms)")
                continue
            try:
                v_all.extend(v)
            except (TypeError, OverflowError):
                del ts_all[start:]
                del v_all[start:]
                ctx.reject("points", i, "v", "every value must be a number")
                continue
        else:
            if not isinstance(ts, int) or isinstance(ts, bool):
                ctx.reject("points", i, "ts", "missing or not an integer (epoch ms)")
                continue
            if not isinstance(v, int | float):
                ctx.reject("points", i, "v", "missing or not a number")
                continue
            try:
                ts_all.append(int(ts))
            except OverflowError:
                ctx.reject("points", i, "ts", "timestamp out of range (epoch ms)")
                continue
            try:
                v_all.append(float(v))
            except OverflowError:
                del ts_all[-1]
                ctx.reject("points", i, "v", "value out of range")
                continue
            n = 1
        series.append(sid if sid is not None else -1)
        counts.append(n)
        owners.append(i)
    rows_item = np.repeat(np.array(owners, dtype=np.int64), counts)
    batch = PointBatch.of(
        np.repeat(np.array(series, dtype=np.int64), counts),
        np.frombuffer(ts_all, dtype=np.int64),
        np.frombuffer(v_all, dtype=np.float64),
    )
    for k in np.flatnonzero(~np.isfinite(batch.value))[:100]:
        ctx.reject("points", int(rows_item[k]), "v", f"value {float(batch.value[k])} is not finite")
    ctx.check_ts("points", batch.ts_ms, rows_item)
    return batch


def _states(ctx: _Ctx, items: list[Any]) -> StateBatch:
    eq: list[int] = []
    ts: list[int] = []
    st: list[int] = []
    reasons: list[str | None] = []
    owners: list[int] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            ctx.reject("states", i, "", "must be an object")
            continue
        eid = ctx.equipment("states", i, item)
        t, name, reason = item.get("ts"), item.get("state"), item.get("reason")
        if not _is_int(t):
            ctx.reject("states", i, "ts", "missing or not an integer (epoch ms)")
            continue
        if not isinstance(name, str):
            ctx.reject("states", i, "state", "missing or not a string")
            continue
        try:
            code = EquipmentState.parse(name)
        except ValueError as err:
            ctx.reject("states", i, "state", str(err))
            continue
        if reason is not None and not isinstance(reason, str):
            ctx.reject("states", i, "reason", "must be a string or null")
            continue
        eq.append(eid if eid is not None else -1)
        ts.append(int(t))  # type: ignore[arg-type]
        st.append(int(code))
        reasons.append(reason)
        owners.append(i)
    batch = StateBatch.of(eq, ts, st, reasons if any(r is not None for r in reasons) else None)
    ctx.check_ts("states", batch.ts_ms, np.array(owners, dtype=np.int64))
    return batch


def _counts(ctx: _Ctx, items: list[Any]) -> CountBatch:
    cols: tuple[list[int], list[int], list[int], list[int], list[int]] = ([], [], [], [], [])
    owners: list[int] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            ctx.reject("counts", i, "", "must be an object")
            continue
        eid = ctx.equipment("counts", i, item)
        t, good, scrap = item.get("ts"), item.get("good", 0), item.get("scrap", 0)
        rework = item.get("rework", 0)
        if not _is_int(t):
            ctx.reject("counts", i, "ts", "missing or not an integer (epoch ms)")
            continue
        bad = next(
            (
                k
                for k, x in (("good", good), ("scrap", scrap), ("rework", rework))
                if not _is_int(x) or x < 0
            ),
            None,
        )
        if bad is not None:
            ctx.reject(
                "counts", i, bad, "must be a whole number >= 0 (parts since the last report)"
            )
            continue
        row = (eid if eid is not None else -1, t, good, scrap, rework)
        for col, x in zip(cols, row, strict=True):
            col.append(x)
        owners.append(i)
    batch = CountBatch.of(*cols)
    ctx.check_ts("counts", batch.ts_ms, np.array(owners, dtype=np.int64))
    return batch


def _size(doc: dict[str, Any]) -> int:
    """Points, states and counts in a batch (each element of a ts list counts)."""
    n = 0
    for section in SECTIONS:
        items = doc.get(section)
        if isinstance(items, list):
            n += len(items)
            if section == "points":
                n += sum(
                    len(it["ts"]) - 1
                    for it in items
                    if isinstance(it, dict) and isinstance(it.get("ts"), list) and it["ts"]
                )
    return n


def decode(
    doc: Any,
    catalog: AssetCatalog,
    *,
    now_ms: int,
    enterprise: str | None = None,
    equipment: frozenset[int] | None = None,
    max_items: int = 1_000_000,
) -> Decoded:
    """Decode a parsed JSON batch; every bad item becomes a Reject and nothing is kept.

    ``enterprise`` is the caller's enterprise when its credentials fix it; the body may then
    omit it, and may not name another.
    """
    if not isinstance(doc, dict):
        return Decoded(Bundle(), [Reject("", 0, "", "the body must be a JSON object")])
    name = doc.get("enterprise", enterprise)
    if not isinstance(name, str) or (enterprise is not None and name != enterprise):
        why = "missing or not a string" if enterprise is None else f"must be {enterprise!r}"
        return Decoded(Bundle(), [Reject("", 0, "enterprise", why)])
    ent_id = catalog.enterprise_by_slug.get(name)
    if ent_id is None:
        return Decoded(Bundle(), [Reject("", 0, "enterprise", f"unknown enterprise {name!r}")])
    batch_id = doc.get("batch_id")
    if batch_id is not None and not (isinstance(batch_id, str) and 0 < len(batch_id) <= 200):
        return Decoded(
            Bundle(), [Reject("", 0, "batch_id", "must be a string of 1-200 characters")]
        )
    unknown = set(doc) - {"enterprise", "batch_id", *SECTIONS}
    if unknown:
        return Decoded(Bundle(), [Reject("", 0, sorted(unknown)[0], "unknown field")])
    size = _size(doc)
    if size > max_items:
        return Decoded(Bundle(), [Reject("", 0, "", f"{size} items; at most {max_items} a batch")])
    ctx = _Ctx(catalog, ent_id, now_ms, equipment)
    parts = []
    for section, fn in (("points", _points), ("states", _states), ("counts", _counts)):
        items = doc.get(section, [])
        if not isinstance(items, list):
            ctx.reject(section, 0, "", "must be a list")
            items = []
        parts.append(fn(ctx, items))
    if ctx.rejects:
        return Decoded(Bundle(), ctx.rejects, batch_id)
    if not any(len(p) for p in parts):
        return Decoded(Bundle(), [Reject("", 0, "", "the batch has no points, states or counts")])
    return Decoded(Bundle(*parts), [], batch_id)  # type: ignore[arg-type]
