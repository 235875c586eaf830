"""What a rule watches on one equipment (a target), and the words its conditions are told in."""

from __future__ import annotations

from dataclasses import dataclass

from kiln.domain.alarms import Condition
from kiln.stream.rule_defs import Rule


@dataclass(frozen=True, slots=True)
class Target:
    """One rule on one equipment (and, for signal rules, the series it reads)."""

    rule: Rule
    equipment_id: int
    enterprise_id: int
    label: str  # the equipment's slug, as messages name it
    series: int | None = None
    unit: str = ""

    @property
    def key(self) -> str:
        """The alarm key: one alarm per rule and equipment."""
        return f"rule:{self.rule.name}:eq:{self.equipment_id}"

    def condition(
        self,
        active: bool,
        ts_ms: int,
        message: str,
        *,
        value: float | None = None,
        since_ms: int | None = None,
    ) -> Condition:
        """A condition of this target, carrying the rule's severity and kind."""
        return Condition(
            key=self.key,
            enterprise_id=self.enterprise_id,
            equipment_id=self.equipment_id,
            active=active,
            ts_ms=int(ts_ms),
            severity=self.rule.severity,
            kind=self.rule.kind,
            message=message,
            rule=self.rule.name,
            series=self.series,
            value=None if value is None else float(value),
            since_ms=None if since_ms is None else int(since_ms),
        )

    def quantity(self, value: float) -> str:
        """A value with this target's unit: '1,212 °C'."""
        return f"{format_number(value)} {self.unit}" if self.unit else format_number(value)


def format_number(value: float) -> str:
    """A number as people read it: thousands grouped, three or four significant figures.

    >>> format_number(1212.0), format_number(0.5234), format_number(-12.25), format_number(7)
    ('1,212', '0.523', '-12.2', '7')
    """
    size = abs(value)
    decimals = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_duration(ms: float) -> str:
    """A duration in words, to the second: '45 s', '5 min', '5 min 30 s', '2 h 5 min'.

    >>> format_duration(300_000), format_duration(330_000), format_duration(7_500_000)
    ('5 min', '5 min 30 s', '2 h 5 min')
    """
    s = round(ms / 1000)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, rest = divmod(s, 60)
        return f"{m} min {rest} s" if rest else f"{m} min"
    h, m = divmod(round(s / 60), 60)
    return f"{h} h {m} min" if m else f"{h} h"
