"""The rule engine: alarm rules evaluated over ingest bundles, clock ticks and KPI results.

`RuleEngine` resolves each enabled rule's scope against the asset catalogue into targets (one
rule on one equipment) and keeps their state between calls. It returns `Condition`s only on a
change (raised or cleared), keyed ``rule:<rule name>:eq:<equipment id>``; the alarm book turns
them into alarms. A rule on a signal an equipment lacks is skipped for that equipment and listed
in `problems()`, so one bad rule does not stop the others.

Order: points and state changes are sorted per series or equipment within a batch, so a batch
may arrive in any order. Data at or before what was already evaluated for the same series or
equipment (a late or repeated delivery across batches) does not move a rule's state.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kiln.domain.alarms import Condition
from kiln.domain.assets import Equipment
from kiln.domain.batches import Bundle, PointBatch
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput
from kiln.stream.rule_defs import (
    KpiRule,
    MicroStopsRule,
    NoDataRule,
    RateRule,
    Rule,
    StateRule,
    ThresholdRule,
)
from kiln.stream.rule_signals import SignalCheck, threshold_classes
from kiln.stream.rule_states import MicroStopCheck, StateCheck, StateRuns
from kiln.stream.rule_targets import Target, format_duration, format_number


@dataclass(slots=True)
class _SignalRule:
    """One signal rule's series (sorted, for np.isin) and the check of each."""

    series: NDArray[np.int64]
    checks: dict[int, SignalCheck] = field(default_factory=dict)


@dataclass(slots=True)
class _Flag:
    """A target whose state is only whether it is raised (no-data and KPI rules)."""

    target: Target
    active: bool = False
    changed_ms: int = 0  # when it was last raised or cleared


class RuleEngine:
    """Evaluates alarm rules for the equipment in their scope; pure, time comes in as ts_ms."""

    def __init__(
        self,
        rules: Iterable[Rule],
        catalog: AssetCatalog,
        *,
        start_ms: int | None = None,
        active: Iterable[str] = (),
    ) -> None:
        self.rules = [r for r in rules if r.enabled]
        seen_names: set[str] = set()
        for r in self.rules:
            if r.name in seen_names:
                raise BadInput(f"two rules are named {r.name!r}", where="rules")
            seen_names.add(r.name)
        self._catalog, self._problems = catalog, list[str]()
        self._start_ms = start_ms  # when no-data rules start counting for silent equipment
        self._signals: list[_SignalRule] = []
        self._states: dict[int, list[StateCheck]] = {}
        self._micro: dict[int, list[MicroStopCheck]] = {}
        self._no_data: dict[int, list[_Flag]] = {}
        self._kpi: dict[int, list[_Flag]] = {}
        self._runs = StateRuns()
        self._last_seen: dict[int, int] = {}
        sids = sorted(catalog.signals)
        self._series_ids = np.array(sids, dtype=np.int64)
        self._series_eq = np.array([catalog.signals[s].equipment_id for s in sids], np.int64)
        for rule in self.rules:
            self._add(rule)
        self._prime(set(active))

    def _prime(self, keys: set[str]) -> None:
        """Start the targets of these alarm keys as raised, so they clear when back to normal.

        An engine rebuilt (a restart, changed rules or assets) would otherwise never clear the
        alarms its predecessor raised: pass the keys of the open, active alarms.
        """
        if not keys:
            return
        checks: list[SignalCheck | StateCheck | MicroStopCheck | _Flag] = []
        for group in self._signals:
            checks += group.checks.values()
        for many in (self._states, self._micro, self._no_data, self._kpi):
            for found in many.values():
                checks += found
        for check in checks:
            if check.target.key in keys:
                if isinstance(check, SignalCheck):
                    check.state.active = True
                else:
                    check.active = True

    def problems(self) -> list[str]:
        """What could not be applied (unknown equipment, missing signals), in words."""
        return list(self._problems)

    def observe(self, bundle: Bundle) -> list[Condition]:
        """Conditions raised or cleared by a bundle's points, state changes and counts."""
        out: list[Condition] = []
        if len(bundle.points):
            out += self._observe_points(bundle.points)
        closed = self._runs.observe(bundle.states)
        first, last = seen_by_equipment(bundle, self._series_ids, self._series_eq)
        if self._start_ms is None and last:
            self._start_ms = min(first.values())
        for eq in sorted(set(closed) | set(last)):
            current, known = self._runs.current.get(eq), last.get(eq, 0)
            for check in self._states.get(eq, []):
                out += check.observe(closed.get(eq, []), current, known)
            for micro in self._micro.get(eq, []):
                out += micro.observe(closed.get(eq, []), known)
        for eq, ts in first.items():
            previous = self._last_seen.get(eq)
            if previous is None or last[eq] > previous:
                out += self._data_back(eq, ts)
            self._last_seen[eq] = max(last[eq], previous or last[eq])
        return sorted(out, key=lambda c: c.ts_ms)

    def tick(self, now_ms: int) -> list[Condition]:
        """Conditions that time alone brings: silent equipment, durations run out by now_ms."""
        if self._start_ms is None:
            self._start_ms = now_ms
        out: list[Condition] = []
        for group in self._signals:
            for signal_check in group.checks.values():
                out += signal_check.settle(now_ms)
        for eq, checks in self._states.items():
            for check in checks:
                out += check.settle(self._runs.current.get(eq), now_ms)
        for micro_checks in self._micro.values():
            for micro in micro_checks:
                out += micro.settle(now_ms)
        for eq, flags in self._no_data.items():
            seen = self._last_seen.get(eq, self._start_ms)
            for flag in flags:
                assert isinstance(flag.target.rule, NoDataRule)
                due = seen + int(flag.target.rule.for_s * 1000)
                if not flag.active and now_ms >= due:
                    flag.active, flag.changed_ms = True, due
                    words = f"{flag.target.label} sent no data for {format_duration(due - seen)}"
                    out.append(flag.target.condition(True, due, words, since_ms=seen))
        return sorted(out, key=lambda c: c.ts_ms)

    def kpi_watch(self) -> dict[tuple[str, str], list[int]]:
        """(kpi, over) -> the equipment KPI rules watch: what whoever computes KPIs must feed
        to `observe_kpi`."""
        out: dict[tuple[str, str], set[int]] = {}
        for equipment_id, flags in self._kpi.items():
            for flag in flags:
                rule = flag.target.rule
                assert isinstance(rule, KpiRule)
                out.setdefault((rule.kpi, rule.over), set()).add(equipment_id)
        return {key: sorted(ids) for key, ids in out.items()}

    def observe_kpi(
        self,
        equipment_id: int,
        kpi: str,
        value: float,
        period_start_ms: int,
        period_end_ms: int,
        *,
        over: str = "shift",
    ) -> list[Condition]:
        """Conditions from one equipment's KPI for a period (e.g. a shift); NaN is skipped."""
        if value is None or math.isnan(value):
            return []
        out: list[Condition] = []
        for flag in self._kpi.get(equipment_id, []):
            rule, tg = flag.target.rule, flag.target
            assert isinstance(rule, KpiRule)
            if rule.kpi != kpi or rule.over != over:
                continue
            bad = value > rule.limit if rule.op == ">" else value < rule.limit
            if bad == flag.active:
                continue
            flag.active = bad
            side = ("above" if rule.op == ">" else "below") if bad else "back within"
            words = f"{tg.label} {kpi} {format_number(value)} {side} {format_number(rule.limit)}"
            words += f" for the {over}"
            out.append(
                tg.condition(bad, period_end_ms, words, value=value, since_ms=period_start_ms)
            )
        return out

    def _observe_points(self, points: PointBatch) -> list[Condition]:
        """Each signal rule takes its series' points at once, sorted by series then time.

        A threshold classes the whole column in one pass; each series then walks only the
        points where its class changes.
        """
        out: list[Condition] = []
        ds = np.diff(points.series)
        if not np.all((ds > 0) | ((ds == 0) & (np.diff(points.ts_ms) >= 0))):
            points = points.sorted()  # once for every rule; selections below keep the order
        for group in self._signals:
            mine = np.isin(points.series, group.series)
            if not mine.any():
                continue
            s, t, v = points.series[mine], points.ts_ms[mine], points.value[mine]
            rule = group.checks[int(s[0])].target.rule
            classes = threshold_classes(rule, v) if isinstance(rule, ThresholdRule) else None
            cuts = [0, *(np.flatnonzero(s[1:] != s[:-1]) + 1).tolist(), len(s)]
            for a, b in itertools.pairwise(cuts):
                part = None if classes is None else classes[a:b]
                out += group.checks[int(s[a])].observe(t[a:b], v[a:b], part)
        return out

    def _data_back(self, equipment_id: int, ts_ms: int) -> list[Condition]:
        out = []
        for flag in self._no_data.get(equipment_id, []):
            if flag.active:
                # Data older than the raise (a late delivery) clears it at the raise, not before.
                flag.active, flag.changed_ms = False, max(ts_ms, flag.changed_ms)
                words = f"{flag.target.label} sending data again"
                out.append(flag.target.condition(False, flag.changed_ms, words))
        return out

    def _add(self, rule: Rule) -> None:
        """Resolve the rule's scope and set up a check per equipment."""
        group = _SignalRule(np.zeros(0, np.int64))
        for eq in self._scope(rule):
            target = Target(rule, eq.id, eq.enterprise_id, eq.slug)
            if isinstance(rule, ThresholdRule | RateRule):
                sid = self._catalog.series_id(eq.id, rule.signal)
                if sid is None:
                    self._problem(
                        rule, f"{eq.slug} (equipment {eq.id}) has no signal {rule.signal!r}"
                    )
                    continue
                unit = self._catalog.signals[sid].unit
                group.checks[sid] = SignalCheck(
                    Target(rule, eq.id, eq.enterprise_id, eq.slug, sid, unit)
                )
            elif isinstance(rule, StateRule):
                self._states.setdefault(eq.id, []).append(StateCheck(target))
            elif isinstance(rule, MicroStopsRule):
                self._micro.setdefault(eq.id, []).append(MicroStopCheck(target))
            elif isinstance(rule, NoDataRule):
                self._no_data.setdefault(eq.id, []).append(_Flag(target))
            else:
                self._kpi.setdefault(eq.id, []).append(_Flag(target))
        if group.checks:
            group.series = np.array(sorted(group.checks), dtype=np.int64)
            self._signals.append(group)

    def _scope(self, rule: Rule) -> list[Equipment]:
        """The equipment a rule's scope names, in id order; what it cannot find is a problem."""
        cat, scope = self._catalog, rule.scope
        if scope.equipment:
            for missing in sorted(set(scope.equipment) - set(cat.equipment)):
                self._problem(rule, f"equipment {missing} is not in the catalogue")
            found = [cat.equipment[i] for i in sorted(set(scope.equipment)) if i in cat.equipment]
        else:
            found = [
                e
                for e in sorted(cat.equipment.values(), key=lambda e: e.id)
                if (scope.template is None or e.template == scope.template)
                and (scope.enterprise is None or e.enterprise_id == scope.enterprise)
            ]
            if not found:
                self._problem(rule, f"no equipment in scope {scope.to_doc()}")
        return found

    def _problem(self, rule: Rule, what: str) -> None:
        self._problems.append(f"rule {rule.name}: {what}; skipped")


def seen_by_equipment(
    bundle: Bundle, series_ids: NDArray[np.int64], series_eq: NDArray[np.int64]
) -> tuple[dict[int, int], dict[int, int]]:
    """The earliest and latest ts_ms of anything each equipment sent in a bundle.

    Points name a series, mapped to its equipment through the sorted series_ids column; points
    of series not in the catalogue are left out.
    """
    p = bundle.points
    at = np.searchsorted(series_ids, p.series)
    known = at < len(series_ids)
    known[known] = series_ids[at[known]] == p.series[known]
    eq = np.concatenate([series_eq[at[known]], bundle.states.equipment, bundle.counts.equipment])
    ts = np.concatenate([p.ts_ms[known], bundle.states.ts_ms, bundle.counts.ts_ms])
    if not len(eq):
        return {}, {}
    ids, inverse = np.unique(eq, return_inverse=True)
    first = np.full(len(ids), np.iinfo(np.int64).max, np.int64)
    last = np.full(len(ids), np.iinfo(np.int64).min, np.int64)
    np.minimum.at(first, inverse, ts)
    np.maximum.at(last, inverse, ts)
    keys = ids.tolist()
    return dict(zip(keys, first.tolist(), strict=True)), dict(zip(keys, last.tolist(), strict=True))
