"""Per-symbol market state: last/mark/index price, funding, the public tape and candles."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from ._events import AggTrade, PublicTrade
from ._model import ZERO

__all__ = ["Candle", "FundingRecord", "MarketState", "MINUTE_MS"]

MINUTE_MS = 60_000


@dataclass
class Candle:
    """One 1-minute bucket (trades or mark price)."""

    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = ZERO
    quote_volume: Decimal = ZERO
    trades: int = 0
    taker_buy_volume: Decimal = ZERO
    taker_buy_quote: Decimal = ZERO
    first_trade_id: int = -1
    last_trade_id: int = -1

    def add(self, price: Decimal, qty: Decimal, taker_buy: bool, trade_id: int) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += qty
        self.quote_volume += price * qty
        self.trades += 1
        if taker_buy:
            self.taker_buy_volume += qty
            self.taker_buy_quote += price * qty
        if self.first_trade_id < 0:
            self.first_trade_id = trade_id
        self.last_trade_id = trade_id


@dataclass(frozen=True)
class FundingRecord:
    symbol: str
    rate: Decimal
    time_ms: int
    mark_price: Decimal


@dataclass
class MarketState:
    """Everything public about one symbol besides the book."""

    symbol: str
    last_price: Decimal
    mark_price: Decimal
    index_price: Decimal
    funding_rate: Decimal = Decimal("0.00010000")
    interest_rate: Decimal = Decimal("0.00010000")
    next_funding_ms: int = 0
    open_interest: Decimal = ZERO
    next_trade_id: int = 1
    next_agg_id: int = 1
    trades: deque[PublicTrade] = field(default_factory=lambda: deque(maxlen=1000))
    agg_trades: deque[AggTrade] = field(default_factory=lambda: deque(maxlen=1000))
    candles: dict[int, Candle] = field(default_factory=dict)  # keyed by minute open ms
    mark_candles: dict[int, Candle] = field(default_factory=dict)
    index_candles: dict[int, Candle] = field(default_factory=dict)
    funding_history: list[FundingRecord] = field(default_factory=list)
    last_qty: Decimal = ZERO

    def record_trade(self, trade: PublicTrade) -> None:
        self.trades.append(trade)
        self.last_price = trade.price
        self.last_qty = trade.qty
        start = trade.ts - trade.ts % MINUTE_MS
        c = self.candles.get(start)
        if c is None:
            c = Candle(start, trade.price, trade.price, trade.price, trade.price)
            self.candles[start] = c
        c.add(trade.price, trade.qty, not trade.buyer_is_maker, trade.trade_id)

    def record_mark(self, ts: int) -> None:
        for series, price in (
            (self.mark_candles, self.mark_price),
            (self.index_candles, self.index_price),
        ):
            start = ts - ts % MINUTE_MS
            c = series.get(start)
            if c is None:
                series[start] = Candle(start, price, price, price, price)
            else:
                c.high = max(c.high, price)
                c.low = min(c.low, price)
                c.close = price
                c.trades += 1
