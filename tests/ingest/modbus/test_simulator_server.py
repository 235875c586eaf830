"""The simulated city served over Modbus TCP, polled by the adapter into the store."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import numpy as np
import pytest
from pymodbus.client import AsyncModbusTcpClient

from kiln.clock import ManualClock
from kiln.domain.batches import Bundle, CountBatch, StateBatch
from kiln.domain.states import EquipmentState
from kiln.domain.templates import template
from kiln.ingest.modbus.poller import ModbusAdapter
from kiln.runtime import Runtime
from kiln.simulator.protocols.feed import CityFeed
from kiln.simulator.protocols.modbus_server import (
    ModbusCity,
    modbus_settings,
    register_map,
    serve_modbus,
)
from tests.conftest import NOW_MS

from .conftest import HOST, Recorder, free_port

TEN_MINUTES_MS = 600_000


@pytest.fixture(scope="module")
def feed_args() -> dict[str, int]:
    return {"seed": 7, "enterprises": 2, "start_ms": NOW_MS - 120_000}


@contextlib.asynccontextmanager
async def polling(adapters: list[ModbusAdapter], sink: Recorder) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(a.run(sink)) for a in adapters]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        async with asyncio.timeout(5):
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def names(feed: CityFeed, bundle: Bundle) -> dict[tuple[str, str], float]:
    """The latest value of each (equipment, signal) in a bundle, by name."""
    p = bundle.points
    order = np.lexsort((p.ts_ms, p.series))
    out = {}
    for sid, value in zip(p.series[order].tolist(), p.value[order].tolist(), strict=True):
        s = feed.series[sid]
        out[(feed.paths[s.equipment_id].equipment, s.signal)] = value
    return out


def test_every_unit_serves_state_counters_and_the_templates_signals_in_cdab() -> None:
    regs = register_map(template("industrial_robot"))
    assert [(r.signal, r.address, r.type) for r in regs[:3]] == [
        ("state", 0, "uint16"),
        ("good", 1, "uint32"),
        ("scrap", 3, "uint32"),
    ]
    analogue = regs[3:]
    assert [r.signal for r in analogue] == [s.name for s in template("industrial_robot").signals]
    assert [r.address for r in analogue] == list(range(0, 2 * len(analogue), 2))
    assert {(r.table, r.type, r.order) for r in analogue} == {("input", "float32", "CDAB")}


def test_each_enterprise_is_a_gateway_on_its_own_port_with_a_unit_per_equipment(
    feed_args: dict[str, int],
) -> None:
    feed = CityFeed(**feed_args)
    slugs = [feed.catalog.enterprises[i].slug for i in sorted(feed.catalog.enterprises)]
    city = ModbusCity(feed, host=HOST, port=15020)
    cfgs = city.settings(poll_ms=500)
    assert {c.port for c in cfgs} == {15020, 15021}
    for k, slug in enumerate(slugs):
        mine = [c for c in cfgs if c.enterprise == slug]
        assert {c.port for c in mine} == {15020 + k}
        assert [c.unit_id for c in mine] == list(range(1, len(feed.equipment_of(slug)) + 1))
        assert [c.equipment for c in mine] == [
            feed.paths[e].equipment for e in feed.equipment_of(slug)
        ]
    assert len({c.name for c in cfgs}) == len(cfgs)
    assert {c.poll_ms for c in cfgs} == {500}
    with pytest.raises(ValueError, match="unknown enterprise 'nobody'"):
        ModbusCity(feed, enterprises=["nobody"])


async def test_the_simulated_city_reaches_the_store_through_modbus(
    runtime: Runtime, recorder: Recorder, feed_args: dict[str, int]
) -> None:
    feed = CityFeed(**feed_args)
    runtime.store.import_assets(feed.doc)
    cat = runtime.store.catalog()
    slug = feed.catalog.enterprises[min(feed.catalog.enterprises)].slug
    city = ModbusCity(feed, host=HOST, port=free_port(), enterprises=[slug])
    before = city.advance(NOW_MS)
    await city.start()
    try:
        adapters = [ModbusAdapter(c) for c in city.settings(poll_ms=50)]
        async with polling(adapters, recorder):
            await recorder.until(lambda: all(a.polls >= 1 for a in adapters))
            after = city.advance(NOW_MS + TEN_MINUTES_MS)  # counts and state changes
            seen = {a.name: a.polls for a in adapters}
            await recorder.until(lambda: all(a.polls >= seen[a.name] + 2 for a in adapters))
    finally:
        await city.stop()
    ent = cat.enterprise_by_slug[slug]
    served = {feed.paths[e].equipment for e in feed.equipment_of(slug)}
    assert len(served) == len(adapters) >= 3

    latest = names(feed, Bundle.concat([before, after]))
    last = runtime.store.last_values().to_pylist()
    stored = {
        (cat.equipment[cat.signals[r["series"]].equipment_id].slug, cat.signals[r["series"]].name):
        r["value"]
        for r in last
        if cat.signals[r["series"]].enterprise_id == ent
    }  # fmt: skip
    expected = {k: float(np.float32(v)) for k, v in latest.items() if k[0] in served}
    assert stored == expected  # every signal, as float32 carries it

    eq_ids = {cat.equipment_by_path[(ent, slug_)]: slug_ for slug_ in served}
    states = runtime.store.current_states(list(eq_ids)).to_pylist()
    sim_states = Bundle.concat([before, after]).states
    want_state = {}
    for e, s in zip(sim_states.equipment.tolist(), sim_states.state.tolist(), strict=True):
        want_state[feed.paths[e].equipment] = s  # in time order: the last one stays
    assert {eq_ids[r["equipment"]]: r["state"] for r in states} == {
        k: v for k, v in want_state.items() if k in served
    }

    counts = runtime.store.counts(list(eq_ids), 0, 2**62).to_pylist()
    got = {eq_ids[r["equipment"]]: (r["good"], r["scrap"]) for r in counts}
    want: dict[str, tuple[int, int]] = {}
    c = after.counts
    for e, good, scrap in zip(c.equipment.tolist(), c.good.tolist(), c.scrap.tolist(), strict=True):
        name = feed.paths[e].equipment
        if name in served:
            g, s = want.get(name, (0, 0))
            want[name] = (g + good, s + scrap)
    assert sum(g for g, _ in want.values()) > 0  # the ten minutes made parts
    assert got == {k: v for k, v in want.items() if v != (0, 0)}
    runtime.sink.flush()
    assert runtime.store.dead_letters(ent).num_rows == 0


async def test_serve_modbus_serves_until_cancelled(
    runtime: Runtime, recorder: Recorder, feed_args: dict[str, int]
) -> None:
    feed = CityFeed(**feed_args)
    runtime.store.import_assets(feed.doc)
    slug = feed.catalog.enterprises[min(feed.catalog.enterprises)].slug
    port = free_port()
    clock = ManualClock(NOW_MS)
    server = asyncio.create_task(
        serve_modbus(feed, host=HOST, port=port, enterprises=[slug], clock=clock, step_s=0.05)
    )
    cfg = modbus_settings(feed, host=HOST, port=port, enterprises=[slug], poll_ms=50)[0]
    # The servers open once the feed has stepped: until then the poller is refused and retries.
    adapter = ModbusAdapter(cfg.model_copy(update={"reconnect_max_s": 0.1}))
    async with polling([adapter], recorder):
        try:
            await recorder.until(lambda: adapter.polls >= 2)
        finally:
            if server.done():
                server.result()
    assert feed.now_ms == NOW_MS  # stepped to the clock
    server.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(HOST, port)  # the servers are closed


@pytest.mark.parametrize(
    ("state", "coils", "planned"),
    [
        (EquipmentState.RUNNING, [True, False], True),
        (EquipmentState.DOWN_FAULT, [False, True], True),
        (EquipmentState.OFF_SHIFT, [False, False], False),
    ],
)
async def test_coils_and_discrete_inputs_follow_the_state(
    feed_args: dict[str, int], state: EquipmentState, coils: list[bool], planned: bool
) -> None:
    feed = CityFeed(**feed_args)
    slug = feed.catalog.enterprises[min(feed.catalog.enterprises)].slug
    first, *_, last = feed.equipment_of(slug)
    city = ModbusCity(feed, host=HOST, port=free_port(), enterprises=[slug])
    other = max(feed.catalog.equipment) + 5  # not in the city: ignored
    city.apply(
        Bundle(
            states=StateBatch.of([first, other], [NOW_MS, NOW_MS], [int(state), 1]),
            counts=CountBatch.of([last, last, other], [NOW_MS] * 3, [70_000, 5, 9], [1, 2, 3]),
        )
    )
    await city.start()
    client = AsyncModbusTcpClient(HOST, port=city.port, timeout=2, reconnect_delay=0)
    try:
        assert await client.connect()
        got = await client.read_coils(0, count=2, device_id=1)
        assert list(got.bits[:2]) == coils
        got = await client.read_discrete_inputs(0, count=1, device_id=1)
        assert list(got.bits[:1]) == [planned]
        unit = len(feed.equipment_of(slug))
        got = await client.read_holding_registers(0, count=5, device_id=unit)
        assert got.registers == [0, 0x0001, 70_005 - 0x10000, 0, 3]  # 70005 good, 3 scrap
        got = await client.read_holding_registers(5, count=1, device_id=unit)
        assert got.isError()
        assert got.exception_code == 2  # beyond the map: illegal data address
    finally:
        client.close()
        await city.stop()
