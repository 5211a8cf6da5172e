"""Per-key token buckets: one token per scored turn, refilled continuously.

A bucket holds at most ``burst`` tokens and refills at ``rate_per_minute / 60`` per second, so a
key may burst briefly but not exceed its rate over a minute. A request asks for as many tokens
as it has turns (capped at ``burst``, so a large request is slowed, never refused forever).
Buckets live in the worker's memory: with N uvicorn workers a key gets up to N times its rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float
    rate: float  # tokens per second
    burst: float


class RateLimiter:
    def __init__(
        self,
        rate_per_minute: int,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = 100_000,
    ) -> None:
        self.rate_per_minute = rate_per_minute
        self.burst = burst
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, cost: int = 1, rate_per_minute: int | None = None) -> float:
        """Take ``cost`` tokens from ``key``'s bucket. RETURNS 0.0 when granted, else the
        seconds to wait before the same request would be granted (nothing is taken)."""
        rate = (rate_per_minute or self.rate_per_minute) / 60.0
        burst = float(max(self.burst, 1))
        cost_f = float(min(max(cost, 1), burst))
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_buckets:
                    self._evict(now)
                bucket = self._buckets[key] = _Bucket(burst, now, rate, burst)
            bucket.rate = rate
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= cost_f:
                bucket.tokens -= cost_f
                return 0.0
            return (cost_f - bucket.tokens) / rate

    def _evict(self, now: float) -> None:
        # Full buckets carry no state worth keeping: a new one starts full too.
        full = [
            k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * b.rate >= b.burst
        ]
        for key in full or list(self._buckets)[: len(self._buckets) // 2]:
            del self._buckets[key]


def retry_after_header(seconds: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys it is granted."""
    return str(max(1, math.ceil(seconds)))
