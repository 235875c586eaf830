"""Real pymodbus servers on free ports, and a sink that lets tests wait on what the poller did."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
from pymodbus.constants import ExcCodes
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from kiln.clock import ManualClock
from kiln.config_ingest import ModbusRegister, ModbusSettings
from kiln.domain.batches import Bundle
from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.modbus.poller import ModbusAdapter
from kiln.ingest.modbus.registers import ORDERS, TYPES, encode_words
from kiln.pipeline import StoreSink
from kiln.runtime import Runtime

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def words(value: float, type_: str, order: str = "ABCD") -> list[int]:
    """The registers a device holds for one value."""
    first, second = encode_words(
        np.array([value]),
        np.array([TYPES.index(type_)], np.int8),
        np.array([ORDERS.index(order)], np.int8),
    )
    return (
        [int(first[0]), int(second[0])]
        if type_ in ("uint32", "int32", "float32")
        else [int(first[0])]
    )


class Device:
    """A pymodbus server with one unit: the addresses given exist, every other one is illegal.

    Registers can be changed while it serves (``set``); ``busy`` makes it answer "server device
    busy" and ``max_count`` refuse longer register reads; ``requests`` counts the reads it
    answered, ``received`` every request; ``stop`` and ``start`` restart it on the same port.
    """

    def __init__(
        self,
        *,
        holding: dict[int, list[int]] | None = None,
        input_: dict[int, list[int]] | None = None,
        coils: dict[int, list[bool]] | None = None,
        discrete: dict[int, list[bool]] | None = None,
        unit: int = 1,
    ) -> None:
        self.port, self.unit = free_port(), unit
        self.tables = {
            "holding": dict(holding or {0: [0]}),
            "input": dict(input_ or {0: [0]}),
        }
        self.bits = {
            "coil": dict(coils or {0: [False]}),
            "discrete": dict(discrete or {0: [False]}),
        }
        self.values = {t: np.zeros(65536, np.uint16) for t in self.tables}
        for table, blocks in self.tables.items():
            for at, regs in blocks.items():
                self.values[table][at : at + len(regs)] = regs
        self.busy = False
        self.max_count = 125  # longer reads are refused with "illegal data value"
        self.requests = 0
        self.received = 0  # every request, also those refused or for other units
        self.times: list[float] = []  # loop time of each request answered
        self._answered = asyncio.Event()
        self._server: ModbusTcpServer | None = None

    def set(self, table: str, address: int, regs: list[int]) -> None:
        self.values[table][address : address + len(regs)] = regs

    async def start(self) -> None:
        def blocks(table: str) -> list[SimData]:
            return [
                SimData(at, values=list(regs), datatype=DataType.REGISTERS)
                for at, regs in self.tables[table].items()
            ]

        def bit_blocks(table: str) -> list[SimData]:
            return [
                SimData(at, values=list(b), datatype=DataType.BITS)
                for at, b in self.bits[table].items()
            ]

        device = SimDevice(
            id=self.unit,
            simdata=(
                bit_blocks("coil"),
                bit_blocks("discrete"),
                blocks("holding"),
                blocks("input"),
            ),
            action=self._serve,
        )
        self._server = ModbusTcpServer(device, address=(HOST, self.port), trace_pdu=self._trace)
        await self._server.serve_forever(background=True)

    async def until(self, ready: Callable[[], bool], *, timeout_s: float = 10.0) -> None:
        """Return once ready() holds, re-checking after each request the device answers."""
        async with asyncio.timeout(timeout_s):
            while not ready():
                self._answered.clear()
                await self._answered.wait()

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    def _trace(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            self.received += 1
            self._answered.set()
        return pdu

    async def _serve(
        self,
        function_code: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        values: Any,
    ) -> ExcCodes | None:
        self.requests += 1
        self.times.append(asyncio.get_running_loop().time())
        self._answered.set()
        if self.busy:
            return ExcCodes.DEVICE_BUSY
        if count > self.max_count and function_code in (3, 4):
            return ExcCodes.ILLEGAL_VALUE
        if function_code in (3, 4):
            table = "holding" if function_code == 3 else "input"
            at = address - start
            registers[at : at + count] = self.values[table][address : address + count].tolist()
        return None


@pytest.fixture
async def device_factory() -> AsyncIterator[Callable[..., Any]]:
    made: list[Device] = []

    async def make(**kwargs: Any) -> Device:
        dev = Device(**kwargs)
        await dev.start()
        made.append(dev)
        return dev

    yield make
    for dev in made:
        await dev.stop()


class Recorder:
    """The runtime's StoreSink, seen through: waits on submits and dead letters.

    Each submit moves the manual clock a second on, so successive polls get their own timestamps.
    """

    def __init__(self, inner: StoreSink, clock: ManualClock) -> None:
        self.inner, self.clock = inner, clock
        self.bundles: list[Bundle] = []
        self.letters: list[DeadLetter] = []
        self.hook: Callable[[], None] | None = None  # called at each submit
        self.commit_s = 0.0  # how long each commit takes
        self.stall_s = 0.0  # one commit that takes this long
        self.stall_ended = float("inf")  # loop time the long commit returned
        self._changed = asyncio.Event()

    @property
    def catalog(self) -> Any:
        return self.inner.catalog

    def now_ms(self) -> int:
        return self.inner.now_ms()

    async def submit(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        n = await self.inner.submit(bundle, batch_id=batch_id)
        stall, self.stall_s = self.stall_s, 0.0
        await asyncio.sleep(self.commit_s + stall)
        if stall:
            self.stall_ended = asyncio.get_running_loop().time()
        self.bundles.append(bundle)
        if self.hook is not None:
            self.hook()
        self.clock.advance(1000)
        self._changed.set()
        return n

    def dead_letter(self, letter: DeadLetter) -> None:
        self.inner.dead_letter(letter)
        self.letters.append(letter)
        self._changed.set()

    async def register(self, doc: dict[str, Any], *, where: str) -> Any:
        return await self.inner.register(doc, where=where)

    async def until(self, ready: Callable[[], bool], *, timeout_s: float = 10.0) -> None:
        """Return once ready() holds, re-checking after each submit or dead letter."""
        async with asyncio.timeout(timeout_s):
            while not ready():
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
def recorder(runtime: Runtime) -> Recorder:
    assert isinstance(runtime.clock, ManualClock)
    return Recorder(runtime.sink, runtime.clock)


def settings(port: int, registers: list[ModbusRegister], **kwargs: Any) -> ModbusSettings:
    """A fast-polling adapter for acme-auto's press-1."""
    base: dict[str, Any] = {
        "name": "press-1",
        "host": HOST,
        "port": port,
        "enterprise": "acme-auto",
        "equipment": "press-1",
        "poll_ms": 50,
        "timeout_s": 0.5,
        "reconnect_max_s": 0.1,
    }
    return ModbusSettings(registers=registers, **(base | kwargs))


@contextlib.asynccontextmanager
async def running(adapter: ModbusAdapter, sink: Recorder) -> AsyncIterator[asyncio.Task[None]]:
    """Run an adapter for the block, then cancel it and require a prompt, clean end."""
    task = asyncio.create_task(adapter.run(sink))
    try:
        yield task
    finally:
        task.cancel()
        async with asyncio.timeout(2):
            with contextlib.suppress(asyncio.CancelledError):
                await task
