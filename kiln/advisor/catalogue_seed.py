"""The demo city's solution catalogue: seed_solutions.toml, published by the city's robot makers.

The entries name their provider as the nth robot maker of the city (by enterprise id), so the
same file fits any seeded city; a city without a robot maker gets no seed entries. Each entry
goes through parse_solution, so the shipped file obeys the rules a provider's entry does.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from importlib import resources
from typing import Any, Protocol

from kiln.advisor.catalogue import Solution, parse_solution
from kiln.domain.assets import Enterprise

SEED_FILE = "seed_solutions.toml"
SEED_AUTHOR = "demo seed"


class SolutionBook(Protocol):
    """What seeding needs of the store's solution tables."""

    def count(self) -> int:
        """How many solutions are stored."""
        ...

    def add_many(self, solutions: Sequence[Solution]) -> list[Solution]:
        """Store new solutions in one transaction."""
        ...


def seed_documents(text: str | None = None) -> list[tuple[int, dict[str, Any]]]:
    """(maker number, solution document) of each entry of the seed file (or of text)."""
    if text is None:
        text = resources.files("kiln.advisor").joinpath(SEED_FILE).read_text(encoding="utf-8")
    out = []
    for doc in tomllib.loads(text).get("solution", []):
        body = dict(doc)
        out.append((int(body.pop("maker", 1)), body))
    return out


def demo_solutions(
    enterprises: Iterable[Enterprise], *, now_ms: int, text: str | None = None
) -> list[Solution]:
    """The seed entries, each owned by the robot maker it names (none without robot makers)."""
    makers = sorted(e.id for e in enterprises if e.robot_maker)
    if not makers:
        return []
    return [
        replace(
            parse_solution(
                doc, enterprise_id=makers[(n - 1) % len(makers)], where=f"{SEED_FILE}[{i}]"
            ),
            updated_ms=now_ms,
            updated_by=SEED_AUTHOR,
        )
        for i, (n, doc) in enumerate(seed_documents(text))
    ]


def seed_solutions(book: SolutionBook, enterprises: Iterable[Enterprise], *, now_ms: int) -> int:
    """Store the demo's entries when the catalogue is empty; how many were added."""
    if book.count():
        return 0
    return len(book.add_many(demo_solutions(enterprises, now_ms=now_ms)))
