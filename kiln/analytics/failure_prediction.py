"""Machine-failure prediction on process records (the AI4I 2020 data set), rules against a model.

Two predictors, scored on the same held-out rows:

* the rule baseline: the heat-dissipation (HDF), power (PWF) and overstrain (OSF) rules by which
  the data set's author generated those failure modes, written down as stated;
* a gradient-boosted tree model (scikit-learn's HistGradientBoostingClassifier) on the process
  signals plus physical features: process minus air temperature, mechanical power, wear x
  torque, and the product type.

The protocol is the data README's: a stratified 80/20 split with a fixed seed; precision,
recall, F1 and PR-AUC for "Machine failure", and recall per failure mode. RNF (a 0.1 % random
failure) is unpredictable by construction and is left out of the per-mode figures.
scikit-learn is imported only when a model is trained, so the rules need nothing but numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.errors import BadInput

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]

TYPES = ("L", "M", "H")  # product quality variants, coded 0, 1, 2
MODES = ("TWF", "HDF", "PWF", "OSF")  # RNF left out: random by construction
RULE_MODES = ("HDF", "PWF", "OSF")
HDF_MAX_DT_K, HDF_MAX_RPM = 8.6, 1380.0
PWF_MIN_W, PWF_MAX_W = 3500.0, 9000.0
OSF_LIMIT_MIN_NM = np.array([11_000.0, 12_000.0, 13_000.0])  # per type L, M, H
RAD_S_PER_RPM = 2.0 * math.pi / 60.0
WHERE = "failure prediction"


@dataclass(frozen=True, slots=True)
class Processes:
    """One row per machining process: settings, measurements and failure labels, as columns."""

    type_code: I64  # index into TYPES
    air_k: F64
    process_k: F64
    speed_rpm: F64
    torque_nm: F64
    wear_min: F64
    failure: B
    twf: B
    hdf: B
    pwf: B
    osf: B
    rnf: B

    def __len__(self) -> int:
        return len(self.type_code)

    def mode(self, name: str) -> B:
        """The flag column of a failure mode (TWF, HDF, PWF, OSF or RNF)."""
        return getattr(self, name.lower())  # type: ignore[no-any-return]

    def check(self) -> None:
        """Raise BadInput unless the columns are equally long and the type codes valid."""
        n = len(self.type_code)
        for name in self.__slots__:
            if len(getattr(self, name)) != n:
                raise BadInput(
                    f"column {name} has {len(getattr(self, name))} rows, not {n}", where=WHERE
                )
        if n and (self.type_code.min() < 0 or self.type_code.max() >= len(TYPES)):
            raise BadInput(
                f"type codes must be 0-{len(TYPES) - 1} ({'/'.join(TYPES)})", where=WHERE
            )


def power_w(p: Processes) -> F64:
    """Mechanical power at the spindle: torque x speed in rad/s.

    >>> round(float(power_w(_one(torque_nm=40.0, speed_rpm=1500.0))[0]), 1)
    6283.2
    """
    return p.torque_nm * p.speed_rpm * RAD_S_PER_RPM


def strain_min_nm(p: Processes) -> F64:
    """Tool wear x torque, the overstrain measure."""
    return p.wear_min * p.torque_nm


def rule_modes(p: Processes) -> dict[str, B]:
    """The HDF, PWF and OSF generating rules of the data set, as stated in its description.

    >>> r = rule_modes(_one(air_k=300.0, process_k=308.5, speed_rpm=1300.0, torque_nm=60.0))
    >>> {k: bool(v[0]) for k, v in r.items()}
    {'HDF': True, 'PWF': False, 'OSF': False}
    """
    # Compared in doubles, unrounded, as the labels were made: of the rows whose readings differ
    # by a nominal 8.6 K, the 12 whose double difference falls just below 8.6 are flagged HDF and
    # the 15 just above are not. Rounding first would flag 15 rows that the data does not.
    dt_k = p.process_k - p.air_k
    return {
        "HDF": (dt_k < HDF_MAX_DT_K) & (p.speed_rpm < HDF_MAX_RPM),
        "PWF": (power_w(p) < PWF_MIN_W) | (power_w(p) > PWF_MAX_W),
        "OSF": strain_min_nm(p) > OSF_LIMIT_MIN_NM[p.type_code],
    }


def rule_failures(p: Processes) -> B:
    """A failure is predicted where any of the three rules fires."""
    r = rule_modes(p)
    return r["HDF"] | r["PWF"] | r["OSF"]


def features(p: Processes) -> tuple[F64, list[str]]:
    """The model's inputs, one column per feature, with their names; type is categorical."""
    cols = {
        "type": p.type_code.astype(np.float64),
        "air_k": p.air_k,
        "process_k": p.process_k,
        "speed_rpm": p.speed_rpm,
        "torque_nm": p.torque_nm,
        "wear_min": p.wear_min,
        "dt_k": p.process_k - p.air_k,
        "power_w": power_w(p),
        "strain_min_nm": strain_min_nm(p),
    }
    return np.column_stack(list(cols.values())), list(cols)


def _one(**given: float) -> Processes:
    """A one-row record of ordinary values, for worked examples."""
    v = {
        "air_k": 300.0,
        "process_k": 310.0,
        "speed_rpm": 1500.0,
        "torque_nm": 40.0,
        "wear_min": 0.0,
    }
    v.update(given)
    no = np.zeros(1, dtype=bool)
    cols = {k: np.array([x]) for k, x in v.items()}
    return Processes(
        np.zeros(1, dtype=np.int64), **cols, failure=no, twf=no, hdf=no, pwf=no, osf=no, rnf=no
    )


def take(p: Processes, rows: I64) -> Processes:
    """The records at the given row positions."""
    return Processes(*(getattr(p, name)[rows] for name in p.__slots__))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """How one predictor did on the test rows: the binary label, then each failure mode."""

    predictor: str
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    pr_auc: float
    mode_caught: dict[str, int]  # test rows flagged with the mode that were predicted to fail
    mode_total: dict[str, int]

    def mode_recall(self, mode: str) -> float:
        """Share of the test rows flagged with this mode that the predictor caught."""
        total = self.mode_total[mode]
        return self.mode_caught[mode] / total if total else math.nan


@dataclass(frozen=True, slots=True)
class Comparison:
    """The rule baseline and the learned model on the same held-out rows."""

    seed: int
    train_rows: int
    test_rows: int
    test_failures: int
    rules: Evaluation
    model: Evaluation


def _ratio(a: int, b: int) -> float:
    return a / b if b else math.nan


def average_precision(truth: B, score: F64) -> float:
    """Area under the precision-recall curve as a step sum: sum of (R_k - R_k-1) x P_k over
    the distinct score thresholds, highest first (as scikit-learn's average_precision_score).

    >>> average_precision(np.array([True, True, False, True]), np.array([0.9, 0.8, 0.7, 0.1]))
    0.9166666666666666
    """
    order = np.argsort(-score, kind="stable")
    hit, ranked = truth[order], score[order]
    tp = np.cumsum(hit)
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # end of each tie group
    precision = tp[last] / (last + 1)
    recall = tp[last] / tp[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def evaluate(predictor: str, p: Processes, predicted: B, score: F64) -> Evaluation:
    """Confusion counts, precision, recall, F1, PR-AUC (average precision) and per-mode recall.

    >>> p = _one()
    >>> e = evaluate("rules", p, np.array([False]), np.array([0.0]))
    >>> (e.tp, e.fp, e.fn, e.mode_total["HDF"])
    (0, 0, 0, 0)
    """
    truth = p.failure
    tp = int((predicted & truth).sum())
    fp = int((predicted & ~truth).sum())
    fn = int((~predicted & truth).sum())
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    pr_auc = average_precision(truth, score) if truth.any() else math.nan
    return Evaluation(
        predictor=predictor,
        tp=tp,
        fp=fp,
        fn=fn,
        precision=precision,
        recall=recall,
        f1=f1,
        pr_auc=pr_auc,
        mode_caught={m: int((predicted & p.mode(m)).sum()) for m in MODES},
        mode_total={m: int(p.mode(m).sum()) for m in MODES},
    )


def split_rows(failure: B, *, seed: int, test_fraction: float = 0.2) -> tuple[I64, I64]:
    """Train and test row positions, stratified on the failure label."""
    from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

    if not 0.0 < test_fraction < 1.0:
        raise BadInput(f"test fraction {test_fraction} is not between 0 and 1", where=WHERE)
    if failure.sum() < 2 or (~failure).sum() < 2:
        raise BadInput(
            "a stratified split needs at least two failures and two non-failures", where=WHERE
        )
    rows = np.arange(len(failure), dtype=np.int64)
    train, test = train_test_split(
        rows, test_size=test_fraction, stratify=failure, random_state=seed
    )
    return np.sort(train), np.sort(test)


def fit_model(p: Processes, *, seed: int) -> object:
    """A HistGradientBoostingClassifier fitted on the records' features to "Machine failure"."""
    from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]

    x, names = features(p)
    model = HistGradientBoostingClassifier(
        categorical_features=[names.index("type")], random_state=seed
    )
    model.fit(x, p.failure)
    return model


def failure_probability(model: object, p: Processes) -> F64:
    """The fitted model's probability of "Machine failure" per record."""
    x, _ = features(p)
    proba = model.predict_proba(x)  # type: ignore[attr-defined]
    return np.asarray(proba[:, 1], dtype=np.float64)


def compare(p: Processes, *, seed: int = 42, test_fraction: float = 0.2) -> Comparison:
    """Split, fit the model on the training rows, and score it and the rules on the test rows."""
    p.check()
    train, test = split_rows(p.failure, seed=seed, test_fraction=test_fraction)
    held = take(p, test)
    ruled = rule_failures(held)
    model = fit_model(take(p, train), seed=seed)
    proba = failure_probability(model, held)
    return Comparison(
        seed=seed,
        train_rows=len(train),
        test_rows=len(test),
        test_failures=int(held.failure.sum()),
        rules=evaluate("rules", held, ruled, ruled.astype(np.float64)),
        model=evaluate("model", held, proba >= 0.5, proba),
    )
