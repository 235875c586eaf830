"""Scan an InfluxDB line-protocol body into columns of raw byte strings, finding syntax errors.

The scan splits each line into its key section (measurement and tags, as sent), its fields
(key and value, as sent) and its timestamp, without converting anything: `line_protocol`
converts the columns in bulk. Two paths produce the same columns:

* the fast path, for lines without backslashes, quotes, tabs, NUL or carriage returns and with
  single spaces: Arrow's string kernels split every line of the body at once (spaces, then
  commas, then equals signs), and any line whose pieces do not have the expected shape is
  handed to the slow path;
* the slow path, a careful per-line scanner for everything else (escapes, quoted strings,
  extra spaces) and for every line the fast path refused, which names the column of a syntax
  error.

Columns are not kept: where a problem needs one, `Scan.layout` reads that line again.
Columns (1-based) count bytes from the start of the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

I64 = NDArray[np.int64]
U8 = NDArray[np.uint8]

SPACE, TAB, QUOTE, COMMA, EQUALS, BACKSLASH, HASH = 32, 9, 34, 44, 61, 92, 35
_SLOW_BYTES = (b"\\", b'"', b"\t", b"\0", b"\r")
_BLANK = (SPACE, TAB)


@dataclass(slots=True)
class Texts:
    """Byte strings packed end to end: ``data[offsets[i]:offsets[i + 1]]`` is string i."""

    data: U8
    offsets: I64

    @classmethod
    def of(cls, items: list[bytes]) -> Texts:
        """Pack a list of byte strings."""
        offsets = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in items], out=offsets[1:])
        return cls(np.frombuffer(b"".join(items), dtype=np.uint8), offsets)

    @classmethod
    def of_arrow(cls, array: pa.Array) -> Texts:
        """The strings of an Arrow (large) binary array, without copying their bytes."""
        if array.type != pa.large_binary():
            array = array.cast(pa.large_binary())
        _, offsets_buf, data_buf = array.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
            array.offset : array.offset + len(array) + 1
        ]
        data = (
            np.frombuffer(data_buf, dtype=np.uint8)
            if data_buf is not None
            else np.zeros(0, np.uint8)
        )
        first = int(offsets[0]) if len(offsets) else 0
        return cls(data[first : int(offsets[-1]) if len(offsets) else 0], offsets - first)

    @classmethod
    def gather(cls, src: U8, starts: I64, ends: I64) -> Texts:
        """Copy the spans ``src[starts[i]:ends[i]]`` into one packed buffer."""
        lengths = ends - starts
        offsets = np.zeros(len(starts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        shift = np.repeat(starts - offsets[:-1], lengths)
        return cls(src[np.arange(int(offsets[-1]), dtype=np.int64) + shift], offsets)

    @classmethod
    def concat(cls, parts: list[Texts]) -> Texts:
        """Join packed strings end to end."""
        if len(parts) == 1:
            return parts[0]
        base = np.cumsum([0] + [len(p.data) for p in parts[:-1]])
        offsets = np.concatenate(
            [parts[0].offsets[:1]] + [p.offsets[1:] + b for p, b in zip(parts, base, strict=True)]
        )
        return cls(np.concatenate([p.data for p in parts]), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> I64:
        """The length of each string."""
        return np.diff(self.offsets)

    def take(self, index: I64) -> Texts:
        """The strings at the given positions, packed anew."""
        return Texts.gather(self.data, self.offsets[:-1][index], self.offsets[1:][index])

    def item(self, i: int) -> bytes:
        """String i, as bytes."""
        return self.data[self.offsets[i] : self.offsets[i + 1]].tobytes()

    def arrow(self) -> pa.Array:
        """The strings as an Arrow large binary array (no copy)."""
        return pa.Array.from_buffers(
            pa.large_binary(),
            len(self),
            [None, pa.py_buffer(self.offsets), pa.py_buffer(self.data)],
        )


@dataclass(frozen=True, slots=True)
class SyntaxFault:
    """A line the scanner could not read: where (1-based line and byte column) and why."""

    line: int
    column: int
    reason: str


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the parts of one line start (0-based byte offsets), to name a problem's column."""

    key: int
    fields: list[tuple[int, int]]  # (field key, value) offsets
    ts: int


@dataclass(slots=True)
class Scan:
    """A body as columns: one row per point (line) and one per field value.

    Points: ``line`` (1-based number), ``key`` (measurement and tags as sent), ``ts`` (the
    timestamp as sent, empty when omitted). Values: ``point`` (row of their point, ascending),
    ``field_key`` and ``value`` as sent.
    """

    line: I64
    key: Texts
    ts: Texts
    point: I64
    field_key: Texts
    value: Texts
    lines: pa.Array  # every line of the body, for `layout`
    faults: list[SyntaxFault] = field(default_factory=list)

    def layout(self, line: int) -> Layout:
        """Where the key, each field and the timestamp of a (readable) line start."""
        text = self.lines[line - 1].as_py()
        start = _skip_blank(text, 0)
        fields, _, (_, ts_at) = _read_line(text, start)
        return Layout(start, [(k, v) for _, _, k, v in fields], ts_at)

    def ordinal(self, value: I64) -> I64:
        """Each value's position among its line's fields (0 for the first)."""
        return value - np.searchsorted(self.point, self.point[value])


@dataclass(slots=True)
class _SlowRows:
    """What the per-line scanner collects, column by column as in Scan, before packing."""

    line: list[int] = field(default_factory=list)
    key: list[bytes] = field(default_factory=list)
    ts: list[bytes] = field(default_factory=list)
    point: list[int] = field(default_factory=list)
    field_key: list[bytes] = field(default_factory=list)
    value: list[bytes] = field(default_factory=list)
    faults: list[SyntaxFault] = field(default_factory=list)

    def after(self, fast: Scan) -> Scan:
        """The fast path's columns followed by these rows."""

        def ints(a: I64, b: list[int]) -> I64:
            return np.concatenate([a, np.array(b, dtype=np.int64)])

        def texts(a: Texts, b: list[bytes]) -> Texts:
            return Texts.concat([a, Texts.of(b)])

        return Scan(
            ints(fast.line, self.line),
            texts(fast.key, self.key),
            texts(fast.ts, self.ts),
            ints(fast.point, self.point),
            texts(fast.field_key, self.field_key),
            texts(fast.value, self.value),
            fast.lines,
            self.faults,
        )


class _LineError(Exception):
    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(reason)
        self.offset, self.reason = offset, reason


def scan(body: bytes) -> Scan:
    """Split a body into point and value columns; lines that cannot be read become faults.

    >>> s = scan(b"press-1,site=p1 tonnage=812.5,strokes=12i 1764000000000000000\\n# note\\n")
    >>> s.key.item(0), s.field_key.item(1), s.value.item(1), s.ts.item(0)
    (b'press-1,site=p1', b'strokes', b'12i', b'1764000000000000000')
    """
    if b"\r\n" in body:
        body = body.replace(b"\r\n", b"\n")  # CRLF files: a carriage return ends no value
    lines = pc.split_pattern(pa.array([body], pa.large_binary()), b"\n").flatten()
    text = Texts.of_arrow(lines)
    fast = _plain_lines(body, text)
    done = _scan_fast(lines, fast)
    slow = np.flatnonzero(~fast & (text.lengths() > 0))
    if not slow.size:
        return done
    rows = _SlowRows()
    for li in slow.tolist():  # only lines the fast path refused, usually none
        _scan_slow_line(text.item(li), li + 1, len(done.line), rows)
    return rows.after(done)


def _plain_lines(body: bytes, text: Texts) -> NDArray[np.bool_]:
    """Lines the fast path may try: not empty, no comment, no leading space, no special byte."""
    starts = text.offsets[:-1]
    nonempty = text.lengths() > 0
    first = text.data[np.minimum(starts, max(len(text.data) - 1, 0))] if len(text.data) else starts
    plain: NDArray[np.bool_] = nonempty & (first != HASH) & (first != SPACE)
    for special in _SLOW_BYTES:
        if special in body:
            hits = np.flatnonzero(text.data == special[0])
            plain[np.searchsorted(starts, hits, side="right") - 1] = False
    return plain


def _scan_fast(lines: pa.Array, fast: NDArray[np.bool_]) -> Scan:
    """Split the plain lines with Arrow; a line of the wrong shape goes to the slow path
    (``fast`` is updated). Shape: ``key fields[ ts]`` with ``fields`` as ``k=v[,k=v...]``."""
    while True:
        idx = np.flatnonzero(fast)
        parts = pc.split_pattern(lines.filter(pa.array(fast)), b" ")
        count = _np(pc.list_value_length(parts))
        broken = (count < 2) | (count > 3)
        if broken.any():
            fast[idx[broken]] = False
            continue
        keys = pc.list_element(parts, 0)
        field_sets = pc.list_element(parts, 1)
        has_ts = count == 3
        ts = _timestamps(parts, has_ts)
        tokens = pc.split_pattern(field_sets, b",")
        per_line = _np(pc.list_value_length(tokens))
        pairs = pc.split_pattern(tokens.flatten(), b"=")
        owner = np.repeat(np.arange(len(idx)), per_line)
        shaped = _np(pc.list_value_length(pairs)) == 2
        broken = np.zeros(len(idx), dtype=bool)
        broken[owner[~shaped]] = True
        broken |= (_np(pc.binary_length(field_sets)) == 0) | (has_ts & (ts.lengths() == 0))
        if not broken.any():
            fk, values = pc.list_element(pairs, 0), pc.list_element(pairs, 1)
            empty = (_np(pc.binary_length(fk)) == 0) | (_np(pc.binary_length(values)) == 0)
            broken[owner[empty]] = True
        if broken.any():
            fast[idx[broken]] = False
            continue
        return Scan(
            idx + 1,
            Texts.of_arrow(keys),
            ts,
            owner,
            Texts.of_arrow(fk),
            Texts.of_arrow(values),
            lines,
        )


def _np(array: pa.Array) -> I64:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.int64)


def _timestamps(parts: pa.Array, has_ts: NDArray[np.bool_]) -> Texts:
    """The third piece of each line, empty where a line has none."""
    if has_ts.all():
        return Texts.of_arrow(pc.list_element(parts, 2))
    given = Texts.of_arrow(pc.list_element(parts.filter(pa.array(has_ts)), 2))
    lengths = np.zeros(len(has_ts), dtype=np.int64)
    lengths[has_ts] = given.lengths()
    offsets = np.zeros(len(has_ts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Texts(given.data, offsets)


def _skip_blank(line: bytes, i: int) -> int:
    n = len(line)
    while i < n and line[i] in _BLANK:
        i += 1
    return i


def _skip_spaces(line: bytes, i: int) -> int:
    n = len(line)
    while i < n and line[i] == SPACE:
        i += 1
    return i


def _until(line: bytes, i: int, stops: bytes) -> int:
    """The offset of the first unescaped byte of ``stops`` at or after i (or the line's end)."""
    n = len(line)
    while i < n:
        c = line[i]
        if c == BACKSLASH:
            i += 2
            continue
        if c in stops:
            return i
        i += 1
    return n


def _scan_slow_line(line: bytes, number: int, first_point: int, rows: _SlowRows) -> None:
    """Scan one line with escapes and quotes; append its point and values, or a fault."""
    start = _skip_blank(line, 0)
    if start == len(line) or line[start] == HASH:
        return  # blank line or comment
    try:
        fields, key, (ts, _) = _read_line(line, start)
    except _LineError as err:
        rows.faults.append(SyntaxFault(number, err.offset + 1, err.reason))
        return
    point = first_point + len(rows.line)
    rows.line.append(number)
    rows.key.append(key)
    rows.ts.append(ts)
    for fkey, value, _, _ in fields:
        rows.point.append(point)
        rows.field_key.append(fkey)
        rows.value.append(value)


def _read_line(
    line: bytes, start: int
) -> tuple[list[tuple[bytes, bytes, int, int]], bytes, tuple[bytes, int]]:
    n = len(line)
    i = _until(line, start, b" ")
    if i >= n:
        raise _LineError(n, "expected a space and a field set after the measurement and tags")
    key = line[start:i]
    i = _skip_spaces(line, i)
    fields = []
    while True:
        f0 = i
        i = _until(line, i, b"=, ")
        fkey = line[f0:i]
        if i >= n or line[i] != EQUALS:
            raise _LineError(min(i, n), f"expected '=' after field key {_show(fkey)}")
        if not fkey:
            raise _LineError(f0, "a field key is empty")
        i, value = _read_value(line, i + 1, fkey)
        fields.append((fkey, value, f0, i - len(value)))
        if i < n and line[i] == COMMA:
            i += 1
            continue
        break
    i = _skip_spaces(line, i)
    t0 = i
    while i < n and line[i] not in _BLANK:
        i += 1
    ts = line[t0:i]
    i = _skip_blank(line, i)
    if i < n:
        raise _LineError(i, "unexpected text after the timestamp")
    return fields, key, (ts, t0)


def _read_value(line: bytes, v0: int, fkey: bytes) -> tuple[int, bytes]:
    """Read a field value from v0; return the offset after it and the value as sent."""
    n = len(line)
    i = v0
    if i < n and line[i] == QUOTE:
        i = _until(line, i + 1, b'"')
        if i >= n:
            raise _LineError(v0, f"the string value of field {_show(fkey)} has no closing quote")
        i += 1
        if i < n and line[i] not in b", ":
            raise _LineError(i, "expected ',' or a space after a string value")
    else:
        while i < n and line[i] not in b", ":
            i += 1
    if i == v0:
        raise _LineError(v0, f"field {_show(fkey)} has no value")
    return i, line[v0:i]


def _show(raw: bytes) -> str:
    return repr(raw.decode("utf-8", "replace"))
