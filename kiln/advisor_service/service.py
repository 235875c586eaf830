"""AdvisorService: measured lines, their candidates with matching solutions, the city roll-up
and the follow-up of installed robots, over the store.

Measuring is the cost (a KPI table per equipment and shift over the window), so measured lines
are kept for a few minutes per (lines, window); candidates are recomputed from them for each
request, since assumptions may change per request and cost microseconds.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kiln.advisor.assumptions import Assumptions
from kiln.advisor.catalogue import Need, Solution, SupplyRow, demand_supply
from kiln.advisor.economics import Candidate, candidates
from kiln.advisor.follow_up import FollowUp, Prediction, compare
from kiln.advisor.line_analysis import LineAnalysis, analyse_line
from kiln.advisor.rollup import CityTable, city_cells, protect_city
from kiln.advisor_service.matching import Match, matches, needs_of
from kiln.advisor_service.measures import MeasuredLine, measure_lines
from kiln.config import KpiSettings
from kiln.domain.assets import FOSHAN_DISTRICTS
from kiln.domain.catalog import AssetCatalog
from kiln.errors import BadInput
from kiln.kpi_service import KpiService
from kiln.store.base import Store
from kiln.store.installation_tables import Installation

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
DEFAULT_DAYS = 14
MAX_DAYS = 90
CACHE_S = 300.0
CACHE_ENTRIES = 32


@dataclass(frozen=True, slots=True)
class Proposal:
    """A candidate with the catalogue's solutions that fit it."""

    candidate: Candidate
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class Followed:
    """An installation with its measured effect; `why` says what is missing when none."""

    installation: Installation
    result: FollowUp | None
    why: str


@dataclass(frozen=True, slots=True)
class LineAdvice:
    """One line: how it was measured, its analysis and its proposals."""

    line: MeasuredLine
    analysis: LineAnalysis
    proposals: tuple[Proposal, ...]
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class CityAdvice:
    """The city's roll-up under the disclosure rules, and demand against supply."""

    table: CityTable | None
    within_years: float
    candidates: int
    enterprises: int
    supply: tuple[SupplyRow, ...]
    start_ms: int
    end_ms: int


def check_days(days: int) -> int:
    """The measuring window in days, 1 to MAX_DAYS."""
    if not 1 <= days <= MAX_DAYS:
        raise BadInput(f"days is {days}; it must be 1 to {MAX_DAYS}", where="query: days")
    return days


def assumptions_of(overrides: Mapping[str, Any] | None) -> Assumptions:
    """The default assumptions with a user's changes, checked (BadInput names the key)."""
    return Assumptions().with_overrides(overrides) if overrides else Assumptions()


class AdvisorService:
    """The robot-upgrade advisor over one store."""

    def __init__(self, store: Store, kpi_settings: KpiSettings) -> None:
        self.store = store
        self.kpi = KpiService(store, kpi_settings)
        # Entries hold their catalogue, so its id (part of the key) cannot be reused meanwhile.
        self._cache: OrderedDict[
            tuple[Any, ...], tuple[float, AssetCatalog, list[MeasuredLine]]
        ] = OrderedDict()
        self._lock = threading.Lock()

    # -- measuring ------------------------------------------------------------------------------

    def window(self, now_ms: int, days: int) -> tuple[int, int]:
        """[start, end) of the measuring window: whole hours up to now."""
        end = now_ms - now_ms % HOUR_MS
        return end - check_days(days) * DAY_MS, end

    def measured(
        self, catalog: AssetCatalog, line_ids: Sequence[int], now_ms: int, days: int
    ) -> list[MeasuredLine]:
        """The lines measured over the window, from the cache when recent."""
        start, end = self.window(now_ms, days)
        key = (tuple(sorted(line_ids)), start, end, id(catalog))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < CACHE_S:
                self._cache.move_to_end(key)
                return hit[2]
        found = measure_lines(self.kpi, catalog, sorted(line_ids), start, end, now_ms)
        with self._lock:
            self._cache[key] = (time.monotonic(), catalog, found)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return found

    # -- advice -----------------------------------------------------------------------------------

    def advise(
        self,
        catalog: AssetCatalog,
        line_ids: Sequence[int],
        now_ms: int,
        *,
        days: int = DEFAULT_DAYS,
        assumptions: Assumptions | None = None,
        solutions: Sequence[Solution] | None = None,
        per_enterprise: Mapping[str, Assumptions] | None = None,
    ) -> list[LineAdvice]:
        """Each measured line of line_ids with its analysis and proposals, best first; a line
        is judged with its enterprise's own assumptions where `per_enterprise` has them."""
        default = assumptions or Assumptions()
        own = per_enterprise or {}
        sols = self.store.solutions.all() if solutions is None else solutions
        start, end = self.window(now_ms, days)
        out = []
        for line in self.measured(catalog, line_ids, now_ms, days):
            analysis = analyse_line(line.measure)
            a = own.get(line.measure.enterprise, default)
            found = sorted(candidates(analysis, a), key=rank)
            proposals = tuple(Proposal(c, tuple(matches(c, sols))) for c in found)
            out.append(LineAdvice(line, analysis, proposals, start, end))
        return out

    def city(
        self,
        catalog: AssetCatalog,
        now_ms: int,
        *,
        within_years: float = 3.0,
        days: int = DEFAULT_DAYS,
        assumptions: Assumptions | None = None,
        per_enterprise: Mapping[str, Assumptions] | None = None,
    ) -> CityAdvice:
        """How many robot cells would pay back within N years in each industry and district,
        what they cost and the output they add, under the disclosure rules; and the catalogue's
        supply against the candidates by industry."""
        if not 0 < within_years <= 30:
            raise BadInput(
                f"within_years is {within_years}; it must be above 0 and at most 30",
                where="query: within_years",
            )
        sols = self.store.solutions.all()
        advice = self.advise(
            catalog, sorted(catalog.lines), now_ms, days=days, assumptions=assumptions,
            solutions=sols, per_enterprise=per_enterprise,
        )  # fmt: skip
        found = [p.candidate for la in advice for p in la.proposals]
        paying = [
            c for c in found if c.money.payback_years is not None
            and c.money.payback_years <= within_years
        ]  # fmt: skip
        cells = city_cells(found, within_years)
        table = protect_city(cells, districts=[d.code for d in FOSHAN_DISTRICTS]) if cells else None
        needs: dict[str, list[Need]] = {}
        for c in found:
            needs.setdefault(c.industry_code, []).append(needs_of(c)[0])
        start, end = self.window(now_ms, days)
        return CityAdvice(
            table,
            within_years,
            len(paying),
            len({c.enterprise for c in paying}),
            tuple(demand_supply(needs, sols)),
            start,
            end,
        )

    # -- follow-up ----------------------------------------------------------------------------

    def follow_up(
        self, catalog: AssetCatalog, item: Installation, now_ms: int, days: int = DEFAULT_DAYS
    ) -> Followed:
        """The measured effect of an installation: the `days` before it against the days
        after it (as many as have passed, at least one)."""
        after_days = min(days, (now_ms - item.installed_ms) // DAY_MS)
        if after_days < 1:
            return Followed(item, None, "less than a day measured since the installation")
        p = item.prediction
        try:
            prediction = Prediction(
                station_id=item.station_id,
                cycle_s=float(p["robot_cycle_s"]),
                throughput_gain=float(p["throughput_gain"]),
                scrap_rate=float(p["scrap_rate"]),
            )
        except (KeyError, TypeError, ValueError):
            return Followed(item, None, "the installation holds no usable prediction")
        a = item.installed_ms
        before = measure_lines(self.kpi, catalog, [item.line_id], a - days * DAY_MS, a, now_ms)
        after = measure_lines(
            self.kpi, catalog, [item.line_id], a, a + int(after_days) * DAY_MS, now_ms
        )
        if not before or not after:
            return Followed(item, None, "the line has no measured data before or after it")
        try:
            result = compare(prediction, before[0].measure, after[0].measure)
        except BadInput as e:
            return Followed(item, None, str(e))
        return Followed(item, result, "")


def prediction_of(candidate: Candidate, assumptions: Assumptions) -> dict[str, Any]:
    """What an installation keeps of the candidate it follows (see `AdvisorService.follow_up`)."""
    e, m = candidate.effects, candidate.money
    return {
        "robot_cycle_s": e.robot_cycle_s,
        "manual_cycle_s": e.manual_cycle_s,
        "throughput_gain": e.throughput_gain,
        "scrap_rate": assumptions.robot_scrap_rate,
        "operators_freed_per_shift": e.operators_freed_per_shift,
        "investment_yuan": m.investment_yuan,
        "payback_years": m.payback_years,
        "npv_yuan": m.npv_yuan,
        "reasons": list(candidate.reasons),
    }


def rank(c: Candidate) -> tuple[float, float]:
    """Shortest payback first (never-paying last), then the larger NPV."""
    payback = c.money.payback_years
    return (payback if payback is not None else float("inf"), -c.money.npv_yuan)
