"""The city's yearly report on its industry and the action plan: the year's facts gathered from
the plan tracker, and the words (English or Chinese) written from them.

What the report says, and why:

* A level is the published figure when there is one; else the sum of the filings, saying how
  many of the registered enterprises filed, and protected like the city's tables (withheld when
  fewer than 3 enterprises contribute or one makes up more than 85 %); else, where a plan's
  targets imply it (a level target and its growth sibling), the implied value; else missing.
* Growth on the year before: a published growth; else from the published levels of both years;
  else like for like, from the enterprises that filed whole years for both (protected the same
  way). Never a published level against a filed one: they count different enterprises.
* Plans: every plan that started by the year (or the one asked for), each target judged as
  known at the end of the year. A target whose filed figures are withheld in the city's tables
  shows its status only.
* Nothing is invented: a figure that is missing is said to be missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np

from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.domain.catalog import AssetCatalog
from kiln.errors import NotFound
from kiln.plan.disclosure import CITY_RULES, protect
from kiln.plan.documents import Measure, PublishedFigure
from kiln.plan.indicators import Aggregation, Indicator, Origin, industry_groups
from kiln.plan.model import CITY, Plan, Scope, ScopeKind, TargetKind, implied_baseline
from kiln.plan.progress import Source
from kiln.plan_service.frame import DISTRICT_KEYS, GROUP_KEYS
from kiln.plan_service.report_model import (
    Basis,
    Chart,
    Fact,
    Figure,
    Note,
    PlanSection,
    Report,
    TargetLine,
)
from kiln.plan_service.report_text import (
    FACTS,
    STATUS,
    TEXT,
    amount,
    check_lang,
    check_year,
    pct,
    summary,
)
from kiln.plan_service.service import (
    HEADLINE,
    PlanService,
    TargetView,
)
from kiln.plan_service.tables import CITY_ZONE, Cell, IndicatorTable, indicator_table


def build_report(
    service: PlanService,
    catalog: AssetCatalog,
    now_ms: int,
    *,
    year: int,
    lang: str = "en",
    plan_key: str | None = None,
) -> Report:
    """The report for a year that is over; BadInput names a bad year or language (where 'year'
    or 'lang'), NotFound an unknown plan (where 'plan')."""
    lang = check_lang(lang)
    check_year(year, now_ms)
    if plan_key is not None:
        try:
            plans = [service.plan(plan_key)]
        except NotFound:
            raise NotFound(f"no plan {plan_key!r}", where="plan") from None
    else:
        plans = sorted(
            (p for p in service.plans() if p.start_year <= year),
            key=lambda p: (p.start_year, p.key),
        )
    g = _Gather(service, catalog, now_ms, year, lang)
    facts = g.facts()
    sections = tuple(g.plan_section(p) for p in plans)
    tables = g.tables()
    t = TEXT[lang]
    date = dt.datetime.fromtimestamp(now_ms / 1000, CITY_ZONE).date().isoformat()
    return Report(
        year=year,
        lang=lang,
        plan_key=plan_key,
        title=t["title"].format(year=year),
        intro=t["intro"].format(year=year, date=date),
        summary=summary(facts, sections, year, lang),
        facts=facts,
        plans=sections,
        plans_note="" if sections else t["plan.none"].format(year=year),
        tables=tables,
        tables_note="" if tables else t["table.none"].format(year=year),
        notes=g.all_notes(),
    )


class _Gather:
    """The year's facts, plans and tables from the service, with their footnotes."""

    def __init__(
        self, service: PlanService, catalog: AssetCatalog, now_ms: int, year: int, lang: str
    ) -> None:
        self.service, self.catalog, self.now_ms = service, catalog, now_ms
        self.year, self.lang, self.t = year, lang, TEXT[lang]
        self.config = service.config()
        self.frame = service.frame(catalog, year)
        self.published = [p for p in service.plans_store.published() if p.scope == CITY]
        self.notes: dict[tuple[str, str], Note] = {}
        self.withheld = False
        self._tables: dict[tuple[str, int], IndicatorTable] = {}

    # -- footnotes and small pieces ----------------------------------------------------------

    def mark(self, p: PublishedFigure) -> str:
        """The footnote number of a published figure's source."""
        key = (p.source, p.note)
        if key not in self.notes:
            url = p.source if p.source.startswith(("https://", "http://")) else ""
            text = p.note or p.source
            if p.reliability == "low":
                text = f"{text.rstrip('.')}. {self.t['note.low']}"
            self.notes[key] = Note(str(len(self.notes) + 1), text, url)
        return self.notes[key].mark

    def all_notes(self) -> tuple[Note, ...]:
        """Every footnote used, the disclosure rule last when something was withheld."""
        n, share = CITY_RULES.min_n, round(CITY_RULES.dominance * 100)
        rule = [Note("*", self.t["note.withheld"].format(n=n, share=share))]
        return (*self.notes.values(), *(rule if self.withheld else []))

    def table(self, ind: Indicator, year: int) -> IndicatorTable:
        """A filed indicator by district and industry for a year, protected (cached)."""
        key = (ind.key, year)
        if key not in self._tables:
            self._tables[key] = indicator_table(ind, self.config, self.frame, year, self.now_ms)
        return self._tables[key]

    def _find(self, key: str, measure: Measure, year: int) -> PublishedFigure | None:
        return next(
            (p for p in self.published if (p.indicator, p.measure, p.year) == (key, measure, year)),
            None,
        )

    def _missing(self) -> Figure:
        return Figure(None, Basis.MISSING, self.t["missing"])

    def _withheld(self) -> Figure:
        self.withheld = True
        return Figure(None, Basis.WITHHELD, self.t["withheld"], "*")

    def _published(self, marks: list[PublishedFigure], value: float, text: str) -> Figure:
        low = any(p.reliability == "low" for p in marks)
        tag = self.t["tag.published"].format(marks=", ".join(self.mark(p) for p in marks))
        how = self.t["how.low"] if low else ""
        if len(marks) > 1:
            tag = self.t["tag.levels"].format(marks=", ".join(self.mark(p) for p in marks))
            how = self.t["how.levels"] + how
        return Figure(value, Basis.PUBLISHED, text, tag + (self.t["tag.low"] if low else ""), how)

    # -- the headline facts ------------------------------------------------------------------

    def facts(self) -> tuple[Fact, ...]:
        """The headline facts of the year, then who filed."""
        out = []
        for key, with_growth in FACTS:
            ind = self.config.indicators.get(key)
            name = key.replace("_", " ") if ind is None else _name(ind, self.lang)
            level = self._missing() if ind is None else self.level(ind)
            growth = None
            if with_growth:
                growth = self._missing() if ind is None else self.growth(ind)
            out.append(Fact(key, name, level, growth))
        return (*out, self._coverage())

    def level(self, ind: Indicator) -> Figure:
        """Published, else filed (protected), else implied by a plan, else missing."""
        pub = self._find(ind.key, Measure.LEVEL, self.year)
        if pub is not None:
            return self._published([pub], pub.value, amount(pub.value, ind.unit, self.lang))
        if ind.origin is Origin.FILED:
            table = self.table(ind, self.year)
            cov = table.coverage
            if cov.filed and table.total.value is None:
                return self._withheld()
            if cov.filed and table.total.value is not None:
                words = {"filed": cov.filed, "scope": cov.in_scope}
                inds = self.t["how.in_set"] if ind.industries else ""
                return Figure(
                    table.total.value,
                    Basis.FILED,
                    amount(table.total.value, ind.unit, self.lang),
                    self.t["tag.filed"].format(**words),
                    self.t["how.filed"].format(inds=inds, **words),
                )
        return self._implied(ind) or self._missing()

    def _implied(self, ind: Indicator) -> Figure | None:
        """The year's value a plan's level target and its growth sibling imply, if any."""
        key = (ind.key, CITY, self.year)
        for plan in self.service.plans():
            same = [t for t in plan.targets if (t.indicator, t.scope, t.baseline_year) == key]
            levels = [t for t in same if t.kind is TargetKind.LEVEL]
            growths = [t for t in same if t.kind is TargetKind.GROWTH]
            if levels and growths:
                value = implied_baseline(levels[0], growths[0])
                text = amount(value, ind.unit, self.lang)
                return Figure(value, Basis.IMPLIED, text, self.t["tag.implied"])
        return None

    def growth(self, ind: Indicator) -> Figure:
        """Published growth, else from published levels, else like for like from filings."""
        pub = self._find(ind.key, Measure.GROWTH, self.year)
        if pub is not None:
            return self._published([pub], pub.value, pct(pub.value, self.lang, signed=True))
        now = self._find(ind.key, Measure.LEVEL, self.year)
        before = self._find(ind.key, Measure.LEVEL, self.year - 1)
        if now is not None and before is not None and before.value > 0:
            g = (now.value / before.value - 1) * 100
            return self._published([before, now], g, pct(g, self.lang, signed=True))
        summed = ind.origin is Origin.FILED and ind.aggregation is Aggregation.SUM
        if summed and not ind.is_ratio:
            return self._matched(ind)
        return self._missing()

    def _matched(self, ind: Indicator) -> Figure:
        """Growth over the enterprises that filed whole years for both years."""
        now, before = self._whole_years(ind, self.year), self._whole_years(ind, self.year - 1)
        both = sorted(set(now) & set(before))
        if not both:
            return self._missing()
        x1 = np.array([now[r] for r in both])
        x0 = np.array([before[r] for r in both])
        sums = [float(x0.sum()), float(x1.sum())]
        counts = [int((x0 > 0).sum()), int((x1 > 0).sum())]
        if protect(sums, counts, [float(x0.max()), float(x1.max())], []).suppressed.any():
            return self._withheld()
        if sums[0] <= 0:
            return self._missing()
        g = (sums[1] / sums[0] - 1) * 100
        words = {"n": len(both), "prev": self.year - 1, "year": self.year}
        return Figure(
            g,
            Basis.FILED,
            pct(g, self.lang, signed=True),
            self.t["tag.matched"].format(**words),
            self.t["how.matched"].format(**words),
        )

    def _whole_years(self, ind: Indicator, year: int) -> dict[int, float]:
        f = self.frame.of_year(year)
        num = f.figures[ind.numerator]
        ok = self.config.in_set(ind.industries, f.codes) & ~np.isnan(num) & (f.months == 12)
        return dict(zip(f.row[ok].tolist(), (num[ok] * ind.scale).tolist(), strict=True))

    def _coverage(self) -> Fact:
        f = self.frame.of_year(self.year)
        filed = len(np.unique(f.row[f.months > 0]))
        registered = len(self.frame.registry.ids)
        text = self.t["coverage.text"].format(filed=filed, registered=registered)
        level = Figure(float(filed), Basis.FILED, text, self.t["tag.registry"])
        return Fact("filings", self.t["coverage.name"], level, None)

    # -- plans -------------------------------------------------------------------------------

    def plan_section(self, plan: Plan) -> PlanSection:
        """A plan's targets as known at the end of the year."""
        title = plan.name_zh if self.lang == "zh" and plan.name_zh else plan.name_en
        about = _about(plan, self.year, self.t)
        try:
            board = self.service.dashboard(
                plan.key, self.catalog, self.now_ms, as_of_year=self.year
            )
        except ValueError as err:  # a target whose figures cannot be judged (progress.py)
            return PlanSection(plan.key, title, about, (), self.t["plan.error"].format(error=err))
        return PlanSection(plan.key, title, about, tuple(self._target(v) for v in board.targets))

    def _target(self, view: TargetView) -> TargetLine:
        p, target = view.progress, view.target
        name = target.name_zh if self.lang == "zh" else target.name_en
        label = name or f"{_name(view.indicator, self.lang)} ({target.key})"
        if target.scope != CITY:
            label = f"{label} ({_scope_name(target.scope, self.lang)})"
        hidden = self._hides(view)
        reason = p.reason_zh if self.lang == "zh" else p.reason_en
        chart = None
        if target.kind is TargetKind.LEVEL and not hidden and (p.trajectory or p.actuals):
            figures = {a.year: a for a in p.actuals}
            if p.baseline is not None:  # given with the plan, or implied: drawn all the same
                figures.setdefault(p.baseline.year, p.baseline)
            latest = max(figures, default=target.deadline_year)
            chart = Chart(
                unit=view.indicator.unit,
                goal=target.value,
                deadline=target.deadline_year,
                trajectory=p.trajectory,
                actuals=tuple((a.year, a.value, a.source) for _, a in sorted(figures.items())),
                projection=p.projection if latest < target.deadline_year else None,
            )
        if hidden:
            reason = self.t["target.withheld"]
        return TargetLine(label, p.status, STATUS[self.lang][p.status], reason, chart)

    def _hides(self, view: TargetView) -> bool:
        """Whether a filed figure behind the target is withheld in the city's tables."""
        if view.withheld_years:  # the service left those years' sums out (disclosure control)
            self.withheld = True
            return True
        if view.indicator.origin is not Origin.FILED:
            return False
        ind, scope = view.indicator, view.target.scope
        for a in view.progress.actuals:
            filed = a.source in (Source.FILED, Source.ESTIMATE)
            if filed and not _scope_cell(self.table(ind, a.year), scope).shown:
                self.withheld = True
                return True
        return False

    # -- tables ------------------------------------------------------------------------------

    def tables(self) -> tuple[IndicatorTable, ...]:
        """The headline indicators by district and industry, for those anyone filed."""
        out = []
        for key in HEADLINE:
            ind = self.config.indicators.get(key)
            if ind is None or ind.origin is not Origin.FILED:
                continue
            table = self.table(ind, self.year)
            if not table.coverage.filed:
                continue
            cells = [*table.row_totals, *table.col_totals, table.total]
            if any(not c.shown for c in (*cells, *(c for row in table.interior for c in row))):
                self.withheld = True
            out.append(table)
        return tuple(out)


def _scope_cell(table: IndicatorTable, scope: Scope) -> Cell:
    if scope.kind is ScopeKind.CITY:
        return table.total
    keys, cells = (
        (DISTRICT_KEYS, table.row_totals)
        if scope.kind is ScopeKind.DISTRICT
        else (GROUP_KEYS, table.col_totals)
    )
    return cells[keys.index(scope.key)] if scope.key in keys else Cell(None, "unknown", None)


def _name(ind: Indicator, lang: str) -> str:
    return ind.name_zh if lang == "zh" and ind.name_zh else ind.name_en


def _scope_name(scope: Scope, lang: str) -> str:
    names = {d.code: (d.name_en, d.name_zh) for d in FOSHAN_DISTRICTS}
    names |= {g.key: (g.name_en, g.name_zh) for g in industry_groups()}
    en, zh = names.get(scope.key, (scope.key, scope.key))
    return zh if lang == "zh" else en


def _about(plan: Plan, year: int, t: Mapping[str, str]) -> str:
    words = {"start": plan.start_year, "end": plan.end_year, "year": year}
    first = t["plan.runs"].format(**words)
    if plan.issuer:
        issuer = plan.issuer_zh if t is TEXT["zh"] and plan.issuer_zh else plan.issuer
        first = t["plan.issued"].format(issuer=issuer, issued=plan.issued, **words)
    if year < plan.start_year:
        second = t["plan.ahead"].format(**words)
    elif year > plan.end_year:
        second = t["plan.ended"].format(**words)
    else:
        n = plan.end_year - plan.start_year + 1
        second = t["plan.running"].format(k=year - plan.start_year + 1, n=n, **words)
    return f"{first}{t['space']}{second}"


# -- the narrative ----------------------------------------------------------------------------
