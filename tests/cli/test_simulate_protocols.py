"""`kiln simulate --protocol` speaks the city, and the settings file it writes connects
`kiln ingest` to it: two real processes, Modbus TCP between them, data in the store."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
from click.testing import CliRunner

from kiln.cli import main
from kiln.cli.simulate_protocols import ingest_entries, settings_toml
from kiln.config import load_settings
from kiln.simulator.protocols.feed import CityFeed
from tests.conftest import NOW_MS
from tests.mosquitto import free_port
from tests.processes import KILN, finish, wait_for


def test_a_modbus_city_reaches_the_store_through_kiln_ingest(tmp_path: Path) -> None:
    conf = tmp_path / "kiln.toml"
    env = {**os.environ, "KILN_STORE__PATH": str(tmp_path / "kiln.duckdb")}
    sim = subprocess.Popen(
        [*KILN, "simulate", "--protocol", "modbus", "--enterprises", "2",
         "--port", str(free_port()), "--ingest-config", str(conf)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    ingest: subprocess.Popen[bytes] | None = None
    try:
        wait_for(conf, sim)
        time.sleep(2)  # the servers open once the settings are written
        ingest = subprocess.Popen(
            [*KILN, "ingest", "--config", str(conf), "--metrics-port", "0"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        time.sleep(8)
        ingest.send_signal(signal.SIGTERM)
        out = ingest.communicate(timeout=60)[0].decode()
        assert ingest.returncode == 0, out
        assert "rows committed" in out
    finally:
        finish(ingest, sim)
    con = duckdb.connect(str(tmp_path / "kiln.duckdb"), read_only=True)
    try:
        points = con.execute("SELECT count(*), count(DISTINCT series) FROM points").fetchall()[0]
        states = con.execute("SELECT count(DISTINCT equipment) FROM states").fetchall()[0][0]
        dead = con.execute("SELECT count(*) FROM dead_letters").fetchall()[0][0]
    finally:
        con.close()
    equipment = len(load_settings(conf, environ={}).ingest.modbus)
    assert points[0] > 0
    assert points[1] >= equipment  # every equipment's signals arrived
    assert states == equipment
    assert dead == 0


def test_the_settings_written_for_each_protocol_are_valid(tmp_path: Path) -> None:
    feed = CityFeed(enterprises=2, start_ms=NOW_MS)
    for protocol in ("mqtt", "sparkplug", "opcua", "modbus"):
        text = settings_toml(
            protocol, ingest_entries(protocol, feed, "127.0.0.1", 1234, None), tmp_path / "a.json"
        )
        conf = tmp_path / f"{protocol}.toml"
        conf.write_text(text, encoding="utf-8")
        adapters = getattr(load_settings(conf, environ={}).ingest, protocol)
        assert adapters, protocol
    opcua = load_settings(tmp_path / "opcua.toml", environ={}).ingest.opcua
    assert sum(len(a.folders) for a in opcua) == len(feed.catalog.equipment)


def test_an_unknown_enterprise_is_named() -> None:
    r = CliRunner().invoke(
        main, ["simulate", "--protocol", "modbus", "--enterprises", "2", "--only", "nobody"]
    )
    assert r.exit_code != 0
    assert "nobody" in r.output
