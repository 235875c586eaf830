"""The official influxdb-client library writes to Kiln over real HTTP (uvicorn in a thread):
synchronous and batching writes are stored, a bad line comes back as its 400, ping passes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS, WriteOptions
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from kiln.auth.roles import Role
from kiln.runtime import Runtime
from kiln.server import create_app
from tests.api.conftest import issue_token
from tests.conftest import NOW_MS
from tests.served import served

T_MS = NOW_MS - 3_600_000


@pytest.fixture
def url(runtime: Runtime) -> Iterator[str]:
    """Kiln's app served by uvicorn on a free port, in a thread."""
    with served(create_app(runtime, manage_runtime=False)) as base:
        yield base


@pytest.fixture
def client(runtime: Runtime, url: str) -> Iterator[InfluxDBClient]:
    token = issue_token(runtime, Role.DEVICE, "acme-auto")
    with InfluxDBClient(url=url, token=token, org="acme") as c:
        yield c


def records(n: int, start_ms: int = T_MS) -> list[Point]:
    return [
        Point("press-1")
        .tag("site", "nanhai 1")
        .field("tonnage", 8000.0 + k / 4)
        .field("lube_temp", 40 + k % 3)
        .time(start_ms + k * 1000, WritePrecision.MS)
        for k in range(n)
    ]


def test_the_client_pings_kiln(client: InfluxDBClient) -> None:
    assert client.ping()
    assert client.version()


def test_a_synchronous_write_is_stored(client: InfluxDBClient, runtime: Runtime) -> None:
    write = client.write_api(write_options=SYNCHRONOUS)
    write.write(bucket="plant", record=records(100), write_precision=WritePrecision.MS)
    assert runtime.store.stats().points == 200
    press = runtime.catalog.equipment_id("acme-auto", "press-1")
    assert press is not None
    sid = runtime.catalog.series_id(press, "tonnage")
    assert sid is not None
    got = runtime.store.points([sid], T_MS, T_MS + 100_000).to_pydict()
    assert got["value"][:3] == [8000.0, 8000.25, 8000.5]


def test_batched_writes_are_stored_once_each(client: InfluxDBClient, runtime: Runtime) -> None:
    failures: list[str] = []
    options = WriteOptions(batch_size=250, flush_interval=60_000, max_retries=0)
    with client.write_api(
        write_options=options,
        error_callback=lambda conf, data, err: failures.append(repr(err)),
    ) as write:
        for first in range(0, 1000, 100):
            write.write(
                bucket="plant",
                record=records(100, T_MS + first * 1000),
                write_precision=WritePrecision.MS,
            )
    assert failures == []
    assert runtime.store.stats().points == 2000


def test_a_bad_line_comes_back_as_a_400_naming_it(client: InfluxDBClient, runtime: Runtime) -> None:
    write = client.write_api(write_options=SYNCHRONOUS)
    with pytest.raises(ApiException) as raised:
        write.write(
            bucket="plant",
            record=[f"press-1 tonnage=1 {T_MS}", f"press-1 tonnage=oops {T_MS}"],
            write_precision=WritePrecision.MS,
        )
    assert raised.value.status == 422  # it reads, but "oops" is no number
    assert "line 2, column 17" in str(raised.value.body)
    assert runtime.store.stats().points == 0
