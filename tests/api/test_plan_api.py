"""The plan tracker's API: seeded plan, filings with validation and corrections, roles."""

from __future__ import annotations

import io

import openpyxl
import pytest

from kiln.auth.roles import Role
from kiln.runtime import Runtime
from tests.api.conftest import ClientFactory, issue_token


async def test_seeded_plan_is_listed_to_any_signed_in_user(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_VIEWER, "acme-auto")) as c:
        r = await c.get("/api/v1/plans")
    assert r.status_code == 200
    (plan,) = r.json()
    assert plan["key"] == "tech-reform-2018-2020"
    targets = {t["key"]: t for t in plan["targets"]}
    assert targets["robot-output-2020"]["value"] == 120e9
    assert targets["robot-output-growth"]["value"] == 15.0


async def test_dashboard_is_for_city_roles_and_judges_the_seeded_target(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients(issue_token(runtime, Role.ENTERPRISE_ADMIN, "acme-auto")) as c:
        assert (await c.get("/api/v1/plans/tech-reform-2018-2020/dashboard")).status_code == 403
    async with clients(issue_token(runtime, Role.CITY_ANALYST)) as c:
        r = await c.get("/api/v1/plans/tech-reform-2018-2020/dashboard")
    assert r.status_code == 200, r.text
    views = {v["target"]["key"]: v for v in r.json()["targets"]}
    level = views["robot-output-2020"]["progress"]
    # 2017 has no figure: the plan's own start, 120 / 1.15^3, is implied.
    assert level["baseline"]["source"] == "implied"
    assert level["baseline"]["value"] == pytest.approx(78.9019e9, rel=1e-5)
    assert [round(p["value"] / 1e9, 2) for p in level["trajectory"]] == [78.9, 90.74, 104.35, 120.0]
    # The published 2020 figure (above 90 bn) misses the 120 bn floor.
    assert level["status"] == "missed"
    assert views["robot-output-growth"]["progress"]["status"] == "missed"


async def test_filing_correction_and_history(runtime: Runtime, client, city_admin) -> None:  # type: ignore[no-untyped-def]
    body = {
        "filings": [
            {
                "enterprise": "acme-auto",
                "period": "2024-03",
                "figures": {"output_value": "1.5 亿元", "employees": 420},
            }
        ]
    }
    r = await client.post("/api/v1/filings", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["filings"][0]["figures"]["output_value"] == 1.5e8
    again = await client.post("/api/v1/filings", json=body)
    assert again.status_code == 422
    assert again.json()["where"] == "filings[0]: reason"
    body["filings"][0]["reason"] = "March output was entered in 万元 by mistake"
    body["filings"][0]["figures"] = {"output_value": 16000, "employees": 420}
    body["filings"][0]["unit"] = "万元"
    fixed = await client.post("/api/v1/filings", json=body)
    assert fixed.status_code == 201, fixed.text
    history = (await client.get("/api/v1/filings/acme-auto/2024-03/history")).json()
    assert [(h["version"], h["figures"]["output_value"]) for h in history] == [
        (1, 1.5e8),
        (2, 1.6e8),
    ]
    assert history[1]["reason"].startswith("March output")
    # Another enterprise's filings do not exist for this caller; the city admin sees them.
    other = await client.get("/api/v1/filings/huamei-ceramics/2024-03/history")
    assert other.status_code == 404
    seen = await city_admin.get("/api/v1/filings/acme-auto/2024-03/history")
    assert len(seen.json()) == 2


@pytest.mark.parametrize(
    ("item", "where", "words"),
    [
        ({"enterprise": "nobody", "period": "2024-03"}, "filings[0]: enterprise", "no enterprise"),
        ({"period": "2024-13"}, "filings[0]: period", "month 13"),
        ({"period": "2031-01"}, "filings[0]: period", "not started"),
        ({"figures": {"output_value": -5}}, "filings[0]: output_value", "negative"),
        ({"figures": {"output_value": "lots"}}, "filings[0]: output_value", "not a number"),
        ({"figures": {"output_value": "5 美元"}}, "filings[0]: output_value", "unit"),
        ({"figures": {"profit": 5}}, "filings[0]: profit", "unknown figure"),
        ({"figures": {}}, "filings[0]", "at least one figure"),
        (
            {"figures": {"output_value": 1e6, "robot_output_value": 2e6}},
            "filings[0]: robot_output_value",
            "exceeds",
        ),
    ],
)
async def test_bad_filings_are_refused_naming_where(client, item, where, words) -> None:  # type: ignore[no-untyped-def]
    base = {"enterprise": "acme-auto", "period": "2024-03", "figures": {"output_value": 1e6}}
    r = await client.post("/api/v1/filings", json={"filings": [{**base, **item}]})
    assert r.status_code in (404, 422), r.text
    assert r.json()["where"] == where
    assert words in r.json()["message"]
    assert (await client.get("/api/v1/filings")).json() == []


async def test_a_tenfold_jump_needs_confirmation(client) -> None:  # type: ignore[no-untyped-def]
    first = {"enterprise": "acme-auto", "period": "2024-01", "figures": {"output_value": 1e7}}
    jump = {"enterprise": "acme-auto", "period": "2024-02", "figures": {"output_value": 2e8}}
    assert (await client.post("/api/v1/filings", json={"filings": [first]})).status_code == 201
    r = await client.post("/api/v1/filings", json={"filings": [jump]})
    assert r.status_code == 422
    assert r.json()["flags"][0]["field"] == "filings[0]: output_value"
    assert "10x" in r.json()["flags"][0]["what"]
    ok = await client.post("/api/v1/filings", json={"filings": [jump], "confirm": True})
    assert ok.status_code == 201
    assert ok.json()["filings"][0]["flags"][0]["field"] == "output_value"


async def test_excel_and_csv_uploads(client) -> None:  # type: ignore[no-untyped-def]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["企业", "报告期", "工业总产值", "从业人员", "单位"])
    sheet.append(["acme-auto", "2024-01", 1200, 400, "万元"])
    sheet.append(["acme-auto", "2024-02", 1100, 401, "万元"])
    out = io.BytesIO()
    book.save(out)
    files = {"file": ("filing.xlsx", out.getvalue(), "application/octet-stream")}
    r = await client.post("/api/v1/filings/upload", files=files)
    assert r.status_code == 201, r.text
    assert r.json()["stored"] == 2
    stored = {f["period"]: f["figures"] for f in (await client.get("/api/v1/filings")).json()}
    assert stored["2024-01"]["output_value"] == 1.2e7
    bad = "enterprise,period,output_value\nacme-auto,2024-04,12\nacme-auto,2024-05,-1\n"
    r = await client.post("/api/v1/filings/upload", files={"file": ("f.csv", bad.encode())})
    assert r.status_code == 422
    assert r.json()["where"] == "f.csv: line 3: output_value"
    periods = {f["period"] for f in (await client.get("/api/v1/filings")).json()}
    assert "2024-04" not in periods  # all or none


async def test_only_the_city_admin_changes_plans(runtime: Runtime, clients: ClientFactory) -> None:
    doc = {
        "name_en": "Robot density 2025",
        "start_year": 2023,
        "end_year": 2025,
        "targets": [
            {
                "key": "density",
                "indicator": "robot_density",
                "kind": "level",
                "value": 500,
                "baseline_year": 2022,
                "deadline_year": 2025,
            }
        ],
    }
    async with clients(issue_token(runtime, Role.CITY_ANALYST)) as c:
        assert (await c.put("/api/v1/plans/density", json=doc)).status_code == 403
    async with clients(issue_token(runtime, Role.CITY_ADMIN)) as c:
        r = await c.put("/api/v1/plans/density", json=doc)
        assert r.status_code == 200, r.text
        bad = {**doc, "targets": [{**doc["targets"][0], "indicator": "happiness"}]}
        r = await c.put("/api/v1/plans/density", json=bad)
        assert r.status_code == 422
        assert r.json()["where"] == "plan.targets[0].indicator"
        assert len((await c.get("/api/v1/plans")).json()) == 2


async def test_measured_indicators_are_withheld_for_small_groups(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients(issue_token(runtime, Role.CITY_ANALYST)) as c:
        r = await c.get("/api/v1/plan-measured")
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["source"] == "measured"
        # Two enterprises: even the city's counts would show each one's fleet.
        assert data["city"]["enterprises"] == 2
        assert data["city"]["equipment"] is None
        assert all(row["suppressed"] for row in data["oee_this_month"]["district"])
        third = {
            "slug": "nanfeng-robots",
            "district": "shunde",
            "industry": "3491",
            "sites": [{"slug": "s", "lines": [{"slug": "l", "stations": [
                {"slug": "cell", "equipment": [{"slug": "r1", "template": "industrial_robot"}]}
            ]}]}],
        }  # fmt: skip
        runtime.store.import_assets({"enterprises": [third]})
        data = (await c.get("/api/v1/plan-measured")).json()
    assert data["city"]["enterprises"] == 3
    assert (data["city"]["equipment"], data["city"]["robots"]) == (4, 2)
    assert data["city"]["online"] == 0  # nothing has sent a value in the last five minutes
    nanhai = next(d for d in data["by_district"] if d["key"] == "nanhai")
    assert nanhai["enterprises"] == 1
    assert nanhai["equipment"] is None
