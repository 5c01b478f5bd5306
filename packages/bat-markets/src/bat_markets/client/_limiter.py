"""Client-side rate limiter fed by request weights and the venue's usage headers.

One bucket per ``RateLimitRule`` (``weight``, ``orders`` or a venue bucket such as
``"POST /v5/order/create"``), plus buckets created on the fly from usage headers. Each bucket
knows two numbers: the local sliding-window sum of what we sent, and the venue's own count from
the last response (valid until the venue's window resets). The larger one is the usage; a request
that would push it over ``limit * safety`` waits (short waits) or is refused with ``RateLimited``
(long waits). After a 429/418/403 ban nothing is sent until the ban ends: every request raises
``RateLimited`` with the remaining ``retry_after`` immediately.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence

import anyio

from bat_markets.core import RateLimited, RateLimitRule, RateLimitUsage

from ._status import RateLimitDiagnostics

__all__ = ["RateLimiter"]


class _Bucket:
    __slots__ = ("floor", "floor_until", "key", "limit", "log", "sent", "window_s")

    def __init__(self, key: str, limit: int, window_s: float) -> None:
        self.key = key
        self.limit = limit
        self.window_s = window_s
        self.log: deque[tuple[float, int]] = deque()
        self.sent = 0  # sum of weights in ``log``
        self.floor = 0  # venue-reported usage
        self.floor_until = 0.0  # monotonic time the venue's count resets

    def _expire(self, now: float) -> None:
        log = self.log
        horizon = now - self.window_s
        while log and log[0][0] <= horizon:
            self.sent -= log.popleft()[1]
        if self.floor and now >= self.floor_until:
            self.floor = 0

    def used(self, now: float) -> int:
        self._expire(now)
        return max(self.sent, self.floor)

    def wait_for(self, weight: int, budget: float, now: float) -> float:
        """Seconds until ``weight`` more fits in ``budget`` (0 when it fits now)."""
        self._expire(now)
        if max(self.sent, self.floor) + weight <= budget:
            return 0.0
        if weight > budget:  # can never fit: wait for a whole window
            return self.window_s
        waits = []
        if self.floor + weight > budget:
            waits.append(self.floor_until - now)
        if self.sent + weight > budget:
            need = self.sent + weight - budget
            freed = 0
            for t, w in self.log:
                freed += w
                if freed >= need:
                    waits.append(t + self.window_s - now)
                    break
        return max(0.0, max(waits, default=0.0))

    def consume(self, weight: int, now: float) -> None:
        self.log.append((now, weight))
        self.sent += weight
        if self.floor:
            self.floor += weight


class RateLimiter:
    """Per-venue limiter; ``acquire`` before each request, ``update`` with each response's usage."""

    def __init__(
        self,
        rules: Sequence[RateLimitRule],
        *,
        safety: float = 0.9,
        max_wait_s: float = 5.0,
        venue: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self._buckets = {r.key: _Bucket(r.key, r.limit, r.window_s) for r in rules}
        self.safety = safety
        self.max_wait_s = max_wait_s
        self.venue = venue
        self._now = monotonic
        self._wall_ms = wall_ms or (lambda: int(time.time() * 1000))
        self.banned_until = 0.0
        self.throttled = 0
        self.throttle_wait_s = 0.0
        self.refused = 0

    # -- bans
    def ban_remaining(self) -> float:
        return max(0.0, self.banned_until - self._now())

    def ban(self, seconds: float) -> None:
        """No request leaves until ``seconds`` from now (extends, never shortens, a ban)."""
        self.banned_until = max(self.banned_until, self._now() + max(0.0, seconds))

    def _refuse(self, message: str, retry_after: float) -> RateLimited:
        self.refused += 1
        return RateLimited(message, venue=self.venue, retry_after=round(retry_after, 3))

    # -- sending
    def _costs(self, weight: int, order_weight: int, endpoint: str) -> list[tuple[_Bucket, int]]:
        costs = []
        for key, cost in (("weight", weight), ("orders", order_weight), (endpoint, 1)):
            bucket = self._buckets.get(key)
            if bucket is not None and cost > 0:
                costs.append((bucket, cost))
        return costs

    def check(self, weight: int = 1, order_weight: int = 0, endpoint: str = "") -> float:
        """Seconds to wait before sending (0 = now); raises ``RateLimited`` when banned or too long."""
        remaining = self.ban_remaining()
        if remaining > 0:
            raise self._refuse(
                f"requests are suspended after a venue rate-limit ban ({remaining:.1f}s left)",
                remaining,
            )
        now = self._now()
        wait = 0.0
        for bucket, cost in self._costs(weight, order_weight, endpoint):
            wait = max(wait, bucket.wait_for(cost, bucket.limit * self.safety, now))
        if wait > self.max_wait_s:
            raise self._refuse(
                f"local rate limiter: budget exhausted, next slot in {wait:.1f}s", wait
            )
        return wait

    async def acquire(self, weight: int = 1, order_weight: int = 0, endpoint: str = "") -> None:
        """Wait (briefly) until the request fits, then account for it."""
        while True:
            wait = self.check(weight, order_weight, endpoint)
            if wait <= 0:
                break
            self.throttled += 1
            self.throttle_wait_s += wait
            await anyio.sleep(wait)
        now = self._now()
        for bucket, cost in self._costs(weight, order_weight, endpoint):
            bucket.consume(cost, now)

    # -- venue feedback
    def update(self, usages: Iterable[RateLimitUsage]) -> None:
        """Fold the venue's reported usage in (it is authoritative over our estimate)."""
        now = self._now()
        for usage in usages:
            bucket = self._buckets.get(usage.key)
            if bucket is None:
                limit = usage.limit
                if limit is None and usage.used is not None and usage.remaining is not None:
                    limit = usage.used + usage.remaining
                if not limit:
                    continue
                bucket = self._buckets[usage.key] = _Bucket(usage.key, limit, usage.window_s or 1.0)
            if usage.limit:
                bucket.limit = usage.limit
            used = usage.used
            if used is None and usage.remaining is not None:
                used = bucket.limit - usage.remaining
            if used is None:
                continue
            bucket.floor = max(0, used)
            bucket.floor_until = now + self._reset_in(usage, bucket)

    def _reset_in(self, usage: RateLimitUsage, bucket: _Bucket) -> float:
        wall = self._wall_ms()
        if usage.reset_at is not None and usage.reset_at > wall:
            return (usage.reset_at - wall) / 1000.0
        window_ms = (usage.window_s or bucket.window_s) * 1000.0
        # Venue windows are fixed and aligned to the epoch (Binance: calendar minute).
        return (math.floor(wall / window_ms) + 1) * window_ms / 1000.0 - wall / 1000.0

    def usage(self) -> list[RateLimitDiagnostics]:
        now = self._now()
        out = []
        for bucket in self._buckets.values():
            sent = bucket.used(now)
            source = "venue" if bucket.floor and bucket.floor >= bucket.sent else "local"
            out.append(
                RateLimitDiagnostics(
                    key=bucket.key,
                    used=sent,
                    limit=bucket.limit,
                    window_s=bucket.window_s,
                    source=source,
                )
            )
        return out
