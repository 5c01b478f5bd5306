"""Kline intervals, buckets and aggregation of the engine's 1-minute candles; 24 h stats."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from .._model import ZERO
from .._tape import MINUTE_MS, Candle, MarketState

__all__ = ["INTERVALS", "bucket_start", "bucket_end", "aggregate", "Stats24h", "stats_24h"]

_DAY = 86_400_000
INTERVALS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": _DAY,
    "3d": 3 * _DAY,
    "1w": 7 * _DAY,
    "1M": 31 * _DAY,  # nominal; buckets are calendar months
}


def bucket_start(interval: str, ts: int) -> int:
    if interval == "1M":
        d = dt.datetime.fromtimestamp(ts // 1000, tz=dt.timezone.utc)
        return int(dt.datetime(d.year, d.month, 1, tzinfo=dt.timezone.utc).timestamp()) * 1000
    if interval == "1w":  # weeks start on Monday; 1970-01-05 was a Monday
        return ts - (ts - 4 * _DAY) % (7 * _DAY)
    size = INTERVALS[interval]
    return ts - ts % size


def bucket_end(interval: str, start: int) -> int:
    """Close time (last millisecond) of the bucket opened at ``start``."""
    if interval == "1M":
        d = dt.datetime.fromtimestamp(start // 1000, tz=dt.timezone.utc)
        nxt = dt.datetime(d.year + (d.month == 12), d.month % 12 + 1, 1, tzinfo=dt.timezone.utc)
        return int(nxt.timestamp()) * 1000 - 1
    return start + INTERVALS[interval] - 1


def aggregate(
    series: dict[int, Candle],
    interval: str,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int = 500,
    now_ms: int,
) -> list[tuple[int, int, Candle]]:
    """``(open_ms, close_ms, candle)`` oldest first: the last ``limit`` buckets whose open time is
    in ``[start_ms, end_ms]`` (or the first ``limit`` from ``start_ms``)."""
    buckets: dict[int, Candle] = {}
    for open_ms in sorted(series):
        c = series[open_ms]
        b = bucket_start(interval, open_ms)
        # klines are selected by open time: startTime <= openTime <= endTime
        if start_ms is not None and b < start_ms:
            continue
        if end_ms is not None and b > end_ms:
            continue
        if b > now_ms:
            continue
        agg = buckets.get(b)
        if agg is None:
            buckets[b] = Candle(
                b,
                c.open,
                c.high,
                c.low,
                c.close,
                c.volume,
                c.quote_volume,
                c.trades,
                c.taker_buy_volume,
                c.taker_buy_quote,
                c.first_trade_id,
                c.last_trade_id,
            )
        else:
            agg.high = max(agg.high, c.high)
            agg.low = min(agg.low, c.low)
            agg.close = c.close
            agg.volume += c.volume
            agg.quote_volume += c.quote_volume
            agg.trades += c.trades
            agg.taker_buy_volume += c.taker_buy_volume
            agg.taker_buy_quote += c.taker_buy_quote
            if agg.first_trade_id < 0:
                agg.first_trade_id = c.first_trade_id
            if c.last_trade_id >= 0:
                agg.last_trade_id = c.last_trade_id
    keys = sorted(buckets)
    keys = keys[:limit] if start_ms is not None else keys[-limit:]
    return [(k, bucket_end(interval, k), buckets[k]) for k in keys]


@dataclass(frozen=True)
class Stats24h:
    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    last_qty: Decimal
    volume: Decimal
    quote_volume: Decimal
    open_ms: int
    close_ms: int
    first_id: int
    last_id: int
    count: int

    @property
    def change(self) -> Decimal:
        return self.last - self.open

    @property
    def change_pct(self) -> Decimal:
        return (self.change / self.open * 100) if self.open else ZERO

    @property
    def weighted_avg(self) -> Decimal:
        return self.quote_volume / self.volume if self.volume else self.last


def stats_24h(mkt: MarketState, now_ms: int) -> Stats24h:
    """Rolling 24 h statistics from the 1-minute candles."""
    since = now_ms - _DAY
    first: Candle | None = None
    high = low = mkt.last_price
    vol = quote = ZERO
    count = 0
    first_id = last_id = -1
    for open_ms in sorted(mkt.candles):
        if open_ms < since - since % MINUTE_MS:
            continue
        c = mkt.candles[open_ms]
        if first is None:
            first = c
            high, low = c.high, c.low
        high = max(high, c.high)
        low = min(low, c.low)
        vol += c.volume
        quote += c.quote_volume
        count += c.trades
        if first_id < 0 and c.first_trade_id >= 0:
            first_id = c.first_trade_id
        if c.last_trade_id >= 0:
            last_id = c.last_trade_id
    open_price = first.open if first is not None else mkt.last_price
    return Stats24h(
        open_price,
        high,
        low,
        mkt.last_price,
        mkt.last_qty,
        vol,
        quote,
        since,
        now_ms,
        first_id,
        last_id,
        count,
    )
