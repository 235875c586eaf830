"""`kiln broker config`: Mosquitto users and ACLs from Kiln's device credentials."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from kiln.auth.broker import acl_file, mosquitto_conf, mosquitto_hash, passwd_file
from kiln.auth.service import Security
from kiln.cli.options import config_option, settings_from
from kiln.clock import SystemClock
from kiln.domain.catalog import AssetCatalog


def _write(path: Path, text: str, mode: int) -> None:
    # Write beside, then rename: the broker never reads a half-written file.
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


@click.group()
def broker() -> None:
    """Set up an MQTT broker (Mosquitto) for gateways that send to Kiln."""


@broker.command("config")
@config_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for passwd, acl, mosquitto.conf and kiln-ingest.password.",
)
@click.option("--port", type=int, default=1883, show_default=True, help="Listener port.")
def config(config_path: Path | None, out: Path, port: int) -> None:
    """Write Mosquitto's password file and ACL from the live device tokens.

    \b
    Each device token is an MQTT user named <enterprise>.<token id> whose password is the
    token itself. It may publish only under fs/v1/<enterprise>/# and its enterprise's
    Sparkplug groups; Kiln's own user, kiln-ingest, reads everything. Run it again after
    creating or revoking tokens, then reload the broker (kill -HUP).
    """
    from kiln.runtime import open_store

    settings = settings_from(config_path)
    store = open_store(settings)
    try:
        n = write_config(Security(store.accounts, SystemClock()), store.catalog(), out, port)
    finally:
        store.close()
    click.echo(
        f"{n} gateway(s); broker files in {out} (start: mosquitto -c {out / 'mosquitto.conf'}"
        "; the broker's user must be able to read them)"
    )


def write_config(security: Security, catalog: AssetCatalog, out: Path, port: int) -> int:
    """Write passwd, acl, mosquitto.conf and the ingest user's password; return gateways."""
    gateways = security.gateways(catalog)
    out.mkdir(parents=True, exist_ok=True)
    secret_file = out / "kiln-ingest.password"
    if not secret_file.exists():
        _write(secret_file, secrets.token_urlsafe(24) + "\n", 0o600)
    ingest_password = secret_file.read_text(encoding="utf-8").strip()
    _write(out / "passwd", passwd_file(gateways, mosquitto_hash(ingest_password)), 0o600)
    _write(out / "acl", acl_file(gateways), 0o644)
    _write(out / "mosquitto.conf", mosquitto_conf(str(out.resolve()), port), 0o644)
    return len(gateways)
