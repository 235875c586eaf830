"""Modbus register maps, pure: plan the fewest reads, decode their words into values (NumPy).

A register map lists values by table and 0-based address (domain.md 5). `plan_reads` groups the
values of each table into contiguous reads within the protocol's per-request limits (125
registers, 2000 bits); `decode` turns the words of all reads, concatenated, into one float64
column, for every type and byte/word order at once. Bits (coils, discrete inputs) travel as
words holding 0 or 1, so one buffer serves both kinds of table.

Byte orders name the bytes of a 32-bit value from A (most significant) to D, as they arrive:
``ABCD`` big-endian, ``CDAB`` word-swapped, ``BADC`` byte-swapped, ``DCBA`` little-endian. A
16-bit value has bytes A and B: ``BADC`` and ``DCBA`` swap them too, the word order is moot.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.config_ingest import ModbusRegister

I8 = NDArray[np.int8]
I64 = NDArray[np.int64]
U16 = NDArray[np.uint16]
F64 = NDArray[np.float64]

TYPES = ("uint16", "int16", "uint32", "int32", "float32", "bool")
UINT16, INT16, UINT32, INT32, FLOAT32, BOOL = range(len(TYPES))
ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
ABCD, CDAB, BADC, DCBA = range(len(ORDERS))

BIT_TABLES = frozenset({"coil", "discrete"})
REGISTER_LIMIT = 125  # registers per read request (function codes 03, 04)
BIT_LIMIT = 2000  # bits per read request (function codes 01, 02)


def width(type_: str) -> int:
    """Registers a value of this type spans.

    >>> width("float32"), width("int16")
    (2, 1)
    """
    return 2 if type_ in ("uint32", "int32", "float32") else 1


@dataclass(frozen=True, slots=True)
class Read:
    """One read request: a table and a contiguous span of addresses."""

    table: str
    address: int
    count: int

    def label(self) -> str:
        """How a message names the span: ``holding 100-103`` or ``coil 7``."""
        last = self.address + self.count - 1
        span = str(self.address) if self.count == 1 else f"{self.address}-{last}"
        return f"{self.table} {span}"


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """The reads that cover a register map, and where each value's words land.

    The words of all reads, concatenated in plan order, form one buffer of ``size`` words;
    value i starts at ``word_at[i]`` and comes from read ``read_of[i]`` (-1: not read).
    """

    reads: tuple[Read, ...]
    read_of: I64
    word_at: I64

    @property
    def size(self) -> int:
        """Words in the buffer of all reads."""
        return sum(r.count for r in self.reads)

    def starts(self) -> I64:
        """Where each read's words begin in the buffer."""
        counts = np.array([r.count for r in self.reads], dtype=np.int64)
        return np.concatenate(([0], np.cumsum(counts)[:-1])) if len(counts) else counts

    def members(self, k: int) -> list[int]:
        """The values read by read k, in map order."""
        return [int(i) for i in np.flatnonzero(self.read_of == k)]


def plan_reads(
    registers: Sequence[ModbusRegister],
    *,
    exclude: Collection[int] = (),
    alone: Collection[int] = (),
) -> ReadPlan:
    """Group the map's values into the fewest contiguous reads within the per-request limits.

    Values of a table that touch or overlap share a read; a 32-bit value is never split between
    two reads. ``exclude`` names values not to read (refused by the device), ``alone`` values to
    read one request each (a device that refused them in one request).

    >>> regs = [ModbusRegister(signal=s, address=a, type=t) for s, a, t in
    ...         [("a", 0, "uint16"), ("b", 1, "float32"), ("c", 10, "int16")]]
    >>> [r.label() for r in plan_reads(regs).reads]
    ['holding 0-2', 'holding 10']
    >>> plan_reads(regs).word_at.tolist()
    [0, 1, 3]
    """
    n = len(registers)
    read_of = np.full(n, -1, dtype=np.int64)
    word_at = np.zeros(n, dtype=np.int64)
    reads: list[Read] = []
    skip, single = set(exclude), set(alone)
    order = sorted(
        (i for i in range(n) if i not in skip),
        key=lambda i: (registers[i].table, i in single, registers[i].address, i),
    )
    start = end = -1  # the open read's span [start, end)
    table, size = "", 0
    for i in order:
        reg = registers[i]
        lo, hi = reg.address, reg.address + width(reg.type)
        limit = BIT_LIMIT if reg.table in BIT_TABLES else REGISTER_LIMIT
        joins = (
            reads
            and reg.table == table
            and i not in single
            and lo <= end
            and max(end, hi) - start <= limit
        )
        if joins:
            end = max(end, hi)
            reads[-1] = Read(table, start, end - start)
        else:
            if reads:
                size += reads[-1].count
            table, start, end = reg.table, lo, hi
            reads.append(Read(table, start, end - start))
        read_of[i] = len(reads) - 1
        word_at[i] = size + lo - start
        if i in single:
            start = end = -1  # nothing may join a value read alone
    return ReadPlan(tuple(reads), read_of, word_at)


@dataclass(frozen=True, slots=True)
class Layout:
    """A register map as columns: type and order codes, scale and offset per value."""

    kind: I8
    order: I8
    scale: F64
    offset: F64

    @classmethod
    def of(cls, registers: Sequence[ModbusRegister]) -> Layout:
        """The columns of a register map."""
        return cls(
            np.array([TYPES.index(r.type) for r in registers], dtype=np.int8),
            np.array([ORDERS.index(r.order) for r in registers], dtype=np.int8),
            np.array([r.scale for r in registers], dtype=np.float64),
            np.array([r.offset for r in registers], dtype=np.float64),
        )

    def scaled(self, raw: F64) -> F64:
        """Engineering values: raw * scale + offset.

        >>> Layout.of([ModbusRegister(signal="t", address=0, scale=0.1)]).scaled(np.array([1853.0]))
        array([185.3])
        """
        with np.errstate(invalid="ignore", over="ignore"):
            return raw * self.scale + self.offset


def _swap_bytes(words: NDArray[np.uint32]) -> NDArray[np.uint32]:
    return (((words & 0xFF) << 8) | (words >> 8)).astype(np.uint32)


def decode_words(first: U16, second: U16, kind: I8, order: I8) -> F64:
    """Raw values from each value's first and second register (the second unused at 16 bits).

    Float32 123.456 (bytes 42 F6 E9 79) as it arrives in the four orders:

    >>> first = np.array([0x42F6, 0xE979, 0xF642, 0x79E9], dtype=np.uint16)
    >>> second = np.array([0xE979, 0x42F6, 0x79E9, 0xF642], dtype=np.uint16)
    >>> decode_words(first, second, np.full(4, FLOAT32, np.int8), np.arange(4, dtype=np.int8))
    array([123.45600128, 123.45600128, 123.45600128, 123.45600128])
    >>> decode_words(np.array([0xFFFF] * 2, np.uint16), np.zeros(2, np.uint16),
    ...              np.array([INT16, UINT16], np.int8), np.zeros(2, np.int8)).tolist()
    [-1.0, 65535.0]
    """
    w0, w1 = first.astype(np.uint32), second.astype(np.uint32)
    swap = (order == BADC) | (order == DCBA)
    w0 = np.where(swap, _swap_bytes(w0), w0)
    w1 = np.where(swap, _swap_bytes(w1), w1)
    words_swapped = (order == CDAB) | (order == DCBA)
    hi, lo = np.where(words_swapped, w1, w0), np.where(words_swapped, w0, w1)
    u32 = ((hi << 16) | lo).astype(np.uint32)
    u16 = w0.astype(np.uint16)
    with np.errstate(invalid="ignore"):  # a float32 signalling NaN warns when widened
        choices = [
            u16.astype(np.float64),
            u16.view(np.int16).astype(np.float64),
            u32.astype(np.float64),
            u32.view(np.int32).astype(np.float64),
            u32.view(np.float32).astype(np.float64),
            (u16 != 0).astype(np.float64),
        ]
    return np.select([kind == k for k in range(len(TYPES))], choices, default=np.nan)


def decode(words: U16, plan: ReadPlan, layout: Layout) -> F64:
    """Raw (unscaled) values of a map from the buffer of all reads; NaN where not read.

    >>> regs = [ModbusRegister(signal="t", address=0, type="float32", order="CDAB"),
    ...         ModbusRegister(signal="n", address=2, type="int16")]
    >>> decode(np.array([0x3000, 0x4494, 0xFFFE], np.uint16), plan_reads(regs), Layout.of(regs))
    array([1185.5,   -2. ])
    """
    if not len(words):
        return np.full(len(plan.read_of), np.nan)
    last = len(words) - 1
    first = words[np.minimum(plan.word_at, last)]
    second = words[np.minimum(plan.word_at + 1, last)]
    raw = decode_words(first, second, layout.kind, layout.order)
    return np.where(plan.read_of >= 0, raw, np.nan)


def encode_words(values: F64, kind: I8, order: I8) -> tuple[U16, U16]:
    """The first and second register of each value, the inverse of `decode_words`.

    Integers wrap to their width; the second register of a 16-bit value is 0.

    >>> first, second = encode_words(np.array([1185.5]), np.array([FLOAT32], np.int8),
    ...                              np.array([BADC], np.int8))
    >>> hex(int(first[0])), hex(int(second[0]))
    ('0x9444', '0x30')
    """
    with np.errstate(invalid="ignore", over="ignore"):
        as_int = np.where(np.isfinite(values), values, 0).round().astype(np.int64)
        as_f32 = values.astype(np.float32).view(np.uint32).astype(np.int64)
    bits = np.select(
        [kind == FLOAT32, kind == BOOL], [as_f32, (values != 0).astype(np.int64)], default=as_int
    )
    u32 = (bits & 0xFFFFFFFF).astype(np.uint32)
    is32 = (kind == UINT32) | (kind == INT32) | (kind == FLOAT32)
    hi = np.where(is32, u32 >> 16, u32 & 0xFFFF)
    lo = np.where(is32, u32 & 0xFFFF, 0)
    words_swapped = is32 & ((order == CDAB) | (order == DCBA))
    w0, w1 = np.where(words_swapped, lo, hi), np.where(words_swapped, hi, lo)
    swap = (order == BADC) | (order == DCBA)
    w0 = np.where(swap, _swap_bytes(w0), w0)
    w1 = np.where(swap & is32, _swap_bytes(w1), w1)
    return w0.astype(np.uint16), w1.astype(np.uint16)


def check_register(reg: ModbusRegister) -> str | None:
    """What is wrong with one map entry, or None.

    >>> check_register(ModbusRegister(signal="x", table="coil", address=0, type="float32"))
    'a coil holds one bit: type must be bool, uint16 or int16, not float32'
    """
    if reg.table in BIT_TABLES and width(reg.type) != 1:
        return f"a {reg.table} holds one bit: type must be bool, uint16 or int16, not {reg.type}"
    if reg.address + width(reg.type) > 65536:
        return f"{reg.type} at {reg.address} runs past the last address (65535)"
    return None
