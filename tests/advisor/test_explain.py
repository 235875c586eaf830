from __future__ import annotations

from dataclasses import replace

import pytest

from kiln.advisor.economics import Candidate, candidates
from kiln.advisor.explain import explain
from kiln.advisor.line_analysis import analyse_line
from kiln.errors import BadInput
from tests.advisor.economics_inputs import ROUND
from tests.advisor.lines import station, welding_line


def welder() -> Candidate:
    (c,) = candidates(analyse_line(welding_line()), ROUND)
    return c


def test_the_welder_in_english() -> None:
    c = welder()
    payback = c.money.payback_years
    assert payback is not None
    assert explain(c) == (
        "station 3 (Spot welding) is the bottleneck 100 % of the time; "
        "a 30 s robot cell replacing its 40 s manual cycle would raise line output by about 14 %; "
        "it would avoid about 6,300 scrapped units a year; "
        "free 1.75 operator(s) per shift; "
        f"payback {payback:.1f} years ({payback:.1f}-{payback:.1f}); "
        f"{c.money.payback_labour_years:.1f} years from labour and scrap alone, "
        "if no added unit sold"
    )


def test_the_welder_in_chinese() -> None:
    c = welder()
    p = f"{c.money.payback_years:.1f}"
    assert explain(c, lang="zh") == (
        "工位3（Spot welding）在100%的时间里是瓶颈；"
        "以30秒的机器人单元替代40秒的人工节拍，产线产量约提高14%；"
        "每年约减少6300件废品；"
        "每班可减少1.75名操作工；"
        f"投资回收期{p}年（{p}–{p}）；"
        f"若新增产量无一售出，仅凭节省的人工和废品需{c.money.payback_labour_years:.1f}年"
    )


def test_a_candidate_that_never_pays_back_says_so() -> None:
    (c,) = candidates(
        analyse_line(welding_line()),
        ROUND.with_overrides({"annual_wage_yuan": 1, "unit_value_yuan": 0}),
    )
    assert explain(c).endswith("it would not pay back: its yearly costs exceed its yearly benefits")
    assert explain(c, "zh").endswith("无法收回投资：每年的成本高于收益")


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(BadInput, match="language 'fr' is not offered"):
        explain(welder(), lang="fr")


def test_a_variable_manual_station_off_the_bottleneck() -> None:
    base = welding_line()
    pack = station(4, "pack", cycles=[26.0, 34.0], produced=686, blocked_s=0, name="Packing")
    line = replace(base, stations=(*base.stations[:3], pack))
    a = ROUND.with_overrides({"robot_cycle_share": 0.7})
    c = next(c for c in candidates(analyse_line(line), a) if c.station.measure.slug == "pack")
    assert c.reasons == ("variability",)
    assert c.process == "handling"
    # 120 000 x 2.5 invested; 0.75 x 2 x 130 000 saved less 5 % operating: 180 000 a year
    assert c.money.payback_years == pytest.approx(300_000 / 180_000)
    assert explain(c) == (
        "station 4 (Packing) is worked by 1 operator(s) per shift; "
        "its manual cycle varies by 19 % from shift to shift; "
        "a 21 s robot cell replacing its 30 s manual cycle would not raise line output; "
        "free 0.75 operator(s) per shift; payback 1.7 years (1.7-1.7)"
    )
    assert explain(c, "zh") == (
        "工位4（Packing）每班由1名操作工作业；其人工节拍在各班之间波动19%；"
        "以21秒的机器人单元替代30秒的人工节拍，产线产量不会提高；"
        "每班可减少0.75名操作工；投资回收期1.7年（1.7–1.7）"
    )
