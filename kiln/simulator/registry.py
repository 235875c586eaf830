"""Synthetic enterprises for the benchmarks' large cities (10,000 enterprises): plausible
districts, industry classes and robot makers, deterministic for a seed."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kiln.domain.assets import FOSHAN_DISTRICTS, Enterprise
from kiln.domain.industries import INDUSTRIES, key_industry_of
from kiln.simulator.names import DISTRICT_WEIGHTS, INDUSTRY_CODES

# Codes beyond the key industries the benchmark city files under: cotton spinning, jewellery,
# metal structures, industrial control systems, pharmaceuticals, electronic circuits.
OTHER_CODES = ("1711", "2438", "3311", "4011", "2710", "3982")
TRADE_MIX = {"ceramics": 0.2, "automobile": 0.12, "appliances": 0.2, "electronics": 0.15,
             "robot": 0.03, "other": 0.3}  # fmt: skip
ENTERPRISE_STREAM = 6  # the random stream kiln.simulator.statistics leaves to this module
ALSO_MAKES_ROBOTS = 0.02  # of other enterprises: an appliance maker with a robot arm subsidiary


def _codes_by_trade() -> dict[str, dict[str, float]]:
    """Industry classes per trade with weights: the world's where it has them, 0.1 otherwise."""
    trades: dict[str, dict[str, float]] = {"other": dict.fromkeys(OTHER_CODES, 1.0)}
    for code in INDUSTRIES:
        key = key_industry_of(code)
        trade = "robot" if code.startswith("349") or code == "3964" else key.key if key else ""
        if trade:
            weights = INDUSTRY_CODES.get(trade, {})
            trades.setdefault(trade, {})[code] = weights.get(code, 0.1)
    return trades


def _draw(rng: np.random.Generator, weights: Mapping[str, float], n: int) -> list[str]:
    keys = list(weights)
    p = np.array([weights[k] for k in keys])
    return [keys[i] for i in rng.choice(len(keys), size=n, p=p / p.sum())]


def simulate_enterprises(n: int, *, seed: int = 7) -> list[Enterprise]:
    """n synthetic enterprises (ids 1..n, slugs 'ent-00001'…) over the five districts.

    >>> [(e.id, e.slug) for e in simulate_enterprises(2)]
    [(1, 'ent-00001'), (2, 'ent-00002')]
    """
    rng = np.random.default_rng((seed, ENTERPRISE_STREAM))
    trades = np.array(_draw(rng, TRADE_MIX, n))
    codes, districts = np.empty(n, dtype=object), np.empty(n, dtype=object)
    other_districts = {"chancheng": 1.0, "nanhai": 3.0, "shunde": 2.0, "gaoming": 1.0,
                       "sanshui": 1.0}  # fmt: skip
    for trade, weights in _codes_by_trade().items():
        rows = np.flatnonzero(trades == trade)
        codes[rows] = _draw(rng, weights, len(rows))
        districts[rows] = _draw(rng, DISTRICT_WEIGHTS.get(trade, other_districts), len(rows))
    maker = (trades == "robot") | (rng.random(n) < ALSO_MAKES_ROBOTS)
    names = {d.code: d for d in FOSHAN_DISTRICTS}
    return [
        Enterprise(
            id=i + 1,
            slug=f"ent-{i + 1:05d}",
            name=f"Foshan {names[d].name_en} Enterprise {i + 1:05d}",
            district=d,
            industry_code=str(codes[i]),
            robot_maker=bool(maker[i]),
            name_zh=f"佛山{names[d].name_zh.removesuffix('区')}企业{i + 1:05d}",
        )
        for i, d in enumerate(districts.tolist())
    ]
