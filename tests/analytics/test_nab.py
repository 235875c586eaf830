"""NAB scoring: known answers worked by hand, NAB's own per-file rows, properties, bad input."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.analytics.nab import (
    PROFILES,
    NabScore,
    Window,
    corpus_normalized,
    locate_windows,
    probationary_rows,
    score_detections,
    score_scores,
)
from kiln.errors import BadInput

NAB = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nab"
MIN = 60_000
STD, LOW_FP, LOW_FN = (
    PROFILES[k] for k in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
)


def minutes(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) * MIN


def fire(n: int, *rows: int) -> np.ndarray:
    hit = np.zeros(n, dtype=bool)
    hit[list(rows)] = True
    return hit


def s(p: float) -> float:
    """NAB's scaled sigmoid, written out again for the expected values."""
    return 2 / (1 + math.exp(5 * p)) - 1


# 20 rows one minute apart; probationary rows 0-2 (floor(0.15 x 20) = 3); one window on rows
# 10-14 (width 5), i.e. 10:00 to 14:00 minutes.
N20 = 20
W20 = [Window(10 * MIN, 14 * MIN)]


def test_profiles_carry_nabs_weights() -> None:
    assert (STD.a_tp, STD.a_fn, STD.a_fp) == (1.0, 1.0, 0.11)
    assert (LOW_FP.a_tp, LOW_FP.a_fn, LOW_FP.a_fp) == (1.0, 1.0, 0.22)
    assert (LOW_FN.a_tp, LOW_FN.a_fn, LOW_FN.a_fp) == (1.0, 2.0, 0.11)


def test_probation_is_15_percent_capped_at_750_rows() -> None:
    assert [probationary_rows(n) for n in (20, 100, 5_000, 5_001, 22_695)] == [3, 15, 750, 750, 750]


def test_a_worked_file_under_all_three_profiles() -> None:
    """Detections at rows 1, 5, 12, 13 and 17.

    Row 1 is probationary: nothing. Row 5 comes before any window: the full -A_FP.
    Row 12 is the earliest in the window: p = -(14 - 12 + 1) / 5 = -0.6,
    S(-0.6) = 2 / (1 + e^-3) - 1 = 0.905148; S(-1) = 0.986614; reward 0.917429 x A_TP.
    Row 13 comes later in the same window: nothing.
    Row 17 is 3 rows past the window's right edge: d = 3 / (5 - 1) = 0.75,
    S(0.75) = 2 / (1 + e^3.75) - 1 = -0.954045; cost 0.954045 x A_FP.
    standard: 0.917429 - 0.11 - 0.104945 = 0.702484; null -1, perfect 1 -> 85.124.
    reward_low_FP_rate: 0.917429 - 0.22 - 0.209890 = 0.487539 -> 74.377.
    reward_low_FN_rate: raw as standard; null -2, perfect 1 -> 100 x 2.702484 / 3 = 90.083.
    """
    hit = fire(N20, 1, 5, 12, 13, 17)
    std = score_detections(minutes(N20), hit, W20, STD)
    assert std.raw == pytest.approx(0.702484, abs=1e-6)
    assert std.raw == pytest.approx(s(-0.6) / s(-1) - 0.11 + 0.11 * s(0.75))
    assert (std.null, std.perfect) == (-1.0, 1.0)
    assert std.normalized == pytest.approx(85.124, abs=1e-3)
    assert (std.windows, std.detected_windows, std.false_positives) == (1, 1, 2)
    assert std.first_detection_ms == (12 * MIN,)

    low_fp = score_detections(minutes(N20), hit, W20, LOW_FP)
    assert low_fp.raw == pytest.approx(0.487539, abs=1e-6)
    assert low_fp.normalized == pytest.approx(74.377, abs=1e-3)

    low_fn = score_detections(minutes(N20), hit, W20, LOW_FN)
    assert (low_fn.raw, low_fn.null, low_fn.perfect) == (
        pytest.approx(0.702484, abs=1e-6),
        -2.0,
        1.0,
    )
    assert low_fn.normalized == pytest.approx(90.083, abs=1e-3)
    assert low_fn.profile == "reward_low_FN_rate"


@pytest.mark.parametrize("profile", [STD, LOW_FP, LOW_FN], ids=lambda p: p.name)
def test_null_and_perfect_detectors_score_0_and_100(profile) -> None:
    null = score_detections(minutes(N20), fire(N20), W20, profile)
    assert null.raw == -profile.a_fn
    assert null.normalized == 0.0
    assert null.first_detection_ms == (None,)
    perfect = score_detections(minutes(N20), fire(N20, 10), W20, profile)
    assert perfect.raw == pytest.approx(profile.a_tp)
    assert perfect.normalized == pytest.approx(100.0)


def test_detection_on_the_left_edge_earns_exactly_a_tp() -> None:
    """p = -(14 - 10 + 1) / 5 = -1, so S(p) / S(-1) = 1."""
    assert score_detections(minutes(N20), fire(N20, 10), W20, STD).raw == 1.0


def test_detection_on_the_right_edge_earns_little() -> None:
    """p = -(14 - 14 + 1) / 5 = -0.2: S(-0.2) = 2 / (1 + e^-1) - 1 = 0.462117 -> 0.468387."""
    got = score_detections(minutes(N20), fire(N20, 14), W20, STD)
    assert got.raw == pytest.approx(0.468387, abs=1e-6)
    assert got.first_detection_ms == (14 * MIN,)


def test_detection_one_row_past_the_right_edge_is_a_small_false_positive() -> None:
    """d = 1 / 4: S(0.25) = 2 / (1 + e^1.25) - 1 = -0.554600; -1 - 0.11 x 0.554600 = -1.061006."""
    got = score_detections(minutes(N20), fire(N20, 15), W20, STD)
    assert got.raw == pytest.approx(-1.061006, abs=1e-6)
    assert (got.detected_windows, got.false_positives) == (0, 1)


def test_detection_one_row_before_the_first_window_costs_the_full_a_fp() -> None:
    assert score_detections(minutes(N20), fire(N20, 9), W20, STD).raw == pytest.approx(-1.11)


def test_false_positives_three_widths_on_cost_the_full_a_fp() -> None:
    """Window rows 10-14 in 40 rows; row 26: d = 12 / 4 = 3 -> S = -1; row 25: d = 2.75 ->
    S(2.75) = 2 / (1 + e^13.75) - 1 = -0.9999979."""
    assert score_detections(minutes(40), fire(40, 26), W20, STD).raw == pytest.approx(-1.11)
    got = score_detections(minutes(40), fire(40, 25), W20, STD).raw
    assert got == pytest.approx(-1 - 0.11 * 0.9999979, abs=1e-7)


def test_every_false_positive_counts_but_a_window_only_once() -> None:
    """Two windows (rows 10-14, 20-24 of 40). Hits at 10, 11, 12 count once: +1.
    Rows 30 and 31 are 6 and 7 rows past row 24: d = 1.5 and 1.75, S = -0.998894, -0.999683."""
    windows = [*W20, Window(20 * MIN, 24 * MIN)]
    got = score_detections(minutes(40), fire(40, 10, 11, 12, 30, 31), windows, STD)
    assert got.raw == pytest.approx(1 - 1 - 0.11 * (0.998894 + 0.999683), abs=1e-6)
    assert (got.windows, got.detected_windows, got.false_positives) == (2, 1, 2)
    assert got.first_detection_ms == (10 * MIN, None)


def test_the_probationary_period_is_not_scored() -> None:
    """100 rows, 15 probationary. A window on rows 5-9 is not scored, nor is the hit on row 7;
    the hit on row 30 is 21 rows past it (d = 21 / 4 >= 3): -0.11. A window on rows 10-19
    straddles the edge: the hit on row 12 is ignored, the one on row 16 scores
    p = -(19 - 16 + 1) / 10 = -0.4, S(-0.4) = 0.761594 -> 0.771927."""
    inside = score_detections(minutes(100), fire(100, 7, 30), [Window(5 * MIN, 9 * MIN)], STD)
    assert (inside.windows, inside.raw, inside.null, inside.perfect) == (0, -0.11, 0.0, 0.0)
    assert math.isnan(inside.normalized)
    assert inside.first_detection_ms == (None,)

    straddle = score_detections(minutes(100), fire(100, 12, 16), [Window(10 * MIN, 19 * MIN)], STD)
    assert straddle.raw == pytest.approx(0.771927, abs=1e-6)
    assert straddle.false_positives == 0
    assert straddle.first_detection_ms == (16 * MIN,)


def test_a_clock_step_back_is_scored_by_row_order() -> None:
    """Rows 0-9 stamped 0-9 min, rows 10-14 stamped 5-9 min again, rows 15-24 stamped 10-19.
    The window 5-7 min covers rows 5-7 (the first rows so stamped). Row 11, stamped 6 min
    again, is a false positive 4 rows past it: d = 4 / 2 = 2, S(2) = -0.999909."""
    ts = np.concatenate([np.arange(10), np.arange(5, 10), np.arange(10, 20)]).astype(np.int64) * MIN
    windows = [Window(5 * MIN, 7 * MIN)]
    assert locate_windows(ts, windows).tolist() == [[5, 7]]
    got = score_detections(ts, fire(25, 11), windows, STD)
    assert got.raw == pytest.approx(-1 - 0.11 * 0.999909, abs=1e-6)
    assert got.false_positives == 1


def test_windows_between_samples_take_the_rows_inside_them() -> None:
    """Rows every minute; a window from 9.5 to 12.5 min covers rows 10-12."""
    assert locate_windows(minutes(N20), [Window(9 * MIN + 30_000, 12 * MIN + 30_000)]).tolist() == [
        [10, 12]
    ]


def test_scores_at_the_threshold_are_detections() -> None:
    scores = np.zeros(N20)
    scores[10] = 0.5
    assert score_scores(minutes(N20), scores, W20, STD, 0.5).raw == 1.0
    assert score_scores(minutes(N20), scores, W20, STD, 0.51).raw == -1.0


def test_corpus_normalises_the_sum_not_the_mean() -> None:
    """File a: raw 1 of [-1, 1]; file b (no windows): two far false positives, -0.22.
    100 x (0.78 + 1) / (1 + 1) = 89."""
    a = score_detections(minutes(N20), fire(N20, 10), W20, STD)
    b = score_detections(minutes(N20), fire(N20, 5, 6), [], STD)
    assert b.raw == pytest.approx(-0.22)
    assert corpus_normalized([a, b]) == pytest.approx(89.0)


# ---- NAB's own published rows for the development files ----


def reference_rows(detector: str) -> list[dict[str, str]]:
    path = NAB / "reference_scores_dev.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with path.open(newline="") as f:
        return [r for r in csv.DictReader(f) if r["Detector"] == detector]


def test_matches_nabs_null_detector_rows_on_the_real_files() -> None:
    from kiln.cli.nab_files import read_series, read_windows

    rows = reference_rows("null")
    assert len(rows) == 6  # two files x three profiles
    for row in rows:
        ts, _ = read_series(NAB / Path(row["File"]).name)
        windows = read_windows(NAB / "combined_windows.json", row["File"])
        got = score_detections(ts, np.zeros(len(ts), dtype=bool), windows, PROFILES[row["Profile"]])
        assert got.raw == float(row["Score"]), row
        assert got.windows == int(row["Windows"])
        # NAB's FN and TN count the scored rows inside and outside the windows.
        spans = locate_windows(ts, windows)
        start = probationary_rows(len(ts))
        in_windows = int(sum(r - max(left, start) + 1 for left, r in spans))
        assert in_windows == int(row["FN"])
        assert len(ts) - start - in_windows == int(row["TN"])


def test_a_detector_on_every_left_edge_scores_perfect_on_the_real_files() -> None:
    from kiln.cli.nab_files import read_series, read_windows

    for row in reference_rows("null"):
        ts, _ = read_series(NAB / Path(row["File"]).name)
        windows = read_windows(NAB / "combined_windows.json", row["File"])
        hit = np.zeros(len(ts), dtype=bool)
        hit[locate_windows(ts, windows)[:, 0]] = True
        got = score_detections(ts, hit, windows, PROFILES[row["Profile"]])
        assert got.raw == pytest.approx(got.perfect) == float(row["Windows"])
        assert got.normalized == pytest.approx(100.0)


# ---- properties ----


@st.composite
def files(draw: st.DrawFn) -> tuple[np.ndarray, list[Window], np.ndarray]:
    """A strictly increasing series, disjoint windows starting after probation, a detection mask."""
    n = draw(st.integers(20, 300))
    steps = draw(st.lists(st.integers(1, 10), min_size=n, max_size=n))
    ts = np.cumsum(np.array(steps, dtype=np.int64)) * 1_000
    edges = sorted(draw(st.sets(st.integers(probationary_rows(n), n - 1), max_size=8)))
    pairs = list(zip(edges[::2], edges[1::2], strict=False))
    windows = [Window(int(ts[a]), int(ts[b])) for a, b in pairs]
    hit = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    return ts, windows, hit


@settings(max_examples=200, deadline=None)
@given(files(), st.sampled_from(sorted(PROFILES)))
def test_firing_on_each_window_start_scores_perfect(file, profile_name) -> None:
    ts, windows, _ = file
    profile = PROFILES[profile_name]
    hit = np.isin(ts, [w.start_ms for w in windows])
    got = score_detections(ts, hit, windows, profile)
    assert got.raw == pytest.approx(got.perfect, abs=1e-9)
    assert got.false_positives == 0
    assert got.detected_windows == got.windows == len(windows)


@settings(max_examples=200, deadline=None)
@given(files(), st.sampled_from(sorted(PROFILES)), st.integers(0, 10_000))
def test_a_detection_outside_windows_never_raises_the_score(file, profile_name, pick) -> None:
    ts, windows, hit = file
    profile = PROFILES[profile_name]
    spans = locate_windows(ts, windows)
    outside = np.ones(len(ts), dtype=bool)
    for left, right in spans:
        outside[left : right + 1] = False
    free = np.flatnonzero(outside & ~hit)
    if len(free) == 0:
        return
    more = hit.copy()
    more[free[pick % len(free)]] = True
    before = score_detections(ts, hit, windows, profile)
    after = score_detections(ts, more, windows, profile)
    assert after.raw <= before.raw
    assert after.raw <= after.perfect + 1e-9


# ---- bad input ----


def test_unsorted_windows_are_refused() -> None:
    with pytest.raises(BadInput, match="not sorted by start: window 1 precedes window 0"):
        score_detections(
            minutes(N20), fire(N20), [Window(10 * MIN, 11 * MIN), Window(MIN, 2 * MIN)], STD
        )


def test_overlapping_windows_are_refused() -> None:
    with pytest.raises(BadInput, match="window 1 overlaps window 0"):
        score_detections(
            minutes(N20), fire(N20), [Window(5 * MIN, 10 * MIN), Window(10 * MIN, 12 * MIN)], STD
        )


def test_a_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(BadInput, match="window 0 ends"):
        score_detections(minutes(N20), fire(N20), [Window(5 * MIN, 4 * MIN)], STD)


def test_windows_outside_the_series_are_refused() -> None:
    with pytest.raises(BadInput, match="window 0 starts after the last row"):
        score_detections(minutes(N20), fire(N20), [Window(30 * MIN, 31 * MIN)], STD)
    with pytest.raises(BadInput, match="window 0 holds no row"):
        score_detections(minutes(N20), fire(N20), [Window(5 * MIN + 1, 5 * MIN + 2)], STD)


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(BadInput, match="ts_ms has 20 rows but detected has 19"):
        score_detections(minutes(N20), fire(19), W20, STD)
    with pytest.raises(BadInput, match="ts_ms has 20 rows but scores has 3"):
        score_scores(minutes(N20), np.zeros(3), W20, STD, 0.5)


def test_wrong_column_types_are_refused() -> None:
    with pytest.raises(BadInput, match="detected must be booleans"):
        score_detections(minutes(N20), np.zeros(N20), W20, STD)
    with pytest.raises(BadInput, match="ts_ms must be integer epoch ms"):
        score_detections(minutes(N20).astype(float), fire(N20), W20, STD)
    with pytest.raises(BadInput, match="no rows"):
        score_detections(minutes(0), fire(0), [], STD)


def test_a_nan_score_is_refused_with_its_row() -> None:
    scores = np.zeros(N20)
    scores[7] = np.nan
    with pytest.raises(BadInput, match="score at row 7 is nan"):
        score_scores(minutes(N20), scores, W20, STD, 0.5)
    with pytest.raises(BadInput, match="threshold"):
        score_scores(minutes(N20), np.zeros(N20), W20, STD, math.nan)


def test_corpus_of_mixed_profiles_or_no_windows_is_refused() -> None:
    a = score_detections(minutes(N20), fire(N20), W20, STD)
    b = score_detections(minutes(N20), fire(N20), W20, LOW_FN)
    with pytest.raises(BadInput, match="mix profiles"):
        corpus_normalized([a, b])
    with pytest.raises(BadInput, match="no file scores"):
        corpus_normalized([])
    empty = NabScore("standard", 0.0, 0.0, 0.0, math.nan, 0, 0, 0, ())
    with pytest.raises(BadInput, match="cannot be normalised"):
        corpus_normalized([empty])
