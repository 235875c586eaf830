"""A subscription that hands over each publish response as one list of data changes.

asyncua's own delivery makes one event (and, with a handler, one task) per changed value; we
override ``publish_callback`` so a publish response, which the server assembles once per
publishing interval, becomes one batch. asyncua's publish loop awaits the callback before it
acknowledges, so awaiting the store commit here acknowledges after the commit and slows the
loop, not memory, when the store falls behind.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Sequence

from asyncua import ua
from asyncua.client.ua_session import UaSession
from asyncua.common.subscription import Subscription
from asyncua.ua.attribute_ids import AttributeIds

KEEPALIVE_MS = 5_000.0  # an idle subscription still answers at least this often
LIFETIME_KEEPALIVES = 10  # the server drops our subscription after ~10 silent keep-alives
MAX_NOTIFICATIONS = 10_000  # per publish response: bounds one batch
MIN_QUEUE, MAX_QUEUE = 10, 1_000
FASTEST_SAMPLING_MS = 10.0  # what sampling_ms = 0 ("as fast as you can") is taken to mean
ITEMS_PER_CALL = 1_000  # monitored items created per CreateMonitoredItems request

Deliver = Callable[[list[ua.MonitoredItemNotification]], Awaitable[None]]
OnStatus = Callable[[ua.StatusCode], None]


def queue_size(sampling_ms: float, publishing_ms: float) -> int:
    """Values a monitored item keeps between publishes: twice the samples of one interval, so a
    late publish loses nothing, within [10, 1000].

    >>> queue_size(100, 1000), queue_size(1000, 1000), queue_size(0, 60_000)
    (20, 10, 1000)
    """
    per_publish = math.ceil(publishing_ms / max(sampling_ms, FASTEST_SAMPLING_MS))
    return min(MAX_QUEUE, max(MIN_QUEUE, 2 * per_publish))


def parameters(publishing_ms: float) -> ua.CreateSubscriptionParameters:
    """Subscription parameters: the publishing interval, a keep-alive every ~5 s."""
    keepalive = max(1, math.ceil(KEEPALIVE_MS / publishing_ms))
    return ua.CreateSubscriptionParameters(
        RequestedPublishingInterval=publishing_ms,
        RequestedLifetimeCount=keepalive * LIFETIME_KEEPALIVES,
        RequestedMaxKeepAliveCount=keepalive,
        MaxNotificationsPerPublish=MAX_NOTIFICATIONS,
        PublishingEnabled=True,
        Priority=0,
    )


def monitored_items(
    nodes: Sequence[tuple[int, ua.NodeId]], *, sampling_ms: float, queue: int
) -> list[ua.MonitoredItemCreateRequest]:
    """Requests for the Value of each (client handle, node).

    The trigger includes the timestamp, so a device reporting the same value again at a new
    time is stored again, as it would be over any other protocol.
    """
    changes = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp)
    return [
        ua.MonitoredItemCreateRequest(
            ItemToMonitor=ua.ReadValueId(NodeId=node, AttributeId=AttributeIds.Value),
            MonitoringMode=ua.MonitoringMode.Reporting,
            RequestedParameters=ua.MonitoringParameters(
                ClientHandle=handle,
                SamplingInterval=sampling_ms,
                QueueSize=queue,
                DiscardOldest=True,
                Filter=changes,
            ),
        )
        for handle, node in nodes
    ]


class BatchSubscription(Subscription):
    """A subscription whose data changes arrive one publish response at a time."""

    def __init__(
        self,
        session: UaSession,
        params: ua.CreateSubscriptionParameters,
        deliver: Deliver,
        on_status: OnStatus,
    ) -> None:
        super().__init__(session, params, None, queue_maxsize=1)
        self._deliver_batch = deliver
        self._on_status = on_status
        self.publishes = 0  # responses with data, since creation

    async def publish_callback(self, publish_result: ua.PublishResult) -> None:
        """Hand the data changes of one publish response over together; report status changes."""
        self.last_publish_at = time.monotonic()
        message = publish_result.NotificationMessage
        if not message.NotificationData:
            return  # a keep-alive: the subscription is alive and nothing changed
        self.last_sequence_number = int(message.SequenceNumber)
        items: list[ua.MonitoredItemNotification] = []
        for notification in message.NotificationData:
            if isinstance(notification, ua.DataChangeNotification):
                items.extend(notification.MonitoredItems)
            elif isinstance(notification, ua.StatusChangeNotification):
                self._on_status(notification.Status)
        if items:
            self.publishes += 1
            await self._deliver_batch(items)

    async def add(
        self, requests: list[ua.MonitoredItemCreateRequest]
    ) -> list[ua.StatusCode | None]:
        """Create the monitored items, a thousand per request; None where one was created, else
        the server's status for it."""
        out: list[ua.StatusCode | None] = []
        for start in range(0, len(requests), ITEMS_PER_CALL):
            results = await self.create_monitored_items(requests[start : start + ITEMS_PER_CALL])
            out.extend(r if isinstance(r, ua.StatusCode) else None for r in results)
        return out
