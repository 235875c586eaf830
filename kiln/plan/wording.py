"""The words of progress: money as a city report writes it, and each status's reason with its
figures, in English and Chinese."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from kiln.plan.model import Bound, Target, TargetKind
from kiln.plan.series import Actual, Projection, Source, Status, in_target_terms


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


@dataclass(frozen=True, slots=True)
class Facts:
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
        return _pct(in_target_terms(self.target, level, base), lang)


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


def reason(f: Facts, lang: str) -> str:
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


def _verdict(f: Facts, lang: str, words: Mapping[str, object]) -> str:
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


def _growth_parts(f: Facts, lang: str, words: Mapping[str, object]) -> list[str]:
    text, parts = _TEXT[lang], []
    if f.cagr_pct is not None:
        parts.append(text["cagr"].format(cagr=_pct(f.cagr_pct, lang), **words))
    if f.required_pct is not None and f.latest is not None:
        need = _pct(f.required_pct, lang)
        parts.append(text["need"].format(need=need, year=f.latest.year, **words))
    return parts


def _notes(f: Facts, lang: str, words: Mapping[str, object]) -> list[str]:
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
