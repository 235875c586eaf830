"""The KPI pages: an enterprise's OEE per line and shift with its loss waterfall, downtime by
reason and trend; the city's roll-ups with small groups withheld; who may see which."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from kiln.auth.roles import Role
from kiln.runtime import Runtime
from kiln.sessions import SESSION_COOKIE
from tests.kpi_service.worked import at, worked_city, write_worked_shift
from tests.web.conftest import PASSWORD, ClientFactory

DAY = f"window=day&start={at(7)}"


@pytest.fixture
async def worked(app: FastAPI, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The worked shift in the store, and a client signed in as its enterprise's admin."""
    cat = runtime.store.import_assets(worked_city())
    write_worked_shift(runtime.store, cat)
    eid = cat.enterprise_by_slug["worked-press"]
    runtime.security.create_user(None, "worker", PASSWORD, Role.ENTERPRISE_ADMIN, eid)
    session, _ = runtime.security.sign_in("worker", PASSWORD, address="tests")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://kiln.test",
        cookies={SESSION_COOKIE: session},
    ) as c:
        yield c


async def test_the_enterprise_page_shows_oee_losses_reasons_and_trend(
    worked: httpx.AsyncClient,
) -> None:
    r = await worked.get(f"/enterprises/worked-press/kpi?{DAY}")
    assert r.status_code == 200, r.text
    html = r.text
    lines = html.split('id="line-table"')[1].split("</table>")[0]
    assert "Press line" in lines
    assert "73.9" in lines  # OEE 0.7389
    assert "84.4" in lines  # availability
    waterfall = html.split('id="losses-title"')[1].split("</section>")[0]
    assert "Fully productive" in waterfall
    assert "332.5 min" in waterfall
    assert "45.0 min" in waterfall  # unplanned stops
    assert "<rect" in waterfall
    split = html.split('id="split-table"')[1].split("</table>")[0]
    assert "2024-01-05 early" in split
    assert "no planned busy time (PBT = 0)" in split  # the late shift: the press was off shift
    pareto = html.split('id="pareto-table"')[1].split("</table>")[0]
    assert pareto.index("die jam") < pareto.index("changeover") < pareto.index("misfeed")
    assert "lube alarm" not in pareto  # during the meal break: planned down time
    assert "<polyline" in html.split('id="trend-title"')[1]


async def test_unknown_time_is_shown_as_unknown(worked: httpx.AsyncClient) -> None:
    # The press reports nothing before Thursday night: Tuesday to Thursday are unknown.
    r = await worked.get(f"/enterprises/worked-press/kpi?window=week&start={at(7)}")
    assert r.status_code == 200
    waterfall = r.text.split('id="losses-title"')[1].split("</section>")[0]
    assert "min unknown (no data), left out" in waterfall
    days = r.text.split('id="split-table"')[1].split("</table>")[0]
    wednesday = days.split("2024-01-03")[1].split("</tr>")[0]
    assert "1,350" in wednesday  # three shifts of 450 min planned busy time, no data
    assert "no planned busy time (PBT = 0)" in wednesday


async def test_the_page_of_another_enterprise_is_not_found(clients: ClientFactory) -> None:
    async with clients("acme") as c:
        theirs = await c.get("/enterprises/huamei-ceramics/kpi")
        own = await c.get("/enterprises/acme-auto/kpi")
    assert theirs.status_code == 404
    assert own.status_code == 200
    assert "Tandem line A" in own.text


async def test_kpi_sends_each_viewer_to_their_page(clients: ClientFactory) -> None:
    async with clients("acme") as c:
        r = await c.get("/kpi", follow_redirects=False)
    assert r.headers["location"] == "/enterprises/acme-auto/kpi"
    async with clients("analyst") as c:
        r = await c.get("/kpi", follow_redirects=False)
    assert r.headers["location"] == "/city/kpi"


async def test_the_city_page_withholds_small_groups(
    worked: httpx.AsyncClient, clients: ClientFactory
) -> None:
    async with clients("analyst") as c:
        r = await c.get(f"/city/kpi?{DAY}")
    assert r.status_code == 200, r.text
    industry = r.text.split('id="industry-table"')[1].split("</table>")[0]
    auto = industry.split('data-key="automobile"')[1].split("</tr>")[0]
    assert "73.9" in auto
    ceramics = industry.split('data-key="ceramics"')[1].split("</tr>")[0]
    assert "Withheld: fewer than 3" in ceramics
    assert "%" not in ceramics
    district = r.text.split('id="district-table"')[1].split("</table>")[0]
    assert "Withheld" in district.split('data-key="chancheng"')[1].split("</tr>")[0]


async def test_an_enterprise_user_is_not_shown_the_city_page(clients: ClientFactory) -> None:
    async with clients("acme") as c:
        assert (await c.get("/city/kpi")).status_code == 403
    async with clients("analyst") as c:
        assert (await c.get("/enterprises/acme-auto/kpi")).status_code == 403
