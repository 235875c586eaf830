"""Plans, targets and their scopes, as plain data (architecture.md: plan, target).

A plan has a period and targets. A target names an indicator, a scope (the city, one district
or one industry group), either a level to reach or an average annual growth rate to sustain, a
deadline year, and whether its value is a floor (reach at least) or a ceiling (stay at most).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ScopeKind(StrEnum):
    """What part of the city a target or a figure covers."""

    CITY = "city"
    DISTRICT = "district"  # key: district code ("nanhai")
    INDUSTRY = "industry"  # key: industry group ("automobile", "robots", "other")


class TargetKind(StrEnum):
    """A level to reach by the deadline, or an average annual growth to sustain until it."""

    LEVEL = "level"  # value in the indicator's unit
    GROWTH = "growth"  # value in percent a year, compounded from the baseline year


class Bound(StrEnum):
    """Whether the target's value must be reached (floor) or not exceeded (ceiling)."""

    FLOOR = "floor"
    CEILING = "ceiling"


@dataclass(frozen=True, slots=True)
class Scope:
    """The city, or one district or industry group of it.

    >>> Scope.parse("district:nanhai")
    Scope(kind=<ScopeKind.DISTRICT: 'district'>, key='nanhai')
    >>> Scope.parse("city").text
    'city'
    """

    kind: ScopeKind = ScopeKind.CITY
    key: str = ""

    def __post_init__(self) -> None:
        if (self.kind is ScopeKind.CITY) != (self.key == ""):
            raise ValueError(f"scope {self.kind.value!r} needs a key exactly when not the city")

    @property
    def text(self) -> str:
        """The stored form: 'city', 'district:<code>' or 'industry:<group>'."""
        return self.kind.value if self.kind is ScopeKind.CITY else f"{self.kind.value}:{self.key}"

    @classmethod
    def parse(cls, text: str) -> Scope:
        """From the stored form; a ValueError names what is wrong."""
        kind, _, key = text.partition(":")
        try:
            return cls(ScopeKind(kind), key)
        except ValueError as err:
            raise ValueError(
                f"scope {text!r}: expected 'city', 'district:<code>' or 'industry:<group>' ({err})"
            ) from None


CITY = Scope()


@dataclass(frozen=True, slots=True)
class Target:
    """One target of a plan.

    ``baseline_value`` is the indicator's value in ``baseline_year`` when it is known; when it
    is not (the plan's own documents rarely give it), progress uses the published or filed
    figure for that year, or the baseline implied by a sibling growth target.
    """

    key: str
    indicator: str
    kind: TargetKind
    value: float
    deadline_year: int
    baseline_year: int
    bound: Bound = Bound.FLOOR
    scope: Scope = CITY
    baseline_value: float | None = None
    name_en: str = ""
    name_zh: str = ""

    def __post_init__(self) -> None:
        if self.deadline_year <= self.baseline_year:
            raise ValueError(
                f"target {self.key!r}: deadline {self.deadline_year} is not after the baseline "
                f"year {self.baseline_year}"
            )
        if self.kind is TargetKind.LEVEL and self.value < 0:
            raise ValueError(f"target {self.key!r}: a level target cannot be negative")
        if self.kind is TargetKind.GROWTH and self.value <= -100:
            raise ValueError(f"target {self.key!r}: growth must be above -100 %")

    def met_by(self, value: float) -> bool:
        """Whether a value (a level, or a growth in percent) satisfies the target."""
        return value >= self.value if self.bound is Bound.FLOOR else value <= self.value


@dataclass(frozen=True, slots=True)
class Plan:
    """A plan of the city: a period of whole years, who issued it, and its targets."""

    key: str
    name_en: str
    name_zh: str
    start_year: int
    end_year: int
    issuer: str = ""
    issued: str = ""  # publication date, ISO yyyy-mm or yyyy-mm-dd
    targets: tuple[Target, ...] = field(default=())
    issuer_zh: str = ""

    def __post_init__(self) -> None:
        if self.end_year < self.start_year:
            raise ValueError(f"plan {self.key!r}: ends ({self.end_year}) before it starts")
        keys = [t.key for t in self.targets]
        if len(set(keys)) != len(keys):
            raise ValueError(f"plan {self.key!r}: target keys repeat")

    def target(self, key: str) -> Target:
        """The target with this key; KeyError names it."""
        for t in self.targets:
            if t.key == key:
                return t
        raise KeyError(f"plan {self.key!r} has no target {key!r}")


def implied_baseline(level: Target, growth: Target) -> float:
    """The baseline a level target implies when reached by exactly the growth target's rate.

    The 2018-2020 plan: 120 bn yuan by 2020 growing 15 % a year from 2017 implies 2017 output of
    120 / 1.15**3 = 78.90 bn yuan.

    >>> lvl = Target("out", "x", TargetKind.LEVEL, 120e9, 2020, 2017)
    >>> g = Target("g", "x", TargetKind.GROWTH, 15.0, 2020, 2017)
    >>> round(implied_baseline(lvl, g) / 1e9, 2)
    78.9
    """
    years = level.deadline_year - growth.baseline_year
    return level.value / (1.0 + growth.value / 100.0) ** years
