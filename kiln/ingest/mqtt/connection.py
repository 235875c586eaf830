"""MqttConnection: one paho-mqtt 2.x client session, driven by the asyncio event loop.

Paho's socket is registered with the event loop (paho's external-loop interface:
``loop_read``/``loop_write``/``loop_misc``), so paho, the decoding of what arrives and the
acknowledgements all run on the loop's thread (see loop_socket.py). A paho network thread
beside the loop, tried first, spent a third of its time waiting for the GIL and waking the loop;
on one loop, with paho_client.py's read-ahead and lean PUBLISH path, benchmarks/mqtt_ingest.py
went from about 0.4x to about 1x a bare paho subscriber. Only the blocking connect (TCP and
TLS handshake) runs in a worker thread. Reconnection with exponential backoff and shutdown are
ours. Messages are handed out in batches of whatever queued meanwhile; when the queue is full
the socket is not read until the consumer catches up (back-pressure, not an unbounded queue).
Typical use::

    conn = MqttConnection(settings, "mqtt", "plant", manual_ack=True, session_expiry_s=3600)
    conn.subscribe(["fs/v1/#"], qos=1)
    async with conn:  # start(), and close() at the end
        async for batch in conn.batches():
            ...  # decode and commit the batch
            conn.ack(batch)  # with manual_ack: PUBACK only now, after the commit

Subscriptions are made again on every (re)connect, and ``on_up`` runs (in order with the
messages) once they are acknowledged; ``on_down`` runs when the connection is lost. Every
method is for the event loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from kiln.config_ingest import BrokerSettings
from kiln.ingest.mqtt.loop_socket import LoopSocket
from kiln.ingest.mqtt.paho_client import make_client

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5  # first reconnect pause; it doubles up to settings.reconnect_max_s
MAX_QUEUED = 20_000  # messages waiting for the consumer before the socket is left unread


class Received(NamedTuple):
    """One message as the broker delivered it; ``session`` counts the connections so far."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    session: int


@dataclass(frozen=True, slots=True)
class Will:
    """A Last Will: what the broker publishes for us if the connection dies unannounced."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True, slots=True)
class _Event:
    """A change of connection state, queued in order with the messages."""

    up: bool
    session_present: bool = False


class MqttConnection:
    """A reconnecting MQTT client (3.1.1 or 5, TLS, user/password, Will) for asyncio code.

    ``will`` may be a callable: it is called (in the loop) before every connection attempt, as
    Sparkplug needs a fresh bdSeq or timestamp in each. ``session_expiry_s`` > 0 keeps the
    broker session across disconnects (clean session off in 3.1.1, session expiry in 5), so
    unacknowledged QoS 1 messages are delivered again after a reconnect or restart; 0 starts
    clean every time. ``receive_maximum`` (MQTT 5) caps the QoS 1 messages the broker sends
    before our acks; a 3.1.1 broker uses its own setting (Mosquitto: ``max_inflight_messages``,
    default 20).
    """

    def __init__(
        self,
        settings: BrokerSettings,
        kind: str,
        name: str,
        *,
        will: Will | Callable[[], Will] | None = None,
        session_expiry_s: int = 0,
        manual_ack: bool = False,
        receive_maximum: int | None = None,
        client_id: str | None = None,
        on_up: Callable[[bool], Awaitable[None]] | None = None,
        on_down: Callable[[], Awaitable[None]] | None = None,
        max_queued: int = MAX_QUEUED,
    ) -> None:
        self.settings = settings
        self.label = f"{kind}:{name} {settings.host}:{settings.port}"
        self.client_id = client_id or settings.client_id or f"kiln-{kind}-{name}"
        self._will = will
        self._manual_ack = manual_ack
        self._on_up, self._on_down = on_up, on_down
        self._max_queued = max_queued
        self._client = make_client(
            settings,
            self.client_id,
            manual_ack=manual_ack,
            session_expiry_s=session_expiry_s,
            receive_maximum=receive_maximum,
        )
        client = self._client
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message  # QoS 2 only: QoS 0 and 1 come to _deliver
        client.deliver = self._deliver
        client.on_publish = self._on_publish
        self._socket = LoopSocket(client, lambda: len(self._queue) >= max_queued)
        self._filters: list[tuple[str, int]] = []
        self._subscribing: dict[int, list[tuple[str, int]]] = {}  # SUBACK pending, by mid
        self._up_mid: int | None = None  # the SUBACK after which the connection counts as up
        self.session = 0  # connections made so far; each Received carries the one it came on
        self._up = self._was_up = self._session_present = False
        self._trouble: str | None = None  # the failure logged last, until it clears
        self._queue: deque[Received | _Event] = deque()
        self._waiting = False  # the consumer waits in batches() for something to arrive
        self._ready = asyncio.Event()
        self._connected = asyncio.Event()  # up, and the subscriptions acknowledged
        self._pub_futures: dict[int, asyncio.Future[bool]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    # -- set-up ------------------------------------------------------------------------------

    def subscribe(self, filters: Sequence[str], qos: int = 0) -> None:
        """Subscribe to topic filters now (if connected) and again on every reconnect."""
        new = [(f, qos) for f in filters if (f, qos) not in self._filters]
        self._filters += new
        if new and self._up:
            _, mid = self._client.subscribe(new)
            if mid is not None:
                self._subscribing[mid] = new

    async def start(self) -> None:
        """Start connecting; the connection reconnects with backoff by itself until close()."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._socket.attach()
        self._task = asyncio.create_task(self._supervise(), name=f"kiln-{self.client_id}")

    async def __aenter__(self) -> MqttConnection:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        """Whether the broker accepted the current connection (and it has not been lost)."""
        return self._up

    async def wait_connected(self) -> None:
        """Return once connected and subscribed (immediately if already)."""
        await self._connected.wait()

    # -- the consumer side -------------------------------------------------------------------

    async def batches(self, *, max_messages: int = 5_000) -> AsyncIterator[list[Received]]:
        """Yield what has arrived, as lists of up to max_messages, until the connection closes.

        A list holds what queued while the consumer was busy: one message when traffic is
        light, thousands under load. ``on_up``/``on_down`` run between lists, in arrival order.
        """
        queue = self._queue
        while not self._closing:
            if not queue:
                self._socket.resume()
                self._ready.clear()
                self._waiting = True
                await self._ready.wait()
                self._waiting = False
                continue
            batch: list[Received] = []
            event: _Event | None = None
            while queue and len(batch) < max_messages:
                item = queue.popleft()
                if type(item) is _Event:
                    event = item
                    break
                batch.append(item)  # type: ignore[arg-type]
            if self._socket.paused and len(queue) < self._max_queued // 2:
                self._socket.resume()
            if batch:
                yield batch
            if event is not None:
                await self._run_hook(event)

    async def _run_hook(self, event: _Event) -> None:
        if event.up:
            if self._on_up is not None:
                await self._on_up(event.session_present)
        elif self._on_down is not None:
            await self._on_down()

    def ack(self, messages: Iterable[Received]) -> int:
        """Acknowledge QoS 1 messages (with manual_ack) in the order given; return how many.

        Messages that came on an earlier connection are skipped: the broker delivers them again
        on the session that follows (with session_expiry_s > 0), and acknowledging a stale
        packet id could acknowledge a different message.
        """
        if not self._manual_ack or not self._up:
            return 0
        current, n = self.session, 0
        ack = self._client.ack
        for m in messages:
            if m.qos == 1 and m.session == current:
                ack(m.mid, 1)
                n += 1
        return n

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False
    ) -> asyncio.Future[bool]:
        """Publish; the future resolves True once sent (QoS 0) or acknowledged (QoS 1).

        It resolves False if the message could not be sent (QoS 0 while disconnected, a
        refusal by the broker, or close() first). QoS 1 messages published while disconnected
        are kept and sent after the reconnect. Awaiting the future is optional.
        """
        assert self._loop is not None, "start() first"
        fut: asyncio.Future[bool] = self._loop.create_future()
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        ok = info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS
        if ok or (info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos > 0):
            self._pub_futures[info.mid] = fut
        else:
            fut.set_result(False)
        return fut

    async def close(self) -> None:
        """Disconnect cleanly (no Will), stop reconnecting and fail pending publishes."""
        self._closing = self._socket.closing = True
        self._ready.set()  # a consumer waiting in batches() ends
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._socket.open:
            with contextlib.suppress(Exception):
                self._client.disconnect()
                self._client.loop_write()  # DISCONNECT is two bytes: it goes out at once
        if self._socket.open:  # not closed by paho after the DISCONNECT: close it ourselves
            self._socket.close_now()
        for fut in self._pub_futures.values():
            if not fut.done():
                fut.set_result(False)
        self._pub_futures.clear()

    # -- connecting ----------------------------------------------------------------------------

    async def _supervise(self) -> None:
        """Connect, serve the socket until it closes, back off, repeat (until cancelled)."""
        backoff = FIRST_BACKOFF_S
        client = self._client
        while True:
            will = self._will() if callable(self._will) else self._will
            if will is not None:
                client.will_set(will.topic, will.payload, will.qos, will.retain)
            self._socket.ended.clear()
            try:
                await asyncio.to_thread(client.reconnect)  # TCP and TLS; CONNECT is queued
            except asyncio.CancelledError:
                raise
            except Exception as err:  # DNS, refused, TLS: all retried
                self._report(f"unreachable ({type(err).__name__}: {err})")
            else:
                await self._serve()
            if self._was_up:  # a connection that worked starts the backoff afresh
                backoff = FIRST_BACKOFF_S
            self._was_up = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.settings.reconnect_max_s)

    async def _serve(self) -> None:
        """Keep the connection alive (paho's pings and ping timeouts) until its socket closes."""
        ended = self._socket.ended
        while not ended.is_set() and self._client.socket() is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await ended.wait()
            if not ended.is_set():
                self._client.loop_misc()

    def _report(self, trouble: str) -> None:
        """Log a failure once when it starts, not on every retry (a refusal always once)."""
        if self._trouble is None or (trouble != self._trouble and "refused" in trouble):
            log.warning(
                "%s %s; retrying with backoff up to %g s",
                self.label,
                trouble,
                self.settings.reconnect_max_s,
            )
        self._trouble = trouble

    def _put(self, item: Received | _Event) -> None:
        self._queue.append(item)
        if self._waiting:
            self._ready.set()

    # -- paho's callbacks (in the loop, from loop_read/loop_write/loop_misc) ------------------

    def _on_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._report(f"refused the connection ({reason})")
            return
        self.session += 1
        self._up = self._was_up = True
        self._session_present = bool(flags.session_present)
        if self._trouble is not None:
            log.info("%s reachable again", self.label)
            self._trouble = None
        if self._filters:
            filters = list(self._filters)
            _, mid = client.subscribe(filters)
            if mid is not None:
                self._subscribing[mid] = filters
                self._up_mid = mid
                return
        self._now_up()

    def _now_up(self) -> None:
        self._connected.set()
        self._put(_Event(True, self._session_present))

    def _on_subscribe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reasons: list[ReasonCode],
        props: Properties | None,
    ) -> None:
        filters = self._subscribing.pop(mid, [])
        for (topic, _), rc in zip(filters, reasons, strict=False):
            if rc.is_failure:
                log.error("%s refused the subscription to %r (%s)", self.label, topic, rc)
        if mid == self._up_mid:
            self._up_mid = None
            self._now_up()

    def _on_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        if self._up:
            self._up = False
            self._connected.clear()
            if not self._closing:
                self._report(f"lost the connection ({reason})")
            self._put(_Event(False))

    def _deliver(self, topic: bytes, payload: bytes, qos: int, retain: bool, mid: int) -> None:
        try:
            name = topic.decode()
        except UnicodeDecodeError:
            name = topic.decode("utf-8", "replace")  # the namespace will not know it
        self._queue.append(Received(name, payload, qos, retain, mid, self.session))
        if self._waiting:
            self._ready.set()

    def _on_message(self, client: paho.Client, userdata: object, msg: paho.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = bytes(msg._topic).decode("utf-8", "replace")
        self._put(Received(topic, bytes(msg.payload), msg.qos, msg.retain, msg.mid, self.session))

    def _on_publish(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        fut = self._pub_futures.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result(not reason.is_failure)


def hostname() -> str:
    """This machine's host name, for client ids that must differ between workers."""
    return socket.gethostname().split(".")[0].lower() or "host"
