"""User name and password against Kiln's broker files, and TLS with a throwaway CA."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiln.auth.broker import INGEST_USER, Gateway, acl_file, mosquitto_hash, passwd_file
from kiln.config_ingest import MqttSettings
from kiln.errors import ConfigError
from kiln.ingest.mqtt.adapter import MqttAdapter
from kiln.runtime import Runtime
from tests.ingest.mqtt.conftest import (
    PRESS,
    T0,
    Broker,
    apublish,
    running,
    series,
    settled,
    stored,
    until,
)

INGEST_PASSWORD = "ingest-secret-1"
GATEWAY = ("acme-auto.1", "gateway-secret-1")


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker that knows Kiln's ingest user and one Acme gateway, and refuses anonymous."""
    gw = Gateway(GATEWAY[0], mosquitto_hash(GATEWAY[1]), "acme-auto", ())
    (tmp_path / "passwd").write_text(passwd_file([gw], mosquitto_hash(INGEST_PASSWORD)))
    (tmp_path / "acl").write_text(acl_file([gw]))
    b = Broker(
        tmp_path,
        [
            "allow_anonymous false",
            f"password_file {tmp_path / 'passwd'}",
            f"acl_file {tmp_path / 'acl'}",
        ],
    )
    yield b
    b.stop()


def adapter(port: int, **settings: object) -> MqttAdapter:
    cfg = {"name": "plant", "port": port, "reconnect_max_s": 0.5, **settings}
    return MqttAdapter(MqttSettings.model_validate(cfg))


def reading(k: int) -> tuple[str, bytes]:
    return (f"{PRESS}/telemetry/tonnage", orjson.dumps({"v": float(k), "ts": T0 + k}))


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_the_ingest_user_reads_what_a_gateway_writes(
    runtime: Runtime, auth_broker: Broker, protocol: str
) -> None:
    a = adapter(auth_broker.port, protocol=protocol, username=INGEST_USER, password=INGEST_PASSWORD)
    async with running(a, runtime.sink):
        await apublish(auth_broker.port, [reading(1), reading(2)], auth=GATEWAY)
        await settled(runtime, a, 2)
    assert stored(runtime, series(runtime, "press-1", "tonnage")) == [(T0 + 1, 1.0), (T0 + 2, 2.0)]


async def test_a_wrong_password_is_logged_once_and_retried(
    runtime: Runtime, auth_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "kiln.ingest.mqtt.connection")
    a = adapter(auth_broker.port, username=INGEST_USER, password="wrong")
    task = asyncio.create_task(a.run(runtime.sink))
    try:
        await until(lambda: "refused the connection" in caplog.text, "the refusal")
        await asyncio.sleep(1.5)  # a few more attempts, 0.5 s apart
        assert not a.subscribed.is_set()
        assert not task.done()  # refused credentials do not end the adapter
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    refusals = [r.getMessage() for r in caplog.records if "refused the connection" in r.message]
    assert len(refusals) == 1
    assert "Not authorized" in refusals[0] or "Bad user name or password" in refusals[0]


# -- TLS -------------------------------------------------------------------------------------


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    server: bool = False,
    client: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    b = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if server:
        b = b.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if client:
        b = b.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return b.sign(issuer[1] if issuer else key, hashes.SHA256())


def _write(
    folder: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """A throwaway CA with a server certificate for 127.0.0.1 and a client certificate, and a
    second CA that signed none of them."""
    folder = tmp_path / "pki"
    folder.mkdir()
    ca_key = _key()
    ca = _cert("kiln test CA", ca_key, None)
    _write(folder, "ca", ca, ca_key)
    for name, role in (("server", {"server": True}), ("client", {"client": True})):
        key = _key()
        _write(folder, name, _cert(f"kiln test {name}", key, (ca, ca_key), **role), key)
    other_key = _key()
    _write(folder, "other-ca", _cert("someone else", other_key, None), other_key)
    return folder


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Path) -> Iterator[Broker]:
    """A broker that speaks only TLS and wants a client certificate from our CA."""
    b = Broker(
        tmp_path,
        [
            f"cafile {pki / 'ca.crt'}",
            f"certfile {pki / 'server.crt'}",
            f"keyfile {pki / 'server.key'}",
            "require_certificate true",
        ],
    )
    yield b
    b.stop()


def tls_settings(pki: Path, ca: str = "ca") -> dict[str, object]:
    return {
        "tls": True,
        "ca_file": str(pki / f"{ca}.crt"),
        "cert_file": str(pki / "client.crt"),
        "key_file": str(pki / "client.key"),
    }


async def test_tls_with_a_client_certificate(
    runtime: Runtime, tls_broker: Broker, pki: Path
) -> None:
    a = adapter(tls_broker.port, **tls_settings(pki))
    client_tls = {
        "ca_certs": str(pki / "ca.crt"),
        "certfile": str(pki / "client.crt"),
        "keyfile": str(pki / "client.key"),
    }
    async with running(a, runtime.sink):
        await apublish(tls_broker.port, [reading(7)], tls=client_tls)
        await settled(runtime, a, 1)
    assert stored(runtime, series(runtime, "press-1", "tonnage")) == [(T0 + 7, 7.0)]


async def test_a_server_our_ca_did_not_sign_is_not_trusted(
    runtime: Runtime, tls_broker: Broker, pki: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a = adapter(tls_broker.port, **tls_settings(pki, ca="other-ca"))
    task = asyncio.create_task(a.run(runtime.sink))
    try:
        await asyncio.sleep(1.0)
        assert not a.subscribed.is_set()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text or "certificate verify" in caplog.text


async def test_a_missing_certificate_file_is_a_configuration_error(
    runtime: Runtime, pki: Path
) -> None:
    a = adapter(1883, **{**tls_settings(pki), "ca_file": str(pki / "nope.crt")})
    with pytest.raises(ConfigError, match=r"ca_file: .*nope\.crt is not a readable file"):
        await a.run(runtime.sink)
