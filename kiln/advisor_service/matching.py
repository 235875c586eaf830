"""From an advisor candidate to the catalogue's needs, and its matching solutions.

The advisor names a station's process in its own few classes; the catalogue's providers tag
finer ones (a cobot screwdriving cell does assembly). A candidate asks for every catalogue
process its class covers and keeps each solution's best fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kiln.advisor.catalogue import Need, Solution, match
from kiln.advisor.economics import Candidate

CATALOGUE_PROCESSES: dict[str, tuple[str, ...]] = {
    "welding": ("welding",),
    "painting": ("painting", "dispensing"),
    "glazing": ("glazing", "painting"),
    "palletising": ("palletising", "packing", "handling"),
    "polishing": ("polishing", "grinding"),
    "assembly": ("assembly", "screwdriving", "dispensing"),
    "inspection": ("inspection", "testing", "sorting"),
    "handling": ("handling", "loading", "packing", "machine_tending", "sorting"),
    "general": ("handling", "assembly", "inspection", "packing", "machine_tending"),
}
LOSSES_OF_REASON = {"bottleneck": "performance", "variability": "performance", "scrap": "quality"}


@dataclass(frozen=True, slots=True)
class Match:
    """One catalogue solution fitting a candidate: its score and why, in words."""

    solution: Solution
    score: int
    reasons: tuple[str, ...]


def need_of(candidate: Candidate, process: str) -> Need:
    """What a candidate asks of the catalogue for one catalogue process."""
    losses = {LOSSES_OF_REASON[r] for r in candidate.reasons if r in LOSSES_OF_REASON}
    if candidate.effects.operators_freed_per_shift > 0:
        losses.add("labour")
    return Need(
        industry_code=candidate.industry_code,
        process=process,
        losses=frozenset(losses),
        cycle_s=candidate.effects.robot_cycle_s,
        payload_kg=None,
        budget_yuan=candidate.money.investment_yuan,
    )


def needs_of(candidate: Candidate) -> list[Need]:
    """One need per catalogue process the candidate's process class covers."""
    processes = CATALOGUE_PROCESSES.get(candidate.process, CATALOGUE_PROCESSES["general"])
    return [need_of(candidate, p) for p in processes]


def matches(candidate: Candidate, solutions: Sequence[Solution], limit: int = 5) -> list[Match]:
    """The best-fitting solutions for a candidate, best first, each solution once."""
    best: dict[int, Match] = {}
    for need in needs_of(candidate):
        for solution, score, reasons in match(need, solutions):
            seen = best.get(solution.id)
            if seen is None or score > seen.score:
                best[solution.id] = Match(solution, score, tuple(reasons))
    ranked = sorted(best.values(), key=lambda m: (-m.score, m.solution.name, m.solution.id))
    return ranked[:limit]
