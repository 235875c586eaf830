"""Sparkplug B payloads in and out: BIRTHs into metric tables, metrics checked one by one,
NDEATH's bdSeq, and encoding (for the simulator, tests and the host's rebirth request).

A BIRTH names every metric with its alias and datatype; DATA carries aliases only and is read
with the datatypes the BIRTH declared (domain.md 3.2), signed integers from two's complement.
The host reads DATA through ``columns`` (the columnar path), which falls back on
``decode_metrics`` here for what it cannot read unambiguously.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kiln.ingest.sparkplug import sparkplug_b_pb2 as pb
from kiln.ingest.sparkplug.datatypes import (
    KIND,
    N_TYPES,
    DataType,
    Kind,
    encode_int,
    kind_of,
    signed_ints,
    type_name,
    uses_long,
)

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
BOOLS = NDArray[np.bool_]
BD_SEQ = "bdSeq"

# Oneof field of the official Metric that each Kind reads (INT also accepts long_value).
_FIELD_OF = {
    Kind.INT: ("int_value", "long_value"),
    Kind.FLOAT: ("float_value",),
    Kind.DOUBLE: ("double_value",),
    Kind.BOOL: ("boolean_value",),
    Kind.TEXT: ("string_value",),
}


class DecodeError(ValueError):
    """A payload (or part of one) the host refuses, and why."""


class UnknownMetric(DecodeError):
    """DATA naming a metric (alias or name) its BIRTH did not declare."""


@dataclass(frozen=True, slots=True)
class MetricTable:
    """The metrics one BIRTH declared for a node or a device: names, datatypes, aliases."""

    names: tuple[str, ...]
    datatype: I64
    kind: NDArray[np.int8]
    by_name: dict[str, int]
    alias_sorted: NDArray[np.uint64]
    alias_index: I64  # table position of each alias in alias_sorted

    @classmethod
    def of(
        cls, names: Sequence[str], aliases: Sequence[int | None], datatypes: Sequence[int]
    ) -> MetricTable:
        """Index a BIRTH's metrics; DecodeError for a name or alias declared twice."""
        by_name: dict[str, int] = {}
        for i, name in enumerate(names):
            if by_name.setdefault(name, i) != i:
                raise DecodeError(f"metric {name!r} appears twice in the BIRTH")
        pairs = sorted((a, i) for i, a in enumerate(aliases) if a is not None)
        for (a, i), (b, j) in itertools.pairwise(pairs):
            if a == b:
                raise DecodeError(f"alias {a} names both {names[i]!r} and {names[j]!r}")
        dt = np.array(datatypes, dtype=np.int64)
        return cls(
            tuple(names),
            dt,
            KIND[np.clip(dt, 0, N_TYPES - 1)] * (dt < N_TYPES),
            by_name,
            np.array([a for a, _ in pairs], dtype=np.uint64),
            np.array([i for _, i in pairs], dtype=np.int64),
        )

    @classmethod
    def merged(cls, tables: Sequence[MetricTable]) -> MetricTable | None:
        """One table over several (an edge node's and its devices'), positions concatenated;
        None if an alias appears in two of them (Sparkplug says they are unique per node)."""
        offsets = np.cumsum([0, *(len(t) for t in tables[:-1])])
        alias = np.concatenate([t.alias_sorted for t in tables])
        index = np.concatenate([t.alias_index + o for t, o in zip(tables, offsets, strict=True)])
        order = np.argsort(alias, kind="stable")
        alias, index = alias[order], index[order]
        if len(alias) > 1 and np.any(alias[1:] == alias[:-1]):
            return None
        dt = np.concatenate([t.datatype for t in tables])
        kind = np.concatenate([t.kind for t in tables])
        names = tuple(name for t in tables for name in t.names)
        return cls(names, dt, kind, {}, alias, index)  # by name: per scope only

    def resolve(self, aliases: NDArray[np.uint64]) -> I64:
        """Table positions of aliases (vectorised); -1 where an alias is unknown."""
        if not len(self.alias_sorted):
            return np.full(len(aliases), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.alias_sorted, aliases), len(self.alias_sorted) - 1)
        return np.where(self.alias_sorted[pos] == aliases, self.alias_index[pos], -1)

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True, slots=True)
class Columns:
    """One payload's metrics as columns, in payload order."""

    index: I64  # position in the MetricTable
    ts_ms: I64  # the metric's timestamp, else the payload's; -1 when neither is given
    value: F64  # NaN for nulls, text and types that are not read
    null: BOOLS
    historical: BOOLS
    text: dict[int, str] = field(default_factory=dict)  # metric position -> String value

    def __len__(self) -> int:
        return len(self.index)


@dataclass(frozen=True, slots=True)
class Birth:
    """A decoded NBIRTH or DBIRTH: its sequence number, bdSeq, metric table and values."""

    seq: int | None
    ts_ms: int | None
    bd_seq: int | None
    table: MetricTable
    columns: Columns


def decode_metrics(payload: pb.Payload, table: MetricTable, *, birth: bool) -> Columns:
    """Every metric of a payload checked against a table (a BIRTH's own, when ``birth``), into
    columns; DecodeError names the first fault. The path for BIRTHs and for DATA that the
    columnar path cannot read unambiguously."""
    n = len(payload.metrics)
    idx = np.empty(n, dtype=np.int64)
    ts = np.empty(n, dtype=np.int64)
    raw_int = np.zeros(n, dtype=np.uint64)
    value = np.full(n, np.nan)
    null = np.zeros(n, dtype=np.bool_)
    hist = np.zeros(n, dtype=np.bool_)
    text: dict[int, str] = {}
    default_ts = payload.timestamp if payload.HasField("timestamp") else -1
    for i, metric in enumerate(payload.metrics):
        j = i if birth else _position(metric, table, i)
        idx[i] = j
        label = table.names[j]
        dt = int(table.datatype[j])
        if not birth and metric.HasField("datatype") and metric.datatype != dt:
            raise DecodeError(
                f"metric {label!r} is {type_name(metric.datatype)}; its BIRTH said {type_name(dt)}"
            )
        ts[i] = metric.timestamp if metric.HasField("timestamp") else default_ts
        hist[i] = metric.is_historical
        if metric.is_null:
            null[i] = True
            continue
        kind = kind_of(dt)
        if kind is Kind.OTHER:
            continue
        got = metric.WhichOneof("value")
        if got not in _FIELD_OF[kind]:
            where = f"in {got}" if got else "no value"
            raise DecodeError(f"metric {label!r} ({type_name(dt)}) has {where}")
        v = getattr(metric, got)
        if kind is Kind.INT:
            raw_int[i] = v
        elif kind is Kind.TEXT:
            text[i] = v
        else:
            value[i] = float(v)
    ints = table.kind[idx] == Kind.INT
    ints &= ~null
    if ints.any():
        value[ints] = signed_ints(raw_int[ints], table.datatype[idx[ints]])
    return Columns(idx, ts, value, null, hist, text)


def _position(metric: pb.Payload.Metric, table: MetricTable, i: int) -> int:
    if metric.HasField("alias"):
        j = int(table.resolve(np.array([metric.alias], dtype=np.uint64))[0])
        if j < 0:
            raise UnknownMetric(f"unknown alias {metric.alias}")
        return j
    if metric.name:
        k = table.by_name.get(metric.name)
        if k is None:
            raise UnknownMetric(f"metric {metric.name!r} is not in the BIRTH")
        return k
    raise DecodeError(f"metric {i} has neither an alias nor a name")


def parse_payload(raw: bytes) -> pb.Payload:
    """Parse with the official classes; DecodeError if the bytes are not a Payload."""
    try:
        payload: pb.Payload = pb.Payload.FromString(raw)
    except Exception as err:  # protobuf's DecodeError, or whatever odd bytes provoke
        raise DecodeError(f"not a Sparkplug B payload ({err})") from None
    return payload


def decode_birth(raw: bytes) -> Birth:
    """Decode an NBIRTH or DBIRTH: every metric needs a name and a datatype."""
    payload = parse_payload(raw)
    try:
        names, aliases, types = [], [], []
        for i, metric in enumerate(payload.metrics):
            if not metric.name:
                raise DecodeError(f"BIRTH metric {i} has no name")
            if not metric.HasField("datatype"):
                raise DecodeError(f"BIRTH metric {metric.name!r} has no datatype")
            names.append(metric.name)
            aliases.append(metric.alias if metric.HasField("alias") else None)
            types.append(metric.datatype)
        table = MetricTable.of(names, aliases, types)
        columns = decode_metrics(payload, table, birth=True)
    except DecodeError:
        raise
    except Exception as err:  # invalid UTF-8 in a name, and the like
        raise DecodeError(f"undecodable BIRTH ({type(err).__name__}: {err})") from None
    return Birth(
        payload.seq if payload.HasField("seq") else None,
        payload.timestamp if payload.HasField("timestamp") else None,
        _bd_seq(table, columns),
        table,
        columns,
    )


def _bd_seq(table: MetricTable, columns: Columns) -> int | None:
    j = table.by_name.get(BD_SEQ)
    if j is None:
        return None
    at = np.flatnonzero(columns.index == j)
    if not len(at) or np.isnan(columns.value[at[0]]):
        return None
    return int(columns.value[at[0]])


def decode_death(raw: bytes) -> int | None:
    """The bdSeq of an NDEATH (None when it carries none)."""
    payload = parse_payload(raw)
    for metric in payload.metrics:
        if metric.name == BD_SEQ:
            got = metric.WhichOneof("value")
            if got in ("long_value", "int_value"):
                return int(getattr(metric, got))
            raise DecodeError(f"NDEATH bdSeq has {got or 'no value'}")
    return None


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric to publish: a BIRTH names it (with datatype), DATA may give the alias only."""

    name: str | None
    alias: int | None
    datatype: int  # decides the value field, even when it is not sent
    value: float | int | bool | str | bytes | None
    ts_ms: int | None = None
    send_datatype: bool = True
    is_null: bool = False
    historical: bool = False


def encode(metrics: Sequence[Metric], *, seq: int | None, ts_ms: int | None) -> bytes:
    """Serialise a payload (signed integers as two's complement)."""
    payload = pb.Payload()
    if ts_ms is not None:
        payload.timestamp = ts_ms
    if seq is not None:
        payload.seq = seq
    for m in metrics:
        out = payload.metrics.add()
        if m.name is not None:
            out.name = m.name
        if m.alias is not None:
            out.alias = m.alias
        if m.ts_ms is not None:
            out.timestamp = m.ts_ms
        if m.send_datatype:
            out.datatype = m.datatype
        if m.historical:
            out.is_historical = True
        if m.is_null or m.value is None:
            out.is_null = True
            continue
        _set_value(out, m.datatype, m.value)
    data: bytes = payload.SerializeToString()
    return data


def _set_value(out: pb.Payload.Metric, datatype: int, value: object) -> None:
    kind = kind_of(datatype)
    if kind is Kind.INT:
        raw = encode_int(int(value), datatype)  # type: ignore[call-overload]
        if uses_long(datatype):
            out.long_value = raw
        else:
            out.int_value = raw
    elif kind is Kind.FLOAT:
        out.float_value = float(value)  # type: ignore[arg-type]
    elif kind is Kind.DOUBLE:
        out.double_value = float(value)  # type: ignore[arg-type]
    elif kind is Kind.BOOL:
        out.boolean_value = bool(value)
    elif kind is Kind.TEXT:
        out.string_value = str(value)
    elif datatype in (DataType.BYTES, DataType.FILE) and isinstance(value, bytes):
        out.bytes_value = value
    else:
        raise ValueError(f"cannot encode a {type_name(datatype)} value")
