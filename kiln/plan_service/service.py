"""The plan tracker over the store: plans and indicators, filings, progress, tables, scenarios.

Pure rules live in kiln.plan; this module reads what they need in bulk (one yearly query per
view) and keeps the indicator configuration cached until it changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput, NotFound
from kiln.plan.disclosure import CITY_RULES, Rules, percentile_rank
from kiln.plan.documents import (
    Measure,
    PublishedFigure,
    config_doc,
    config_from,
    plan_doc,
    plan_from,
    published_from,
)
from kiln.plan.indicators import Indicator, IndicatorConfig, Origin, aggregate
from kiln.plan.model import Plan, Scope, ScopeKind, Target, TargetKind, implied_baseline
from kiln.plan.progress import Actual, Progress, Source, progress
from kiln.plan.scenario import Component, ScenarioResult, project_components
from kiln.plan_service.frame import DISTRICT_KEYS, GROUP_KEYS, Registry, YearFrame, scope_mask
from kiln.plan_service.seed import CONFIG_KEY, CONFIG_KIND, PLAN_KIND, ensure_seeded
from kiln.plan_service.tables import CITY_ZONE, Coverage, IndicatorTable, coverage, indicator_table
from kiln.store.base import Store

FIRST_YEAR = 2010  # how far back the dashboard reads filings
# Indicators the dashboard shows by district and industry, when defined.
HEADLINE = ("total_output", "robot_ie_output", "robots_installed", "robot_density")


def year_end_ms(year: int) -> int:
    """The end of a year in the city's time zone, as epoch ms."""
    return int(dt.datetime(year + 1, 1, 1, tzinfo=CITY_ZONE).timestamp() * 1000)


def local_year_month(now_ms: int) -> tuple[int, int]:
    """The (year, month) it is in the city's time zone."""
    t = dt.datetime.fromtimestamp(now_ms / 1000, CITY_ZONE)
    return t.year, t.month


@dataclass(frozen=True, slots=True)
class TargetView:
    """One target with its progress and how complete the data behind it is."""

    target: Target
    indicator: Indicator
    progress: Progress
    coverage: Coverage
    withheld_years: tuple[int, ...] = ()  # filed sums the city may not see (disclosure control)


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A plan as it stands as of a year: its targets, and headline indicators by district and
    industry for the latest year with filings."""

    plan: Plan
    as_of_year: int
    targets: tuple[TargetView, ...]
    tables: tuple[IndicatorTable, ...]
    published: tuple[PublishedFigure, ...]


class PlanService:
    """The plan tracker for one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.plans_store = store.plans
        self._config: IndicatorConfig | None = None

    # -- configuration -----------------------------------------------------------------------

    def seed(self) -> bool:
        """Load the shipped plan, indicators and published figures into an empty store."""
        done = ensure_seeded(self.plans_store)
        self._config = None
        return done

    def config(self) -> IndicatorConfig:
        """Indicators and industry sets (the seed's until a city admin changes them)."""
        if self._config is None:
            doc = self.plans_store.documents(CONFIG_KIND).get(CONFIG_KEY)
            if doc is None:
                self.seed()
                doc = self.plans_store.documents(CONFIG_KIND)[CONFIG_KEY]
            self._config = config_from(doc)
        return self._config

    def put_config(self, doc: Mapping[str, Any]) -> IndicatorConfig:
        """Replace the indicator configuration; refused if a stored plan would lose an
        indicator it uses."""
        config = config_from(doc)
        for p in self.plans():
            for t in p.targets:
                if t.indicator not in config.indicators:
                    raise BadInput(
                        f"plan {p.key!r} target {t.key!r} uses indicator {t.indicator!r}",
                        where="indicators",
                    )
        self.plans_store.put_document(CONFIG_KIND, CONFIG_KEY, config_doc(config))
        self._config = config
        return config

    def plans(self) -> list[Plan]:
        """Every plan, by key."""
        config = self.config()
        docs = self.plans_store.documents(PLAN_KIND)
        return [plan_from(k, d, config, where=f"plan {k}") for k, d in docs.items()]

    def plan(self, key: str) -> Plan:
        """One plan; NotFound names it."""
        self.config()  # seeds an empty store
        doc = self.plans_store.documents(PLAN_KIND).get(key)
        if doc is None:
            raise NotFound(f"no plan {key!r}", where="path: plan")
        return plan_from(key, doc, self.config(), where=f"plan {key}")

    def put_plan(self, key: str, doc: Mapping[str, Any]) -> Plan:
        """Create or replace a plan from its document."""
        plan = plan_from(key, doc, self.config(), where="plan")
        self.plans_store.put_document(PLAN_KIND, key, plan_doc(plan))
        return plan

    def delete_plan(self, key: str) -> None:
        """Delete a plan; NotFound when there is none."""
        if not self.plans_store.delete_document(PLAN_KIND, key):
            raise NotFound(f"no plan {key!r}", where="path: plan")

    def put_published(self, rows: Sequence[Mapping[str, str]]) -> list[PublishedFigure]:
        """Create or replace published figures from CSV-shaped rows (all or none)."""
        config = self.config()
        figures = [published_from(r, config, where=f"figures[{i}]") for i, r in enumerate(rows)]
        self.plans_store.put_published(figures)
        return figures

    # -- reading filings in bulk ---------------------------------------------------------------

    def frame(self, catalog: AssetCatalog, last_year: int, *, through_month: int = 12) -> YearFrame:
        """Every current filing up to last_year, per enterprise and year."""
        registry = Registry.of(catalog, self.config())
        table = self.plans_store.yearly(FIRST_YEAR, last_year, through_month=through_month)
        return YearFrame.of(table, registry)

    def actuals(
        self,
        ind: Indicator,
        scope: Scope,
        frame: YearFrame,
        published: Sequence[PublishedFigure],
        *,
        as_of_year: int,
        partial: YearFrame | None = None,
        withheld: list[int] | None = None,
    ) -> list[Actual]:
        """The indicator's yearly values in a scope: the published figure where there is one,
        else the sum of the filings (with their coverage); the as-of year, when only some of
        its months are filed, annualised by last year's share of the same months.

        With ``withheld`` (a list to fill), a filed sum the city may not see (fewer than 3
        enterprises, or one above 85 %) is left out and its year added there."""
        config = self.config()
        levels = {
            p.year: p
            for p in published
            if p.indicator == ind.key and p.scope == scope and p.measure is Measure.LEVEL
        }
        out: list[Actual] = []
        years = sorted({*np.unique(frame.year).tolist(), *levels})
        for year in (y for y in years if y <= as_of_year):
            if year in levels:
                out.append(Actual(year, levels[year].value, Source.PUBLISHED))
                continue
            if ind.origin is not Origin.FILED:
                continue
            f = frame.of_year(year)
            rows = scope_mask(scope, f.district, f.group)
            c = aggregate(ind, config, f.figures, f.codes, np.where(rows, 0, -1), 1)
            if not c.n[0] and np.isnan(c.value[0]):
                continue
            months = int(f.months[rows].max()) if rows.any() else 0
            if months == 0 or np.isnan(c.value[0]):
                continue
            if withheld is not None and not _disclosable(int(c.n[0]), c.top[0], c.numerator[0]):
                withheld.append(year)
                continue
            cov = coverage(ind, config, f, scope, 0).share
            value = float(c.value[0])
            if months < 12 and partial is not None and not ind.denominator:
                value *= _annualise(ind, config, frame.of_year(year - 1), partial, scope, months)
                out.append(Actual(year, value, Source.ESTIMATE, cov, partial_months=months))
            else:
                out.append(Actual(year, value, Source.FILED, cov))
        return out

    # -- the dashboard -----------------------------------------------------------------------

    def dashboard(
        self, key: str, catalog: AssetCatalog, now_ms: int, *, as_of_year: int | None = None
    ) -> Dashboard:
        """A plan's targets with progress, and the headline indicators by district and
        industry, as known at the end of ``as_of_year`` (default: now)."""
        plan = self.plan(key)
        year_now, month_now = local_year_month(now_ms)
        as_of = year_now if as_of_year is None else as_of_year
        if as_of > year_now:
            raise BadInput(f"{as_of} is in the future", where="query: as_of")
        # A closed month is one whose filings are due: the month before the current one.
        through = month_now - 1 if as_of == year_now else 12
        frame = self.frame(catalog, as_of)
        partial = None
        if through < 12:
            partial = self.frame(catalog, as_of - 1, through_month=through)
        published = [p for p in self.plans_store.published() if p.year <= as_of]
        config = self.config()
        views = []
        for t in plan.targets:
            ind = config.indicator(t.indicator)
            sibling = _growth_sibling(plan, t)
            hidden: list[int] = []
            actuals = self.actuals(
                ind, t.scope, frame, published, as_of_year=as_of, partial=partial, withheld=hidden
            )
            actuals = _with_implied_baseline(plan, t, actuals)
            prog = progress(t, actuals, as_of_year=as_of, growth_sibling=sibling, unit=ind.unit)
            latest = frame.of_year(max((a.year for a in actuals), default=as_of))
            cov = coverage(ind, config, latest, t.scope, min(now_ms, year_end_ms(as_of)))
            views.append(TargetView(t, ind, prog, cov, tuple(hidden)))
        filed_years = np.unique(frame.year[frame.months >= 12])
        table_year = int(filed_years.max()) if len(filed_years) else as_of
        tables = tuple(
            indicator_table(
                config.indicators[k], config, frame, table_year, min(now_ms, year_end_ms(as_of))
            )
            for k in HEADLINE
            if k in config.indicators and config.indicators[k].origin is Origin.FILED
        )
        return Dashboard(plan, as_of, tuple(views), tables, tuple(published))

    def table(
        self, indicator: str, year: int, catalog: AssetCatalog, now_ms: int
    ) -> IndicatorTable:
        """One indicator by district and industry for a year, protected."""
        config = self.config()
        try:
            ind = config.indicator(indicator)
        except KeyError as err:
            raise NotFound(str(err).strip("'\""), where="query: indicator") from None
        if ind.origin is not Origin.FILED:
            raise BadInput(f"{indicator!r} is not summed from filings", where="query: indicator")
        return indicator_table(ind, config, self.frame(catalog, year), year, now_ms)

    # -- scenario ------------------------------------------------------------------------------

    def scenario(
        self,
        key: str,
        target_key: str,
        catalog: AssetCatalog,
        now_ms: int,
        *,
        by: str = "industry",
        overrides: Mapping[str, float] | None = None,
        as_of_year: int | None = None,
    ) -> ScenarioResult:
        """The target's projected outcome if one industry group's or district's growth were
        changed: each component is projected from the filings on its own growth. Components
        whose latest figure the city may not see are pooled into one ("withheld")."""
        if by not in ("industry", "district"):
            raise BadInput("by must be 'industry' or 'district'", where="query: by")
        plan = self.plan(key)
        try:
            target = plan.target(target_key)
        except KeyError as err:
            raise NotFound(str(err).strip("'\""), where="query: target") from None
        config = self.config()
        ind = config.indicator(target.indicator)
        if ind.is_ratio or ind.origin is not Origin.FILED or target.kind is not TargetKind.LEVEL:
            raise BadInput(
                "a scenario adds up components: it needs a level target on a summed indicator",
                where="query: target",
            )
        year_now, _ = local_year_month(now_ms)
        # By default the plan as it stood a year before its deadline (or last year, if sooner).
        as_of = min(year_now - 1, as_of_year or target.deadline_year - 1, target.deadline_year)
        frame = self.frame(catalog, as_of)
        keys = GROUP_KEYS if by == "industry" else DISTRICT_KEYS
        kind = ScopeKind.INDUSTRY if by == "industry" else ScopeKind.DISTRICT
        # A component the city may not see in any year used is pooled with the others withheld.
        withheld: set[str] = set()
        for year in range(target.baseline_year, as_of + 1):
            table = indicator_table(ind, config, frame, year, now_ms)
            margin = table.col_totals if by == "industry" else table.row_totals
            withheld |= {k for k, cell in zip(keys, margin, strict=True) if not cell.shown}
        unknown = set(overrides or {}) - set(keys)
        if unknown:
            raise BadInput(
                f"unknown {by} {sorted(unknown)}; one of {', '.join(keys)}", where="overrides"
            )
        if withheld & set(overrides or {}):
            raise BadInput(
                f"{sorted(withheld & set(overrides or {}))} is withheld (too few enterprises)",
                where="overrides",
            )
        components: list[Component] = []
        pooled: dict[int, float] = {}
        for k in keys:
            scope = Scope(kind, k)
            if target.scope.kind is not ScopeKind.CITY and target.scope != scope:
                continue
            acts = [
                a
                for a in self.actuals(ind, scope, frame, [], as_of_year=as_of)
                if a.year >= target.baseline_year and a.value > 0
            ]
            if k in withheld:
                for a in acts:
                    pooled[a.year] = pooled.get(a.year, 0.0) + a.value
            elif len(acts) >= 1:
                components.append(Component(k, tuple(acts)))
        if pooled:
            components.append(
                Component(
                    "withheld",
                    tuple(Actual(y, v, Source.FILED) for y, v in sorted(pooled.items())),
                )
            )
        if not components:
            raise BadInput("no filed figures to project from", where="query: target")
        try:
            return project_components(
                components,
                to_year=target.deadline_year,
                overrides=dict(overrides or {}),
                target=target,
            )
        except ValueError as err:
            raise BadInput(str(err), where="scenario") from None

    # -- an enterprise's own view ------------------------------------------------------------

    def percentiles(
        self, enterprise_id: int, year: int, catalog: AssetCatalog
    ) -> dict[str, tuple[float | None, float | None]]:
        """The enterprise's own value of each filed indicator in a year, and its anonymous
        percentile among the enterprises of its industry group (None below 3 peers)."""
        config = self.config()
        frame = self.frame(catalog, year).of_year(year)
        mine = np.flatnonzero(frame.registry.ids[frame.row] == enterprise_id)
        out: dict[str, tuple[float | None, float | None]] = {}
        if not len(mine):
            return out
        me = int(mine[0])
        peers = frame.group == frame.group[me]
        n = len(frame.row)
        codes = frame.codes
        for key, ind in config.indicators.items():
            if ind.origin is not Origin.FILED or not config.in_set(ind.industries, [codes[me]])[0]:
                continue
            filed = ~np.isnan(frame.figures[ind.numerator])
            if ind.denominator:
                filed &= frame.figures[ind.denominator] > 0
            if not filed[me]:
                out[key] = (None, None)
                continue
            per = aggregate(ind, config, frame.figures, codes, np.arange(n), n).value
            own = float(per[me])
            out[key] = (own, percentile_rank(own, per[peers & filed]))
        return out


def _disclosable(n: int, top: float, total: float, rules: Rules = CITY_RULES) -> bool:
    """Whether a sum over enterprises may be shown to the city (the primary rules)."""
    if n == 0:
        return True
    return n >= rules.min_n and top <= rules.dominance * total * (1 + 1e-12)


def _with_implied_baseline(plan: Plan, t: Target, actuals: list[Actual]) -> list[Actual]:
    # A growth target whose baseline year has no figure is judged from the baseline its level
    # sibling implies (the start the plan itself assumed), marked as implied.
    if t.kind is not TargetKind.GROWTH or t.baseline_value is not None:
        return actuals
    if any(a.year == t.baseline_year for a in actuals):
        return actuals
    for s in plan.targets:
        if _growth_sibling(plan, s) == t:
            implied = Actual(t.baseline_year, implied_baseline(s, t), Source.IMPLIED)
            return sorted([*actuals, implied], key=lambda a: a.year)
    return actuals


def _growth_sibling(plan: Plan, t: Target) -> Target | None:
    if t.kind is not TargetKind.LEVEL:
        return None
    for s in plan.targets:
        if (
            s.kind is TargetKind.GROWTH
            and s.indicator == t.indicator
            and s.scope == t.scope
            and s.baseline_year == t.baseline_year
        ):
            return s
    return None


def _annualise(
    ind: Indicator,
    config: IndicatorConfig,
    last_year: YearFrame,
    last_ytd: YearFrame,
    scope: Scope,
    months: int,
) -> float:
    # Last year's whole over last year's same months; without last year, pro rata.
    def total(f: YearFrame) -> float:
        rows = scope_mask(scope, f.district, f.group)
        value = aggregate(ind, config, f.figures, f.codes, np.where(rows, 0, -1), 1).value[0]
        return float(value)

    year = int(last_year.year[0]) if len(last_year.year) else None
    whole = total(last_year) if year is not None else float("nan")
    part = total(last_ytd.of_year(year)) if year is not None else float("nan")
    if np.isfinite(whole) and np.isfinite(part) and part > 0:
        return whole / part
    return 12 / months
