"""Prometheus counters of notifications, registered in the registry the caller owns (the
runtime's ``Metrics.registry``), beside the rest of Kiln's metrics.

Targets are labelled by their place in the settings (``notify.webhooks[0]``), not their name:
/metrics answers without authentication and a target's name may carry an enterprise's slug.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter

RESULTS = ("sent", "failed", "dropped")


class NotifyMetrics:
    """The notifier's counters, and the calls that record them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.notifications = Counter(
            "kiln_notifications",
            "Alarm notifications by result: sent, failed (given up after its attempts) or "
            "dropped (its target's queue was full, or the notifier stopped first)",
            ["channel", "target", "result"],
            registry=registry,
        )
        self.attempts = Counter(
            "kiln_notification_attempts",
            "Delivery attempts, first tries and retries",
            ["channel", "target"],
            registry=registry,
        )

    def declare(self, targets: Iterable[tuple[str, str]]) -> None:
        """Show every (channel, target) at zero from the start, so rates work from the first."""
        for channel, target in targets:
            self.attempts.labels(channel, target)
            for result in RESULTS:
                self.notifications.labels(channel, target, result)

    def count(self, channel: str, target: str, result: str, n: int = 1) -> None:
        """Count n notifications of one target that ended with result."""
        self.notifications.labels(channel, target, result).inc(n)

    def tried(self, channel: str, target: str, attempts: int) -> None:
        """Count the attempts one delivery took."""
        self.attempts.labels(channel, target).inc(attempts)
