"""The solution catalogue's entries, in SQL both backends share (see sql_session.py).

Codes, processes and loss types are kept as '|'-delimited lists ('|3670|36|'), so one LIKE
finds a word whole on either backend; the catalogue holds hundreds of rows, not millions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from kiln.advisor.catalogue import Range, Solution, normalise_code
from kiln.store.sql_session import Row, Sessions

SOLUTION_COLUMNS = (
    "id",
    "enterprise_id",
    "name",
    "summary",
    "industries",
    "processes",
    "losses",
    "payload_min_kg",
    "payload_max_kg",
    "cycle_min_s",
    "cycle_max_s",
    "price_min_yuan",
    "price_max_yuan",
    "refs",
    "updated_ms",
    "updated_by",
)
_SELECT = f"SELECT {', '.join(SOLUTION_COLUMNS)} FROM solutions"


def _joined(words: Sequence[str]) -> str:
    return "|" + "|".join(words) + "|" if words else ""


def _split(text: str) -> tuple[str, ...]:
    return tuple(w for w in text.split("|") if w)


def _range(low: Any, high: Any) -> Range | None:
    return Range(float(low), float(high)) if low is not None and high is not None else None


def _solution(row: Row) -> Solution:
    d = dict(zip(SOLUTION_COLUMNS, row, strict=True))
    price = _range(d["price_min_yuan"], d["price_max_yuan"])
    assert price is not None  # NOT NULL columns
    return Solution(
        id=int(d["id"]),
        enterprise_id=int(d["enterprise_id"]),
        name=str(d["name"]),
        summary=str(d["summary"]),
        industries=_split(d["industries"]),
        processes=_split(d["processes"]),
        losses=_split(d["losses"]),
        price_yuan=price,
        payload_kg=_range(d["payload_min_kg"], d["payload_max_kg"]),
        cycle_s=_range(d["cycle_min_s"], d["cycle_max_s"]),
        references=tuple(json.loads(d["refs"])),
        updated_ms=int(d["updated_ms"]),
        updated_by=str(d["updated_by"]),
    )


def _row(s: Solution) -> list[Any]:
    def ends(r: Range | None) -> list[float | None]:
        return [r.low, r.high] if r is not None else [None, None]

    return [
        s.id,
        s.enterprise_id,
        s.name,
        s.summary,
        _joined(s.industries),
        _joined(s.processes),
        _joined(s.losses),
        *ends(s.payload_kg),
        *ends(s.cycle_s),
        *ends(s.price_yuan),
        json.dumps(list(s.references), ensure_ascii=False),
        s.updated_ms,
        s.updated_by,
    ]


@dataclass(frozen=True, slots=True)
class SolutionQuery:
    """Which entries a list asks for; None means no filter."""

    industry: str | None = None  # solutions serving this code: itself, a prefix, or within it
    process: str | None = None
    enterprise_id: int | None = None  # one provider's
    limit: int = 50
    offset: int = 0

    def where(self) -> tuple[str, list[Any]]:
        """The WHERE clause and its parameters."""
        parts: list[str] = []
        params: list[Any] = []
        if self.industry:
            code = normalise_code(self.industry)
            # A solution for the class itself or anything within it, or for its group/division.
            ors = ["industries LIKE ?"]
            params.append(f"%|{code}%")
            for n in range(2, len(code)):
                ors.append("industries LIKE ?")
                params.append(f"%|{code[:n]}|%")
            parts.append("(" + " OR ".join(ors) + ")")
        if self.process:
            parts.append("processes LIKE ?")
            params.append(f"%|{self.process}|%")
        if self.enterprise_id is not None:
            parts.append("enterprise_id = ?")
            params.append(self.enterprise_id)
        return (" WHERE " + " AND ".join(parts) if parts else ""), params


class SolutionTables:
    """The catalogue's storage: one row per solution, owned by its provider's enterprise."""

    def __init__(self, sessions: Sessions) -> None:
        self._s = sessions

    def add(self, solution: Solution) -> Solution:
        """Store a new solution under the next free id; the stored solution."""
        with self._s.write() as s:
            next_id = int(s.rows("SELECT coalesce(max(id), 0) + 1 FROM solutions")[0][0])
            stored = replace(solution, id=next_id)
            s.rows(
                f"INSERT INTO solutions ({', '.join(SOLUTION_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in SOLUTION_COLUMNS)})",
                _row(stored),
            )
        return stored

    def add_many(self, solutions: Sequence[Solution]) -> list[Solution]:
        """Store several new solutions in one transaction, numbered in order."""
        with self._s.write() as s:
            first = int(s.rows("SELECT coalesce(max(id), 0) + 1 FROM solutions")[0][0])
            stored = [replace(x, id=first + i) for i, x in enumerate(solutions)]
            s.many(
                f"INSERT INTO solutions ({', '.join(SOLUTION_COLUMNS)}) "
                f"VALUES ({', '.join('?' for _ in SOLUTION_COLUMNS)})",
                [_row(x) for x in stored],
            )
        return stored

    def update(self, solution: Solution) -> bool:
        """Replace a stored solution's fields (its owner stays); whether it existed."""
        values = _row(solution)
        sets = ", ".join(f"{c} = ?" for c in SOLUTION_COLUMNS[2:])
        with self._s.write() as s:
            return bool(
                s.rows(
                    f"UPDATE solutions SET {sets} WHERE id = ? RETURNING id",
                    [*values[2:], solution.id],
                )
            )

    def delete(self, solution_id: int) -> bool:
        """Remove a solution; whether it existed."""
        with self._s.write() as s:
            return bool(s.rows("DELETE FROM solutions WHERE id = ? RETURNING id", [solution_id]))

    def get(self, solution_id: int) -> Solution | None:
        """One solution, or None."""
        with self._s.read() as s:
            rows = s.rows(f"{_SELECT} WHERE id = ?", [solution_id])
        return _solution(rows[0]) if rows else None

    def find(self, query: SolutionQuery) -> tuple[list[Solution], int]:
        """Solutions matching a query, by name then id, and how many match in all."""
        where, params = query.where()
        with self._s.read() as s:
            total = int(s.rows(f"SELECT count(*) FROM solutions{where}", params)[0][0])
            rows = s.rows(
                f"{_SELECT}{where} ORDER BY name, id LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            )
        return [_solution(r) for r in rows], total

    def all(self) -> list[Solution]:
        """Every solution, by id: what matching and the demand/supply table read."""
        with self._s.read() as s:
            return [_solution(r) for r in s.rows(f"{_SELECT} ORDER BY id")]

    def count(self) -> int:
        """How many solutions are stored."""
        with self._s.read() as s:
            return int(s.rows("SELECT count(*) FROM solutions")[0][0])
