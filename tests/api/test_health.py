"""/healthz, /readyz and /metrics: open to probes and scrapers, ready only when the store, the
writer and the adapters are, and metrics that move by each batch and name no enterprise."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kiln.api import health
from kiln.auth.roles import Role
from kiln.clock import ManualClock
from kiln.config import load_settings
from kiln.config_ingest import OpcUaSettings
from kiln.domain.dead_letters import DeadLetter
from kiln.ingest.opcua.client import OpcUaAdapter
from kiln.runtime import Runtime, build_runtime
from kiln.server import create_app
from tests.api.conftest import ClientFactory, issue_token
from tests.conftest import NOW_MS

T = NOW_MS - 60_000
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(c: httpx.AsyncClient) -> Samples:
    """GET /metrics, read with Prometheus' own text parser."""
    r = await c.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def at(samples: Samples, metric: str, **labels: str) -> float:
    return samples.get((metric, frozenset(labels.items())), 0.0)


def opcua_adapter(slug: str) -> OpcUaAdapter:
    """An OPC UA adapter named as `kiln simulate` names them: after its enterprise."""
    cfg = OpcUaSettings(
        name=f"simulator-{slug}", endpoint="opc.tcp://127.0.0.1:4840/", enterprise=slug
    )
    return OpcUaAdapter(cfg)


@pytest.fixture
async def anonymous(clients: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with clients(None) as c:
        yield c


async def test_the_three_answer_without_a_token(anonymous: httpx.AsyncClient) -> None:
    r = await anonymous.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    r = await anonymous.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ready",
        "checks": {"store": "ok", "writer": "ok", "adapters": "ok"},
    }
    assert (await anonymous.get("/metrics")).status_code == 200


async def test_not_ready_naming_the_store_when_it_is_closed(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={
            "store": {"path": str(tmp_path / "kiln.duckdb")},
            "simulator": {"enabled": False},
        },
    )
    rt = build_runtime(settings, clock=ManualClock(NOW_MS), simulate=False)
    app = create_app(rt, manage_runtime=False)
    try:
        rt.store.close()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://kiln.test"
        ) as c:
            r = await c.get("/readyz")
            assert (await c.get("/healthz")).status_code == 200  # alive all the same
    finally:
        rt.writer.close()
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not ready"
    assert body["failing"] == ["store"]
    assert body["checks"]["store"].startswith("failed (")
    assert body["checks"]["writer"] == "ok"


async def test_not_ready_naming_the_store_when_it_does_not_answer_in_time(
    runtime: Runtime, anonymous: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    asked: list[str] = []

    def hung(key: str) -> str | None:
        asked.append(key)
        release.wait(10)
        return None

    monkeypatch.setattr(runtime.store, "get_meta", hung)
    monkeypatch.setattr(health, "STORE_TIMEOUT_S", 0.05)
    try:
        first = await anonymous.get("/readyz")
        second = await anonymous.get("/readyz")
    finally:
        release.set()
    for r in (first, second):
        assert r.status_code == 503
        assert r.json()["failing"] == ["store"]
        assert r.json()["checks"]["store"] == "no answer within 0.05 s"
    assert len(asked) == 1  # the second probe waited on the first query, not a new thread


async def test_not_ready_naming_the_writer_when_it_stopped(
    runtime: Runtime, anonymous: httpx.AsyncClient
) -> None:
    runtime.writer.close()
    r = await anonymous.get("/readyz")
    assert r.status_code == 503
    assert r.json()["failing"] == ["writer"]
    assert r.json()["checks"]["writer"] == "the writer thread is stopped"


async def test_not_ready_until_every_adapter_connected_once(
    runtime: Runtime, anonymous: httpx.AsyncClient
) -> None:
    adapters = [opcua_adapter("acme-auto"), opcua_adapter("huamei-ceramics")]
    runtime.adapters = list(adapters)
    adapters[1].sessions = 1
    r = await anonymous.get("/readyz")
    assert r.status_code == 503
    assert r.json()["failing"] == ["adapters"]
    assert r.json()["checks"]["adapters"] == "never connected: ingest.opcua[0]"
    assert "acme" not in r.text
    adapters[0].sessions = 1  # connected once, even if down now: ready
    assert (await anonymous.get("/readyz")).status_code == 200


async def test_metrics_move_by_each_http_batch(
    runtime: Runtime, client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    batch = {
        "enterprise": "acme-auto",
        "batch_id": "gw-7-000001",
        "points": [
            {
                "equipment": "press-1",
                "signal": "tonnage",
                "ts": [T, T + 1000, T + 2000],
                "v": [1, 2, 3],
            }
        ],
        "states": [{"equipment": "press-1", "ts": T, "state": "running"}],
    }
    before = await scrape(anonymous)
    assert (await client.post("/api/v1/ingest", json=batch)).json()["stored"] == 4
    fresh = await scrape(anonymous)
    assert at(fresh, "kiln_ingested_values_total", adapter="http") == 4
    assert at(fresh, "kiln_batches_total", adapter="http", result="committed") == 1
    assert at(fresh, "kiln_ingest_lag_seconds", adapter="http") == 58.0  # NOW - (T + 2 s)
    commits = at(fresh, "kiln_write_seconds_count") - at(before, "kiln_write_seconds_count")
    assert commits == 1

    assert (await client.post("/api/v1/ingest", json=batch)).json()["duplicate"] is True
    resent = await scrape(anonymous)
    assert at(resent, "kiln_batches_total", adapter="http", result="duplicate") == 1
    assert at(resent, "kiln_batches_total", adapter="http", result="committed") == 1
    assert at(resent, "kiln_ingested_values_total", adapter="http") == 4

    bad = {
        "enterprise": "acme-auto",
        "points": [{"equipment": "ghost", "signal": "x", "ts": T, "v": 1}],
    }
    assert (await client.post("/api/v1/ingest", json=bad)).status_code == 422
    refused = await scrape(anonymous)
    assert at(refused, "kiln_dead_letters_total", adapter="http") == 1
    assert at(refused, "kiln_batches_total", adapter="http", result="committed") == 1
    assert at(refused, "kiln_batches_total", adapter="http", result="duplicate") == 1
    assert at(refused, "kiln_batches_total", adapter="http", result="failed") == 0
    assert at(refused, "kiln_ingested_values_total", adapter="http") == 4


async def test_a_line_protocol_write_counts_as_lineproto(
    runtime: Runtime, clients: ClientFactory, anonymous: httpx.AsyncClient
) -> None:
    async with clients(None) as c:
        r = await c.post(
            "/api/v2/write",
            headers={"authorization": f"Token {issue_token(runtime, Role.DEVICE, 'acme-auto')}"},
            content=f"press-1 tonnage=8120.5,lube_temp=41i {T * 1_000_000}\n",
        )
    assert r.status_code == 204, r.text
    samples = await scrape(anonymous)
    assert at(samples, "kiln_ingested_values_total", adapter="lineproto") == 2
    assert at(samples, "kiln_ingested_values_total", adapter="http") == 0


async def test_metrics_name_no_enterprise(
    runtime: Runtime, clients: ClientFactory, anonymous: httpx.AsyncClient
) -> None:
    for slug, equipment, signal in (
        ("acme-auto", "press-1", "tonnage"),
        ("huamei-ceramics", "kiln-1", "firing_temp"),
    ):
        async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, slug)) as c:
            good = {
                "enterprise": slug,
                "points": [{"equipment": equipment, "signal": signal, "ts": T, "v": 1}],
            }
            assert (await c.post("/api/v1/ingest", json=good)).status_code == 200
            bad = {
                "enterprise": slug,
                "points": [{"equipment": "ghost", "signal": signal, "ts": T, "v": 1}],
            }
            assert (await c.post("/api/v1/ingest", json=bad)).status_code == 422
        eid = runtime.catalog.enterprise_by_slug[slug]
        runtime.sink.dead_letter(
            DeadLetter(NOW_MS, f"opcua:simulator-{slug}", "ns=2;s=x", "bad", b"", eid)
        )
    runtime.adapters = [opcua_adapter("acme-auto"), opcua_adapter("huamei-ceramics")]
    text = (await anonymous.get("/metrics")).text
    assert at(await scrape(anonymous), "kiln_dead_letters_total", adapter="opcua") == 2
    assert 'kiln_adapter_connected{adapter="opcua",name="ingest.opcua[1]"} 0.0' in text
    for e in runtime.catalog.enterprises.values():
        for word in (e.slug, e.name, e.name_zh):
            assert not word or word not in text, word
