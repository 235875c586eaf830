"""From decoded values to bundles: counters that wrap and reset, state changes, refused values;
and the poll schedule."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.config_ingest import ModbusRegister
from kiln.domain.batches import Bundle
from kiln.domain.states import EquipmentState
from kiln.ingest.backoff import Backoff
from kiln.ingest.modbus.readings import Readings, Refused, check_role, count_delta
from kiln.ingest.modbus.schedule import next_slot

EQ = 7


def reg(signal: str, address: int, type_: str = "uint16", **kw: object) -> ModbusRegister:
    return ModbusRegister(signal=signal, address=address, type=type_, **kw)  # type: ignore[arg-type]


MAP = [
    reg("temp", 0, "float32"),
    reg("state", 2),
    reg("good", 3, "uint32", scale=2),  # two parts a stroke
    reg("scrap", 5),
    reg("speed", 6),
]
SERIES = np.array([101, 105])  # temp, speed


def poll(
    readings: Readings, raw: list[float], ok: list[bool] | None = None, equipment: int | None = EQ
) -> tuple[Bundle, list[Refused]]:
    values = np.array(raw, np.float64)
    mask = np.array(ok if ok is not None else [True] * len(raw))
    return readings.bundle(1000, equipment, SERIES, values, values, mask)


def test_counter_deltas_across_wraps_and_resets() -> None:
    old = np.array([10, 65_530, 1_000, 4_294_967_290, 7, 5])
    new = np.array([15, 3, 5, 4, 7, 2])
    bits = np.array([16, 16, 16, 32, 32, 32])
    assert count_delta(old, new, bits).tolist() == [5, 9, 5, 10, 0, 2]


def test_the_first_counter_reading_is_a_baseline_then_deltas_are_counted() -> None:
    r = Readings(MAP)
    first, _ = poll(r, [20.0, 1, 100, 65_534, 9])
    assert len(first.counts) == 0
    second, _ = poll(r, [20.0, 1, 103, 1, 9])
    counts = second.counts
    assert counts.equipment.tolist() == [EQ]
    assert counts.good.tolist() == [6]  # 3 strokes of two parts
    assert counts.scrap.tolist() == [3]  # 65534 -> 65535 -> 0 -> 1
    third, _ = poll(r, [20.0, 1, 103, 1, 9])
    assert len(third.counts) == 0


def test_a_counter_not_read_this_poll_keeps_its_baseline() -> None:
    r = Readings(MAP)
    poll(r, [20.0, 1, 100, 0, 9])
    skipped, _ = poll(r, [20.0, 1, 0, 0, 9], ok=[True, True, False, True, True])
    assert len(skipped.counts) == 0
    later, _ = poll(r, [20.0, 1, 110, 0, 9])
    assert later.counts.good.tolist() == [20]


def test_a_state_is_sent_when_it_changes_and_unknown_when_the_device_is_lost() -> None:
    r = Readings(MAP)
    b1, _ = poll(r, [20.0, 1, 0, 0, 9])
    b2, _ = poll(r, [20.0, 1, 0, 0, 9])
    b3, _ = poll(r, [20.0, 4, 0, 0, 9])
    assert b1.states.state.tolist() == [EquipmentState.RUNNING]
    assert len(b2.states) == 0
    assert b3.states.state.tolist() == [EquipmentState.DOWN_FAULT]
    lost = r.lost(2000, EQ)
    assert lost.states.state.tolist() == [EquipmentState.UNKNOWN]
    assert lost.states.ts_ms.tolist() == [2000]
    assert len(r.lost(3000, EQ)) == 0  # already unknown
    back, _ = poll(r, [20.0, 4, 0, 0, 9])
    assert back.states.state.tolist() == [EquipmentState.DOWN_FAULT]


def test_a_map_without_a_state_sends_no_unknown_state() -> None:
    r = Readings([reg("temp", 0, "float32")])
    r.bundle(1000, EQ, np.array([101]), np.array([1.0]), np.array([1.0]), np.array([True]))
    assert len(r.lost(2000, EQ)) == 0


def test_an_unknown_state_code_is_refused_and_sends_nothing() -> None:
    r = Readings(MAP)
    bundle, refused = poll(r, [20.0, 42, 0, 0, 9])
    assert len(bundle.states) == 0
    assert [(o.index, o.cause) for o in refused] == [(1, "state-42")]
    assert "state code 42 is not a Kiln state" in refused[0].reason


def test_non_finite_values_are_refused_and_the_rest_are_points() -> None:
    r = Readings(MAP)
    bundle, refused = poll(r, [float("nan"), 1, 0, 0, 9])
    points = bundle.points
    assert points.series.tolist() == [105]
    assert points.value.tolist() == [9.0]
    assert points.ts_ms.tolist() == [1000]
    assert [o.index for o in refused] == [0]
    assert "nan, not a finite number" in refused[0].reason


def test_values_of_unknown_series_or_unread_registers_are_left_out() -> None:
    r = Readings(MAP)
    values = np.array([20.0, 1, 0, 0, 9])
    ok = np.array([True, True, True, True, False])
    bundle, refused = r.bundle(1000, EQ, np.array([-1, 105]), values, values, ok)
    assert len(bundle.points) == 0
    assert refused == []


def test_an_unknown_equipment_gives_points_only_but_keeps_counter_baselines() -> None:
    r = Readings(MAP)
    bundle, _ = poll(r, [20.0, 1, 100, 0, 9], equipment=None)
    assert len(bundle.points) == 2
    assert len(bundle.states) == len(bundle.counts) == 0
    later, _ = poll(r, [20.0, 1, 101, 0, 9])
    assert later.counts.good.tolist() == [2]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (reg("state", 0, "float32"), "'state' is a state code: type must be an integer type"),
        (reg("good", 0, "int32"), "'good' is a part counter: type must be uint16 or uint32"),
        (reg("scrap", 0, "bool"), "'scrap' is a part counter"),
        (reg("good", 0, "uint16", scale=0), "scale (parts per count) must be > 0"),
    ],
)
def test_reserved_names_need_integer_types(entry: ModbusRegister, message: str) -> None:
    assert message in str(check_role(entry))


def test_reserved_names_with_integer_types_pass() -> None:
    assert check_role(reg("state", 0, "int16")) is None
    assert check_role(reg("good", 0, "uint32")) is None
    assert check_role(reg("temp", 0, "float32")) is None


def test_the_next_poll_stays_on_the_grid_and_skips_missed_slots() -> None:
    assert next_slot(100.0, 100.01, 0.5) == 100.5
    assert next_slot(100.0, 100.5, 0.5) == 101.0  # exactly on a slot: that one is past
    assert next_slot(100.0, 101.7, 0.5) == 102.0  # three slots missed, none made up
    slot = 0.0
    for now in (0.1, 1.2, 1.3, 3.05):
        slot = next_slot(slot, now, 1.0)
    assert slot == 4.0  # no drift: always a whole number of periods from the start


def test_backoff_doubles_to_its_cap_and_starts_again_after_reset() -> None:
    b = Backoff(first=0.5, cap=4.0)
    assert [b.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    b.reset()
    assert b.next() == 0.5
    assert Backoff(first=0.5, cap=0.1).next() == 0.1
