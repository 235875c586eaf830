"""MqttAdapter: a unified-namespace subscription whose JSON messages become committed bundles.

Messages that arrive together are decoded as one batch (everything queued when the adapter gets
to it, up to MAX_BATCH messages) and submitted once. With QoS 1 the broker session outlives the
connection and every message of a batch is acknowledged only after ``sink.submit`` returned, so
a crash or a failed commit loses nothing: the broker delivers the unacknowledged messages again
(at least once; a message redelivered after its batch committed is stored twice).

With ``shared_group`` several workers subscribe to ``$share/<group>/<filter>`` (MQTT 5) and the
broker hands each message to one of them; each worker keeps its own persistent session under a
client id that survives its restarts (see ``client_id``).
"""

from __future__ import annotations

import asyncio
import logging

from kiln.config_ingest import MqttSettings
from kiln.domain.batches import Bundle
from kiln.domain.dead_letters import PAYLOAD_HEAD, DeadLetter
from kiln.ingest.mqtt.connection import MqttConnection, Received, hostname
from kiln.ingest.mqtt.namespace import Namespace, Refused
from kiln.ingest.mqtt.payload import BatchDecoder, Decoded
from kiln.ingest.sink import Sink

log = logging.getLogger(__name__)

MAX_BATCH = 2_000  # messages decoded and committed together (about 40 ms of decoding)
RECEIVE_MAXIMUM = 10_000  # MQTT 5: QoS 1 messages the broker may send before our acks
SESSION_EXPIRY_S: int = MqttSettings.model_fields["session_expiry_s"].default  # for the benchmark
FIRST_RETRY_S = 0.2  # a failed commit is retried after this, doubling up to reconnect_max_s


class MqttAdapter:
    """Subscribes to ``<root>/#`` (or the configured filters) and delivers to a Sink."""

    kind = "mqtt"

    def __init__(self, cfg: MqttSettings) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.label = f"mqtt:{cfg.name}"
        self.namespace = Namespace(cfg.root)
        self.received = 0  # messages since start
        self.refused = 0  # of them, sent to the dead letters
        self.subscribed = asyncio.Event()  # set while connected with the subscriptions made
        self.connections = 0  # connections made (with the subscriptions) since start

    def filters(self) -> list[str]:
        """The topic filters subscribed, as shared subscriptions when a group is set."""
        filters = self.cfg.topics or [f"{self.namespace.root}/#"]
        if self.cfg.shared_group:
            filters = [f"$share/{self.cfg.shared_group}/{f}" for f in filters]
        return filters

    def client_id(self) -> str:
        """``<client_id>-<worker>`` in a shared group, else the client id (kiln-mqtt-<name>).

        Workers in a group need distinct ids, and each needs the same id after a restart: a
        broker keeps queueing a group's messages to an absent worker's session (Mosquitto 2
        does) until the session expires, so a worker that came back under a new id would leave
        them there. Hence the host name, not the process id, when ``worker`` is not set.
        """
        cfg = self.cfg
        base = cfg.client_id or f"kiln-mqtt-{cfg.name}"
        if not cfg.shared_group:
            return base
        return f"{base}-{cfg.worker or hostname()}"

    def connection(self) -> MqttConnection:
        """The broker connection this adapter's settings describe."""
        cfg = self.cfg
        acks = cfg.qos == 1
        return MqttConnection(
            cfg,
            self.kind,
            cfg.name,
            client_id=self.client_id(),
            manual_ack=acks,
            session_expiry_s=cfg.session_expiry_s if acks else 0,
            receive_maximum=RECEIVE_MAXIMUM if acks else None,
            on_up=self._up,
            on_down=self._down,
        )

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up with the subscriptions made."""
        return self.subscribed.is_set()

    async def _up(self, session_present: bool) -> None:
        self.connections += 1
        self.subscribed.set()

    async def _down(self) -> None:
        self.subscribed.clear()

    async def run(self, sink: Sink) -> None:
        """Deliver to the sink until cancelled; the connection reconnects by itself."""
        conn = self.connection()
        conn.subscribe(self.filters(), qos=self.cfg.qos)
        try:
            async with conn:
                async for batch in conn.batches(max_messages=MAX_BATCH):
                    decoded = self.decode(batch, sink)
                    for batch_id, bundle in decoded.keyed:
                        await self._submit(sink, bundle, batch_id)
                    if len(decoded.bundle):
                        await self._submit(sink, decoded.bundle, None)
                    conn.ack(batch)
        finally:
            self.subscribed.clear()

    def decode(self, batch: list[Received], sink: Sink) -> Decoded:
        """Decode a batch of messages; refused ones go to the sink's dead letters."""
        catalog, now_ms = sink.catalog, sink.now_ms()
        decoder = BatchDecoder(catalog, now_ms)
        route = self.namespace.route
        for i, msg in enumerate(batch):
            r = route(msg.topic, catalog)
            if isinstance(r, Refused):
                decoder.refused[i] = r.reason
            else:
                decoder.add(i, r, msg.payload)
        decoded = decoder.finish()
        self.received += len(batch)
        for i in sorted(decoded.refused):
            msg, reason = batch[i], decoded.refused[i]
            ent = route(msg.topic, catalog).enterprise_id
            sink.dead_letter(
                DeadLetter(now_ms, self.label, msg.topic, reason, msg.payload[:PAYLOAD_HEAD], ent)
            )
        self.refused += len(decoded.refused)
        return decoded

    async def _submit(self, sink: Sink, bundle: Bundle, batch_id: str | None) -> None:
        """Commit, retrying with backoff while the store fails: the messages stay unacknowledged
        (QoS 1) and the broker holds the rest back, so nothing is lost while it is down."""
        pause = FIRST_RETRY_S
        failing = False
        while True:
            try:
                await sink.submit(bundle, batch_id=batch_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                if not failing:
                    log.exception(
                        "%s could not commit %d rows; retrying with backoff up to %g s",
                        self.label,
                        len(bundle),
                        self.cfg.reconnect_max_s,
                    )
                    failing = True
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.cfg.reconnect_max_s)
                continue
            if failing:
                log.info("%s commits again", self.label)
            return
