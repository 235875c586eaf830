"""The city overview's panels for city roles: the plan's targets, what is connected now, open
alarms by severity and the OEE distribution, with small industries withheld."""

from __future__ import annotations

import re

from kiln.runtime import Runtime
from kiln.web.city_panels import oee_distribution
from tests.plant import ENTERPRISE
from tests.web.conftest import ClientFactory


async def test_the_city_overview_asks_for_its_panels_for_city_roles_only(
    clients: ClientFactory,
) -> None:
    async with clients("analyst") as c:
        city = await c.get("/")
        plan = await c.get("/city/panels/plan")
        live = await c.get("/city/panels/live")
    assert 'data-panel="/city/panels/plan"' in city.text
    assert 'data-panel="/city/panels/live"' in city.text
    assert plan.status_code == 200
    assert "Robot and intelligent-equipment output" in plan.text or "target-card" in plan.text
    assert 'class="plan-chart"' in plan.text  # the trajectory chart
    assert live.status_code == 200
    for words in ("Enterprises connected", "Robots online", "Open alarms by severity"):
        assert words in live.text
    # Two enterprises in the small city: no industry reaches three, so none is drawn.
    assert "oee-bars" not in live.text
    assert "Withheld: fewer than 3 enterprises contribute" in live.text
    async with clients("acme") as c:
        page = await c.get("/")
        refused = await c.get("/city/panels/live")
    assert "data-panel" not in page.text
    assert refused.status_code == 403


async def test_the_panels_come_in_the_pages_language(clients: ClientFactory) -> None:
    async with clients("analyst") as c:
        live = await c.get("/city/panels/live", params={"lang": "zh"})
    assert "已连接企业" in live.text or re.search(r"[\u4e00-\u9fff]", live.text)


def test_the_oee_distribution_counts_enterprises_per_tenth(plant_runtime: Runtime) -> None:
    rows = {r["key"]: r for r in oee_distribution(plant_runtime, minimum=1)}
    appliances = rows["appliances"]  # the plant is a household-appliance maker
    assert appliances["enterprises"] == 1
    assert sum(appliances["counts"]) == 1
    assert appliances["median"] is not None
    assert 0 < appliances["median"] < 1
    assert rows["ceramics"]["enterprises"] == 0
    assert rows["ceramics"]["counts"] is None  # nobody to count
    assert plant_runtime.settings.kpi.min_enterprises == 3
    assert oee_distribution(plant_runtime)[2]["counts"] is None
    assert ENTERPRISE in plant_runtime.catalog.enterprise_by_slug
