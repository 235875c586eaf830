"""Equipment templates: the signals, units and normal ranges of each kind of equipment.

Ranges follow domain.md sections 6 and 7; they are typical values for a realistic simulator and
sensible alarm defaults, not specifications.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SignalSpec:
    """A signal every equipment of a template has."""

    name: str
    unit: str
    lo: float  # normal range while running
    hi: float
    kind: str = "gauge"
    period_s: float = 10.0  # how often a device of this kind typically reports it
    decimals: int = 2  # resolution the device reports with


@dataclass(frozen=True, slots=True)
class EquipmentTemplate:
    """A kind of equipment: its signals and its typical production and reliability figures."""

    key: str
    name_en: str
    name_zh: str
    signals: tuple[SignalSpec, ...]
    ideal_cycle_s: float  # PRI: the ideal time for one unit of output
    mtbf_h: float  # typical mean operating time between failures
    mttr_min: float  # typical mean time to restoration
    scrap_ratio: float  # typical share of output scrapped
    continuous: bool = False  # runs 24/7 without shifts (a kiln)

    def signal(self, name: str) -> SignalSpec:
        """The template's signal of that name, or KeyError."""
        for spec in self.signals:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _robot_signals() -> tuple[SignalSpec, ...]:
    joints = []
    for j in (1, 2, 3):  # the heavy axes carry the RV reducers that wear (domain.md 6.3)
        joints += [
            SignalSpec(f"j{j}_motor_temp", "°C", 30, 70, decimals=1),
            SignalSpec(f"j{j}_torque", "%", 20, 80, period_s=5, decimals=1),
        ]
    return (
        *joints,
        SignalSpec("speed_override", "%", 100, 100, period_s=30, decimals=0),
        # Robots tend presses (3-6 s) as well as CNC cells (up to ~140 s): a cycle-time alarm
        # must follow each robot's own ideal cycle, so the template range is only a wide bound.
        SignalSpec("cycle_time", "s", 3, 150, period_s=30, decimals=1),
        SignalSpec("cabinet_temp", "°C", 25, 45, period_s=30, decimals=1),
        SignalSpec("power", "kW", 1, 8, period_s=5, decimals=2),
    )


ROBOT = EquipmentTemplate(
    "industrial_robot",
    "Industrial robot",
    "工业机器人",
    _robot_signals(),
    ideal_cycle_s=30.0,
    mtbf_h=400.0,
    mttr_min=45.0,
    scrap_ratio=0.005,
)
ROLLER_KILN = EquipmentTemplate(
    "roller_kiln",
    "Roller kiln",
    "辊道窑",
    (
        SignalSpec("preheat_temp", "°C", 600, 900, decimals=1),
        SignalSpec("firing_temp", "°C", 1150, 1230, decimals=1),
        SignalSpec("cooling_temp", "°C", 450, 600, decimals=1),
        SignalSpec("roller_speed", "m/min", 2, 8, period_s=30, decimals=2),
        SignalSpec("gas_flow", "Nm³/h", 300, 1500, decimals=1),
        SignalSpec("kiln_pressure", "Pa", 0, 20, decimals=1),
        SignalSpec("flue_o2", "%", 4, 10, decimals=2),
        SignalSpec("fan_current", "A", 80, 120, decimals=1),
    ),
    ideal_cycle_s=2.0,
    mtbf_h=900.0,
    mttr_min=120.0,
    scrap_ratio=0.03,
    continuous=True,
)
PRESS = EquipmentTemplate(
    "press",
    "Press",
    "压力机",
    (
        SignalSpec("tonnage", "kN", 6000, 9000, period_s=5, decimals=0),
        SignalSpec("stroke_rate", "spm", 10, 18, period_s=30, decimals=1),
        SignalSpec("main_motor_power", "kW", 100, 500, period_s=5, decimals=1),
        SignalSpec("lube_pressure", "bar", 3, 6, decimals=2),
        SignalSpec("lube_temp", "°C", 35, 55, decimals=1),
        SignalSpec("brake_stop_time", "ms", 150, 250, period_s=60, decimals=0),
    ),
    ideal_cycle_s=5.0,
    mtbf_h=250.0,
    mttr_min=35.0,
    scrap_ratio=0.01,
)
INJECTION_MOULDING = EquipmentTemplate(
    "injection_moulding",
    "Injection-moulding machine",
    "注塑机",
    (
        SignalSpec("barrel_temp", "°C", 210, 260, decimals=1),
        SignalSpec("mould_temp", "°C", 40, 80, decimals=1),
        SignalSpec("injection_pressure", "bar", 500, 1000, period_s=5, decimals=0),
        SignalSpec("cushion", "mm", 3, 10, period_s=30, decimals=2),
        SignalSpec("cycle_time", "s", 20, 60, period_s=30, decimals=1),
        SignalSpec("oil_temp", "°C", 40, 50, decimals=1),
        SignalSpec("power", "kW", 10, 60, period_s=5, decimals=1),
    ),
    ideal_cycle_s=35.0,
    mtbf_h=300.0,
    mttr_min=40.0,
    scrap_ratio=0.02,
)
SMT_LINE = EquipmentTemplate(
    "smt_line",
    "SMT line",
    "SMT贴片线",
    (
        SignalSpec("paste_volume", "%", 80, 120, period_s=30, decimals=1),
        SignalSpec("placement_rate", "CPH", 40000, 70000, period_s=30, decimals=0),
        SignalSpec("pick_error_rate", "%", 0, 0.1, period_s=60, decimals=3),
        SignalSpec("reflow_peak_temp", "°C", 235, 250, decimals=1),
        SignalSpec("conveyor_speed", "m/min", 0.6, 1.5, period_s=30, decimals=2),
        SignalSpec("o2_ppm", "ppm", 500, 1500, period_s=30, decimals=0),
    ),
    ideal_cycle_s=20.0,
    mtbf_h=200.0,
    mttr_min=25.0,
    scrap_ratio=0.015,
)
CNC = EquipmentTemplate(
    "cnc_machine",
    "CNC machine",
    "数控机床",
    (
        SignalSpec("spindle_speed", "rpm", 2000, 12000, period_s=5, decimals=0),
        SignalSpec("spindle_load", "%", 20, 80, period_s=5, decimals=1),
        SignalSpec("spindle_temp", "°C", 25, 55, decimals=1),
        SignalSpec("vibration_rms", "mm/s", 0.5, 4.5, period_s=5, decimals=2),
        SignalSpec("coolant_temp", "°C", 18, 30, decimals=1),
        SignalSpec("power", "kW", 3, 25, period_s=5, decimals=1),
    ),
    ideal_cycle_s=90.0,
    mtbf_h=350.0,
    mttr_min=50.0,
    scrap_ratio=0.01,
)

TEMPLATES: dict[str, EquipmentTemplate] = {
    t.key: t for t in (ROBOT, ROLLER_KILN, PRESS, INJECTION_MOULDING, SMT_LINE, CNC)
}


def template(key: str) -> EquipmentTemplate:
    """The template of that key, or ValueError naming the known ones."""
    try:
        return TEMPLATES[key]
    except KeyError:
        raise ValueError(
            f"unknown equipment template {key!r}; known: {', '.join(TEMPLATES)}"
        ) from None
