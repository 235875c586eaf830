"""Enterprise statistical filings: periods, validation, and what needs confirming.

A filing is for one enterprise and one period, a month ("2019-03") or a year ("2019"). A second
filing for the same period is a correction: it gets the next version and must give a reason;
earlier versions are kept as they were. Values are checked field by field: negative or
non-numeric values are refused; a value above a field's plausibility cap, or more than ten times
(or less than a tenth of) the previous period's, is flagged and stored only once the filer
confirms it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kiln.errors import BadInput
from kiln.plan.fields import FIELD_BY_NAME, FIELD_NAMES, parse_amount

JUMP = 10.0  # a change of more than this factor versus the previous period is flagged
FIRST_YEAR = 2000
_PERIOD = re.compile(r"^(\d{4})(?:-(\d{1,2}))?$")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A year (month 0) or one month of it.

    >>> Period.parse("2019-03"), Period.parse("2019").text
    (Period(year=2019, month=3), '2019')
    >>> Period.parse("2019-01").previous, Period.parse("2019").previous
    (Period(year=2018, month=12), Period(year=2018, month=0))
    """

    year: int
    month: int = 0

    @property
    def annual(self) -> bool:
        """Whether this is a whole year."""
        return self.month == 0

    @property
    def text(self) -> str:
        """'2019' or '2019-03'."""
        return str(self.year) if self.annual else f"{self.year}-{self.month:02d}"

    @property
    def previous(self) -> Period:
        """The period before, of the same length."""
        if self.annual:
            return Period(self.year - 1)
        return Period(self.year, self.month - 1) if self.month > 1 else Period(self.year - 1, 12)

    @property
    def first_month(self) -> tuple[int, int]:
        """(year, month) the period starts in."""
        return (self.year, self.month or 1)

    @property
    def last_month(self) -> tuple[int, int]:
        """(year, month) the period ends in."""
        return (self.year, self.month or 12)

    @classmethod
    def parse(cls, text: object, *, where: str = "period") -> Period:
        """From 'YYYY' or 'YYYY-MM'; BadInput names what is wrong."""
        m = _PERIOD.match(str(text).strip()) if isinstance(text, str | int) else None
        if not m:
            raise BadInput(f"{text!r} is not a period: write YYYY or YYYY-MM", where=where)
        year, month = int(m.group(1)), int(m.group(2) or 0)
        if m.group(2) is not None and not 1 <= month <= 12:
            raise BadInput(f"{text!r}: month {month} is not 1-12", where=where)
        if year < FIRST_YEAR:
            raise BadInput(f"{text!r}: filings start in {FIRST_YEAR}", where=where)
        return cls(year, month)


@dataclass(frozen=True, slots=True)
class Flag:
    """Something about a value that the filer must confirm before it is stored."""

    field: str
    what: str


@dataclass(frozen=True, slots=True)
class Filing:
    """One version of an enterprise's filing for a period; figures in stored units."""

    enterprise_id: int
    period: Period
    figures: Mapping[str, float]
    version: int = 1
    reason: str = ""
    filed_by: str = ""
    filed_ms: int = 0
    channel: str = "api"  # api, csv, xlsx, form, seed
    flags: tuple[Flag, ...] = field(default=())


class NeedsConfirmation(BadInput):
    """Values that look wrong but may be right: store them by filing again with confirm."""

    def __init__(self, flags: tuple[Flag, ...], *, where: str) -> None:
        listing = "; ".join(f"{f.field}: {f.what}" for f in flags)
        super().__init__(f"confirm these values (send confirm=true): {listing}", where=where)
        self.flags = flags


def parse_figures(
    raw: Mapping[str, object], *, unit: str | None = None, where: str
) -> dict[str, float]:
    """The figures of a filing in stored units; BadInput names the field and the problem.

    Blank values (None or '') mean "not filed". Each value may carry its unit ("5.2 亿元");
    ``unit`` applies to the money figures that do not.
    """
    figures: dict[str, float] = {}
    for name, value in raw.items():
        spot = f"{where}: {name}"
        f = FIELD_BY_NAME.get(name)
        if f is None:
            raise BadInput(f"unknown figure; expected one of {', '.join(FIELD_NAMES)}", where=spot)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            amount = parse_amount(
                value, f, unit=unit if f.kind.value == "money" else None, where=spot
            )
        except ValueError as err:
            raise BadInput(str(err).removeprefix(f"{spot}: "), where=spot) from None
        if amount < 0:
            raise BadInput(f"{value!r} is negative", where=spot)
        figures[name] = amount
    if not figures:
        raise BadInput("a filing needs at least one figure", where=where)
    out, robots = figures.get("output_value"), figures.get("robot_output_value")
    if out is not None and robots is not None and robots > out * (1 + 1e-9):
        raise BadInput(
            f"robot and intelligent-equipment output ({robots:,.0f} yuan) exceeds the "
            f"output value ({out:,.0f} yuan) it is part of",
            where=f"{where}: robot_output_value",
        )
    return figures


def flags_for(
    figures: Mapping[str, float], period: Period, previous: Mapping[str, float] | None
) -> tuple[Flag, ...]:
    """What needs confirming: implausible sizes and jumps against the previous period.

    >>> flags_for({"employees": 900}, Period(2019, 3), {"employees": 80})
    (Flag(field='employees', what='900 is more than 10x the previous period (80)'),)
    """
    flags: list[Flag] = []
    months = 12 if period.annual else 1
    for name, value in figures.items():
        f = FIELD_BY_NAME[name]
        cap = f.implausible_per_year * (months / 12 if f.over.value == "flow" else 1)
        if value > cap:
            flags.append(Flag(name, f"{value:,.6g} is implausibly large for one enterprise"))
            continue
        before = (previous or {}).get(name)
        if before is None or not math.isfinite(before):
            continue
        if before > 0 and value > JUMP * before:
            flags.append(
                Flag(name, f"{value:,.6g} is more than 10x the previous period ({before:,.6g})")
            )
        elif value > 0 and before > JUMP * value:
            flags.append(
                Flag(
                    name,
                    f"{value:,.6g} is less than a tenth of the previous period ({before:,.6g})",
                )
            )
    return tuple(flags)


def check_period(period: Period, *, now_year: int, now_month: int, where: str) -> None:
    """Refuse a period that has not started yet (a month or year still to come)."""
    if period.first_month > (now_year, now_month):
        raise BadInput(f"{period.text} has not started yet", where=where)


def check_correction(current: Filing | None, reason: str, *, where: str) -> int:
    """The version a new filing gets; a correction (a filing already exists) needs a reason."""
    if current is None:
        return 1
    if not reason.strip():
        raise BadInput(
            f"{current.period.text} was already filed (version {current.version}); "
            "a correction needs a reason",
            where=f"{where}: reason",
        )
    return current.version + 1
