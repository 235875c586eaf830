"""AI4I 2020 failure prediction: the generating rules reproduce the labels; the model keeps up."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.analytics.failure_prediction import (
    RULE_MODES,
    Processes,
    average_precision,
    compare,
    evaluate,
    power_w,
    rule_failures,
    rule_modes,
    split_rows,
    take,
)
from kiln.errors import BadInput

AI4I = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ai4i2020" / "ai4i2020.csv"


def records(**cols: list[float]) -> Processes:
    """Rows of ordinary values (type L, 300 K air, 310 K process, 1500 rpm, 40 Nm, no wear)."""
    n = len(next(iter(cols.values())))
    base = {
        "air_k": 300.0,
        "process_k": 310.0,
        "speed_rpm": 1500.0,
        "torque_nm": 40.0,
        "wear_min": 0.0,
    }
    f = {k: np.array(cols.get(k, [v] * n), dtype=np.float64) for k, v in base.items()}
    flags = {
        k: np.array(cols.get(k, [0] * n), dtype=bool)
        for k in ("failure", "twf", "hdf", "pwf", "osf", "rnf")
    }
    codes = np.array(cols.get("type_code", [0] * n), dtype=np.int64)
    return Processes(type_code=codes, **f, **flags)


@pytest.fixture(scope="module")
def ai4i() -> Processes:
    if not AI4I.exists():
        pytest.skip(f"{AI4I} is absent")
    from kiln.cli.ai4i_file import read_ai4i

    return read_ai4i(AI4I)


def test_hdf_needs_a_small_temperature_difference_and_a_slow_spindle() -> None:
    """dt = 8.5 K and 1379 rpm fails; 8.7 K or 1380 rpm does not."""
    p = records(process_k=[308.5, 308.7, 308.5], speed_rpm=[1379.0, 1379.0, 1380.0])
    assert rule_modes(p)["HDF"].tolist() == [True, False, False]


def test_pwf_fires_below_3500_w_and_above_9000_w() -> None:
    """40 Nm x 1500 rpm x 2 pi / 60 = 6283.2 W; 20 Nm -> 3141.6 W; 60 Nm x 1500 -> 9424.8 W."""
    p = records(torque_nm=[40.0, 20.0, 60.0])
    assert power_w(p).round(1).tolist() == [6283.2, 3141.6, 9424.8]
    assert rule_modes(p)["PWF"].tolist() == [False, True, True]


def test_osf_limit_depends_on_the_product_type() -> None:
    """Wear 200 min x 60 Nm = 12,000 min Nm: over L's 11,000, at M's 12,000, under H's 13,000."""
    p = records(
        wear_min=[200.0] * 3, torque_nm=[60.0] * 3, speed_rpm=[800.0] * 3, type_code=[0, 1, 2]
    )
    assert rule_modes(p)["OSF"].tolist() == [True, False, False]


def test_the_rules_reproduce_the_readme_counts_exactly(ai4i: Processes) -> None:
    rules = rule_modes(ai4i)
    assert {m: int(rules[m].sum()) for m in RULE_MODES} == {"HDF": 115, "PWF": 95, "OSF": 98}
    for m in RULE_MODES:
        assert np.array_equal(rules[m], ai4i.mode(m)), m
    union = rule_failures(ai4i)
    assert int(union.sum()) == 287
    assert int((union & ~ai4i.failure).sum()) == 0  # no false alarm
    assert int(ai4i.failure.sum()) == 339


def test_the_split_is_stratified_80_20_and_repeatable(ai4i: Processes) -> None:
    pytest.importorskip("sklearn")
    train, test = split_rows(ai4i.failure, seed=42)
    assert (len(train), len(test)) == (8_000, 2_000)
    assert int(ai4i.failure[test].sum()) == 68  # as in the README's HistGBT model card
    assert not set(train.tolist()) & set(test.tolist())
    again, _ = split_rows(ai4i.failure, seed=42)
    assert np.array_equal(train, again)


@pytest.mark.slow
def test_the_model_keeps_up_with_the_rules_on_their_modes(ai4i: Processes) -> None:
    pytest.importorskip("sklearn")
    c = compare(ai4i, seed=42)
    assert (c.test_rows, c.test_failures) == (2_000, 68)
    rules_caught = sum(c.rules.mode_caught[m] for m in RULE_MODES)
    model_caught = sum(c.model.mode_caught[m] for m in RULE_MODES)
    assert rules_caught == sum(c.rules.mode_total[m] for m in RULE_MODES)  # rules catch them all
    assert model_caught >= rules_caught - 2
    assert c.rules.fp == 0
    assert c.model.fp <= 4  # precision >= 93 % at 56 or more caught
    assert c.model.tp >= 54
    assert c.model.precision >= 0.93
    assert c.model.pr_auc > 0.85


def test_evaluation_counts_a_worked_case() -> None:
    """Four failures (two HDF), one non-failure. Predicted: rows 0, 1, 4 -> tp 2, fp 1, fn 2.
    precision 2/3, recall 2/4, F1 = 4 / (4 + 1 + 2) = 4/7; HDF caught 1 of 2."""
    p = records(failure=[1, 1, 1, 1, 0], hdf=[1, 0, 1, 0, 0], air_k=[300.0] * 5)
    e = evaluate("x", p, np.array([1, 1, 0, 0, 1], dtype=bool), np.array([0.9, 0.8, 0.1, 0.2, 0.7]))
    assert (e.tp, e.fp, e.fn) == (2, 1, 2)
    assert (e.precision, e.recall, e.f1) == pytest.approx((2 / 3, 0.5, 4 / 7))
    assert (e.mode_caught["HDF"], e.mode_total["HDF"]) == (1, 2)
    assert math.isnan(e.mode_recall("TWF"))
    # Ranked by score: 0.9 fail, 0.8 fail, 0.7 ok, 0.2 fail, 0.1 fail; the precision at each
    # failure is 1, 1, 3/4, 4/5, and average precision is their mean.
    assert e.pr_auc == pytest.approx((1 + 1 + 3 / 4 + 4 / 5) / 4)


def test_take_keeps_rows_of_every_column() -> None:
    p = records(torque_nm=[10.0, 20.0, 30.0], failure=[0, 1, 0])
    sub = take(p, np.array([2, 1]))
    assert sub.torque_nm.tolist() == [30.0, 20.0]
    assert sub.failure.tolist() == [False, True]
    assert len(sub) == 2


def test_columns_of_different_lengths_are_refused() -> None:
    p = records(torque_nm=[10.0, 20.0])
    bad = Processes(*(getattr(p, n) for n in p.__slots__[:-1]), rnf=np.zeros(3, dtype=bool))
    with pytest.raises(BadInput, match="column rnf has 3 rows, not 2"):
        compare(bad)


def test_unknown_type_codes_are_refused() -> None:
    with pytest.raises(BadInput, match="type codes must be 0-2"):
        compare(records(type_code=[0, 3]))


def test_a_split_without_enough_failures_is_refused() -> None:
    pytest.importorskip("sklearn")
    with pytest.raises(BadInput, match="at least two failures"):
        split_rows(np.array([True, False, False, False]), seed=42)
    with pytest.raises(BadInput, match=r"test fraction 1\.5"):
        split_rows(np.array([True, True, False, False]), seed=42, test_fraction=1.5)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=1, max_size=40))
def test_average_precision_agrees_with_scikit_learn(pairs) -> None:
    """Scores from a few levels, so ties are common."""
    metrics = pytest.importorskip("sklearn.metrics")
    truth = np.array([t for t, _ in pairs])
    score = np.array([s / 5 for _, s in pairs])
    if not truth.any():
        return
    expected = metrics.average_precision_score(truth, score)
    assert average_precision(truth, score) == pytest.approx(expected, abs=1e-12)
