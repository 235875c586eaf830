"""PostgreSQL's binary wire formats, done with NumPy: COPY payloads in, arrays out.

Writes send a whole batch as one binary COPY payload built column-wise (no Python object per
row); reads fold a query's columns into arrays (``array_agg``) that load straight into NumPy.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from numpy.typing import NDArray
from psycopg.adapt import Loader
from psycopg.postgres import types as pg_types

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # signature, flags, no extension
COPY_TRAILER = struct.pack(">h", -1)


def copy_rows(columns: Sequence[tuple[NDArray[Any], str]]) -> NDArray[np.void]:
    """The rows of a binary COPY for non-null fixed-width columns, one record per row: the
    field count, then a (byte length, big-endian value) pair per column.

    >>> rows = copy_rows([(np.array([7]), ">i4"), (np.array([1.5]), ">f8")])
    >>> rows.tobytes().hex(" ", 2)
    '0002 0000 0004 0000 0007 0000 0008 3ff8 0000 0000 0000'
    """
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for k, (_, code) in enumerate(columns):
        fields += [(f"len{k}", ">i4"), (f"col{k}", code)]
    rows = np.empty(len(columns[0][0]) if columns else 0, np.dtype(fields))
    rows["n"] = len(columns)
    for k, (values, code) in enumerate(columns):
        rows[f"len{k}"] = np.dtype(code).itemsize
        rows[f"col{k}"] = values
    return rows


def copy_in(
    cur: psycopg.Cursor[Any], table: str, names: Sequence[str], rows: NDArray[np.void]
) -> None:
    """COPY rows built by `copy_rows` into table(names), in one payload."""
    with cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(COPY_HEADER)
        copy.write(rows.data.cast("B"))
        copy.write(COPY_TRAILER)


class _NumpyArrayLoader(Loader):
    """A one-dimensional binary array of fixed-width numbers: a NumPy array, or an Arrow array
    when it holds a NULL."""

    code = ">i8"

    def load(self, data: Any) -> NDArray[Any] | pa.Array:
        buf = memoryview(data)
        ndim, has_null, _ = struct.unpack_from(">iii", buf)
        if ndim == 0:
            return np.empty(0, self.code[1:])
        (n,) = struct.unpack_from(">i", buf, 12)
        if has_null:
            return self._with_nulls(buf, n)
        cells = np.dtype([("len", ">i4"), ("v", self.code)])  # one block: no NULL anywhere
        values: NDArray[Any] = np.frombuffer(buf, cells, n, 20)["v"]
        return values.astype(self.code[1:])

    def _with_nulls(self, buf: memoryview, n: int) -> pa.Array:
        size = np.dtype(self.code).itemsize
        values: list[Any] = []
        pos = 20
        for _ in range(n):
            (length,) = struct.unpack_from(">i", buf, pos)
            pos += 4
            if length < 0:
                values.append(None)
            else:
                values.append(np.frombuffer(buf, self.code, 1, pos)[0].item())
                pos += size
        return pa.array(values)


class _Int2ArrayLoader(_NumpyArrayLoader):
    code = ">i2"


class _Int4ArrayLoader(_NumpyArrayLoader):
    code = ">i4"


class _Float8ArrayLoader(_NumpyArrayLoader):
    code = ">f8"


_LOADERS: list[tuple[str, type[Loader]]] = [
    ("int2", _Int2ArrayLoader),
    ("int4", _Int4ArrayLoader),
    ("int8", _NumpyArrayLoader),
    ("float8", _Float8ArrayLoader),
]


def columns_cursor(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
    """A binary cursor that loads int2/int4/int8/float8 arrays as NumPy arrays."""
    cur = conn.cursor(binary=True)
    for name, loader in _LOADERS:
        info = pg_types.get(name)
        assert info is not None
        cur.adapters.register_loader(info.array_oid, loader)
    return cur


def arrow_column(values: Any, kind: pa.DataType) -> pa.Array:
    """One column from what a columns cursor loaded (None: no rows) as an Arrow array."""
    if values is None:
        return pa.array([], kind)
    if isinstance(values, pa.Array):
        return values.cast(kind)
    if isinstance(values, np.ndarray):
        return pa.array(values).cast(kind)
    return pa.array(values, kind)


def fetch_table(
    conn: psycopg.Connection[Any], query: str, params: Any, schema: pa.Schema
) -> pa.Table:
    """The rows of query (whose columns are named as in schema) as an Arrow table, in the
    query's order: the server folds each column into one array, NumPy reads it whole.

    One plain aggregate over the query's output builds every array from the same rows in the
    order the query gives them (PostgreSQL's documented way to order array_agg's input).
    """
    aggs = ", ".join(f"array_agg({name})" for name in schema.names)
    cur = columns_cursor(conn)
    cur.execute(f"SELECT {aggs} FROM ({query}) q", params)
    row = cur.fetchone()
    assert row is not None
    return pa.table([arrow_column(v, f.type) for v, f in zip(row, schema, strict=True)], schema)


def rows_table(rows: Sequence[Sequence[Any]], schema: pa.Schema) -> pa.Table:
    """Fetched rows (a few thousand at most) as an Arrow table of the given schema."""
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.table([pa.array(list(c), f.type) for c, f in zip(cols, schema, strict=True)], schema)
