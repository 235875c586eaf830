"""The detectors: learning online per series, in order, with no look-ahead."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.analytics.detectors.base import run_in_order
from kiln.analytics.detectors.envelope import LearnedEnvelope
from kiln.analytics.detectors.resample import BucketMeans
from kiln.analytics.detectors.robust_level import RobustLevel
from kiln.analytics.monitor import AnomalyMonitor, MonitorSettings
from kiln.domain.batches import PointBatch
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput

MIN_MS = 60_000


def _raises(values: np.ndarray, detector: object | None = None) -> list[int]:
    """Minute indexes at which a monitor fed one value per minute raised, fed an hour at a time."""
    mon = AnomalyMonitor(AssetCatalog(), detector=detector or LearnedEnvelope())  # type: ignore[arg-type]
    ts = np.arange(len(values), dtype=np.int64) * MIN_MS
    out = []
    for i in range(0, len(values), 60):
        b = PointBatch.of(np.ones(len(ts[i : i + 60])), ts[i : i + 60], values[i : i + 60])
        out += [c.ts_ms // MIN_MS for c in mon.observe(b) if c.active]
    return out


@settings(max_examples=4, deadline=None)
@given(st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([LearnedEnvelope, RobustLevel]))
def test_a_constant_series_never_raises(level: float, kind: type) -> None:
    assert _raises(np.full(2 * 1440 + 120, level), kind()) == []


@settings(max_examples=4, deadline=None)
@given(
    st.floats(0.1, 100.0),
    st.integers(30, 1440),
    st.floats(-50.0, 50.0),
    st.sampled_from([LearnedEnvelope, RobustLevel]),
)
def test_a_purely_periodic_series_never_raises(
    amplitude: float, period_min: int, centre: float, kind: type
) -> None:
    t = np.arange(2 * 1440 + 240)
    assert _raises(centre + amplitude * np.sin(2 * np.pi * t / period_min), kind()) == []


@settings(max_examples=4, deadline=None)
@given(st.floats(15.0, 200.0), st.integers(0, 2**31))  # beyond the band (about 4 sigma) by 6
def test_a_step_of_k_sigma_raises_within_bounded_points(k: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = 50.0 + rng.normal(0.0, 1.0, 3 * 1440)
    x[2 * 1440 :] += k
    raised = _raises(x)
    after = [m for m in raised if m >= 2 * 1440]
    assert after, "a step of many sigma must raise"
    # raise_after (120 min) plus a few minutes for the bucket and the score to cross
    assert after[0] - 2 * 1440 <= 130


def test_points_of_a_series_are_taken_in_time_order_whatever_the_cut() -> None:
    rng = np.random.default_rng(3)
    series = np.repeat(np.arange(1, 6, dtype=np.int64), 400)
    ts = np.tile(np.arange(400, dtype=np.int64) * MIN_MS, 5)
    value = rng.normal(0.0, 1.0, len(ts))
    value[series == 2] += np.r_[np.zeros(300), np.full(100, 30.0)]
    whole = LearnedEnvelope(warmup_s=3600.0).score_many(series, ts, value)
    det = LearnedEnvelope(warmup_s=3600.0)
    shuffled = rng.permutation(len(ts))
    parts = np.zeros(len(ts))
    for chunk in np.array_split(np.arange(400), 7):  # time slices, each shuffled inside
        idx = shuffled[np.isin(shuffled, np.flatnonzero(np.isin(ts // MIN_MS, chunk)))]
        parts[idx] = det.score_many(series[idx], ts[idx], value[idx])
    np.testing.assert_allclose(parts, whole)
    assert whole[(series == 2) & (ts == 300 * MIN_MS)][0] > 0.7


def test_a_nan_scores_zero_and_is_not_learned() -> None:
    det = RobustLevel(warmup=2)
    s = det.score_many(
        np.ones(4, np.int64), np.arange(4) * MIN_MS, np.array([1.0, 1.0, np.nan, 1.0])
    )
    assert s.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_run_in_order_makes_one_step_per_rank() -> None:
    calls: list[list[int]] = []

    def step(rows: np.ndarray, ts: np.ndarray, x: np.ndarray) -> tuple[np.ndarray]:
        calls.append(rows.tolist())
        return (x * 2,)

    (out,) = run_in_order(
        np.array([0, 1, 0, 0]), np.array([3, 1, 1, 2]), np.array([1.0, 2.0, 3.0, 4.0]), step, 1
    )
    assert calls == [[0, 1], [0], [0]]
    assert out.tolist() == [2.0, 4.0, 6.0, 8.0]


def test_bucket_means_close_a_bucket_when_the_next_begins_across_batches() -> None:
    b = BucketMeans(60_000)
    assert len(b.add(np.array([1, 2]), np.array([0, 10_000]), np.array([1.0, 5.0]))[0]) == 0
    s, t, m = b.add(
        np.array([1, 1, 2]), np.array([20_000, 61_000, 50_000]), np.array([3.0, 7.0, 6.0])
    )
    assert (s.tolist(), t.tolist(), m.tolist()) == ([1], [60_000], [2.0])


def test_bucket_means_are_the_same_fed_live_or_in_hours() -> None:
    rng = np.random.default_rng(5)
    ids = np.arange(1, 51, dtype=np.int64)
    ts = np.arange(600, dtype=np.int64) * 1000  # ten minutes at 1 Hz
    value = rng.normal(0.0, 1.0, (50, 600))
    whole = BucketMeans(60_000).add(np.repeat(ids, 600), np.tile(ts, 50), value.ravel())
    live, parts = BucketMeans(60_000), []
    for k in range(600):  # one point of every series per call, as live ingest sends them
        parts.append(live.add(ids, np.full(50, ts[k]), value[:, k]))
    got = [np.concatenate([p[c] for p in parts]) for c in range(3)]
    order = np.lexsort((got[1], got[0]))
    assert [g[order].tolist() for g in got[:2]] == [w.tolist() for w in whole[:2]]
    np.testing.assert_allclose(got[2][order], whole[2])


def test_a_noise_floor_keeps_a_small_shift_normal() -> None:
    det = LearnedEnvelope(warmup_s=3600.0)
    ts = np.arange(200, dtype=np.int64) * MIN_MS
    x = 50.0 + np.r_[np.zeros(150), np.full(50, 0.5)] + 0.01 * np.sin(np.arange(200))
    ones = np.ones(200, np.int64)
    assert det.score_many(ones, ts, x)[-1] > 0.7  # 0.5 is many sigma of a quiet series
    floored = LearnedEnvelope(warmup_s=3600.0).assess_many(ones, ts, x, np.full(200, 1.0))
    assert floored.score[-1] < 0.2  # but under a sigma floor of 1.0 it is nothing


def test_unequal_columns_are_refused_naming_the_detector() -> None:
    with pytest.raises(BadInput, match="detector: columns differ in length"):
        LearnedEnvelope().score_many(np.ones(2, np.int64), np.ones(1, np.int64), np.ones(2))


@pytest.mark.parametrize("kind", [LearnedEnvelope, RobustLevel])
def test_bad_parameters_are_refused(kind: type) -> None:
    with pytest.raises(ValueError, match="positive"):
        kind(clip_z=0.0)


def test_monitor_settings_refuse_crossed_thresholds() -> None:
    with pytest.raises(ValueError, match="clear_score <= raise_score"):
        MonitorSettings(raise_score=0.5, clear_score=0.6)
