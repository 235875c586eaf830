"""The reasons a simulated state carries, as small codes for columns and as the text ingest sees."""

from __future__ import annotations

# Code 0 is "no reason" (RUNNING, OFF_SHIFT). The order is fixed: codes are kept in plan arrays.
REASONS: tuple[str | None, ...] = (
    None,
    "starved",
    "blocked",
    "no_order",
    "no_operator",
    "changeover",
    "meal_break",
    # minor faults, by template (domain.md 6.3 and 7)
    "collision",
    "servo_alarm",
    "roller_jam",
    "fan_trip",
    "misfeed",
    "double_blank",
    "nozzle_freeze",
    "mould_sensor",
    "feeder_jam",
    "board_jam",
    "tool_break",
    "chip_jam",
    # injected failures (failures.FAILURE_KINDS)
    "j1_reducer_wear",
    "j2_reducer_wear",
    "j3_reducer_wear",
    "motor_overheating",
    "cabinet_fan_failure",
    "burner_fault",
    "exhaust_fan_wear",
    "brake_wear",
    "die_misalignment",
    "lube_failure",
    "check_ring_wear",
    "heater_band_failure",
    "mould_cooling_blocked",
    "oil_overheating",
    "stencil_clogging",
    "nozzle_wear",
    "reflow_heater_failure",
    "spindle_bearing_wear",
    "tool_wear",
    "coolant_pump_failure",
)
_CODES = {r: i for i, r in enumerate(REASONS)}


def reason_code(reason: str | None) -> int:
    """The code of a reason, or KeyError for one the simulator does not know.

    >>> reason_code("starved"), REASONS[reason_code("meal_break")]
    (1, 'meal_break')
    """
    return _CODES[reason]
