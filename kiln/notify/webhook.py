"""Webhook delivery: one signed JSON POST per event, retried on failures that may pass.

Retried: connection errors, timeouts, 5xx and 429 (after Retry-After, when given). Not retried:
any other status, including redirects, which are not followed: a receiver that moved is a
setting to fix, and following a redirect would send the signed body somewhere unreviewed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import httpx

from kiln.domain.alarms import AlarmEvent
from kiln.notify.payload import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Names,
    encode,
    sign,
)
from kiln.notify.retry import Attempt, Outcome, Policy, parse_retry_after, with_retries
from kiln.notify.settings import WebhookTarget

USER_AGENT = "kiln-notify/1"


def classify(response: httpx.Response, now_s: float) -> Attempt:
    """Whether a response delivered the event, and whether trying again may help."""
    status = f"HTTP {response.status_code}"
    if response.is_success:
        return Attempt(ok=True, status=status)
    if response.status_code == 429 or response.status_code >= 500:
        after = parse_retry_after(response.headers.get("Retry-After"), now_s)
        return Attempt(ok=False, retry=True, status=status, retry_after_s=after)
    return Attempt(ok=False, retry=False, status=status)


class WebhookChannel:
    """Delivers events to one webhook target through a shared httpx client."""

    kind = "webhook"

    def __init__(
        self,
        target: WebhookTarget,
        client: httpx.AsyncClient,
        *,
        now_s: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.target = target
        self.client = client
        self.now_s = now_s
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.policy = Policy(target.max_attempts, target.first_backoff_s, target.max_backoff_s)

    async def send(self, event: AlarmEvent, names: Names, delivery_id: str) -> Outcome:
        """POST the event until it is accepted or the target's attempts run out."""
        body = encode(event, names)
        secret = self.target.secret.get_secret_value()

        async def attempt(n: int) -> Attempt:
            # Signed anew each attempt, so a retry after minutes still passes the replay check.
            stamp = int(self.now_s())
            headers = {
                **self.target.headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                DELIVERY_HEADER: delivery_id,
                TIMESTAMP_HEADER: str(stamp),
                SIGNATURE_HEADER: sign(secret, stamp, body),
            }
            try:
                response = await self.client.post(
                    self.target.url,
                    content=body,
                    headers=headers,
                    timeout=self.target.timeout_s,
                    follow_redirects=False,
                )
            except httpx.TimeoutException:
                return Attempt(ok=False, retry=True, status="timeout")
            except httpx.TransportError as err:
                return Attempt(ok=False, retry=True, status=f"{type(err).__name__}: {err}")
            return classify(response, self.now_s())

        return await with_retries(attempt, self.policy, rng=self.rng, sleep=self.sleep)
