"""`kiln ingest` has no web app, so it serves /healthz, /readyz and /metrics on a port of their
own: a real process, a real broker, and the metrics moving as a message is committed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from kiln.cli import main
from kiln.config import load_settings
from kiln.errors import ConfigError
from tests.conftest import small_city
from tests.ingest.mqtt.conftest import PRESS, Broker, publish
from tests.mosquitto import free_port

KILN = [sys.executable, "-m", "kiln.cli"]


def settings_file(folder: Path, broker_port: int) -> Path:
    """A store in the folder, the small city, and one MQTT adapter named like an enterprise."""
    city = folder / "city.json"
    city.write_text(json.dumps(small_city()), encoding="utf-8")
    conf = folder / "kiln.toml"
    conf.write_text(
        f'assets = ["{city}"]\n'
        f'[store]\npath = "{folder / "kiln.duckdb"}"\n'
        "[simulator]\nenabled = false\n"
        f'[[ingest.mqtt]]\nname = "acme-auto"\nport = {broker_port}\n',
        encoding="utf-8",
    )
    return conf


def metric(text: str, sample: str, /, **labels: str) -> float | None:
    """A sample of the Prometheus text, read with Prometheus' own parser."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == sample and s.labels == labels:
                return s.value
    return None


def wait_until(check: Callable[[], bool], proc: subprocess.Popen[bytes], what: str) -> None:
    """Poll the process until check() holds (it answers over HTTP; no event to wait on)."""
    deadline = time.monotonic() + 60
    while not check():
        assert proc.poll() is None, f"kiln ingest ended before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def answers(url: str, status: int = 200) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == status
    except httpx.TransportError:
        return False


@pytest.fixture
def ingesting(tmp_path: Path) -> Iterator[tuple[str, Broker, subprocess.Popen[bytes]]]:
    """`kiln ingest` on a metrics port of its own, subscribed to a throwaway broker."""
    broker = Broker(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [*KILN, "ingest", "--config", str(settings_file(tmp_path, broker.port)),
         "--metrics-port", str(port)],
        cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}", broker, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
        broker.stop()


def test_kiln_ingest_serves_health_and_metrics_on_its_port(
    ingesting: tuple[str, Broker, subprocess.Popen[bytes]],
) -> None:
    url, broker, proc = ingesting
    wait_until(lambda: answers(f"{url}/healthz"), proc, "/healthz")
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    wait_until(lambda: answers(f"{url}/readyz"), proc, "/readyz to say ready")
    assert httpx.get(f"{url}/readyz").json()["checks"]["adapters"] == "ok"

    now_ms = time.time_ns() // 1_000_000
    publish(broker.port, [(f"{PRESS}/telemetry/tonnage", orjson.dumps({"v": 812.5, "ts": now_ms}))])

    def committed() -> bool:
        text = httpx.get(f"{url}/metrics").text
        return metric(text, "kiln_ingested_values_total", adapter="mqtt") == 1.0

    wait_until(committed, proc, "the message to be counted")
    r = httpx.get(f"{url}/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert metric(text, "kiln_batches_total", adapter="mqtt", result="committed") == 1.0
    assert metric(text, "kiln_adapter_connected", adapter="mqtt", name="ingest.mqtt[0]") == 1.0
    lag = metric(text, "kiln_ingest_lag_seconds", adapter="mqtt")
    assert lag is not None
    assert 0 <= lag < 60
    assert metric(text, "process_resident_memory_bytes") is not None
    assert "acme" not in text  # the adapter's name is an enterprise's slug: not a label

    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, out
    assert "health and metrics: http://127.0.0.1:" in out
    assert "1 rows committed" in out


def test_a_metrics_port_in_use_stops_kiln_ingest_naming_the_setting(tmp_path: Path) -> None:
    conf = settings_file(tmp_path, free_port())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main, ["ingest", "--config", str(conf), "--metrics-port", str(port)]
        )
    assert result.exit_code == 1
    assert f"ingest.metrics_port: cannot listen on 127.0.0.1:{port}" in result.output
    assert not (tmp_path / "kiln.duckdb").exists()  # refused before anything started


def test_the_metrics_port_defaults_to_9108_and_0_turns_it_off(tmp_path: Path) -> None:
    assert load_settings(environ={}).ingest.metrics_port == 9108
    off = load_settings(environ={"KILN_INGEST__METRICS_PORT": "0"})
    assert off.ingest.metrics_port == 0
    with pytest.raises(ConfigError, match=r"ingest\.metrics_port") as err:
        load_settings(environ={"KILN_INGEST__METRICS_PORT": "70000"})
    assert err.value.where == "KILN_INGEST__METRICS_PORT"
