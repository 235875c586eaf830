"""The connectivity page shows what was refused, to whom it belongs, and nothing of others."""

from __future__ import annotations

from kiln.domain.dead_letters import DeadLetter
from kiln.runtime import Runtime
from tests.conftest import NOW_MS
from tests.web.conftest import ClientFactory


def refuse(rt: Runtime) -> None:
    cat = rt.catalog
    acme, huamei = cat.enterprise_by_slug["acme-auto"], cat.enterprise_by_slug["huamei-ceramics"]
    rt.store.write_dead_letters(
        [
            DeadLetter(
                NOW_MS, "mqtt:plant", "fs/v1/acme-auto/x/press-1", "not JSON", b"{<b>", acme
            ),
            DeadLetter(NOW_MS, "opcua:cell", "ns=2;s=Kiln.Zone3", "string value", b"hot", huamei),
            DeadLetter(NOW_MS, "mqtt:plant", "stray/topic", "outside the namespace", b"x"),
        ]
    )


async def test_an_enterprise_sees_its_own_refused_messages_escaped(
    runtime: Runtime, clients: ClientFactory
) -> None:
    refuse(runtime)
    async with clients("acme") as c:
        r = await c.get("/connectivity")
    assert r.status_code == 200
    html = r.text
    assert "fs/v1/acme-auto/x/press-1" in html
    assert "not JSON" in html
    assert "{&lt;b&gt;" in html  # payload bytes are shown as text, escaped
    assert "<b>" not in html.split('id="letter-table"')[1]
    assert "Kiln.Zone3" not in html  # another enterprise's source
    assert "stray/topic" not in html  # unattributed: the city admin's


async def test_the_city_admin_sees_unattributed_messages_and_every_count(
    runtime: Runtime, clients: ClientFactory
) -> None:
    refuse(runtime)
    async with clients("cityadmin") as c:
        html = (await c.get("/connectivity")).text
    letters = html.split('id="letter-table"')[1]
    assert "stray/topic" in letters
    assert "not JSON" not in letters  # an enterprise's payloads stay its own
    sources = html.split('id="source-table"')[1].split('id="letter-table"')[0]
    assert "ns=2;s=Kiln.Zone3" in sources
    assert "Huamei Ceramics" in sources


async def test_a_city_analyst_is_not_shown_the_page(clients: ClientFactory) -> None:
    async with clients("analyst") as c:
        r = await c.get("/connectivity")
    assert r.status_code == 403


async def test_sparkplug_edge_nodes_are_listed_to_their_enterprise(
    runtime: Runtime, clients: ClientFactory
) -> None:
    from kiln.config_ingest import SparkplugSettings
    from kiln.ingest.sparkplug.edge_node import EdgeNode
    from kiln.ingest.sparkplug.host import SparkplugHost

    host = SparkplugHost(SparkplugSettings(name="plant"))
    for group, node in (("acme-auto.nanhai-1.press", "tandem-a"), ("huamei-ceramics.p1", "kiln-1")):
        host.nodes[(group, node)] = EdgeNode(group, node, group.split(".")[0], host.rules)
    runtime.adapters.append(host)
    async with clients("acme") as c:
        html = (await c.get("/connectivity")).text
    nodes = html.split('id="node-table"')[1].split("</table>")[0]
    assert "acme-auto.nanhai-1.press/tandem-a" in nodes
    assert "offline" in nodes  # never born: no session
    assert "huamei" not in nodes
    async with clients("cityadmin") as c:
        html = (await c.get("/connectivity")).text
    assert "huamei-ceramics.p1/kiln-1" in html
