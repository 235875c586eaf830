"""One edge node's messages applied without a broker: node-wide decoding, order, restatements."""

from __future__ import annotations

import pytest

from kiln.domain.catalog import AssetCatalog
from kiln.domain.states import EquipmentState
from kiln.ingest.sparkplug.codec import Metric, decode_birth, encode
from kiln.ingest.sparkplug.columns import DataPayload
from kiln.ingest.sparkplug.datatypes import DataType as T
from kiln.ingest.sparkplug.edge_node import EdgeNode, Effects, Held
from kiln.ingest.sparkplug.recorded import Recorded
from kiln.ingest.sparkplug.session import SessionRules
from kiln.store.duckdb import DuckDBStore
from tests.conftest import NOW_MS, small_city

T0 = NOW_MS - 60_000
TOPIC = "spBv1.0/acme-auto.nanhai-1.press-shop/{verb}/tandem-a/{device}"
PRESS = {"telemetry/tonnage": 1, "telemetry/lube_temp": 2, "state/current": 3}
ROBOT = {"telemetry/j1_torque": 11, "telemetry/power": 12}


@pytest.fixture(scope="module")
def catalog() -> AssetCatalog:
    store = DuckDBStore(":memory:")
    cat = store.import_assets(small_city())
    store.close()
    return cat


class Node:
    """An EdgeNode with helpers that build its messages."""

    def __init__(self, catalog: AssetCatalog) -> None:
        self.node = EdgeNode(
            "acme-auto.nanhai-1.press-shop", "tandem-a", "acme-auto", SessionRules()
        )
        self.catalog = catalog
        self.recorded = Recorded()
        self.seq = 0

    def fx(self) -> Effects:
        return Effects(self.catalog, NOW_MS, 0, self.recorded)

    def birth(self, fx: Effects, devices: dict[str, dict[str, int]], bd_seq: int = 3) -> None:
        nbirth = encode([Metric("bdSeq", None, T.INT64, bd_seq, T0)], seq=0, ts_ms=T0)
        self.node.nbirth(decode_birth(nbirth), "nbirth", nbirth, fx)
        self.seq = 1
        for device, aliases in devices.items():
            self.dbirth(fx, device, aliases)

    def dbirth(self, fx: Effects, device: str, aliases: dict[str, int], **values: object) -> None:
        metrics = [
            Metric(
                name,
                a,
                T.STRING if name.startswith("state/") else T.DOUBLE,
                values.get(name.split("/")[1]),
                T0,
            )
            for name, a in aliases.items()
        ]
        raw = encode(metrics, seq=self.seq, ts_ms=T0)
        held = Held(
            "DBIRTH", device, TOPIC.format(verb="DBIRTH", device=device), raw, decode_birth(raw)
        )
        self.node.sequenced(held, self.seq, fx)
        self.seq += 1

    def ddata(self, fx: Effects, device: str, rows: list[tuple[int, int, object]]) -> None:
        metrics = [
            Metric(
                None, a, T.STRING if isinstance(v, str) else T.DOUBLE, v, ts, send_datatype=False
            )
            for a, ts, v in rows
        ]
        raw = encode(metrics, seq=self.seq, ts_ms=T0)
        held = Held(
            "DDATA", device, TOPIC.format(verb="DDATA", device=device), raw, DataPayload(raw)
        )
        self.node.sequenced(held, self.seq, fx)
        self.seq += 1


def series_of(catalog: AssetCatalog, equipment: str, signal: str) -> int:
    eq = catalog.equipment_id("acme-auto", equipment)
    assert eq is not None
    sid = catalog.series_id(eq, signal)
    assert sid is not None
    return sid


def test_data_of_several_devices_is_decoded_together_and_lands_per_equipment(
    catalog: AssetCatalog,
) -> None:
    n = Node(catalog)
    fx = n.fx()
    n.birth(fx, {"press-1": PRESS, "robot-1": ROBOT})
    n.ddata(fx, "press-1", [(1, T0, 7_000.0), (2, T0, 41.0)])
    n.ddata(fx, "robot-1", [(11, T0, 12.5), (12, T0 + 1, 3.3)])
    n.ddata(fx, "press-1", [(1, T0 + 1_000, 7_100.0)])
    assert fx.bundles == []  # nothing decoded before flush()
    n.node.flush(fx)
    [bundle] = fx.bundles
    assert fx.letters == []
    assert bundle.points.series.tolist() == [
        series_of(catalog, "press-1", "tonnage"),
        series_of(catalog, "press-1", "lube_temp"),
        series_of(catalog, "robot-1", "j1_torque"),
        series_of(catalog, "robot-1", "power"),
        series_of(catalog, "press-1", "tonnage"),
    ]
    assert bundle.points.value.tolist() == [7_000.0, 41.0, 12.5, 3.3, 7_100.0]


def test_an_alias_of_another_device_is_refused_and_the_rest_kept(catalog: AssetCatalog) -> None:
    n = Node(catalog)
    fx = n.fx()
    n.birth(fx, {"press-1": PRESS, "robot-1": ROBOT})
    n.ddata(fx, "press-1", [(1, T0, 7_000.0)])
    n.ddata(fx, "robot-1", [(1, T0, 5.0)])  # alias 1 is the press's tonnage, not the robot's
    n.ddata(fx, "robot-1", [(11, T0, 12.5)])
    n.node.flush(fx)
    values = sorted(v for b in fx.bundles for v in b.points.value.tolist())
    assert values == [12.5, 7_000.0]
    [letter] = fx.letters
    assert letter.reason == "unknown alias 1"
    assert letter.source.endswith("/DDATA/tandem-a/robot-1")
    assert fx.rebirths == [n.node]


def test_data_before_a_dbirth_is_read_with_the_table_it_was_sent_under(
    catalog: AssetCatalog,
) -> None:
    n = Node(catalog)
    fx = n.fx()
    n.birth(fx, {"press-1": PRESS})
    n.ddata(fx, "press-1", [(1, T0, 7_000.0)])  # alias 1: tonnage
    n.dbirth(fx, "press-1", {"telemetry/lube_temp": 1})  # now alias 1 is lube_temp
    n.ddata(fx, "press-1", [(1, T0 + 1_000, 44.0)])
    n.node.flush(fx)
    points = [
        (int(s), v)
        for b in fx.bundles
        for s, v in zip(b.points.series, b.points.value, strict=True)
    ]
    assert points == [
        (series_of(catalog, "press-1", "tonnage"), 7_000.0),
        (series_of(catalog, "press-1", "lube_temp"), 44.0),
    ]


def test_a_rebirth_does_not_store_restated_values_and_a_state_returns_after_ndeath(
    catalog: AssetCatalog,
) -> None:
    n = Node(catalog)
    fx = n.fx()
    n.birth(fx, {"press-1": PRESS})
    n.ddata(fx, "press-1", [(1, T0, 7_000.0), (3, T0, "running")])
    n.node.flush(fx)
    assert n.node.ndeath(3, fx)
    n.birth(fx, {}, bd_seq=4)
    n.dbirth(fx, "press-1", PRESS, tonnage=7_000.0, current="running")  # restates T0 values
    points = [v for b in fx.bundles for v in b.points.value.tolist()]
    assert points == [7_000.0]  # once, not twice
    changes = [
        (int(t), int(s), r)
        for b in fx.bundles
        for t, s, r in zip(b.states.ts_ms, b.states.state, b.states.reasons(), strict=True)
    ]
    assert changes == [
        (T0, EquipmentState.RUNNING, None),
        (NOW_MS, EquipmentState.UNKNOWN, "sparkplug offline"),
        (NOW_MS + 1, EquipmentState.RUNNING, None),  # known again from the new BIRTH on
    ]


def test_a_late_ndeath_changes_nothing(catalog: AssetCatalog) -> None:
    n = Node(catalog)
    fx = n.fx()
    n.birth(fx, {"press-1": PRESS}, bd_seq=8)
    assert not n.node.ndeath(7, fx)
    assert n.node.session.online
    assert n.node.session.bd_seq == 8
    assert fx.bundles == []  # no state recorded as unknown
    assert fx.letters == []


def test_node_level_metrics_belong_to_the_equipment_named_by_the_edge_node(
    catalog: AssetCatalog,
) -> None:
    # A press with its own gateway: the edge node id is the equipment's slug.
    node = EdgeNode("acme-auto", "press-1", "acme-auto", SessionRules())
    fx = Effects(catalog, NOW_MS, 0, Recorded())
    nbirth = encode(
        [
            Metric("bdSeq", None, T.INT64, 0, T0),
            Metric("telemetry/tonnage", 1, T.DOUBLE, None, T0),
        ],
        seq=0,
        ts_ms=T0,
    )
    node.nbirth(decode_birth(nbirth), "nbirth", nbirth, fx)
    ndata = encode([Metric(None, 1, T.DOUBLE, 6_500.0, T0, send_datatype=False)], seq=1, ts_ms=T0)
    node.sequenced(Held("NDATA", "", "ndata", ndata, DataPayload(ndata)), 1, fx)
    node.flush(fx)
    [bundle] = fx.bundles
    assert bundle.points.series.tolist() == [series_of(catalog, "press-1", "tonnage")]
    assert bundle.points.value.tolist() == [6_500.0]
    assert fx.letters == []
