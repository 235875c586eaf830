"""`kiln simulate --protocol nats` and `kiln ingest` as two real processes, JetStream between
them, the city's data in the store."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb

from tests.nats import NatsServer
from tests.processes import KILN, finish, wait_for


def test_a_city_published_to_jetstream_reaches_the_store_through_kiln_ingest(
    tmp_path: Path, server: NatsServer
) -> None:
    conf = tmp_path / "kiln.toml"
    env = {**os.environ, "KILN_STORE__PATH": str(tmp_path / "kiln.duckdb")}
    # At 5x the simulated clock passes the ingest's 10-minute tolerance for the future only
    # after minutes, however slow the machine is to start the two processes.
    sim = subprocess.Popen(
        [*KILN, "simulate", "--protocol", "nats", "--enterprises", "2",
         "--port", str(server.port), "--speed", "5", "--ingest-config", str(conf)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    ingest: subprocess.Popen[bytes] | None = None
    try:
        wait_for(conf, sim)
        ingest = subprocess.Popen(
            [*KILN, "ingest", "--config", str(conf), "--metrics-port", "0"],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        time.sleep(8)
        ingest.send_signal(signal.SIGTERM)
        out = ingest.communicate(timeout=60)[0].decode()
        assert ingest.returncode == 0, out
    finally:
        finish(ingest, sim)
    con = duckdb.connect(str(tmp_path / "kiln.duckdb"), read_only=True)
    try:
        points, series = con.execute(
            "SELECT count(*), count(DISTINCT series) FROM points"
        ).fetchall()[0]
        claimed = con.execute(
            "SELECT count(*) FROM batches WHERE id LIKE 'nats:KILN:%'"
        ).fetchall()[0]
        dead = con.execute("SELECT count(*) FROM dead_letters").fetchall()[0]
    finally:
        con.close()
    assert points > 0
    assert series > 10
    assert claimed[0] > 0  # each stored message claimed its stream sequence
    assert dead == (0,)
