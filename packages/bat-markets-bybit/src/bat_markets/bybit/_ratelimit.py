"""``X-Bapi-Limit*`` response headers to ``RateLimitUsage`` (§9.Y)."""

from __future__ import annotations

from collections.abc import Mapping

from bat_markets.core import RateLimitUsage

__all__ = ["parse_rate_limits"]


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return None


def parse_rate_limits(headers: Mapping[str, str], key: str) -> list[RateLimitUsage]:
    """Per-UID usage of one endpoint: cap, remaining and reset time (epoch ms).

    ``key`` names the bucket (the endpoint path); Bybit's windows are one second.
    Returns ``[]`` when the reply carries no limit headers (public endpoints).
    """
    limit = _int(headers.get("x-bapi-limit"))
    remaining = _int(headers.get("x-bapi-limit-status"))
    reset_at = _int(headers.get("x-bapi-limit-reset-timestamp"))
    if limit is None and remaining is None and reset_at is None:
        return []
    used = limit - remaining if limit is not None and remaining is not None else None
    return [
        RateLimitUsage(
            key=key,
            used=used,
            limit=limit,
            remaining=remaining,
            window_s=1.0,
            reset_at=reset_at,
        )
    ]
