"""Sparkplug B datatypes: which payload field carries each, and how integers are signed.

The DataType numbers are those of ``sparkplug_b.proto`` (domain.md 3.2). Signed integers travel
in the unsigned fields as two's complement, so a host needs the datatype from the BIRTH to read
a DATA value back.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import NDArray


class DataType(IntEnum):
    """Sparkplug B metric datatypes (sparkplug_b.proto)."""

    UNKNOWN = 0
    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    BOOLEAN = 11
    STRING = 12
    DATETIME = 13
    TEXT = 14
    UUID = 15
    DATASET = 16
    BYTES = 17
    FILE = 18
    TEMPLATE = 19


class Kind(IntEnum):
    """The payload field a datatype's value travels in; OTHER values are not read."""

    OTHER = 0
    INT = 1  # int_value or long_value (encoders disagree on where UInt32 goes)
    FLOAT = 2
    DOUBLE = 3
    BOOL = 4
    TEXT = 5


N_TYPES = 35  # DataType numbers 0..34 (arrays included); anything larger is OTHER

KIND = np.zeros(N_TYPES, dtype=np.int8)
KIND[[1, 2, 3, 4, 5, 6, 7, 8, 13]] = Kind.INT
KIND[9] = Kind.FLOAT
KIND[10] = Kind.DOUBLE
KIND[11] = Kind.BOOL
KIND[[12, 14, 15]] = Kind.TEXT

# Nominal width of the signed types; 0 for every other type.
SIGNED_WIDTH = np.zeros(N_TYPES, dtype=np.int64)
SIGNED_WIDTH[[1, 2, 3, 4]] = (8, 16, 32, 64)


def kind_of(datatype: int) -> Kind:
    """The field a datatype's value travels in.

    >>> kind_of(DataType.INT32), kind_of(DataType.STRING), kind_of(99)
    (<Kind.INT: 1>, <Kind.TEXT: 5>, <Kind.OTHER: 0>)
    """
    return Kind(int(KIND[datatype])) if 0 <= datatype < N_TYPES else Kind.OTHER


def type_name(datatype: int) -> str:
    """The datatype's name as the specification spells it, for messages.

    >>> type_name(3), type_name(99)
    ('Int32', 'DataType 99')
    """
    try:
        name = DataType(datatype).name
    except ValueError:
        return f"DataType {datatype}"
    return {"DATETIME": "DateTime", "UUID": "UUID", "DATASET": "DataSet"}.get(
        name, name.title().replace("Uint", "UInt")
    )


def signed_ints(raw: NDArray[np.uint64], datatype: NDArray[np.int64]) -> NDArray[np.int64]:
    """Read unsigned wire integers as the datatypes say: two's complement for Int8..Int64.

    A value that fits its type's width is sign-extended from that width (some encoders send
    Int8 -5 as 251); a wider one from 32 bits (Int32 -5 as 4294967291), then from 64 bits.

    >>> dt = np.array([3, 1, 1, 4, 7], dtype=np.int64)
    >>> raw = np.array([4294967291, 251, 4294967291, 2**64 - 5, 4294967291], dtype=np.uint64)
    >>> signed_ints(raw, dt).tolist()
    [-5, -5, -5, -5, 4294967291]
    """
    out = raw.astype(np.int64)  # 64-bit two's complement: right for Int64 and wide values
    width = SIGNED_WIDTH[np.clip(datatype, 0, N_TYPES - 1)]
    small = (width > 0) & (width < 64)
    if not small.any():
        return out
    u = raw[small]
    w = width[small]
    w = np.where(u < (np.int64(1) << w).astype(np.uint64), w, 32)
    ui = u.astype(np.int64)
    limit = np.int64(1) << w
    val = np.where(ui >= limit >> 1, ui - limit, ui)
    out[small] = np.where(u < np.uint64(1 << 32), val, ui)
    return out


def encode_int(value: int, datatype: int) -> int:
    """The unsigned wire form of an integer metric value (two's complement for signed types).

    >>> encode_int(-5, DataType.INT32), encode_int(-5, DataType.INT8), encode_int(-5, 4)
    (4294967291, 4294967291, 18446744073709551611)
    """
    if datatype in (DataType.INT64, DataType.UINT64, DataType.DATETIME):
        return value % (1 << 64)
    return value % (1 << 32)


def uses_long(datatype: int) -> bool:
    """Whether a datatype's value goes in long_value (64-bit) rather than int_value."""
    return datatype in (DataType.INT64, DataType.UINT64, DataType.DATETIME)
