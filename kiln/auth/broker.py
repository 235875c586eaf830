"""MQTT broker credentials and ACLs so that a gateway publishes only under its own enterprise.

Kiln writes Mosquitto's password file (PBKDF2-SHA512, Mosquitto's ``$7$`` format) and ACL file
from the device tokens it issued: the token's secret is the gateway's MQTT password, so one
credential serves HTTP and MQTT, and revoking the token removes the broker user at the next
``kiln broker config``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PBKDF2_ROUNDS = 101  # what mosquitto_passwd writes for $7$ (checked against mosquitto 2.0)
INGEST_USER = "kiln-ingest"


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    """A password hash in Mosquitto's $7$ (PBKDF2-SHA512) format.

    >>> mosquitto_hash("secret123", salt=base64.b64decode("TVgAUNTRi9BdS6gT"))[:30]
    '$7$101$TVgAUNTRi9BdS6gT$hhMni4'
    """
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ROUNDS)
    return (
        f"$7${PBKDF2_ROUNDS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    )


def broker_username(enterprise_slug: str, token_id: int) -> str:
    """The MQTT user name of a device token: its enterprise and id (``acme-auto.7``)."""
    return f"{enterprise_slug}.{token_id}"


@dataclass(frozen=True, slots=True)
class Gateway:
    """A device credential as the broker sees it."""

    username: str
    password_hash: str
    enterprise: str  # slug: its topics are fs/v1/<enterprise>/...
    sparkplug_groups: tuple[str, ...]  # group ids <enterprise>.<site>.<area>


def passwd_file(gateways: Iterable[Gateway], ingest_hash: str) -> str:
    """The Mosquitto password file: every gateway and Kiln's own ingest user."""
    lines = [f"{INGEST_USER}:{ingest_hash}"]
    lines += [f"{g.username}:{g.password_hash}" for g in gateways]
    return "\n".join(lines) + "\n"


def acl_file(gateways: Sequence[Gateway]) -> str:
    """The Mosquitto ACL: each gateway writes its enterprise's namespace only; Kiln reads all."""
    out = [
        "# Written by `kiln broker config`; do not edit by hand (it is rewritten).",
        f"user {INGEST_USER}",
        "topic read fs/v1/#",
        "topic readwrite spBv1.0/#",
        "",
    ]
    for g in gateways:
        out += [f"user {g.username}", f"topic write fs/v1/{g.enterprise}/#"]
        for group in g.sparkplug_groups:
            out += [
                f"topic write spBv1.0/{group}/#",
                f"topic read spBv1.0/{group}/NCMD/#",
                f"topic read spBv1.0/{group}/DCMD/#",
            ]
        out += ["topic read spBv1.0/STATE/#", ""]
    return "\n".join(out)


def mosquitto_conf(folder: str, port: int = 1883) -> str:
    """A Mosquitto configuration that uses the files above and refuses anonymous clients."""
    return "\n".join(
        [
            f"listener {port}",
            "allow_anonymous false",
            f"password_file {folder}/passwd",
            f"acl_file {folder}/acl",
            # MQTT 3.1.1 clients get 20 unacknowledged QoS 1 messages by default: too few for
            # a subscriber that acknowledges after each batch commit. And hold what arrives
            # while an ingest worker restarts, instead of dropping past 1,000.
            "max_inflight_messages 1000",
            "max_queued_messages 100000",
            "",
        ]
    )
