"""OPC 40010-1 Robotics: find MotionDeviceSystem objects and map their variables to the
industrial-robot template's signals.

A robot object is recognised by its shape, not its type id (vendors subtype
MotionDeviceSystemType): an object with a ``MotionDevices`` child. Browse names are matched
without their namespace index. The manipulator is the first motion device (natural order of
browse names) that has ``Axes``; axes are numbered 1, 2, 3… in natural order.

Paths below are under the MotionDeviceSystem; md = the manipulator, PS = ParameterSet.

| variable                                                       | signal                |
| -------------------------------------------------------------- | --------------------- |
| MotionDevices/md/PowerTrains/<pt>/<motor>/PS/MotorTemperature  | j<n>_motor_temp       |
| MotionDevices/md/PowerTrains/<pt>/<motor>/PS/EffectiveLoadRate | j<n>_torque (1)       |
| MotionDevices/md/PS/SpeedOverride                              | speed_override        |
| Controllers/<first controller>/PS/Temperature                  | cabinet_temp          |
| MotionDevices/md/Axes/<axis n>/PS/ActualPosition               | j<n>_position (2)     |
| MotionDevices/md/Axes/<axis n>/PS/ActualSpeed                  | j<n>_speed (2)        |
| MotionDevices/md/Axes/<axis n>/PS/ActualAcceleration           | j<n>_acceleration (2) |
| any other variable of md's or the controller's PS              | its browse name (3)   |

<n> of a power train is the first axis it ``Moves`` (OPC 40010-1 8.3) that no earlier power
train took; without Moves references, power train k drives axis k. (1) Joint torque is no
standard variable (domain.md, open question 7); the effective load rate, % of the motor's
maximum continuous load, is the nearest standard one and has the template's unit.
(2) Not template signals: taken only where the equipment has them. (3) Vendor extensions such
as ``cycle_time`` or ``power``: taken where the equipment has a signal of that name. Every robot
target is taken only where the equipment has the signal, so a six-axis robot's j4-j6 values do
not become dead letters of a template that keeps three joints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from asyncua import ua
from asyncua.client.client import Client

from kiln.config_ingest import OpcUaFolder
from kiln.ingest.opcua.browse import Child, children, subtree
from kiln.ingest.opcua.targets import Target

ROBOTICS_URI = "http://opcfoundation.org/UA/Robotics/"
MOVES_ID = 18178  # ns=Robotics;i=18178, the Moves ReferenceType (OPC 40010-1 8.3)
TREE_DEPTH = 8  # MotionDeviceSystem → … → Motor → ParameterSet → variable is 7 levels

MOTOR = {"MotorTemperature": "j{n}_motor_temp", "EffectiveLoadRate": "j{n}_torque"}
AXIS = {
    "ActualPosition": "j{n}_position",
    "ActualSpeed": "j{n}_speed",
    "ActualAcceleration": "j{n}_acceleration",
}

Tree = Mapping[str, Sequence[Child]]


def natural_key(name: str) -> list[int | str]:
    """Sort key that puts Axis_2 before Axis_10.

    >>> sorted(["A10", "A2", "a1"], key=natural_key)
    ['a1', 'A2', 'A10']
    """
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def is_robot(kids: Sequence[Child]) -> bool:
    """Whether a node with these children is a MotionDeviceSystem."""
    return any(c.name == "MotionDevices" and c.is_object for c in kids)


def map_robot(tree: Tree, root: str, moves: ua.NodeId | None = None) -> dict[str, str]:
    """Signal name → node id of the variables of the MotionDeviceSystem at ``root``."""
    out: dict[str, str] = {}
    manipulator = next(
        (
            md
            for md in _objects(tree, _find(tree, root, "MotionDevices"))
            if _find(tree, md, "Axes")
        ),
        None,
    )
    controller = next(iter(_objects(tree, _find(tree, root, "Controllers"))), None)
    for owner in (controller, manipulator):
        out.update((name, node) for name, node in _parameters(tree, owner).items())
    if controller is not None:
        _take(out, _parameters(tree, controller), {"Temperature": "cabinet_temp"}, 0)
    if manipulator is None:
        return out
    _take(out, _parameters(tree, manipulator), {"SpeedOverride": "speed_override"}, 0)
    axes = _objects(tree, _find(tree, manipulator, "Axes"))
    for n, axis in enumerate(axes, start=1):
        _take(out, _parameters(tree, axis), AXIS, n)
    trains = _objects(tree, _find(tree, manipulator, "PowerTrains"))
    for train, n in _drives(tree, trains, axes, moves).items():
        motor = next(
            (m for m in _objects(tree, train, set(axes)) if MOTOR.keys() & _parameters(tree, m)),
            None,
        )
        _take(out, _parameters(tree, motor), MOTOR, n)
    return out


def _drives(
    tree: Tree, trains: list[str], axes: list[str], moves: ua.NodeId | None
) -> dict[str, int]:
    """Power train → number of the axis whose motor values it carries."""
    number = {axis: n for n, axis in enumerate(axes, start=1)}
    taken: set[int] = set()
    out: dict[str, int] = {}
    for k, train in enumerate(trains, start=1):
        moved = sorted(
            (
                number[c.node]
                for c in tree.get(train, [])
                if c.reference == moves and c.node in number
            )
            if moves is not None
            else []
        )
        free = [n for n in moved if n not in taken]
        n = free[0] if free else (k if not moved and k <= len(axes) and k not in taken else 0)
        if n:
            out[train] = n
            taken.add(n)
    return out


def _take(out: dict[str, str], params: dict[str, str], names: dict[str, str], n: int) -> None:
    for browse, signal in names.items():
        if browse in params:
            out[signal.format(n=n)] = params[browse]


def _find(tree: Tree, node: str | None, name: str) -> str | None:
    if node is None:
        return None
    return next((c.node for c in tree.get(node, []) if c.name == name and c.is_object), None)


def _objects(tree: Tree, node: str | None, exclude: set[str] | None = None) -> list[str]:
    if node is None:
        return []
    kids = [c for c in tree.get(node, []) if c.is_object and c.node not in (exclude or set())]
    return [c.node for c in sorted(kids, key=lambda c: natural_key(c.name))]


def _parameters(tree: Tree, node: str | None) -> dict[str, str]:
    """Browse name → node id of the variables in a component's ParameterSet (OPC 10000-100)."""
    params = _find(tree, node, "ParameterSet")
    if params is None:
        return {}
    return {c.name: c.node for c in tree.get(params, []) if c.is_variable}


async def robot_targets(
    client: Client,
    folder: OpcUaFolder,
    kids: list[Child],
    has_signal: Callable[[str], bool],
) -> list[Target]:
    """Targets from the robot object that is the folder itself or one of its objects."""
    roots = [folder.node] if is_robot(kids) else []
    if not roots:
        objects = [c.node for c in kids if c.is_object]
        found = await children(client, objects) if objects else []
        roots = [
            n for n, k in zip(objects, found, strict=True) if isinstance(k, list) and is_robot(k)
        ]
    if not roots:
        return []
    tree = await subtree(client, roots[0], depth=TREE_DEPTH)
    mapping = map_robot(tree, roots[0], await _moves_reference(client))
    return [
        Target(node, folder.equipment, signal, "robot")
        for signal, node in sorted(mapping.items())
        if has_signal(signal)
    ]


async def _moves_reference(client: Client) -> ua.NodeId | None:
    namespaces = await client.get_namespace_array()
    if ROBOTICS_URI not in namespaces:
        return None
    return ua.NodeId(ua.Int32(MOVES_ID), ua.Int16(namespaces.index(ROBOTICS_URI)))
