"""The yearly report's words: headings and sentences in English and Chinese, number and money
formats, and the summary paragraphs written from the facts."""

from __future__ import annotations

from kiln.errors import BadInput
from kiln.plan.progress import Status, format_money
from kiln.plan_service.report_model import Basis, Fact, PlanSection
from kiln.plan_service.service import (
    FIRST_YEAR,
    local_year_month,
)

LANGS = ("en", "zh")
# The headline facts, in the order the report gives them, and whether growth is one of them.
FACTS = (
    ("total_output", True),
    ("advanced_output", True),
    ("high_tech_output", True),
    ("robot_ie_output", True),
    ("robots_installed", True),
    ("robot_density", False),
    ("enterprises_above_size", False),
)
ZH_UNITS = {
    "robots": "台",
    "robots per 10,000 employees": "台/万人",
    "enterprises": "家",
    "people": "人",
    "tce per 10,000 yuan": "吨标准煤/万元",
}
STATUS = {
    "en": {s: s.value.replace("_", " ").capitalize() for s in Status},
    "zh": {
        Status.ON_TRACK: "进度正常",
        Status.AT_RISK: "存在风险",
        Status.OFF_TRACK: "进度滞后",
        Status.MET: "已完成",
        Status.MISSED: "未完成",
        Status.NO_DATA: "暂无数据",
    },
}
TEXT = {
    "en": {
        "title": "The city's industry and action plan: yearly report {year}",
        "intro": "Written from Kiln's data on {date}: figures for {year} as known then, plan "
        "targets as known at the end of {year}.",
        "space": " ",
        "colon": ": ",
        "list": ", ",
        "missing": "No figure",
        "withheld": "withheld",
        "total.published": "In {year} the city generated {v} of total industrial output value.",
        "level.published": "{Name} in {year}: {v}{how}.",
        "level.filed": "{Name} in {year}: {v}{how}.",
        "level.implied": "No figure for {name} in {year}; the plan's targets imply {v}.",
        "level.withheld": "{Name} in {year} is withheld (see note *).",
        "level.missing": "No figure for {name} in {year}.",
        "growth.up": "{Name} grew by {g} on {prev}{how}.",
        "growth.down": "{Name} fell by {g} on {prev}{how}.",
        "growth.withheld": "The growth of {name} in {year} is withheld (see note *).",
        "growth.missing": "No figure for the growth of {name} in {year}.",
        "pair": "The output value of advanced manufacturing grew by {a} and that of high-tech "
        "manufacturing by {b}.",
        "above.published": "The city had {count} industrial enterprises above designated size "
        "in {year}.",
        "coverage.name": "Enterprises that filed",
        "coverage.text": "{filed} of {registered} registered",
        "coverage.sentence": "Enterprises that filed statistics for {year}: {cover}.",
        "how.low": " (low reliability)",
        "how.levels": " (from the published levels of both years)",
        "how.filed": ", as filed by {filed} of the {scope} registered enterprises{inds}",
        "how.in_set": " in its industries",
        "how.matched": " (like for like: the {n} enterprises that filed whole years for {prev} "
        "and {year})",
        "tag.published": "published [{marks}]",
        "tag.levels": "from published levels [{marks}]",
        "tag.low": ", low reliability",
        "tag.filed": "filed by {filed} of {scope} enterprises",
        "tag.matched": "filed, like for like: {n} enterprises",
        "tag.implied": "implied by the plan's targets",
        "tag.registry": "filings and the register",
        "note.low": "Low reliability: a mirror or aggregator; cross-check before quoting.",
        "note.withheld": "Withheld: a figure is not published when fewer than {n} enterprises "
        "contribute to it or one of them makes up more than {share} % of it, nor when it could "
        "be worked out from the figures that are published.",
        "plan.none": "No plan of the city was in force in or before {year}.",
        "plan.error": "the targets cannot be judged ({error})",
        "plan.runs": "Runs {start}-{end}.",
        "plan.issued": "Issued by {issuer} ({issued}); runs {start}-{end}.",
        "plan.running": "{year} is year {k} of {n}; targets as known at the end of {year}.",
        "plan.ended": "The plan ended in {end}; targets as known at the end of {year}.",
        "plan.ahead": "The plan starts in {start}; targets as known at the end of {year}.",
        "plan.count": "{title}: {counts}.",
        "plan.count_item": "{n} {status}",
        "plan.no_targets": "no targets",
        "plan.no_data": "without figures",
        "target.withheld": "The figures behind this target are withheld (see note *).",
        "table.none": "No enterprise filed statistics for {year}: there are no tables by "
        "district and industry.",
    },
    "zh": {
        "title": "{year}年全市工业发展和行动计划年度报告",
        "intro": "根据Kiln数据于{date}生成：{year}年数据为生成时所知，"
        "规划目标按{year}年末所知情况评估。",
        "space": "",
        "colon": "：",
        "list": "、",
        "missing": "暂无数据",
        "withheld": "不予公布",
        "total.published": "{year}年，全市实现工业总产值{v}。",
        "level.published": "{year}年{name}{v}{how}。",
        "level.filed": "{year}年{name}{v}{how}。",
        "level.implied": "{year}年{name}暂无数据，按规划目标推算为{v}。",
        "level.withheld": "{year}年{name}不予公布（见注*）。",
        "level.missing": "{year}年{name}暂无数据。",
        "growth.up": "{name}比上年增长{g}{how}。",
        "growth.down": "{name}比上年下降{g}{how}。",
        "growth.withheld": "{year}年{name}增速不予公布（见注*）。",
        "growth.missing": "{year}年{name}增速暂无数据。",
        "pair": "先进制造业和高技术制造业产值分别增长{a}和{b}。",
        "above.published": "{year}年全市规模以上工业企业{count}家。",
        "coverage.name": "填报企业",
        "coverage.text": "登记企业{registered}家中{filed}家",
        "coverage.sentence": "{year}年填报统计数据的企业：{cover}。",
        "how.low": "（可靠性低）",
        "how.levels": "（按两年公布数计算）",
        "how.filed": "（{inds}登记企业{scope}家中{filed}家填报）",
        "how.in_set": "相关行业",
        "how.matched": "（按{prev}年和{year}年均全年填报的{n}家企业可比口径计算）",
        "tag.published": "公布 [{marks}]",
        "tag.levels": "按公布数计算 [{marks}]",
        "tag.low": "，可靠性低",
        "tag.filed": "{scope}家中{filed}家填报",
        "tag.matched": "填报，可比口径：{n}家企业",
        "tag.implied": "由规划目标推算",
        "tag.registry": "填报及企业登记",
        "note.low": "可靠性低：转载或聚合来源，引用前请核对。",
        "note.withheld": "不予公布：参与汇总的企业少于{n}家或单家企业占比超过{share}%的数据"
        "不予公布；可由已公布数据推算出的数据也不予公布。",
        "plan.none": "{year}年及以前没有实施中的规划。",
        "plan.error": "无法评估目标（{error}）",
        "plan.runs": "实施期{start}—{end}年。",
        "plan.issued": "{issuer}（{issued}）印发；实施期{start}—{end}年。",
        "plan.running": "{year}年为实施期第{k}年（共{n}年）；目标按{year}年末所知情况评估。",
        "plan.ended": "规划已于{end}年结束；目标按{year}年末所知情况评估。",
        "plan.ahead": "规划自{start}年起实施；目标按{year}年末所知情况评估。",
        "plan.count": "{title}：{counts}。",
        "plan.count_item": "{n}项{status}",
        "plan.no_targets": "没有目标",
        "plan.no_data": "暂无数据",
        "target.withheld": "该目标所依据的数据不予公布（见注*）。",
        "table.none": "{year}年没有企业填报统计数据，暂无分区、分行业数据。",
    },
}


def check_lang(lang: str) -> str:
    """'en' or 'zh' (from a tag such as 'zh-CN'); BadInput for any other."""
    base = lang.split("-")[0].lower()
    if base not in LANGS:
        raise BadInput(f"{lang!r} is not a language of the report: use en or zh", where="lang")
    return base


def check_year(year: int, now_ms: int) -> int:
    """The year, if it is one a yearly report covers: from FIRST_YEAR to the last one over."""
    last = local_year_month(now_ms)[0] - 1
    if not FIRST_YEAR <= year <= last:
        raise BadInput(
            f"{year} is out of range: a yearly report covers a year that is over, "
            f"{FIRST_YEAR}-{last}",
            where="year",
        )
    return year


def amount(value: float, unit: str, lang: str) -> str:
    """A value in its unit for a reader; money as the bureau writes it (`format_money`).

    >>> amount(2.24e12, "yuan", "zh"), amount(13300.0, "robots", "en")
    ('2.24万亿元', '13,300 robots')
    >>> amount(45.26, "robots per 10,000 employees", "zh")
    '45.3台/万人'
    """
    if unit == "yuan":
        return format_money(value, lang)
    whole = abs(value) >= 1000 or value == round(value)
    number = f"{value:,.0f}" if whole else f"{value:,.1f}"
    if lang == "zh":
        return f"{number}{ZH_UNITS.get(unit, unit)}"
    return f"{number} {unit}".rstrip()


def pct(value: float, lang: str, *, signed: bool = False) -> str:
    """A percentage to one decimal, spaced in English as the style guide writes it.

    >>> pct(9.8, "en"), pct(16.25, "zh"), pct(-2.0, "en", signed=True)
    ('9.8 %', '16.2%', '-2.0 %')
    """
    number = f"{value:+.1f}" if signed else f"{value:.1f}"
    return f"{number} %" if lang == "en" else f"{number}%"


def summary(
    facts: tuple[Fact, ...], plans: tuple[PlanSection, ...], year: int, lang: str
) -> tuple[str, ...]:
    """The report's opening paragraphs, written from the facts and the plans' statuses; in
    each paragraph what is known comes first, then what is withheld or missing."""
    t, by = TEXT[lang], {f.key: f for f in facts}

    def say(*said: tuple[str, bool]) -> str:
        ordered = [text for text, known in said if known] + [x for x, k in said if not k]
        return t["space"].join(x for x in ordered if x)

    total, adv, tech = by["total_output"], by["advanced_output"], by["high_tech_output"]
    first = _level_sentence(total, year, lang)
    if total.level.basis is Basis.PUBLISHED and not total.level.how:
        first = (t["total.published"].format(year=year, v=total.level.text), True)
    out = [say(first, _growth_sentence(total, year, lang), *_pair(adv, tech, year, lang))]
    robots = []
    for key in ("robot_ie_output", "robots_installed", "robot_density"):
        robots += [_level_sentence(by[key], year, lang), _growth_sentence(by[key], year, lang)]
    out.append(say(*robots))
    above = by["enterprises_above_size"]
    count = _level_sentence(above, year, lang)
    if above.level.basis is Basis.PUBLISHED and above.level.value is not None:
        count = (t["above.published"].format(year=year, count=f"{above.level.value:,.0f}"), True)
    cover = t["coverage.sentence"].format(year=year, cover=by["filings"].level.text)
    out.append(say((cover, True), count))
    out.append(say(*((_plan_sentence(p, lang), True) for p in plans)))
    return tuple(p for p in out if p)


def _level_sentence(fact: Fact, year: int, lang: str) -> tuple[str, bool]:
    """The sentence giving a fact's level, and whether it gives a figure."""
    fig = fact.level
    text = TEXT[lang][f"level.{fig.basis.value}"].format(
        Name=_upper(fact.name), name=_lower(fact.name), v=fig.text, how=fig.how, year=year
    )
    return text, fig.value is not None and fig.basis is not Basis.IMPLIED


def _growth_sentence(fact: Fact, year: int, lang: str) -> tuple[str, bool]:
    """The sentence giving a fact's growth (none when the report gives none), and whether it
    gives a figure."""
    g = fact.growth
    if g is None:
        return "", True
    key = f"growth.{g.basis.value}"
    if g.value is not None:
        key = "growth.up" if g.value >= 0 else "growth.down"
    text = TEXT[lang][key].format(
        Name=_upper(fact.name),
        name=_lower(fact.name),
        g="" if g.value is None else pct(abs(g.value), lang),
        how=g.how,
        prev=year - 1,
        year=year,
    )
    return text, g.value is not None


def _pair(adv: Fact, tech: Fact, year: int, lang: str) -> list[tuple[str, bool]]:
    """The two manufacturing growth rates in one sentence when both are plainly published."""
    a, b = adv.growth, tech.growth
    if (
        a is not None
        and b is not None
        and a.value is not None
        and b.value is not None
        and min(a.value, b.value) >= 0
        and a.basis is b.basis is Basis.PUBLISHED
        and not (a.how or b.how)
    ):
        return [(TEXT[lang]["pair"].format(a=pct(a.value, lang), b=pct(b.value, lang)), True)]
    return [_growth_sentence(adv, year, lang), _growth_sentence(tech, year, lang)]


def _plan_sentence(plan: PlanSection, lang: str) -> str:
    t = TEXT[lang]
    if plan.error:
        return f"{plan.title}{t['colon']}{plan.error}"
    counts: dict[Status, int] = {}
    for line in plan.targets:
        counts[line.status] = counts.get(line.status, 0) + 1
    parts = [
        t["plan.count_item"].format(
            n=n, status=t["plan.no_data"] if s is Status.NO_DATA else STATUS[lang][s].lower()
        )
        for s, n in sorted(counts.items(), key=lambda kv: list(Status).index(kv[0]))
    ]
    listing = t["list"].join(parts) if parts else t["plan.no_targets"]
    return t["plan.count"].format(title=plan.title, counts=listing)


def _upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]
