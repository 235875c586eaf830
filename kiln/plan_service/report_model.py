"""What the yearly report holds: its facts, notes, charts and plan sections, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kiln.plan.progress import Projection, Source, Status
from kiln.plan_service.tables import IndicatorTable


class Basis(StrEnum):
    """Where a figure of the report comes from, or why it has none."""

    PUBLISHED = "published"
    FILED = "filed"
    IMPLIED = "implied"
    WITHHELD = "withheld"
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class Figure:
    """One number of the report, written for a reader, with where it comes from."""

    value: float | None  # None: withheld or missing
    basis: Basis
    text: str  # "2.24 trillion yuan", "+9.8 %", or "No figure"
    tag: str = ""  # its source in the facts table: "published [1]"
    how: str = ""  # its source in a sentence: ", as filed by 3 of the 4 registered enterprises"


@dataclass(frozen=True, slots=True)
class Fact:
    """A headline fact: a level and, where the report gives one, its growth on the year before."""

    key: str
    name: str
    level: Figure
    growth: Figure | None


@dataclass(frozen=True, slots=True)
class Note:
    """A footnote: a published figure's source, or the disclosure rule (mark '*')."""

    mark: str
    text: str
    url: str = ""  # only http(s) addresses, so a link is never a script


@dataclass(frozen=True, slots=True)
class Chart:
    """A level target's path: the plan's trajectory, the figures, the projection to the end."""

    unit: str
    goal: float
    deadline: int
    trajectory: tuple[tuple[int, float], ...]
    actuals: tuple[tuple[int, float, Source], ...]
    projection: Projection | None  # only while the deadline is still ahead of the figures


@dataclass(frozen=True, slots=True)
class TargetLine:
    """One target as the report shows it."""

    label: str
    status: Status
    status_text: str
    reason: str
    chart: Chart | None


@dataclass(frozen=True, slots=True)
class PlanSection:
    """One plan: what it is, where it stood in the year, and its targets."""

    key: str
    title: str
    about: str
    targets: tuple[TargetLine, ...]
    error: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    """The yearly report in one language, ready to be laid out as Markdown, HTML or PDF."""

    year: int
    lang: str
    plan_key: str | None
    title: str
    intro: str
    summary: tuple[str, ...]  # paragraphs
    facts: tuple[Fact, ...]
    plans: tuple[PlanSection, ...]
    plans_note: str
    tables: tuple[IndicatorTable, ...]
    tables_note: str
    notes: tuple[Note, ...]
