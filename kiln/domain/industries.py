"""Industries by GB/T 4754-2017 (with Amendment No. 1), and the city's four key industries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Industry:
    """One class (4 digits), group (3) or division (2) of GB/T 4754-2017 section C."""

    code: str  # without the section letter: "3852"
    name_en: str
    name_zh: str

    @property
    def display_code(self) -> str:
        """The code as statistics print it, with the section letter: C3852."""
        return f"C{self.code}"


@dataclass(frozen=True, slots=True)
class KeyIndustry:
    """One of the industries where the city's plan promotes robots."""

    key: str
    name_en: str
    name_zh: str
    prefixes: tuple[str, ...]  # GB/T 4754 codes that belong to it, as prefixes


KEY_INDUSTRIES: tuple[KeyIndustry, ...] = (
    KeyIndustry("automobile", "Automobile manufacturing", "汽车制造", ("36",)),
    KeyIndustry("ceramics", "Ceramics and building materials", "陶瓷建材", ("30",)),
    KeyIndustry("appliances", "Household electrical appliances", "家用电器", ("385", "386")),
    KeyIndustry("electronics", "Electronic information", "电子信息", ("39",)),
)

# Classes the simulator and the seed data use; the full table is national, these are the ones
# Foshan's key industries and its robot makers file under (domain.md 8.1).
INDUSTRIES: dict[str, Industry] = {
    i.code: i
    for i in (
        Industry("3611", "Petrol and diesel vehicle manufacturing", "汽柴油车整车制造"),
        Industry("3612", "New-energy vehicle manufacturing", "新能源车整车制造"),
        Industry("3660", "Vehicle bodies and trailers", "汽车车身、挂车制造"),
        Industry("3670", "Automobile parts and accessories", "汽车零部件及配件制造"),
        Industry("3071", "Building ceramics", "建筑陶瓷制品制造"),
        Industry("3072", "Sanitary ceramics", "卫生陶瓷制品制造"),
        Industry("3074", "Household ceramics", "日用陶瓷制品制造"),
        Industry("3851", "Household refrigeration appliances", "家用制冷电器具制造"),
        Industry("3852", "Household air conditioners", "家用空气调节器制造"),
        Industry("3854", "Household kitchen appliances", "家用厨房电器具制造"),
        Industry("3855", "Household cleaning appliances", "家用清洁卫生电器具制造"),
        Industry("3861", "Gas household appliances", "燃气及类似能源家用器具制造"),
        Industry("3951", "Television sets", "电视机制造"),
        Industry("3973", "Integrated circuits", "集成电路制造"),
        Industry("3974", "Display devices", "显示器件制造"),
        Industry("3982", "Electronic circuits", "电子电路制造"),
        Industry("3491", "Industrial robots", "工业机器人制造"),
        Industry("3492", "Special-purpose robots", "特殊作业机器人制造"),
        Industry("3964", "Service and consumer robots", "服务消费机器人制造"),
    )
}


def key_industry_of(code: str) -> KeyIndustry | None:
    """The key industry a GB/T 4754 code belongs to, if any.

    >>> key_industry_of("3852").key
    'appliances'
    >>> key_industry_of("3491") is None
    True
    """
    for key in KEY_INDUSTRIES:
        if any(code.startswith(p) for p in key.prefixes):
            return key
    return None


def validate_code(code: str) -> str:
    """Return a GB/T 4754 manufacturing code without its letter, or raise ValueError.

    >>> validate_code("C3852")
    '3852'
    """
    bare = code.strip().upper().removeprefix("C")
    if not (bare.isdigit() and 2 <= len(bare) <= 4 and "13" <= bare[:2] <= "43"):
        raise ValueError(f"{code!r} is not a GB/T 4754-2017 manufacturing code (C13..C43)")
    return bare
