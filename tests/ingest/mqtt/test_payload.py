"""Decoding a batch of UNS JSON messages: good ones become columns, bad ones are refused whole."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest

from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.ingest.base import EARLIEST_MS
from kiln.ingest.mqtt.namespace import Namespace, Route
from kiln.ingest.mqtt.payload import BatchDecoder, Decoded
from kiln.store.duckdb import DuckDBStore
from tests.conftest import NOW_MS, small_city
from tests.ingest.mqtt.conftest import PRESS, T0


@pytest.fixture(scope="module")
def catalog() -> AssetCatalog:
    store = DuckDBStore(":memory:")
    cat = store.import_assets(small_city())
    store.close()
    return cat


def decode(catalog: AssetCatalog, messages: Sequence[tuple[str, object]]) -> Decoded:
    ns = Namespace()
    d = BatchDecoder(catalog, NOW_MS)
    for i, (topic, payload) in enumerate(messages):
        r = ns.route(topic, catalog)
        assert isinstance(r, Route), r
        d.add(i, r, payload if isinstance(payload, bytes) else orjson.dumps(payload))
    return d.finish()


def sid(catalog: AssetCatalog, signal: str) -> int:
    eq = catalog.equipment_id("acme-auto", "press-1")
    assert eq is not None
    s = catalog.series_id(eq, signal)
    assert s is not None
    return s


def test_every_telemetry_shape_becomes_one_set_of_columns(catalog: AssetCatalog) -> None:
    out = decode(
        catalog,
        [
            (f"{PRESS}/telemetry/tonnage", {"v": 812.5, "ts": T0, "u": "kN", "q": "good"}),
            (f"{PRESS}/telemetry/tonnage", {"ts": [T0 + 1000, T0 + 2000], "v": [1, 2.5]}),
            (f"{PRESS}/telemetry/lube_temp", b"41.5"),
            (f"{PRESS}/telemetry", {"ts": T0, "values": {"tonnage": 800, "lube_temp": 40.0}}),
            (
                f"{PRESS}/telemetry",
                {"ts": [T0 + 5, T0 + 6], "values": {"tonnage": [1, 2], "lube_temp": [3, 4]}},
            ),
        ],
    )
    assert out.refused == {}
    p = out.bundle.points
    ton, lube = sid(catalog, "tonnage"), sid(catalog, "lube_temp")
    assert p.series.tolist() == [ton, ton, ton, lube, ton, lube, ton, ton, lube, lube]
    assert p.ts_ms.tolist() == [
        T0,
        T0 + 1000,
        T0 + 2000,
        NOW_MS,  # a bare number is stamped with the receive time
        T0,
        T0,
        T0 + 5,
        T0 + 6,
        T0 + 5,
        T0 + 6,
    ]
    assert p.value.tolist() == [812.5, 1.0, 2.5, 41.5, 800.0, 40.0, 1.0, 2.0, 3.0, 4.0]


def test_states_online_flags_and_counts(catalog: AssetCatalog) -> None:
    out = decode(
        catalog,
        [
            (f"{PRESS}/state", {"state": "idle", "ts": T0, "reason": "starved"}),
            (f"{PRESS}/state", [{"state": "RUNNING", "ts": T0 + 1}]),
            (f"{PRESS}/state/online", b"offline"),
            (f"{PRESS}/state/online", {"online": True, "ts": T0}),  # nothing to store
            (f"{PRESS}/count", {"good": 12, "scrap": 1, "ts": T0}),
            (f"{PRESS}/count/good", [{"good": 3, "ts": T0 + 1}, {"scrap": 2, "ts": T0 + 2}]),
            (f"{PRESS}/state", b""),  # a retained state being cleared
        ],
    )
    assert out.refused == {}
    s, c = out.bundle.states, out.bundle.counts
    assert s.state.tolist() == [EquipmentState.IDLE, EquipmentState.RUNNING, EquipmentState.UNKNOWN]
    assert s.ts_ms.tolist() == [T0, T0 + 1, NOW_MS]
    assert s.reasons() == ["starved", None, "offline"]
    assert (c.good.tolist(), c.scrap.tolist()) == ([12, 3, 0], [1, 0, 2])
    assert c.ts_ms.tolist() == [T0, T0 + 1, T0 + 2]


def test_kilns_json_batch_on_the_batch_topic(catalog: AssetCatalog) -> None:
    doc = {
        "points": [{"equipment": "press-1", "signal": "tonnage", "ts": T0, "v": 1.0}],
        "counts": [{"equipment": "press-1", "ts": T0, "good": 2}],
    }
    out = decode(
        catalog,
        [("fs/v1/acme-auto/_batch", doc), ("fs/v1/acme-auto/_batch", {**doc, "batch_id": "g-1"})],
    )
    assert out.refused == {}
    assert len(out.bundle.points) == 1
    assert len(out.bundle.counts) == 1
    assert [(k, len(b)) for k, b in out.keyed] == [("g-1", 2)]
    bad = decode(catalog, [("fs/v1/acme-auto/_batch", {"enterprise": "huamei-ceramics"})])
    assert bad.refused == {0: "enterprise: must be 'acme-auto'"}


BAD = [
    (b'{"v": 1.0, "ts": ', "malformed JSON"),
    (b'{"v": NaN, "ts": 1764000000000}', "NaN and Infinity are not JSON numbers"),
    (b'{"v": Infinity}', "NaN and Infinity are not JSON numbers"),
    (b'"hello"', "the payload must be an object"),
    (b'{"value": 1}', "v: missing"),
    (b'{"v": "812"}', "v: every value must be a number"),
    (b'{"v": null}', "v: every value must be a number"),
    (b'{"v": [1, 2], "ts": [1764000000000]}', "'ts' and 'v' must be lists of equal length"),
    (b'{"v": [1, "x"], "ts": [1764000000000, 1764000000001]}', "v: every value must be a number"),
    (b'{"v": 1, "ts": 1764000000000.5}', "ts: every timestamp must be an integer"),
    (b'{"v": 1, "ts": "2025-11-24T16:00:00Z"}', "ts: every timestamp must be an integer"),
    (b'{"v": 1, "ts": 946684799999}', "timestamp 946684799999 is before 2000-01-01"),
    (b'{"v": 1, "ts": 1764000600001}', "is more than 10 minutes ahead"),
    (b'{"v": 1, "q": "bad"}', "q: quality 'bad'; only good values are stored"),
    (b'{"v": [], "ts": []}', "v: an empty list"),
    (b"", "empty payload"),
]


@pytest.mark.parametrize(("payload", "reason"), BAD)
def test_a_bad_signal_message_is_refused_and_its_neighbours_kept(
    catalog: AssetCatalog, payload: bytes, reason: str
) -> None:
    good = (f"{PRESS}/telemetry/tonnage", {"ts": [T0, T0 + 1], "v": [1.0, 2.0]})
    out = decode(catalog, [good, (f"{PRESS}/telemetry/tonnage", payload), good])
    assert list(out.refused) == [1]
    assert reason in out.refused[1]
    assert out.bundle.points.value.tolist() == [1.0, 2.0, 1.0, 2.0]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (f"{PRESS}/telemetry", {"ts": T0, "values": {"tonnage": 1, "torque": 2}}, "unknown signal"),
        (f"{PRESS}/telemetry", {"ts": T0}, "values: missing"),
        (
            f"{PRESS}/telemetry",
            {"ts": T0, "values": {"tonnage": 1, "lube_temp": "hot"}},
            "values.lube_temp: must be a number",
        ),
        (
            f"{PRESS}/telemetry",
            {"ts": [T0, 1.5], "values": {"tonnage": [1, 2]}},
            "ts: every timestamp must be an integer",
        ),
        (f"{PRESS}/telemetry", {"ts": [T0], "values": {"tonnage": [1, 2]}}, "as long as 'ts'"),
        (f"{PRESS}/state", {"state": "sleeping", "ts": T0}, "unknown state 'sleeping'"),
        (f"{PRESS}/state", {"state": "idle", "ts": T0, "reason": 3}, "reason: must be a string"),
        (f"{PRESS}/state", {"state": "idle", "ts": EARLIEST_MS - 1}, "before 2000-01-01"),
        (f"{PRESS}/state", [{"state": "idle"}, 5], "[1]: expected"),
        (f"{PRESS}/state/online", b"maybe", "malformed JSON"),
        (f"{PRESS}/state/online", {"online": "no"}, "expected true, false"),
        (f"{PRESS}/count", {"good": -1, "ts": T0}, "good: must be a whole number >= 0"),
        (f"{PRESS}/count", {"good": 1.5, "ts": T0}, "good: must be a whole number >= 0"),
        (f"{PRESS}/count", {"ts": T0}, 'expected {"good"'),
        (f"{PRESS}/count", {"good": 1, "ts": NOW_MS + 3_600_000}, "more than 10 minutes ahead"),
    ],
)
def test_bad_batches_states_and_counts_are_refused_whole(
    catalog: AssetCatalog, topic: str, payload: object, reason: str
) -> None:
    good_state = (f"{PRESS}/state", {"state": "running", "ts": T0})
    good_count = (f"{PRESS}/count", {"good": 1, "ts": T0})
    out = decode(catalog, [good_state, (topic, payload), good_count])
    assert list(out.refused) == [1]
    assert reason in out.refused[1]
    assert (len(out.bundle.points), len(out.bundle.states), len(out.bundle.counts)) == (0, 1, 1)


def test_booleans_are_stored_as_zero_and_one(catalog: AssetCatalog) -> None:
    out = decode(
        catalog,
        [
            (f"{PRESS}/telemetry/tonnage", {"v": True, "ts": T0}),
            (f"{PRESS}/telemetry/tonnage", b"false"),
        ],
    )
    assert out.bundle.points.value.tolist() == [1.0, 0.0]


def test_many_bad_messages_among_many_good_are_each_found(catalog: AssetCatalog) -> None:
    msgs: list[tuple[str, object]] = []
    for k in range(300):
        v: object = "x" if k % 7 == 0 else float(k)
        ts: object = T0 + k if k % 11 else float(T0)
        msgs.append((f"{PRESS}/telemetry/tonnage", {"ts": [ts, T0 + 1000 + k], "v": [v, 1.0]}))
    out = decode(catalog, msgs)
    bad = {k for k in range(300) if k % 7 == 0 or k % 11 == 0}
    assert set(out.refused) == bad
    assert len(out.bundle.points) == 2 * (300 - len(bad))
    assert set(out.bundle.points.value.tolist()) == {1.0} | {
        float(k) for k in range(300) if k not in bad
    }
