"""The plan tracker's pages: the dashboard judges the seeded plan, withholds small groups and
is for city roles; filings go in through the form (corrections need a reason, flagged values a
confirmation) or a spreadsheet; the scenario projects a changed growth."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kiln.plan.filings import Filing, Period
from kiln.plan.progress import format_money
from kiln.runtime import Runtime
from kiln.server import create_app
from tests.web.conftest import NOW_MS, ClientFactory

PLAN = "tech-reform-2018-2020"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    """The app as create_app builds it."""
    return create_app(runtime, manage_runtime=False)


def part(html: str, start: str, end: str) -> str:
    """The piece of a page from a marker to the next end marker."""
    assert start in html, f"{start!r} is not on the page"
    return html.split(start, 1)[1].split(end, 1)[0]


async def csrf_of(c: httpx.AsyncClient) -> str:
    m = CSRF.search((await c.get("/filings")).text)
    assert m is not None
    return m.group(1)


def filing(csrf: str, period: str, **figures: str) -> dict[str, str]:
    """The form's fields for one period; money in 万元 unless a unit_<name> says otherwise."""
    kind = "year" if len(period) == 4 else "month"
    data = {"csrf": csrf, "kind": kind, "month": period, "year": period[:4]}
    for name, value in figures.items():
        data[name if name.startswith(("unit_", "reason", "confirm")) else f"fig_{name}"] = value
    return data


def stored(runtime: Runtime, slug: str, period: str) -> list[Filing]:
    eid = runtime.catalog.enterprise_by_slug[slug]
    return runtime.plan.plans_store.filing_history(eid, Period.parse(period))


def write_yearly(runtime: Runtime, figures: dict[str, dict[int, dict[str, float]]]) -> None:
    """Annual filings straight into the store: {slug: {year: {figure: value}}}."""
    cat = runtime.catalog
    runtime.plan.plans_store.write_filings(
        [
            Filing(cat.enterprise_by_slug[slug], Period(year), values, filed_ms=NOW_MS)
            for slug, years in figures.items()
            for year, values in years.items()
        ]
    )


# -- the dashboard -----------------------------------------------------------------------------


async def test_the_dashboard_shows_both_targets_missed_from_the_implied_baseline(
    clients: ClientFactory,
) -> None:
    async with clients("analyst") as c:
        r = await c.get("/plan", follow_redirects=True)
    assert r.status_code == 200, r.text
    assert r.url.path == f"/plan/{PLAN}"
    for key in ("robot-output-2020", "robot-output-growth"):
        card = part(r.text, f'id="target-{key}"', "</article>")
        assert 'data-status="missed"' in card
        assert "Missed" in card  # in words, not only in colour
        assert "78.9 bn yuan in 2017" in card  # 120 / 1.15^3: the start the plan assumed
        assert "implied by the plan" in card
        assert 'class="target-path"' in card
        assert 'class="actual source-published"' in card
    level = part(r.text, 'id="target-robot-output-2020"', "</article>")
    assert "90 bn yuan</strong> in 2020" in level
    assert "low reliability" in level  # the published 2020 figure comes from a mirror site
    published = part(r.text, 'id="published-table"', "</table>")
    assert "2.24 trillion yuan" in published
    assert "9.8 % on the year before" in published


async def test_the_as_of_year_shows_the_plan_as_known_then(clients: ClientFactory) -> None:
    async with clients("analyst") as c:
        r = await c.get(f"/plan/{PLAN}?as_of=2019")
    assert r.status_code == 200
    assert '<option value="2019" selected>' in part(r.text, 'id="as-of"', "</select>")
    card = part(r.text, 'id="target-robot-output-2020"', "</article>")
    assert 'data-status="no_data"' in card
    assert "90 bn yuan" not in card  # published for 2020, not known at the end of 2019


async def test_plan_pages_are_for_city_roles(clients: ClientFactory) -> None:
    async with clients("acme") as c:
        for path in ("/plan", f"/plan/{PLAN}", f"/plan/{PLAN}/scenario"):
            r = await c.get(path)
            assert r.status_code == 403, path
            assert "Not allowed" in r.text
    async with clients("analyst") as c:
        assert (await c.get("/plan/no-such-plan")).status_code == 404
        assert (await c.get("/filings")).status_code == 403  # files nothing, reads no filings


async def test_withheld_cells_do_not_reveal_the_two_enterprises_figures(
    runtime: Runtime, clients: ClientFactory
) -> None:
    acme = {
        "output_value": 987_654_321.0,
        "robot_output_value": 123_456_789.0,
        "robots_installed": 1937.0,
        "employees": 13_579.0,
    }
    huamei = {"output_value": 876_543_210.0, "robot_output_value": 234_567_891.0,
              "robots_installed": 2741.0, "employees": 24_680.0}  # fmt: skip
    write_yearly(runtime, {"acme-auto": {2024: acme}, "huamei-ceramics": {2024: huamei}})
    async with clients("analyst") as c:
        r = await c.get(f"/plan/{PLAN}")
    assert r.status_code == 200
    html = r.text
    table = part(html, 'id="table-total_output"', "</table>")
    assert "2024" in table
    assert table.count("withheld") >= 4  # nanhai x automobile, chancheng x ceramics, totals
    assert "fewer than 3 enterprises" in html
    secret: list[str] = []
    for figures in (acme, huamei, {k: acme[k] + huamei[k] for k in acme}):
        for name, v in figures.items():
            secret += [f"{v:.0f}", f"{v:,.0f}"]
            if name.endswith("value"):
                secret += [f"{v / 1e6:,.1f}", f"{v / 1e9:,.2f}", format_money(v)]
    secret += [f"{1e4 * 1937 / 13_579:,.1f}", f"{1e4 * 2741 / 24_680:,.1f}"]
    secret += [f"{1e4 * 4678 / 38_259:,.1f}"]  # robots per 10,000 employees
    assert [s for s in secret if s in html] == []


# -- filings -----------------------------------------------------------------------------------


async def test_a_filing_through_the_form_is_stored_and_a_correction_needs_a_reason(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients("acme") as c:
        token = await csrf_of(c)
        r = await c.post("/filings", data=filing(token, "2024-03", output_value="1500",
                                                 employees="420"))  # fmt: skip
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/filings?saved=acme-auto&period=2024-03"
        page = await c.get(r.headers["location"])
        assert "version 1" in part(page.text, 'id="saved-notice"', "</p>")
        row = part(page.text, 'data-period="2024-03"', "</tr>")
        assert "15,000,000 yuan" in row
        again = await c.post("/filings", data=filing(token, "2024-03", output_value="1600",
                                                     employees="420"))  # fmt: skip
    assert again.status_code == 422
    assert "a correction needs a reason" in part(again.text, 'id="reason-error"', "</p>")
    assert 'value="1600"' in again.text  # what was typed stays in the form
    (only,) = stored(runtime, "acme-auto", "2024-03")
    assert dict(only.figures) == {"output_value": 1.5e7, "employees": 420.0}
    assert (only.channel, only.filed_by) == ("form", "acme")


async def test_a_correction_with_a_reason_is_version_two_in_the_history(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients("acme") as c:
        token = await csrf_of(c)
        await c.post(
            "/filings", data=filing(token, "2024", output_value="1.5", unit_output_value="亿元")
        )
        fix = filing(token, "2024", output_value="16000", reason="entered in 亿元 by mistake")
        assert (await c.post("/filings", data=fix)).status_code == 303
        r = await c.get("/filings/acme-auto/2024")
    assert r.status_code == 200
    v2 = part(r.text, 'data-version="2"', "</tr>")
    assert "entered in 亿元 by mistake" in v2
    assert "150,000,000 yuan → <strong>160,000,000 yuan</strong>" in v2
    assert 'data-version="1"' in r.text
    assert [f.version for f in stored(runtime, "acme-auto", "2024")] == [1, 2]


async def test_flagged_values_are_stored_once_confirmed(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients("acme") as c:
        token = await csrf_of(c)
        await c.post("/filings", data=filing(token, "2024-01", output_value="1000"))
        jump = filing(token, "2024-02", output_value="20000", employees="300")
        r = await c.post("/filings", data=jump)
        assert r.status_code == 422
        assert "10x the previous period" in part(r.text, 'id="output_value-flag-1"', "</p>")
        assert 'id="employees-flag-1"' not in r.text
        assert 'name="confirm"' in r.text
        assert stored(runtime, "acme-auto", "2024-02") == []
        ok = await c.post("/filings", data={**jump, "confirm": "on"})
    assert ok.status_code == 303, ok.text
    (f,) = stored(runtime, "acme-auto", "2024-02")
    assert f.figures["output_value"] == 2e8
    assert [g.field for g in f.flags] == ["output_value"]


async def test_a_refused_value_is_named_next_to_its_field(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients("acme") as c:
        token = await csrf_of(c)
        r = await c.post("/filings", data=filing(token, "2024-05", output_value="-3"))
        assert "negative" in part(r.text, 'id="output_value-error"', "</p>")
        r = await c.post("/filings", data=filing(token, "2031-01", output_value="3"))
        assert "has not started yet" in part(r.text, 'id="period-error"', "</p>")
        r = await c.post("/filings", data=filing(token, "2024-05"))
        assert "at least one figure" in part(r.text, 'id="form-error"', "</p>")
    assert r.status_code == 422
    assert runtime.plan.plans_store.filings(None, 2000, 2100) == []


async def test_a_form_without_the_sessions_token_is_refused(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients("acme") as c:
        r = await c.post("/filings", data=filing("forged", "2024-03", output_value="1500"))
    assert r.status_code == 403
    assert runtime.plan.plans_store.filings(None, 2000, 2100) == []


async def test_the_city_admin_files_for_the_enterprise_it_picks(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients("cityadmin") as c:
        page = await c.get("/filings")
        assert '<option value="huamei-ceramics"' in page.text
        assert "percentile" not in page.text.lower()
        token = await csrf_of(c)
        data = {**filing(token, "2024-06", employees="88"), "enterprise": "huamei-ceramics"}
        r = await c.post("/filings", data=data)
        assert r.status_code == 303
        listed = (await c.get("/filings")).text
    assert 'data-enterprise="huamei-ceramics"' in listed
    assert stored(runtime, "huamei-ceramics", "2024-06")[0].filed_by == "cityadmin"


async def test_an_enterprise_files_only_for_itself_and_sees_only_its_own(
    runtime: Runtime, clients: ClientFactory
) -> None:
    write_yearly(runtime, {"huamei-ceramics": {2024: {"employees": 77.0}}})
    async with clients("acme") as c:
        token = await csrf_of(c)
        data = {**filing(token, "2024-06", employees="88"), "enterprise": "huamei-ceramics"}
        assert (await c.post("/filings", data=data)).status_code == 303
        page = await c.get("/filings")
        assert (await c.get("/filings/huamei-ceramics/2024")).status_code == 404
    assert stored(runtime, "huamei-ceramics", "2024-06") == []
    assert len(stored(runtime, "acme-auto", "2024-06")) == 1
    assert "huamei-ceramics" not in page.text
    assert "Your industry percentile, 2024" in page.text


async def test_a_spreadsheet_upload_and_its_template(
    runtime: Runtime, clients: ClientFactory
) -> None:
    async with clients("acme") as c:
        template = await c.get("/filings/template.csv")
        assert template.headers["content-type"].startswith("text/csv")
        header, row = template.text.lstrip("\ufeff").splitlines()[:2]
        assert header.startswith("enterprise,period,unit,reason,output_value")
        assert row.startswith("acme-auto,2025-10,万元")
        token = await csrf_of(c)
        good = "enterprise,period,output_value,unit\nacme-auto,2024-04,1200,万元\n"
        r = await c.post("/filings/upload", data={"csrf": token},
                         files={"file": ("f.csv", good.encode())})  # fmt: skip
        assert r.status_code == 303
        assert "stored from the file: 1" in (await c.get(r.headers["location"])).text
        bad = "enterprise,period,output_value\nacme-auto,2024-07,12\nacme-auto,2024-08,-1\n"
        r = await c.post("/filings/upload", data={"csrf": token},
                         files={"file": ("f.csv", bad.encode())})  # fmt: skip
    assert r.status_code == 422
    assert "f.csv: line 3: output_value" in part(r.text, 'id="upload-error"', "</p>")
    assert stored(runtime, "acme-auto", "2024-04")[0].figures["output_value"] == 1.2e7
    assert stored(runtime, "acme-auto", "2024-07") == []  # all or none


# -- the scenario ------------------------------------------------------------------------------


def central(html: str, box: str) -> float:
    return float(part(part(html, f'id="{box}"', "</div>"), 'data-central="', '"'))


async def test_raising_a_components_growth_raises_the_projected_outcome(
    runtime: Runtime, clients: ClientFactory
) -> None:
    makers: dict[str, Any] = {"enterprises": [
        {"slug": f"robots-{i}", "name": f"Robots {i}", "district": "shunde", "industry": "3491"}
        for i in range(3)
    ]}  # fmt: skip
    runtime.store.import_assets(makers)
    write_yearly(
        runtime,
        {
            f"robots-{i}": {
                year: {"robot_output_value": start * 1.1 ** (year - 2017)}
                for year in (2017, 2018, 2019)
            }
            for i, start in enumerate((10e9, 8e9, 6e9))
        },
    )
    base = f"/plan/{PLAN}/scenario?target=robot-output-2020&by=industry&as_of=2019"
    async with clients("analyst") as c:
        plain = await c.get(base)
        raised = await c.get(base + "&component=robots&growth=40")
    assert plain.status_code == 200, plain.text
    assert raised.status_code == 200, raised.text
    assert central(plain.text, "baseline-outcome") == pytest.approx(24e9 * 1.1**3, rel=1e-6)
    assert 'id="scenario-outcome"' not in plain.text
    assert central(raised.text, "scenario-outcome") == pytest.approx(24e9 * 1.1**2 * 1.4, rel=1e-6)
    robots = part(raised.text, 'data-key="robots"', "</tr>")
    assert "40.0 %" in robots
    assert "changed" in robots
    assert "Off track" in part(raised.text, 'id="baseline-outcome"', "</div>")


async def test_a_growth_that_is_no_number_is_named_next_to_its_field(
    clients: ClientFactory,
) -> None:
    async with clients("analyst") as c:
        r = await c.get(f"/plan/{PLAN}/scenario?component=robots&growth=lots")
    assert r.status_code == 422
    assert "is not a number" in part(r.text, 'id="growth-error"', "</p>")
    assert "no filed figures" in part(r.text, 'id="target-error"', "</p>")
