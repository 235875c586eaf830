"""The solution catalogue: what providers offer, checked as it comes in, and matched to needs.

A provider (a robot maker, system integrator or software vendor: an enterprise of the asset
model) publishes solutions tagged by industry (GB/T 4754 codes), process, the losses they
address, payload, cycle time and price ranges. `match` ranks the solutions that fit one need (an
advisor candidate) and says why in words; `demand_supply` sets the candidates of each key
industry against the solutions that serve it, the figure the city's yearly expo is for.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kiln.domain.industries import INDUSTRIES, KEY_INDUSTRIES
from kiln.errors import BadInput

PROCESSES = (
    "welding",
    "glazing",
    "palletising",
    "painting",
    "assembly",
    "inspection",
    "handling",
    "loading",
    "polishing",
    "screwdriving",
    "testing",
    "packing",
    "machine_tending",
    "dispensing",
    "grinding",
    "sorting",
)
LOSS_TYPES = ("availability", "performance", "quality", "labour")
FIELDS = (
    "name",
    "summary",
    "industries",
    "processes",
    "losses",
    "payload_kg",
    "cycle_s",
    "price_yuan",
    "references",
)
RANGES = {"payload_kg": "kg", "cycle_s": "s", "price_yuan": "yuan"}
MAX_TEXT = 2_000
MAX_ITEMS = 20
# Section C of GB/T 4754-2017 (manufacturing) is divisions 13 to 43.
MANUFACTURING_DIVISIONS = range(13, 44)
# Points each kind of fit adds to a match's score.
SCORE_INDUSTRY = {4: 4, 3: 3, 2: 2}  # by the length of the solution's matching code
SCORE_LOSS = 1  # per loss type both name
SCORE_CYCLE = {"within": 2, "faster": 1}
SCORE_PAYLOAD = 1
SCORE_PRICE = {"within": 2, "from": 1}


@dataclass(frozen=True, slots=True)
class Range:
    """A closed interval [low, high] in the unit its field names."""

    low: float
    high: float

    def holds(self, x: float) -> bool:
        """Whether x lies in the interval."""
        return self.low <= x <= self.high

    def words(self, unit: str) -> str:
        """The interval as a person reads it: '20-60 s'."""
        return f"{_num(self.low)}-{_num(self.high)} {unit}"


@dataclass(frozen=True, slots=True)
class Solution:
    """One catalogue entry of a provider (the enterprise enterprise_id)."""

    id: int  # 0 until stored
    enterprise_id: int
    name: str
    summary: str
    industries: tuple[str, ...]  # GB/T 4754 codes of 2, 3 or 4 digits, without the letter
    processes: tuple[str, ...]
    losses: tuple[str, ...]
    price_yuan: Range
    payload_kg: Range | None = None  # None: payload does not apply (software, vision)
    cycle_s: Range | None = None
    references: tuple[str, ...] = ()  # "customer/site: result", free text
    updated_ms: int = 0
    updated_by: str = ""

    def to_doc(self) -> dict[str, Any]:
        """The document parse_solution reads back into this solution (id and owner aside)."""
        doc: dict[str, Any] = {
            "name": self.name,
            "summary": self.summary,
            "industries": list(self.industries),
            "processes": list(self.processes),
            "losses": list(self.losses),
            "price_yuan": {"min": self.price_yuan.low, "max": self.price_yuan.high},
            "references": list(self.references),
        }
        for name in ("payload_kg", "cycle_s"):
            r = getattr(self, name)
            doc[name] = {"min": r.low, "max": r.high} if r is not None else None
        return doc


@dataclass(frozen=True, slots=True)
class Need:
    """What one station needs (an advisor candidate): where, what for, and within what limits."""

    industry_code: str
    process: str
    losses: frozenset[str] = frozenset()
    cycle_s: float | None = None  # the cycle the station must reach
    payload_kg: float | None = None
    budget_yuan: float | None = None


class SolutionErrors(BadInput):
    """Every field of a solution document that is wrong; reads as the first of them."""

    def __init__(self, errors: Sequence[BadInput]) -> None:
        super().__init__(errors[0].what, where=errors[0].where)
        self.errors = tuple(errors)

    def by_field(self) -> dict[str, str]:
        """The first error of each field, keyed by the field's name (cycle_s, industries...)."""
        out: dict[str, str] = {}
        for e in self.errors:
            name = e.where.split(".", 1)[-1].split("[", 1)[0]
            out.setdefault(name, e.what)
        return out


def _num(x: float) -> str:
    """A number as the catalogue prints it.

    >>> _num(250000.0), _num(0.5)
    ('250,000', '0.5')
    """
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,g}"


def normalise_code(code: str) -> str:
    """A GB/T 4754 code without its section letter and spaces.

    >>> normalise_code(" C3670 ")
    '3670'
    """
    code = code.strip().upper()
    return code[1:] if code.startswith("C") else code


class _Checker:
    """Collects every error of one document, each naming its field."""

    def __init__(self, doc: Mapping[str, Any], where: str) -> None:
        self.doc, self.where = doc, where
        self.errors: list[BadInput] = []

    def fail(self, what: str, name: str) -> None:
        self.errors.append(BadInput(what, where=f"{self.where}.{name}"))

    def text(self, name: str, *, required: bool) -> str:
        value = self.doc.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail("is required", name)
            return ""
        if not isinstance(value, str):
            self.fail(f"must be text, not {type(value).__name__}", name)
            return ""
        if len(value) > MAX_TEXT:
            self.fail(f"is longer than {MAX_TEXT} characters", name)
        return value.strip()

    def items(self, name: str, *, required: bool) -> list[str]:
        value = self.doc.get(name)
        if value is None or value == []:
            if required:
                self.fail("names at least one", name)
            return []
        if not isinstance(value, list):
            self.fail("must be a list", name)
            return []
        if len(value) > MAX_ITEMS:
            self.fail(f"lists more than {MAX_ITEMS}", name)
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.fail("must be non-empty text", f"{name}[{i}]")
            elif len(item) > MAX_TEXT:
                self.fail(f"is longer than {MAX_TEXT} characters", f"{name}[{i}]")
            else:
                out.append(item.strip())
        return out

    def words(self, name: str, allowed: Sequence[str]) -> tuple[str, ...]:
        out: list[str] = []
        for i, item in enumerate(self.items(name, required=True)):
            word = item.lower().replace(" ", "_").replace("-", "_")
            if word not in allowed:
                self.fail(f"{item!r} is not one of {', '.join(allowed)}", f"{name}[{i}]")
            elif word not in out:
                out.append(word)
        return tuple(out)

    def codes(self) -> tuple[str, ...]:
        out: list[str] = []
        for i, item in enumerate(self.items("industries", required=True)):
            code = normalise_code(item)
            division_ok = code[:2].isdigit() and int(code[:2]) in MANUFACTURING_DIVISIONS
            if not (code.isdigit() and 2 <= len(code) <= 4 and division_ok):
                self.fail(
                    f"{item!r} is not a GB/T 4754 manufacturing code (2-4 digits, division 13-43)",
                    f"industries[{i}]",
                )
            elif code not in out:
                out.append(code)
        return tuple(out)

    def range(self, name: str, *, required: bool) -> Range | None:
        value = self.doc.get(name)
        unit = RANGES[name]
        if value is None:
            if required:
                self.fail(f"is required, as {{min, max}} in {unit}", name)
            return None
        if not isinstance(value, Mapping) or set(value) - {"min", "max"}:
            self.fail(f"must be {{min, max}} in {unit}", name)
            return None
        bounds: list[float] = []
        for end in ("min", "max"):
            x = value.get(end)
            if isinstance(x, bool) or not isinstance(x, int | float):
                self.fail(f"{end} must be a number of {unit}", name)
            elif not 0 <= x < 1e12:
                self.fail(f"{end} {_num(x)} must be 0 or more", name)
            else:
                bounds.append(float(x))
        if len(bounds) < 2:
            return None
        if bounds[0] > bounds[1]:
            self.fail(f"min {_num(bounds[0])} is above max {_num(bounds[1])}", name)
            return None
        return Range(bounds[0], bounds[1])


def parse_solution(
    doc: Any, *, enterprise_id: int, solution_id: int = 0, where: str = "solution"
) -> Solution:
    """A solution from its document; SolutionErrors (a BadInput) naming every wrong field.

    >>> parse_solution({"name": "Cell", "industries": ["36"], "processes": ["welding"],
    ...     "losses": ["labour"], "price_yuan": {"min": 2e5, "max": 1e5}}, enterprise_id=1)
    Traceback (most recent call last):
    ...
    kiln.advisor.catalogue.SolutionErrors: solution.price_yuan: min 200,000 is above max 100,000
    """
    if not isinstance(doc, Mapping):
        raise SolutionErrors([BadInput("must be an object", where=where)])
    c = _Checker(doc, where)
    for name in sorted(set(doc) - set(FIELDS)):
        c.fail(f"unknown field (known: {', '.join(FIELDS)})", str(name))
    name = c.text("name", required=True)
    if len(name) > 200:
        c.fail("is longer than 200 characters", "name")
    solution = Solution(
        id=solution_id,
        enterprise_id=enterprise_id,
        name=name,
        summary=c.text("summary", required=False),
        industries=c.codes(),
        processes=c.words("processes", PROCESSES),
        losses=c.words("losses", LOSS_TYPES),
        price_yuan=c.range("price_yuan", required=True) or Range(0, 0),
        payload_kg=c.range("payload_kg", required=False),
        cycle_s=c.range("cycle_s", required=False),
        references=tuple(c.items("references", required=False)),
    )
    if c.errors:
        raise SolutionErrors(c.errors)
    return solution


# -- matching ------------------------------------------------------------------------------


def industry_fit(codes: Sequence[str], need_code: str) -> str | None:
    """The solution's code that serves an industry: the exact class, else the longest prefix.

    >>> industry_fit(["36", "3670"], "3670"), industry_fit(["36"], "3660")
    ('3670', '36')
    >>> industry_fit(["30"], "3670") is None
    True
    """
    fits = [c for c in codes if need_code.startswith(c)]
    return max(fits, key=len) if fits else None


def _industry_words(code: str) -> str:
    known = INDUSTRIES.get(code)
    if known is not None:
        return f"made for industry {code} ({known.name_en})"
    level = {2: "division", 3: "group"}.get(len(code), "class")
    return f"serves industry {level} {code}"


def _fit(s: Solution, need: Need) -> tuple[int, list[str]] | None:
    """The score and reasons of a solution for a need; None when it does not fit."""
    code = industry_fit(s.industries, normalise_code(need.industry_code))
    if code is None or need.process not in s.processes:
        return None
    score, reasons = SCORE_INDUSTRY[len(code)], [_industry_words(code)]
    reasons.append(f"does {need.process.replace('_', ' ')}")
    if need.losses:
        shared = [t for t in LOSS_TYPES if t in need.losses and t in s.losses]
        if not shared:
            return None
        score += SCORE_LOSS * len(shared)
        reasons.append(f"addresses {' and '.join(shared)} losses")
    if need.cycle_s is not None and s.cycle_s is not None:
        if need.cycle_s < s.cycle_s.low:
            return None  # the cell cannot reach the cycle the station needs
        kind = "within" if s.cycle_s.holds(need.cycle_s) else "faster"
        score += SCORE_CYCLE[kind]
        reasons.append(
            f"cycle {_num(need.cycle_s)} s is within {s.cycle_s.words('s')}"
            if kind == "within"
            else f"cycles faster ({s.cycle_s.words('s')}) than the {_num(need.cycle_s)} s needed"
        )
    if need.payload_kg is not None and s.payload_kg is not None:
        if not s.payload_kg.holds(need.payload_kg):
            return None
        score += SCORE_PAYLOAD
        reasons.append(f"payload {_num(need.payload_kg)} kg is within {s.payload_kg.words('kg')}")
    if need.budget_yuan is not None:
        if s.price_yuan.low > need.budget_yuan:
            return None
        budget = f"the budget of {_num(need.budget_yuan)} yuan"
        if s.price_yuan.high <= need.budget_yuan:
            score += SCORE_PRICE["within"]
            reasons.append(f"price {s.price_yuan.words('yuan')} is within {budget}")
        else:
            score += SCORE_PRICE["from"]
            reasons.append(f"price from {_num(s.price_yuan.low)} yuan may fit {budget}")
    return score, reasons


def match(need: Need, solutions: Sequence[Solution]) -> list[tuple[Solution, int, list[str]]]:
    """The solutions that fit a need, best first, each with its score and the reasons in words.

    A solution fits when it serves the industry (its exact class scores more than its group,
    its group more than its division), does the process, addresses at least one of the need's
    loss types, can reach the needed cycle (a faster cell fits, scoring less than one whose
    range holds it), carries the payload, and starts within the budget (fully within scores
    more). A limit the need or the solution leaves out is not checked. Ties go to the cheaper.
    """
    found = []
    for s in solutions:
        fit = _fit(s, need)
        if fit is not None:
            found.append((s, fit[0], fit[1]))
    found.sort(key=lambda m: (-m[1], m[0].price_yuan.low, m[0].id))
    return found


# -- demand against supply -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SupplyRow:
    """One industry: candidates (None without demand data), how many have a matching
    solution, the solutions serving it and their providers (enterprise ids)."""

    industry: str  # a key industry's key, or a GB/T division code for the rest
    name_en: str
    candidates: int | None
    covered: int | None
    solutions: int
    providers: tuple[int, ...] = field(default=())


def _group_of(code: str) -> tuple[str, str, tuple[str, ...]]:
    """The row an industry code falls in: (key, English name, prefixes)."""
    for key in KEY_INDUSTRIES:
        if any(code.startswith(p) for p in key.prefixes):
            return key.key, key.name_en, key.prefixes
    return code[:2], f"Division {code[:2]}", (code[:2],)


def _serves(s: Solution, prefixes: Sequence[str]) -> bool:
    return any(c.startswith(p) or p.startswith(c) for c in s.industries for p in prefixes)


def demand_supply(
    needs_by_industry: Mapping[str, Sequence[Need]] | None, solutions: Sequence[Solution]
) -> list[SupplyRow]:
    """Rows per industry: the city's four key industries first, then any other division that
    a need or a solution names. Without demand data (None), candidates and covered are None.

    >>> s = parse_solution({"name": "Cell", "industries": ["3670"], "processes": ["welding"],
    ...     "losses": ["labour"], "price_yuan": {"min": 1, "max": 2}}, enterprise_id=9)
    >>> needs = {"3670": [Need("3670", "welding"), Need("3670", "glazing")]}
    >>> [(r.industry, r.candidates, r.covered, r.solutions) for r in demand_supply(needs, [s])][:2]
    [('automobile', 2, 1, 1), ('ceramics', 0, 0, 0)]
    """
    groups = {k.key: (k.name_en, k.prefixes) for k in KEY_INDUSTRIES}
    codes = [normalise_code(c) for c in (needs_by_industry or {})]
    codes += [c for s in solutions for c in s.industries]
    for code in codes:
        key, name, prefixes = _group_of(code)
        groups.setdefault(key, (name, prefixes))
    needs: dict[str, list[Need]] = {key: [] for key in groups}
    for code, listed in (needs_by_industry or {}).items():
        needs[_group_of(normalise_code(code))[0]].extend(listed)
    rows = []
    for key, (name, prefixes) in groups.items():
        serving = [s for s in solutions if _serves(s, prefixes)]
        covered = sum(1 for n in needs[key] if match(n, serving))
        rows.append(
            SupplyRow(
                industry=key,
                name_en=name,
                candidates=len(needs[key]) if needs_by_industry is not None else None,
                covered=covered if needs_by_industry is not None else None,
                solutions=len(serving),
                providers=tuple(sorted({s.enterprise_id for s in serving})),
            )
        )
    return rows
