"""Broker credentials from device tokens, tried against a real Mosquitto: a gateway publishes
under its own enterprise only."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from kiln.auth.principal import Principal
from kiln.auth.roles import Role
from kiln.cli.broker import write_config
from kiln.runtime import Runtime
from tests.mosquitto import Mosquitto, free_port


def connect(port: int, user: str, password: str) -> tuple[mqtt.Client, ReasonCode]:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.username_pw_set(user, password)
    done = threading.Event()
    result: list[ReasonCode] = []

    def on_connect(
        client: mqtt.Client,
        userdata: object,
        flags: object,
        rc: ReasonCode,
        props: Properties | None,
    ) -> None:
        result.append(rc)
        done.set()

    c.on_connect = on_connect
    c.connect("127.0.0.1", port)
    c.loop_start()
    assert done.wait(5), "no CONNACK"
    return c, result[0]


def device_token(runtime: Runtime, enterprise: str) -> tuple[str, str]:
    eid = runtime.catalog.enterprise_by_slug[enterprise]
    admin = Principal(None, "admin", Role.ENTERPRISE_ADMIN, eid)
    token, row = runtime.security.create_token(admin, "gateway", role=Role.DEVICE)
    return f"{enterprise}.{row.id}", token


@pytest.mark.slow
def test_a_gateway_publishes_under_its_own_enterprise_only(
    runtime: Runtime, tmp_path: Path
) -> None:
    acme_user, acme_token = device_token(runtime, "acme-auto")
    revoked_user, revoked_token = device_token(runtime, "acme-auto")
    runtime.security.accounts.revoke_token(int(revoked_user.split(".")[1]), 1)
    port = free_port()
    out = tmp_path / "broker"
    assert write_config(runtime.security, runtime.catalog, out, port) == 1
    conf = out / "mosquitto.conf"
    if os.geteuid() == 0:  # as root, Mosquitto would drop to its own user and lose the files
        conf.write_text(conf.read_text() + "user root\n")
    broker = Mosquitto(conf, port)
    try:
        ingest_pw = (out / "kiln-ingest.password").read_text().strip()
        sub, rc = connect(port, "kiln-ingest", ingest_pw)
        assert rc == 0
        got: list[str] = []
        arrived = threading.Event()
        sub.on_message = lambda c, u, m: (got.append(m.topic), arrived.set())
        subscribed = threading.Event()
        sub.on_subscribe = lambda *a: subscribed.set()
        sub.subscribe("fs/v1/#", qos=1)
        assert subscribed.wait(5)

        gw, rc = connect(port, acme_user, acme_token)
        assert rc == 0
        acks: dict[int, ReasonCode] = {}
        acked = threading.Condition()

        def on_publish(c: mqtt.Client, u: object, mid: int, rc: ReasonCode, p: object) -> None:
            with acked:
                acks[mid] = rc
                acked.notify_all()

        gw.on_publish = on_publish
        theirs = gw.publish(
            "fs/v1/huamei-ceramics/plant/kilns/kiln-1/firing/kiln-1/telemetry/firing_temp",
            b'{"v": 1}',
            qos=1,
        )
        mine = gw.publish(
            "fs/v1/acme-auto/nanhai-1/press-shop/tandem-a/op10/press-1/telemetry/tonnage",
            b'{"v": 8000}',
            qos=1,
        )
        with acked:
            assert acked.wait_for(lambda: len(acks) == 2, timeout=5)
        assert acks[theirs.mid].is_failure  # "not authorized": the broker refused it
        assert not acks[mine.mid].is_failure
        assert arrived.wait(5)
        assert got == [
            "fs/v1/acme-auto/nanhai-1/press-shop/tandem-a/op10/press-1/telemetry/tonnage"
        ]

        _, rc = connect(port, revoked_user, revoked_token)
        assert rc.is_failure  # a revoked token is no broker user
        _, rc = connect(port, acme_user, "wrong")
        assert rc.is_failure
        for c in (sub, gw):
            c.loop_stop()
            c.disconnect()
    finally:
        broker.stop()


def test_the_cli_writes_the_broker_files(runtime: Runtime, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from kiln.cli import main

    device_token(runtime, "huamei-ceramics")
    path = runtime.settings.store.path
    runtime.close()  # the command opens the same DuckDB file
    out = tmp_path / "b"
    r = CliRunner().invoke(
        main, ["broker", "config", "--out", str(out)], env={"KILN_STORE__PATH": str(path)}
    )
    assert r.exit_code == 0, r.output
    acl = (out / "acl").read_text()
    assert "topic write fs/v1/huamei-ceramics/#" in acl
    assert "topic write spBv1.0/huamei-ceramics.plant.default/#" in acl
    assert (out / "passwd").stat().st_mode & 0o077 == 0
