"""Two `kiln serve` replicas on one PostgreSQL, as behind a load balancer: a session made on
one works on the other, what is ingested through one is read through the other, and exactly
one of them evaluates alarms (the alarm book belongs to one process; they elect it)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server_process import KilnProcess
from tests.e2e.test_restart import ASSETS, enterprise_token
from tests.postgres import PostgresServer

pytestmark = pytest.mark.slow


def test_replicas_share_sessions_data_and_elect_one_alarm_evaluator(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    assets = tmp_path / "assets.yaml"
    assets.write_text(ASSETS)
    env = {
        "KILN_ASSETS": f'["{assets}"]',
        "KILN_STORE__BACKEND": "postgres",
        "KILN_STORE__URL": postgres_server.new_database(),
        "KILN_STORE__POOL_SIZE": "2",
    }
    a = KilnProcess("serve", tmp_path / "a", env)
    b: KilnProcess | None = None
    try:
        url_a = a.wait_ready()
        b = KilnProcess("serve", tmp_path / "b", env)
        url_b = b.wait_ready()
        with httpx.Client(base_url=url_a) as ca, httpx.Client(base_url=url_b) as cb:
            token = enterprise_token(ca, a.admin_password(tmp_path / "a"))
            # A session signed in on one replica is good on the other.
            me = ca.post(
                "/api/v1/session", json={"username": "acme-admin", "password": "acme-password-1"}
            )
            assert me.status_code == 200
            cb.cookies.update(ca.cookies)
            assert cb.get("/api/v1/me").json()["name"] == "acme-admin"
            # Ingested through B, read through A.
            now = int(time.time() * 1000)
            auth = {"authorization": f"Bearer {token}"}
            sent = {
                "enterprise": "acme-auto",
                "points": [
                    {"equipment": "press-1", "signal": "tonnage", "ts": now - 1000, "v": 8123.5}
                ],
            }
            assert cb.post("/api/v1/ingest", json=sent, headers=auth).status_code == 200
            eq = ca.get("/api/v1/enterprises/acme-auto", headers=auth).json()
            eq_id = eq["sites"][0]["lines"][0]["stations"][0]["equipment"][0]["id"]
            info = ca.get(f"/api/v1/equipment/{eq_id}", headers=auth).json()
            sid = next(s["id"] for s in info["signals"] if s["name"] == "tonnage")
            pts = ca.get(
                f"/api/v1/series/{sid}/points",
                params={"start": now - 60_000, "end": now + 60_000},
                headers=auth,
            ).json()
            assert pts["value"] == [8123.5]
            # Exactly one replica holds the alarm book; both list the stored alarms.
            answers = sorted(
                c.get("/api/v1/alarm-rules", headers=auth).status_code for c in (ca, cb)
            )
            assert answers == [200, 503]
            for c in (ca, cb):
                assert c.get("/api/v1/alarms", headers=auth).status_code == 200
        assert b.interrupt() == 0
        assert a.interrupt() == 0
    finally:
        a.kill()
        if b is not None:
            b.kill()
    assert "evaluates alarms on this database" in "".join(b.output)
