"""Convert line-protocol field values and timestamps, as sent, into numbers in bulk.

Field values (InfluxDB's types, stored as float64 by Kiln):

* float ``1``, ``-1.5``, ``1e-3``, ``2.5E+06`` (decimal digits, one point, an exponent);
* integer ``12i``, unsigned ``12u`` (exact up to 2**53 once stored as float64);
* boolean ``t T true True TRUE`` -> 1.0 and ``f F false False FALSE`` -> 0.0;
* string ``"..."``: refused, Kiln stores numbers only. NaN and infinities are refused too.

Numbers are parsed by Arrow's casts over packed buffers; a byte-class check first keeps out
what those casts would accept but line protocol does not (``nan``, ``0x10``, spaces).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from kiln.ingest.line_protocol_scan import I64, Texts

F64 = NDArray[np.float64]

# Timestamp precision -> (multiply, divide) to reach epoch milliseconds.
PRECISIONS: dict[str, tuple[int, int]] = {
    "ns": (1, 1_000_000),
    "n": (1, 1_000_000),
    "us": (1, 1_000),
    "u": (1, 1_000),
    "ms": (1, 1),
    "s": (1_000, 1),
    "m": (60_000, 1),
    "h": (3_600_000, 1),
}
V2_PRECISIONS = ("ns", "us", "ms", "s")

_TRUE = (b"t", b"T", b"true", b"True", b"TRUE")
_FALSE = (b"f", b"F", b"false", b"False", b"FALSE")
_MAX_I64 = np.iinfo(np.int64).max


def _table(allowed: bytes) -> NDArray[np.bool_]:
    """A 256-entry table that is True for bytes outside ``allowed``."""
    t = np.ones(256, dtype=bool)
    t[np.frombuffer(allowed, dtype=np.uint8)] = False
    return t


_NOT_FLOAT = _table(b"0123456789.eE+-")
_NOT_INT = _table(b"0123456789-")
_NOT_DIGIT = _table(b"0123456789")


def _arrow(texts: Texts) -> pa.Array:
    return pa.Array.from_buffers(
        pa.large_binary(),
        len(texts),
        [None, pa.py_buffer(texts.offsets), pa.py_buffer(texts.data)],
    )


def _outside(texts: Texts, table: NDArray[np.bool_]) -> I64:
    """Per string, how many of its bytes the table flags."""
    flagged = table[texts.data]
    if not len(texts) or not flagged.any():
        return np.zeros(len(texts), dtype=np.int64)
    return np.add.reduceat(flagged.astype(np.int64), texts.offsets[:-1])


def _cast(texts: Texts, to: pa.DataType) -> tuple[NDArray[np.generic], NDArray[np.bool_]]:
    """Cast packed strings to a number type; return the numbers and a per-string failure."""
    try:
        out = pc.cast(_arrow(texts), to).to_numpy(zero_copy_only=False)
        return out, np.zeros(len(texts), dtype=bool)
    except pa.ArrowInvalid:
        pass
    # Some string failed: find which, in chunks, then one by one (only bodies with errors).
    values = np.zeros(len(texts), dtype=to.to_pandas_dtype())
    failed = np.zeros(len(texts), dtype=bool)
    step = 512
    for lo in range(0, len(texts), step):
        part = np.arange(lo, min(lo + step, len(texts)), dtype=np.int64)
        try:
            values[part] = pc.cast(_arrow(texts.take(part)), to).to_numpy(zero_copy_only=False)
            continue
        except pa.ArrowInvalid:
            pass
        for i in part.tolist():
            try:
                values[i] = pc.cast(pa.array([texts.item(i)], pa.binary()), to)[0].as_py()
            except pa.ArrowInvalid:
                failed[i] = True
    return values, failed


def to_values(texts: Texts) -> tuple[F64, NDArray[np.bool_]]:
    """Convert field values; return float64 values and which were refused (see `why_value`).

    >>> v, bad = to_values(Texts.of([b"1.5", b"-2i", b"7u", b"true", b"F", b'"x"', b"nan"]))
    >>> v[:5].tolist(), bad.tolist()
    ([1.5, -2.0, 7.0, 1.0, 0.0], [False, False, False, False, False, True, True])
    """
    n = len(texts)
    values = np.zeros(n, dtype=np.float64)
    bad = np.zeros(n, dtype=bool)
    if n == 0:
        return values, bad
    data, starts, ends = texts.data, texts.offsets[:-1], texts.offsets[1:]
    first, last = data[starts], data[ends - 1]
    is_str = first == ord('"')
    is_bool = np.isin(first, np.frombuffer(b"tTfF", dtype=np.uint8))
    is_int = ~is_bool & ~is_str & (last == ord("i"))
    is_uint = ~is_bool & ~is_str & (last == ord("u"))
    is_float = ~(is_str | is_bool | is_int | is_uint)
    if is_float.all():
        got, failed = _cast(texts, pa.float64())
        values = got.astype(np.float64, copy=False)
        bad = failed | (_outside(texts, _NOT_FLOAT) > 0)
    else:
        bad |= is_str
        _convert(texts, np.flatnonzero(is_float), _NOT_FLOAT, 0, pa.float64(), values, bad)
        _convert(texts, np.flatnonzero(is_int), _NOT_INT, 1, pa.int64(), values, bad)
        _convert(texts, np.flatnonzero(is_uint), _NOT_DIGIT, 1, pa.uint64(), values, bad)
        _booleans(texts, np.flatnonzero(is_bool), values, bad)
    bad |= ~np.isfinite(values)
    return values, bad


def _convert(
    texts: Texts,
    which: I64,
    outside: NDArray[np.bool_],
    suffix: int,
    to: pa.DataType,
    values: F64,
    bad: NDArray[np.bool_],
) -> None:
    if not len(which):
        return
    starts, ends = texts.offsets[:-1][which], texts.offsets[1:][which] - suffix
    part = Texts.gather(texts.data, starts, ends)
    got, failed = _cast(part, to)
    values[which] = got
    bad[which] = failed | (_outside(part, outside) > 0) | (ends <= starts)


def _booleans(texts: Texts, which: I64, values: F64, bad: NDArray[np.bool_]) -> None:
    if not len(which):
        return
    arrow = _arrow(texts.take(which))
    true = pc.is_in(arrow, value_set=pa.array(_TRUE, pa.large_binary())).to_numpy(
        zero_copy_only=False
    )
    false = pc.is_in(arrow, value_set=pa.array(_FALSE, pa.large_binary())).to_numpy(
        zero_copy_only=False
    )
    values[which] = true.astype(np.float64)
    bad[which] = ~(true | false)


def why_value(raw: bytes) -> str:
    """Why a field value was refused.

    >>> why_value(b'"on"')
    'a string value; Kiln stores numbers only (float, 12i, 12u, true/false)'
    """
    if raw.startswith(b'"'):
        return "a string value; Kiln stores numbers only (float, 12i, 12u, true/false)"
    text = raw.decode("utf-8", "replace")[:40]
    if raw.lower() in (b"nan", b"inf", b"+inf", b"-inf"):
        return f"{text!r} is not a finite number"
    return f"{text!r} is not a number (float, 12i, 12u or true/false)"


def why_timestamp(raw: bytes) -> str:
    """Why a timestamp was refused."""
    text = raw.decode("utf-8", "replace")[:40]
    return f"timestamp {text!r} is not an integer in the request's precision"


def to_epoch_ms(texts: Texts, precision: str, now_ms: int) -> tuple[I64, NDArray[np.bool_]]:
    """Convert timestamps at a precision to epoch ms (an empty one is now); and which are bad.

    >>> ms, bad = to_epoch_ms(Texts.of([b"1764000000123456789", b"", b"x"]), "ns", 5)
    >>> ms.tolist(), bad.tolist()
    ([1764000000123, 5, 0], [False, False, True])
    >>> to_epoch_ms(Texts.of([b"1764000000"]), "s", 0)[0].tolist()
    [1764000000000]
    """
    mul, div = PRECISIONS[precision]
    n = len(texts)
    lengths = texts.lengths()
    given = lengths > 0
    raw = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    which = np.flatnonzero(given)
    if len(which):
        part = texts.take(which) if len(which) < n else texts
        got, failed = _cast(part, pa.int64())
        minus_late = _outside(part, _NOT_DIGIT) - (part.data[part.offsets[:-1]] == ord("-"))
        failed |= minus_late > 0
        raw[which] = np.where(failed, 0, got)
        bad[which] = failed
    if mul > 1:
        over = np.abs(raw) > _MAX_I64 // mul
        bad |= over
        ms = np.where(over, 0, raw) * mul
    else:
        ms = np.floor_divide(raw, div)
    return np.where(given, ms, now_ms).astype(np.int64), bad
