"""The drill-down pages (district, industry, site, line, station) open for the right roles and
are refused or scoped for the others, and every page of the path carries its breadcrumbs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest

from kiln.runtime import Runtime
from tests.web.conftest import ClientFactory

English = Callable[[str | None], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def english(clients: ClientFactory) -> English:
    """A client of one of the test users, reading the pages in English."""

    @asynccontextmanager
    async def make(username: str | None) -> AsyncIterator[httpx.AsyncClient]:
        async with clients(username) as c:
            c.cookies.set("lang", "en")
            yield c

    return make


def ids(rt: Runtime) -> dict[str, int]:
    """The ids of Acme's site, line, stations and equipment, and of Huamei's line."""
    cat = rt.catalog
    acme = cat.enterprise_by_slug["acme-auto"]
    line = next(ln for ln in cat.lines.values() if ln.enterprise_id == acme)
    other = next(ln for ln in cat.lines.values() if ln.enterprise_id != acme)
    op10 = next(s for s in cat.stations.values() if s.slug == "op10")
    op20 = next(s for s in cat.stations.values() if s.slug == "op20")
    press1 = cat.equipment_id("acme-auto", "press-1")
    kiln = cat.equipment_id("huamei-ceramics", "kiln-1")
    assert press1 is not None
    assert kiln is not None
    return {
        "line": line.id,
        "other_line": other.id,
        "op10": op10.id,
        "op20": op20.id,
        "press1": press1,
        "kiln": kiln,
        "other_station": next(s.id for s in cat.stations.values() if s.line_id == other.id),
    }


def crumbs(html: str) -> list[tuple[str | None, str]]:
    """The breadcrumb trail as (link or None for the current page, label)."""
    nav = re.search(r'<nav class="breadcrumb" aria-label="Breadcrumb">(.*?)</nav>', html, re.S)
    assert nav, "no breadcrumbs"
    out: list[tuple[str | None, str]] = []
    for item in re.findall(r"<li>(.*?)</li>", nav.group(1), re.S):
        link = re.match(r'<a href="([^"]+)">(.*?)</a>', item)
        if link:
            out.append((link.group(1), link.group(2)))
        else:
            current = re.match(r'<span aria-current="page">(.*?)</span>', item)
            assert current, item
            out.append((None, current.group(1)))
    return out


def table_names(html: str) -> list[str]:
    """The enterprise names in the enterprise table, in order."""
    table = html.split('id="enterprise-table"')[1].split("</table>")[0]
    return [
        re.sub(r"<[^>]+>", "", name).strip()
        for name in re.findall(r'<th scope="row">(?:<a [^>]+>)?([^<]+)', table)
    ]


# -- breadcrumbs at every level -----------------------------------------------------------------


async def test_breadcrumbs_lead_from_the_city_to_each_level(
    english: English, runtime: Runtime
) -> None:
    n = ids(runtime)
    city = ("/", "City")
    nanhai = ("/districts/nanhai", "Nanhai")
    acme = ("/enterprises/acme-auto", "Acme Auto Parts")
    site = ("/enterprises/acme-auto/sites/nanhai-1", "Nanhai plant 1")
    line = (f"/lines/{n['line']}", "Tandem line A")
    station = (f"/stations/{n['op10']}", "OP10")
    expected = {
        "/districts/nanhai": [city, (None, "Nanhai")],
        "/industries/automobile": [city, (None, "Automobile manufacturing")],
        "/enterprises/acme-auto": [city, nanhai, (None, "Acme Auto Parts")],
        site[0]: [city, nanhai, acme, (None, "Nanhai plant 1")],
        line[0]: [city, nanhai, acme, site, (None, "Tandem line A")],
        station[0]: [city, nanhai, acme, site, line, (None, "OP10")],
        f"/equipment/{n['press1']}": [
            city,
            nanhai,
            acme,
            site,
            line,
            station,
            (None, "Draw press"),
        ],
    }
    async with english("acme") as c:
        for path, trail in expected.items():
            r = await c.get(path)
            assert r.status_code == 200, path
            assert crumbs(r.text) == trail, path


async def test_every_breadcrumb_link_opens(english: English, runtime: Runtime) -> None:
    n = ids(runtime)
    async with english("acme") as c:
        html = (await c.get(f"/equipment/{n['press1']}")).text
        for href, label in crumbs(html):
            if href is not None:
                assert (await c.get(href)).status_code == 200, (href, label)


# -- district and industry pages: aggregates for everyone, names as the city page shows them --


async def test_a_district_page_counts_its_enterprises_and_equipment(english: English) -> None:
    async with english("analyst") as c:
        r = await c.get("/districts/nanhai")
    assert r.status_code == 200
    facts = re.findall(r'<span class="fact-value">([\d,]+)</span>', r.text)
    assert facts[:2] == ["1", "2"]  # Acme alone, with its two presses
    assert "Acme Auto Parts" in table_names(r.text)
    assert "Huamei Ceramics" not in r.text  # in Chancheng


async def test_small_groups_withhold_their_equipment_states(english: English) -> None:
    # One enterprise in Nanhai: its state counts would be that enterprise's own.
    async with english("analyst") as c:
        html = (await c.get("/districts/nanhai")).text
    assert 'id="states-withheld"' in html
    assert "data-state-count" not in html


async def test_groups_large_enough_show_their_equipment_states(
    english: English, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    kpi = runtime.settings.kpi.model_copy(update={"min_enterprises": 1})
    monkeypatch.setattr(runtime, "settings", runtime.settings.model_copy(update={"kpi": kpi}))
    async with english("analyst") as c:
        html = (await c.get("/districts/nanhai")).text
    assert 'id="states-withheld"' not in html
    assert re.search(r'data-state-count="down_fault">1<', html)
    assert re.search(r'data-state-count="idle">1<', html)


async def test_the_city_sees_every_enterprise_of_a_group_without_links(english: English) -> None:
    async with english("analyst") as c:
        html = (await c.get("/industries/ceramics")).text
    assert table_names(html) == ["Huamei Ceramics"]
    assert "/enterprises/" not in html


async def test_an_enterprise_sees_only_itself_in_a_group_table(english: English) -> None:
    async with english("acme") as c:
        ceramics = (await c.get("/industries/ceramics")).text
        cars = (await c.get("/industries/C3670")).text
    assert "Huamei" not in ceramics  # another tenant: counted, never named
    assert re.findall(r'<span class="fact-value">([\d,]+)</span>', ceramics)[0] == "1"
    assert '<a href="/enterprises/acme-auto">Acme Auto Parts</a>' in cars


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/districts/atlantis", "atlantis"),
        ("/industries/C9", "C9"),
        ("/industries/tea", "tea"),
        ("/lines/999999", "999999"),
        ("/lines/tandem-a", "tandem-a"),
        ("/stations/999999", "999999"),
        ("/enterprises/acme-auto/sites/nowhere", "nowhere"),
    ],
)
async def test_unknown_groups_and_assets_are_not_found_naming_what(
    english: English, path: str, named: str
) -> None:
    async with english("acme") as c:
        r = await c.get(path)
    assert r.status_code == 404
    assert named in r.text


# -- site, line, station: one enterprise's own data --------------------------------------------


async def test_another_enterprises_site_line_and_station_are_not_found(
    english: English, runtime: Runtime
) -> None:
    n = ids(runtime)
    async with english("acme") as c:
        for path in (
            f"/lines/{n['other_line']}",
            f"/stations/{n['other_station']}",
            "/enterprises/huamei-ceramics/sites/plant",
        ):
            r = await c.get(path)
            assert r.status_code == 404, path
            assert "Huamei" not in r.text, path
            assert "Roller kiln" not in r.text, path


async def test_the_city_may_not_open_a_site_line_or_station(
    english: English, runtime: Runtime
) -> None:
    n = ids(runtime)
    async with english("analyst") as c:
        for path in (
            f"/lines/{n['line']}",
            f"/stations/{n['op10']}",
            "/enterprises/acme-auto/sites/nanhai-1",
        ):
            r = await c.get(path)
            assert r.status_code == 403, path
            assert "Tandem" not in r.text, path


async def test_a_viewer_opens_its_own_line_with_equipment_in_flow_order(
    english: English, runtime: Runtime
) -> None:
    n = ids(runtime)
    async with english("huamei") as c:
        assert (await c.get(f"/lines/{n['line']}")).status_code == 404
    async with english("acme") as c:
        r = await c.get(f"/lines/{n['line']}")
    assert r.status_code == 200
    html = r.text
    flow = html.split('class="stations flow"')[1]
    assert flow.index("OP10") < flow.index("OP20")
    press1 = cast_tile(html, n["press1"])
    assert "state-down_fault" in press1
    assert 'data-live="/live/enterprises/acme-auto"' in html
    assert 'href="/enterprises/acme-auto/kpi"' in html
    assert 'id="line-kpis"' in html


def cast_tile(html: str, equipment: int) -> str:
    found = re.search(rf'<a class="tile ([^"]+)" href="/equipment/{equipment}"', html)
    assert found, f"no tile for {equipment}"
    return found.group(1)


async def test_the_line_page_counts_only_its_own_equipment(
    english: English, runtime: Runtime
) -> None:
    n = ids(runtime)
    async with english("acme") as c:
        html = (await c.get(f"/lines/{n['line']}")).text
    assert re.search(r'data-state-count="down_fault">1<', html)
    assert re.search(r'data-state-count="idle">1<', html)
    assert re.search(r'data-state-count="unknown">0<', html)  # Huamei's kiln is not on it


async def test_the_line_page_leaves_a_slot_for_the_advisor(
    english: English, runtime: Runtime
) -> None:
    from kiln.web.rendering import TEMPLATES_DIR

    source = (TEMPLATES_DIR / "line.html").read_text()
    assert '{% include "advisor_line_slot.html" ignore missing %}' in source
    async with english("acme") as c:
        assert (await c.get(f"/lines/{ids(runtime)['line']}")).status_code == 200


async def test_a_station_page_shows_its_equipment_and_neighbours(
    english: English, runtime: Runtime
) -> None:
    n = ids(runtime)
    async with english("acme") as c:
        html = (await c.get(f"/stations/{n['op10']}")).text
    assert "Draw press" in html
    assert "Trim press" not in html
    assert f'href="/stations/{n["op20"]}" rel="next"' in html
    assert "state-down_fault" in cast_tile(html, n["press1"])


async def test_a_site_page_lists_its_lines_linked(english: English, runtime: Runtime) -> None:
    n = ids(runtime)
    async with english("acme") as c:
        html = (await c.get("/enterprises/acme-auto/sites/nanhai-1")).text
    assert f'<a href="/lines/{n["line"]}">Tandem line A</a>' in html
    assert 'data-live="/live/enterprises/acme-auto"' in html


async def test_the_equipment_page_shows_its_kpis_and_alarms(
    english: English, runtime: Runtime
) -> None:
    n = ids(runtime)
    async with english("acme") as c:
        html = (await c.get(f"/equipment/{n['press1']}")).text
    assert 'id="equipment-kpis"' in html
    assert 'id="equipment-alarms"' in html
    assert f'href="/lines/{n["line"]}"' in html
    assert 'id="timeline"' in html
    assert 'class="chart"' in html


# -- the city page: one page of a sorted table ---------------------------------------------------


async def test_the_city_table_sorts_by_a_column_both_ways(english: English) -> None:
    async with english("analyst") as c:
        up = table_names((await c.get("/?sort=equipment&order=asc")).text)
        down = table_names((await c.get("/?sort=equipment&order=desc")).text)
        odd = await c.get("/?sort=nonsense&order=sideways&page=-3")
    async with english("analyst") as c:
        html = (await c.get("/?sort=equipment&order=asc")).text
    assert 'href="/?sort=equipment&amp;order=desc&amp;page=1#enterprises"' in html  # flips
    assert '<th scope="col" class="num" aria-sort="ascending">Equipment' in html
    assert up == ["Huamei Ceramics", "Acme Auto Parts"]  # 1 equipment, then 2
    assert down == ["Acme Auto Parts", "Huamei Ceramics"]
    assert odd.status_code == 200
    assert table_names(odd.text) == ["Acme Auto Parts", "Huamei Ceramics"]


async def test_the_city_table_is_paged(english: English, runtime: Runtime) -> None:
    from kiln.web import navigation_table

    navigation_table.PAGE_SIZE, old = 1, navigation_table.PAGE_SIZE
    try:
        async with english("analyst") as c:
            first = (await c.get("/")).text
            second = (await c.get("/?page=2")).text
            beyond = (await c.get("/?page=99")).text
    finally:
        navigation_table.PAGE_SIZE = old
    assert table_names(first) == ["Acme Auto Parts"]
    assert table_names(second) == ["Huamei Ceramics"]
    assert table_names(beyond) == ["Huamei Ceramics"]  # the last page
    assert 'rel="next"' in first
    assert 'rel="prev"' not in first
    assert "Page 1 of 2" in first


async def test_the_city_links_its_districts_and_industries(english: English) -> None:
    async with english("analyst") as c:
        html = (await c.get("/")).text
    assert '<a href="/districts/shunde">Shunde</a>' in html
    assert '<a href="/industries/ceramics">Ceramics and building materials</a>' in html
    assert 'role="search"' in html
    # equipment by state, counted for the whole city: two presses and the silent kiln
    assert re.search(r'data-state-count="down_fault">1<', html)
    assert re.search(r'data-state-count="idle">1<', html)
    assert re.search(r'data-state-count="unknown">1<', html)
