"""The simulated city over Modbus TCP: a server per enterprise (a gateway), a unit per machine.

Each served enterprise listens on its own port (``port``, ``port + 1``, … in enterprise order);
its equipment answer as unit ids 1, 2, … in catalogue order. Every unit has the same map:

==========  =========  ========  =====  =================================================
table       address    type      order  value
==========  =========  ========  =====  =================================================
holding     0          uint16           state code (EquipmentState: 0 unknown, 1 running,
                                        2 idle, 3 setup, 4 down/fault, 5 planned down,
                                        6 off shift)
holding     1-2        uint32    ABCD   good parts counter (wraps at 2^32)
holding     3-4        uint32    ABCD   scrap parts counter (wraps at 2^32)
input       2k, 2k+1   float32   CDAB   the template's k-th signal (template order); NaN
                                        until the simulator first reports it
coil        0, 1                        running, down/fault
discrete    0                           in planned time (not planned down, not off shift)
==========  =========  ========  =====  =================================================

Analogue values are word-swapped (CDAB) as many PLCs send them, so the poller's byte orders are
exercised. `ModbusCity.settings` gives the matching ``[[ingest.modbus]]`` entries, which read
the state, both counters and every signal; ``serve_modbus`` runs the servers until cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial

import numpy as np
from numpy.typing import NDArray
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from kiln.clock import Clock, SystemClock
from kiln.config_ingest import ModbusRegister, ModbusSettings
from kiln.domain.batches import Bundle
from kiln.domain.states import EquipmentState
from kiln.domain.templates import EquipmentTemplate, template
from kiln.ingest.modbus.registers import ABCD, CDAB, FLOAT32, UINT32, encode_words
from kiln.simulator.protocols.feed import CityFeed

log = logging.getLogger(__name__)

STATE_AT, GOOD_AT, SCRAP_AT = 0, 1, 3  # holding registers
HOLDING_SIZE = 5
MAX_UNITS = 247  # unit ids 1-247 address devices behind a gateway
COUNTER_SPAN = 1 << 32
_PLANNED = ~np.isin(np.arange(256), [EquipmentState.PLANNED_DOWN, EquipmentState.OFF_SHIFT])


def register_map(tmpl: EquipmentTemplate) -> list[ModbusRegister]:
    """The register map a unit of this template serves, as the poller reads it.

    >>> [(r.signal, r.table, r.address, r.type) for r in register_map(template("press"))][:4]
    [('state', 'holding', 0, 'uint16'), ('good', 'holding', 1, 'uint32'), \
('scrap', 'holding', 3, 'uint32'), ('tonnage', 'input', 0, 'float32')]
    """
    return [
        ModbusRegister(signal="state", address=STATE_AT),
        ModbusRegister(signal="good", address=GOOD_AT, type="uint32"),
        ModbusRegister(signal="scrap", address=SCRAP_AT, type="uint32"),
        *(
            ModbusRegister(
                signal=spec.name, table="input", address=2 * k, type="float32", order="CDAB"
            )
            for k, spec in enumerate(tmpl.signals)
        ),
    ]


def _last_per(keys: NDArray[np.int64], ts_ms: NDArray[np.int64]) -> NDArray[np.int64]:
    """Indices of the latest row of each key."""
    order = np.lexsort((ts_ms, keys))
    last = np.ones(len(order), dtype=np.bool_)
    last[:-1] = keys[order][1:] != keys[order][:-1]
    return order[last]


class ModbusCity:
    """The registers of every served equipment, updated from the feed, served per enterprise."""

    def __init__(
        self,
        feed: CityFeed,
        *,
        host: str = "127.0.0.1",
        port: int = 5020,
        enterprises: Sequence[str] | None = None,
    ) -> None:
        cat = feed.catalog
        self.feed, self.host, self.port = feed, host, port
        self.enterprises = list(
            enterprises or [cat.enterprises[i].slug for i in sorted(cat.enterprises)]
        )
        self.rows: list[tuple[int, int, int]] = []  # (equipment id, port, unit id) per row
        for k, slug in enumerate(self.enterprises):
            if slug not in cat.enterprise_by_slug:
                raise ValueError(f"unknown enterprise {slug!r} in the simulated city")
            units = feed.equipment_of(slug)
            if len(units) > MAX_UNITS:
                raise ValueError(f"{slug!r} has {len(units)} equipment; a gateway serves 247")
            self.rows += [(eq, port + k, u + 1) for u, eq in enumerate(units)]
        eq_ids = np.array([r[0] for r in self.rows], dtype=np.int64)
        self._row_of = np.full(max(cat.equipment, default=0) + 1, -1, dtype=np.int64)
        self._row_of[eq_ids] = np.arange(len(eq_ids))
        widest = self._index_series(eq_ids)
        n = len(self.rows)
        self.holding = np.zeros((n, HOLDING_SIZE), dtype=np.uint16)
        nan0, nan1 = encode_words(
            np.array([np.nan]), np.array([FLOAT32], np.int8), np.array([CDAB], np.int8)
        )
        self.input = np.tile(np.array([nan0[0], nan1[0]], dtype=np.uint16), (n, widest))
        self.good = np.zeros(n, dtype=np.int64)
        self.scrap = np.zeros(n, dtype=np.int64)
        self._servers: list[ModbusTcpServer] = []

    def _index_series(self, eq_ids: NDArray[np.int64]) -> int:
        """Map each served series to its row and signal position; return the most signals."""
        cat = self.feed.catalog
        self._row_of_series = np.full(max(cat.signals, default=0) + 1, -1, dtype=np.int64)
        self._col_of_series = np.zeros_like(self._row_of_series)
        widest = 0
        for row, eq in enumerate(eq_ids.tolist()):
            names = [s.name for s in template(cat.equipment[eq].template).signals]
            widest = max(widest, len(names))
            for sid in cat.signals_of.get(eq, []):
                if cat.signals[sid].name in names:
                    self._row_of_series[sid] = row
                    self._col_of_series[sid] = names.index(cat.signals[sid].name)
        return widest

    def settings(self, *, host: str | None = None, poll_ms: float = 1000.0) -> list[ModbusSettings]:
        """The ``[[ingest.modbus]]`` entries that poll every served equipment."""
        cat, out = self.feed.catalog, []
        for eq, port, unit in self.rows:
            path = self.feed.paths[eq]
            name = f"{path.enterprise}-{path.equipment}"
            if len(name) > 63:
                name = f"{path.enterprise[:50]}-unit-{unit}"
            out.append(
                ModbusSettings(
                    name=name,
                    host=host or self.host,
                    port=port,
                    unit_id=unit,
                    enterprise=path.enterprise,
                    equipment=path.equipment,
                    poll_ms=poll_ms,
                    registers=register_map(template(cat.equipment[eq].template)),
                )
            )
        return out

    def advance(self, to_ms: int) -> Bundle:
        """Step the feed to to_ms and take what it produced into the registers."""
        bundle = self.feed.step(to_ms)
        self.apply(bundle)
        return bundle

    def apply(self, bundle: Bundle) -> None:
        """Take a step's latest values, states and counts into the registers (vectorised)."""
        p = bundle.points
        known = p.series < len(self._row_of_series)
        series, ts_ms, value = p.series[known], p.ts_ms[known], p.value[known]
        last = _last_per(series, ts_ms)
        rows, cols = self._row_of_series[series[last]], self._col_of_series[series[last]]
        served = rows >= 0
        rows, cols, value = rows[served], cols[served], value[last][served]
        n = len(value)
        first, second = encode_words(value, np.full(n, FLOAT32, np.int8), np.full(n, CDAB, np.int8))
        self.input[rows, 2 * cols] = first
        self.input[rows, 2 * cols + 1] = second
        s = bundle.states
        last = _last_per(s.equipment, s.ts_ms)
        rows = self._rows(s.equipment[last])
        self.holding[rows[rows >= 0], STATE_AT] = s.state[last][rows >= 0].astype(np.uint16)
        c = bundle.counts
        rows = self._rows(c.equipment)
        np.add.at(self.good, rows[rows >= 0], c.good[rows >= 0])
        np.add.at(self.scrap, rows[rows >= 0], c.scrap[rows >= 0])
        self.good %= COUNTER_SPAN
        self.scrap %= COUNTER_SPAN
        for at, counter in ((GOOD_AT, self.good), (SCRAP_AT, self.scrap)):
            n = len(counter)
            hi, lo = encode_words(
                counter.astype(np.float64), np.full(n, UINT32, np.int8), np.full(n, ABCD, np.int8)
            )
            self.holding[:, at], self.holding[:, at + 1] = hi, lo

    def _rows(self, equipment: NDArray[np.int64]) -> NDArray[np.int64]:
        inside = (equipment >= 0) & (equipment < len(self._row_of))
        return np.where(inside, self._row_of[np.where(inside, equipment, 0)], -1)

    async def start(self) -> None:
        """Open one server per enterprise."""
        for k in range(len(self.enterprises)):
            port = self.port + k
            devices = [
                self._device(row, unit) for row, (_, p, unit) in enumerate(self.rows) if p == port
            ]
            if not devices:
                continue
            server = ModbusTcpServer(devices, address=(self.host, port))
            await server.serve_forever(background=True)
            self._servers.append(server)
        log.info(
            "modbus: %d units on %s ports %d-%d",
            len(self.rows),
            self.host,
            self.port,
            self.port + len(self.enterprises) - 1,
        )

    async def stop(self) -> None:
        """Close every server."""
        servers, self._servers = self._servers, []
        for server in servers:
            await server.shutdown()  # type: ignore[no-untyped-call]  # untyped in pymodbus 3.16

    def _device(self, row: int, unit: int) -> SimDevice:
        eq = self.rows[row][0]
        width = 2 * len(template(self.feed.catalog.equipment[eq].template).signals) or 2
        blocks = (
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, values=[False] * 16, datatype=DataType.BITS)],
            [SimData(0, count=HOLDING_SIZE, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=width, values=0, datatype=DataType.REGISTERS)],
        )
        return SimDevice(id=unit, simdata=blocks, action=partial(self._serve, row))

    async def _serve(
        self,
        row: int,
        function_code: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> None:
        """Fill the block being read with the unit's current values (pymodbus SimDevice action)."""
        del start, address, count, values  # every block starts at 0 and is small: refresh it all
        if function_code in (3, 4):
            source = self.holding[row] if function_code == 3 else self.input[row]
            size = min(len(registers) - 1, len(source))  # pymodbus keeps one guard register
            registers[:size] = source[:size].tolist()
        elif function_code in (1, 2):
            state = int(self.holding[row, STATE_AT])
            if function_code == 1:
                bits = (
                    int(state == EquipmentState.RUNNING)
                    | int(state == EquipmentState.DOWN_FAULT) << 1
                )
            else:
                bits = int(_PLANNED[state])
            registers[0] = bits


def modbus_settings(
    feed: CityFeed,
    *,
    host: str = "127.0.0.1",
    port: int = 5020,
    enterprises: Sequence[str] | None = None,
    poll_ms: float = 1000.0,
) -> list[ModbusSettings]:
    """The ``[[ingest.modbus]]`` entries that poll what ``serve_modbus`` serves (same arguments)."""
    return ModbusCity(feed, host=host, port=port, enterprises=enterprises).settings(poll_ms=poll_ms)


async def serve_modbus(
    feed: CityFeed,
    *,
    host: str = "127.0.0.1",
    port: int = 5020,
    enterprises: Sequence[str] | None = None,
    clock: Clock | None = None,
    step_s: float = 1.0,
) -> None:
    """Serve the feed's enterprises over Modbus TCP, stepping it every step_s, until cancelled.

    Build the feed a couple of minutes before now (``CityFeed(start_ms=now - 120_000)``) so
    every signal has a value when the servers open.
    """
    clock = clock or SystemClock()
    city = ModbusCity(feed, host=host, port=port, enterprises=enterprises)
    city.apply(await asyncio.to_thread(feed.step, clock.now_ms()))
    await city.start()
    try:
        while True:
            await asyncio.sleep(step_s)
            # Stepping a large city takes a while: off the loop, so the servers keep answering.
            city.apply(await asyncio.to_thread(feed.step, clock.now_ms()))
    finally:
        await city.stop()
