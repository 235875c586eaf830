"""The simulated city's monthly statistical reports (工业统计月报), calibrated to published figures.

The enterprises stand in for the whole city, so their figures add up to what Foshan published
(`kiln/plan/seed/published.csv`) and the plan tracker tells the real story. Seeded, no clock.

How output is made. Each enterprise gets a lognormal size and a yearly growth path (the city's
rate for the year, its industry's offset, its own trend and yearly noise). Then, in order:

1. Robot producers (codes in the `robots_intelligent_equipment` set, or `robot_maker`) are
   scaled year by year so robot and intelligent-equipment output follows the plan's story:
   120 bn / 1.15³ = 78.90 bn yuan in 2017 (the baseline the plan implies), 4-6 % a year to
   78.90 x 1.05³ = 91.3 bn in 2020 ("will exceed 90 bn": the 120 bn target missed), 10-20 % a
   year after (the 2022 robot boom). Robot output is a fixed share of each producer's output.
2. The other enterprises get three factors, solved as one linear system: c on every year (the
   2017 total is 2.24 trillion yuan), a from 2017 on the high-tech set (its output grows 16.3 %
   in 2017) and b from 2017 on advanced-but-not-high-tech (the advanced set grows 9.8 %). The
   rest keeps its own growth. A constraint no enterprise can carry (the set has no adjustable
   member), or one that would need a factor outside 1/4..4, is dropped: advanced first.
3. A year is split into months by a seasonal profile (Chinese New Year low, December high, the
   COVID stop of 2020 Q1) with noise, normalised so an enterprise's months add up to its year.

Stocks (robots in use, employees) are year-end values interpolated month by month; robots in
use add up to the city's published 3,000 (2015) and 13,300 (2020). The internal years always
start in 2000 and each year's noise has its own seed, so a month's figures do not depend on
the range asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from kiln.domain.assets import Enterprise
from kiln.plan.fields import FIELD_NAMES
from kiln.plan.filings import FIRST_YEAR, Filing, Period
from kiln.plan.indicators import ROBOTS_SET, IndicatorConfig

Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]

CALIBRATION_YEAR = 2017
TOTAL_OUTPUT_2017_YUAN = 2.24e12
HIGH_TECH_SET, HIGH_TECH_GROWTH_2017 = "high_tech_manufacturing", 0.163
ADVANCED_SET, ADVANCED_GROWTH_2017 = "advanced_manufacturing", 0.098
ROBOT_OUTPUT_2017_YUAN = 120e9 / 1.15**3  # the 2020 target less 15 % a year for three years
ROBOT_OUTPUT_2020_YUAN = ROBOT_OUTPUT_2017_YUAN * 1.05**3
ROBOTS_IN_USE = {2015: 3000.0, 2020: 13300.0}  # published city totals
ROBOT_STOCK_GROWTH = {2021: 0.15, 2022: 0.2, 2023: 0.15}  # then 12 % a year
# The city's output growth by year: the 2019 trade war, COVID in 2020, the 2021 rebound.
CITY_GROWTH = {2016: 0.065, 2017: 0.075, 2018: 0.055, 2019: 0.045, 2020: 0.01, 2021: 0.1}
TECH_REFORM_PLAN_YEARS = range(2018, 2021)  # technological-reform investment steps up by 30 %
ENERGY_INTENSITY_FALL = 0.03  # a year
LUMP_YUAN = 3e9  # a lump is at most 2·LUMP_YUAN: under the cap of a month (fields.py)
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Relative output by month: factories close for Chinese New Year, December closes the year.
SEASON = np.array([0.8, 0.8, 1.0, 0.98, 1.0, 1.0, 0.97, 0.99, 1.02, 1.03, 1.08, 1.2])
# The month Chinese New Year falls in (February where not listed).
CNY_MONTH = {2016: 2, 2017: 1, 2018: 2, 2019: 2, 2020: 1, 2021: 2, 2022: 2, 2023: 1, 2025: 1}
COVID_2020 = np.array([0.9, 0.4, 0.8])  # January to March 2020


@dataclass(frozen=True, slots=True)
class Profile:
    """What an industry's enterprises look like (2017): median size, growth, labour, robots."""

    size: float  # median output, relative to the city's typical enterprise
    growth: float  # added to the city's growth rate
    output_per_employee_yuan: float
    robots_per_10k_employees: float  # relative: the city total is calibrated
    tce_per_10k_yuan: tuple[float, float]


# By GB/T 4754 prefix, longest match wins. Ceramics fire roller kilns: ten times the energy.
PROFILES: dict[str, Profile] = {
    "30": Profile(0.7, -0.015, 0.9e6, 40.0, (0.3, 0.5)),
    "34": Profile(0.8, 0.01, 1.3e6, 150.0, (0.02, 0.05)),
    "36": Profile(1.3, 0.02, 2.0e6, 600.0, (0.02, 0.05)),
    "385": Profile(1.5, 0.0, 1.6e6, 180.0, (0.02, 0.04)),
    "386": Profile(1.0, 0.0, 1.4e6, 120.0, (0.02, 0.05)),
    "39": Profile(1.0, 0.03, 1.2e6, 250.0, (0.03, 0.08)),
    "": Profile(0.7, 0.0, 1.2e6, 60.0, (0.02, 0.08)),
}


def profile_of(code: str) -> Profile:
    """The profile of the longest prefix of code.

    >>> profile_of("3071").tce_per_10k_yuan, profile_of("1711") is PROFILES[""]
    ((0.3, 0.5), True)
    """
    return PROFILES[max((p for p in PROFILES if code.startswith(p)), key=len)]


def filed_on_the_15th(period: Period) -> int:
    """Epoch ms of 00:00 Asia/Shanghai on the 15th of the month after the period.

    >>> filed_on_the_15th(Period(2017, 12))  # 2018-01-14T16:00Z
    1515945600000
    """
    year, month = period.last_month
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return int(datetime(year, month, 15, tzinfo=SHANGHAI).timestamp()) * 1000


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng((seed, *key))


# Streams of random numbers, so that one figure's draws never shift another's.
_SIZE, _GROWTH, _ROBOT_RATE, _STAFF, _MONTHS, _REFORM, _ENTERPRISES = range(7)


@dataclass(frozen=True, slots=True)
class Traits:
    """Per-enterprise constants of a seed, one entry per enterprise."""

    size: Floats
    growth: Floats
    robot_share: Floats  # share of output that is robots and intelligent equipment; 0: none
    output_per_employee_yuan: Floats
    robot_density: Floats
    tce_per_10k_yuan: Floats
    reform_rate: Floats  # technological-reform investment per yuan of output
    high_tech: Flags
    advanced: Flags


def _members(config: IndicatorConfig, name: str, codes: Sequence[str]) -> Flags:
    if name not in config.industry_sets:
        return np.zeros(len(codes), dtype=bool)
    return config.in_set(name, codes)


def traits_of(enterprises: Sequence[Enterprise], config: IndicatorConfig, seed: int) -> Traits:
    """Sizes, shares, densities and rates of the enterprises, drawn once per seed."""
    n = len(enterprises)
    codes = [e.industry_code for e in enterprises]
    profiles = [profile_of(c) for c in codes]
    rng = _rng(seed, _SIZE)
    size = np.array([p.size for p in profiles]) * np.exp(np.clip(rng.normal(0, 1, n), -2.5, 2.5))
    growth = np.array([p.growth for p in profiles]) + rng.normal(0, 0.02, n)
    in_set = _members(config, ROBOTS_SET, codes)
    maker = np.array([e.robot_maker for e in enterprises], dtype=bool)
    share = np.where(in_set, rng.uniform(0.75, 0.95, n), 0.0)
    share = np.where(~in_set & maker, rng.uniform(0.15, 0.4, n), share)
    lo, hi = np.array([p.tce_per_10k_yuan for p in profiles]).reshape(n, 2).T
    return Traits(
        size=size,
        growth=growth,
        robot_share=share,
        output_per_employee_yuan=np.array([p.output_per_employee_yuan for p in profiles])
        * np.exp(rng.normal(0, 0.25, n)),
        robot_density=np.array([p.robots_per_10k_employees for p in profiles])
        * np.exp(rng.normal(0, 0.4, n)),
        tce_per_10k_yuan=rng.uniform(lo, hi),
        reform_rate=rng.uniform(0.01, 0.03, n),
        high_tech=_members(config, HIGH_TECH_SET, codes),
        advanced=_members(config, ADVANCED_SET, codes),
    )


@dataclass(frozen=True, slots=True)
class AnnualOutput:
    """Calibrated output per enterprise (rows) and year (columns, from `first_year`), in yuan."""

    first_year: int
    output_yuan: Floats
    robot_output_yuan: Floats  # zero for enterprises that make no robots

    def year(self, year: int) -> Floats:
        """Every enterprise's output in one year."""
        return self.output_yuan[:, year - self.first_year]


def simulate_years(
    enterprises: Sequence[Enterprise],
    config: IndicatorConfig,
    *,
    last_year: int = CALIBRATION_YEAR,
    seed: int = 7,
) -> AnnualOutput:
    """Calibrated yearly output of each enterprise from 2000 to last_year (at least 2017)."""
    return _annual(traits_of(enterprises, config, seed), last_year, seed)


def _annual(t: Traits, last_year: int, seed: int) -> AnnualOutput:
    years = range(FIRST_YEAR, max(last_year, CALIBRATION_YEAR) + 1)
    out = _raw_output(t, years, seed)
    producers = t.robot_share > 0
    if producers.any():
        robots = _robot_path(years, seed)
        out[producers] *= robots / (t.robot_share[producers, None] * out[producers]).sum(axis=0)
    j = CALIBRATION_YEAR - FIRST_YEAR
    c, a, b = _factors(out, t, j)
    rest = ~producers
    out[rest] *= c
    out[rest & t.high_tech, j:] *= a
    out[rest & t.advanced & ~t.high_tech, j:] *= b
    return AnnualOutput(FIRST_YEAR, out, out * t.robot_share[:, None])


def _raw_output(t: Traits, years: range, seed: int) -> Floats:
    n = len(t.size)
    log_growth = np.empty((n, len(years)))
    for j, year in enumerate(years):
        city = CITY_GROWTH.get(year, 0.12 if year < 2012 else 0.08 if year < 2016 else 0.045)
        noise = _rng(seed, _GROWTH, year).normal(0, 0.03, n)
        log_growth[:, j] = np.log1p(np.clip(city + t.growth + noise, -0.25, 0.4))
    level = np.cumsum(log_growth, axis=1)
    k = CALIBRATION_YEAR - years.start
    out: Floats = t.size[:, None] * np.exp(level - level[:, k : k + 1])
    return out


def _robot_path(years: range, seed: int) -> Floats:
    """The city's robot and intelligent-equipment output by year, in yuan."""
    level = {CALIBRATION_YEAR: ROBOT_OUTPUT_2017_YUAN}
    for year in range(CALIBRATION_YEAR - 1, years.start - 1, -1):
        rate = _rng(seed, _ROBOT_RATE, year + 1).uniform(0.08, 0.14)
        level[year] = level[year + 1] / (1 + rate)
    for year in range(CALIBRATION_YEAR + 1, years.stop):
        span = (0.04, 0.06) if year < 2020 else (0.1, 0.2)
        level[year] = level[year - 1] * (1 + _rng(seed, _ROBOT_RATE, year).uniform(*span))
        if year == 2020:
            level[year] = ROBOT_OUTPUT_2020_YUAN
    return np.array([level[y] for y in years])


def _factors(out: Floats, t: Traits, j: int) -> tuple[float, float, float]:
    """(c, a, b) of the module's method, step 2; 1.0 where a constraint is dropped."""
    fixed, rest = t.robot_share > 0, t.robot_share == 0
    high, adv_only = rest & t.high_tech, rest & t.advanced & ~t.high_tech
    if not rest.any():
        return 1.0, 1.0, 1.0

    def s(mask: Flags, col: int) -> float:
        return float(out[mask, col].sum())

    gh, ga = 1 + HIGH_TECH_GROWTH_2017, 1 + ADVANCED_GROWTH_2017
    # Unknowns c, u = c·a, v = c·b; rows: the 2017 total, high-tech growth, advanced growth.
    m = np.array(
        [
            [s(rest & ~high & ~adv_only, j), s(high, j), s(adv_only, j)],
            [-gh * s(high, j - 1), s(high, j), 0.0],
            [-ga * s(high & t.advanced, j - 1) - ga * s(adv_only, j - 1),
             s(high & t.advanced, j), s(adv_only, j)],
        ]
    )  # fmt: skip
    rhs = np.array(
        [
            TOTAL_OUTPUT_2017_YUAN - s(fixed, j),
            gh * s(fixed & t.high_tech, j - 1) - s(fixed & t.high_tech, j),
            ga * s(fixed & t.advanced, j - 1) - s(fixed & t.advanced, j),
        ]
    )
    for use_h, use_a in ((True, True), (True, False), (False, True), (False, False)):
        use = [True, use_h and bool(high.any()), use_a and bool(adv_only.any())]
        x = _solve(m, rhs, use)
        if x is not None:
            return x
    return 1.0, 1.0, 1.0


def _solve(m: Floats, rhs: Floats, use: list[bool]) -> tuple[float, float, float] | None:
    """Solve for the used unknowns, an unused one standing at c; None if no plausible answer."""
    merged = m.copy()
    for k in (1, 2):
        if not use[k]:
            merged[:, 0] += merged[:, k]
    keep = [k for k in range(3) if use[k]]
    try:
        x = np.linalg.solve(merged[np.ix_(keep, keep)], rhs[keep])
    except np.linalg.LinAlgError:
        return None
    full = dict(zip(keep, x.tolist(), strict=True))
    c = full[0]
    if not (np.isfinite(x).all() and c > 0):
        return None
    a, b = full.get(1, c) / c, full.get(2, c) / c
    return (c, a, b) if 0.25 < a < 4 and 0.25 < b < 4 else None


def _city_robots(years: range) -> Floats:
    """Robots in use in the city at each year end: the published points, geometric between."""
    (y0, s0), (y1, s1) = sorted(ROBOTS_IN_USE.items())
    rate = (s1 / s0) ** (1 / (y1 - y0))
    level = {y: s0 * rate ** (y - y0) for y in range(years.start, y1 + 1)}
    for year in range(y1 + 1, years.stop):
        level[year] = level[year - 1] * (1 + ROBOT_STOCK_GROWTH.get(year, 0.12))
    return np.array([level[y] for y in years])


def _stocks(t: Traits, out: Floats, seed: int) -> tuple[Floats, Floats]:
    """Year-end robots in use and employees per enterprise (not yet rounded)."""
    n, width = len(out), out.shape[1]
    j = CALIBRATION_YEAR - FIRST_YEAR
    rng = _rng(seed, _STAFF)
    adoption = rng.normal(0, 0.05, n)  # a year: early and late adopters
    walk = np.cumsum(
        np.stack([_rng(seed, _STAFF, FIRST_YEAR + k).normal(0, 0.015, n) for k in range(width)], 1),
        axis=1,
    )
    since = (np.arange(width) - j)[None, :]
    # More robots, faster fall: about 0.5 % a year in ceramics, 2.3 % in automobile.
    fall = (0.004 + 0.00003 * t.robot_density)[:, None]
    employees = (out[:, j] / t.output_per_employee_yuan)[:, None]
    employees = employees * np.exp(-fall * since + walk - walk[:, j : j + 1])
    weight = t.robot_density[:, None] * employees * np.exp(adoption[:, None] * since)
    robots = weight / weight.sum(axis=0) * _city_robots(range(FIRST_YEAR, FIRST_YEAR + width))
    return robots, employees


def _season(year: int) -> Floats:
    """Relative output of each month of a year.

    >>> _season(2020)[:3].round(3)
    array([0.504, 0.32 , 0.8  ])
    """
    weight = SEASON.copy()
    weight[CNY_MONTH.get(year, 2) - 1] *= 0.7
    if year == 2020:
        weight[:3] *= COVID_2020
    return weight


def _months(year: int, t: Traits, annual: AnnualOutput, stocks: tuple[Floats, Floats],
            seed: int) -> dict[str, Floats]:  # fmt: skip
    """Every figure of every enterprise for the twelve months of a year, (n, 12) each."""
    j = year - annual.first_year
    n = len(t.size)
    rng = _rng(seed, _MONTHS, year)
    weight = _season(year)[None, :] * np.exp(rng.normal(0, 0.04, (n, 12)))
    output = annual.output_yuan[:, j : j + 1] * weight / weight.sum(axis=1, keepdims=True)
    intensity = t.tce_per_10k_yuan * (1 - ENERGY_INTENSITY_FALL) ** (year - CALIBRATION_YEAR)
    reform = annual.output_yuan[:, j] * t.reform_rate
    if year in TECH_REFORM_PLAN_YEARS:
        reform = reform * 1.3
    fraction = np.arange(1, 13) / 12
    robots, employees = (
        np.rint(s[:, max(j - 1, 0), None] * (s[:, j, None] / s[:, max(j - 1, 0), None]) ** fraction)
        for s in stocks
    )
    return {
        "output_value": output,
        "revenue": output * rng.uniform(0.93, 0.99, (n, 12)),
        "robot_output_value": output * t.robot_share[:, None],
        "robots_installed": robots,
        "employees": np.maximum(employees, 1.0),
        "reform_investment": _lumps(reform, _rng(seed, _REFORM, year)),
        "energy_use": output * intensity[:, None] / 1e4 * rng.uniform(0.95, 1.05, (n, 12)),
    }


def _lumps(annual: Floats, rng: np.random.Generator) -> Floats:
    """A year's investment spent in two to four months (more for the largest, so that no month
    looks implausible for one enterprise), none more than twice another."""
    n = len(annual)
    rank = rng.random((n, 12)).argsort(axis=1).argsort(axis=1)
    months = np.maximum(rng.integers(2, 5, n), np.minimum(np.ceil(annual / LUMP_YUAN), 12))
    chosen = rank < months[:, None]
    weight = np.where(chosen, rng.uniform(1, 2, (n, 12)), 0.0)
    lumps: Floats = annual[:, None] * weight / weight.sum(axis=1, keepdims=True)
    return lumps


def simulate_filings(
    enterprises: Sequence[Enterprise],
    config: IndicatorConfig,
    *,
    first_year: int = 2016,
    through: tuple[int, int],
    seed: int = 7,
    filed_ms: Callable[[Period], int] | None = None,
) -> list[Filing]:
    """One seeded monthly filing per enterprise from January of first_year through (year, month),
    ordered by period then enterprise; robot output only from robot producers."""
    last_year, last_month = through
    if first_year < FIRST_YEAR or not 1 <= last_month <= 12 or last_year < first_year:
        raise ValueError(
            f"through {through!r} and first_year {first_year}: need {FIRST_YEAR} <= first_year "
            "<= through's year and a month 1-12"
        )
    if not enterprises:
        return []
    stamp = filed_ms or filed_on_the_15th
    t = traits_of(enterprises, config, seed)
    annual = _annual(t, last_year, seed)
    stocks = _stocks(t, annual.output_yuan, seed)
    producer = (t.robot_share > 0).tolist()
    ids = [e.id for e in enterprises]
    filings: list[Filing] = []
    for year in range(first_year, last_year + 1):
        figures = _months(year, t, annual, stocks, seed)
        for month in range(1, (last_month if year == last_year else 12) + 1):
            period = Period(year, month)
            ms = stamp(period)
            columns = [figures[name][:, month - 1].tolist() for name in FIELD_NAMES]
            for i, row in enumerate(zip(*columns, strict=True)):
                values = dict(zip(FIELD_NAMES, row, strict=True))
                if not producer[i]:
                    del values["robot_output_value"]
                filings.append(
                    Filing(
                        ids[i], period, values, filed_by="simulator", filed_ms=ms, channel="seed"
                    )
                )
    return filings
