"""A real server: data sent over HTTP survives Ctrl-C and a restart; rejected data is not kept."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server_process import KilnProcess

ASSETS = """
enterprises:
  - slug: acme-auto
    district: nanhai
    industry: "3670"
    sites:
      - slug: p1
        lines:
          - slug: l1
            stations:
              - slug: op10
                equipment:
                  - {slug: press-1, template: press}
"""

pytestmark = pytest.mark.slow


def enterprise_token(c: httpx.Client, admin_password: str) -> str:
    """As the first-start city admin, make an enterprise admin; as that admin, make a token."""
    me = c.post("/api/v1/session", json={"username": "admin", "password": admin_password}).json()
    csrf = {"x-csrf-token": me["csrf"]}
    made = c.post(
        "/api/v1/users",
        headers=csrf,
        json={
            "username": "acme-admin",
            "password": "acme-password-1",
            "role": "enterprise_admin",
            "enterprise": "acme-auto",
        },
    )
    assert made.status_code == 201, made.text
    c.cookies.clear()
    me = c.post(
        "/api/v1/session", json={"username": "acme-admin", "password": "acme-password-1"}
    ).json()
    tok = c.post("/api/v1/tokens", json={"name": "gateway"}, headers={"x-csrf-token": me["csrf"]})
    assert tok.status_code == 201, tok.text
    c.cookies.clear()
    token: str = tok.json()["token"]
    return token


def test_data_survives_ctrl_c_and_restart(tmp_path: Path) -> None:
    assets = tmp_path / "assets.yaml"
    assets.write_text(ASSETS)
    env = {"KILN_ASSETS": f'["{assets}"]'}
    now = int(time.time() * 1000)
    good = {
        "enterprise": "acme-auto",
        "points": [
            {
                "equipment": "press-1",
                "signal": "tonnage",
                "ts": [now - 2000, now - 1000],
                "v": [8000.5, 8100.25],
            }
        ],
    }
    bad = {
        "enterprise": "acme-auto",
        "points": [
            {"equipment": "press-1", "signal": "tonnage", "ts": now, "v": 1.0},
            {"equipment": "press-1", "signal": "tonnage", "ts": now, "v": "high"},
        ],
    }

    first = KilnProcess("serve", tmp_path / "data", env)
    try:
        url = first.wait_ready()
        with httpx.Client(base_url=url) as c:
            token = enterprise_token(c, first.admin_password(tmp_path / "data"))
            c.headers["authorization"] = f"Bearer {token}"
            assert c.post("/api/v1/ingest", json=good).status_code == 200
            assert c.post("/api/v1/ingest", json=bad).status_code == 422
            eq = c.get("/api/v1/enterprises/acme-auto").json()
        assert first.interrupt() == 0
    finally:
        first.kill()
    assert "Kiln stopped; data kept." in "".join(first.output)

    second = KilnProcess("serve", tmp_path / "data", env)
    try:
        url = second.wait_ready()
        eq_id = eq["sites"][0]["lines"][0]["stations"][0]["equipment"][0]["id"]
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {token}"}) as c:
            info = c.get(f"/api/v1/equipment/{eq_id}").json()
            sid = next(s["id"] for s in info["signals"] if s["name"] == "tonnage")
            pts = c.get(
                f"/api/v1/series/{sid}/points", params={"start": now - 60_000, "end": now + 60_000}
            ).json()
        assert pts["value"] == [8000.5, 8100.25]  # the rejected batch's good item is not there
        assert second.interrupt() == 0
    finally:
        second.kill()
