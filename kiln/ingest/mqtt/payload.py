"""UNS JSON payloads: a batch of MQTT messages decoded into one Bundle, bad messages refused whole.

What each topic class takes (``ts`` is UTC epoch milliseconds at the source; where it may be
left out, the receive time is used)::

    .../{equipment}/telemetry/{signal}   {"v": 812.5, "ts": t}  or  {"ts": [t0, t1], "v": [1, 2]}
                                         or a bare number; optional "u" (unit), "q" ("good" only)
    .../{equipment}/telemetry            {"ts": t, "values": {"tonnage": 812.0, "lube_temp": 41.2}}
                                         or {"ts": [t0, t1], "values": {"tonnage": [1, 2], ...}}
    .../{equipment}/state[/...]          {"state": "running", "ts": t, "reason": null}, or a list
    .../{equipment}/state/online         true / false / {"online": false, "ts": t} / offline
    .../{equipment}/count[/...]          {"good": 12, "scrap": 1, "rework": 0, "ts": t}, or a list
    {root}/{enterprise}/_batch           Kiln's HTTP JSON batch (kiln.ingest.http_json)

Booleans are stored as 0 and 1. Telemetry timestamps and values of the whole batch go straight
into two typed arrays (``array('q')``, ``array('d')``), which refuse a wrong type in C as each
message is added; the time and finiteness checks then run once on the NumPy columns.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from kiln.domain.batches import Bundle, CountBatch, PointBatch, StateBatch
from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.ingest import http_json
from kiln.ingest.base import EARLIEST_MS, MAX_FUTURE_MS
from kiln.ingest.mqtt.namespace import Route

_ONLINE_TEXT = {b"online": True, b"offline": False, b"true": True, b"false": False}
_BAD_TS = "ts: every timestamp must be an integer (epoch ms)"
_BAD_V = "v: every value must be a number"


@dataclass(slots=True)
class Decoded:
    """A batch decoded: one bundle, the _batch bundles that carry their own batch_id, and the
    refused messages (index in the batch -> reason)."""

    bundle: Bundle
    keyed: list[tuple[str, Bundle]] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class DecodedEach:
    """A batch decoded message by message: the bundle of each message that carries rows (index
    in the batch -> bundle and the batch_id a Kiln JSON batch names, else None), and the
    refused messages (index -> reason). Messages with nothing to store are in neither."""

    bundles: dict[int, tuple[Bundle, str | None]]
    refused: dict[int, str]


def _is_int(x: object) -> bool:
    return type(x) is int


def _json_error(payload: bytes, err: Exception) -> str:
    if b"NaN" in payload or b"Infinity" in payload:
        return "malformed JSON: NaN and Infinity are not JSON numbers (values must be finite)"
    return f"malformed JSON: {err}"


class BatchDecoder:
    """Collects the messages of one batch (``add``), then checks and builds the bundle
    (``finish``). Nothing of a refused message is kept."""

    def __init__(self, catalog: AssetCatalog, now_ms: int) -> None:
        self.catalog, self.now_ms = catalog, now_ms
        self.refused: dict[int, str] = {}
        self._ts = array("q")  # telemetry, flat over the batch
        self._v = array("d")
        self._runs: tuple[list[int], list[int], list[int]] = ([], [], [])  # series, length, msg
        self._states: list[tuple[int, int, int, str | None, int]] = []
        self._counts: list[tuple[int, int, int, int, int, int]] = []
        self._bundles: list[tuple[int, Bundle]] = []  # Kiln JSON batches, by message
        self._keyed: list[tuple[int, str, Bundle]] = []  # the same, naming a batch_id

    def add(self, msg: int, route: Route, payload: bytes) -> None:
        """Decode one message routed by its topic; a bad one is refused with its reason."""
        kind = route.kind
        if not payload:
            if kind not in ("state", "online", "skip"):  # there: a retained message cleared
                self.refused[msg] = "empty payload"
            return
        if kind == "skip":
            return
        if kind == "online" and payload.strip().lower() in _ONLINE_TEXT:
            doc: Any = _ONLINE_TEXT[payload.strip().lower()]
        else:
            try:
                doc = orjson.loads(payload)
            except orjson.JSONDecodeError as err:
                self.refused[msg] = _json_error(payload, err)
                return
        if kind == "telemetry":
            why = (
                self._signal(msg, route, doc)
                if route.series_id >= 0
                else self._signals(msg, route, doc)
            )
        elif kind == "state":
            why = self._state(msg, route, doc)
        elif kind == "online":
            why = self._online(msg, route, doc)
        elif kind == "count":
            why = self._count(msg, route, doc)
        else:
            why = self._batch(msg, route, doc)
        if why is not None:
            self.refused[msg] = why

    # -- telemetry ---------------------------------------------------------------------------

    def _signal(self, msg: int, route: Route, doc: Any) -> str | None:
        """One signal's topic: {"v": x, "ts": t}, {"ts": [..], "v": [..]}, or a bare number."""
        if type(doc) is not dict:
            if type(doc) in (int, float, bool):
                return self._append_one(route.series_id, self.now_ms, doc, msg)
            return 'the payload must be an object like {"v": 1.5, "ts": <epoch ms>} or a number'
        if "v" not in doc:
            return "v: missing (a signal's topic takes 'v'; 'values' goes to .../telemetry)"
        v, ts, q = doc["v"], doc.get("ts", self.now_ms), doc.get("q")
        if q is not None and q != "good":
            return f"q: quality {q!r}; only good values are stored"
        if type(v) is list:
            if type(ts) is not list or len(ts) != len(v):
                return "ts: 'ts' and 'v' must be lists of equal length"
            if not v:
                return "v: an empty list"
            return self._extend(route.series_id, ts, v, msg)
        if type(ts) is list:
            return "ts: a list needs 'v' to be a list of the same length"
        return self._append_one(route.series_id, ts, v, msg)

    def _signals(self, msg: int, route: Route, doc: Any) -> str | None:
        """An equipment's telemetry topic: {"ts": t, "values": {"signal": x, ...}}."""
        values = doc.get("values") if type(doc) is dict else None
        if type(values) is not dict or not values:
            return 'values: missing; expected {"ts": <epoch ms>, "values": {"<signal>": <number>}}'
        ts = doc.get("ts", self.now_ms)
        series = self.catalog.series_by_name
        eq = route.equipment_id
        ids = []
        for name, v in values.items():
            sid = series.get((eq, name))
            if sid is None:
                return f"values.{name}: unknown signal {name!r} of {route.equipment!r}"
            if type(ts) is list:
                if type(v) is not list or len(v) != len(ts) or not v:
                    return f"values.{name}: must be a list as long as 'ts'"
            elif type(v) is list:
                return f"values.{name}: a list needs 'ts' to be a list of the same length"
            ids.append(sid)
        start, runs = len(self._ts), len(self._runs[0])
        add = self._extend if type(ts) is list else self._append_one
        for sid, (name, v) in zip(ids, values.items(), strict=True):
            why = add(sid, ts, v, msg)
            if why is not None:
                self._truncate(start, runs)
                return why if why == _BAD_TS else f"values.{name}: must be a number"
        return None

    def _append_one(self, sid: int, ts: Any, v: Any, msg: int) -> str | None:
        try:
            self._ts.append(ts)
        except (TypeError, OverflowError):
            return _BAD_TS
        try:
            self._v.append(v)
        except TypeError:
            self._ts.pop()
            return _BAD_V
        self._run(sid, 1, msg)
        return None

    def _extend(self, sid: int, ts: list[Any], v: list[Any], msg: int) -> str | None:
        start = len(self._ts)
        try:
            self._ts.extend(ts)
        except (TypeError, OverflowError):
            del self._ts[start:]
            return _BAD_TS
        try:
            self._v.extend(v)
        except TypeError:
            del self._ts[start:], self._v[start:]
            return _BAD_V
        self._run(sid, len(ts), msg)
        return None

    def _truncate(self, rows: int, runs: int) -> None:
        """Forget what a refused message added: the rows from ``rows`` and runs from ``runs``."""
        del self._ts[rows:], self._v[rows:]
        for col in self._runs:
            del col[runs:]

    def _run(self, sid: int, n: int, msg: int) -> None:
        series, length, owner = self._runs
        series.append(sid)
        length.append(n)
        owner.append(msg)

    # -- states and counts -------------------------------------------------------------------

    def _ts_problem(self, ts: object, where: str = "ts") -> str | None:
        if not _is_int(ts):
            return f"{where}: not an integer (epoch ms)"
        assert isinstance(ts, int)
        if ts < EARLIEST_MS:
            return f"{where}: timestamp {ts} is before 2000-01-01"
        if ts > self.now_ms + MAX_FUTURE_MS:
            return f"{where}: timestamp {ts} is more than 10 minutes ahead"
        return None

    def _state(self, msg: int, route: Route, doc: Any) -> str | None:
        items = doc if type(doc) is list else [doc]
        rows = []
        for i, item in enumerate(items):
            at = f"[{i}]." if type(doc) is list else ""
            if type(item) is not dict:
                return f'{at[:-1] or "payload"}: expected {{"state": "running", "ts": <epoch ms>}}'
            name, ts, reason = item.get("state"), item.get("ts", self.now_ms), item.get("reason")
            if not isinstance(name, str):
                return f"{at}state: missing or not a string"
            try:
                code = EquipmentState.parse(name)
            except ValueError as err:
                return f"{at}state: {err}"
            if reason is not None and not isinstance(reason, str):
                return f"{at}reason: must be a string or null"
            why = self._ts_problem(ts, f"{at}ts")
            if why is not None:
                return why
            rows.append((route.equipment_id, ts, int(code), reason, msg))
        self._states += rows
        return None

    def _online(self, msg: int, route: Route, doc: Any) -> str | None:
        """A health flag (e.g. the Last Will): offline makes the state UNKNOWN from then on."""
        ts: Any = self.now_ms
        if type(doc) is dict and type(doc.get("online")) is bool:
            online, ts = doc["online"], doc.get("ts", self.now_ms)
        elif type(doc) is bool:
            online = doc
        else:
            return 'expected true, false, "online", "offline" or {"online": false, "ts": <ms>}'
        why = self._ts_problem(ts)
        if why is not None:
            return why
        if not online:
            unknown = int(EquipmentState.UNKNOWN)
            self._states.append((route.equipment_id, ts, unknown, "offline", msg))
        return None

    def _count(self, msg: int, route: Route, doc: Any) -> str | None:
        items = doc if type(doc) is list else [doc]
        rows = []
        for i, item in enumerate(items):
            at = f"[{i}]." if type(doc) is list else ""
            if type(item) is not dict or not ("good" in item or "scrap" in item):
                return (
                    f'{at[:-1] or "payload"}: expected {{"good": 12, "scrap": 1, "ts": <epoch ms>}}'
                )
            good, scrap, rework = item.get("good", 0), item.get("scrap", 0), item.get("rework", 0)
            for key, x in (("good", good), ("scrap", scrap), ("rework", rework)):
                if not _is_int(x) or x < 0:
                    return f"{at}{key}: must be a whole number >= 0 (parts since the last report)"
            ts = item.get("ts", self.now_ms)
            why = self._ts_problem(ts, f"{at}ts")
            if why is not None:
                return why
            rows.append((route.equipment_id, ts, good, scrap, rework, msg))
        self._counts += rows
        return None

    def _batch(self, msg: int, route: Route, doc: Any) -> str | None:
        out = http_json.decode(doc, self.catalog, now_ms=self.now_ms, enterprise=route.enterprise)
        if out.rejects:
            first = [f"{r.where()}: {r.reason}" for r in out.rejects[:3]]
            more = len(out.rejects) - len(first)
            return "; ".join(first) + (f" (and {more} more)" if more else "")
        if out.batch_id is not None:
            self._keyed.append((msg, out.batch_id, out.bundle))
        else:
            self._bundles.append((msg, out.bundle))
        return None

    # -- the columns -------------------------------------------------------------------------

    def finish(self) -> Decoded:
        """Check the telemetry columns, drop every row of a refused message, build the bundle."""
        points = self._points()
        states = [r for r in self._states if r[4] not in self.refused]
        counts = [r for r in self._counts if r[5] not in self.refused]
        bundle = Bundle(
            points,
            StateBatch.of(
                [r[0] for r in states],
                [r[1] for r in states],
                [r[2] for r in states],
                [r[3] for r in states] if any(r[3] is not None for r in states) else None,
            ),
            CountBatch.of(
                [r[0] for r in counts],
                [r[1] for r in counts],
                [r[2] for r in counts],
                [r[3] for r in counts],
                [r[4] for r in counts],
            ),
        )
        if self._bundles:
            bundle = Bundle.concat([bundle, *(b for _, b in self._bundles)])
        return Decoded(bundle, [(bid, b) for _, bid, b in self._keyed], self.refused)

    def finish_each(self) -> DecodedEach:
        """Check and build like ``finish``, but keep each message's rows apart (a bundle per
        message), for a protocol that gives every message an identity of its own."""
        points, owner = self._owned_points()
        parts: dict[int, list[Any]] = {}
        if len(owner):
            if np.any(np.diff(owner) < 0):
                order = np.argsort(owner, kind="stable")
                owner = owner[order]
                points = PointBatch(points.series[order], points.ts_ms[order], points.value[order])
            cuts = (np.flatnonzero(np.diff(owner)) + 1).tolist()
            for lo, hi in zip([0, *cuts], [*cuts, len(owner)], strict=True):
                part = PointBatch(points.series[lo:hi], points.ts_ms[lo:hi], points.value[lo:hi])
                parts[int(owner[lo])] = [part, [], []]
        for row in self._states:
            if row[4] not in self.refused:
                parts.setdefault(row[4], [None, [], []])[1].append(row)
        for c in self._counts:
            if c[5] not in self.refused:
                parts.setdefault(c[5], [None, [], []])[2].append(c)
        bundles: dict[int, tuple[Bundle, str | None]] = {
            msg: (_bundle_of(p, states, counts), None) for msg, (p, states, counts) in parts.items()
        }
        for msg, b in self._bundles:
            bundles[msg] = (b, None)
        for msg, bid, b in self._keyed:
            bundles[msg] = (b, bid)
        return DecodedEach(bundles, self.refused)

    def _points(self) -> PointBatch:
        return self._owned_points()[0]

    def _owned_points(self) -> tuple[PointBatch, NDArray[np.int64]]:
        """The telemetry rows not refused, and the message each row came in."""
        if not self._ts:
            return PointBatch.empty(), np.zeros(0, dtype=np.int64)
        series, length, owner = (np.array(x, dtype=np.int64) for x in self._runs)
        ts = np.frombuffer(self._ts, dtype=np.int64)
        values = np.frombuffer(self._v, dtype=np.float64)
        row_msg = np.repeat(owner, length)
        bad_ts = (ts < EARLIEST_MS) | (ts > self.now_ms + MAX_FUTURE_MS)
        for k in np.flatnonzero(bad_ts):
            m = int(row_msg[k])
            if m not in self.refused:
                when = "before 2000-01-01" if ts[k] < EARLIEST_MS else "more than 10 minutes ahead"
                self.refused[m] = f"ts: timestamp {int(ts[k])} is {when}"
        for k in np.flatnonzero(~np.isfinite(values)):
            self.refused.setdefault(int(row_msg[k]), f"v: value {float(values[k])} is not finite")
        batch = PointBatch(np.repeat(series, length), ts, values)
        if self.refused:
            keep = ~np.isin(row_msg, np.fromiter(self.refused, dtype=np.int64))
            if not keep.all():
                batch = PointBatch(batch.series[keep], batch.ts_ms[keep], batch.value[keep])
                row_msg = row_msg[keep]
        return batch, row_msg


_NO_STATES = StateBatch.empty()
_NO_COUNTS = CountBatch.empty()


def _bundle_of(
    points: PointBatch | None,
    states: list[tuple[int, int, int, str | None, int]],
    counts: list[tuple[int, int, int, int, int, int]],
) -> Bundle:
    """One message's rows as a bundle (most messages carry one kind: the others stay empty)."""
    state_batch = _NO_STATES
    if states:
        reasons = [r[3] for r in states]
        state_batch = StateBatch.of(
            [r[0] for r in states],
            [r[1] for r in states],
            [r[2] for r in states],
            reasons if any(x is not None for x in reasons) else None,
        )
    count_batch = _NO_COUNTS
    if counts:
        count_batch = CountBatch.of(*([c[k] for c in counts] for k in range(5)))
    return Bundle(points if points is not None else PointBatch.empty(), state_batch, count_batch)
