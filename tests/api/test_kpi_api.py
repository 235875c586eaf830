"""KPIs over HTTP: the worked shift of domain.md 1.3 written to the store and read back to four
decimals; tenancy (own enterprise, another one, the city with disclosure control and consent);
downtime by reason, trends, product runs, and errors that name the parameter."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kiln.auth.roles import Role
from kiln.runtime import Runtime
from tests.api.conftest import ClientFactory, issue_token
from tests.kpi_service.worked import at, worked_city, write_worked_shift

SHIFT = {"level": "equipment", "window": "shift", "start": at(7), "enterprise": "worked-press"}


@pytest.fixture
def worked(runtime: Runtime) -> int:
    """The worked city next to the small one, and the worked shift on its press."""
    cat = runtime.store.import_assets(worked_city())
    return write_worked_shift(runtime.store, cat)


def press_row(body: dict[str, Any], press: int) -> dict[str, Any]:
    rows = [r for r in body["rows"] if r["key"] == str(press)]
    assert len(rows) == 1, body
    return rows[0]


async def test_the_worked_shift_reads_back_to_four_decimals(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_VIEWER, "worked-press")) as c:
        r = await c.get("/api/v1/kpi", params=SHIFT)
    assert r.status_code == 200, r.text
    row = press_row(r.json(), worked)
    assert row["period"] == "2024-01-05 early"
    assert (row["pot_min"], row["pdot_min"], row["pbt_min"]) == (480, 30, 450)
    assert (row["apt_min"], row["aust_min"], row["adet_min"], row["adot_min"]) == (380, 25, 45, 0)
    expected = {
        "availability": 0.8444,
        "effectiveness": 0.9211,
        "quality_ratio": 0.9500,
        "scrap_ratio": 0.0300,
        "rework_ratio": 0.0200,
        "oee": 0.7389,
        "nee": 0.7875,
        "technical_efficiency": 0.8941,
        "setup_rate": 0.0617,
        "throughput_per_h": 93.3333,
        "mtbf_h": 2.2500,  # 135 min
        "mttr_min": 15.0000,
        "energy_per_unit_kwh": 1.8000,
        "energy_per_good_unit_kwh": 1.8947,
        "unplanned_stops_min": 45.0,
        "setup_min": 25.0,
        "speed_loss_min": 30.0,
        "quality_loss_min": 17.5,
        "fully_productive_min": 332.5,
    }
    assert {k: round(row[k], 4) for k in expected} == expected
    assert (row["produced"], row["good"], row["failures"]) == (700, 665, 3)


async def test_a_whole_day_gives_the_same_oee_and_kilns_teep(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "worked-press")) as c:
        r = await c.get("/api/v1/kpi", params={**SHIFT, "window": "day"})
    row = press_row(r.json(), worked)
    assert row["period"] == "2024-01-05"
    assert round(row["oee"], 4) == 0.7389
    assert round(row["teep"], 3) == 0.231  # 0.7389 * 450 / 1440, one shift a day
    assert row["unknown_min"] == 0


async def test_time_without_data_is_unknown_and_its_kpis_say_why(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "worked-press")) as c:
        body = (await c.get("/api/v1/kpi", params=SHIFT)).json()
    robot = next(r for r in body["rows"] if r["name"] == "robot")
    assert robot["unknown_min"] == 450
    assert robot["pbt_min"] == 0
    assert robot["availability"] is None
    assert robot["reasons"]["availability"] == "no planned busy time (PBT = 0)"
    assert robot["data_coverage"] == 0.0


async def test_the_line_follows_its_bottleneck(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "worked-press")) as c:
        body = (await c.get("/api/v1/kpi", params={**SHIFT, "level": "line"})).json()
    (line,) = body["rows"]
    assert line["name"] == "Press line"
    assert round(line["oee"], 4) == 0.7389  # the press (PRI 30 s) paces the robot (12 s)


async def test_csv_has_every_column(runtime: Runtime, clients: ClientFactory, worked: int) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "worked-press")) as c:
        r = await c.get("/api/v1/kpi", params={**SHIFT, "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    head, *rows = r.text.strip().splitlines()
    assert '"oee"' in head
    assert '"undefined"' in head
    assert len(rows) == 2


async def test_another_enterprise_looks_like_it_does_not_exist(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")) as c:
        theirs = await c.get("/api/v1/kpi", params=SHIFT)
        city = await c.get("/api/v1/kpi", params={"level": "city"})
    assert theirs.status_code == 404
    assert theirs.json()["where"] == "path: enterprise"
    assert city.status_code == 403
    assert city.json()["where"] == "query: level"


async def get_city(c: httpx.AsyncClient, level: str) -> dict[str, dict[str, Any]]:
    r = await c.get("/api/v1/kpi", params={"level": level, "window": "day", "start": at(7)})
    assert r.status_code == 200, r.text
    return {row["key"]: row for row in r.json()["rows"]}


async def test_the_city_sees_groups_of_three_or_more_enterprises_only(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    async with clients(issue_token(runtime, Role.CITY_ANALYST)) as c:
        industry = await get_city(c, "industry")
        district = await get_city(c, "district")
        city = await get_city(c, "city")
    auto, ceramics = industry["automobile"], industry["ceramics"]
    assert (auto["enterprises"], auto["suppressed"]) == (4, False)
    assert round(auto["oee"], 4) == 0.7389  # the only line with data
    assert (ceramics["enterprises"], ceramics["suppressed"]) == (2, True)
    assert ceramics["oee"] is None
    assert ceramics["pbt_min"] is None
    assert ceramics["reasons"]["oee"].startswith("suppressed: fewer than 3 enterprises")
    assert district["nanhai"]["suppressed"] is False
    assert district["chancheng"]["suppressed"] is True
    assert city["city"]["enterprises"] == 6


async def test_one_enterprises_oee_needs_its_consent_and_is_audited(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    params = {"level": "line", "window": "day", "start": at(7), "enterprise": "worked-press"}
    async with clients(issue_token(runtime, Role.CITY_ANALYST)) as city:
        refused = await city.get("/api/v1/kpi", params=params)
        async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "worked-press")) as admin:
            assert (await admin.put("/api/v1/consents/oee")).status_code == 204
        granted = await city.get("/api/v1/kpi", params=params)
        equipment = await city.get("/api/v1/kpi", params={**params, "level": "equipment"})
    assert refused.status_code == 403
    assert granted.status_code == 200, granted.text
    (row,) = granted.json()["rows"]
    assert round(row["oee"], 4) == 0.7389
    assert "mtbf_h" not in row
    assert "energy_per_unit_kwh" not in row
    assert equipment.status_code == 403
    eid = runtime.catalog.enterprise_by_slug["worked-press"]
    log = runtime.security.accounts.audit_log(enterprise_id=eid, every=False)
    assert [x["action"] for x in log].count("city_read") == 1


async def test_downtime_by_reason_leaves_out_the_break(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_VIEWER, "worked-press")) as c:
        r = await c.get("/api/v1/kpi/pareto", params={"window": "day", "start": at(7)})
    assert r.status_code == 200, r.text
    body = r.json()
    rows = [(x["state"], x["reason"], x["minutes"], x["events"]) for x in body["rows"]]
    assert rows == [
        ("down_fault", "die jam", 30.0, 2),
        ("setup", "changeover", 25.0, 1),
        ("down_fault", "misfeed", 15.0, 1),
    ]
    assert body["total_minutes"] == 70.0  # ADET 45 + AUST 25: the fault in the break is PDOT
    assert body["rows"][-1]["cumulative_share"] == pytest.approx(1.0)


async def test_a_trend_gives_each_day_and_says_why_a_day_is_empty(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    params = {"level": "line", "bucket": "day", "start": at(7), "end": at(7) + 2 * 86_400_000}
    async with clients(issue_token(runtime, Role.ENTERPRISE_VIEWER, "worked-press")) as c:
        r = await c.get("/api/v1/kpi/trend", params=params)
        bad = await c.get("/api/v1/kpi/trend", params={**params, "kpi": "happiness"})
    assert r.status_code == 200, r.text
    (line,) = r.json()["series"]
    points = {p["period"]: p for p in line["points"]}
    assert round(points["2024-01-05"]["oee"], 4) == 0.7389
    saturday = points["2024-01-06"]
    assert saturday["oee"] is None
    assert saturday["reasons"]["oee"] == "no planned busy time (PBT = 0)"
    assert bad.status_code == 422
    assert bad.json()["where"] == "query: kpi"


async def test_a_product_change_changes_the_ideal_cycle_from_its_start(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    change = {
        "enterprise": "worked-press",
        "line": "press-line",
        "product": "door-lh",
        "start_ms": at(5),
        "ideal_cycle_s": {"press": 20.0},
    }
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "worked-press")) as c:
        made = await c.post("/api/v1/kpi/product-runs", json=change)
        listed = (await c.get("/api/v1/kpi/product-runs")).json()
        body = (await c.get("/api/v1/kpi", params=SHIFT)).json()
    assert made.status_code == 201, made.text
    assert {(x["equipment_slug"], x["ideal_cycle_s"]) for x in made.json()} == {
        ("press", 20.0),
        ("robot", None),
    }
    assert [(x["equipment_slug"], x["product"]) for x in listed] == [
        ("press", "door-lh"),
        ("robot", "door-lh"),
    ]
    row = press_row(body, worked)
    assert round(row["oee"], 4) == round(20 * 665 / (450 * 60), 4)
    robot = next(r for r in body["rows"] if r["name"] == "robot")
    assert robot["reasons"].get("effectiveness", "") in ("", "no production time (APT = 0)")


async def test_product_changes_are_the_enterprise_admins(
    runtime: Runtime, clients: ClientFactory, worked: int
) -> None:
    change = {"line": "press-line", "product": "door", "start_ms": at(5), "ideal_cycle_s": 20}
    async with clients(issue_token(runtime, Role.ENTERPRISE_VIEWER, "worked-press")) as viewer:
        assert (await viewer.post("/api/v1/kpi/product-runs", json=change)).status_code == 403
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")) as other:
        r = await other.post(
            "/api/v1/kpi/product-runs", json={**change, "enterprise": "worked-press"}
        )
        assert r.status_code == 404
        mine = await other.post("/api/v1/kpi/product-runs", json=change)
        assert mine.status_code == 404  # acme-auto has no line "press-line"
        assert mine.json()["where"] == "line"
        both = await other.post(
            "/api/v1/kpi/product-runs", json={**change, "line": "tandem-a", "equipment": "x"}
        )
        assert both.status_code == 422
        slow = await other.post(
            "/api/v1/kpi/product-runs", json={**change, "line": "tandem-a", "ideal_cycle_s": -1}
        )
        assert slow.status_code == 422
        assert slow.json()["where"] == "body: ideal_cycle_s"


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"window": "fortnight"}, "query.window"),
        ({"level": "galaxy"}, "query.level"),
        ({"window": "custom", "start": at(6)}, "query: start"),
        ({"window": "custom", "start": at(6), "end": at(5)}, "query: end"),
        ({"window": "day", "start": at(6), "end": at(6) + 500 * 86_400_000}, "query: end"),
        ({"line": "no-such-line"}, "line"),
    ],
)
async def test_a_bad_parameter_is_named(
    runtime: Runtime, clients: ClientFactory, worked: int, params: dict[str, Any], where: str
) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "worked-press")) as c:
        r = await c.get("/api/v1/kpi", params=params)
    assert r.status_code in (404, 422), r.text
    assert r.json()["where"] == where
