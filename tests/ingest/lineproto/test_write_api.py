"""POST /write and /api/v2/write through the app: stored whole with 204, or refused whole with
the line named, a dead letter and nothing stored."""

from __future__ import annotations

import base64
import gzip

import httpx
import pytest

from kiln.auth.ratelimit import RateLimiter
from kiln.auth.roles import Role
from kiln.runtime import Runtime
from tests.api.conftest import issue_token
from tests.conftest import NOW_MS

T_MS = NOW_MS - 60_000
GOOD = f"press-1,site=nanhai-1 tonnage=8120.5,lube_temp=41i {T_MS * 1_000_000}\n"


def stored(runtime: Runtime) -> int:
    return runtime.store.stats().points


def dead_letters(runtime: Runtime) -> list[dict[str, object]]:
    runtime.sink.flush()
    acme = runtime.catalog.enterprise_by_slug["acme-auto"]
    rows: list[dict[str, object]] = runtime.store.dead_letters(acme).to_pylist()
    return rows


@pytest.fixture
def token(runtime: Runtime) -> str:
    return issue_token(runtime, Role.DEVICE, "acme-auto")


def bare(runtime: Runtime) -> httpx.AsyncClient:
    from kiln.server import create_app

    app = create_app(runtime, manage_runtime=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kiln.test")


async def test_a_v2_write_is_stored_and_answers_204(runtime: Runtime, token: str) -> None:
    async with bare(runtime) as c:
        r = await c.post(
            "/api/v2/write",
            params={"org": "any", "bucket": "any", "precision": "ns"},
            headers={"authorization": f"Token {token}"},
            content=GOOD,
        )
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert stored(runtime) == 2
    press = runtime.catalog.equipment_id("acme-auto", "press-1")
    assert press is not None
    last = runtime.store.last_values([runtime.catalog.series_id(press, "tonnage") or 0])
    assert last.to_pylist()[0]["value"] == 8120.5


@pytest.mark.parametrize(
    "how",
    ["token-header", "bearer-header", "basic-auth", "query-password"],
)
async def test_a_v1_write_takes_the_token_every_way_v1_clients_send_it(
    runtime: Runtime, token: str, how: str
) -> None:
    params = {"db": "plant", "precision": "ms"}
    headers = {}
    if how == "token-header":
        headers["authorization"] = f"Token {token}"
    elif how == "bearer-header":
        headers["authorization"] = f"Bearer {token}"
    elif how == "basic-auth":
        headers["authorization"] = "Basic " + base64.b64encode(f"gw:{token}".encode()).decode()
    else:
        params |= {"u": "gw", "p": token}
    async with bare(runtime) as c:
        r = await c.post(
            "/write", params=params, headers=headers, content=f"press-1 tonnage=1 {T_MS}"
        )
    assert r.status_code == 204, r.text
    assert stored(runtime) == 1


async def test_a_gzip_body_is_decompressed(runtime: Runtime, token: str) -> None:
    body = "".join(f"press-1 tonnage={k} {T_MS + k}\n" for k in range(1000))
    async with bare(runtime) as c:
        r = await c.post(
            "/write",
            params={"precision": "ms"},
            headers={"authorization": f"Token {token}", "content-encoding": "gzip"},
            content=gzip.compress(body.encode()),
        )
    assert r.status_code == 204, r.text
    assert stored(runtime) == 1000


async def test_a_zip_bomb_is_refused_with_413_and_kept_as_a_dead_letter(
    runtime: Runtime, token: str
) -> None:
    limit = runtime.settings.server.max_body_bytes
    bomb = gzip.compress(b"#" * (limit + 1), compresslevel=9)
    assert len(bomb) < limit // 100
    async with bare(runtime) as c:
        r = await c.post(
            "/api/v2/write",
            headers={"authorization": f"Token {token}", "content-encoding": "gzip"},
            content=bomb,
        )
    assert r.status_code == 413
    assert r.json()["code"] == "request too large"
    assert "decompresses to more than" in r.json()["message"]
    assert [x["adapter"] for x in dead_letters(runtime)] == ["lineproto"]


async def test_a_corrupt_or_unknown_encoding_is_refused(runtime: Runtime, token: str) -> None:
    auth = {"authorization": f"Token {token}"}
    async with bare(runtime) as c:
        corrupt = await c.post(
            "/api/v2/write", headers={**auth, "content-encoding": "gzip"}, content=b"not gzip"
        )
        truncated = await c.post(
            "/api/v2/write",
            headers={**auth, "content-encoding": "gzip"},
            content=gzip.compress(GOOD.encode())[:-10],
        )
        brotli = await c.post(
            "/api/v2/write", headers={**auth, "content-encoding": "br"}, content=b"x"
        )
    assert corrupt.status_code == truncated.status_code == 400
    assert "gzip body is corrupt" in corrupt.json()["message"]
    assert "truncated" in truncated.json()["message"]
    assert brotli.status_code == 415
    assert stored(runtime) == 0


async def test_a_body_larger_than_the_limit_is_refused_before_reading(
    runtime: Runtime, token: str
) -> None:
    limit = runtime.settings.server.max_body_bytes
    async with bare(runtime) as c:
        r = await c.post(
            "/api/v2/write",
            headers={"authorization": f"Token {token}"},
            content=b"#" * (limit + 1),
        )
    assert r.status_code == 413
    assert stored(runtime) == 0


async def test_a_syntax_error_is_400_naming_the_line_and_nothing_is_stored(
    runtime: Runtime, token: str
) -> None:
    body = GOOD + "press-1 tonnage=2\npress-1,site tonnage=3\n"
    async with bare(runtime) as c:
        v2 = await c.post(
            "/api/v2/write", headers={"authorization": f"Token {token}"}, content=body
        )
        v1 = await c.post("/write", headers={"authorization": f"Token {token}"}, content=body)
    assert v2.status_code == v1.status_code == 400
    j = v2.json()
    assert j["code"] == "invalid"
    assert j["message"].startswith("line 3, column 9: tag 'site' has no '=' and value")
    assert "nothing was stored" in j["message"]
    assert (j["line"], j["column"]) == (3, 9)
    assert j["rejects"] == [{"line": 3, "column": 9, "reason": "tag 'site' has no '=' and value"}]
    assert v1.json()["error"] == v1.json()["message"]  # the key InfluxDB 1.x clients read
    assert stored(runtime) == 0
    letters = dead_letters(runtime)
    assert [(x["adapter"], x["source"]) for x in letters] == [
        ("lineproto", "POST /write"),
        ("lineproto", "POST /api/v2/write"),
    ]
    assert "line 3, column 9" in str(letters[0]["reason"])
    assert bytes(letters[0]["payload"]).startswith(b"press-1,site=nanhai-1 tonnage=8120.5")  # type: ignore[call-overload]


async def test_unknown_equipment_or_signal_is_422_naming_the_line(
    runtime: Runtime, token: str
) -> None:
    body = GOOD + "press-1 tonnage=1,ghost_signal=2\nghost tonnage=1\n"
    async with bare(runtime) as c:
        r = await c.post("/api/v2/write", headers={"authorization": f"Token {token}"}, content=body)
    assert r.status_code == 422
    j = r.json()
    assert j["code"] == "unprocessable entity"
    assert [(x["line"], x["column"]) for x in j["rejects"]] == [(2, 19), (3, 1)]
    assert j["rejects"][1]["reason"] == "unknown equipment 'ghost' in enterprise 'acme-auto'"
    assert stored(runtime) == 0
    assert len(dead_letters(runtime)) == 1


async def test_a_bad_precision_is_400(runtime: Runtime, token: str) -> None:
    auth = {"authorization": f"Token {token}"}
    async with bare(runtime) as c:
        v2 = await c.post("/api/v2/write", params={"precision": "h"}, headers=auth, content=GOOD)
        v1 = await c.post("/write", params={"precision": "h"}, headers=auth, content=GOOD)
    assert v2.status_code == 400
    assert "precision 'h'" in v2.json()["message"]
    assert v1.status_code == 422  # the hour is a v1 precision; this timestamp is far ahead


async def test_too_many_values_is_413(runtime: Runtime, token: str) -> None:
    limit = runtime.settings.security.max_batch_items
    body = "".join(f"press-1 tonnage=1,lube_temp=2 {T_MS}\n" for _ in range(limit // 2 + 1))
    async with bare(runtime) as c:
        r = await c.post(
            "/write",
            params={"precision": "ms"},
            headers={"authorization": f"Token {token}"},
            content=body,
        )
    assert r.status_code == 413
    assert f"at most {limit}" in r.json()["message"]


async def test_callers_without_a_valid_token_or_permission_are_refused(runtime: Runtime) -> None:
    viewer = issue_token(runtime, Role.ENTERPRISE_VIEWER, "acme-auto")
    async with bare(runtime) as c:
        none = await c.post("/api/v2/write", content=GOOD)
        wrong = await c.post("/api/v2/write", headers={"authorization": "Token nope"}, content=GOOD)
        query_v2 = await c.post("/api/v2/write", params={"p": viewer}, content=GOOD)
        seen = await c.post(
            "/api/v2/write", headers={"authorization": f"Token {viewer}"}, content=GOOD
        )
    assert none.status_code == wrong.status_code == query_v2.status_code == 401
    assert wrong.json()["code"] == "unauthorized"
    assert none.headers["www-authenticate"].startswith("Token")
    assert seen.status_code == 403
    assert seen.json()["code"] == "forbidden"
    assert stored(runtime) == 0


async def test_writes_are_rate_limited_per_token(runtime: Runtime, token: str) -> None:
    runtime.ingest_limit = RateLimiter(rate=0.001, burst=2)
    async with bare(runtime) as c:
        codes = [
            (
                await c.post(
                    "/api/v2/write", headers={"authorization": f"Token {token}"}, content=GOOD
                )
            ).status_code
            for _ in range(3)
        ]
        r = await c.post("/api/v2/write", headers={"authorization": f"Token {token}"}, content=GOOD)
    assert codes == [204, 204, 429]
    assert int(r.headers["retry-after"]) >= 1


async def test_an_empty_body_stores_nothing_and_answers_204(runtime: Runtime, token: str) -> None:
    async with bare(runtime) as c:
        r = await c.post("/api/v2/write", headers={"authorization": f"Token {token}"})
    assert r.status_code == 204
    assert stored(runtime) == 0


async def test_ping_answers_204_with_a_version_for_any_caller(runtime: Runtime) -> None:
    async with bare(runtime) as c:
        get = await c.get("/ping")
        head = await c.head("/ping")
    assert get.status_code == head.status_code == 204
    assert get.headers["x-influxdb-version"]
    assert head.headers["x-influxdb-build"].startswith("Kiln")
