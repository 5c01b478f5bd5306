"""Kline intervals: canonical (``1m`` … ``1M``) and Bybit native (``1 3 5 … D W M``)."""

from __future__ import annotations

import datetime as _dt

from bat_markets.core import DecodeError

from ._util import VENUE

__all__ = ["CANONICAL", "NATIVE", "to_native", "interval_ms", "close_time"]

# canonical -> native
_TO_NATIVE = {
    "1m": "1",
    "3m": "3",
    "5m": "5",
    "15m": "15",
    "30m": "30",
    "1h": "60",
    "2h": "120",
    "4h": "240",
    "6h": "360",
    "12h": "720",
    "1d": "D",
    "1w": "W",
    "1M": "M",
}
CANONICAL = tuple(_TO_NATIVE)
NATIVE = {v: k for k, v in _TO_NATIVE.items()}  # native -> canonical
_MINUTE = 60_000
_MS = {
    "1": _MINUTE,
    "3": 3 * _MINUTE,
    "5": 5 * _MINUTE,
    "15": 15 * _MINUTE,
    "30": 30 * _MINUTE,
    "60": 60 * _MINUTE,
    "120": 120 * _MINUTE,
    "240": 240 * _MINUTE,
    "360": 360 * _MINUTE,
    "720": 720 * _MINUTE,
    "D": 1440 * _MINUTE,
    "W": 7 * 1440 * _MINUTE,
}


def to_native(interval: str) -> tuple[str, str] | None:
    """``(native, canonical)`` for a canonical or native interval; ``None`` if Bybit has none."""
    native = _TO_NATIVE.get(interval)
    if native is not None:
        return native, interval
    canonical = NATIVE.get(interval)
    if canonical is not None:
        return interval, canonical
    return None


def interval_ms(native: str) -> int | None:
    """Fixed length in ms, ``None`` for the calendar month."""
    return _MS.get(native)


def close_time(native: str, open_time: int) -> int:
    """Last millisecond of the candle opening at ``open_time`` (months by the UTC calendar)."""
    length = _MS.get(native)
    if length is not None:
        return open_time + length - 1
    try:
        start = _dt.datetime.fromtimestamp(open_time / 1000, tz=_dt.timezone.utc)
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        nxt = start.replace(
            year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0
        )
    except (ValueError, OverflowError, OSError) as exc:
        raise DecodeError(f"bad candle start {open_time}", venue=VENUE) from exc
    return int(nxt.timestamp() * 1000) - 1
