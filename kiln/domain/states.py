"""Equipment states: the closed set of domain.md 1.5, as small integer codes for columns."""

from __future__ import annotations

from enum import IntEnum

# domain.md 1.4: a stop shorter than this is a micro-stop (performance loss), not downtime;
# Kiln's default, which a site's policy may change.
DEFAULT_MICRO_STOP_MS = 120_000


class EquipmentState(IntEnum):
    """One state at a time per equipment; codes are stored, names are shown."""

    UNKNOWN = 0
    RUNNING = 1
    IDLE = 2
    SETUP = 3
    DOWN_FAULT = 4
    PLANNED_DOWN = 5
    OFF_SHIFT = 6

    @classmethod
    def parse(cls, text: str) -> EquipmentState:
        """Return the state named by text (case-insensitive), or raise ValueError.

        >>> EquipmentState.parse("running")
        <EquipmentState.RUNNING: 1>
        """
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown state {text!r}; expected one of {names}") from None


# Reasons an IDLE or DOWN_FAULT state may carry (domain.md 1.5); free text is kept as given.
IDLE_REASONS = ("starved", "blocked", "no_order", "no_operator")
STATE_NAMES = {s.value: s.name.lower() for s in EquipmentState}
