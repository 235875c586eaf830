"""The Numenta Anomaly Benchmark (NAB v1.1) scoring rules, over columns.

Written from NAB's published rules (Lavin & Ahmad 2015; `nab/sweeper.py` for the details):

* The first 15 % of a file's rows, capped at 750, are probationary and not scored at all: a
  detection there counts for nothing, and a window lying wholly inside it is not scored.
* Each window counts once. Its earliest detection scores A_TP x S(p) / S(-1), where
  p = -(right - i + 1) / width in rows and S(p) = 2 / (1 + e^(5p)) - 1, so a detection on the
  left edge earns exactly A_TP and one on the right edge almost nothing. No detection: -A_FN.
* Each detection outside every window costs A_FP x S(d), d = (i - right of the preceding
  window) / (its width - 1), and S = -1 for d >= 3 or before the first window.

Rows are scored in arrival order, by position, as NAB does: a timestamp that repeats after a
clock step back (machine_temperature row 10,150) is just another row. A window covers the rows
from the first one stamped at or after its start to the last one before the first row, from
there on, stamped after its end; NAB's windows sit on existing timestamps, where this is exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.errors import BadInput

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

PROBATION_FRACTION = 0.15
PROBATION_CAP_ROWS = 750  # NAB: 0.15 x 5000
WHERE = "nab"


@dataclass(frozen=True, slots=True)
class Profile:
    """NAB's weights for a true positive, a missed window and a false positive."""

    name: str
    a_tp: float
    a_fn: float
    a_fp: float


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("standard", 1.0, 1.0, 0.11),
        Profile("reward_low_FP_rate", 1.0, 1.0, 0.22),
        Profile("reward_low_FN_rate", 1.0, 2.0, 0.11),
    )
}


@dataclass(frozen=True, slots=True)
class Window:
    """An anomaly window, UTC epoch ms, inclusive at both ends as in NAB."""

    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class NabScore:
    """One file's NAB score under one profile.

    `windows` counts the scored windows (those with a row after the probationary period);
    `null` and `perfect` are what a detector that never fires and one that fires on every
    window's left edge would score. `normalized` is NaN for a file without scored windows.
    `first_detection_ms` has one entry per window given, in order: the timestamp of the row
    that scored it, or None when missed or not scored.
    """

    profile: str
    raw: float
    null: float
    perfect: float
    normalized: float
    windows: int
    detected_windows: int
    false_positives: int
    first_detection_ms: tuple[int | None, ...]


def probationary_rows(n: int) -> int:
    """Rows at the head of an n-row file that NAB does not score.

    >>> probationary_rows(100), probationary_rows(22_695)
    (15, 750)
    """
    return min(math.floor(PROBATION_FRACTION * n), PROBATION_CAP_ROWS)


def scaled_sigmoid(p: F64) -> F64:
    """NAB's S(p) = 2 sigmoid(-5p) - 1, and -1 from p = 3 on.

    >>> scaled_sigmoid(np.array([-1.0, -0.5, 0.0, 1.0, 3.0])).round(5)
    array([ 0.98661,  0.84828,  0.     , -0.98661, -1.     ])
    """
    clipped = np.minimum(p, 3.0)  # keeps exp() finite; S is -1 there anyway
    return np.where(p >= 3.0, -1.0, 2.0 / (1.0 + np.exp(5.0 * clipped)) - 1.0)


def check_windows(windows: Sequence[Window]) -> None:
    """Raise BadInput unless windows are well formed, sorted by start and disjoint."""
    for k, w in enumerate(windows):
        if w.start_ms > w.end_ms:
            raise BadInput(
                f"window {k} ends ({w.end_ms}) before it starts ({w.start_ms})", where=WHERE
            )
        if k == 0:
            continue
        prev = windows[k - 1]
        if w.start_ms < prev.start_ms:
            raise BadInput(
                f"windows are not sorted by start: window {k} precedes window {k - 1}", where=WHERE
            )
        if w.start_ms <= prev.end_ms:
            raise BadInput(f"window {k} overlaps window {k - 1}", where=WHERE)


def locate_windows(ts_ms: I64, windows: Sequence[Window]) -> I64:
    """The rows [left, right] (inclusive) that each window covers, one pair per window.

    >>> locate_windows(np.arange(10, dtype=np.int64) * 60_000, [Window(120_000, 240_000)])
    array([[2, 4]])
    """
    check_windows(windows)
    rows = np.empty((len(windows), 2), dtype=np.int64)
    for k, w in enumerate(windows):  # one pass per window, a handful per file
        at_or_after = ts_ms >= w.start_ms
        if not at_or_after.any():
            raise BadInput(f"window {k} starts after the last row", where=WHERE)
        left = int(np.argmax(at_or_after))
        past = ts_ms[left:] > w.end_ms
        right = left + int(np.argmax(past)) - 1 if past.any() else len(ts_ms) - 1
        if right < left:
            raise BadInput(f"window {k} holds no row of the series", where=WHERE)
        if k and left <= rows[k - 1, 1]:
            raise BadInput(f"window {k} shares rows with window {k - 1}", where=WHERE)
        rows[k] = left, right
    return rows


def _check_columns(ts_ms: I64, other: NDArray[np.generic], name: str) -> None:
    if ts_ms.ndim != 1 or other.ndim != 1:
        raise BadInput(f"ts_ms and {name} must be 1-D columns", where=WHERE)
    if len(ts_ms) != len(other):
        raise BadInput(f"ts_ms has {len(ts_ms)} rows but {name} has {len(other)}", where=WHERE)
    if len(ts_ms) == 0:
        raise BadInput("the series has no rows", where=WHERE)
    if not np.issubdtype(ts_ms.dtype, np.integer):
        raise BadInput(f"ts_ms must be integer epoch ms, not {ts_ms.dtype}", where=WHERE)


def score_detections(
    ts_ms: I64, detected: NDArray[np.bool_], windows: Sequence[Window], profile: Profile
) -> NabScore:
    """Score a boolean detection column against the windows, as NAB does for one file.

    >>> ts = np.arange(20, dtype=np.int64) * 60_000
    >>> hit = np.zeros(20, dtype=bool); hit[10] = True
    >>> s = score_detections(ts, hit, [Window(600_000, 840_000)], PROFILES["standard"])
    >>> s.raw, s.null, s.perfect, s.normalized
    (1.0, -1.0, 1.0, 100.0)
    """
    ts_ms = np.asarray(ts_ms)
    detected = np.asarray(detected)
    _check_columns(ts_ms, detected, "detected")
    if detected.dtype != np.bool_:
        raise BadInput(f"detected must be booleans, not {detected.dtype}", where=WHERE)
    n = len(ts_ms)
    rows = locate_windows(ts_ms, windows)
    fired = detected & (np.arange(n) >= probationary_rows(n))
    tp_raw, counted, first = _score_windows(ts_ms, fired, rows, profile)
    fp_rows, fp_raw = _score_false_positives(fired, rows, profile)
    raw = tp_raw + fp_raw
    null, perfect = -profile.a_fn * counted, profile.a_tp * counted
    normalized = 100.0 * (raw - null) / (perfect - null) if counted else math.nan
    return NabScore(
        profile=profile.name,
        raw=raw,
        null=null,
        perfect=perfect,
        normalized=normalized,
        windows=counted,
        detected_windows=sum(t is not None for t in first),
        false_positives=len(fp_rows),
        first_detection_ms=tuple(first),
    )


def _score_windows(
    ts_ms: I64, fired: NDArray[np.bool_], rows: I64, profile: Profile
) -> tuple[float, int, list[int | None]]:
    """Sum over scored windows of the earliest detection's reward or -A_FN; count; first ts."""
    n_prob = probationary_rows(len(ts_ms))
    max_tp = float(scaled_sigmoid(np.array([-1.0]))[0])
    raw, counted, first = 0.0, 0, list[int | None]()
    for left, right in rows.tolist():  # one step per window, a handful per file
        hit = np.flatnonzero(fired[left : right + 1])
        if right < n_prob or len(hit) == 0:
            first.append(None)
        if right < n_prob:  # wholly probationary: not scored at all
            continue
        counted += 1
        if len(hit) == 0:
            raw -= profile.a_fn
            continue
        i = left + int(hit[0])
        p = -(right - i + 1) / (right - left + 1)
        raw += profile.a_tp * float(scaled_sigmoid(np.array([p]))[0]) / max_tp
        first.append(int(ts_ms[i]))
    return raw, counted, first


def _score_false_positives(
    fired: NDArray[np.bool_], rows: I64, profile: Profile
) -> tuple[I64, float]:
    """Rows of detections outside every window, and their summed (negative) score."""
    n = len(fired)
    edges = np.zeros(n + 1, dtype=np.int64)  # +1 at a left edge, -1 past a right edge
    np.add.at(edges, rows[:, 0], 1)
    np.add.at(edges, rows[:, 1] + 1, -1)
    fp_rows = np.flatnonzero(fired & (np.cumsum(edges[:n]) == 0))
    d = np.full(len(fp_rows), 3.0)  # before the first window: the full -A_FP
    if len(rows):
        prev = np.searchsorted(rows[:, 1], fp_rows, side="right") - 1
        after = prev >= 0
        right, left = rows[prev[after], 1], rows[prev[after], 0]
        # NAB divides by width - 1, which is 0 for a one-row window; one row is then the unit.
        d[after] = (fp_rows[after] - right) / np.maximum(right - left, 1)
    return fp_rows, profile.a_fp * float(scaled_sigmoid(d).sum())


def score_scores(
    ts_ms: I64, scores: F64, windows: Sequence[Window], profile: Profile, threshold: float
) -> NabScore:
    """Score an anomaly-score column: a row is a detection when its score >= threshold (NAB).

    >>> ts = np.arange(20, dtype=np.int64) * 60_000
    >>> s = score_scores(ts, np.zeros(20), [Window(600_000, 840_000)], PROFILES["standard"], 0.5)
    >>> s.raw, s.normalized
    (-1.0, 0.0)
    """
    ts_ms, scores = np.asarray(ts_ms), np.asarray(scores, dtype=np.float64)
    _check_columns(ts_ms, scores, "scores")
    if not math.isfinite(threshold):
        raise BadInput(f"threshold must be a finite number, not {threshold}", where=WHERE)
    bad = np.flatnonzero(~np.isfinite(scores))
    if len(bad):
        raise BadInput(f"score at row {int(bad[0])} is {scores[bad[0]]}, not a number", where=WHERE)
    return score_detections(ts_ms, scores >= threshold, windows, profile)


def corpus_normalized(scores: Sequence[NabScore]) -> float:
    """NAB's corpus score: 100 (sum raw - sum null) / (sum perfect - sum null), one profile.

    >>> a = NabScore("standard", 0.5, -2.0, 2.0, 62.5, 2, 1, 0, (None, 1))
    >>> b = NabScore("standard", -0.22, 0.0, 0.0, math.nan, 0, 0, 2, ())
    >>> round(corpus_normalized([a, b]), 2)
    57.0
    """
    if not scores:
        raise BadInput("no file scores to add up", where=WHERE)
    profiles = sorted({s.profile for s in scores})
    if len(profiles) > 1:
        raise BadInput(f"file scores mix profiles {profiles}", where=WHERE)
    raw = math.fsum(s.raw for s in scores)
    null = math.fsum(s.null for s in scores)
    perfect = math.fsum(s.perfect for s in scores)
    if perfect == null:
        raise BadInput(
            "no file has a scored window, so the corpus cannot be normalised", where=WHERE
        )
    return 100.0 * (raw - null) / (perfect - null)
