"""Binance request-weight and order-count limits with 429 -> 418 escalation.

Windows are fixed (the weight counter resets at each minute boundary of the server clock,
order counters at each 10 s / 1 min boundary). Exceeding a limit answers HTTP 429 (-1003 or
-1015) with ``Retry-After``; another request before the window resets earns an IP ban (HTTP
418, -1003 "IP banned until <ms>") for ``ban_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._errors import BinanceError

__all__ = ["BinanceLimits", "RateLimiter"]


@dataclass
class BinanceLimits:
    """Configurable limits (defaults: the venue's published ones)."""

    weight_1m: int = 2400
    orders_10s: int = 300
    orders_1m: int = 1200
    ban_seconds: int = 120


@dataclass
class _Window:
    size_ms: int
    start: int = 0
    used: int = 0

    def roll(self, now: int) -> None:
        start = now - now % self.size_ms
        if start != self.start:
            self.start = start
            self.used = 0

    def reset_in_ms(self, now: int) -> int:
        return self.start + self.size_ms - now


@dataclass
class RateLimiter:
    limits: BinanceLimits = field(default_factory=BinanceLimits)
    weight: _Window = field(default_factory=lambda: _Window(60_000))
    orders: dict[str, tuple[_Window, _Window]] = field(default_factory=dict)
    limited_until: int = 0  # a 429 was answered; requests before this time earn a ban
    banned_until: int = 0

    def _order_windows(self, account: str) -> tuple[_Window, _Window]:
        wins = self.orders.get(account)
        if wins is None:
            wins = (_Window(10_000), _Window(60_000))
            self.orders[account] = wins
        return wins

    def _ban(self, now: int) -> BinanceError:
        until = self.banned_until
        return BinanceError(
            -1003,
            f"Way too much request weight used; IP banned until {until}. "
            "Please use the websocket for live updates to avoid bans.",
            418,
            {"Retry-After": str(max(1, (until - now + 999) // 1000))},
        )

    def check_ban(self, now: int) -> None:
        if self.banned_until > now:
            raise self._ban(now)

    def ban(self, now: int, seconds: float) -> None:
        self.banned_until = now + int(seconds * 1000)

    def too_many(self, now: int) -> BinanceError:
        """The 429 answer; marks the window so that continuing earns a ban."""
        self.weight.roll(now)
        retry = max(1, (self.weight.reset_in_ms(now) + 999) // 1000)
        self.limited_until = now + retry * 1000
        return BinanceError(
            -1003,
            f"Too many requests; current limit of IP(127.0.0.1) is {self.limits.weight_1m} "
            "requests per minute. Please use the websocket for live updates to avoid polling the API.",
            429,
            {"Retry-After": str(retry)},
        )

    def charge(self, now: int, weight: int) -> None:
        """Account ``weight``; raise 429 / 418 when over the limit."""
        self.check_ban(now)
        if self.limited_until > now:
            self.ban(now, self.limits.ban_seconds)
            self.limited_until = 0
            raise self._ban(now)
        self.weight.roll(now)
        if self.weight.used + weight > self.limits.weight_1m:
            raise self.too_many(now)
        self.weight.used += weight

    def used_weight(self, now: int) -> int:
        self.weight.roll(now)
        return self.weight.used

    def charge_orders(self, now: int, account: str, count: int = 1) -> tuple[int, int]:
        """Count ``count`` new orders; raise -1015 (429) when over; returns (10s, 1m) counts."""
        w10, w1m = self._order_windows(account)
        w10.roll(now)
        w1m.roll(now)
        if w10.used + count > self.limits.orders_10s:
            raise BinanceError(
                -1015,
                f"Too many new orders; current limit is {self.limits.orders_10s} orders per TEN_SECONDS.",
                429,
                {"Retry-After": str(max(1, (w10.reset_in_ms(now) + 999) // 1000))},
            )
        if w1m.used + count > self.limits.orders_1m:
            raise BinanceError(
                -1015,
                f"Too many new orders; current limit is {self.limits.orders_1m} orders per MINUTE.",
                429,
                {"Retry-After": str(max(1, (w1m.reset_in_ms(now) + 999) // 1000))},
            )
        w10.used += count
        w1m.used += count
        return w10.used, w1m.used

    def order_counts(self, now: int, account: str) -> tuple[int, int]:
        w10, w1m = self._order_windows(account)
        w10.roll(now)
        w1m.roll(now)
        return w10.used, w1m.used
