"""A candidate in words, English or Chinese, for the advisor's page and report.

One sentence of clauses joined by semicolons: why the station (bottleneck share, scrap,
variability), what a robot would change (cycle, line output, scrap, operators) and the payback
with its range from the data's spread.
"""

from __future__ import annotations

from kiln.advisor.economics import Candidate
from kiln.errors import BadInput


def explain(candidate: Candidate, lang: str = "en") -> str:
    """The candidate in one sentence; BadInput for a language other than en or zh."""
    if lang == "en":
        return "; ".join(_clauses_en(candidate))
    if lang == "zh":
        return "；".join(_clauses_zh(candidate))
    raise BadInput(f"language {lang!r} is not offered; use 'en' or 'zh'", where="explain")


def _pct(x: float) -> str:
    return f"{round(x * 100):d}"


def _years(x: float | None, never: str) -> str:
    return never if x is None else f"{x:.1f}"


def _clauses_en(c: Candidate) -> list[str]:
    m, e, money, r = c.station.measure, c.effects, c.money, c.range
    label = f"station {m.position} ({m.name})"
    out = []
    if c.station.bottleneck_share > 0:
        out.append(f"{label} is the bottleneck {_pct(c.station.bottleneck_share)} % of the time")
    else:
        out.append(f"{label} is worked by {m.operators} operator(s) per shift")
    if "variability" in c.reasons and c.station.cycle_cv is not None:
        out.append(f"its manual cycle varies by {_pct(c.station.cycle_cv)} % from shift to shift")
    cell = (
        f"a {e.robot_cycle_s:.0f} s robot cell replacing its {e.manual_cycle_s:.0f} s manual cycle"
    )
    if e.throughput_gain > 0:
        out.append(f"{cell} would raise line output by about {_pct(e.throughput_gain)} %")
    else:
        out.append(f"{cell} would not raise line output")
    if e.scrap_avoided_per_year > 0:
        out.append(f"it would avoid about {e.scrap_avoided_per_year:,.0f} scrapped units a year")
    if e.operators_freed_per_shift > 0:
        out.append(f"free {e.operators_freed_per_shift:g} operator(s) per shift")
    if money.payback_years is None:
        out.append("it would not pay back: its yearly costs exceed its yearly benefits")
    else:
        low = _years(r.payback_low_years, "never")
        high = _years(r.payback_high_years, "never")
        out.append(f"payback {money.payback_years:.1f} years ({low}-{high})")
        if money.added_margin_yuan_per_year > 0:
            alone = _years(money.payback_labour_years, "never")
            out.append(f"{alone} years from labour and scrap alone, if no added unit sold")
    return out


def _clauses_zh(c: Candidate) -> list[str]:
    m, e, money, r = c.station.measure, c.effects, c.money, c.range
    label = f"工位{m.position}（{m.name}）"
    out = []
    if c.station.bottleneck_share > 0:
        out.append(f"{label}在{_pct(c.station.bottleneck_share)}%的时间里是瓶颈")
    else:
        out.append(f"{label}每班由{m.operators}名操作工作业")
    if "variability" in c.reasons and c.station.cycle_cv is not None:
        out.append(f"其人工节拍在各班之间波动{_pct(c.station.cycle_cv)}%")
    cell = f"以{e.robot_cycle_s:.0f}秒的机器人单元替代{e.manual_cycle_s:.0f}秒的人工节拍"
    if e.throughput_gain > 0:
        out.append(f"{cell}，产线产量约提高{_pct(e.throughput_gain)}%")
    else:
        out.append(f"{cell}，产线产量不会提高")
    if e.scrap_avoided_per_year > 0:
        out.append(f"每年约减少{e.scrap_avoided_per_year:.0f}件废品")
    if e.operators_freed_per_shift > 0:
        out.append(f"每班可减少{e.operators_freed_per_shift:g}名操作工")
    if money.payback_years is None:
        out.append("无法收回投资：每年的成本高于收益")
    else:
        low = _years(r.payback_low_years, "无法回收")
        high = _years(r.payback_high_years, "无法回收")
        out.append(f"投资回收期{money.payback_years:.1f}年（{low}–{high}）")
        if money.added_margin_yuan_per_year > 0:
            alone = _years(money.payback_labour_years, "无法回收")
            out.append(f"若新增产量无一售出，仅凭节省的人工和废品需{alone}年")
    return out
