"""Mapping an OPC 40010 MotionDeviceSystem to the industrial robot's signals, from its shape."""

from __future__ import annotations

from asyncua import ua

from kiln.ingest.opcua.browse import Child
from kiln.ingest.opcua.robotics import is_robot, map_robot

MOVES = ua.NodeId(18178, 3)
COMPONENT = ua.NodeId(47)
OBJ, VAR = ua.NodeClass.Object, ua.NodeClass.Variable


class Shape:
    """A browsed tree built by hand: node -> children."""

    def __init__(self) -> None:
        self.tree: dict[str, list[Child]] = {}

    def add(
        self, parent: str, name: str, cls: ua.NodeClass = OBJ, ref: ua.NodeId = COMPONENT
    ) -> str:
        node = f"{parent}/{name}"
        self.tree.setdefault(parent, []).append(Child(node, name, cls, ref, False))
        return node

    def link(self, parent: str, target: str, ref: ua.NodeId) -> None:
        name = target.rsplit("/", 1)[-1]
        self.tree.setdefault(parent, []).append(Child(target, name, OBJ, ref, False))

    def params(self, parent: str, *names: str) -> None:
        ps = self.add(parent, "ParameterSet")
        for name in names:
            self.add(ps, name, VAR)


def robot(axes: int, moves: dict[int, list[int]] | None) -> tuple[Shape, str]:
    """A system with one manipulator; power train k moves the axes in moves[k] (or none)."""
    s = Shape()
    root = "sys"
    devices = s.add(root, "MotionDevices")
    s.add(root, "SafetyStates")
    controller = s.add(s.add(root, "Controllers"), "Ctrl")
    s.params(controller, "Temperature", "power", "CPUFanSpeed")
    md = s.add(devices, "Robot")
    s.params(md, "SpeedOverride", "cycle_time")
    axis_nodes = {}
    for k in range(1, axes + 1):
        axis_nodes[k] = a = s.add(s.add(md, "Axes") if k == 1 else f"{md}/Axes", f"A{k}")
        s.params(a, "ActualPosition", "ActualSpeed")
    trains = s.add(md, "PowerTrains")
    for k in range(1, axes + 1):
        pt = s.add(trains, f"PT{k}")
        s.params(s.add(pt, "Gear"), "GearRatio")  # sorts first, but holds no motor values
        s.params(s.add(pt, "Motor"), "MotorTemperature", "EffectiveLoadRate")
        for a in (moves or {}).get(k, []):
            s.link(pt, axis_nodes[a], MOVES)
    return s, root


def motor(k: int) -> str:
    return f"sys/MotionDevices/Robot/PowerTrains/PT{k}/Motor/ParameterSet"


def test_a_six_axis_robot_maps_to_the_template_signals_and_optional_extras() -> None:
    s, root = robot(6, {k: [k] for k in range(1, 7)})
    got = map_robot(s.tree, root, MOVES)
    assert got["j1_motor_temp"] == f"{motor(1)}/MotorTemperature"
    assert got["j3_torque"] == f"{motor(3)}/EffectiveLoadRate"
    assert got["speed_override"] == "sys/MotionDevices/Robot/ParameterSet/SpeedOverride"
    assert got["cabinet_temp"] == "sys/Controllers/Ctrl/ParameterSet/Temperature"
    assert got["cycle_time"] == "sys/MotionDevices/Robot/ParameterSet/cycle_time"  # vendor
    assert got["power"] == "sys/Controllers/Ctrl/ParameterSet/power"  # vendor
    assert got["j2_position"] == "sys/MotionDevices/Robot/Axes/A2/ParameterSet/ActualPosition"
    assert got["j6_speed"] == "sys/MotionDevices/Robot/Axes/A6/ParameterSet/ActualSpeed"
    assert is_robot(s.tree[root])
    assert not is_robot(s.tree["sys/MotionDevices/Robot"])


def test_coupled_wrist_and_leader_follower_power_trains_find_their_own_axis() -> None:
    # OPC 40010-1 B.9: PT4 moves axes 4-6 (coupled wrist), PT5 moves 5-6, PT6 moves 6; PT1 and
    # PT2 both move axis 1 (leader and follower), so PT2 carries no joint and axis 2 has none.
    s, root = robot(6, {1: [1], 2: [1], 3: [3], 4: [4, 5, 6], 5: [5, 6], 6: [6]})
    got = map_robot(s.tree, root, MOVES)
    assert got["j1_motor_temp"] == f"{motor(1)}/MotorTemperature"
    assert "j2_motor_temp" not in got
    assert [got[f"j{n}_motor_temp"] for n in (3, 4, 5, 6)] == [
        f"{motor(k)}/MotorTemperature" for k in (3, 4, 5, 6)
    ]


def test_without_moves_references_power_trains_pair_with_axes_in_natural_order() -> None:
    s, root = robot(10, None)
    got = map_robot(s.tree, root, None)
    assert got["j2_motor_temp"] == f"{motor(2)}/MotorTemperature"
    assert got["j10_torque"] == f"{motor(10)}/EffectiveLoadRate"  # A10 after A9, not after A1
    assert got["j10_position"] == "sys/MotionDevices/Robot/Axes/A10/ParameterSet/ActualPosition"


def test_an_object_without_motion_devices_is_no_robot() -> None:
    s = Shape()
    s.params(s.add("cell", "Plc"), "Temperature")
    assert map_robot(s.tree, "cell") == {}
    assert not is_robot(s.tree["cell"])
