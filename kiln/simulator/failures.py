"""Injected failures: what wears out in each kind of equipment, how it shows beforehand, and when.

Each failure has a precursor: for 2-12 hours its signals creep away from normal (domain.md 6.3,
7.1-7.4), then the equipment goes DOWN_FAULT until repaired. The schedule is drawn per equipment
from its own generator, ahead of time, because a precursor is visible before its failure is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
WEEK_H = 168.0
PRECURSOR_H = (2.0, 12.0)


@dataclass(frozen=True, slots=True)
class Effect:
    """How one signal moves before a failure: `shift` x its normal range by the failure moment."""

    signal: str
    shift: float  # signed, in units of (hi - lo) of the signal's normal range
    noise_growth: float = 0.0  # extra noise by the failure moment, as a multiple of normal


@dataclass(frozen=True, slots=True)
class FailureKind:
    """A failure mode of a template, with its relative frequency and its precursor signals."""

    key: str
    template: str
    weight: float
    effects: tuple[Effect, ...]


FAILURE_KINDS: tuple[FailureKind, ...] = (
    # Reducer wear: rising torque and a wider torque spread, gear heat (domain.md 6.3).
    *(
        FailureKind(
            f"j{j}_reducer_wear", "industrial_robot", w,
            (Effect(f"j{j}_torque", 0.35, 1.0), Effect(f"j{j}_motor_temp", 0.4)),
        )
        for j, w in ((1, 1.0), (2, 3.0), (3, 1.5))
    ),
    FailureKind("motor_overheating", "industrial_robot", 1.0, (Effect("j2_motor_temp", 0.55),)),
    FailureKind("cabinet_fan_failure", "industrial_robot", 1.0, (Effect("cabinet_temp", 0.6),)),
    # Burner failure: the firing zone sags, gas flow rises as the others compensate (7.1).
    FailureKind(
        "burner_fault", "roller_kiln", 2.0,
        (Effect("firing_temp", -0.45, 1.0), Effect("gas_flow", 0.25)),
    ),
    FailureKind(
        "exhaust_fan_wear", "roller_kiln", 1.0,
        (Effect("fan_current", 0.5, 1.0), Effect("kiln_pressure", 0.4)),
    ),
    FailureKind("brake_wear", "press", 2.0, (Effect("brake_stop_time", 0.6, 0.5),)),
    FailureKind("die_misalignment", "press", 1.0, (Effect("tonnage", 0.3, 1.0),)),
    FailureKind(
        "lube_failure", "press", 1.0, (Effect("lube_pressure", -0.5), Effect("lube_temp", 0.5))
    ),
    # A worn check ring lets melt slip back: the cushion falls towards 0 (7.2).
    FailureKind("check_ring_wear", "injection_moulding", 2.0, (Effect("cushion", -0.7, 0.5),)),
    FailureKind(
        "heater_band_failure", "injection_moulding", 1.0,
        (Effect("barrel_temp", -0.4), Effect("power", 0.2)),
    ),
    FailureKind("mould_cooling_blocked", "injection_moulding", 1.0, (Effect("mould_temp", 0.5),)),
    FailureKind("oil_overheating", "injection_moulding", 1.0, (Effect("oil_temp", 1.0),)),
    FailureKind("stencil_clogging", "smt_line", 2.0, (Effect("paste_volume", -0.6, 0.5),)),
    FailureKind(
        "nozzle_wear", "smt_line", 1.0,
        (Effect("pick_error_rate", 1.5, 1.0), Effect("placement_rate", -0.2)),
    ),
    FailureKind("reflow_heater_failure", "smt_line", 1.0, (Effect("reflow_peak_temp", -0.8),)),
    FailureKind(
        "spindle_bearing_wear", "cnc_machine", 2.0,
        (Effect("vibration_rms", 0.5, 1.5), Effect("spindle_temp", 0.4)),
    ),
    FailureKind(
        "tool_wear", "cnc_machine", 1.0,
        (Effect("spindle_load", 0.3), Effect("vibration_rms", 0.25)),
    ),
    FailureKind(
        "coolant_pump_failure", "cnc_machine", 1.0,
        (Effect("coolant_temp", 0.6), Effect("spindle_temp", 0.3)),
    ),
)  # fmt: skip
KINDS_BY_KEY = {k.key: k for k in FAILURE_KINDS}


def kinds_of(template: str) -> tuple[FailureKind, ...]:
    """The failure kinds of a template.

    >>> [k.key for k in kinds_of("press")]
    ['brake_wear', 'die_misalignment', 'lube_failure']
    """
    return tuple(k for k in FAILURE_KINDS if k.template == template)


def kind_effects(kind: str) -> tuple[tuple[str, float, float], ...]:
    """(signal, shift, noise growth) for each signal a failure kind moves.

    >>> kind_effects("brake_wear")
    (('brake_stop_time', 0.6, 0.5),)
    """
    return tuple((e.signal, e.shift, e.noise_growth) for e in KINDS_BY_KEY[kind].effects)


@dataclass(frozen=True, slots=True)
class InjectedFailure:
    """Ground truth of one injected failure: precursor from, fault at, repaired at."""

    equipment_id: int
    kind: str
    precursor_start_ms: int
    failure_ms: int
    end_ms: int
    signals: tuple[str, ...]  # the signals its precursor moves


def ramp(ts_ms: I64, precursor_start_ms: int, failure_ms: int) -> F64:
    """How far a precursor has grown at each time: 0 before, rising convexly to 1, 0 from failure.

    >>> ramp(np.array([0, 50, 100, 150]), 0, 150).round(3)
    array([0.   , 0.192, 0.544, 0.   ])
    """
    span = float(failure_ms - precursor_start_ms)
    x = np.clip((ts_ms - precursor_start_ms) / span, 0.0, 1.0)
    return np.where(ts_ms < failure_ms, x**1.5, 0.0)
