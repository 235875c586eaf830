"""ModbusAdapter: polls one Modbus TCP device for one equipment, on a fixed schedule, into the Sink.

Each poll reads the register map in the fewest requests (`registers.plan_reads`), decodes every
value at once, and submits one bundle; entries named ``state``, ``good`` and ``scrap`` feed the
equipment's state and counts (`readings`). What the device refuses goes to the dead letters once per
cause, and polling goes on: a value whose address the device rejects (exceptions 01-03) is left
out until the device reconnects; a busy or failing device (04, 06, gateway errors) is asked
again next poll. A timeout or a dropped connection closes the connection, marks the equipment's
state unknown (if the map reads one), and reconnects with exponential backoff for as long as the
device stays away.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
from numpy.typing import NDArray
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException, ModbusIOException

from kiln.config_ingest import ModbusSettings
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter
from kiln.errors import ConfigError
from kiln.ingest.backoff import Backoff
from kiln.ingest.modbus.readings import Readings, check_role
from kiln.ingest.modbus.registers import (
    BIT_TABLES,
    Layout,
    Read,
    ReadPlan,
    check_register,
    decode,
    plan_reads,
    width,
)
from kiln.ingest.modbus.schedule import next_slot
from kiln.ingest.sink import Sink

log = logging.getLogger(__name__)

EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
PERMANENT = frozenset({1, 2, 3})  # the request is wrong: asking again cannot help (domain.md 5)
SHORT = -1  # not a Modbus code: the answer held fewer values than asked for
FUNCTION = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
FIRST_RETRY_S = 0.5


class _Lost(Exception):
    """The device stopped answering; the connection is dropped and made again."""


def _exception(code: int) -> str:
    if code == SHORT:
        return "a short answer"
    return f"exception {code:02d} ({EXCEPTIONS.get(code, 'unknown')})"


def _raise_if_cancelled() -> None:
    """Raise the cancellation a library swallowed.

    Python 3.11's asyncio.wait_for, which pymodbus awaits connections and answers with, drops a
    cancellation that arrives as the awaited operation completes (CPython gh-86296); the task
    then still counts as cancelling.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def check_settings(cfg: ModbusSettings) -> None:
    """Raise ConfigError naming the first register map entry that cannot be polled."""
    where = f"ingest.modbus[{cfg.name}].registers"
    if not cfg.registers:
        raise ConfigError("no registers to read", where=where)
    first: dict[str, int] = {}
    for i, reg in enumerate(cfg.registers):
        what = check_register(reg) or check_role(reg)
        if what is None and reg.signal in first:
            what = f"signal {reg.signal!r} is already read by registers[{first[reg.signal]}]"
        if what is not None:
            raise ConfigError(what, where=f"{where}[{i}]")
        first[reg.signal] = i


class ModbusAdapter:
    """Polls one Modbus TCP device (host, port, unit id) for one equipment until cancelled."""

    kind = "modbus"

    def __init__(self, cfg: ModbusSettings) -> None:
        check_settings(cfg)
        self.cfg, self.name = cfg, cfg.name
        self.peer = f"{cfg.host}:{cfg.port}"
        self.polls = 0  # polls completed since start, for health pages and tests
        self.connections = 0  # TCP connections made since start
        self.connected = False  # a connection is open now
        self._layout = Layout.of(cfg.registers)
        self._readings = Readings(cfg.registers)
        self._backoff = Backoff(first=FIRST_RETRY_S, cap=cfg.reconnect_max_s)
        self._down = False  # logged as unreachable, not yet as back
        self._told: set[str] = set()  # causes already sent to the dead letters
        self._catalog: AssetCatalog | None = None
        self._enterprise: int | None = None
        self._equipment: int | None = None
        self._series = np.full(len(self._readings.gauges), -1, dtype=np.int64)

    async def run(self, sink: Sink) -> None:
        """Poll the device and deliver to the sink until cancelled, reconnecting as needed."""
        log.info("modbus %s polling %s unit %d", self.name, self.peer, self.cfg.unit_id)
        while True:
            client = await self._connect()
            why = "no connection"
            if client is not None:
                self.connections += 1
                self.connected = True
                try:
                    await self._poll(client, sink)
                except _Lost as err:
                    why = str(err)
                finally:
                    self.connected = False
                    client.close()
                self._resolve(sink)
                lost = self._readings.lost(sink.now_ms(), self._equipment)
                if len(lost):
                    await sink.submit(lost)
            if not self._down:
                self._down = True
                log.warning(
                    "modbus %s unreachable (%s), retrying every %g s at most",
                    self.peer,
                    why,
                    self.cfg.reconnect_max_s,
                )
            _raise_if_cancelled()
            await asyncio.sleep(self._backoff.next())

    async def _connect(self) -> AsyncModbusTcpClient | None:
        cfg = self.cfg
        # pymodbus would reconnect by itself; reconnect_delay=0 leaves that to run(), which
        # also marks the state unknown and logs once.
        client = AsyncModbusTcpClient(
            cfg.host, port=cfg.port, timeout=cfg.timeout_s, retries=0, reconnect_delay=0
        )
        try:
            async with asyncio.timeout(cfg.timeout_s + 1):
                connected = await client.connect()
            _raise_if_cancelled()
        except (OSError, TimeoutError, ModbusException):
            connected = False
        except BaseException:  # cancelled: leave no socket behind
            client.close()
            raise
        if not connected:
            client.close()
            return None
        return client

    async def _poll(self, client: AsyncModbusTcpClient, sink: Sink) -> None:
        """Poll on the schedule until the connection is lost (raises _Lost)."""
        loop = asyncio.get_running_loop()
        period = self.cfg.poll_ms / 1000
        excluded: set[int] = set()  # values the device refused: not read on this connection
        alone: set[int] = set()  # values the device reads only one request each
        plan = plan_reads(self.cfg.registers)
        slot = loop.time()
        while True:
            if not client.connected:
                raise _Lost("the device closed the connection")
            ts_ms = sink.now_ms()
            self._resolve(sink)
            words, ok, failed = await self._read_all(client, plan)
            await self._deliver(sink, ts_ms, plan, words, ok)
            if failed and await self._refused(client, sink, plan, failed, excluded, alone):
                plan = plan_reads(self.cfg.registers, exclude=excluded, alone=alone)
            self.polls += 1
            self._backoff.reset()
            if self._down:
                self._down = False
                log.info("modbus %s reachable again", self.peer)
            slot = next_slot(slot, loop.time(), period)
            await asyncio.sleep(slot - loop.time())

    async def _read(self, client: AsyncModbusTcpClient, read: Read) -> NDArray[np.uint16] | int:
        """The words (or bits as 0/1) of one read, or its exception code."""
        unit, count = self.cfg.unit_id, read.count
        request = {
            "holding": client.read_holding_registers,
            "input": client.read_input_registers,
            "coil": client.read_coils,
            "discrete": client.read_discrete_inputs,
        }[read.table]
        try:
            # pymodbus times out by itself; this bound holds should it ever not.
            async with asyncio.timeout(2 * self.cfg.timeout_s + 1):
                rr = await request(read.address, count=count, device_id=unit)
        except ModbusIOException as err:
            _raise_if_cancelled()
            raise _Lost(f"no answer to {read.label()} within {self.cfg.timeout_s:g} s") from err
        except Exception as err:  # whatever else a device makes the library raise
            _raise_if_cancelled()
            raise _Lost(f"{type(err).__name__} reading {read.label()}") from err
        _raise_if_cancelled()
        if rr.isError():
            return int(rr.exception_code)
        values = list(rr.bits)[:count] if read.table in BIT_TABLES else list(rr.registers)
        if len(values) != count:
            return SHORT
        return np.asarray(values, dtype=np.uint16)

    async def _read_all(
        self, client: AsyncModbusTcpClient, plan: ReadPlan
    ) -> tuple[NDArray[np.uint16], NDArray[np.bool_], list[tuple[int, int]]]:
        """The buffer of all reads, which reads succeeded, and (read, code) of those refused."""
        words = np.zeros(plan.size, dtype=np.uint16)
        ok = np.zeros(len(plan.reads), dtype=np.bool_)
        failed: list[tuple[int, int]] = []
        for k, (read, start) in enumerate(zip(plan.reads, plan.starts(), strict=True)):
            got = await self._read(client, read)
            if isinstance(got, int):
                failed.append((k, got))
            else:
                words[start : start + read.count] = got
                ok[k] = True
        return words, ok, failed

    async def _deliver(
        self,
        sink: Sink,
        ts_ms: int,
        plan: ReadPlan,
        words: NDArray[np.uint16],
        ok_reads: NDArray[np.bool_],
    ) -> None:
        """Decode one poll, refuse what cannot be taken, and submit the rest."""
        raw = decode(words, plan, self._layout)
        ok = (plan.read_of >= 0) & (
            ok_reads[np.maximum(plan.read_of, 0)] if len(ok_reads) else False
        )
        value = self._layout.scaled(raw)
        bundle, refused = self._readings.bundle(
            ts_ms, self._equipment, self._series, raw, value, ok
        )
        for o in refused:
            at = int(plan.word_at[o.index])
            head = words[at : at + width(self.cfg.registers[o.index].type)]
            signal = self.cfg.registers[o.index].signal
            self._complain(
                sink,
                f"{o.cause}:{o.index}",
                self._source(o.index),
                f"{signal!r}: {o.reason}",
                head.astype(">u2").tobytes(),
            )
        if len(bundle):
            await sink.submit(bundle)

    async def _refused(
        self,
        client: AsyncModbusTcpClient,
        sink: Sink,
        plan: ReadPlan,
        failed: list[tuple[int, int]],
        excluded: set[int],
        alone: set[int],
    ) -> bool:
        """Handle refused reads; True when the plan must change."""
        regs, changed = self.cfg.registers, False
        for k, code in failed:
            read, members = plan.reads[k], plan.members(k)
            payload = bytes([FUNCTION[read.table] | 0x80, code]) if code > 0 else b""
            if code not in PERMANENT:
                why = f"{_exception(code)} reading {read.label()}; asking again every poll"
                # A busy or failing device: one letter per kind of trouble, not per read.
                self._complain(sink, f"transient:{code}", self._source(members[0]), why, payload)
                continue
            refused = members
            if len(members) > 1:
                # Which of them does the device refuse? Ask for each alone, once.
                refused = []
                for i in members:
                    one = Read(regs[i].table, regs[i].address, width(regs[i].type))
                    got = await self._read(client, one)
                    if isinstance(got, int) and got in PERMANENT:
                        refused.append(i)
                if not refused:
                    alone.update(members)
                    why = (
                        f"{_exception(code)} reading {read.label()} in one request, though "
                        "each value reads alone; reading them one request each"
                    )
                    self._complain(sink, f"split:{read}", self._source(members[0]), why, payload)
            for i in refused:
                why = (
                    f"{_exception(code)} reading {regs[i].signal!r} at {read.label()}; "
                    "not read again until the device reconnects"
                )
                self._complain(sink, f"refused:{i}:{code}", self._source(i), why, payload)
            excluded.update(refused)
            changed = True
        return changed

    def _resolve(self, sink: Sink) -> None:
        """Look the equipment and signals up again whenever the catalogue changes."""
        cat = sink.catalog
        if cat is self._catalog:
            return
        self._catalog, cfg = cat, self.cfg
        self._enterprise = cat.enterprise_by_slug.get(cfg.enterprise)
        eq = None
        if self._enterprise is not None:
            eq = cat.equipment_by_path.get((self._enterprise, cfg.equipment))
        self._equipment = eq
        if eq is None:
            why = f"unknown enterprise {cfg.enterprise!r}"
            if self._enterprise is not None:
                why = f"unknown equipment {cfg.equipment!r} of {cfg.enterprise!r}"
            self._complain(sink, "equipment", self.peer, why)
            self._series[:] = -1
            return
        for k, i in enumerate(self._readings.gauges):
            signal = cfg.registers[i].signal
            self._series[k] = cat.series_by_name.get((eq, signal), -1)
            if self._series[k] < 0:
                why = f"unknown signal {signal!r} of equipment {cfg.equipment!r}"
                self._complain(sink, f"signal:{signal}", self._source(int(i)), why)

    def _source(self, index: int) -> str:
        reg = self.cfg.registers[index]
        return f"{self.peer}/{self.cfg.unit_id}/{reg.table}/{reg.address}"

    def _complain(
        self, sink: Sink, cause: str, source: str, reason: str, payload: bytes = b""
    ) -> None:
        """Send a refusal to the dead letters, once per cause for as long as the adapter lives."""
        if cause in self._told:
            return
        self._told.add(cause)
        letter = DeadLetter(
            sink.now_ms(), f"modbus:{self.name}", source, reason, payload, self._enterprise
        )
        sink.dead_letter(letter)
