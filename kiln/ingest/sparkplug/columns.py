"""DATA payloads as NumPy columns: the host's hot path (domain.md 3.2).

A DATA payload's header (seq, timestamp, metric count) is read when it arrives; its metrics are
read when it is applied, together with the other payloads applied with it. Kiln's view of the
payload (``sparkplug_columns.proto``) is wire-compatible with the official one, but declares
``metrics`` as a single message: protobuf merges repeated occurrences of such a field, so one
parse of one payload, or of several payloads laid end to end, yields each Metric field as one
column over every metric, in order, with no Python object per metric. The columns are resolved
against the BIRTH's table with NumPy. Whatever the columns cannot pair with metrics one to one
(names instead of aliases, nulls, historical or nested values, mixed integer fields, a fault)
goes to the per-metric path of ``codec``, which also names what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from kiln.ingest.sparkplug import sparkplug_columns_pb2 as cols
from kiln.ingest.sparkplug.codec import (
    F64,
    I64,
    Columns,
    DecodeError,
    MetricTable,
    UnknownMetric,
    decode_metrics,
    parse_payload,
)
from kiln.ingest.sparkplug.datatypes import Kind, signed_ints

_MAX_I64 = 2**63 - 1

# Fields whose presence in a DATA payload sends it to the per-metric path.
_PER_METRIC_FIELDS = (
    "name",
    "datatype",
    "is_historical",
    "is_transient",
    "is_null",
    "metadata",
    "properties",
    "bytes_value",
    "dataset_value",
    "template_value",
    "extension_value",
)


class DataPayload:
    """A DATA (or DDEATH) payload with its header read; its metrics are decoded later, against
    the table in force when it is applied (a held message may outlive a BIRTH), and together
    with the other messages of the same scope that are applied with it (``decode_group``)."""

    __slots__ = ("count", "raw", "seq", "ts_ms")

    def __init__(self, raw: bytes) -> None:
        try:
            outline: cols.PayloadOutline = cols.PayloadOutline.FromString(raw)
            self.count: int = len(outline.metrics)
        except Exception as err:  # protobuf's DecodeError, or whatever odd bytes provoke
            raise DecodeError(f"not a Sparkplug B payload ({err})") from None
        self.raw = raw
        self.seq: int | None = outline.seq if outline.HasField("seq") else None
        self.ts_ms: int | None = outline.timestamp if outline.HasField("timestamp") else None

    def columns(self, table: MetricTable) -> Columns:
        """The metrics as columns; DecodeError (UnknownMetric) names what cannot be read."""
        group = decode_group([self], table)
        if group.errors:
            raise group.errors[0]
        return group.columns


@dataclass(frozen=True, slots=True)
class GroupColumns:
    """The metrics of several payloads of one scope as one set of columns."""

    columns: Columns  # the rows of the payloads that decoded, in order
    message: I64  # per row: which payload of the group it came from
    errors: dict[int, DecodeError]  # payload index -> why it was refused


def decode_columns(payloads: Sequence[DataPayload], table: MetricTable) -> GroupColumns | None:
    """The columnar path alone: payloads decoded together, or None if anything is amiss."""
    try:
        return _fast(payloads, table)
    except Exception:  # the caller decodes them another way, which names the fault
        return None


def decode_group(payloads: Sequence[DataPayload], table: MetricTable) -> GroupColumns:
    """Decode payloads of one scope together: their concatenation is one protobuf message
    whose columns hold every metric in order, so the NumPy work is per group, not per payload.
    If the columns do not line up (or any payload is at fault), each payload is decoded alone
    and a faulty one is named in ``errors`` without holding back the others."""
    if len(payloads) > 1:
        try:
            fast = _fast(payloads, table)
        except Exception:  # a payload at fault: find it below, one by one
            fast = None
        if fast is not None:
            return fast
    parts: list[Columns] = []
    owners: list[int] = []
    errors: dict[int, DecodeError] = {}
    for k, p in enumerate(payloads):
        try:
            one = _fast([p], table)
            if one is None:
                cols_k = decode_metrics(parse_payload(p.raw), table, birth=False)
            else:
                cols_k = one.columns
        except DecodeError as err:
            errors[k] = err
            continue
        except Exception as err:  # anything protobuf or a peer's bytes can throw
            errors[k] = DecodeError(f"undecodable payload ({type(err).__name__}: {err})")
            continue
        parts.append(cols_k)
        owners.append(k)
    counts = [len(c) for c in parts]
    return GroupColumns(_concat(parts), np.repeat(np.array(owners, dtype=np.int64), counts), errors)


def _concat(parts: Sequence[Columns]) -> Columns:
    if len(parts) == 1:
        return parts[0]
    text: dict[int, str] = {}
    at = 0
    for c in parts:
        text.update((at + k, v) for k, v in c.text.items())
        at += len(c)
    if not parts:
        e = np.empty(0, dtype=np.int64)
        return Columns(e, e, np.empty(0), np.empty(0, np.bool_), np.empty(0, np.bool_))
    return Columns(
        np.concatenate([c.index for c in parts]),
        np.concatenate([c.ts_ms for c in parts]),
        np.concatenate([c.value for c in parts]),
        np.concatenate([c.null for c in parts]),
        np.concatenate([c.historical for c in parts]),
        text,
    )


def _fast(payloads: Sequence[DataPayload], table: MetricTable) -> GroupColumns | None:
    """The columnar path, or None if the columns cannot be paired with metrics one to one."""
    raw = payloads[0].raw if len(payloads) == 1 else b"".join(p.raw for p in payloads)
    m: cols.MetricColumns = cols.PayloadColumns.FromString(raw).metrics
    counts = [p.count for p in payloads]
    n = sum(counts)
    if len(m.alias) != n or any(len(getattr(m, f)) for f in _PER_METRIC_FIELDS):
        return None
    aliases = np.array(m.alias, dtype=np.uint64)
    idx = table.resolve(aliases)
    if n and idx.min() < 0:
        raise UnknownMetric(f"unknown alias {int(aliases[np.argmin(idx)])}")
    if len(m.timestamp) == n:
        ts = np.array(m.timestamp, dtype=np.uint64).astype(np.int64)
    elif len(m.timestamp) == 0:  # each metric takes its payload's timestamp
        stamps = [-1 if p.ts_ms is None else min(p.ts_ms, _MAX_I64) for p in payloads]
        ts = np.repeat(np.array(stamps, dtype=np.int64), counts)
    else:
        return None
    kinds = table.kind[idx]
    value = _fast_values(m, kinds, table.datatype[idx], n)
    if value is None:
        return None
    text: dict[int, str] = {}
    if len(m.string_value):
        where = np.flatnonzero(kinds == Kind.TEXT).tolist()
        text = dict(zip(where, m.string_value, strict=True))
    none = np.zeros(n, dtype=np.bool_)
    message = np.repeat(np.arange(len(payloads), dtype=np.int64), counts)
    return GroupColumns(Columns(idx, ts, value, none, none, text), message, {})


def _fast_values(
    m: cols.MetricColumns, kinds: NDArray[np.int8], datatype: I64, n: int
) -> F64 | None:
    """Values by kind from the columns, or None if the counts do not line up one to one."""
    counts = np.bincount(kinds, minlength=len(Kind))
    if counts[Kind.OTHER] or len(m.string_value) != counts[Kind.TEXT]:
        return None
    got = (len(m.float_value), len(m.double_value), len(m.boolean_value))
    if got != (counts[Kind.FLOAT], counts[Kind.DOUBLE], counts[Kind.BOOL]):
        return None
    n_int, n_long = len(m.int_value), len(m.long_value)
    if counts[Kind.INT] != n_int + n_long or (n_int and n_long):
        return None
    if got[1] == n:  # the usual DDATA: every metric a Double
        return np.array(m.double_value, dtype=np.float64)
    value = np.full(n, np.nan)
    if counts[Kind.INT]:
        raw = np.array(m.int_value if n_int else m.long_value, dtype=np.uint64)
        sel = kinds == Kind.INT
        value[sel] = signed_ints(raw, datatype[sel])
    for kind, column in (
        (Kind.FLOAT, m.float_value),
        (Kind.DOUBLE, m.double_value),
        (Kind.BOOL, m.boolean_value),
    ):
        if len(column):
            value[kinds == kind] = np.array(column, dtype=np.float64)
    return value
