"""Planning reads and decoding words: known answers for every type and order, and round trips."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiln.config_ingest import ModbusRegister
from kiln.ingest.modbus.registers import (
    BIT_LIMIT,
    ORDERS,
    REGISTER_LIMIT,
    TYPES,
    Layout,
    check_register,
    decode,
    decode_words,
    encode_words,
    plan_reads,
)


def reg(signal: str, address: int, type_: str = "uint16", **kw: object) -> ModbusRegister:
    return ModbusRegister(signal=signal, address=address, type=type_, **kw)  # type: ignore[arg-type]


def decode_one(regs: list[int], type_: str, order: str = "ABCD") -> float:
    first = np.array([regs[0]], np.uint16)
    second = np.array([regs[1] if len(regs) > 1 else 0], np.uint16)
    kind = np.array([TYPES.index(type_)], np.int8)
    return float(decode_words(first, second, kind, np.array([ORDERS.index(order)], np.int8))[0])


# 123.456 as float32 is 0x42F6E979; 1185.5 is 0x44943000 (domain.md 5).
@pytest.mark.parametrize(
    ("order", "regs"),
    [
        ("ABCD", [0x42F6, 0xE979]),
        ("CDAB", [0xE979, 0x42F6]),
        ("BADC", [0xF642, 0x79E9]),
        ("DCBA", [0x79E9, 0xF642]),
    ],
)
def test_float32_123_456_in_every_order(order: str, regs: list[int]) -> None:
    assert decode_one(regs, "float32", order) == pytest.approx(123.456, abs=1e-5)
    assert decode_one(regs, "float32", order) == float(np.float32(123.456))


@pytest.mark.parametrize(
    ("order", "regs"),
    [
        ("ABCD", [0x4494, 0x3000]),
        ("CDAB", [0x3000, 0x4494]),
        ("BADC", [0x9444, 0x0030]),
        ("DCBA", [0x0030, 0x9444]),
    ],
)
def test_float32_1185_5_as_the_domain_reference_lays_it_out(order: str, regs: list[int]) -> None:
    assert decode_one(regs, "float32", order) == 1185.5


# 0x12345678 = 305419896; as int32 0xFEDCBA98 = -19088744.
@pytest.mark.parametrize(
    ("type_", "order", "regs", "value"),
    [
        ("uint32", "ABCD", [0x1234, 0x5678], 305_419_896),
        ("uint32", "CDAB", [0x5678, 0x1234], 305_419_896),
        ("uint32", "BADC", [0x3412, 0x7856], 305_419_896),
        ("uint32", "DCBA", [0x7856, 0x3412], 305_419_896),
        ("int32", "ABCD", [0xFEDC, 0xBA98], -19_088_744),
        ("int32", "CDAB", [0xBA98, 0xFEDC], -19_088_744),
        ("int32", "BADC", [0xDCFE, 0x98BA], -19_088_744),
        ("int32", "DCBA", [0x98BA, 0xDCFE], -19_088_744),
        ("uint32", "ABCD", [0xFFFF, 0xFFFF], 4_294_967_295),
        ("int32", "ABCD", [0x8000, 0x0000], -2_147_483_648),
        ("uint16", "ABCD", [0xFFFF], 65_535),
        ("int16", "ABCD", [0xFFFF], -1),
        ("int16", "ABCD", [0x8000], -32_768),
        ("int16", "CDAB", [0xFF85], -123),  # word order means nothing to one register
        ("int16", "BADC", [0x85FF], -123),  # but byte order does
        ("uint16", "DCBA", [0x3412], 0x1234),
        ("bool", "ABCD", [0x0000], 0),
        ("bool", "ABCD", [0x0100], 1),
    ],
)
def test_integers_and_bools_in_every_order(
    type_: str, order: str, regs: list[int], value: int
) -> None:
    assert decode_one(regs, type_, order) == value


def test_a_float32_nan_decodes_as_nan_without_a_warning() -> None:
    assert np.isnan(decode_one([0x7F80, 0x0001], "float32"))  # a signalling NaN
    assert decode_one([0x7F80, 0x0000], "float32") == np.inf


def test_scale_and_offset_make_engineering_values() -> None:
    layout = Layout.of([reg("t", 0, scale=0.1), reg("p", 1, "int16", scale=0.5, offset=-10)])
    assert layout.scaled(np.array([1853.0, -4.0])).tolist() == pytest.approx([185.3, -12.0])


def test_decode_reads_the_values_of_a_map_from_the_buffer_of_all_reads() -> None:
    regs = [
        reg("a", 10, "float32", order="CDAB"),
        reg("b", 0, "int16"),
        reg("c", 12, "uint32", order="DCBA"),
        reg("d", 3, "bool", table="coil"),
    ]
    plan = plan_reads(regs)
    buffer = np.zeros(plan.size, np.uint16)
    for i, r in enumerate(regs):
        kind = np.array([TYPES.index(r.type)], np.int8)
        first, second = encode_words(
            np.array([[1185.5, -7, 70_000, 1][i]], np.float64),
            kind,
            np.array([ORDERS.index(r.order)], np.int8),
        )
        at = int(plan.word_at[i])
        buffer[at] = first[0]
        if r.type in ("float32", "uint32"):
            buffer[at + 1] = second[0]
    assert decode(buffer, plan, Layout.of(regs)).tolist() == [1185.5, -7.0, 70_000.0, 1.0]


def test_contiguous_values_share_one_read_per_table() -> None:
    regs = [
        reg("a", 0),
        reg("b", 1, "float32"),
        reg("c", 3, "int32"),
        reg("d", 0, table="input"),
        reg("e", 1, table="input"),
        reg("f", 7),
        reg("g", 0, "bool", table="coil"),
        reg("h", 1, "bool", table="coil"),
    ]
    plan = plan_reads(regs)
    assert sorted(r.label() for r in plan.reads) == [
        "coil 0-1",
        "holding 0-4",
        "holding 7",
        "input 0-1",
    ]
    assert plan.size == 2 + 5 + 1 + 2
    assert {plan.reads[k].table for k in plan.read_of} == {"holding", "input", "coil"}


def test_overlapping_values_share_a_read() -> None:
    # The same two registers read as a float and, for diagnosis, as raw words.
    plan = plan_reads([reg("f", 4, "float32"), reg("hi", 4), reg("lo", 5)])
    assert [r.label() for r in plan.reads] == ["holding 4-5"]
    assert plan.word_at.tolist() == [0, 0, 1]


def test_a_read_never_exceeds_125_registers_nor_splits_a_32_bit_value() -> None:
    regs = [reg(f"v{i}", 2 * i, "float32") for i in range(100)]  # 200 registers, all contiguous
    plan = plan_reads(regs)
    assert all(r.count <= REGISTER_LIMIT for r in plan.reads)
    assert [r.count for r in plan.reads] == [124, 76]
    assert all(r.count % 2 == 0 for r in plan.reads)
    assert len(plan.reads) == 2


def test_a_read_never_exceeds_2000_bits() -> None:
    regs = [reg(f"c{i}", i, "bool", table="coil") for i in range(4500)]
    assert [r.count for r in plan_reads(regs).reads] == [BIT_LIMIT, BIT_LIMIT, 500]


def test_excluded_values_are_not_read_and_alone_values_are_read_one_request_each() -> None:
    regs = [reg("a", 0), reg("b", 1), reg("c", 2), reg("d", 3)]
    plan = plan_reads(regs, exclude={1})
    assert [r.label() for r in plan.reads] == ["holding 0", "holding 2-3"]
    assert plan.read_of.tolist() == [0, -1, 1, 1]
    alone = plan_reads(regs, alone={0, 1})
    assert sorted(r.label() for r in alone.reads) == ["holding 0", "holding 1", "holding 2-3"]


def test_a_value_not_read_decodes_as_nan() -> None:
    regs = [reg("a", 0), reg("b", 1)]
    plan = plan_reads(regs, exclude={0})
    assert np.isnan(decode(np.array([7], np.uint16), plan, Layout.of(regs))[0])
    assert decode(np.array([7], np.uint16), plan, Layout.of(regs))[1] == 7
    assert np.isnan(
        decode(np.zeros(0, np.uint16), plan_reads(regs, exclude={0, 1}), Layout.of(regs))
    ).all()


def test_map_entries_that_cannot_be_read_are_named() -> None:
    assert check_register(reg("x", 65535, "float32")) == (
        "float32 at 65535 runs past the last address (65535)"
    )
    assert "a discrete holds one bit" in str(check_register(reg("x", 0, "int32", table="discrete")))
    assert check_register(reg("x", 65535)) is None


type_orders = st.sampled_from(TYPES).flatmap(
    lambda t: st.tuples(st.just(t), st.sampled_from(ORDERS))
)


def values_of(type_: str) -> st.SearchStrategy[float]:
    bounds = {
        "uint16": (0, 2**16 - 1),
        "int16": (-(2**15), 2**15 - 1),
        "uint32": (0, 2**32 - 1),
        "int32": (-(2**31), 2**31 - 1),
        "bool": (0, 1),
    }
    if type_ == "float32":
        return st.floats(width=32, allow_nan=False)
    lo, hi = bounds[type_]
    return st.integers(lo, hi).map(float)


@given(
    st.lists(type_orders.flatmap(lambda to: st.tuples(st.just(to), values_of(to[0]))), max_size=40)
)
def test_decode_of_encode_is_the_value_for_every_type_and_order(
    items: list[tuple[tuple[str, str], float]],
) -> None:
    kind = np.array([TYPES.index(t) for (t, _), _ in items], np.int8)
    order = np.array([ORDERS.index(o) for (_, o), _ in items], np.int8)
    values = np.array([v for _, v in items], np.float64)
    first, second = encode_words(values, kind, order)
    assert decode_words(first, second, kind, order).tolist() == values.tolist()


@given(type_orders, st.integers(0, 2**16 - 1), st.integers(0, 2**16 - 1))
def test_encode_of_decode_gives_back_the_registers(to: tuple[str, str], w0: int, w1: int) -> None:
    type_, order = to
    kind, code = np.array([TYPES.index(type_)], np.int8), np.array([ORDERS.index(order)], np.int8)
    first, second = np.array([w0], np.uint16), np.array([w1], np.uint16)
    value = decode_words(first, second, kind, code)
    if type_ == "bool" or (type_ == "float32" and not np.isfinite(value[0])):
        return  # many words mean true; NaN payloads are not kept
    again = encode_words(value, kind, code)
    assert int(again[0][0]) == w0
    if type_ in ("uint32", "int32", "float32"):
        assert int(again[1][0]) == w1


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["holding", "input", "coil"]),
            st.integers(0, 3000),
            st.sampled_from(["uint16", "float32"]),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_every_planned_read_covers_its_values_within_the_limits(
    entries: list[tuple[str, int, str]],
) -> None:
    regs = [
        reg(f"s{i}", a, "bool" if t == "coil" else ty, table=t)
        for i, (t, a, ty) in enumerate(entries)
    ]
    plan = plan_reads(regs)
    starts = plan.starts()
    for i, r in enumerate(regs):
        read = plan.reads[plan.read_of[i]]
        width = 2 if r.type == "float32" else 1
        assert read.table == r.table
        assert read.address <= r.address
        assert r.address + width <= read.address + read.count
        assert plan.word_at[i] == starts[plan.read_of[i]] + r.address - read.address
    for read in plan.reads:
        assert read.count <= (BIT_LIMIT if read.table == "coil" else REGISTER_LIMIT)
    # Fewest reads: two reads of a table that touch could not have been one request.
    by_table: dict[str, list[tuple[int, int]]] = {}
    for read in plan.reads:
        by_table.setdefault(read.table, []).append((read.address, read.address + read.count))
    for table, spans in by_table.items():
        limit = BIT_LIMIT if table == "coil" else REGISTER_LIMIT
        spans.sort()
        for (a0, a1), (b0, b1) in itertools.pairwise(spans):
            assert b0 > a1 or b1 - a0 > limit
