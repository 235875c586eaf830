"""MqttAdapter: a unified-namespace subscription whose JSON messages become committed bundles.

Messages that arrive together are decoded as one batch (everything queued when the adapter gets
to it, up to MAX_BATCH messages) and submitted once. With QoS 1 the broker session outlives the
connection and every message of a batch is acknowledged only after ``sink.submit`` returned, so
a crash or a failed commit loses nothing: the broker delivers the unacknowledged messages again
(at least once). With ``dedupe`` (the default for QoS 1) each message is committed under an
identity made of its topic and a digest of its payload, which holds its timestamps: a message
the broker delivers again after its batch committed finds its identity claimed and stores
nothing twice, as a JetStream message does with its stream sequence.

With ``shared_group`` several workers subscribe to ``$share/<group>/<filter>`` (MQTT 5) and the
broker hands each message to one of them; each worker keeps its own persistent session under a
client id that survives its restarts (see ``client_id``).
"""

from __future__ import annotations

import asyncio
import hashlib
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
                    if self.cfg.qos == 1 and self.cfg.dedupe:
                        items = self.decode_each(batch, sink)
                    else:
                        decoded = self.decode(batch, sink)
                        items = [(bundle, batch_id) for batch_id, bundle in decoded.keyed]
                        if len(decoded.bundle):
                            items.append((decoded.bundle, None))
                    if items:
                        await self._submit(sink, items)
                    conn.ack(batch)
        finally:
            self.subscribed.clear()

    def decode(self, batch: list[Received], sink: Sink) -> Decoded:
        """Decode a batch of messages into one bundle; refused ones go to the dead letters."""
        decoder = self._decoder(batch, sink)
        decoded = decoder.finish()
        self._refuse(batch, decoded.refused, sink)
        return decoded

    def decode_each(self, batch: list[Received], sink: Sink) -> list[tuple[Bundle, str | None]]:
        """Decode a batch message by message: (bundle, identity) per message with rows, the
        identity a Kiln batch names or else the message's own (topic and payload digest)."""
        each = self._decoder(batch, sink).finish_each()
        self._refuse(batch, each.refused, sink)
        return [
            (bundle, own_id or message_id(batch[i].topic, batch[i].payload))
            for i, (bundle, own_id) in each.bundles.items()
        ]

    def _decoder(self, batch: list[Received], sink: Sink) -> BatchDecoder:
        catalog = sink.catalog
        decoder = BatchDecoder(catalog, sink.now_ms())
        route = self.namespace.route
        for i, msg in enumerate(batch):
            r = route(msg.topic, catalog)
            if isinstance(r, Refused):
                decoder.refused[i] = r.reason
            else:
                decoder.add(i, r, msg.payload)
        self.received += len(batch)
        return decoder

    def _refuse(self, batch: list[Received], refused: dict[int, str], sink: Sink) -> None:
        catalog, now_ms, route = sink.catalog, sink.now_ms(), self.namespace.route
        for i in sorted(refused):
            msg, reason = batch[i], refused[i]
            ent = route(msg.topic, catalog).enterprise_id
            sink.dead_letter(
                DeadLetter(now_ms, self.label, msg.topic, reason, msg.payload[:PAYLOAD_HEAD], ent)
            )
        self.refused += len(refused)

    async def _submit(self, sink: Sink, items: list[tuple[Bundle, str | None]]) -> None:
        """Commit, retrying with backoff while the store fails: the messages stay unacknowledged
        (QoS 1) and the broker holds the rest back, so nothing is lost while it is down."""
        pause = FIRST_RETRY_S
        failing = False
        while True:
            try:
                await sink.submit_group(items)
            except asyncio.CancelledError:
                raise
            except Exception:
                if not failing:
                    log.exception(
                        "%s could not commit %d rows; retrying with backoff up to %g s",
                        self.label,
                        sum(len(bundle) for bundle, _ in items),
                        self.cfg.reconnect_max_s,
                    )
                    failing = True
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.cfg.reconnect_max_s)
                continue
            if failing:
                log.info("%s commits again", self.label)
            return


def message_id(topic: str, payload: bytes) -> str:
    """A message's identity from what it says: the same message always gets the same one.

    The topic is in the digest, not spelled out: a stored identity is 37 characters whatever the
    topic's length (one is kept per message for [store] batch_ids_days).
    """
    digest = hashlib.blake2b(topic.encode(), digest_size=16)
    digest.update(b"\x00")
    digest.update(payload)
    return f"mqtt:{digest.hexdigest()}"
