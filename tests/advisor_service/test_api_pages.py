"""The advisor through HTTP: API and pages, scoped by role, with bad input named."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from kiln.auth.roles import Role
from kiln.runtime import Runtime
from kiln.server import create_app
from kiln.sessions import SESSION_COOKIE
from tests.api.conftest import issue_token
from tests.plant import DAY_MS, DAYS, ENTERPRISE, LINE, NECK, START_MS

Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def client(plant_runtime: Runtime) -> Client:
    """A client as a role of the plant's enterprise or of the city: `token` for the API,
    `web` for a signed-in session."""
    app = create_app(plant_runtime, manage_runtime=False)
    rt = plant_runtime

    @asynccontextmanager
    async def make(
        role: Role, enterprise: str | None = None, *, web: bool = False, lang: str = "en"
    ) -> AsyncIterator[httpx.AsyncClient]:
        headers = {"accept-language": lang}
        cookies = {}
        if web:
            eid = rt.catalog.enterprise_by_slug[enterprise] if enterprise else None
            name = f"{role.value}-{enterprise or 'city'}-web"
            if rt.security.accounts.user_by_name(name) is None:
                rt.security.create_user(None, name, "correct-horse-1", role, eid)
            cookies[SESSION_COOKIE], _ = rt.security.sign_in(
                name, "correct-horse-1", address="tests"
            )
        else:
            headers["authorization"] = f"Bearer {issue_token(rt, role, enterprise)}"
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://kiln.test", headers=headers, cookies=cookies
        ) as c:
            yield c

    return make


def line_id(rt: Runtime) -> int:
    eid = rt.catalog.enterprise_by_slug[ENTERPRISE]
    return next(
        ln.id for ln in rt.catalog.lines.values() if ln.enterprise_id == eid and ln.slug == LINE
    )


def neck_id(rt: Runtime) -> int:
    lid = line_id(rt)
    return next(s.id for s in rt.catalog.stations.values() if s.line_id == lid and s.slug == NECK)


async def test_an_enterprise_sees_its_lines_and_candidates(client: Client) -> None:
    async with client(Role.ENTERPRISE_VIEWER, ENTERPRISE) as c:
        r = await c.get(f"/api/v1/advisor/enterprises/{ENTERPRISE}", params={"days": DAYS})
    assert r.status_code == 200, r.text
    doc = r.json()
    line = next(x for x in doc["lines"] if x["line"] == LINE)
    assert line["bottleneck"] == NECK
    first = line["candidates"][0]
    assert first["station"]["slug"] == NECK
    assert first["money"]["investment_yuan"] > 0
    assert "bottleneck" in first["explanation"]
    assert {a["name"] for a in doc["assumptions"]} >= {"annual_wage_yuan", "sold_share"}


async def test_an_assumption_changes_the_money_and_a_bad_one_is_named(
    client: Client, plant_runtime: Runtime
) -> None:
    path = f"/api/v1/advisor/lines/{line_id(plant_runtime)}"
    async with client(Role.ENTERPRISE_ADMIN, ENTERPRISE) as c:
        base = (await c.get(path, params={"days": DAYS})).json()
        dear = (
            await c.get(path, params={"days": DAYS, "assume": "annual_wage_yuan=200000"})
        ).json()
        bad = await c.get(path, params={"assume": "wages=1"})
        nan = await c.get(path, params={"assume": "sold_share=lots"})
        zh = (await c.get(path, params={"days": DAYS, "lang": "zh"})).json()
    saved = [x["candidates"][0]["money"]["labour_saved_yuan_per_year"] for x in (base, dear)]
    assert saved[1] > saved[0]
    assert bad.status_code == 422
    assert "unknown assumption 'wages'" in bad.text
    assert nan.status_code == 422
    assert "sold_share" in nan.text
    assert "瓶颈" in zh["candidates"][0]["explanation"]


async def test_another_enterprise_and_the_city_cannot_see_the_line(
    client: Client, plant_runtime: Runtime
) -> None:
    plant_runtime.store.import_assets(
        {"enterprises": [{"slug": "other-co", "name": "Other", "district": "nanhai",
                          "industry": "3670", "sites": []}]}
    )  # fmt: skip
    path = f"/api/v1/advisor/lines/{line_id(plant_runtime)}"
    async with client(Role.ENTERPRISE_ADMIN, "other-co") as c:
        assert (await c.get(path)).status_code == 404
        assert (await c.get(f"/api/v1/advisor/enterprises/{ENTERPRISE}")).status_code == 404
    async with client(Role.CITY_ANALYST) as c:
        assert (await c.get(path)).status_code == 403
    async with client(Role.ENTERPRISE_ADMIN, ENTERPRISE) as c:
        assert (await c.get("/api/v1/advisor/city")).status_code == 403


async def test_the_city_sees_a_single_enterprise_only_withheld(client: Client) -> None:
    async with client(Role.CITY_ANALYST) as c:
        r = await c.get("/api/v1/advisor/city", params={"days": DAYS, "within_years": 5})
    assert r.status_code == 200, r.text
    doc = r.json()
    shown = [cell for cell in doc["cells"] if cell["robots"]]
    assert shown == []  # one enterprise: every cell it is in is withheld
    assert any(cell["withheld"] for cell in doc["cells"])
    # ... and so is the city total, which would be that one enterprise's figure.
    assert doc["candidates"] is None
    assert doc["enterprises"] is None
    assert ENTERPRISE not in r.text


async def test_an_installation_is_recorded_checked_and_scoped(
    client: Client, plant_runtime: Runtime
) -> None:
    lid, sid = line_id(plant_runtime), neck_id(plant_runtime)
    path = f"/api/v1/advisor/lines/{lid}/installations"
    body = {"station_id": sid, "installed_ms": START_MS + DAYS * DAY_MS, "description": "cell"}
    async with client(Role.ENTERPRISE_VIEWER, ENTERPRISE) as c:
        assert (await c.post(path, json=body)).status_code == 403
    async with client(Role.ENTERPRISE_ADMIN, ENTERPRISE) as c:
        future = await c.post(path, json={**body, "installed_ms": START_MS + 99 * DAY_MS})
        wrong = await c.post(path, json={**body, "station_id": 999_999})
        no_solution = await c.post(path, json={**body, "solution_id": 999_999})
        made = await c.post(path, json=body)
        listed = (await c.get(path)).json()
    assert future.status_code == 422
    assert "installed_ms" in future.text
    assert wrong.status_code == 404
    assert "station_id" in wrong.text
    assert no_solution.status_code == 404
    assert made.status_code == 201, made.text
    assert made.json()["prediction"]["throughput_gain"] > 0
    assert [x["station_id"] for x in listed] == [sid]
    assert "less than a day" in listed[0]["why"]  # installed an hour ago


async def test_the_pages_render_for_the_enterprise_and_the_city(
    client: Client, plant_runtime: Runtime
) -> None:
    lid = line_id(plant_runtime)
    async with client(Role.ENTERPRISE_ADMIN, ENTERPRISE, web=True) as c:
        ent = await c.get(f"/advisor/enterprises/{ENTERPRISE}", params={"days": DAYS})
        line = await c.get(f"/advisor/lines/{lid}", params={"days": DAYS})
        what_if = await c.get(f"/advisor/lines/{lid}", params={"days": DAYS, "sold_share": "1"})
        bad = await c.get(f"/advisor/lines/{lid}", params={"sold_share": "2"})
        home = await c.get("/advisor", follow_redirects=False)
    assert ent.status_code == 200
    assert "Manual assembly 2" in ent.text
    assert line.status_code == 200
    assert "Station cycle against takt" in line.text
    assert "Record the installation" in line.text
    assert 'class="changed"' in what_if.text
    assert bad.status_code == 422
    assert "sold_share" in bad.text
    assert home.headers["location"] == f"/advisor/enterprises/{ENTERPRISE}"
    async with client(Role.CITY_ANALYST, web=True, lang="zh-CN") as c:
        city = await c.get("/advisor/city", params={"days": DAYS})
        refused = await c.get(f"/advisor/lines/{lid}")
    assert city.status_code == 200
    assert "各行业供需" in city.text  # the page in the browser's language
    assert refused.status_code == 403


async def test_the_installation_form_records_with_csrf(
    client: Client, plant_runtime: Runtime
) -> None:
    lid, sid = line_id(plant_runtime), neck_id(plant_runtime)
    async with client(Role.ENTERPRISE_ADMIN, ENTERPRISE, web=True) as c:
        page = await c.get(f"/advisor/lines/{lid}", params={"days": DAYS})
        token = CSRF.search(page.text)
        assert token is not None
        form = {"csrf": token.group(1), "station_id": str(sid), "installed_on": "2025-11-30"}
        missing = await c.post(f"/advisor/lines/{lid}/installations", data={**form, "csrf": "x"})
        bad_day = await c.post(
            f"/advisor/lines/{lid}/installations", data={**form, "installed_on": "30/11"}
        )
        bad_station = await c.post(
            f"/advisor/lines/{lid}/installations", data={**form, "station_id": "x"}
        )
        bad_solution = await c.post(
            f"/advisor/lines/{lid}/installations", data={**form, "solution_id": "abc"}
        )
        done = await c.post(f"/advisor/lines/{lid}/installations", data=form)
    assert missing.status_code == 403
    assert bad_day.status_code == 422
    assert "yyyy-mm-dd" in bad_day.text
    assert bad_station.status_code == 422
    assert "station_id" in bad_station.text
    assert bad_solution.status_code == 422
    assert "solution_id" in bad_solution.text
    assert done.status_code == 303
    assert len(plant_runtime.store.installations.of_lines([lid])) == 1


async def test_the_enterprise_and_line_pages_show_the_best_candidates(
    client: Client, plant_runtime: Runtime
) -> None:
    lid = line_id(plant_runtime)
    async with client(Role.ENTERPRISE_VIEWER, ENTERPRISE, web=True) as c:
        ent = await c.get(f"/enterprises/{ENTERPRISE}")
        line = await c.get(f"/lines/{lid}")
    for page in (ent, line):
        assert page.status_code == 200
        assert f'href="/advisor/lines/{lid}"' in page.text
        assert "Manual assembly 2" in page.text
        assert "is the bottleneck" in page.text


async def test_an_enterprise_keeps_its_own_assumptions(
    client: Client, plant_runtime: Runtime
) -> None:
    lid = line_id(plant_runtime)
    kept_path = f"/api/v1/advisor/enterprises/{ENTERPRISE}/assumptions"
    line_path = f"/api/v1/advisor/lines/{lid}"
    async with client(Role.ENTERPRISE_ADMIN, ENTERPRISE) as c:
        before = (await c.get(line_path, params={"days": DAYS})).json()
        bad = await c.put(kept_path, json={"annual_wage_yuan": -5})
        unknown = await c.put(kept_path, json={"wage": 1})
        kept = await c.put(kept_path, json={"annual_wage_yuan": 60_000, "sold_share": 1})
        after = (await c.get(line_path, params={"days": DAYS})).json()
        shown = (await c.get(kept_path)).json()
    async with client(Role.ENTERPRISE_VIEWER, ENTERPRISE) as c:
        refused = await c.put(kept_path, json={})
    assert bad.status_code == 422
    assert "annual_wage_yuan" in bad.text
    assert unknown.status_code == 422
    assert "unknown assumption 'wage'" in unknown.text
    assert kept.status_code == 200, kept.text
    assert shown["changes"] == {"annual_wage_yuan": 60_000.0, "sold_share": 1.0}
    wage = next(a for a in shown["assumptions"] if a["name"] == "annual_wage_yuan")
    assert wage["value"] == 60_000
    saved = [x["candidates"][0]["money"]["labour_saved_yuan_per_year"] for x in (before, after)]
    assert saved[1] == pytest.approx(saved[0] * 60_000 / 103_932)
    assert refused.status_code == 403
    assert plant_runtime.store.assumptions.get(
        plant_runtime.catalog.enterprise_by_slug[ENTERPRISE]
    ) == {"annual_wage_yuan": 60_000.0, "sold_share": 1.0}


async def test_the_page_keeps_the_values_shown(client: Client, plant_runtime: Runtime) -> None:
    lid = line_id(plant_runtime)
    eid = plant_runtime.catalog.enterprise_by_slug[ENTERPRISE]
    async with client(Role.ENTERPRISE_ADMIN, ENTERPRISE, web=True) as c:
        page = await c.get(f"/advisor/lines/{lid}", params={"days": DAYS, "sold_share": "0.8"})
        token = CSRF.search(page.text)
        assert token is not None
        assert "Keep the values shown" in page.text
        form = {"csrf": token.group(1), "sold_share": "0.8", "back": f"/advisor/lines/{lid}"}
        done = await c.post(f"/advisor/enterprises/{ENTERPRISE}/assumptions", data=form)
        again = await c.get(f"/advisor/lines/{lid}", params={"days": DAYS})
        reset = await c.post(
            f"/advisor/enterprises/{ENTERPRISE}/assumptions", data={"csrf": token.group(1)}
        )
    assert done.status_code == 303
    assert done.headers["location"] == f"/advisor/lines/{lid}"
    assert "your enterprise&#39;s" in again.text or "your enterprise's" in again.text
    assert reset.status_code == 303
    assert plant_runtime.store.assumptions.get(eid) == {}
    async with client(Role.ENTERPRISE_VIEWER, ENTERPRISE, web=True) as c:
        page = await c.get(f"/advisor/lines/{lid}", params={"days": DAYS})
    assert "Keep the values shown" not in page.text
