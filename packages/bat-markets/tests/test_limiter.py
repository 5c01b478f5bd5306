"""The rate limiter with a fake clock: pre-throttling, venue floors, bans."""

from __future__ import annotations

import pytest

from bat_markets.client._limiter import RateLimiter
from bat_markets.core import RateLimited, RateLimitRule, RateLimitUsage


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make(
    limit: int = 100, window: float = 10.0, max_wait: float = 5.0
) -> tuple[RateLimiter, FakeTime]:
    clock = FakeTime()
    limiter = RateLimiter(
        [RateLimitRule(key="weight", limit=limit, window_s=window)],
        safety=1.0,
        max_wait_s=max_wait,
        monotonic=clock,
        wall_ms=lambda: int(clock.t * 1000),
    )
    return limiter, clock


async def test_requests_within_budget_do_not_wait() -> None:
    limiter, _ = make(max_wait=100.0)
    for _ in range(10):
        assert limiter.check(10) == 0
        await limiter.acquire(10)
    assert limiter.check(1) == pytest.approx(10.0)  # the window is full


def test_wait_is_until_the_oldest_weight_leaves_the_window() -> None:
    limiter, clock = make(limit=10, window=10.0, max_wait=100.0)
    limiter._buckets["weight"].consume(6, clock.t)
    clock.t += 4
    limiter._buckets["weight"].consume(4, clock.t)
    assert limiter.check(1) == pytest.approx(6.0)  # the first 6 expire at t0 + 10
    clock.t += 6
    assert limiter.check(5) == 0


def test_long_waits_are_refused_with_retry_after() -> None:
    limiter, clock = make(limit=10, window=60.0, max_wait=5.0)
    limiter._buckets["weight"].consume(10, clock.t)
    with pytest.raises(RateLimited) as err:
        limiter.check(1)
    assert err.value.retry_after == pytest.approx(60.0)
    assert limiter.refused == 1


def test_venue_usage_header_is_a_floor_until_the_window_resets() -> None:
    limiter, clock = make(limit=100, window=60.0, max_wait=100.0)
    clock.t = 120.0  # wall 120 000 ms: aligned windows reset at 180 000 ms
    limiter.update([RateLimitUsage(key="weight", used=95)])
    assert limiter.check(5) == 0
    assert limiter.check(6) == pytest.approx(60.0)
    clock.t = 150.0
    assert limiter.check(6) == pytest.approx(30.0)
    clock.t = 180.0
    assert limiter.check(50) == 0


def test_remaining_and_reset_at_headers() -> None:
    limiter, clock = make(limit=10, window=1.0)
    limiter.update(
        [RateLimitUsage(key="GET /x", limit=20, remaining=0, reset_at=int(clock.t * 1000) + 500)]
    )
    assert limiter.check(1, endpoint="GET /x") == pytest.approx(0.5)
    assert limiter.check(1, endpoint="GET /y") == 0


async def test_ban_refuses_everything_until_it_ends() -> None:
    limiter, clock = make()
    limiter.ban(30)
    with pytest.raises(RateLimited) as err:
        await limiter.acquire(1)
    assert err.value.retry_after == pytest.approx(30)
    limiter.ban(5)  # a shorter ban never shortens the current one
    clock.t += 29
    with pytest.raises(RateLimited):
        limiter.check(1)
    clock.t += 1.01
    assert limiter.check(1) == 0


async def test_short_throttle_waits_instead_of_failing() -> None:
    import time

    limiter = RateLimiter([RateLimitRule(key="weight", limit=10, window_s=0.2)], safety=1.0)
    await limiter.acquire(10)
    start = time.monotonic()
    await limiter.acquire(5)
    assert time.monotonic() - start >= 0.15
    assert limiter.throttled >= 1
