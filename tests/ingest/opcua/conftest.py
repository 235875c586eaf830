"""Real OPC UA peers for the adapter's tests, and a sink that lets a test wait for data.

``Plant`` is a plain asyncua server with acme-auto's press-1 (small_city) whose values the
test writes itself; the simulator's CityOpcUaServer is the other peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asyncua import Server, ua

from kiln.config_ingest import OpcUaFolder, OpcUaNode, OpcUaSettings
from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.opcua.client import OpcUaAdapter
from kiln.runtime import Runtime
from tests.conftest import NOW_MS
from tests.mosquitto import free_port

__all__ = ["free_port"]

HOST = "127.0.0.1"
T0 = NOW_MS - 600_000  # the plant's initial values; tests write later times


@pytest.fixture(autouse=True)
def _quiet_asyncua(caplog: pytest.LogCaptureFixture) -> None:
    # asyncua logs every lost connection with a traceback at ERROR; the tests provoke them.
    caplog.set_level("CRITICAL", logger="asyncua")


def at(ms: int) -> ua.DateTime:
    """An OPC UA timestamp for epoch milliseconds."""
    return ua.DateTime.fromtimestamp(ms / 1000, UTC)


class Plant:
    """A plain asyncua server: Objects/press-1 with tonnage, lube_temp and serial (a string that
    is no signal), and Objects/extras with label (string), running (bool) and stroke (Int32)."""

    FOLDER = "ns=2;s=press-1"

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: Server | None = None
        self.endpoint = f"opc.tcp://{HOST}:{port}/plant"

    @staticmethod
    def node(name: str) -> str:
        """The node id text of a variable."""
        return f"ns=2;s=press-1.{name}"

    async def start(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace("urn:kiln:test:plant")
        folder = await server.nodes.objects.add_folder(ua.NodeId("press-1", ns), "press-1")
        extras = await server.nodes.objects.add_folder(ua.NodeId("extras", ns), "extras")
        initial: list[tuple[Any, str, Any, ua.VariantType]] = [
            (folder, "tonnage", 7000.0, ua.VariantType.Double),
            (folder, "lube_temp", 40.0, ua.VariantType.Double),
            (folder, "serial", "SN-1", ua.VariantType.String),
            (extras, "label", "ready", ua.VariantType.String),
            (extras, "running", False, ua.VariantType.Boolean),
            (extras, "stroke", 0, ua.VariantType.Int32),
        ]
        self.server = server
        for parent, name, value, vtype in initial:
            await parent.add_variable(
                ua.NodeId(f"press-1.{name}", ns), ua.QualifiedName(name, ns), value, vtype
            )
            await self.write(name, value, T0, vtype=vtype)
        await server.start()

    async def write(
        self,
        name: str,
        value: Any,
        ts_ms: int | None,
        *,
        vtype: ua.VariantType = ua.VariantType.Double,
        status: int = ua.StatusCodes.Good,
        server_ms: int | None = None,
    ) -> None:
        """Set a variable as a device would: value, status, source (and server) timestamp."""
        assert self.server is not None
        dv = ua.DataValue(
            ua.Variant(value, vtype),
            StatusCode=ua.StatusCode(status),
            SourceTimestamp=None if ts_ms is None else at(ts_ms),
            ServerTimestamp=datetime.now(UTC) if server_ms is None else at(server_ms),
        )
        await self.server.write_attribute_value(ua.NodeId.from_string(self.node(name)), dv)

    async def stop(self) -> None:
        if self.server is not None:
            server, self.server = self.server, None
            await server.stop()


def settings(endpoint: str, **overrides: Any) -> OpcUaSettings:
    """Adapter settings for acme-auto: press-1's folder, plus whatever the test overrides."""
    base: dict[str, Any] = {
        "name": "plant",
        "endpoint": endpoint,
        "enterprise": "acme-auto",
        "folders": [OpcUaFolder(node=Plant.FOLDER, equipment="press-1")],
        "publishing_ms": 100.0,
        "sampling_ms": 50.0,
        "reconnect_max_s": 1.0,
    }
    base.update(overrides)
    return OpcUaSettings(**base)


def node(name: str, signal: str, equipment: str = "press-1") -> OpcUaNode:
    """A configured node of the plant."""
    return OpcUaNode(node=Plant.node(name), equipment=equipment, signal=signal)


class Watch:
    """The runtime's StoreSink, noting what was committed so a test can wait for it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sink = runtime.sink
        self.bundles: list[Bundle] = []
        self.arrivals: list[float] = []  # when each bundle was committed (monotonic s)
        self.letters: list[DeadLetter] = []
        self._changed = asyncio.Event()

    @property
    def catalog(self) -> AssetCatalog:
        return self.sink.catalog

    def now_ms(self) -> int:
        return self.sink.now_ms()

    async def submit(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        rows = await self.sink.submit(bundle, batch_id=batch_id)
        self.bundles.append(bundle)
        self.arrivals.append(time.monotonic())
        self._changed.set()
        return rows

    def dead_letter(self, letter: DeadLetter) -> None:
        self.sink.dead_letter(letter)
        self.letters.append(letter)
        self._changed.set()

    async def register(self, doc: dict[str, Any], *, where: str) -> AssetCatalog:
        return await self.sink.register(doc, where=where)

    def series(self, equipment: str, signal: str, enterprise: str = "acme-auto") -> int:
        eid = self.catalog.equipment_id(enterprise, equipment)
        assert eid is not None
        sid = self.catalog.series_id(eid, signal)
        assert sid is not None
        return sid

    def received(self, sid: int) -> dict[int, float]:
        """ts -> value of one series, from every committed bundle."""
        out: dict[int, float] = {}
        for b in self.bundles:
            mask = b.points.series == sid
            out.update(
                zip(b.points.ts_ms[mask].tolist(), b.points.value[mask].tolist(), strict=True)
            )
        return out

    def stored(self, equipment: str, signal: str, start_ms: int = 0) -> dict[int, float]:
        """ts -> value of a series as the store has it."""
        sid = self.series(equipment, signal)
        table = self.runtime.store.points([sid], start_ms, NOW_MS + 3_600_000)
        return dict(zip(table["ts_ms"].to_pylist(), table["value"].to_pylist(), strict=True))

    def kept_letters(self, enterprise: str = "acme-auto") -> list[dict[str, Any]]:
        """Dead letters as stored for the enterprise, oldest first."""
        self.sink.flush()
        ent = self.catalog.enterprise_by_slug[enterprise]
        rows: list[dict[str, Any]] = self.runtime.store.dead_letters(ent, limit=1000).to_pylist()
        return rows[::-1]

    async def until(self, what: str, check: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Wait until check() holds after some delivery; fail naming what did not happen."""
        deadline = time.monotonic() + timeout_s
        while not check():
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"timed out waiting for {what}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))


async def eventually(what: str, check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait for a state the adapter reaches by itself (connected, retried), polling briefly."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def watch(runtime: Runtime) -> Watch:
    """The runtime's sink, watched."""
    return Watch(runtime)


@contextlib.asynccontextmanager
async def running(adapter: OpcUaAdapter, sink: Any) -> AsyncIterator[asyncio.Task[None]]:
    """Run the adapter for the body of the block, then cancel it and check it ended promptly."""
    task = asyncio.create_task(adapter.run(sink), name=f"opcua-{adapter.name}")
    try:
        yield task
    finally:
        task.cancel()
        started = time.monotonic()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5.0)
        assert time.monotonic() - started < 3.0, "the adapter took too long to stop"


def make_certificate(folder: Path, name: str, uri: str) -> tuple[Path, Path]:
    """A throwaway self-signed application certificate (DER) and key (PEM) for ``uri``."""
    from asyncua.crypto.cert_gen import (
        dump_private_key_as_pem,
        generate_private_key,
        generate_self_signed_app_certificate,
    )
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import ExtendedKeyUsageOID

    key = generate_private_key()
    cert = generate_self_signed_app_certificate(
        key,
        name,
        {},
        [x509.UniformResourceIdentifier(uri), x509.DNSName(HOST)],
        [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH],
        days=1,
    )
    cert_path, key_path = folder / f"{name}.der", folder / f"{name}.pem"
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))
    key_path.write_bytes(dump_private_key_as_pem(key))
    return cert_path, key_path
