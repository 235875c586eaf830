"""The pages render what the store holds: names, states, trees, values; unknown ids are 404."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from kiln.domain.templates import TEMPLATES
from kiln.runtime import Runtime
from tests.web.conftest import ClientFactory


def equipment_id(rt: Runtime, enterprise: str, slug: str) -> int:
    eid = rt.catalog.equipment_id(enterprise, slug)
    assert eid is not None
    return eid


def count_of(html: str, state: str) -> int:
    found = re.search(rf'data-state-count="{state}">(\d+)<', html)
    assert found, f"no count for {state}"
    return int(found.group(1))


def row_count(html: str, label: str) -> int:
    """The number ending the table row headed by label."""
    found = re.search(
        rf'<th scope="row">(?:<a href="[^"]+">)?{label}.*?</th>\s*<td class="num">.*?(\d+)</td>',
        html,
        re.S,
    )
    assert found, f"no row {label}"
    return int(found.group(1))


def tile_class(html: str, equipment: int) -> str:
    found = re.search(rf'<a class="tile ([^"]+)" href="/equipment/{equipment}"', html)
    assert found, f"no tile for equipment {equipment}"
    return found.group(1)


async def test_city_page_lists_an_enterprise_users_own_enterprise_with_a_link(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<a href="/enterprises/acme-auto">Acme Auto Parts</a>' in html
    assert '<span class="zh" lang="zh-Hans">艾克米汽配</span>' in html
    assert "Automobile parts and accessories" in html
    assert "Huamei" not in html  # another tenant: counted in the aggregates, never named
    rows = re.findall(r'<tr>\s*<th scope="row">', html.split('id="enterprise-table"')[1])
    assert len(rows) == 1


async def test_city_page_lists_every_enterprise_to_the_city_without_links(
    clients: ClientFactory,
) -> None:
    async with clients("analyst") as analyst:
        html = (await analyst.get("/")).text
    table = html.split('id="enterprise-table"')[1]
    assert "Acme Auto Parts" in table
    assert "Huamei Ceramics" in table
    assert "C3071" in table
    assert "/enterprises/" not in html  # the city sees no one enterprise's own data
    assert '<span class="viewer-role">City analyst</span>' in html


async def test_city_page_counts_enterprises_by_district_and_key_industry(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/")).text
    for label in ("Nanhai", "Chancheng", "Shunde", "Gaoming", "Sanshui"):
        row = rf"<th scope=\"row\"><a href=\"[^\"]+\">{label}</a> <span class=\"zh\""
        assert re.search(row, html), label
    assert row_count(html, "Nanhai") == 1
    assert row_count(html, "Chancheng") == 1
    assert row_count(html, "Shunde") == 0
    assert row_count(html, "Automobile manufacturing") == 1
    assert row_count(html, "Ceramics and building materials") == 1
    assert row_count(html, "Household electrical appliances") == 0


async def test_city_page_counts_equipment_by_current_state(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    # press-1 went down, press-2 is idle, the kiln never reported a state
    assert count_of(html, "down_fault") == 1
    assert count_of(html, "idle") == 1
    assert count_of(html, "unknown") == 1
    assert count_of(html, "running") == 0
    assert 'data-live="/live/city"' in html


async def test_enterprise_page_shows_its_tree_with_equipment_coloured_by_state(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    r = await client.get("/enterprises/acme-auto")
    assert r.status_code == 200
    html = r.text
    assert "<h1>Acme Auto Parts" in html
    assert "Nanhai plant 1" in html
    assert "Tandem line A" in html
    assert html.index("OP10") < html.index("OP20"), "stations in line order"
    assert "2 operators" in html
    press1 = equipment_id(runtime, "acme-auto", "press-1")
    press2 = equipment_id(runtime, "acme-auto", "press-2")
    assert tile_class(html, press1) == "state-down_fault"
    assert tile_class(html, press2) == "state-idle"
    assert "Down (fault)" in html
    assert "since 23:45" in html  # 15 minutes before midnight, China Standard Time
    assert 'data-live="/live/enterprises/acme-auto"' in html
    assert "Huamei" not in html


async def test_equipment_that_never_reported_is_shown_as_unknown(
    clients: ClientFactory, runtime: Runtime
) -> None:
    async with clients("huamei") as huamei:
        html = (await huamei.get("/enterprises/huamei-ceramics")).text
    kiln = equipment_id(runtime, "huamei-ceramics", "kiln-1")
    assert tile_class(html, kiln) == "state-unknown"
    assert "Roller kiln" in html
    assert "辊道窑" in html


async def test_equipment_page_shows_state_last_values_and_timeline(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    press1 = equipment_id(runtime, "acme-auto", "press-1")
    r = await client.get(f"/equipment/{press1}")
    assert r.status_code == 200
    html = r.text
    assert "<h1>Draw press</h1>" in html
    assert '<div class="state-now state-down_fault" id="equipment-state">' in html
    assert "since 23:45:00" in html
    assert "die jam" in html
    tonnage = runtime.catalog.series_id(press1, "tonnage")
    row = re.search(rf'<tr data-series="{tonnage}">(.*?)</tr>', html, re.S)
    assert row, "a last-values row for tonnage"
    assert '<td class="num" data-role="value">8,155</td>' in row.group(1)
    assert "23:50:00" in row.group(1)
    assert '<td class="num" data-role="value">41.2</td>' in html  # lube_temp: one decimal
    assert html.count('class="chart"') == len(runtime.catalog.signals_of[press1])
    # the window is the last hour: running from 40 min ago, down from 15 min ago
    assert re.search(r'<rect class="fill-running" x="33\.333%" y="0"\s+width="41\.667%"', html)
    assert re.search(r'<rect class="fill-down_fault" x="75\.0%" y="0"\s+width="25\.0%"', html)
    assert 'src="/static/vendor/uPlot.iife.min.js' in html


async def test_equipment_page_embeds_what_its_script_needs(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    press1 = equipment_id(runtime, "acme-auto", "press-1")
    html = (await client.get(f"/equipment/{press1}")).text
    found = re.search(
        r'<script type="application/json" id="equipment-data">(.*?)</script>', html, re.S
    )
    assert found
    data = json.loads(found.group(1))
    assert data["id"] == press1
    assert data["end_ms"] - data["start_ms"] == 3_600_000
    assert [r["state"] for r in data["intervals"]] == ["running", "down_fault"]
    assert {s["name"] for s in data["signals"]} >= {"tonnage", "lube_temp"}
    words = re.search(r'<script type="application/json" id="kiln-words">(.*?)</script>', html, re.S)
    assert words
    assert json.loads(words.group(1))["states"]["down_fault"] == "Down (fault)"


async def test_equipment_signals_are_listed_in_their_templates_order(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    press1 = equipment_id(runtime, "acme-auto", "press-1")
    html = (await client.get(f"/equipment/{press1}")).text
    charts = re.findall(r'<span class="chart-title">([a-z_0-9]+)</span>', html)
    rows = re.findall(r'<tr data-series="\d+">\s*<th scope="row">([a-z_0-9]+)</th>', html)
    expected = [s.name for s in TEMPLATES["press"].signals]
    assert charts == expected
    assert rows == expected


@pytest.mark.parametrize(("window", "current"), [("8h", "8 h"), ("24h", "24 h"), ("2y", "1 h")])
async def test_window_selector_marks_the_chosen_window(
    client: httpx.AsyncClient, runtime: Runtime, window: str, current: str
) -> None:
    press1 = equipment_id(runtime, "acme-auto", "press-1")
    html = (await client.get(f"/equipment/{press1}", params={"window": window})).text
    assert re.search(rf'aria-current="page">{current}</a>', html)
    assert len(re.findall(r'aria-current="page">\d+ h</a>', html)) == 1


async def test_the_header_names_who_is_signed_in_with_a_sign_out_form(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/")).text
    assert '<span class="viewer-name">acme</span>' in html
    assert '<span class="viewer-role">Enterprise admin</span>' in html
    assert re.search(r'<form class="viewer" method="post" action="/sign-out">', html)
    assert re.search(r'<input type="hidden" name="csrf" value="[^"]{16,}">', html)


async def test_another_enterprises_pages_are_not_found(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    kiln = equipment_id(runtime, "huamei-ceramics", "kiln-1")
    for path in ("/enterprises/huamei-ceramics", f"/equipment/{kiln}"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert "<h1>Not found</h1>" in r.text


async def test_the_city_may_not_open_an_enterprises_own_pages(
    clients: ClientFactory, runtime: Runtime
) -> None:
    press1 = equipment_id(runtime, "acme-auto", "press-1")
    async with clients("analyst") as analyst:
        for path in ("/enterprises/acme-auto", f"/equipment/{press1}"):
            r = await analyst.get(path)
            assert r.status_code == 403, path
            assert "<h1>Not allowed</h1>" in r.text


@pytest.mark.parametrize(
    ("path", "back_to"),
    [("/", "%2F"), ("/equipment/1?window=8h", "%2Fequipment%2F1%3Fwindow%3D8h")],
)
async def test_pages_send_a_visitor_to_sign_in_and_back(
    clients: ClientFactory, path: str, back_to: str
) -> None:
    async with clients(None) as anon:
        r = await anon.get(path)
    assert r.status_code == 303
    assert r.headers["location"] == f"/sign-in?next={back_to}"


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/enterprises/no-such-works", "no-such-works"),
        ("/equipment/987654", "987654"),
        ("/equipment/press-1", "press-1"),
        ("/no/such/page", "/no/such/page"),
    ],
)
async def test_unknown_pages_answer_404_with_a_page_naming_what_was_asked(
    client: httpx.AsyncClient, path: str, named: str
) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in r.text
    assert named in r.text
    assert 'href="/"' in r.text


async def test_unknown_api_paths_keep_their_json_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/no-such-thing")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    ("path", "contains"),
    [
        ("/static/vendor/uPlot.iife.min.js", "uPlot"),
        ("/static/vendor/uPlot.min.css", ".uplot"),
        ("/static/vendor/uPlot.LICENSE", "MIT"),
        ("/static/kiln.js", "EventSource"),
        ("/static/kiln.css", "--running"),
        ("/static/favicon.svg", "<svg"),
    ],
)
async def test_static_files_are_served_from_the_package(
    clients: ClientFactory, path: str, contains: str
) -> None:
    async with clients(None) as anon:
        r = await anon.get(path)
    assert r.status_code == 200
    assert contains in r.text


async def test_pages_and_streams_stay_out_of_the_api_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    # InfluxDB's own paths are part of the API: Telegraf and influxdb-client call them as-is.
    influx = {"/write", "/ping"}
    assert [p for p in paths if not p.startswith("/api/") and p not in influx] == []
    assert influx <= set(paths)


async def test_pages_link_their_assets_and_name_the_time_zone(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    assert 'href="/static/kiln.css' in html
    assert 'src="/static/kiln.js' in html
    assert "China Standard Time" in html
    assert '<a class="skip-link" href="#main">' in html
