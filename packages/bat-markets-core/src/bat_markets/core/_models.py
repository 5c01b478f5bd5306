"""Unified, immutable domain results. Prices and amounts are ``Decimal``; times are epoch ms."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from ._enums import (
    InstrumentKind,
    InstrumentStatus,
    Liquidity,
    MarginMode,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    TriggerBy,
)

__all__ = [
    "InstrumentSpec",
    "Ticker",
    "BookLevel",
    "OrderBookSnapshot",
    "BookTop",
    "Trade",
    "OHLCV",
    "MarkPrice",
    "FundingRate",
    "OpenInterest",
    "Liquidation",
    "Balance",
    "Position",
    "Order",
    "MyTrade",
]


class InstrumentSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Trading rules of one contract, from the venue's metadata."""

    venue: str
    symbol: str  # unified, e.g. "BTC/USDT:USDT"
    id: str  # native, e.g. "BTCUSDT"
    base: str
    quote: str
    settle: str
    kind: InstrumentKind = InstrumentKind.PERPETUAL
    status: InstrumentStatus = InstrumentStatus.TRADING
    contract_size: Decimal = Decimal(1)
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal | None = None
    market_step_size: Decimal | None = None
    market_min_qty: Decimal | None = None
    market_max_qty: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_notional: Decimal = Decimal(0)
    max_leverage: Decimal | None = None
    max_open_orders: int | None = None
    expiry: int | None = None  # ms, dated futures only
    onboard_time: int | None = None
    funding_interval_hours: int | None = None

    @property
    def price_decimals(self) -> int:
        return max(0, -int(self.tick_size.normalize().as_tuple().exponent))

    @property
    def amount_decimals(self) -> int:
        return max(0, -int(self.step_size.normalize().as_tuple().exponent))


class Ticker(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    symbol: str
    timestamp: int
    last: Decimal | None = None
    bid: Decimal | None = None
    bid_size: Decimal | None = None
    ask: Decimal | None = None
    ask_size: Decimal | None = None
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    volume: Decimal | None = None  # base, rolling 24 h
    quote_volume: Decimal | None = None
    change: Decimal | None = None
    percentage: Decimal | None = None
    vwap: Decimal | None = None
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    funding_rate: Decimal | None = None
    next_funding_time: int | None = None
    open_interest: Decimal | None = None


class BookLevel(msgspec.Struct, frozen=True, array_like=True, gc=False):
    price: Decimal
    amount: Decimal


class OrderBookSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A full order book at one instant. Bids descend, asks ascend."""

    symbol: str
    timestamp: int | None
    bids: list[BookLevel]
    asks: list[BookLevel]
    sequence: int | None = None  # venue update id of the snapshot
    resynced: bool = False  # True on the first view after a gap, reconnect or venue reset


class BookTop(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    symbol: str
    timestamp: int | None
    bid: Decimal | None
    bid_size: Decimal | None
    ask: Decimal | None
    ask_size: Decimal | None
    sequence: int | None = None


class Trade(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    symbol: str
    id: str
    timestamp: int
    price: Decimal
    amount: Decimal
    side: Side  # taker side
    aggregated: bool = False  # Binance aggTrade: one print may aggregate several fills


class OHLCV(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    symbol: str
    interval: str  # canonical: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M
    open_time: int
    close_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal | None = None
    trades: int | None = None
    closed: bool = True


class MarkPrice(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    symbol: str
    timestamp: int
    mark_price: Decimal
    index_price: Decimal | None = None
    estimated_settle_price: Decimal | None = None


class FundingRate(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    symbol: str
    timestamp: int
    funding_rate: Decimal
    funding_time: int | None = None  # when this rate applies (history) or next settlement (current)
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    interval_hours: int | None = None


class OpenInterest(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    symbol: str
    timestamp: int
    amount: Decimal  # in contracts (base units for linear USDT contracts)
    value: Decimal | None = None  # in quote


class Liquidation(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    symbol: str
    timestamp: int
    side: Side  # side of the liquidation order (sell = a long was liquidated)
    price: Decimal
    amount: Decimal
    average_price: Decimal | None = None
    complete_feed: bool = True  # False for sampled feeds (Binance forceOrder: ≤1/s/symbol)


class Balance(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    asset: str
    wallet_balance: Decimal
    available: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    equity: Decimal | None = None
    cross_wallet_balance: Decimal | None = None
    timestamp: int | None = None


class Position(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One position leg, keyed by ``(symbol, position_side)``; ``size`` is signed in one-way mode."""

    symbol: str
    position_side: PositionSide
    size: Decimal  # >0 long, <0 short (one-way); hedge legs are >=0 with the side in position_side
    entry_price: Decimal | None = None
    break_even_price: Decimal | None = None
    mark_price: Decimal | None = None
    liquidation_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    realized_pnl: Decimal | None = None
    leverage: Decimal | None = None
    margin_mode: MarginMode | None = None
    isolated_margin: Decimal | None = None
    notional: Decimal | None = None
    timestamp: int | None = None

    @property
    def key(self) -> tuple[str, PositionSide]:
        return (self.symbol, self.position_side)

    @property
    def side(self) -> Side | None:
        """Direction of exposure, ``None`` when flat."""
        if self.position_side is PositionSide.LONG:
            return Side.BUY if self.size else None
        if self.position_side is PositionSide.SHORT:
            return Side.SELL if self.size else None
        if self.size > 0:
            return Side.BUY
        if self.size < 0:
            return Side.SELL
        return None


class Order(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    symbol: str
    id: str  # venue order id (Binance algo orders: "algo:<algoId>")
    client_order_id: str | None
    side: Side
    type: OrderType
    status: OrderStatus
    amount: Decimal
    filled: Decimal = Decimal(0)
    price: Decimal | None = None
    average_price: Decimal | None = None
    trigger_price: Decimal | None = None
    trigger_by: TriggerBy | None = None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    close_position: bool = False
    position_side: PositionSide = PositionSide.BOTH
    fee: Decimal | None = None
    fee_asset: str | None = None
    created_at: int | None = None
    updated_at: int | None = None
    venue_status: str | None = None  # the venue's raw status string
    reject_reason: str | None = None

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled


class MyTrade(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One execution (fill) of one of our orders."""

    symbol: str
    id: str  # venue trade / execution id
    order_id: str
    client_order_id: str | None
    side: Side
    price: Decimal
    amount: Decimal
    timestamp: int
    fee: Decimal | None = None
    fee_asset: str | None = None
    liquidity: Liquidity | None = None
    realized_pnl: Decimal | None = None
    position_side: PositionSide = PositionSide.BOTH
