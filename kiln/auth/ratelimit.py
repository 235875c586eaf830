"""Token-bucket rate limits per key (a token, a user name, an address)."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at_s: float


class RateLimiter:
    """Allows `rate` events per second per key with bursts up to `burst`.

    >>> rl = RateLimiter(rate=1.0, burst=2)
    >>> [rl.take("k", now_s=0.0) for _ in range(3)]
    [0.0, 0.0, 1.0]
    """

    def __init__(self, rate: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate, self.burst, self.max_keys = rate, burst, max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str, *, now_s: float, cost: float = 1.0) -> float:
        """Take cost from the key's bucket: 0 if allowed, else seconds until it would be."""
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                if len(self._buckets) >= self.max_keys:
                    self._buckets.clear()  # bounded memory; an attacker gains at most one burst
                b = self._buckets[key] = _Bucket(float(self.burst), now_s)
            b.tokens = min(float(self.burst), b.tokens + (now_s - b.at_s) * self.rate)
            b.at_s = now_s
            if b.tokens >= cost:
                b.tokens -= cost
                return 0.0
            return (cost - b.tokens) / self.rate
