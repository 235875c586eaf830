"""The codec: BIRTHs into tables, DATA read with the BIRTH's datatypes, both paths agreeing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiln.ingest.sparkplug import sparkplug_b_pb2 as pb
from kiln.ingest.sparkplug.codec import (
    DecodeError,
    Metric,
    UnknownMetric,
    decode_birth,
    decode_death,
    encode,
)
from kiln.ingest.sparkplug.columns import DataPayload
from kiln.ingest.sparkplug.datatypes import DataType as T
from kiln.ingest.sparkplug.datatypes import signed_ints
from tests.conftest import NOW_MS

RANGES = {
    T.INT8: (-(2**7), 2**7 - 1),
    T.INT16: (-(2**15), 2**15 - 1),
    T.INT32: (-(2**31), 2**31 - 1),
    T.INT64: (-(2**53), 2**53),  # float64 holds these exactly
    T.UINT8: (0, 2**8 - 1),
    T.UINT16: (0, 2**16 - 1),
    T.UINT32: (0, 2**32 - 1),
    T.UINT64: (0, 2**53),
    T.DATETIME: (0, 2**53),
}


def birth_of(*specs: tuple[str, int], seq: int = 0) -> bytes:
    """A BIRTH declaring the metrics with aliases 1, 2, ... and no values."""
    metrics = [Metric(name, k + 1, dt, None, NOW_MS) for k, (name, dt) in enumerate(specs)]
    return encode(metrics, seq=seq, ts_ms=NOW_MS)


def data_of(*rows: tuple[int, int, object], seq: int = 1) -> bytes:
    """DATA by alias only: (alias, datatype, value) at NOW_MS + alias."""
    metrics = [
        Metric(None, alias, dt, v, NOW_MS + alias, send_datatype=False) for alias, dt, v in rows
    ]
    return encode(metrics, seq=seq, ts_ms=NOW_MS)


def test_int32_minus_five_travels_as_its_twos_complement() -> None:
    raw = encode([Metric("x", 1, T.INT32, -5, NOW_MS)], seq=0, ts_ms=NOW_MS)
    assert pb.Payload.FromString(raw).metrics[0].int_value == 4_294_967_291
    assert decode_birth(raw).columns.value.tolist() == [-5.0]


def test_narrow_and_sign_extended_encodings_of_int8_both_read_back() -> None:
    dt = np.array([T.INT8, T.INT8, T.INT16, T.INT16, T.UINT32], dtype=np.int64)
    raw = np.array([251, 2**32 - 5, 65531, 2**32 - 5, 2**32 - 5], dtype=np.uint64)
    assert signed_ints(raw, dt).tolist() == [-5, -5, -5, -5, 2**32 - 5]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_integers_round_trip_through_data_for_every_integer_type(data: st.DataObject) -> None:
    types = data.draw(st.lists(st.sampled_from(list(RANGES)), min_size=1, max_size=12))
    values = [data.draw(st.integers(*RANGES[dt])) for dt in types]
    table = decode_birth(birth_of(*((f"m{k}", dt) for k, dt in enumerate(types)))).table
    cols = DataPayload(
        data_of(*((k + 1, dt, v) for k, (dt, v) in enumerate(zip(types, values, strict=True))))
    ).columns(table)
    assert cols.value.tolist() == [float(v) for v in values]
    assert cols.index.tolist() == list(range(len(types)))


value_of = {
    T.DOUBLE: st.floats(allow_nan=False, allow_infinity=False),
    T.FLOAT: st.floats(width=32, allow_nan=False, allow_infinity=False),
    T.BOOLEAN: st.booleans(),
    T.INT32: st.integers(*RANGES[T.INT32]),
    T.INT64: st.integers(*RANGES[T.INT64]),
    T.UINT16: st.integers(*RANGES[T.UINT16]),
    T.STRING: st.text(max_size=20),
}


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_columnar_and_per_metric_paths_read_the_same_values(data: st.DataObject) -> None:
    types = data.draw(st.lists(st.sampled_from(list(value_of)), min_size=1, max_size=10))
    values = [data.draw(value_of[dt]) for dt in types]
    table = decode_birth(birth_of(*((f"m{k}", dt) for k, dt in enumerate(types)))).table
    rows = [(k + 1, dt, v) for k, (dt, v) in enumerate(zip(types, values, strict=True))]
    fast = DataPayload(data_of(*rows)).columns(table)
    # A null metric sends the payload down the per-metric path; drop it from the comparison.
    slow = DataPayload(data_of(*rows, (1, types[0], None))).columns(table)
    n = len(types)
    assert np.array_equal(fast.value, slow.value[:n], equal_nan=True)
    assert fast.text == slow.text
    assert fast.ts_ms.tolist() == slow.ts_ms[:n].tolist() == [NOW_MS + k + 1 for k in range(n)]
    assert slow.null.tolist() == [False] * n + [True]
    for k, (dt, v) in enumerate(zip(types, values, strict=True)):
        if dt == T.STRING:
            assert fast.text[k] == v
        else:
            assert fast.value[k] == float(v)


def test_a_birth_gives_names_aliases_datatypes_values_and_bdseq() -> None:
    raw = encode(
        [
            Metric("bdSeq", None, T.INT64, 7, NOW_MS),
            Metric("Node Control/Rebirth", None, T.BOOLEAN, False, NOW_MS),
            Metric("telemetry/tonnage", 1, T.DOUBLE, 812.5, NOW_MS),
            Metric("state/current", 2, T.STRING, "running", NOW_MS),
            Metric("count/good", 3, T.UINT32, None, NOW_MS),
        ],
        seq=0,
        ts_ms=NOW_MS,
    )
    birth = decode_birth(raw)
    assert (birth.seq, birth.bd_seq, birth.ts_ms) == (0, 7, NOW_MS)
    assert birth.table.names[2:] == ("telemetry/tonnage", "state/current", "count/good")
    assert birth.table.datatype.tolist() == [T.INT64, T.BOOLEAN, T.DOUBLE, T.STRING, T.UINT32]
    assert birth.columns.value[2] == 812.5
    assert birth.columns.text == {3: "running"}
    assert birth.columns.null.tolist() == [False, False, False, False, True]
    aliases = np.array([3, 1, 2, 99], dtype=np.uint64)
    assert birth.table.resolve(aliases).tolist() == [4, 2, 3, -1]


@pytest.mark.parametrize(
    ("metrics", "why"),
    [
        ([Metric("a", 1, T.DOUBLE, 1.0, send_datatype=False)], "BIRTH metric 'a' has no datatype"),
        ([Metric(None, 1, T.DOUBLE, 1.0)], "BIRTH metric 0 has no name"),
        (
            [Metric("a", 1, T.DOUBLE, 1.0), Metric("b", 1, T.DOUBLE, 2.0)],
            "alias 1 names both 'a' and 'b'",
        ),
        ([Metric("a", 1, T.DOUBLE, 1.0), Metric("a", 2, T.DOUBLE, 2.0)], "'a' appears twice"),
        ([Metric("a", 1, T.DOUBLE, 1.0)], None),
    ],
)
def test_a_bad_birth_is_refused_naming_the_metric(metrics: list[Metric], why: str | None) -> None:
    raw = encode(metrics, seq=0, ts_ms=NOW_MS)
    if why is None:
        assert decode_birth(raw).table.names == ("a",)
        return
    with pytest.raises(DecodeError, match=why):
        decode_birth(raw)


def test_data_with_an_unknown_alias_or_name_is_an_unknown_metric() -> None:
    table = decode_birth(birth_of(("a", T.DOUBLE))).table
    with pytest.raises(UnknownMetric, match="unknown alias 9"):
        DataPayload(data_of((1, T.DOUBLE, 1.0), (9, T.DOUBLE, 2.0))).columns(table)
    named = encode([Metric("zz", None, T.DOUBLE, 1.0, NOW_MS)], seq=1, ts_ms=NOW_MS)
    with pytest.raises(UnknownMetric, match="'zz' is not in the BIRTH"):
        DataPayload(named).columns(table)


def test_data_by_name_instead_of_alias_is_read() -> None:
    table = decode_birth(birth_of(("a", T.DOUBLE), ("b", T.INT16))).table
    raw = encode([Metric("b", None, T.INT16, -3, NOW_MS + 1)], seq=1, ts_ms=NOW_MS)
    cols = DataPayload(raw).columns(table)
    assert cols.index.tolist() == [1]
    assert cols.value.tolist() == [-3.0]


def test_a_value_in_the_wrong_field_or_a_changed_datatype_is_refused() -> None:
    table = decode_birth(birth_of(("a", T.DOUBLE), ("b", T.BOOLEAN))).table
    wrong_field = encode(
        [Metric(None, 1, T.INT32, 7, NOW_MS, send_datatype=False)], seq=1, ts_ms=NOW_MS
    )
    with pytest.raises(DecodeError, match=r"'a' \(Double\) has in int_value"):
        DataPayload(wrong_field).columns(table)
    retyped = encode([Metric(None, 2, T.STRING, "x", NOW_MS)], seq=1, ts_ms=NOW_MS)
    with pytest.raises(DecodeError, match="'b' is String; its BIRTH said Boolean"):
        DataPayload(retyped).columns(table)
    no_value = pb.Payload(seq=1, metrics=[pb.Payload.Metric(alias=1, timestamp=NOW_MS)])
    with pytest.raises(DecodeError, match=r"'a' \(Double\) has no value"):
        DataPayload(no_value.SerializeToString()).columns(table)


def test_nulls_and_historical_metrics_are_flagged() -> None:
    table = decode_birth(birth_of(("a", T.DOUBLE), ("b", T.DOUBLE))).table
    raw = encode(
        [
            Metric(None, 1, T.DOUBLE, None, NOW_MS, send_datatype=False),
            Metric(None, 2, T.DOUBLE, 4.0, NOW_MS - 60_000, send_datatype=False, historical=True),
        ],
        seq=1,
        ts_ms=NOW_MS,
    )
    cols = DataPayload(raw).columns(table)
    assert cols.null.tolist() == [True, False]
    assert cols.historical.tolist() == [False, True]
    assert np.isnan(cols.value[0])
    assert cols.value[1] == 4.0


def test_a_metric_without_a_timestamp_takes_the_payloads() -> None:
    table = decode_birth(birth_of(("a", T.DOUBLE))).table
    raw = encode([Metric(None, 1, T.DOUBLE, 1.0, None, send_datatype=False)], seq=3, ts_ms=123)
    payload = DataPayload(raw)
    assert (payload.seq, payload.ts_ms) == (3, 123)
    assert payload.columns(table).ts_ms.tolist() == [123]


def test_a_metric_missing_its_alias_is_not_misread_as_another() -> None:
    # Columns alone would pair the second metric's value with the first alias; the metric
    # count catches it and the per-metric path names the fault.
    table = decode_birth(birth_of(("a", T.DOUBLE))).table
    raw = pb.Payload(
        seq=1,
        metrics=[
            pb.Payload.Metric(alias=1, timestamp=NOW_MS),
            pb.Payload.Metric(timestamp=NOW_MS, double_value=5.0),
        ],
    ).SerializeToString()
    with pytest.raises(DecodeError, match="no value"):
        DataPayload(raw).columns(table)


@pytest.mark.parametrize("raw", [b"\xff\xff\xff", b"\x12\x05ab", b"\x0a" * 7])
def test_garbage_is_refused_as_not_sparkplug(raw: bytes) -> None:
    with pytest.raises(DecodeError, match="not a Sparkplug B payload"):
        DataPayload(raw)
    with pytest.raises(DecodeError):
        decode_birth(raw)


def test_an_ndeath_gives_its_bdseq() -> None:
    raw = encode([Metric("bdSeq", None, T.INT64, 200)], seq=None, ts_ms=NOW_MS)
    assert decode_death(raw) == 200
    assert decode_death(encode([], seq=None, ts_ms=NOW_MS)) is None
