"""What an enterprise's statistical filing carries, and the units each figure may come in.

Money is stored in yuan; Chinese statistical forms count in 元, 千元, 万元 or 亿元, and a
filing may use any of them (per figure or for the whole filing). Energy is stored in tonnes of
standard coal equivalent (tce, 吨标准煤), the unit of 综合能源消费量.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a figure measures, which decides the units it may be given in."""

    MONEY = "money"  # stored in yuan
    COUNT = "count"  # robots, people
    ENERGY = "energy"  # stored in tce


class Over(StrEnum):
    """How a figure adds up over time: flows are summed over months, stocks are as at the end."""

    FLOW = "flow"
    STOCK = "stock"


@dataclass(frozen=True, slots=True)
class Field:
    """One figure of a filing, with the size above which a value is implausible for one
    enterprise in one year (flagged for confirmation, not refused: a Midea can be that big)."""

    name: str
    label_en: str
    label_zh: str
    kind: Kind
    over: Over
    implausible_per_year: float


# Plausibility caps are a little above the largest Chinese manufacturers (revenue ~400 bn yuan,
# ~200,000 employees): a figure above one is far more likely a unit slip than a real one.
FIELDS: tuple[Field, ...] = (
    Field("output_value", "Industrial output value", "工业总产值", Kind.MONEY, Over.FLOW, 1e12),
    Field("revenue", "Main business revenue", "主营业务收入", Kind.MONEY, Over.FLOW, 1e12),
    Field(
        "robot_output_value",
        "Output of robots and intelligent equipment",
        "机器人及智能装备产值",
        Kind.MONEY,
        Over.FLOW,
        3e11,
    ),
    Field(
        "robots_installed",
        "Industrial robots in use",
        "在用工业机器人",
        Kind.COUNT,
        Over.STOCK,
        5e4,
    ),
    Field("employees", "Employees", "从业人员", Kind.COUNT, Over.STOCK, 5e5),
    Field(
        "reform_investment",
        "Technological-reform investment",
        "技术改造投资",
        Kind.MONEY,
        Over.FLOW,
        1e11,
    ),
    Field("energy_use", "Energy use", "综合能源消费量", Kind.ENERGY, Over.FLOW, 1e7),
)
FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
FLOWS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.over is Over.FLOW)
STOCKS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.over is Over.STOCK)

# Multipliers to the stored unit, by the spellings forms and spreadsheets use.
UNITS: dict[Kind, dict[str, float]] = {
    Kind.MONEY: {
        "yuan": 1.0,
        "元": 1.0,
        "cny": 1.0,
        "rmb": 1.0,
        "千元": 1e3,
        "thousand yuan": 1e3,
        "万元": 1e4,
        "10k yuan": 1e4,
        "wan yuan": 1e4,
        "亿元": 1e8,
        "100m yuan": 1e8,
        "yi yuan": 1e8,
        "bn yuan": 1e9,
    },
    Kind.COUNT: {"": 1.0, "count": 1.0, "个": 1.0, "台": 1.0, "人": 1.0, "台套": 1.0},
    Kind.ENERGY: {"tce": 1.0, "吨标准煤": 1.0, "吨标煤": 1.0, "万吨标准煤": 1e4, "ktce": 1e3},
}
DEFAULT_UNIT: dict[Kind, str] = {Kind.MONEY: "yuan", Kind.COUNT: "", Kind.ENERGY: "tce"}
_NUMBER_UNIT = re.compile(r"^\s*([-+]?[0-9][0-9,]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*(.*?)\s*$")


def unit_factor(kind: Kind, unit: str, *, where: str) -> float:
    """The multiplier from a unit's spelling to the stored unit; ValueError lists the accepted.

    >>> unit_factor(Kind.MONEY, "万元", where="x")
    10000.0
    """
    key = unit.strip().lower()
    table = UNITS[kind]
    if key not in table:
        accepted = ", ".join(repr(u) for u in table if u) or "none"
        raise ValueError(f"{where}: unit {unit!r} is not one of {accepted}")
    return table[key]


def parse_amount(raw: object, field: Field, *, unit: str | None = None, where: str) -> float:
    """A figure in the stored unit, from a number (in ``unit``, or the stored unit) or a string
    with its unit ("5.2 亿元", "1,200 万元"); ValueError names where and what.

    >>> parse_amount("5.2亿元", FIELD_BY_NAME["output_value"], where="x")
    520000000.0
    >>> parse_amount(1200, FIELD_BY_NAME["output_value"], unit="万元", where="x")
    12000000.0
    """
    if isinstance(raw, bool):
        raise ValueError(f"{where}: expected a number, got {raw!r}")
    if isinstance(raw, int | float):
        number, spelled = float(raw), unit
    elif isinstance(raw, str):
        m = _NUMBER_UNIT.match(raw)
        if not m:
            raise ValueError(f"{where}: {raw!r} is not a number with an optional unit")
        number = float(m.group(1).replace(",", ""))
        spelled = m.group(2) or unit
    else:
        raise ValueError(f"{where}: expected a number, got {type(raw).__name__}")
    if not math.isfinite(number):
        raise ValueError(f"{where}: {raw!r} is not a finite number")
    factor = unit_factor(field.kind, spelled or DEFAULT_UNIT[field.kind], where=where)
    return number * factor
