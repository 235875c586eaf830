"""The solution catalogue's pages: a provider adds an entry through the form and sees it listed;
a wrong field comes back next to that field; others read it but cannot change it."""

from __future__ import annotations

import re

import httpx

from kiln.advisor.catalogue import Range, Solution
from kiln.runtime import Runtime
from tests.web.conftest import NOW_MS, ClientFactory

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def csrf_of(c: httpx.AsyncClient) -> str:
    m = CSRF.search((await c.get("/solutions/new")).text)
    assert m is not None
    return m.group(1)


def form(csrf: str, **changes: str | list[str]) -> dict[str, str | list[str]]:
    data: dict[str, str | list[str]] = {
        "csrf": csrf,
        "name": "Press tending robot",
        "summary": "Loads blanks into the draw press",
        "industries": "3670, 36",
        "processes": ["machine_tending", "loading"],
        "losses": ["labour", "availability"],
        "payload_kg_min": "20",
        "payload_kg_max": "80",
        "cycle_s_min": "6",
        "cycle_s_max": "12",
        "price_yuan_min": "600,000",
        "price_yuan_max": "1200000",
        "references": "Stamping plant, Shunde: 6 to 10 strokes a minute\n"
        "Second site: 4 operators freed",
    }
    return {**data, **changes}


def field_error(html: str, name: str) -> str:
    m = re.search(rf'<p class="field-error" id="{name}-error" role="alert">([^<]*)</p>', html)
    assert m is not None, f"no error shown for {name}"
    return m.group(1)


async def test_a_provider_adds_a_solution_and_sees_it_listed(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    r = await client.post("/solutions/new", data=form(await csrf_of(client)))
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/solutions/1")
    stored = runtime.store.solutions.get(1)
    assert stored is not None
    assert stored.enterprise_id == runtime.catalog.enterprise_by_slug["acme-auto"]
    assert stored.price_yuan == Range(600_000, 1_200_000)
    assert stored.references == (
        "Stamping plant, Shunde: 6 to 10 strokes a minute",
        "Second site: 4 operators freed",
    )
    page = (await client.get("/solutions?industry=3670&process=machine_tending")).text
    assert 'data-solution="1"' in page
    assert "Press tending robot" in page
    assert "Acme Auto Parts" in page
    assert 'href="/solutions"' in page  # the nav link
    entry = (await client.get("/solutions/1")).text
    assert "600,000–1,200,000" in entry
    assert 'id="edit-solution"' in entry
    assert "Second site: 4 operators freed" in entry
    assert 'data-solution="1"' not in (await client.get("/solutions?process=welding")).text


async def test_a_wrong_field_is_shown_next_to_it_and_nothing_is_stored(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    csrf = await csrf_of(client)
    r = await client.post(
        "/solutions/new",
        data=form(csrf, cycle_s_min="12", cycle_s_max="8", industries="9999", losses=[]),
    )
    assert r.status_code == 422
    assert field_error(r.text, "cycle_s") == "min 12 is above max 8"
    assert "not a GB/T 4754 manufacturing code" in field_error(r.text, "industries")
    assert field_error(r.text, "losses") == "names at least one"
    assert 'value="Press tending robot"' in r.text  # what was typed stays
    assert runtime.store.solutions.count() == 0
    r = await client.post("/solutions/new", data=form(csrf, payload_kg_min="heavy"))
    assert r.status_code == 422
    assert field_error(r.text, "payload_kg") == "min must be a number of kg"


async def test_a_form_without_the_csrf_token_is_refused(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    r = await client.post("/solutions/new", data=form("forged"))
    assert r.status_code == 403
    assert runtime.store.solutions.count() == 0


async def test_the_provider_edits_and_removes_its_entry(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    csrf = await csrf_of(client)
    await client.post("/solutions/new", data=form(csrf))
    edit = (await client.get("/solutions/1/edit")).text
    assert 'value="600000"' in edit
    assert 'value="machine_tending" checked' in edit
    r = await client.post("/solutions/1/edit", data=form(csrf, name="Twin press tending"))
    assert r.status_code == 303
    assert runtime.store.solutions.get(1).name == "Twin press tending"  # type: ignore[union-attr]
    r = await client.post("/solutions/1/delete", data={"csrf": csrf})
    assert r.status_code == 303
    assert runtime.store.solutions.get(1) is None


async def test_another_enterprise_reads_but_cannot_change_an_entry(
    runtime: Runtime, clients: ClientFactory
) -> None:
    acme = runtime.catalog.enterprise_by_slug["acme-auto"]
    runtime.store.solutions.add(
        Solution(0, acme, "Glaze robot", "", ("3072",), ("glazing",), ("quality",),
                 Range(450_000, 900_000), updated_ms=NOW_MS, updated_by="acme")
    )  # fmt: skip
    async with clients("huamei") as c:  # a viewer of another enterprise
        page = (await c.get("/solutions/1")).text
        assert "Glaze robot" in page
        assert 'id="edit-solution"' not in page
        assert 'id="add-solution"' not in (await c.get("/solutions")).text
        assert (await c.get("/solutions/1/edit")).status_code == 403
        assert (await c.get("/solutions/new")).status_code == 403
    async with clients("cityadmin") as c:
        assert 'id="edit-solution"' in (await c.get("/solutions/1")).text
        new = (await c.get("/solutions/new")).text
        assert '<select name="provider"' in new
    async with clients("analyst") as c:
        page = (await c.get("/solutions")).text
        assert 'data-solution="1"' in page
        assert 'data-industry="ceramics"' in page
