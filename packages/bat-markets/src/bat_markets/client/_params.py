"""Input validation shared by every API family: typed errors before anything is sent."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from bat_markets.core import Capabilities, ConfigError

__all__ = [
    "check_limit",
    "check_since",
    "check_symbols",
    "check_interval",
    "check_buffer",
    "to_decimal",
]


def check_limit(value: object, name: str = "limit", venue: str | None = None) -> int | None:
    """``None`` or a positive int."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}", venue=venue)
    return value


def check_since(value: object, name: str = "since", venue: str | None = None) -> int | None:
    """``None`` or a non-negative epoch-millisecond int."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"{name} must be epoch milliseconds as a non-negative int, got {value!r}", venue=venue
        )
    return value


def check_symbols(symbols: object, venue: str | None = None) -> list[str]:
    """A non-empty list of symbol strings (a bare string is refused, it is not a list)."""
    if isinstance(symbols, (str, bytes)) or not isinstance(symbols, Sequence):
        raise ConfigError(
            f"symbols must be a non-empty list of symbols, got {symbols!r}", venue=venue
        )
    if not symbols:
        raise ConfigError("symbols must not be empty", venue=venue)
    out = []
    for s in symbols:
        if not isinstance(s, str) or not s:
            raise ConfigError(f"every symbol must be a non-empty string, got {s!r}", venue=venue)
        out.append(s)
    return out


def check_interval(interval: object, capabilities: Capabilities, venue: str | None = None) -> str:
    """A canonical ohlcv interval the venue serves."""
    allowed = capabilities.ohlcv_intervals
    if not isinstance(interval, str) or interval not in allowed:
        raise ConfigError(
            f"unsupported ohlcv interval {interval!r}; use one of: {', '.join(allowed) or 'none'}",
            venue=venue,
        )
    return interval


def check_buffer(value: object, default: int, venue: str | None = None) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"buffer must be a positive integer, got {value!r}", venue=venue)
    return value


def to_decimal(value: object, field: str, venue: str | None = None) -> Decimal:
    """A price or amount given as ``str``, ``int`` or ``Decimal``; floats are refused."""
    if isinstance(value, (bool, float)):
        raise ConfigError(
            f"{field} must be a str, int or Decimal (floats lose precision), got {value!r}",
            venue=venue,
        )
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, (int, str)):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise ConfigError(f"{field} is not a number: {value!r}", venue=venue) from None
    else:
        raise ConfigError(
            f"{field} must be a str, int or Decimal, got {type(value).__name__}", venue=venue
        )
    if not number.is_finite():
        raise ConfigError(f"{field} must be finite, got {value!r}", venue=venue)
    return number
