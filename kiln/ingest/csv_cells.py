"""Convert CSV cells (Arrow string columns) into epoch milliseconds and float64, in bulk.

Each converter returns the numbers, a per-row failure mask and a function that says why a row
failed, so the caller can name the line and column of a bad cell without a per-row loop on
the good path.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

Bools = NDArray[np.bool_]
EPOCH_MS_FROM = 100_000_000_000  # epoch numbers at or above this are ms, below it seconds
_NUMBER = r"^-?\d+(\.\d+)?$"
_ZONED = r"\d\d:\d\d(:\d\d(\.\d+)?)?\s*(Z|z|[+-]\d\d(:?\d\d)?)$"


def _np(array: pa.Array | pa.ChunkedArray) -> NDArray[np.generic]:
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _cast(
    cells: pa.Array, convert: Callable[[pa.Array], pa.Array]
) -> tuple[NDArray[np.generic], Bools]:
    """Convert all cells at once; when that fails, find the failing ones (rare: bad files)."""
    try:
        return _np(convert(cells)), np.zeros(len(cells), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out: list[object] = []
    bad = np.zeros(len(cells), dtype=bool)
    for i in range(len(cells)):
        try:
            out.append(_np(convert(cells.slice(i, 1)))[0])
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            out.append(0)
            bad[i] = True
    return np.array(out), bad


def to_epoch_ms(
    cells: pa.Array, timezone: str
) -> tuple[NDArray[np.int64], Bools, Callable[[int], str]]:
    """Times as UTC epoch ms: ISO 8601 (naive ones in ``timezone``) or epoch s / ms.

    >>> t = pa.array(["2025-11-24T16:00:00+08:00", "2025-11-24 16:00:00", "1764000000", None, "x"])
    >>> ms, bad, why = to_epoch_ms(t, "Asia/Shanghai")
    >>> ms[:3].tolist(), bad.tolist()
    ([1763971200000, 1763971200000, 1764000000000], [False, False, False, True, True])
    >>> why(3), why(4)[:23]
    ('the time is empty', "cannot read time 'x': u")
    """
    n = len(cells)
    text = cells.fill_null("")
    present = ~_np(cells.is_null()).astype(bool)
    numeric = _np(pc.match_substring_regex(text, _NUMBER)).astype(bool)
    zoned = _np(pc.match_substring_regex(text, _ZONED)).astype(bool) & ~numeric
    naive = present & ~numeric & ~zoned
    ms = np.zeros(n, dtype=np.int64)
    bad = ~present
    for rows, convert in (
        (numeric, _from_number),
        (zoned, lambda a: pc.cast(a, pa.timestamp("us", "UTC")).cast(pa.int64())),
        (naive, lambda a: _from_local(a, timezone)),
    ):
        which = np.flatnonzero(rows)
        if not len(which):
            continue
        got, failed = _cast(text.take(pa.array(which)), convert)
        us_or_ms = got.astype(np.float64) if convert is _from_number else got.astype(np.int64)
        ms[which] = (
            np.round(us_or_ms).astype(np.int64) if convert is _from_number else us_or_ms // 1000
        )
        bad[which] |= failed

    def why(r: int) -> str:
        if not present[r]:
            return "the time is empty"
        raw = text[r].as_py()
        return f"cannot read time {raw[:40]!r}: use ISO 8601 or epoch seconds or milliseconds"

    return ms, bad, why


def _from_number(cells: pa.Array) -> pa.Array:
    """Epoch seconds or milliseconds (by size) as float ms."""
    x = pc.cast(cells, pa.float64())
    return pc.if_else(pc.greater_equal(pc.abs(x), EPOCH_MS_FROM), x, pc.multiply(x, 1000.0))


def _from_local(cells: pa.Array, timezone: str) -> pa.Array:
    """Wall-clock times of a zone as UTC microseconds (a time a DST change skips or repeats
    fails, so it is named rather than guessed)."""
    local = pc.cast(cells, pa.timestamp("us"))
    return pc.assume_timezone(local, timezone).cast(pa.int64())


def to_floats(cells: pa.Array) -> tuple[NDArray[np.float64], Bools, Bools, Callable[[int], str]]:
    """Values as float64; which cells hold one, which are bad (not a finite number), and why.

    >>> v, present, bad, why = to_floats(pa.array(["1.5", None, "x", "nan"]))
    >>> float(v[0]), present.tolist(), bad.tolist(), why(2)
    (1.5, [True, False, True, True], [False, False, True, True], "'x' is not a number")
    """
    present = ~_np(cells.is_null()).astype(bool)
    values = np.zeros(len(cells), dtype=np.float64)
    bad = np.zeros(len(cells), dtype=bool)
    which = np.flatnonzero(present)
    if len(which):
        got, failed = _cast(
            cells.take(pa.array(which)), lambda a: pc.cast(pc.utf8_trim_whitespace(a), pa.float64())
        )
        values[which] = got.astype(np.float64)
        bad[which] = failed | ~np.isfinite(values[which])

    def why(r: int) -> str:
        raw = cells[r].as_py()
        return (
            f"{raw[:40]!r} is not a finite number"
            if raw.strip().lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity")
            else f"{raw[:40]!r} is not a number"
        )

    return values, present, bad, why
