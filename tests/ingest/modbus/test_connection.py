"""A device that goes away, never answers, or is not there yet: the poller waits it out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kiln.config_ingest import ModbusRegister
from kiln.domain.states import EquipmentState
from kiln.ingest.modbus.poller import ModbusAdapter
from kiln.runtime import Runtime

from .conftest import HOST, Device, Recorder, free_port, running, settings, words

TONNAGE = ModbusRegister(signal="tonnage", address=1, type="float32", order="CDAB")
STATE = ModbusRegister(signal="state", address=0)


def tonnages(rec: Recorder) -> list[float]:
    return [float(v) for b in rec.bundles for v in b.points.value]


def states(rec: Recorder) -> list[int]:
    return [int(s) for b in rec.bundles for s in b.states.state]


class Silent:
    """A TCP server that accepts connections and never answers a request."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections = 0
        self.changed = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        self.changed.set()
        with contextlib.suppress(ConnectionError):
            while await reader.read(1024):
                pass
        writer.close()

    async def until(self, connections: int) -> None:
        async with asyncio.timeout(10):
            while self.connections < connections:
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def silent() -> AsyncIterator[Silent]:
    s = Silent()
    server = await asyncio.start_server(s._handle, HOST, s.port)
    yield s
    server.close()
    for writer in s.writers:
        writer.close()
    await server.wait_closed()


async def test_a_device_that_goes_away_and_comes_back_is_polled_again(
    runtime: Runtime, recorder: Recorder, device_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="kiln.ingest.modbus.poller")
    dev: Device = await device_factory(holding={0: [1, *words(7000.0, "float32", "CDAB")]})
    adapter = ModbusAdapter(settings(dev.port, [STATE, TONNAGE]))
    async with running(adapter, recorder) as task:
        await recorder.until(lambda: len(recorder.bundles) >= 3)
        await dev.stop()
        await recorder.until(lambda: EquipmentState.UNKNOWN in states(recorder))
        polls = adapter.polls
        # Gone for a while: with a 0.1 s cap the poller knocks about ten times meanwhile.
        await asyncio.sleep(1.0)
        assert adapter.polls == polls
        assert not task.done()
        dev.set("holding", 1, words(7100.0, "float32", "CDAB"))
        await dev.start()  # the same port
        await recorder.until(lambda: 7100.0 in tonnages(recorder))
        await recorder.until(lambda: len(recorder.bundles) >= 6)
        assert not task.done()
    assert states(recorder) == [
        EquipmentState.RUNNING,
        EquipmentState.UNKNOWN,
        EquipmentState.RUNNING,
    ]
    assert set(tonnages(recorder)) == {7000.0, 7100.0}
    eq = runtime.store.catalog().equipment_id("acme-auto", "press-1")
    assert eq is not None
    assert runtime.store.current_states([eq]).column("state").to_pylist() == [1]
    runtime.sink.flush()
    assert (
        runtime.store.dead_letters(runtime.store.catalog().enterprise_by_slug["acme-auto"]).num_rows
        == 0
    )
    said = [r.getMessage() for r in caplog.records if r.name == "kiln.ingest.modbus.poller"]
    assert sum("unreachable" in m for m in said) == 1  # logged once, not once per retry
    assert sum("reachable again" in m for m in said) == 1


async def test_a_device_not_there_at_start_is_polled_once_it_appears(
    recorder: Recorder, device_factory: Any
) -> None:
    port = free_port()
    adapter = ModbusAdapter(settings(port, [STATE, TONNAGE]))
    async with running(adapter, recorder) as task:
        await asyncio.sleep(0.5)  # a few refused connections
        assert not task.done()
        dev = Device(holding={0: [1, *words(6800.0, "float32", "CDAB")]})
        dev.port = port
        await dev.start()
        try:
            await recorder.until(lambda: len(recorder.bundles) >= 2)
        finally:
            await dev.stop()
    assert tonnages(recorder)[:2] == [6800.0, 6800.0]


async def test_a_device_that_never_answers_times_out_and_is_reconnected(
    recorder: Recorder, silent: Silent
) -> None:
    adapter = ModbusAdapter(settings(silent.port, [STATE, TONNAGE], timeout_s=0.2))
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(adapter.run(recorder))
    # Each connection's first read times out; the poller drops it and connects again.
    await silent.until(connections=3)
    assert not task.done()
    assert recorder.bundles == []
    assert recorder.letters == []
    began = loop.time()
    # Cancelled just as a connection opens: Python 3.11's wait_for, inside pymodbus, would
    # swallow this cancellation if the poller did not look for it.
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    assert done, "the poller went on after it was cancelled"
    assert loop.time() - began < 0.5
    assert task.cancelled()


async def test_cancelling_while_waiting_to_reconnect_is_prompt(recorder: Recorder) -> None:
    adapter = ModbusAdapter(settings(free_port(), [TONNAGE], reconnect_max_s=30))
    async with running(adapter, recorder) as task:
        await asyncio.sleep(1.7)  # the backoff has grown to 2 s
        began = asyncio.get_running_loop().time()
    assert task.cancelled()
    assert asyncio.get_running_loop().time() - began < 0.5
