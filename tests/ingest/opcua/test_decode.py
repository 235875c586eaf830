"""Checking one publish response's notifications on columns: what is kept, what is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from asyncua import ua

from kiln.ingest.opcua.decode import decode
from tests.conftest import NOW_MS

from .conftest import at

SERIES = np.array([11, 12, -1], dtype=np.int64)
WHY = [None, None, "unknown signal 'x' of equipment 'press-1'"]


def item(
    handle: int,
    value: Any,
    source_ms: int | None = NOW_MS - 1000,
    *,
    server_ms: int | None = None,
    status: int = ua.StatusCodes.Good,
    vtype: ua.VariantType | None = None,
) -> ua.MonitoredItemNotification:
    dv = ua.DataValue(
        ua.Variant(value, vtype) if vtype else ua.Variant(value),
        StatusCode=ua.StatusCode(status),
        SourceTimestamp=None if source_ms is None else at(source_ms),
        ServerTimestamp=None if server_ms is None else at(server_ms),
    )
    return ua.MonitoredItemNotification(handle, dv)


def refusals(*items: ua.MonitoredItemNotification) -> list[tuple[int, str, str]]:
    d = decode(list(items), SERIES, WHY, now_ms=NOW_MS)
    return [(r.handle, r.kind, r.reason) for r in d.refusals]


def test_numbers_of_every_width_and_booleans_are_kept_as_floats() -> None:
    d = decode(
        [
            item(0, 7, vtype=ua.VariantType.Int16),
            item(0, 2**40, NOW_MS - 999, vtype=ua.VariantType.UInt64),
            item(1, 1.5, vtype=ua.VariantType.Float),
            item(1, True, NOW_MS - 998),
        ],
        SERIES,
        WHY,
        now_ms=NOW_MS,
    )
    assert d.points.series.tolist() == [11, 11, 12, 12]
    assert d.points.value.tolist() == [7.0, float(2**40), 1.5, 1.0]
    assert d.points.ts_ms.tolist() == [NOW_MS - 1000, NOW_MS - 999, NOW_MS - 1000, NOW_MS - 998]
    assert d.delivered.tolist() == [0, 1]
    assert d.refusals == []


def test_the_source_timestamp_wins_and_the_server_timestamp_stands_in() -> None:
    d = decode(
        [item(0, 1.0, NOW_MS - 5000, server_ms=NOW_MS - 10), item(1, 2.0, None, server_ms=NOW_MS)],
        SERIES,
        WHY,
        now_ms=NOW_MS,
    )
    assert d.points.ts_ms.tolist() == [NOW_MS - 5000, NOW_MS]


def test_sub_millisecond_times_are_truncated_not_rounded() -> None:
    dv = ua.DataValue(ua.Variant(1.0), SourceTimestamp=at(NOW_MS) + timedelta(microseconds=999))
    d = decode([ua.MonitoredItemNotification(0, dv)], SERIES, WHY, now_ms=NOW_MS)
    assert d.points.ts_ms.tolist() == [NOW_MS]


def test_each_refusal_names_what_was_wrong() -> None:
    bad = ua.StatusCodes.BadCommunicationError
    assert refusals(item(2, 1.0)) == [(2, "mapping", "unknown signal 'x' of equipment 'press-1'")]
    assert refusals(item(0, 1.0, status=bad)) == [
        (0, "status", f"status BadCommunicationError (0x{bad:08X}); no value stored")
    ]
    assert refusals(item(1, "on")) == [(1, "type", "value of type str is not a number")]
    assert refusals(item(1, None)) == [(1, "type", "null value")]
    assert refusals(item(1, [1.0, 2.0])) == [
        (1, "type", "array value; only scalar numbers are stored")
    ]
    assert refusals(item(1, float("inf"))) == [(1, "value", "value inf is not finite")]
    assert refusals(item(1, 3.0, None)) == [(1, "timestamp", "no source or server timestamp")]
    assert refusals(item(1, 3.0, 946_684_799_999)) == [
        (1, "timestamp", f"timestamp 946684799999 is before 2000-01-01 (now {NOW_MS})")
    ]
    ahead = NOW_MS + 600_001
    assert refusals(item(1, 3.0, ahead)) == [
        (1, "timestamp", f"timestamp {ahead} is more than 10 minutes ahead (now {NOW_MS})")
    ]
    assert refusals(item(1, 3.0, NOW_MS + 600_000)) == []  # exactly ten minutes is accepted


def test_the_first_rule_that_fails_is_the_reason() -> None:
    # A Bad status says more than the null value that comes with it.
    assert refusals(item(0, None, status=ua.StatusCodes.BadSensorFailure))[0][1] == "status"
    # An unknown mapping says more than anything about the value.
    assert refusals(item(2, "on", None))[0][1] == "mapping"


def test_uncertain_values_are_kept_and_waiting_for_initial_data_is_no_refusal() -> None:
    d = decode(
        [
            item(0, 1.0, status=ua.StatusCodes.UncertainLastUsableValue),
            item(1, None, None, status=ua.StatusCodes.BadWaitingForInitialData),
        ],
        SERIES,
        WHY,
        now_ms=NOW_MS,
    )
    assert d.points.value.tolist() == [1.0]
    assert d.refusals == []


def test_a_burst_of_the_same_refusal_is_reported_once() -> None:
    d = decode(
        [item(1, "a"), item(0, 1.0), item(1, "b"), item(1, 2.0, None), item(1, "c")],
        SERIES,
        WHY,
        now_ms=NOW_MS,
    )
    assert [(r.handle, r.kind, r.payload) for r in d.refusals] == [
        (1, "type", b"'a'"),
        (1, "timestamp", b"2.0"),
    ]
    assert d.points.series.tolist() == [11]


def test_an_empty_response_and_a_handle_out_of_range() -> None:
    assert len(decode([], SERIES, WHY, now_ms=NOW_MS).points) == 0
    (r,) = decode([item(7, 1.0)], SERIES, WHY, now_ms=NOW_MS).refusals
    assert (r.kind, r.reason) == ("mapping", "unknown client handle 7")
