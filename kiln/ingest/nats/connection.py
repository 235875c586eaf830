"""Reaching NATS JetStream as the settings say: client options (TLS, user and password or a
token), the stream (created when missing) and the durable pull consumer the workers share."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
)

from kiln.config_ingest import NatsSettings
from kiln.errors import ConfigError, Unavailable

CONNECT_TIMEOUT_S = 5  # TCP and TLS handshake of one attempt
PING_INTERVAL_S = 10  # a silent server is noticed after about three of these
MAX_OUTSTANDING_PINGS = 3
API_TIMEOUT_S = 5.0  # JetStream API requests (stream and consumer info, creation)
# Un-acknowledged messages the durable hands out at once, over all its workers: each worker
# holds one fetch at a time, so this only needs to exceed workers x batch (the server's
# default of 1000 would starve a tenth worker fetching 100 at a time).
MAX_ACK_PENDING = 100_000


def tls_context(cfg: NatsSettings) -> ssl.SSLContext | None:
    """The TLS context the settings ask for (None without TLS); ConfigError for a missing file."""
    if not cfg.tls:
        return None
    for key in ("ca_file", "cert_file", "key_file"):
        path = getattr(cfg, key)
        if path is not None and not path.is_file():
            raise ConfigError(f"{path} is not a readable file", where=key)
    context = ssl.create_default_context(cafile=str(cfg.ca_file) if cfg.ca_file else None)
    if cfg.cert_file is not None and cfg.key_file is not None:
        context.load_cert_chain(str(cfg.cert_file), str(cfg.key_file))
    return context


async def connect(
    cfg: NatsSettings,
    *,
    name: str,
    tls: ssl.SSLContext | None,
    reconnect: bool,
    on_closed: Callable[[], Awaitable[None]] | None = None,
) -> Client:
    """A connected client. With ``reconnect`` nats-py reconnects by itself (a publisher that
    only needs its messages to get through); without, the connection closes when lost and the
    caller reconnects with its own backoff (raising nats errors or OSError when it cannot)."""

    async def quiet(err: Exception) -> None:
        """nats-py logs every error it meets; the caller reports trouble once instead."""

    options: dict[str, Any] = {
        "servers": cfg.servers,
        "name": name,
        "connect_timeout": CONNECT_TIMEOUT_S,
        "ping_interval": PING_INTERVAL_S,
        "max_outstanding_pings": MAX_OUTSTANDING_PINGS,
        "allow_reconnect": reconnect,
        "error_cb": quiet,
    }
    if reconnect:
        options["max_reconnect_attempts"] = -1
        options["reconnect_time_wait"] = min(2.0, cfg.reconnect_max_s)
    if on_closed is not None:
        options["closed_cb"] = on_closed
    if tls is not None:
        options["tls"] = tls
    if cfg.token:
        options["token"] = cfg.token
    elif cfg.user:
        options["user"] = cfg.user
        options["password"] = cfg.password
    return await nats.connect(**options)


async def ensure_stream(js: JetStreamContext, cfg: NatsSettings) -> StreamInfo:
    """The stream's info; created first when missing and ``create_stream`` allows it."""
    try:
        return await js.stream_info(cfg.stream)
    except nats.js.errors.NotFoundError:
        if not cfg.create_stream:
            raise Unavailable(
                f"JetStream has no stream {cfg.stream!r} and create_stream is false",
                where=f"nats:{cfg.name}",
            ) from None
    config = StreamConfig(
        name=cfg.stream,
        subjects=list(cfg.subjects),
        retention=RetentionPolicy(cfg.retention),
        storage=StorageType.FILE,
        max_age=cfg.max_age_s or None,
    )
    try:
        return await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        return await js.stream_info(cfg.stream)  # another worker created it meanwhile


def consumer_config(cfg: NatsSettings) -> ConsumerConfig:
    """The durable pull consumer every worker binds to (created by the first one)."""
    return ConsumerConfig(
        durable_name=cfg.durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=cfg.ack_wait_s,
        max_deliver=cfg.max_deliver,
        max_ack_pending=MAX_ACK_PENDING,
        filter_subject=cfg.subjects[0] if len(cfg.subjects) == 1 else None,
        filter_subjects=list(cfg.subjects) if len(cfg.subjects) > 1 else None,
    )


async def pull_subscription(
    js: JetStreamContext, cfg: NatsSettings
) -> JetStreamContext.PullSubscription:
    """Bind to the shared durable consumer, creating it when this is the first worker."""
    return await js.pull_subscribe(
        cfg.subjects[0], durable=cfg.durable, stream=cfg.stream, config=consumer_config(cfg)
    )
