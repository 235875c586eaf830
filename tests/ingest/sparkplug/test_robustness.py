"""Nothing a peer sends stops the host: random bytes and random Sparkplug payloads on every verb
end as stored rows or dead letters with a reason, never as an internal error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiln.config_ingest import SparkplugSettings
from kiln.domain.batches import Bundle
from kiln.domain.catalog import AssetCatalog
from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.mqtt.connection import Received
from kiln.ingest.sparkplug import sparkplug_b_pb2 as pb
from kiln.ingest.sparkplug.codec import Metric, encode
from kiln.ingest.sparkplug.datatypes import DataType as T
from kiln.ingest.sparkplug.host import SparkplugHost
from kiln.store.duckdb import DuckDBStore
from tests.conftest import NOW_MS, small_city

STORE = DuckDBStore(":memory:")
CATALOG = STORE.import_assets(small_city())
STORE.close()
PREFIX = "spBv1.0/acme-auto.nanhai-1.press-shop"
VERBS = ["NBIRTH", "NDEATH", "NDATA", "DBIRTH", "DDEATH", "DDATA", "NCMD", "STATE"]


class ListSink:
    """A sink that keeps what it is given (the real store is not what is under test here)."""

    def __init__(self) -> None:
        self.bundles: list[Bundle] = []
        self.letters: list[DeadLetter] = []

    @property
    def catalog(self) -> AssetCatalog:
        return CATALOG

    def now_ms(self) -> int:
        return NOW_MS

    async def submit(self, bundle: Bundle, *, batch_id: str | None = None) -> int:
        self.bundles.append(bundle)
        return len(bundle)

    def dead_letter(self, letter: DeadLetter) -> None:
        self.letters.append(letter)

    async def register(self, doc: dict[str, Any], *, where: str) -> AssetCatalog:
        return CATALOG


class Replay:
    """A connection handing over recorded messages, then closing."""

    connected = True

    def __init__(self, lists: list[list[Received]]) -> None:
        self.lists = lists

    def subscribe(self, filters: Sequence[str], qos: int = 0) -> None:
        pass

    async def start(self) -> None:
        pass

    async def batches(self) -> AsyncIterator[list[Received]]:
        for batch in self.lists:
            yield batch

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False
    ) -> asyncio.Future[bool]:
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        fut.set_result(True)
        return fut

    async def close(self) -> None:
        pass


def topic_of(verb: str, device: str) -> str:
    if verb == "STATE":
        return "spBv1.0/STATE/kiln"
    if verb.startswith("D"):
        return f"{PREFIX}/{verb}/tandem-a/{device}"
    return f"{PREFIX}/{verb}/tandem-a"


metric = st.builds(
    lambda name, alias, ts, dt, field, value, null, hist: pb.Payload.Metric(
        **{
            k: v
            for k, v in {
                "name": name,
                "alias": alias,
                "timestamp": ts,
                "datatype": dt,
                "is_null": null,
                "is_historical": hist,
                field: value,
            }.items()
            if v is not None
        }
    ),
    st.one_of(st.none(), st.sampled_from(["bdSeq", "telemetry/tonnage", "state/current", "x"])),
    st.one_of(st.none(), st.integers(0, 6), st.integers(0, 2**64 - 1)),
    st.one_of(st.none(), st.integers(0, 2**64 - 1), st.just(NOW_MS)),
    st.one_of(st.none(), st.integers(0, 40)),
    st.sampled_from(["int_value", "long_value", "double_value", "string_value", "boolean_value"]),
    st.none(),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.booleans()),
)


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=120))
    p = pb.Payload(metrics=draw(st.lists(metric, max_size=6)))
    seq = draw(st.one_of(st.none(), st.integers(0, 300)))
    if seq is not None:
        p.seq = seq
    data: bytes = p.SerializeToString()
    return data


def births() -> list[Received]:
    press = [
        Metric("telemetry/tonnage", 1, T.DOUBLE, 1.0, NOW_MS),
        Metric("state/current", 2, T.STRING, "running", NOW_MS),
        Metric("count/good", 3, T.INT32, None, NOW_MS),
    ]
    raw = [
        (topic_of("NBIRTH", ""), encode([Metric("bdSeq", None, T.INT64, 1)], seq=0, ts_ms=NOW_MS)),
        (topic_of("DBIRTH", "press-1"), encode(press, seq=1, ts_ms=NOW_MS)),
    ]
    return [Received(t, p, 0, False, 0, 1) for t, p in raw]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(VERBS), st.sampled_from(["press-1", "robot-1"]), payloads()),
        max_size=12,
    ),
    st.integers(1, 4),
)
def test_random_messages_end_as_rows_or_reasons_never_as_an_internal_error(
    messages: list[tuple[str, str, bytes]], per_list: int
) -> None:
    received = births() + [
        Received(topic_of(verb, device), payload, 0, False, 0, 1)
        for verb, device, payload in messages
    ]
    lists = [received[i : i + per_list] for i in range(0, len(received), per_list)]
    sink = ListSink()
    host = SparkplugHost(SparkplugSettings(name="fuzz"))
    asyncio.run(host.serve(sink, Replay(lists)))
    assert not [x.reason for x in sink.letters if "internal error" in x.reason]
    assert all(x.reason for x in sink.letters)
    stored = sum(len(b) for b in sink.bundles)
    assert stored >= 2  # the births' tonnage and state at least
