"""The simulated city as an OPC UA server (asyncua), the peer of Kiln's OPC UA client.

Address space, all in namespace ``urn:kiln:simulator`` (index 2):

* ``Objects/<enterprise>/<equipment>/<signal>``: one folder per equipment, one Double variable
  per signal, node id ``ns=2;s=<enterprise>.<equipment>.<signal>`` (see `node_id`);
* ``Objects/DeviceSet/<enterprise>.<robot>``: every industrial robot again as an OPC 40010-1
  MotionDeviceSystem (node id `robot_id`): a manipulator with six axes and their power trains,
  motors and a controller. The feed's joint values go to the first three motors
  (MotorTemperature, EffectiveLoadRate), ``speed_override`` to the manipulator's SpeedOverride,
  ``cabinet_temp`` to the controller's Temperature, and the template's other signals to
  vendor variables of the controller's ParameterSet named like the signal. What the simulator
  does not model (axis positions, joints 4-6) reads BadWaitingForInitialData.

Every value carries the simulated time as its source timestamp. Type, reference and browse
names use the OPC 40010 and DI namespace URIs and 40010's numeric ids (MotionDeviceSystemType
1002, ControllerType 1003, MotionDeviceType 1004, MotorType 1019, AxisType 16601,
PowerTrainType 16794, Moves 18178), but the companion nodesets themselves are not loaded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Mapping
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np
from asyncua import ua
from asyncua.common.node import Node
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.server import Server
from asyncua.server.user_managers import UserManager
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes

from kiln.clock import Clock, SystemClock
from kiln.domain.batches import Bundle
from kiln.simulator.protocols.feed import CityFeed, EquipmentPath

log = logging.getLogger(__name__)

NAMESPACE = "urn:kiln:simulator"
DI_URI = "http://opcfoundation.org/UA/DI/"
ROBOTICS_URI = "http://opcfoundation.org/UA/Robotics/"
AXES = 6
ROBOT_TYPES = {
    "MotionDeviceSystemType": 1002,
    "ControllerType": 1003,
    "MotionDeviceType": 1004,
    "MotorType": 1019,
    "AxisType": 16601,
    "PowerTrainType": 16794,
}
MOVES = 18178
_WAITING = ua.DataValue(StatusCode=ua.StatusCode(ua.UInt32(StatusCodes.BadWaitingForInitialData)))


def _node(identifier: int | str, ns: int = 0) -> ua.NodeId:
    """A NodeId (asyncua annotates its fields with its own int and str subclasses)."""
    return ua.NodeId(identifier, ns)  # type: ignore[arg-type]


def node_id(enterprise: str, equipment: str, signal: str | None = None) -> str:
    """The node id of an equipment folder, or of one of its signals.

    >>> node_id("acme-auto", "press-1", "tonnage")
    'ns=2;s=acme-auto.press-1.tonnage'
    """
    path = ".".join(p for p in (enterprise, equipment, signal) if p)
    return f"ns=2;s={path}"


def robot_id(enterprise: str, equipment: str) -> str:
    """The node id of a robot's MotionDeviceSystem under DeviceSet."""
    return node_id(enterprise, equipment, "system")


class _Users(UserManager):
    """asyncua user manager: the configured user names and passwords, nobody else."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        """The user of that name if the password is right, else None (refused)."""
        if username is not None and self.users.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


class CityOpcUaServer:
    """An asyncua server holding the equipment of a CityFeed (optionally some enterprises)."""

    def __init__(
        self,
        feed: CityFeed,
        *,
        host: str = "127.0.0.1",
        port: int = 4840,
        enterprises: Collection[str] | None = None,
        certificate: Path | None = None,
        private_key: Path | None = None,
        users: Mapping[str, str] | None = None,
    ) -> None:
        self.feed = feed
        self.host, self.port = host, port
        self.enterprises = set(enterprises) if enterprises is not None else None
        self.certificate, self.private_key = certificate, private_key
        self.users = dict(users or {})
        self.server: Server | None = None
        self._nodes: dict[int, list[ua.NodeId]] = {}  # series id -> variables showing it
        self.ns = self.di = self.robotics = 0  # namespace indexes, known once started

    @property
    def endpoint(self) -> str:
        """Where clients connect."""
        return f"opc.tcp://{self.host}:{self.port}/kiln"

    async def start(self) -> None:
        """Build the address space and start listening."""
        server = Server(user_manager=_Users(self.users)) if self.users else Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://{self.host}:{self.port}/kiln")
        server.set_server_name("Kiln simulated city")
        self.ns = await server.register_namespace(NAMESPACE)
        self.di = await server.register_namespace(DI_URI)
        self.robotics = await server.register_namespace(ROBOTICS_URI)
        assert self.ns == 2, "node_id() assumes the simulator's namespace is index 2"
        if self.certificate and self.private_key:
            await server.set_application_uri("urn:kiln:simulator:opcua")
            await server.load_certificate(str(self.certificate))
            await server.load_private_key(str(self.private_key))
            server.set_security_policy(
                [
                    ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
                    ua.SecurityPolicyType.Basic256Sha256_Sign,
                ]
            )
        if self.users:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        self.server = server
        await self._build(server)
        await server.start()

    async def stop(self) -> None:
        """Stop listening; clients see their sessions end."""
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()

    async def __aenter__(self) -> CityOpcUaServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish(self, bundle: Bundle) -> int:
        """Write the bundle's points of served equipment in time order; return values written."""
        assert self.server is not None, "start the server first"
        points = bundle.points
        order = np.argsort(points.ts_ms, kind="stable")
        now = ua.DateTime.now(UTC)
        written = 0
        # The server is the device here: it takes values one by one, as a PLC would.
        for sid, ts, value in zip(
            points.series[order].tolist(),
            points.ts_ms[order].tolist(),
            points.value[order].tolist(),
            strict=True,
        ):
            for nid in self._nodes.get(sid, ()):
                dv = ua.DataValue(
                    ua.Variant(value, ua.VariantType.Double),
                    SourceTimestamp=ua.DateTime.fromtimestamp(ts / 1000, UTC),
                    ServerTimestamp=now,
                )
                await self.server.write_attribute_value(nid, dv)
                written += 1
        return written

    async def _build(self, server: Server) -> None:
        cat, feed = self.feed.catalog, self.feed
        types = await self._robot_types(server)
        device_set = await server.nodes.objects.add_folder(
            _node("DeviceSet", self.ns), ua.QualifiedName("DeviceSet", self.di)
        )
        folders: dict[str, Node] = {}
        for eq_id, path in sorted(feed.paths.items()):
            if self.enterprises is not None and path.enterprise not in self.enterprises:
                continue
            if path.enterprise not in folders:
                folders[path.enterprise] = await server.nodes.objects.add_folder(
                    self._id(path.enterprise), ua.QualifiedName(path.enterprise, self.ns)
                )
            folder = await folders[path.enterprise].add_folder(
                self._id(path.enterprise, path.equipment),
                ua.QualifiedName(path.equipment, self.ns),
            )
            signals = {cat.signals[s].name: s for s in cat.signals_of.get(eq_id, [])}
            for name, sid in sorted(signals.items()):
                nid = self._id(path.enterprise, path.equipment, name)
                var = await self.variable(folder, nid, ua.QualifiedName(name, self.ns))
                self._nodes[sid] = [var.nodeid]
            if path.template == "industrial_robot":
                robot = await _Robot.build(self, device_set, path, types, signals)
                for name, nid in robot.shows.items():
                    if name in signals:
                        self._nodes[signals[name]].append(nid)

    async def _robot_types(self, server: Server) -> dict[str, ua.NodeId]:
        base = server.nodes.base_object_type
        types = {}
        for name, number in ROBOT_TYPES.items():
            node = await base.add_object_type(
                _node(number, self.robotics), ua.QualifiedName(name, self.robotics)
            )
            types[name] = node.nodeid
        hierarchical = server.get_node(_node(ObjectIds.HierarchicalReferences))
        moves = await hierarchical.add_reference_type(
            _node(MOVES, self.robotics),
            ua.QualifiedName("Moves", self.robotics),
            False,
            "IsMovedBy",
        )
        types["Moves"] = moves.nodeid
        return types

    def _id(self, *parts: str) -> ua.NodeId:
        return _node(".".join(parts), self.ns)

    async def variable(self, parent: Node, nid: ua.NodeId, name: ua.QualifiedName) -> Node:
        """A Double variable that has no value yet (BadWaitingForInitialData)."""
        var = await parent.add_variable(nid, name, 0.0, ua.VariantType.Double)
        assert self.server is not None
        await self.server.write_attribute_value(var.nodeid, _WAITING)
        return var


class _Robot:
    """One robot's MotionDeviceSystem, and which of its variables shows which signal."""

    def __init__(self, owner: CityOpcUaServer, types: dict[str, ua.NodeId]) -> None:
        self.owner, self.types = owner, types
        self.shows: dict[str, ua.NodeId] = {}  # signal -> variable

    @classmethod
    async def build(
        cls,
        owner: CityOpcUaServer,
        device_set: Node,
        path: EquipmentPath,
        types: dict[str, ua.NodeId],
        signals: Collection[str],
    ) -> _Robot:
        """Add the MotionDeviceSystem of a robot under DeviceSet."""
        self = cls(owner, types)
        name = f"{path.enterprise}.{path.equipment}"
        system = await device_set.add_object(
            _node(f"{name}.system", owner.ns),
            ua.QualifiedName(name, owner.ns),
            types["MotionDeviceSystemType"],
        )
        devices = await self._folder(system, "MotionDevices")
        controllers = await self._folder(system, "Controllers")
        await self._folder(system, "SafetyStates")
        manipulator = await self._object(devices, "Manipulator", "MotionDeviceType")
        await self._value(await self._parameters(manipulator), "SpeedOverride", "speed_override")
        axes = await self._folder(manipulator, "Axes")
        trains = await self._folder(manipulator, "PowerTrains")
        for k in range(1, AXES + 1):
            axis = await self._object(axes, f"Axis_{k}", "AxisType")
            await self._value(await self._parameters(axis), "ActualPosition")
            train = await self._object(trains, f"PowerTrain_{k}", "PowerTrainType")
            await train.add_reference(axis.nodeid, types["Moves"])
            motor = await self._parameters(await self._object(train, "Motor", "MotorType"))
            await self._value(motor, "MotorTemperature", f"j{k}_motor_temp")
            await self._value(motor, "EffectiveLoadRate", f"j{k}_torque")
        controller = await self._parameters(
            await self._object(controllers, "Controller", "ControllerType")
        )
        await self._value(controller, "Temperature", "cabinet_temp")
        for signal in sorted(set(signals) - set(self.shows)):
            await self._value(controller, signal, signal, vendor=True)
        return self

    def _child(self, parent: Node, name: str) -> ua.NodeId:
        return ua.NodeId.from_string(f"{parent.nodeid.to_string()}.{name}")

    async def _folder(self, parent: Node, name: str) -> Node:
        return await parent.add_folder(
            self._child(parent, name), ua.QualifiedName(name, self.owner.robotics)
        )

    async def _object(self, parent: Node, name: str, typedef: str) -> Node:
        return await parent.add_object(
            self._child(parent, name), ua.QualifiedName(name, self.owner.ns), self.types[typedef]
        )

    async def _parameters(self, parent: Node) -> Node:
        return await parent.add_object(
            self._child(parent, "ParameterSet"), ua.QualifiedName("ParameterSet", self.owner.di)
        )

    async def _value(
        self, params: Node, name: str, signal: str | None = None, *, vendor: bool = False
    ) -> None:
        ns = self.owner.ns if vendor else self.owner.robotics
        var = await self.owner.variable(
            params, self._child(params, name), ua.QualifiedName(name, ns)
        )
        if signal is not None:
            self.shows[signal] = var.nodeid


async def serve_opcua(
    feed: CityFeed,
    *,
    host: str = "0.0.0.0",
    port: int = 4840,
    enterprises: Collection[str] | None = None,
    step_s: float = 1.0,
    clock: Clock | None = None,
    certificate: Path | None = None,
    private_key: Path | None = None,
    users: Mapping[str, str] | None = None,
) -> None:
    """Serve the city over OPC UA until cancelled, stepping the feed to the clock's now every
    ``step_s`` seconds and writing what it produced."""
    clock = clock or SystemClock()
    server = CityOpcUaServer(
        feed,
        host=host,
        port=port,
        enterprises=enterprises,
        certificate=certificate,
        private_key=private_key,
        users=users,
    )
    async with server:
        log.info("OPC UA simulator listening at %s", server.endpoint)
        while True:
            started = time.monotonic()
            bundle = await asyncio.to_thread(feed.step, clock.now_ms())
            await server.publish(bundle)
            await asyncio.sleep(max(0.0, step_s - (time.monotonic() - started)))
