"""How each template signal behaves: where it sits while running, where it goes when stopped,
how fast it gets there, and how it wanders (domain.md 6.2 and 7).

A signal's value is a target (running level or stopped level) seen through a first-order lag
(thermal mass), plus slow drift, AR(1) noise and, before a failure, its precursor.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiln.domain.templates import SignalSpec


@dataclass(frozen=True, slots=True)
class SignalModel:
    """The behaviour of one signal; fractions are of its normal range (or base, if relative)."""

    stop_frac: float = 1.0  # stopped level = rest + stop_frac x (base - rest)
    thermal: bool = False  # rest is the air temperature (else 0); noise continues when stopped
    tau_s: float = 0.0  # time constant of the lag towards the target; 0 = none
    noise: float = 0.03  # standard deviation
    noise_tau_s: float = 30.0  # correlation time of the AR(1) noise
    speed_exp: float = 0.0  # running level x speed**speed_exp (rates 1, cycle times -1)
    ambient_gain: float = 0.0  # °C per °C of air temperature above the reference
    drift: float = 0.02  # amplitude of the slow (days) drift
    relative: bool = False  # noise and drift scale with the base, not the range
    base: str = "range"  # "range": inside lo..hi; "cycle": ideal cycle; "strokes": 60/cycle
    signed: bool = False  # may go below zero
    idle_frac: float | None = None  # like stop_frac, while IDLE (waiting); None: as stopped


def _thermal(stop: float, tau_s: float, gain: float, noise: float = 0.01) -> SignalModel:
    # A machine waiting for parts stays powered: it cools a little, not to the air.
    idle = max(stop, 0.85)
    return SignalModel(
        stop, True, tau_s, noise, 120.0, ambient_gain=gain, drift=0.015, idle_frac=idle
    )


def _load(stop: float, noise: float = 0.04, speed: float = 0.0, tau_s: float = 0.0) -> SignalModel:
    return SignalModel(stop, False, tau_s, noise, 8.0, speed_exp=speed)


_HOLDING = ((1, 0.1), (2, 0.4), (3, 0.3))
_CYCLE = SignalModel(1.0, noise=0.015, speed_exp=-1.0, drift=0.01, relative=True, base="cycle")

MODELS: dict[str, dict[str, SignalModel]] = {
    "industrial_robot": {
        # j2 and j3 hold the arm against gravity when stopped (servo on, brakes off between
        # cycles), so they keep torque and stay warm; j1 turns freely.
        **{f"j{j}_motor_temp": _thermal(stop, 1800.0, 0.5) for j, stop in _HOLDING},
        **{f"j{j}_torque": _load(stop) for j, stop in _HOLDING},
        "speed_override": SignalModel(1.0, noise=0.0, drift=0.0, speed_exp=1.0),
        "cycle_time": _CYCLE,
        "cabinet_temp": _thermal(0.3, 1800.0, 0.6),
        "power": _load(0.15, 0.05, speed=1.0),
    },
    "roller_kiln": {
        # A kiln is tons of refractory: zones cool for hours, not minutes, when burners stop.
        "preheat_temp": SignalModel(0.7, True, 2400.0, 0.005, 300.0, ambient_gain=0.05),
        "firing_temp": SignalModel(0.75, True, 1800.0, 0.01, 300.0, ambient_gain=0.02),
        "cooling_temp": SignalModel(0.6, True, 2400.0, 0.01, 300.0, ambient_gain=0.1),
        "roller_speed": SignalModel(0.5, noise=0.005, noise_tau_s=600.0, drift=0.02),
        "gas_flow": _load(0.3, 0.015, tau_s=120.0),
        "kiln_pressure": SignalModel(0.5, noise=0.05, noise_tau_s=60.0, signed=True),
        "flue_o2": SignalModel(1.8, noise=0.03, noise_tau_s=120.0),  # air, no fuel: O2 rises
        "fan_current": _load(0.2, 0.02),
    },
    "press": {
        "tonnage": _load(0.0, 0.03),
        "stroke_rate": SignalModel(0.0, noise=0.01, speed_exp=1.0, relative=True, base="strokes"),
        "main_motor_power": _load(0.25, 0.05, speed=1.0),  # the flywheel keeps turning
        "lube_pressure": SignalModel(0.9, noise=0.02, noise_tau_s=120.0),
        "lube_temp": _thermal(0.5, 2400.0, 0.3),
        "brake_stop_time": SignalModel(1.0, noise=0.03, noise_tau_s=600.0),
    },
    "injection_moulding": {
        "barrel_temp": SignalModel(
            0.9, True, 900.0, 0.01, 120.0, ambient_gain=0.05, idle_frac=0.97
        ),
        "mould_temp": _thermal(0.7, 900.0, 0.2, 0.015),
        "injection_pressure": _load(0.0, 0.03),
        "cushion": SignalModel(1.0, noise=0.02, noise_tau_s=60.0),
        "cycle_time": _CYCLE,
        # A cooler and a tank heater hold the hydraulic oil near its set point (40-50 °C).
        "oil_temp": _thermal(0.85, 3600.0, 0.1, 0.02),
        "power": _load(0.2, 0.05, speed=1.0),
    },
    "smt_line": {
        "paste_volume": SignalModel(1.0, noise=0.04, noise_tau_s=600.0),
        "placement_rate": SignalModel(0.0, noise=0.02, noise_tau_s=60.0, speed_exp=1.0),
        "pick_error_rate": SignalModel(1.0, noise=0.1, noise_tau_s=300.0),
        # Reflow ovens stay hot through breaks; only the conveyor stops.
        "reflow_peak_temp": SignalModel(
            0.98, True, 600.0, 0.03, 120.0, ambient_gain=0.05, idle_frac=1.0
        ),
        "conveyor_speed": SignalModel(1.0, noise=0.01, drift=0.01),
        "o2_ppm": SignalModel(1.0, noise=0.05, noise_tau_s=300.0),
    },
    "cnc_machine": {
        "spindle_speed": SignalModel(0.0, noise=0.01),
        "spindle_load": _load(0.0, 0.05),
        "spindle_temp": _thermal(0.1, 1200.0, 0.5),
        "vibration_rms": _load(0.1, 0.05),
        "coolant_temp": SignalModel(
            0.6, True, 2400.0, 0.01, 300.0, ambient_gain=0.3, idle_frac=0.9
        ),
        "power": _load(0.15, 0.05, speed=1.0),
    },
}


def model_of(template: str, spec: SignalSpec) -> SignalModel:
    """The model of a template's signal; a signal added to a template later gets a plain one.

    >>> model_of("press", SignalSpec("tonnage", "kN", 6000, 9000)).stop_frac
    0.0
    >>> model_of("press", SignalSpec("die_temp", "°C", 30, 60)).thermal
    True
    """
    found = MODELS.get(template, {}).get(spec.name)
    if found is not None:
        return found
    return _thermal(0.3, 1200.0, 0.3) if spec.unit == "°C" else SignalModel()
