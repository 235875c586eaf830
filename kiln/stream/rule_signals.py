"""Signal rules (threshold, rate of change) over one series' points, a column at a time.

Each point is classed at once for the whole column: OVER (beyond the limit), NORMAL (back past
the clearing level) or BETWEEN (inside the deadband, or a rate not yet measurable). Only the
points where the class changes are walked in Python, so a batch of steady readings costs a few
NumPy operations whatever its length.

A value holds until the next point (a historian's step interpolation): an excursion lasts from
its first OVER point to the first point that is not, or to the latest time known (`settle`).
Points at or before the last one evaluated for the series (a late or repeated delivery) are
ignored by the rule, though they are still stored. `settle` (the engine's tick) holds the last
value up to now_ms, so call tick with a time that allows for ingest latency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from kiln.domain.alarms import Condition
from kiln.stream.rule_defs import RateRule, ThresholdRule
from kiln.stream.rule_targets import Target, format_duration, format_number

NORMAL, BETWEEN, OVER = 0, 1, 2
I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


@dataclass(slots=True)
class Debounce:
    """Raise/clear state of one signal rule on one series, carried from batch to batch."""

    active: bool = False
    since_ms: int | None = None  # start of the excursion, pending or raised
    clearing_ms: int | None = None  # start of the return to normal while raised
    raised_ms: int = 0  # when it was raised
    last_ts: int = np.iinfo(np.int64).min
    last_value: float = float("nan")
    last_class: int = BETWEEN


def threshold_classes(rule: ThresholdRule, value: F64) -> NDArray[np.int8]:
    """Each value's class under a threshold rule, for a whole column at once.

    >>> from kiln.stream.rule_defs import parse_rule
    >>> r = parse_rule({"kind": "threshold", "name": "hot", "severity": "high", "scope": [1],
    ...                 "signal": "t", "op": ">", "limit": 100, "deadband": 5}, where="doc")
    >>> threshold_classes(r, np.array([90.0, 97.0, 101.0])).tolist()  # NORMAL, BETWEEN, OVER
    [0, 1, 2]
    """
    sign = 1.0 if rule.op == ">" else -1.0
    over = sign * (value - rule.limit) > 0
    normal = sign * (value - (rule.limit - sign * rule.deadband)) <= 0
    return np.where(over, OVER, np.where(normal, NORMAL, BETWEEN)).astype(np.int8)


def _prepend(column: NDArray[Any], first: float) -> NDArray[Any]:
    out = np.empty(len(column) + 1, column.dtype)
    out[0], out[1:] = first, column
    return out


class SignalCheck:
    """Evaluates one threshold or rate rule on one series; returns its conditions in time order."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.state = Debounce()
        rule = target.rule
        self._for_ms = int(getattr(rule, "for_s", 0.0) * 1000)
        self._clear_ms = int(getattr(rule, "clear_for_s", 0.0) * 1000)
        self._tail_t: I64 = np.zeros(0, np.int64)  # rate rules: the points within the window
        self._tail_v: F64 = np.zeros(0, np.float64)

    def observe(
        self, ts_ms: I64, value: F64, classes: NDArray[np.int8] | None = None
    ) -> list[Condition]:
        """Evaluate the series' new points (sorted by time); classes: a threshold's, if known."""
        st = self.state
        if len(ts_ms) and ts_ms[0] <= st.last_ts:
            fresh = ts_ms > st.last_ts
            ts_ms, value = ts_ms[fresh], value[fresh]
            classes = None if classes is None else classes[fresh]
        if not len(ts_ms):
            return []
        t = ts_ms
        if classes is None:
            shown, classes = self._classify(t, value)
        else:
            shown = value
        if st.last_ts > np.iinfo(np.int64).min:  # the held value continues into this batch
            t = _prepend(t, st.last_ts)
            shown = _prepend(shown, st.last_value)
            classes = _prepend(classes, st.last_class)
        out = self._walk(t, shown, classes)
        st.last_ts, st.last_value, st.last_class = int(t[-1]), float(shown[-1]), int(classes[-1])
        return out

    def settle(self, now_ms: int) -> list[Condition]:
        """Apply durations that have run out by now_ms while no point came."""
        st, out = self.state, []
        if now_ms <= st.last_ts:
            return []
        if not st.active and st.since_ms is not None and st.last_class == OVER:
            if now_ms >= st.since_ms + self._for_ms:
                out.append(self._raise(st.since_ms + self._for_ms, st.last_value))
        elif st.active and st.clearing_ms is not None and now_ms >= st.clearing_ms + self._clear_ms:
            out.append(self._clear(st.clearing_ms + self._clear_ms, st.last_value))
        return out

    def _classify(self, t: I64, v: F64) -> tuple[F64, NDArray[np.int8]]:
        """What each point shows (the value, or the rate) and its class."""
        rule = self.target.rule
        if isinstance(rule, ThresholdRule):
            return v, threshold_classes(rule, v)
        assert isinstance(rule, RateRule)
        rate = self._rates(t, v, int(rule.window_s * 1000))
        speed = np.abs(rate)
        with np.errstate(invalid="ignore"):
            classes = np.where(
                speed > rule.max_per_min, OVER, np.where(speed <= rule.max_per_min, NORMAL, BETWEEN)
            )
        return rate, classes.astype(np.int8)

    def _rates(self, t: I64, v: F64, window_ms: int) -> F64:
        """Change per minute from the oldest point within the window to each new point."""
        all_t, all_v = np.concatenate([self._tail_t, t]), np.concatenate([self._tail_v, v])
        new = np.arange(len(self._tail_t), len(all_t))
        first = np.searchsorted(all_t, all_t[new] - window_ms, side="left")
        span = (all_t[new] - all_t[first]).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(span > 0, (all_v[new] - all_v[first]) / span * 60_000.0, np.nan)
        keep = all_t > all_t[-1] - window_ms
        self._tail_t, self._tail_v = all_t[keep], all_v[keep]
        return rate

    def _walk(self, t: I64, v: F64, classes: NDArray[np.int8]) -> list[Condition]:
        """Step through the runs of equal class; durations end at the next run or the last point."""
        st, out = self.state, []
        starts = _prepend(np.flatnonzero(classes[1:] != classes[:-1]) + 1, 0)
        ends = np.append(starts[1:], len(t))
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            cls, start = int(classes[s]), int(t[s])
            known = int(t[e]) if e < len(t) else int(t[-1])  # the run lasts until here at least
            if cls == OVER:
                st.clearing_ms = None
                if not st.active:
                    st.since_ms = start if st.since_ms is None else st.since_ms
                    due = st.since_ms + self._for_ms
                    if known >= due:
                        at = min(s + int(np.searchsorted(t[s:e], due)), e - 1)
                        out.append(self._raise(due, float(v[at])))
            elif cls == NORMAL:
                if not st.active:
                    st.since_ms = None
                else:
                    st.clearing_ms = start if st.clearing_ms is None else st.clearing_ms
                    if known >= st.clearing_ms + self._clear_ms:
                        out.append(self._clear(st.clearing_ms + self._clear_ms, float(v[s])))
            elif st.active:
                st.clearing_ms = None
            else:
                st.since_ms = None
        return out

    def _raise(self, ts_ms: int, shown: float) -> Condition:
        st, tg = self.state, self.target
        since = st.since_ms
        st.active, st.clearing_ms, st.raised_ms = True, None, ts_ms
        return tg.condition(True, ts_ms, self._raised_words(shown), value=shown, since_ms=since)

    def _clear(self, ts_ms: int, shown: float) -> Condition:
        st, tg = self.state, self.target
        since = st.since_ms
        st.active, st.since_ms, st.clearing_ms = False, None, None
        # A tick may have raised it on the held value before points (late through ingest)
        # showed it back earlier: the clear then comes at the raise, never before it.
        ts_ms = max(ts_ms, st.raised_ms)
        return tg.condition(False, ts_ms, self._cleared_words(shown), value=shown, since_ms=since)

    def _raised_words(self, shown: float) -> str:
        rule, tg = self.target.rule, self.target
        if isinstance(rule, ThresholdRule):
            side = "above" if rule.op == ">" else "below"
            text = f"{tg.label} {rule.signal} {tg.quantity(shown)} {side} {tg.quantity(rule.limit)}"
            return f"{text} for {format_duration(self._for_ms)}" if self._for_ms else text
        assert isinstance(rule, RateRule)
        way = "rising" if shown > 0 else "falling"
        per_min = f"{tg.unit}/min" if tg.unit else "/min"
        return (
            f"{tg.label} {rule.signal} {way} {format_number(abs(shown))} {per_min} over "
            f"{format_duration(rule.window_s * 1000)}, "
            f"above {format_number(rule.max_per_min)} {per_min}"
        )

    def _cleared_words(self, shown: float) -> str:
        rule, tg = self.target.rule, self.target
        if isinstance(rule, ThresholdRule):
            side = "below" if rule.op == ">" else "above"
            level = rule.limit - rule.deadband if rule.op == ">" else rule.limit + rule.deadband
            return f"{tg.label} {rule.signal} {tg.quantity(shown)} back {side} {tg.quantity(level)}"
        assert isinstance(rule, RateRule)
        per_min = f"{tg.unit}/min" if tg.unit else "/min"
        return (
            f"{tg.label} {rule.signal} changing {format_number(abs(shown))} {per_min}, within limit"
        )
