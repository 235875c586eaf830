"""The simulated city: a seeded, deterministic Foshan of factories, as an asset document.

About forty enterprises spread over the five districts and the four key industries (automobile
parts, ceramics, household appliances, electronics) plus a few robot makers; each has one plant
of one to three lines drawn from its trade's recipes (`recipes`). Some lines are paced by a slow
manual station: the clear bottleneck a line-balancing analysis should find.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.domain.templates import template
from kiln.simulator.fleet import SUNDAY_OFF_SHARE
from kiln.simulator.names import BRANDS, DISTRICT_WEIGHTS, INDUSTRY_CODES, TRADES
from kiln.simulator.noise import stable_key
from kiln.simulator.recipes import COBOT, RECIPES, LineRecipe, StationRecipe, Unit

KEY_TRADES = ("ceramics", "automobile", "appliances", "electronics")
ROBOT_MAKER_EVERY = 13  # one enterprise in thirteen makes robots
LINES_PER_ENTERPRISE = {1: 0.3, 2: 0.45, 3: 0.25}
MAX_STATIONS = 8
BOTTLENECK_CHANCE = 0.5  # of a line with manual stations, that one of them paces the line
DISTRICTS = {d.code: d for d in FOSHAN_DISTRICTS}
# Presses stroke 10-18 times a minute (domain.md 7.3): their cycle stays within 60/18..60/10 s.
CYCLE_BOUNDS_S = {"press": (3.4, 6.0)}


def build_city(seed: int = 7, enterprises: int = 40) -> dict[str, Any]:
    """The asset document of a seeded factory city; the same seed gives the same city.

    >>> city = build_city(seed=7, enterprises=5)
    >>> len(city["enterprises"]), sorted({e["district"] for e in city["enterprises"]})
    (5, ['chancheng', 'gaoming', 'nanhai', 'sanshui', 'shunde'])
    """
    if enterprises < 1:
        raise ValueError("a city needs at least one enterprise")
    rng = random.Random(seed)
    trades = [KEY_TRADES[i % 4] for i in range(enterprises)]
    for i in range(ROBOT_MAKER_EVERY - 1, enterprises, ROBOT_MAKER_EVERY):
        trades[i] = "robot"
    rng.shuffle(trades)
    districts = _spread(trades, rng)
    order = rng.sample(range(len(BRANDS)), len(BRANDS))
    docs = []
    for i, (trade, district) in enumerate(zip(trades, districts, strict=True)):
        brand = BRANDS[order[i % len(BRANDS)]]
        docs.append(_enterprise(seed, trade, district, brand, i // len(BRANDS), rng))
    return {"enterprises": docs}


def _pick(weights: dict[str, float], rng: random.Random) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _spread(trades: list[str], rng: random.Random) -> list[str]:
    """A district per enterprise, by its trade's weights, with every district present if it can."""
    districts = [_pick(DISTRICT_WEIGHTS[t], rng) for t in trades]
    for missing in (d for d in DISTRICTS if d not in districts):
        common, count = Counter(districts).most_common(1)[0]
        if count < 2:
            break
        districts[len(districts) - 1 - districts[::-1].index(common)] = missing
    return districts


def site_calendar(seed: int, enterprise: str) -> dict[str, str]:
    """The calendar keys of an enterprise's plant, as the simulator runs it (`shifts`): two
    12-hour shifts with meal breaks, every day or with Sundays off, through public holidays.

    The Sunday rule is the fleet's (`fleet.SUNDAY_OFF_SHARE`, keyed by seed and enterprise), so
    the KPI calendar and the simulated states agree.

    >>> site_calendar(7, "acme")["shifts"]
    '2x12'
    """
    rests = stable_key(seed, enterprise, "calendar") % 1000 < SUNDAY_OFF_SHARE * 1000
    return {
        "shifts": "2x12",
        "workdays": "mon-sat" if rests else "all",
        "holidays": "none",
        "breaks": "pdot",
    }


def _enterprise(
    seed: int,
    trade: str,
    district: str,
    brand: tuple[str, str],
    round_: int,
    rng: random.Random,
) -> dict[str, Any]:
    code = _pick(INDUSTRY_CODES[trade], rng)
    kind = "sanitary" if code == "3072" else trade
    word_slug, word_en, word_zh = rng.choice(TRADES[kind])
    d = DISTRICTS[district]
    suffix = f"-{round_ + 1}" if round_ else ""
    slug = f"{brand[0]}-{word_slug}{suffix}"
    brand_en = brand[0].capitalize()
    counters: Counter[str] = Counter()
    recipes = RECIPES[kind]
    n_lines = int(_pick({str(k): v for k, v in LINES_PER_ENTERPRISE.items()}, rng))
    made: Counter[str] = Counter()
    lines = []
    for _ in range(n_lines):
        recipe = rng.choice(recipes)
        made[recipe.key] += 1
        lines.append(_line(recipe, made[recipe.key], counters, rng))
    return {
        "slug": slug,
        "name": f"Foshan {d.name_en} {brand_en} {word_en}{' ' + str(round_ + 1) if round_ else ''}",
        "name_zh": f"佛山{d.name_zh.removesuffix('区')}{brand[1]}{word_zh}",
        "district": district,
        "industry": code,
        "robot_maker": trade == "robot",
        "sites": [
            {
                "slug": "plant-1",
                "name": f"{brand_en} {d.name_en} plant",
                "timezone": "Asia/Shanghai",
                **site_calendar(seed, slug),
                "lines": lines,
            }
        ],
    }


def _line(recipe: LineRecipe, n: int, counters: Counter[str], rng: random.Random) -> dict[str, Any]:
    takt = rng.uniform(*recipe.takt_s)
    plan = [(st, rng.randint(*st.repeat)) for st in recipe.stations if rng.random() >= st.skip]
    while sum(c for _, c in plan) > MAX_STATIONS:
        i = max(range(len(plan)), key=lambda j: plan[j][1])
        plan[i] = (plan[i][0], plan[i][1] - 1)
    stations = [(st, k + 1, count) for st, count in plan for k in range(count)]
    manual = [i for i, (st, _, _) in enumerate(stations) if st.operators[1] > 0]
    neck = rng.choice(manual) if manual and rng.random() < BOTTLENECK_CHANCE else -1
    return {
        "slug": f"{recipe.key}-{n}",
        "name": f"{recipe.name} {n}",
        "area": recipe.area,
        "stations": [
            _station(st, k, count, pos + 1, pos == neck, takt, counters, rng)
            for pos, (st, k, count) in enumerate(stations)
        ],
    }


def _station(
    st: StationRecipe,
    k: int,
    count: int,
    position: int,
    neck: bool,
    takt: float,
    counters: Counter[str],
    rng: random.Random,
) -> dict[str, Any]:
    units = st.units if st.units or not neck else (COBOT,)
    return {
        "slug": f"{st.slug}-{k}" if count > 1 else st.slug,
        "name": f"{st.name} {k}" if count > 1 else st.name,
        "position": position,
        "operators": rng.randint(*st.operators),
        "equipment": [_equipment(u, st, neck, takt, counters, rng) for u in units],
    }


def _equipment(
    unit: Unit,
    st: StationRecipe,
    neck: bool,
    takt: float,
    counters: Counter[str],
    rng: random.Random,
) -> dict[str, Any]:
    counters[unit.stem] += 1
    n = counters[unit.stem]
    if st.own_pace:
        cycle = template(unit.template).ideal_cycle_s * rng.uniform(0.85, 1.15)
    elif neck:
        cycle = takt * rng.uniform(1.2, 1.45)  # the manual bottleneck: clearly slower
    elif st.operators[1] > 0:
        cycle = takt * rng.uniform(0.85, 0.97)
    else:
        cycle = takt * rng.uniform(0.75, 0.95)
    lo, hi = CYCLE_BOUNDS_S.get(unit.template, (0.5, 3600.0))
    return {
        "slug": f"{unit.stem}-{n}",
        "name": f"{unit.name} {n}",
        "template": unit.template,
        "ideal_cycle_s": round(min(hi, max(lo, cycle)), 1),
    }
