"""How a plan target is going, from yearly figures: growth so far and still needed, a
projection to the deadline with an uncertainty band, and the status in words (en, zh).

Pure: figures in, a `Progress` out; the year comes in as ``as_of_year``, money in yuan.

The rules, and why:

* Baseline: the target's own ``baseline_value`` (taken as published with the plan); else the
  complete figure for the baseline year; else, for a level target whose growth sibling has the
  same indicator, scope and baseline year, `implied_baseline` (source IMPLIED: what the plan
  itself assumed). Without one there is no trajectory and no growth since the baseline.
* Figures: those from the baseline year to the deadline count, the baseline standing in for
  the baseline year's. Figures after the deadline are ignored (the plan judges the deadline
  year), but one after a deadline year that has none is refused: that year is missing, not over.
  An IMPLIED baseline is the plan's assumption, not a measurement, so the projection leaves it
  out unless it is the only other point there is.
* Projection: log-linear at the compound growth rate from the first to the latest figure (the
  CAGR a plan reader checks), carried on from the latest. Band: central x exp(+-z sd sqrt(h)),
  h the years from the latest figure to the deadline, sd the spread of the annual log growth
  rates (a gap of n years counts once, at its average rate): their sample standard deviation
  when there are at least 3, else DEFAULT_GROWTH_SD (0.05, about 5 points a year, a usual swing
  of a city's industrial growth). sd never goes below that default: a few smooth years say
  little about the next, and a band of zero width would claim a certainty no plan indicator
  has. A year in progress annualised from m months (ESTIMATE) leaves (12 - m) / 12 of a year
  unobserved, which is added to h: the same volatility, pro rata.
* Status: a complete figure for the deadline year that is not an ESTIMATE decides MET or
  MISSED. Until then a floor is ON_TRACK when the central projection meets it, AT_RISK when only
  the band's high edge does and OFF_TRACK when not even that; a ceiling mirrors this with the
  low edge. A growth target compares the projected average growth from baseline to deadline
  with its rate: the same as comparing the projection with baseline x (1 + g)^years, the level
  it calls for (`goal_level`). NO_DATA without figures, without a baseline for a growth target,
  or with a single point and so no growth.
* Required growth: a year, from the latest figure to the level the target calls for; for a
  growth target that is what keeps the whole period's average at its rate.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from kiln.plan.model import Bound, Target, TargetKind, implied_baseline

Z_80 = 1.2816  # two-sided 80 % band of the normal distribution
DEFAULT_GROWTH_SD = 0.05  # annual log growth, about 5 percentage points a year
MIN_RATES_FOR_SD = 3  # fewer growth rates give no usable sample spread


class Source(StrEnum):
    """Where a yearly figure comes from."""

    PUBLISHED = "published"  # the statistics bureau, or the plan's documents
    FILED = "filed"  # the sum of enterprises' statistical filings
    MEASURED = "measured"  # counted by the platform from connected equipment
    IMPLIED = "implied"  # derived from the plan's own targets
    ESTIMATE = "estimate"  # estimated by the service, e.g. a year in progress annualised


@dataclass(frozen=True, slots=True)
class Actual:
    """The value of an indicator for one year, and how far it can be trusted."""

    year: int
    value: float
    source: Source
    coverage: float | None = None  # share of enterprises in scope that filed (0..1)
    partial_months: int = 12  # < 12: the service annualised a year in progress (ESTIMATE)

    def __post_init__(self) -> None:
        where = f"actual {self.year}"
        if not math.isfinite(self.value):
            raise ValueError(f"{where}: value {self.value} is not a number")
        if self.coverage is not None and not 0.0 <= self.coverage <= 1.0:
            raise ValueError(f"{where}: coverage {self.coverage} is not within 0..1")
        if not 1 <= self.partial_months <= 12:
            raise ValueError(f"{where}: partial_months {self.partial_months} is not 1..12")
        if self.partial_months < 12 and self.source is not Source.ESTIMATE:
            raise ValueError(f"{where}: a partial year must be an ESTIMATE, not {self.source}")


class Status(StrEnum):
    """Where a target stands."""

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    MET = "met"
    MISSED = "missed"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class Projection:
    """A value projected to a year, its band, and the growth (% a year) carried forward."""

    year: int
    central: float
    low: float
    high: float
    growth_pct: float


@dataclass(frozen=True, slots=True)
class Progress:
    """How one target is going; the module docstring gives the rules."""

    target: Target
    baseline: Actual | None  # the baseline used (given, actual, or IMPLIED from a sibling)
    trajectory: tuple[tuple[int, float], ...]  # the target's own path, baseline to deadline
    actuals: tuple[Actual, ...]  # the figures that count: baseline year to deadline
    yoy_pct: dict[int, float]  # growth year on year where both years are known
    cagr_pct: float | None  # since the baseline to the latest figure
    required_cagr_pct: float | None  # still needed a year, from the latest figure
    projection: Projection | None  # at the deadline
    status: Status
    reason_en: str
    reason_zh: str


def format_money(value_yuan: float, lang: str = "en") -> str:
    """Money for a reader: mn, bn or trillion yuan in English, 万元, 亿元 or 万亿元 in Chinese.

    >>> format_money(1.2e11), format_money(1.2e11, "zh")
    ('120 bn yuan', '1200亿元')
    >>> format_money(7.89e10), format_money(7.89e10, "zh-CN")
    ('78.9 bn yuan', '789.0亿元')
    >>> format_money(2.24e12), format_money(2.24e12, "zh")
    ('2.24 trillion yuan', '2.24万亿元')
    >>> format_money(-5.2e6), format_money(5.2e6, "zh"), format_money(1234.0)
    ('-5.2 mn yuan', '520.0万元', '1,234 yuan')
    """
    if not math.isfinite(value_yuan):
        raise ValueError(f"money {value_yuan} is not a number")
    sign, v = ("-" if value_yuan < 0 else ""), abs(value_yuan)
    if _language(lang) == "en":
        for unit, name, places in ((1e12, "trillion", 2), (1e9, "bn", 1), (1e6, "mn", 1)):
            if round(v / unit, places) >= 1:
                return f"{sign}{_trim(f'{v / unit:.{places}f}')} {name} yuan"
        return f"{sign}{v:,.0f} yuan"
    if round(v / 1e12, 2) >= 1:
        return f"{sign}{v / 1e12:.2f}万亿元"
    for unit, name in ((1e8, "亿元"), (1e4, "万元")):
        if round(v / unit, 1) >= 1:  # four significant figures, as the bureau prints them
            return f"{sign}{v / unit:.{0 if round(v / unit, 1) >= 1000 else 1}f}{name}"
    return f"{sign}{v:.0f}元"


def sorted_actuals(
    actuals: Sequence[Actual], *, where: str, as_of_year: int | None = None
) -> tuple[Actual, ...]:
    """Figures in year order; ValueError for a year repeated, after ``as_of_year``, or partial
    but not the latest."""
    ordered = tuple(sorted(actuals, key=lambda a: a.year))
    for before, after in itertools.pairwise(ordered):
        if before.year == after.year:
            raise ValueError(f"{where}: year {after.year} appears more than once")
        if before.partial_months < 12:
            raise ValueError(f"{where}: {before.year} is a partial year but not the latest")
    if as_of_year is not None and ordered and ordered[-1].year > as_of_year:
        raise ValueError(f"{where}: a figure for {ordered[-1].year} is after {as_of_year}")
    return ordered


def project(
    series: Sequence[Actual],
    *,
    to_year: int,
    growth_pct: float | None = None,
    band_z: float = Z_80,
    where: str = "series",
) -> Projection:
    """Carry a yearly series to ``to_year`` at its CAGR, or at ``growth_pct`` from its latest
    figure, with the band of the module docstring.

    >>> s = [Actual(2017, 100.0, Source.PUBLISHED), Actual(2019, 121.0, Source.PUBLISHED)]
    >>> p = project(s, to_year=2020)
    >>> round(p.growth_pct, 1), round(p.central, 1), round(p.low, 1), round(p.high, 1)
    (10.0, 133.1, 124.8, 141.9)
    """
    if not (math.isfinite(band_z) and band_z > 0):
        raise ValueError(f"{where}: band_z {band_z} is not a positive number")
    points = sorted_actuals(series, where=where)
    for a in points:
        if a.value <= 0:
            raise ValueError(
                f"{where}: {a.year} value {a.value} is not positive; growth needs logs"
            )
    if not points or to_year < points[-1].year:
        raise ValueError(f"{where}: no figure up to {to_year} to project from")
    first, latest = points[0], points[-1]
    rates = [
        (math.log(b.value / a.value)) / (b.year - a.year) for a, b in itertools.pairwise(points)
    ]
    if growth_pct is not None:
        if not (math.isfinite(growth_pct) and growth_pct > -100):
            raise ValueError(f"{where}: growth {growth_pct} % a year is not above -100 %")
        log_growth = math.log1p(growth_pct / 100)
    elif rates:
        log_growth = math.log(latest.value / first.value) / (latest.year - first.year)
    else:
        raise ValueError(f"{where}: growth needs figures for two years, got {latest.year} only")
    sd = DEFAULT_GROWTH_SD
    if len(rates) >= MIN_RATES_FOR_SD:
        sd = max(statistics.stdev(rates), DEFAULT_GROWTH_SD)
    horizon = to_year - latest.year + (12 - latest.partial_months) / 12
    half_width = band_z * sd * math.sqrt(horizon)
    central = latest.value * math.exp(log_growth * (to_year - latest.year))
    low, high = central * math.exp(-half_width), central * math.exp(half_width)
    return Projection(to_year, central, low, high, math.expm1(log_growth) * 100)


def goal_level(target: Target, baseline: float | None) -> float | None:
    """The level the target calls for at its deadline; a growth target needs the baseline.

    >>> round(goal_level(Target("g", "x", TargetKind.GROWTH, 10.0, 2020, 2017), 100.0), 1)
    133.1
    """
    if target.kind is TargetKind.LEVEL:
        return target.value
    if baseline is None:
        return None
    return baseline * (1 + target.value / 100) ** (target.deadline_year - target.baseline_year)


def projected_status(target: Target, projection: Projection, *, baseline: float | None) -> Status:
    """ON_TRACK, AT_RISK or OFF_TRACK for a projection to the deadline (module docstring)."""
    if projection.year != target.deadline_year:
        raise ValueError(
            f"target {target.key!r}: a projection to {projection.year} cannot be judged "
            f"against the deadline {target.deadline_year}"
        )
    favourable = projection.high if target.bound is Bound.FLOOR else projection.low
    if target.met_by(_in_target_terms(target, projection.central, baseline)):
        return Status.ON_TRACK
    if target.met_by(_in_target_terms(target, favourable, baseline)):
        return Status.AT_RISK
    return Status.OFF_TRACK


def progress(
    target: Target,
    actuals: Sequence[Actual],
    *,
    as_of_year: int,
    growth_sibling: Target | None = None,
    unit: str = "yuan",
    band_z: float = Z_80,
) -> Progress:
    """How ``target`` is going on these yearly figures, known as of ``as_of_year``.

    >>> t = Target("out", "x", TargetKind.LEVEL, 120e9, 2020, 2017)
    >>> figures = [Actual(2017, 78.9e9, Source.PUBLISHED), Actual(2019, 97e9, Source.FILED)]
    >>> p = progress(t, figures, as_of_year=2020)
    >>> p.status.value, round(p.required_cagr_pct or 0, 1)
    ('off_track', 23.7)
    >>> print(p.reason_en)  # doctest: +NORMALIZE_WHITESPACE
    Off track: projected 107.6 bn yuan in 2020 against a floor of 120 bn yuan; even the high
    end of the 80 % band (114.7 bn yuan) falls short. Growth of 10.9 % a year since 2017, 23.7 %
    a year needed from 2019.
    """
    where = f"target {target.key!r}"
    window = _window(target, sorted_actuals(actuals, where=where, as_of_year=as_of_year), where)
    baseline = _baseline(target, window, growth_sibling, where)
    series = [a for a in window if baseline is None or a.year != baseline.year]
    if baseline is not None and (baseline.source is not Source.IMPLIED or len(series) == 1):
        series.insert(0, baseline)
    projection = None
    if len(series) >= 2:
        projection = project(series, to_year=target.deadline_year, band_z=band_z, where=where)
    b = None if baseline is None else baseline.value
    status, no_data = _status(target, window, projection, b)
    latest = window[-1] if window else None
    cagr, required = _growth_figures(target, baseline, latest)
    facts = _Facts(
        target, status, no_data, baseline, latest, projection, cagr, required, unit,
        pending=as_of_year > target.deadline_year,
        band_pct=round(100 * math.erf(band_z / math.sqrt(2))),
    )  # fmt: skip
    known = {a.year: a.value for a in series if a.source is not Source.IMPLIED}
    return Progress(
        target=target,
        baseline=baseline,
        trajectory=_trajectory(target, b),
        actuals=window,
        yoy_pct={y: (v / known[y - 1] - 1) * 100 for y, v in known.items() if y - 1 in known},
        cagr_pct=cagr,
        required_cagr_pct=required,
        projection=projection,
        status=status,
        reason_en=_reason(facts, "en"),
        reason_zh=_reason(facts, "zh"),
    )


def _growth_figures(
    target: Target, baseline: Actual | None, latest: Actual | None
) -> tuple[float | None, float | None]:
    """Growth a year since the baseline, and needed from the latest figure to the deadline."""
    if latest is None:
        return None, None
    cagr = required = None
    if baseline is not None and latest.year > baseline.year:
        cagr = _cagr_pct(baseline.value, latest.value, latest.year - baseline.year)
    goal = goal_level(target, None if baseline is None else baseline.value)
    if goal is not None and latest.year < target.deadline_year:
        required = _cagr_pct(latest.value, goal, target.deadline_year - latest.year)
    return cagr, required


def _window(target: Target, ordered: tuple[Actual, ...], where: str) -> tuple[Actual, ...]:
    end = target.deadline_year
    later = [a.year for a in ordered if a.year > end]
    if later and all(a.year != end for a in ordered):
        raise ValueError(f"{where}: a figure for {later[0]} but none for the deadline year {end}")
    return tuple(a for a in ordered if target.baseline_year <= a.year <= end)


def _baseline(
    target: Target, window: tuple[Actual, ...], sibling: Target | None, where: str
) -> Actual | None:
    if sibling is not None and (
        target.kind is not TargetKind.LEVEL
        or sibling.kind is not TargetKind.GROWTH
        or (sibling.indicator, sibling.scope, sibling.baseline_year)
        != (target.indicator, target.scope, target.baseline_year)
    ):
        raise ValueError(
            f"{where}: growth sibling {sibling.key!r} is not a growth target on the same "
            "indicator, scope and baseline year as this level target"
        )
    year = target.baseline_year
    found = next((a for a in window if a.year == year and a.partial_months == 12), None)
    if target.baseline_value is not None:
        found = Actual(year, target.baseline_value, Source.PUBLISHED)
    if found is None and sibling is not None:
        found = Actual(year, implied_baseline(target, sibling), Source.IMPLIED)
    if found is not None and found.value <= 0:
        raise ValueError(f"{where}: baseline {found.value} is not positive; growth needs logs")
    return found


def _trajectory(target: Target, baseline: float | None) -> tuple[tuple[int, float], ...]:
    """The target's path at constant growth from the baseline; empty without a baseline."""
    end = goal_level(target, baseline)
    if baseline is None or end is None:
        return ()
    y0, span = target.baseline_year, target.deadline_year - target.baseline_year
    if end <= 0:  # no constant growth reaches zero; a straight line does
        return tuple((y0 + t, baseline + (end - baseline) * t / span) for t in range(span + 1))
    return tuple((y0 + t, baseline * math.pow(end / baseline, t / span)) for t in range(span + 1))


def _status(
    target: Target, window: tuple[Actual, ...], projection: Projection | None, base: float | None
) -> tuple[Status, str]:
    """The status, and for NO_DATA which of the module docstring's cases it is."""
    if not window:
        return Status.NO_DATA, "no_figures"
    if target.kind is TargetKind.GROWTH and base is None:
        return Status.NO_DATA, "no_baseline"
    last = window[-1]
    final = last.partial_months == 12 and last.source is not Source.ESTIMATE
    if last.year == target.deadline_year and final:
        met = target.met_by(_in_target_terms(target, last.value, base))
        return (Status.MET if met else Status.MISSED), ""
    if projection is None:
        return Status.NO_DATA, "one_point"
    return projected_status(target, projection, baseline=base), ""


def _in_target_terms(target: Target, level: float, baseline: float | None) -> float:
    """A deadline level as the target counts it: itself, or the average growth (%) it makes."""
    if target.kind is TargetKind.LEVEL:
        return level
    if baseline is None:
        raise ValueError(f"target {target.key!r}: a growth target needs a baseline")
    return _cagr_pct(baseline, level, target.deadline_year - target.baseline_year)


def _cagr_pct(start: float, end: float, years: int) -> float:
    return (math.pow(end / start, 1 / years) - 1) * 100


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the reasons are written from."""

    target: Target
    status: Status
    no_data: str  # for NO_DATA: "no_figures", "no_baseline" or "one_point"
    baseline: Actual | None
    latest: Actual | None
    projection: Projection | None
    cagr_pct: float | None
    required_pct: float | None
    unit: str
    pending: bool  # the deadline year is over but has no final figure yet
    band_pct: int

    def shown(self, level: float, lang: str) -> str:
        """A deadline level as the target counts it: the level, or the average growth."""
        if self.target.kind is TargetKind.LEVEL:
            return _amount(level, self.unit, lang)
        base = None if self.baseline is None else self.baseline.value
        return _pct(_in_target_terms(self.target, level, base), lang)


_TEXT = {
    "en": {
        **{s.value: s.value.replace("_", " ").capitalize() for s in Status},
        "no_figures": "No data: no figures for {y0}-{end} yet.",
        "no_baseline": "No data: no baseline for {y0} to measure growth from.",
        "one_point": "No data: figures for {year} only ({latest}), too few to estimate growth.",
        "level": "{word}: {shown} in {end} against a {bound} of {goal}",
        "level_projected": "{word}: projected {shown} in {end} against a {bound} of {goal}",
        "growth": "{word}: average growth of {shown} a year over {y0}-{end} against a {bound} "
        "of {goal}",
        "growth_projected": "{word}: projected average growth of {shown} a year over "
        "{y0}-{end} against a {bound} of {goal}",
        "floor": "floor",
        "ceiling": "ceiling",
        "at_risk.floor": "; only the high end of the {band} % band ({edge}) reaches it",
        "at_risk.ceiling": "; only the low end of the {band} % band ({edge}) stays within it",
        "off_track.floor": "; even the high end of the {band} % band ({edge}) falls short",
        "off_track.ceiling": "; even the low end of the {band} % band ({edge}) exceeds it",
        "cagr": "growth of {cagr} a year since {y0}",
        "need": "{need} a year needed from {year}",
        "implied": "the {y0} baseline of {base} is implied by the growth target",
        "partial": "{year} is annualised from {months} months",
        "coverage": "filings for {year} cover {coverage:.0f} % of enterprises in scope",
        "pending": "no final figure for {end} yet",
        "and": ", ",
        "notes": "{} ({})",
        "notes_and": "; ",
        "stop": ". ",
        "end": ".",
    },
    "zh": {
        "on_track": "进度正常",
        "at_risk": "存在风险",
        "off_track": "进度滞后",
        "met": "已完成",
        "missed": "未完成",
        "no_data": "暂无数据",
        "no_figures": "暂无数据：{y0}—{end}年尚无数值。",
        "no_baseline": "暂无数据：缺少{y0}年基数，无法计算增速。",
        "one_point": "暂无数据：仅有{year}年数值（{latest}），不足以估计增速。",
        "level": "{word}：{end}年为{shown}，目标{bound}{goal}",
        "level_projected": "{word}：预计{end}年达{shown}，目标{bound}{goal}",
        "growth": "{word}：{y0}—{end}年年均增长{shown}，目标{bound}{goal}",
        "growth_projected": "{word}：预计{y0}—{end}年年均增长{shown}，目标{bound}{goal}",
        "floor": "不低于",
        "ceiling": "不高于",
        "at_risk.floor": "，仅{band}%区间上限（{edge}）能达到",
        "at_risk.ceiling": "，仅{band}%区间下限（{edge}）不超过目标",
        "off_track.floor": "，即使{band}%区间上限（{edge}）也达不到",
        "off_track.ceiling": "，即使{band}%区间下限（{edge}）也超过目标",
        "cagr": "{y0}年以来年均增长{cagr}",
        "need": "{year}年起每年需增长{need}",
        "implied": "{y0}年基数{base}由增速目标推算",
        "partial": "{year}年数值由{months}个月折算全年",
        "coverage": "{year}年填报企业占范围内企业的{coverage:.0f}%",
        "pending": "{end}年尚无最终数值",
        "and": "，",
        "notes": "{}（{}）",
        "notes_and": "；",
        "stop": "。",
        "end": "。",
    },
}


def _reason(f: _Facts, lang: str) -> str:
    """The status with its figures; then growth so far and needed, with notes on the data."""
    text, t, a = _TEXT[lang], f.target, f.latest
    words: dict[str, object] = {"y0": t.baseline_year, "end": t.deadline_year, "band": f.band_pct}
    if f.status is Status.NO_DATA:
        latest = "" if a is None else _amount(a.value, f.unit, lang)
        return text[f.no_data].format(year=a.year if a else "", latest=latest, **words)
    second = text["and"].join(_growth_parts(f, lang, words))
    notes = text["notes_and"].join(_notes(f, lang, words))
    if notes:
        second = text["notes"].format(second, notes) if second else notes
    first = _verdict(f, lang, words)
    if not second:
        return first + text["end"]
    return first + text["stop"] + second[:1].upper() + second[1:] + text["end"]


def _verdict(f: _Facts, lang: str, words: Mapping[str, object]) -> str:
    text, t, p = _TEXT[lang], f.target, f.projection
    if f.status in (Status.MET, Status.MISSED):
        assert f.latest is not None  # decided on the deadline year's figure
        key, level = t.kind.value, f.latest.value
    else:
        assert p is not None  # projected statuses come with a projection
        key, level = f"{t.kind.value}_projected", p.central
    goal = _pct(t.value, lang) if t.kind is TargetKind.GROWTH else _amount(t.value, f.unit, lang)
    first = text[key].format(
        word=text[f.status.value],
        shown=f.shown(level, lang),
        bound=text[t.bound.value],
        goal=goal,
        **words,
    )
    if p is not None and f.status in (Status.AT_RISK, Status.OFF_TRACK):
        edge = f.shown(p.high if t.bound is Bound.FLOOR else p.low, lang)
        first += text[f"{f.status.value}.{t.bound.value}"].format(edge=edge, **words)
    return first


def _growth_parts(f: _Facts, lang: str, words: Mapping[str, object]) -> list[str]:
    text, parts = _TEXT[lang], []
    if f.cagr_pct is not None:
        parts.append(text["cagr"].format(cagr=_pct(f.cagr_pct, lang), **words))
    if f.required_pct is not None and f.latest is not None:
        need = _pct(f.required_pct, lang)
        parts.append(text["need"].format(need=need, year=f.latest.year, **words))
    return parts


def _notes(f: _Facts, lang: str, words: Mapping[str, object]) -> list[str]:
    text, notes, b, a = _TEXT[lang], [], f.baseline, f.latest
    if b is not None and b.source is Source.IMPLIED:
        notes.append(text["implied"].format(base=_amount(b.value, f.unit, lang), **words))
    if a is not None and a.partial_months < 12:
        notes.append(text["partial"].format(year=a.year, months=a.partial_months))
    if a is not None and a.coverage is not None and a.coverage < 1:
        notes.append(text["coverage"].format(year=a.year, coverage=a.coverage * 100))
    if f.pending and f.status not in (Status.MET, Status.MISSED):
        notes.append(text["pending"].format(**words))
    return notes


def _pct(x: float, lang: str) -> str:
    return f"{x:.1f} %" if _language(lang) == "en" else f"{x:.1f}%"


def _amount(x: float, unit: str, lang: str) -> str:
    if unit == "yuan":
        return format_money(x, lang)
    return f"{_trim(f'{x:,.1f}')}{' ' if unit.isascii() else ''}{unit}"


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def _language(lang: str) -> str:
    """'en' or 'zh' from a tag such as 'zh-CN'; ValueError for any other."""
    base = lang.split("-")[0].lower()
    if base not in ("en", "zh"):
        raise ValueError(f"language {lang!r}: expected 'en' or 'zh'")
    return base
