"""`[[ingest.nats]]` settings refused by name, and subjects mapped onto the unified namespace."""

from __future__ import annotations

from pathlib import Path

import pytest
from nats.js.api import AckPolicy

from kiln.config import load_settings
from kiln.config_ingest import NatsSettings
from kiln.domain.catalog import AssetCatalog
from kiln.errors import ConfigError
from kiln.ingest.mqtt.namespace import Refused, Route
from kiln.ingest.nats.connection import consumer_config, tls_context
from kiln.ingest.nats.subjects import SubjectNamespace, subject_of, topic_of
from kiln.store.duckdb import DuckDBStore
from tests.conftest import small_city
from tests.ingest.nats.conftest import PRESS


@pytest.fixture(scope="module")
def catalog() -> AssetCatalog:
    store = DuckDBStore(":memory:")
    try:
        return store.import_assets(small_city())
    finally:
        store.close()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('token = "t"\nuser = "u"', "token and user: authenticate with one of them"),
        ("max_deliver = 0", "max_deliver: 0 would deliver nothing"),
        ('cert_file = "c.pem"', "cert_file and key_file: give both or neither"),
        ('stream = "kiln.data"', "ingest.nats.0.stream: String should match pattern"),
        ("batch = 0", "ingest.nats.0.batch: Input should be greater than or equal to 1"),
        ('retention = "forever"', "ingest.nats.0.retention: Input should be 'limits'"),
    ],
)
def test_a_bad_nats_setting_is_refused_by_name(tmp_path: Path, table: str, message: str) -> None:
    conf = tmp_path / "kiln.toml"
    conf.write_text(f'[[ingest.nats]]\nname = "bus"\n{table}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(conf, environ={})
    text = str(err.value).replace(str(tmp_path) + "/", "")
    assert text.startswith("kiln.toml: ingest.nats.0")
    assert message in text


def test_a_missing_tls_file_is_named(tmp_path: Path) -> None:
    conf = tmp_path / "kiln.toml"
    conf.write_text(
        f'[[ingest.nats]]\nname = "bus"\ntls = true\nca_file = "{tmp_path}/ca.pem"\n',
        encoding="utf-8",
    )
    [cfg] = load_settings(conf, environ={}).ingest.nats
    with pytest.raises(ConfigError, match=r"ca_file: .*ca\.pem is not a readable file"):
        tls_context(cfg)


def test_the_durable_is_the_same_for_every_worker_and_acknowledged_explicitly() -> None:
    one = consumer_config(NatsSettings(name="a", ack_wait_s=5, max_deliver=4))
    other = consumer_config(NatsSettings(name="b", ack_wait_s=5, max_deliver=4))
    assert one == other
    assert (one.durable_name, one.filter_subject, one.ack_wait, one.max_deliver) == (
        "kiln-ingest",
        "kiln.>",
        5,
        4,
    )
    assert one.ack_policy == AckPolicy.EXPLICIT


def test_subjects_and_topics_map_level_for_level(catalog: AssetCatalog) -> None:
    topic = "fs/v1/acme-auto/nanhai-1/press-shop/tandem-a/op10/press-1/telemetry/tonnage"
    subject = subject_of(topic)
    assert subject == f"{PRESS}.telemetry.tonnage"
    assert topic_of(subject) == "kiln/" + topic[3:]
    route = SubjectNamespace().route(subject, catalog)
    assert isinstance(route, Route)
    assert (route.kind, route.equipment) == ("telemetry", "press-1")
    assert route.series_id == catalog.series_by_name[(route.equipment_id, "tonnage")]
    with pytest.raises(ValueError, match="not under 'fs/v1/'"):
        subject_of("plant/press-1")


@pytest.mark.parametrize(
    ("subject", "reason"),
    [
        ("kiln.v2.acme-auto.x.press-1.count", "subjects start with 'kiln.v1.'"),
        ("kiln.v1.acme-auto.a/b.press-1.count", "'/' in a subject token"),
        ("kiln.v1.nobody.x.press-1.count", "unknown enterprise 'nobody'"),
        ("kiln.v1.acme-auto.x.press-9.count", "unknown equipment 'press-9' of 'acme-auto'"),
    ],
)
def test_a_subject_outside_the_namespace_is_refused_with_the_reason(
    catalog: AssetCatalog, subject: str, reason: str
) -> None:
    refused = SubjectNamespace().route(subject, catalog)
    assert isinstance(refused, Refused)
    assert reason in refused.reason


def test_a_subject_root_of_one_s_own_is_honoured(catalog: AssetCatalog) -> None:
    ns = SubjectNamespace("plant7.uns")
    assert isinstance(ns.route("plant7.uns.acme-auto.x.press-1.count", catalog), Route)
    assert isinstance(ns.route(f"{PRESS}.count", catalog), Refused)
