"""Bybit kline intervals over the engine's 1-minute candles."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from .._tape import MINUTE_MS, Candle
from ._views import KlineView

__all__ = ["INTERVALS", "bucket_start", "bucket_end", "aggregate", "history"]

#: venue interval -> minutes (D/W/M are calendar buckets)
INTERVALS: dict[str, int] = {
    "1": 1,
    "3": 3,
    "5": 5,
    "15": 15,
    "30": 30,
    "60": 60,
    "120": 120,
    "240": 240,
    "360": 360,
    "720": 720,
    "D": 1440,
    "W": 10080,
    "M": 0,
}
_WEEK_MS = 7 * 86_400_000
_MONDAY_OFFSET_MS = 4 * 86_400_000  # 1970-01-01 was a Thursday


def bucket_start(interval: str, ts: int) -> int:
    """Open time of the ``interval`` bucket holding ``ts`` (UTC; weeks start on Monday)."""
    if interval == "M":
        d = datetime.fromtimestamp(ts / 1000, tz=timezone.utc)
        return int(datetime(d.year, d.month, 1, tzinfo=timezone.utc).timestamp()) * 1000
    if interval == "W":
        return ts - (ts - _MONDAY_OFFSET_MS) % _WEEK_MS
    span = INTERVALS[interval] * MINUTE_MS
    return ts - ts % span


def bucket_end(interval: str, start: int) -> int:
    """Open time of the bucket after the one opening at ``start``."""
    if interval == "M":
        d = datetime.fromtimestamp(start / 1000, tz=timezone.utc)
        year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        return int(datetime(year, month, 1, tzinfo=timezone.utc).timestamp()) * 1000
    if interval == "W":
        return start + _WEEK_MS
    return start + INTERVALS[interval] * MINUTE_MS


def aggregate(
    minutes: Mapping[int, Candle],
    interval: str,
    start: int,
    now: int,
    prev_close: Candle | None = None,
) -> KlineView | None:
    """The ``interval`` candle opening at ``start`` built from 1-minute candles (None if empty)."""
    end = bucket_end(interval, start)
    stop = min(end, now - now % MINUTE_MS + MINUTE_MS)
    first: Candle | None = None
    last: Candle | None = None
    high = low = None
    volume = turnover = None
    t = start
    while t < stop:
        c = minutes.get(t)
        if c is not None:
            if first is None:
                first = c
                high, low, volume, turnover = c.high, c.low, c.volume, c.quote_volume
            else:
                assert high is not None
                assert low is not None
                assert volume is not None
                assert turnover is not None
                high = max(high, c.high)
                low = min(low, c.low)
                volume += c.volume
                turnover += c.quote_volume
            last = c
        t += MINUTE_MS
    if first is None or last is None:
        if prev_close is None:
            return None
        p = prev_close.close
        return KlineView(start, end - 1, interval, p, p, p, p, p * 0, p * 0, confirm=end <= now)
    assert high is not None
    assert low is not None
    assert volume is not None
    assert turnover is not None
    return KlineView(
        start,
        end - 1,
        interval,
        first.open,
        high,
        low,
        last.close,
        volume,
        turnover,
        confirm=end <= now,
    )


def history(
    minutes: Mapping[int, Candle],
    interval: str,
    now: int,
    *,
    start: int | None = None,
    end: int | None = None,
    limit: int = 200,
) -> list[KlineView]:
    """Candles newest first, like ``/v5/market/kline``; empty buckets inside the history repeat
    the previous close with zero volume."""
    if not minutes:
        return []
    first_minute = min(minutes)
    upto = now if end is None else min(end, now)
    bucket = bucket_start(interval, upto)
    lowest = max(first_minute, start) if start is not None else first_minute
    out: list[KlineView] = []
    # walk backwards collecting bucket starts, then build forwards (empty buckets need a close)
    starts: list[int] = []
    floor = bucket_start(interval, lowest)
    while bucket >= floor and len(starts) < limit:
        starts.append(bucket)
        bucket = bucket_start(interval, bucket - 1)
    prev: Candle | None = None
    for s in reversed(starts):
        k = aggregate(minutes, interval, s, now, prev)
        if k is None:
            continue
        out.append(k)
        prev = Candle(k.start_ms, k.open, k.high, k.low, k.close)
    out.reverse()
    return out
