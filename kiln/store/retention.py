"""Retention rules: which whole UTC days of raw points and rollups each series keeps.

Pure: the ``[retention]`` settings and the asset catalogue in, a ``RetentionPlan`` out; the
store applies it (``Store.retention``). A series keeps ``raw_days`` of raw points unless an
override matches it: ``enterprises`` by enterprise slug, ``signals`` by signal kind ("state")
or by ``template.signal`` pattern ("industrial_robot.*", "*.power"). When several match, the
longest wins (0, forever, is longest), so a rule can only ever keep more of what another keeps.
Rollups are never removed while their raw points are kept: 1-minute rollups keep at least the
raw days, 1-hour rollups at least the 1-minute days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from kiln.domain.catalog import AssetCatalog

if TYPE_CHECKING:
    from kiln.config import RetentionSettings

DAY_MS = 86_400_000
SIGNAL_KINDS = ("gauge", "counter", "state", "enum")
TABLES = ("points", "rollup_1m", "rollup_1h")  # what retention removes from, finest first


def _longest(days: Iterable[int]) -> int:
    """The longest of some retention periods in days, where 0 means forever.

    >>> _longest([7, 90]), _longest([7, 0])
    (90, 0)
    """
    values = list(days)
    return 0 if 0 in values else max(values)


@dataclass(frozen=True, slots=True)
class Keep:
    """Whole UTC days kept of raw points, 1-minute and 1-hour rollups (None: forever)."""

    raw_days: int | None
    rollup_1m_days: int | None
    rollup_1h_days: int | None

    @classmethod
    def of(cls, raw_days: int, rollup_1m_days: int, rollup_1h_days: int) -> Keep:
        """From settings' days (0: forever), never dropping a rollup before its source.

        >>> Keep.of(30, 180, 0)
        Keep(raw_days=30, rollup_1m_days=180, rollup_1h_days=None)
        >>> Keep.of(400, 180, 365)
        Keep(raw_days=400, rollup_1m_days=400, rollup_1h_days=400)
        """
        m1 = _longest([raw_days, rollup_1m_days])
        h1 = _longest([m1, rollup_1h_days])
        return cls(raw_days or None, m1 or None, h1 or None)


def cut_ms(now_ms: int, days: int | None) -> int | None:
    """The start of the oldest UTC day kept (today and ``days`` days before it stay); rows
    before it go. None keeps everything.

    >>> cut_ms(1_764_000_000_000, 30)  # 2025-11-24T16:00Z keeps 2025-10-25 on
    1761350400000
    """
    return None if days is None else now_ms - now_ms % DAY_MS - days * DAY_MS


@dataclass(frozen=True, slots=True)
class RetentionGroup:
    """Series kept alike: the rule that decided, and the times before which their rows go."""

    rule: str  # "default", "enterprise acme-auto", "signals state"
    keep: Keep
    series: tuple[int, ...]
    raw_before_ms: int | None
    rollup_1m_before_ms: int | None
    rollup_1h_before_ms: int | None
    others: bool = False  # the default group: also every series not in the catalogue

    def before_ms(self, table: str) -> int | None:
        """The cut of one of TABLES."""
        return {
            "points": self.raw_before_ms,
            "rollup_1m": self.rollup_1m_before_ms,
            "rollup_1h": self.rollup_1h_before_ms,
        }[table]


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """What retention removes at now_ms, group by group; the default group comes first."""

    now_ms: int
    groups: tuple[RetentionGroup, ...]
    unmatched: tuple[str, ...] = ()  # override rules that match no series (typos, old slugs)


@dataclass(frozen=True, slots=True)
class Removal:
    """Rows of one table that retention removed (in a dry run: would remove)."""

    table: str  # one of TABLES
    rule: str
    series: int  # series the rule covers (the default rule: those in the catalogue)
    before_ms: int
    rows: int


def signal_matches(pattern: str, kind: str, template: str, signal: str) -> bool:
    """Whether a ``signals`` rule covers a signal: a kind, or a template.signal pattern.

    >>> signal_matches("state", "state", "press", "mode")
    True
    >>> signal_matches("industrial_robot.*", "gauge", "industrial_robot", "j1_torque")
    True
    >>> signal_matches("*.power", "gauge", "press", "main_motor_power")
    False
    """
    if "." not in pattern:
        return kind == pattern
    return fnmatchcase(f"{template}.{signal}", pattern)


def retention_plan(catalog: AssetCatalog, rules: RetentionSettings, now_ms: int) -> RetentionPlan:
    """Group every signal of the catalogue by the rule that decides its raw days."""
    slugs = {e.id: e.slug for e in catalog.enterprises.values()}
    used: set[str] = set()
    members: dict[tuple[str, int], list[int]] = {("default", rules.raw_days): []}
    for s in sorted(catalog.signals.values(), key=lambda x: x.id):
        eq = catalog.equipment.get(s.equipment_id)
        template = eq.template if eq else ""
        found = [
            (days, f"signals {pattern}")
            for pattern, days in rules.signals.items()
            if signal_matches(pattern, s.kind, template, s.name)
        ]
        slug = slugs.get(s.enterprise_id, "")
        if slug in rules.enterprises:
            found.append((rules.enterprises[slug], f"enterprise {slug}"))
        if not found:
            members[("default", rules.raw_days)].append(s.id)
            continue
        days = _longest(d for d, _ in found)
        rule = "; ".join(r for d, r in found if d == days)
        used.update(r for _, r in found)
        members.setdefault((rule, days), []).append(s.id)
    groups = []
    for (rule, days), series in members.items():
        keep = Keep.of(days, rules.rollup_1m_days, rules.rollup_1h_days)
        groups.append(
            RetentionGroup(
                rule,
                keep,
                tuple(series),
                cut_ms(now_ms, keep.raw_days),
                cut_ms(now_ms, keep.rollup_1m_days),
                cut_ms(now_ms, keep.rollup_1h_days),
                others=rule == "default",
            )
        )
    declared = [f"enterprise {k}" for k in rules.enterprises] + [
        f"signals {k}" for k in rules.signals
    ]
    unmatched = tuple(r for r in declared if r not in used)
    return RetentionPlan(now_ms, tuple(groups), unmatched)
