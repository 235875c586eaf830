"""InfluxDB line protocol: decode a whole body into a bundle of points, or name every bad line.

The mapping rule (one line is one point of InfluxDB, one field one Kiln point)::

    press-1,site=nanhai-1 tonnage=8120.5,strokes=1203i,door_open=f 1764000000000000000
    ^^^^^^^ measurement    ^^^^^^^ field key = signal name              ^ timestamp

* measurement -> the equipment slug, in the caller's enterprise (the enterprise is the token's);
  a tag ``equipment=<slug>`` names the equipment instead when present;
* field key -> the signal name of that equipment; field value -> the point's value (float64):
  floats, integers ``12i`` and unsigned ``12u`` (exact up to 2**53), booleans as 1.0 / 0.0;
  string values, NaN and infinities are refused;
* tags -> informational (``site``, ``line``, ...), except ``equipment`` (above) and
  ``enterprise``, which, when present, must be the caller's enterprise slug;
* timestamp -> an integer at the request's precision (``ns`` unless told: ``us``, ``ms``,
  ``s``, and for v1 also ``n``, ``u``, ``m``, ``h``), stored as UTC epoch ms rounded down; a
  line without one takes the server's clock. Before 2000 or more than 10 minutes ahead is
  refused;
* blank lines and ``#`` comments are skipped.

Unknown equipment or signals are refused, never created. A body is stored whole or not at all
(as the JSON ingest, and as InfluxDB OSS 2 answers a malformed line): every problem is named by
line and column (bytes, 1-based).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow.compute as pc
from numpy.typing import NDArray

from kiln.domain.batches import Bundle, PointBatch
from kiln.domain.catalog import AssetCatalog
from kiln.ingest.base import EARLIEST_MS, MAX_FUTURE_MS
from kiln.ingest.line_protocol_keys import KeyFault, parse_field_key, parse_key
from kiln.ingest.line_protocol_scan import I64, Scan, Texts, scan
from kiln.ingest.line_protocol_values import (
    PRECISIONS,
    to_epoch_ms,
    to_values,
    why_timestamp,
    why_value,
)

MAX_REJECTS = 100  # problems named in an answer; all are counted


@dataclass(frozen=True, slots=True)
class LineReject:
    """One problem of a body: which line and column, why, and whether it is a syntax error."""

    line: int
    column: int
    reason: str
    syntax: bool = False

    def where(self) -> str:
        """Where the problem is, as a person reads it."""
        return f"line {self.line}, column {self.column}"

    def as_dict(self) -> dict[str, object]:
        """The JSON form an API answers with."""
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class LineDecoded:
    """What a body decoded to: the bundle, or (if any problem) the problems and nothing else."""

    bundle: Bundle
    rejects: list[LineReject] = field(default_factory=list)  # the first MAX_REJECTS, in order
    refused: int = 0  # every problem found
    points: int = 0  # lines read

    @property
    def syntax(self) -> bool:
        """Whether a line could not be read at all (InfluxDB answers 400 then, else 422)."""
        return any(r.syntax for r in self.rejects)


class TooManyValues(Exception):
    """The body holds more field values than one batch may."""

    def __init__(self, values: int, limit: int) -> None:
        super().__init__(f"{values} field values; at most {limit} a request")
        self.values, self.limit = values, limit


def decode(
    body: bytes,
    catalog: AssetCatalog,
    *,
    enterprise_id: int,
    now_ms: int,
    precision: str = "ns",
    equipment: frozenset[int] | None = None,
    max_values: int = 1_000_000,
) -> LineDecoded:
    """Decode a line-protocol body for an enterprise; any problem refuses the whole body.

    ``equipment`` limits a device token to those equipment; ``precision`` is one of PRECISIONS.
    Raises TooManyValues past ``max_values`` field values.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}")
    sc = scan(body)
    if len(sc.value) > max_values:
        raise TooManyValues(len(sc.value), max_values)
    problems = _Problems(sc)
    for f in sc.faults:
        problems.add_fault(f.line, f.column, f.reason)
    values, bad_value = to_values(sc.value)
    value_line = sc.line[sc.point]
    problems.add(value_line, bad_value, lambda i: why_value(sc.value.item(i)), problems.at_value)
    ts_ms, bad_ts = to_epoch_ms(sc.ts, precision, now_ms)
    problems.add(sc.line, bad_ts, lambda i: why_timestamp(sc.ts.item(i)), problems.at_ts)
    early, late = ts_ms < EARLIEST_MS, ts_ms > now_ms + MAX_FUTURE_MS
    problems.add(
        sc.line,
        (early | late) & ~bad_ts,
        lambda i: (
            f"timestamp {sc.ts.item(i).decode()} ({precision}) is "
            + ("before 2000-01-01" if early[i] else "more than 10 minutes ahead")
        ),
        problems.at_ts,
    )
    series = _Resolver(sc, catalog, enterprise_id, equipment, problems).series()
    if problems.count:
        return LineDecoded(Bundle(), problems.rejects(), problems.count, len(sc.line))
    points = PointBatch(series, ts_ms[sc.point], values)
    if np.any(np.diff(sc.line) < 0):  # lines read carefully come last: put them back in order
        order = np.argsort(value_line, kind="stable")
        points = PointBatch(points.series[order], points.ts_ms[order], points.value[order])
    return LineDecoded(Bundle(points=points), [], 0, len(sc.line))


Where = Callable[[int], int]  # a problem's index -> its 1-based column


class _Problems:
    """Collects problems as index masks; reasons and columns are worked out only for the first
    MAX_REJECTS, in line order (columns by reading those lines again)."""

    def __init__(self, sc: Scan) -> None:
        self.sc = sc
        self.count = 0
        self._found: list[tuple[I64, I64, Callable[[int], str], Where, bool]] = []

    def add_fault(self, line: int, column: int, reason: str) -> None:
        """A syntax fault of the scanner, column known."""
        self._found.append(
            (np.array([line]), np.array([0]), lambda _: reason, lambda _: column, True)
        )
        self.count += 1

    def add(
        self,
        lines: I64,
        bad: NDArray[np.bool_],
        reason: Callable[[int], str],
        column: Where,
        syntax: bool = False,
    ) -> None:
        """Problems at the rows where ``bad``; ``lines`` holds each row's line number."""
        which = np.flatnonzero(bad)
        if len(which):
            self._found.append((lines[which], which, reason, column, syntax))
            self.count += len(which)

    def at_value(self, i: int) -> int:
        """The column of value i."""
        return self._layout_of_value(i)[1] + 1

    def at_field(self, i: int) -> int:
        """The column of value i's field key."""
        return self._layout_of_value(i)[0] + 1

    def at_ts(self, p: int) -> int:
        """The column of point p's timestamp."""
        return self.sc.layout(int(self.sc.line[p])).ts + 1

    def at_key(self, p: int, offset: int = 0) -> int:
        """The column of point p's key section, plus an offset into it."""
        return self.sc.layout(int(self.sc.line[p])).key + offset + 1

    def _layout_of_value(self, i: int) -> tuple[int, int]:
        sc = self.sc
        layout = sc.layout(int(sc.line[sc.point[i]]))
        return layout.fields[int(sc.ordinal(np.array([i]))[0])]

    def rejects(self) -> list[LineReject]:
        """The first problems, in (line, column) order."""
        lines = np.concatenate([f[0] for f in self._found])
        source = np.concatenate([np.full(len(f[0]), k) for k, f in enumerate(self._found)])
        at = np.concatenate([np.arange(len(f[0])) for f in self._found])
        if len(lines) > MAX_REJECTS:
            cutoff = np.partition(lines, MAX_REJECTS - 1)[MAX_REJECTS - 1]
            near = np.flatnonzero(lines <= cutoff)
        else:
            near = np.arange(len(lines))
        out = []
        for k in near.tolist():
            _, which, reason, column, syntax = self._found[int(source[k])]
            i = int(which[at[k]])
            out.append(LineReject(int(lines[k]), column(i), reason(i), syntax))
        out.sort(key=lambda r: (r.line, r.column))
        return out[:MAX_REJECTS]


def _codes(texts: Texts) -> tuple[I64, list[bytes]]:
    """Dictionary-encode packed strings: a code per string and the distinct strings."""
    enc = pc.dictionary_encode(texts.arrow())
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary.to_pylist()


class _Resolver:
    """Maps keys (measurement + tags) and field keys to series ids, distinct ones only."""

    def __init__(
        self,
        sc: Scan,
        catalog: AssetCatalog,
        enterprise_id: int,
        allowed: frozenset[int] | None,
        problems: _Problems,
    ) -> None:
        self.sc, self.catalog, self.enterprise_id = sc, catalog, enterprise_id
        self.allowed, self.problems = allowed, problems
        self.enterprise = catalog.enterprises[enterprise_id].slug

    def series(self) -> I64:
        sc = self.sc
        key_code, keys = _codes(sc.key)
        field_code, fields = _codes(sc.field_key)
        equipment = [self._equipment(k) for k in keys]
        slugs = [e if isinstance(e, str) else None for e in equipment]
        bad_key = np.array([not isinstance(e, str) for e in equipment], dtype=bool)
        eq_ids = np.array([self._id(s) if s else -1 for s in slugs], dtype=np.int64)
        self._key_problems(key_code, equipment, bad_key)
        names = [parse_field_key(f) for f in fields]
        bad_field = np.array([isinstance(n, KeyFault) for n in names], dtype=bool)
        self.problems.add(
            sc.line[sc.point],
            bad_field[field_code],
            lambda i: _fault_reason(names[int(field_code[i])]),
            self.problems.at_field,
            syntax=True,
        )
        value_key = key_code[sc.point]
        width = max(len(fields), 1)
        pair = value_key * width + field_code
        combos, inverse = _combinations(pair, len(keys) * width)
        lookup, ids = self.catalog.series_by_name, eq_ids.tolist()
        sids = np.array(
            [
                lookup.get((ids[k], names[f]), -1) if ids[k] >= 0 else -1
                for k, f in zip(*(x.tolist() for x in np.divmod(combos, width)), strict=True)
            ],
            dtype=np.int64,
        )
        series = sids[inverse]
        known = (eq_ids[value_key] >= 0) & ~bad_field[field_code]
        self.problems.add(
            sc.line[sc.point],
            known & (series < 0),
            lambda i: (
                f"unknown signal {names[int(field_code[i])]!r} of {slugs[int(value_key[i])]!r}"
            ),
            self.problems.at_field,
        )
        return series

    def _equipment(self, raw: bytes) -> str | KeyFault:
        """The equipment slug a key names, or why it cannot be used."""
        parsed = parse_key(raw)
        if isinstance(parsed, KeyFault):
            return parsed
        measurement, tags = parsed
        claimed = tags.get("enterprise")
        if claimed is not None and claimed != self.enterprise:
            return KeyFault(
                0, f"tag enterprise={claimed!r}; this caller sends for {self.enterprise!r}", False
            )
        return tags.get("equipment", measurement)

    def _id(self, slug: str) -> int:
        eid = self.catalog.equipment_by_path.get((self.enterprise_id, slug))
        if eid is None:
            return -1
        if self.allowed is not None and eid not in self.allowed:
            return -2
        return eid

    def _key_problems(
        self, key_code: I64, equipment: list[str | KeyFault], bad_key: NDArray[np.bool_]
    ) -> None:
        sc = self.sc
        ids = np.array([self._id(e) if isinstance(e, str) else 0 for e in equipment], np.int64)
        offsets = np.array(
            [e.offset if isinstance(e, KeyFault) else 0 for e in equipment], dtype=np.int64
        )
        syntax = np.array([isinstance(e, KeyFault) and e.syntax for e in equipment], dtype=bool)

        def reason(i: int) -> str:
            k = int(key_code[i])
            e = equipment[k]
            if isinstance(e, KeyFault):
                return e.reason
            if ids[k] == -2:
                return f"{e!r} is outside this token's equipment"
            return f"unknown equipment {e!r} in enterprise {self.enterprise!r}"

        def column(p: int) -> int:
            return self.problems.at_key(p, int(offsets[key_code[p]]))

        self.problems.add(sc.line, syntax[key_code], reason, column, syntax=True)
        refused = (bad_key & ~syntax) | (ids < 0)
        self.problems.add(sc.line, refused[key_code], reason, column)


def _combinations(pair: I64, size: int) -> tuple[I64, I64]:
    """The distinct values of ``pair`` (all below ``size``) and, per row, its index among them.

    A lookup table beats sorting while the table stays small (keys x field keys).
    """
    if size > 1 << 20:
        combos, inverse = np.unique(pair, return_inverse=True)
        return combos, inverse
    seen = np.zeros(size, dtype=bool)
    seen[pair] = True
    combos = np.flatnonzero(seen)
    rank = np.zeros(size, dtype=np.int64)
    rank[combos] = np.arange(len(combos))
    return combos, rank[pair]


def _fault_reason(x: str | KeyFault) -> str:
    return x.reason if isinstance(x, KeyFault) else ""
