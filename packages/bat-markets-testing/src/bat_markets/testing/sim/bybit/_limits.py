"""Rate-limit bookkeeping the way Bybit v5 applies it.

* Per UID and endpoint, rolling window (1 s): over the cap the venue answers retCode 10006
  "Too many visits!". Every private response carries ``X-Bapi-Limit`` (cap),
  ``X-Bapi-Limit-Status`` (remaining) and ``X-Bapi-Limit-Reset-Timestamp`` (when the window frees
  a slot after an overrun, otherwise now). Batch endpoints are charged per order: a batch that
  overruns the budget succeeds for its first orders only.
* Per IP, all HTTP traffic (600 requests / 5 s): over it the IP is banned (HTTP 403 "access too
  frequent") for 10 minutes. Websocket trade ops share the UID budgets with REST.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_ENDPOINT_LIMITS", "RateLimits", "Charge", "RateLimiter", "IpGuard"]

#: Linear non-VIP defaults (PROTOCOLS §9.Y); keys are REST paths, WS trade ops map onto them.
DEFAULT_ENDPOINT_LIMITS: Mapping[str, int] = {
    "/v5/order/create": 10,
    "/v5/order/amend": 10,
    "/v5/order/cancel": 10,
    "/v5/order/cancel-all": 10,
    "/v5/order/create-batch": 10,
    "/v5/order/amend-batch": 10,
    "/v5/order/cancel-batch": 10,
    "/v5/order/pre-check": 10,
    "/v5/order/realtime": 50,
    "/v5/order/history": 50,
    "/v5/execution/list": 50,
    "/v5/position/list": 50,
    "/v5/account/wallet-balance": 50,
    "/v5/account/info": 50,
    "/v5/position/set-leverage": 10,
    "/v5/position/switch-mode": 10,
    "/v5/account/set-margin-mode": 10,
    "/v5/account/fee-rate": 5,
}


@dataclass
class RateLimits:
    """Configurable caps (mutable while the simulator runs). ``endpoint`` overrides merge over
    :data:`DEFAULT_ENDPOINT_LIMITS`; WS trade ops use the REST path of the same action."""

    window_ms: int = 1000
    endpoint: dict[str, int] = field(default_factory=dict)
    default: int = 50
    ip_limit: int = 600
    ip_window_ms: int = 5000
    ip_ban_ms: int = 600_000

    def cap(self, path: str) -> int:
        if path in self.endpoint:
            return self.endpoint[path]
        return DEFAULT_ENDPOINT_LIMITS.get(path, self.default)


@dataclass(frozen=True)
class Charge:
    """Outcome of charging ``requested`` units: ``allowed`` of them fit in the window."""

    requested: int
    allowed: int
    limit: int
    remaining: int
    reset_ms: int

    @property
    def exceeded(self) -> bool:
        return self.allowed < self.requested

    def headers(self) -> dict[str, str]:
        """The venue's three rate-limit headers (names as the venue spells them)."""
        return {
            "X-Bapi-Limit": str(self.limit),
            "X-Bapi-Limit-Status": str(self.remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(self.reset_ms),
        }


class RateLimiter:
    """Rolling-window budget per (UID, endpoint)."""

    __slots__ = ("_used", "limits")

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._used: dict[tuple[str, str], deque[tuple[int, int]]] = {}

    def charge(self, uid: str, path: str, now_ms: int, units: int = 1) -> Charge:
        cap = self.limits.cap(path)
        window = self.limits.window_ms
        entries = self._used.setdefault((uid, path), deque())
        while entries and entries[0][0] <= now_ms - window:
            entries.popleft()
        used = sum(n for _, n in entries)
        allowed = max(0, min(units, cap - used))
        if allowed:
            entries.append((now_ms, allowed))
        used += allowed
        if allowed < units:
            reset = entries[0][0] + window if entries else now_ms
        else:
            reset = now_ms
        return Charge(units, allowed, cap, max(0, cap - used), reset)

    def reset(self) -> None:
        self._used.clear()


class IpGuard:
    """The per-IP request budget and the ban that follows an overrun."""

    __slots__ = ("_banned_until", "_hits", "limits")

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._hits: dict[str, deque[int]] = {}
        self._banned_until: dict[str, int] = {}

    def banned_until(self, ip: str, now_ms: int) -> int | None:
        until = self._banned_until.get(ip)
        if until is None:
            return None
        if until <= now_ms:
            del self._banned_until[ip]
            return None
        return until

    def hit(self, ip: str, now_ms: int) -> int | None:
        """Count one request; returns the ban end (ms) if the IP is (now) banned."""
        until = self.banned_until(ip, now_ms)
        if until is not None:
            return until
        hits = self._hits.setdefault(ip, deque())
        while hits and hits[0] <= now_ms - self.limits.ip_window_ms:
            hits.popleft()
        hits.append(now_ms)
        if len(hits) > self.limits.ip_limit:
            hits.clear()
            return self.ban(ip, now_ms + self.limits.ip_ban_ms)
        return None

    def ban(self, ip: str, until_ms: int) -> int:
        self._banned_until[ip] = until_ms
        return until_ms

    def lift(self, ip: str | None = None) -> None:
        if ip is None:
            self._banned_until.clear()
        else:
            self._banned_until.pop(ip, None)
