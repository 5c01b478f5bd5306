"""Venue-shaped views of simulator state: the vocabulary the Bybit renderers speak.

The engine is venue-neutral; ``_bridge`` turns its objects into these views, and ``_render``
turns views into exactly the JSON shapes of the Bybit v5 fixtures. Keeping the views separate
lets every renderer be tested on plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ._format import ZERO, decimals_of

__all__ = [
    "InstrumentView",
    "OrderView",
    "ExecutionView",
    "PositionView",
    "CoinView",
    "WalletView",
    "TickerView",
    "TradeView",
    "KlineView",
    "LiquidationView",
]


@dataclass(frozen=True)
class InstrumentView:
    """One linear contract as ``instruments-info`` describes it."""

    symbol: str
    base: str
    quote: str
    settle: str
    tick_size: Decimal
    qty_step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    max_mkt_qty: Decimal
    min_notional: Decimal
    min_price: Decimal
    max_price: Decimal
    max_leverage: Decimal = Decimal(100)
    min_leverage: Decimal = Decimal(1)
    leverage_step: Decimal = Decimal("0.01")
    status: str = "Trading"
    contract_type: str = "LinearPerpetual"
    funding_interval_min: int = 480
    launch_ms: int = 1585526400000
    delivery_ms: int = 0
    symbol_id: int = 0
    price_scale: int | None = None  # the venue's priceScale (BTCUSDT: 2 with tick 0.10)
    qty_scale: int | None = None

    @property
    def price_places(self) -> int:
        return self.price_scale if self.price_scale is not None else decimals_of(self.tick_size)

    @property
    def qty_places(self) -> int:
        return self.qty_scale if self.qty_scale is not None else decimals_of(self.qty_step)


@dataclass(frozen=True)
class OrderView:
    """One order in Bybit vocabulary (``side`` Buy/Sell, ``status`` New/PartiallyFilled/...)."""

    order_id: str
    link_id: str
    symbol: str
    side: str
    order_type: str
    price: Decimal
    qty: Decimal
    time_in_force: str
    position_idx: int
    status: str
    created_ms: int
    updated_ms: int
    cum_qty: Decimal = ZERO
    cum_value: Decimal = ZERO
    cum_fee: Decimal = ZERO
    avg_price: Decimal | None = None
    reduce_only: bool = False
    close_on_trigger: bool = False
    trigger_price: Decimal | None = None
    trigger_direction: int = 0
    trigger_by: str = "UNKNOWN"
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    tp_trigger_by: str = "UNKNOWN"
    sl_trigger_by: str = "UNKNOWN"
    stop_order_type: str = "UNKNOWN"
    reject_reason: str = "EC_NoError"
    cancel_type: str = "UNKNOWN"
    create_type: str = "CreateByUser"
    last_price_on_created: Decimal | None = None
    closed_pnl: Decimal = ZERO
    fee_currency: str = "USDT"

    @property
    def leaves_qty(self) -> Decimal:
        if self.status in ("New", "PartiallyFilled", "Untriggered"):
            return self.qty - self.cum_qty
        return ZERO


@dataclass(frozen=True)
class ExecutionView:
    """One fill."""

    exec_id: str
    order_id: str
    link_id: str
    symbol: str
    side: str
    order_type: str
    order_price: Decimal
    order_qty: Decimal
    leaves_qty: Decimal
    exec_price: Decimal
    exec_qty: Decimal
    exec_fee: Decimal
    fee_rate: Decimal
    is_maker: bool
    exec_time: int
    seq: int
    mark_price: Decimal
    closed_size: Decimal = ZERO
    exec_pnl: Decimal = ZERO
    exec_type: str = "Trade"
    create_type: str = "CreateByUser"
    stop_order_type: str = "UNKNOWN"
    fee_currency: str = "USDT"

    @property
    def exec_value(self) -> Decimal:
        return self.exec_price * self.exec_qty


@dataclass(frozen=True)
class PositionView:
    """One position row (one-way idx 0, hedge idx 1 long / 2 short; flat: ``side=""``)."""

    symbol: str
    position_idx: int
    side: str
    size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    leverage: Decimal
    created_ms: int
    updated_ms: int
    seq: int
    unrealised_pnl: Decimal = ZERO
    cur_realised_pnl: Decimal = ZERO
    cum_realised_pnl: Decimal = ZERO
    liq_price: Decimal | None = None
    bust_price: Decimal | None = None
    position_im: Decimal = ZERO
    position_mm: Decimal = ZERO
    trade_mode: int = 0
    risk_id: int = 1
    risk_limit_value: Decimal = Decimal(2000000)
    auto_add_margin: int = 0
    adl_rank: int = 0
    take_profit: Decimal | None = None
    stop_loss: Decimal | None = None
    status: str = "Normal"

    @property
    def position_value(self) -> Decimal:
        return self.size * self.entry_price

    @property
    def position_balance(self) -> Decimal:
        return self.position_im


@dataclass(frozen=True)
class CoinView:
    """One coin of the unified wallet."""

    coin: str
    wallet_balance: Decimal
    unrealised_pnl: Decimal = ZERO
    cum_realised_pnl: Decimal = ZERO
    locked: Decimal = ZERO
    total_order_im: Decimal = ZERO
    total_position_im: Decimal = ZERO
    total_position_mm: Decimal = ZERO
    usd_price: Decimal = Decimal(1)

    @property
    def equity(self) -> Decimal:
        return self.wallet_balance + self.unrealised_pnl

    @property
    def available(self) -> Decimal:
        return max(ZERO, self.equity - self.total_order_im - self.total_position_im)


@dataclass(frozen=True)
class WalletView:
    """The unified account (``accountType=UNIFIED``)."""

    coins: tuple[CoinView, ...] = field(default_factory=tuple)
    account_type: str = "UNIFIED"


@dataclass(frozen=True)
class TickerView:
    """Market statistics of one symbol (``tickers`` REST row and WS topic)."""

    symbol: str
    last_price: Decimal
    mark_price: Decimal
    index_price: Decimal
    prev_price_24h: Decimal
    high_24h: Decimal
    low_24h: Decimal
    prev_price_1h: Decimal
    volume_24h: Decimal
    turnover_24h: Decimal
    open_interest: Decimal
    funding_rate: Decimal
    next_funding_ms: int
    bid1_price: Decimal | None
    bid1_size: Decimal
    ask1_price: Decimal | None
    ask1_size: Decimal
    tick_direction: str = "ZeroPlusTick"
    funding_interval_hour: int = 8
    funding_cap: Decimal = Decimal("0.005")


@dataclass(frozen=True)
class TradeView:
    """One public trade (``side`` is the taker side)."""

    trade_id: str
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    time_ms: int
    seq: int
    tick_direction: str = "ZeroPlusTick"
    block_trade: bool = False
    rpi: bool = False


@dataclass(frozen=True)
class KlineView:
    """One candle; ``interval`` in venue notation (``"1"``, ``"60"``, ``"D"``...)."""

    start_ms: int
    end_ms: int
    interval: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    turnover: Decimal
    confirm: bool = False


@dataclass(frozen=True)
class LiquidationView:
    """One liquidation (``side`` Buy = a long was liquidated); ``price`` is the bankruptcy price."""

    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    time_ms: int
