"""The poller against a real pymodbus server, into the real store: values, states, counts, and
what a device refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from kiln.config_ingest import ModbusRegister
from kiln.domain.states import EquipmentState
from kiln.errors import ConfigError
from kiln.ingest.modbus.poller import ModbusAdapter
from kiln.runtime import Runtime
from tests.conftest import small_city

from .conftest import Recorder, running, settings, words

END_MS = 2**62


def reg(signal: str, address: int, type_: str = "uint16", **kw: Any) -> ModbusRegister:
    return ModbusRegister(signal=signal, address=address, type=type_, **kw)


def series(runtime: Runtime, signal: str, equipment: str = "press-1") -> int:
    cat = runtime.store.catalog()
    eq = cat.equipment_id("acme-auto", equipment)
    assert eq is not None
    sid = cat.series_id(eq, signal)
    assert sid is not None
    return sid


def values(runtime: Runtime, signal: str, equipment: str = "press-1") -> list[float]:
    table = runtime.store.points([series(runtime, signal, equipment)], 0, END_MS)
    return list(table.column("value").to_pylist())


def letters(runtime: Runtime) -> list[dict[str, Any]]:
    runtime.sink.flush()
    ent = runtime.store.catalog().enterprise_by_slug["acme-auto"]
    return list(runtime.store.dead_letters(ent).to_pylist())


def submitted(rec: Recorder, runtime: Runtime, signal: str) -> Callable[[], bool]:
    sid = series(runtime, signal)
    return lambda: any(sid in b.points.series for b in rec.bundles)


async def test_holding_input_coil_and_discrete_values_are_stored_scaled(
    runtime: Runtime, recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(
        holding={0: words(415, "int16") + words(7512.5, "float32", "CDAB")},
        input_={0: words(31_250, "uint32", "DCBA") + words(4000, "uint16", "BADC")},
        coils={0: [False, False, False, True]},
        discrete={5: [True]},
    )
    adapter = ModbusAdapter(
        settings(
            dev.port,
            [
                reg("lube_temp", 0, "int16", scale=0.1),
                reg("tonnage", 1, "float32", order="CDAB"),
                reg("main_motor_power", 0, "uint32", table="input", order="DCBA", scale=0.01),
                reg("lube_pressure", 2, table="input", order="BADC", scale=0.001, offset=0.5),
                reg("stroke_rate", 3, "bool", table="coil", scale=14),
                reg("brake_stop_time", 5, "bool", table="discrete", scale=180, offset=20),
            ],
        )
    )
    async with running(adapter, recorder):
        await recorder.until(lambda: len(recorder.bundles) >= 3)
    expected = {
        "lube_temp": 41.5,
        "tonnage": 7512.5,
        "main_motor_power": 312.5,
        "lube_pressure": 4.5,
        "stroke_rate": 14.0,
        "brake_stop_time": 200.0,
    }
    for signal, value in expected.items():
        stored = values(runtime, signal)
        assert len(stored) >= 3, signal
        assert stored == pytest.approx([value] * len(stored)), signal
    first = recorder.bundles[0].points
    assert len(first) == 6  # one bundle per poll, every value in it
    assert len(set(first.ts_ms.tolist())) == 1
    assert letters(runtime) == []


async def test_each_table_is_read_in_one_request_per_poll(
    recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(
        holding={0: [1, 2, 3, 4, 5, 6]}, input_={0: [7, 8, 9]}, coils={0: [True] * 4}
    )
    regs = [reg("lube_temp", 0), reg("tonnage", 1, "float32"), reg("stroke_rate", 3, "int32")]
    regs += [reg("lube_pressure", 5), reg("main_motor_power", 0, table="input")]
    regs += [reg("brake_stop_time", 2, table="input"), reg("x", 3, "bool", table="coil")]
    snapshots: list[int] = []
    recorder.hook = lambda: snapshots.append(dev.requests)
    async with running(ModbusAdapter(settings(dev.port, regs)), recorder):
        await recorder.until(lambda: len(snapshots) >= 4)
    # holding 0-5 in one read; input 0 and input 2 apart (input 1 is not mapped); coil 3
    assert set(np.diff(snapshots).tolist()) == {4}


async def test_an_illegal_address_is_one_dead_letter_while_the_rest_keep_flowing(
    runtime: Runtime, recorder: Recorder, device_factory: Any
) -> None:
    # Holding 3 and input 50 do not exist on this device.
    dev = await device_factory(holding={0: [411, 12, 210]}, input_={0: [7000]})
    regs = [
        reg("lube_temp", 0, scale=0.1),
        reg("stroke_rate", 1),
        reg("brake_stop_time", 2),
        reg("lube_pressure", 3),  # contiguous with the good ones: probed to find the culprit
        reg("tonnage", 0, table="input"),
        reg("main_motor_power", 50, table="input"),
    ]
    snapshots: list[int] = []
    recorder.hook = lambda: snapshots.append(dev.requests)
    async with running(ModbusAdapter(settings(dev.port, regs)), recorder) as task:
        await recorder.until(lambda: len(recorder.bundles) >= 8)
        assert not task.done()
    refused = letters(runtime)
    assert sorted(x["source"].split("/", 2)[2] for x in refused) == ["holding/3", "input/50"]
    for x in refused:
        assert x["adapter"] == "modbus:press-1"
        assert "exception 02 (illegal data address)" in x["reason"]
        assert "not read again until the device reconnects" in x["reason"]
    assert any("'lube_pressure'" in x["reason"] for x in refused)
    assert any("'main_motor_power'" in x["reason"] for x in refused)
    assert values(runtime, "lube_temp")[-1] == pytest.approx(41.1)
    assert values(runtime, "tonnage")[-1] == 7000
    assert len(values(runtime, "brake_stop_time")) >= 7
    assert np.diff(snapshots)[-3:].tolist() == [2, 2, 2]  # holding 0-2 and input 0, no retries


async def test_a_device_refusing_long_reads_is_read_one_value_per_request(
    runtime: Runtime, recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(holding={0: [415, *words(7512.5, "float32"), 210]})
    dev.max_count = 2
    regs = [reg("lube_temp", 0), reg("tonnage", 1, "float32"), reg("brake_stop_time", 3)]
    async with running(ModbusAdapter(settings(dev.port, regs)), recorder):
        await recorder.until(lambda: len(recorder.bundles) >= 4)
    assert values(runtime, "tonnage")[-1] == 7512.5
    assert values(runtime, "brake_stop_time")[-1] == 210
    [letter] = letters(runtime)
    assert (
        "exception 03 (illegal data value) reading holding 0-3 in one request" in letter["reason"]
    )


async def test_a_busy_device_is_one_dead_letter_and_is_asked_again(
    runtime: Runtime, recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(holding={0: [415, 210]})
    dev.busy = True
    regs = [reg("lube_temp", 0, scale=0.1), reg("brake_stop_time", 1)]
    async with running(ModbusAdapter(settings(dev.port, regs)), recorder):
        await dev.until(lambda: dev.requests >= 5)
        assert recorder.bundles == []
        dev.busy = False
        await recorder.until(lambda: len(recorder.bundles) >= 2)
    [letter] = letters(runtime)
    assert "exception 06 (server device busy) reading holding 0-1" in letter["reason"]
    assert letter["payload"] == bytes([0x83, 0x06])  # the exception response's PDU
    assert values(runtime, "lube_temp")[-1] == pytest.approx(41.5)
    assert values(runtime, "brake_stop_time")[-1] == 210


async def test_a_nan_float_is_one_dead_letter_and_the_signal_flows_once_finite(
    runtime: Runtime, recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(holding={0: [0x7FC0, 0x0000, 415]})
    regs = [reg("tonnage", 0, "float32"), reg("lube_temp", 2, scale=0.1)]
    async with running(ModbusAdapter(settings(dev.port, regs)), recorder):
        await recorder.until(lambda: len(recorder.bundles) >= 4)
        assert not recorder.bundles[-1].points.series.tolist().count(series(runtime, "tonnage"))
        dev.set("holding", 0, words(7100.25, "float32"))
        await recorder.until(submitted(recorder, runtime, "tonnage"))
    assert values(runtime, "tonnage") == [7100.25] * len(values(runtime, "tonnage"))
    assert len(values(runtime, "lube_temp")) >= 5
    [letter] = letters(runtime)
    assert letter["reason"] == "'tonnage': read nan, not a finite number"
    assert letter["source"].endswith("/1/holding/0")
    assert letter["payload"] == b"\x7f\xc0\x00\x00"


async def test_an_unknown_signal_is_one_dead_letter_and_the_others_are_stored(
    runtime: Runtime, recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(holding={0: [9, *words(7000.0, "float32")]})
    regs = [reg("no_such_signal", 0), reg("tonnage", 1, "float32")]
    async with running(ModbusAdapter(settings(dev.port, regs)), recorder):
        await recorder.until(lambda: len(recorder.bundles) >= 4)
    assert len(values(runtime, "tonnage")) >= 4
    [letter] = letters(runtime)
    assert letter["reason"] == "unknown signal 'no_such_signal' of equipment 'press-1'"


async def test_an_unknown_equipment_flows_once_it_is_registered(
    runtime: Runtime, recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(holding={0: words(6500.0, "float32")})
    adapter = ModbusAdapter(settings(dev.port, [reg("tonnage", 0, "float32")], equipment="press-9"))
    async with running(adapter, recorder):
        await dev.until(lambda: adapter.polls >= 3)
        assert recorder.bundles == []
        doc = small_city()
        stations = doc["enterprises"][0]["sites"][0]["lines"][0]["stations"]
        stations[0]["equipment"].append({"slug": "press-9", "template": "press"})
        runtime.store.import_assets(doc)
        await recorder.until(lambda: len(recorder.bundles) >= 2)
    assert values(runtime, "tonnage", "press-9")[-1] == 6500.0
    [letter] = letters(runtime)
    assert letter["reason"] == "unknown equipment 'press-9' of 'acme-auto'"


async def test_an_unknown_enterprise_is_one_dead_letter_naming_no_enterprise(
    runtime: Runtime, recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(holding={0: [1]})
    adapter = ModbusAdapter(settings(dev.port, [reg("lube_temp", 0)], enterprise="nobody"))
    async with running(adapter, recorder):
        await dev.until(lambda: adapter.polls >= 3)
    runtime.sink.flush()
    [letter] = runtime.store.dead_letters(None).to_pylist()
    assert letter["reason"] == "unknown enterprise 'nobody'"


async def test_states_and_part_counts_reach_the_store(
    runtime: Runtime, recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(holding={0: [1, *words(100, "uint32"), 65_534]})
    regs = [reg("state", 0), reg("good", 1, "uint32"), reg("scrap", 3)]
    async with running(ModbusAdapter(settings(dev.port, regs)), recorder):
        await recorder.until(lambda: len(recorder.bundles) >= 1)
        dev.set("holding", 0, [4, *words(130, "uint32"), 2])  # a fault; 30 good; scrap wraps
        await recorder.until(lambda: any(len(b.counts) for b in recorder.bundles))
    eq = runtime.store.catalog().equipment_id("acme-auto", "press-1")
    assert eq is not None
    states = [int(s) for b in recorder.bundles for s in b.states.state]
    assert states == [EquipmentState.RUNNING, EquipmentState.DOWN_FAULT]
    assert runtime.store.current_states([eq]).column("state").to_pylist() == [4]
    counts = runtime.store.counts([eq], 0, END_MS).to_pylist()
    assert [(c["good"], c["scrap"]) for c in counts] == [(30, 4)]


@pytest.mark.parametrize(
    ("regs", "where", "what"),
    [
        ([], "registers", "no registers to read"),
        (
            [reg("tonnage", 0, "float32"), reg("tonnage", 4)],
            "registers[1]",
            "signal 'tonnage' is already read by registers[0]",
        ),
        ([reg("x", 0, "float32", table="coil")], "registers[0]", "a coil holds one bit"),
        ([reg("good", 0, "float32")], "registers[0]", "'good' is a part counter"),
        ([reg("x", 65535, "uint32")], "registers[0]", "runs past the last address"),
    ],
)
def test_a_register_map_that_cannot_be_polled_is_refused_at_start(
    regs: list[ModbusRegister], where: str, what: str
) -> None:
    with pytest.raises(ConfigError) as err:
        ModbusAdapter(settings(502, regs))
    assert err.value.where == f"ingest.modbus[press-1].{where}"
    assert what in err.value.what


async def test_polls_keep_to_the_grid_and_skip_the_slots_a_slow_commit_missed(
    recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(holding={0: [415]})
    recorder.commit_s = 0.03  # each poll's work: a drifting schedule would add it up
    regs = [reg("lube_temp", 0)]
    async with running(ModbusAdapter(settings(dev.port, regs, poll_ms=100)), recorder):
        await recorder.until(lambda: len(recorder.bundles) >= 11)
        steady = dev.times[:11]
        recorder.stall_s = 1.0  # a commit that takes ten periods
        await recorder.until(lambda: sum(t > recorder.stall_ended for t in dev.times) >= 4)
    # Ten periods from the first poll to the eleventh, not ten periods plus ten commits.
    assert steady[10] - steady[0] == pytest.approx(1.0, abs=0.12)
    # After the stall the polls come a period apart, not in a burst making up for it.
    after = [t for t in dev.times if t > recorder.stall_ended][:4]
    assert min(np.diff(after)) > 0.06


async def test_a_unit_id_the_device_does_not_serve_is_one_dead_letter(
    runtime: Runtime, recorder: Recorder, device_factory: Any
) -> None:
    dev = await device_factory(holding={0: [415]})
    adapter = ModbusAdapter(settings(dev.port, [reg("lube_temp", 0)], unit_id=9))
    async with running(adapter, recorder) as task:
        await recorder.until(lambda: len(recorder.letters) >= 1)
        asked = dev.received
        await dev.until(lambda: dev.received >= asked + 3)
        assert not task.done()
    [letter] = letters(runtime)
    assert letter["source"].endswith("/9/holding/0")
    assert "asking again every poll" in letter["reason"]
    assert recorder.bundles == []
