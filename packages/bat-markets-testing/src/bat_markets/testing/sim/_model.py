"""Venue-neutral value types of the simulator engine: enums, orders, fills, positions.

Every price and amount is a ``Decimal`` (the book works in integer ticks / steps internally);
every timestamp is an ``int`` of epoch milliseconds. Objects handed to listeners are snapshots
(copies) taken at the moment of the event, so a venue layer may render them later.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

__all__ = [
    "ZERO",
    "Side",
    "OrderKind",
    "TimeInForce",
    "OrderStatus",
    "ExecType",
    "PositionSide",
    "MarginType",
    "TriggerBy",
    "TriggerDirection",
    "CondStatus",
    "StpMode",
    "RejectReason",
    "OrderRejected",
    "OrderParams",
    "CondParams",
    "Order",
    "Conditional",
    "Fill",
    "Position",
    "Balance",
    "SymbolConfig",
]

ZERO = Decimal(0)


class Side(str, Enum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderKind(str, Enum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"


class TimeInForce(str, Enum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"  # post-only
    GTD = "GTD"


class OrderStatus(str, Enum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"
    REJECTED = "REJECTED"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class ExecType(str, Enum):
    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    AMENDMENT = "AMENDMENT"
    CALCULATED = "CALCULATED"  # liquidation
    REJECTED = "REJECTED"


class PositionSide(str, Enum):
    BOTH = "BOTH"
    LONG = "LONG"
    SHORT = "SHORT"


class MarginType(str, Enum):
    CROSSED = "CROSSED"
    ISOLATED = "ISOLATED"


class TriggerBy(str, Enum):
    LAST = "LAST"
    MARK = "MARK"
    INDEX = "INDEX"


class TriggerDirection(str, Enum):
    RISE = "RISE"  # fires when price >= trigger
    FALL = "FALL"  # fires when price <= trigger


class CondStatus(str, Enum):
    NEW = "NEW"
    TRIGGERING = "TRIGGERING"
    TRIGGERED = "TRIGGERED"
    FINISHED = "FINISHED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"

    @property
    def is_open(self) -> bool:
        return self in (CondStatus.NEW, CondStatus.TRIGGERING)


class StpMode(str, Enum):
    NONE = "NONE"
    EXPIRE_TAKER = "EXPIRE_TAKER"
    EXPIRE_MAKER = "EXPIRE_MAKER"
    EXPIRE_BOTH = "EXPIRE_BOTH"


class RejectReason(str, Enum):
    """Why the engine refused a command; venue layers map these to their own codes."""

    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    UNKNOWN_ACCOUNT = "UNKNOWN_ACCOUNT"
    INVALID_PRICE = "INVALID_PRICE"  # not on tick / non-positive
    PRICE_OUT_OF_RANGE = "PRICE_OUT_OF_RANGE"  # min/max price or percent-price band
    INVALID_QTY = "INVALID_QTY"  # not on step / non-positive
    QTY_TOO_SMALL = "QTY_TOO_SMALL"
    QTY_TOO_LARGE = "QTY_TOO_LARGE"
    MIN_NOTIONAL = "MIN_NOTIONAL"
    PRICE_REQUIRED = "PRICE_REQUIRED"
    REDUCE_ONLY_REJECTED = "REDUCE_ONLY_REJECTED"  # would not reduce the position
    REDUCE_ONLY_NOT_ALLOWED = "REDUCE_ONLY_NOT_ALLOWED"  # hedge mode forbids the flag
    POSITION_SIDE_MISMATCH = "POSITION_SIDE_MISMATCH"
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    POST_ONLY_WOULD_TAKE = "POST_ONLY_WOULD_TAKE"
    FOK_NOT_FILLABLE = "FOK_NOT_FILLABLE"
    DUPLICATE_CLIENT_ID = "DUPLICATE_CLIENT_ID"
    TOO_MANY_ORDERS = "TOO_MANY_ORDERS"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    ORDER_NOT_OPEN = "ORDER_NOT_OPEN"
    AMEND_NO_CHANGE = "AMEND_NO_CHANGE"
    AMEND_NOT_ALLOWED = "AMEND_NOT_ALLOWED"
    CLOSE_POSITION_INVALID = "CLOSE_POSITION_INVALID"
    NO_POSITION = "NO_POSITION"
    GTD_INVALID = "GTD_INVALID"
    INVALID_LEVERAGE = "INVALID_LEVERAGE"
    LEVERAGE_UNCHANGED = "LEVERAGE_UNCHANGED"
    MARGIN_TYPE_UNCHANGED = "MARGIN_TYPE_UNCHANGED"
    POSITION_MODE_UNCHANGED = "POSITION_MODE_UNCHANGED"
    HAS_OPEN_ORDERS = "HAS_OPEN_ORDERS"
    HAS_POSITION = "HAS_POSITION"
    TOO_MANY_CONDITIONALS = "TOO_MANY_CONDITIONALS"
    TRIGGER_IMMEDIATELY = "TRIGGER_IMMEDIATELY"


class OrderRejected(Exception):
    """A command the engine refused; nothing changed (no events were emitted)."""

    def __init__(self, reason: RejectReason, message: str = "") -> None:
        super().__init__(f"{reason.value}: {message}" if message else reason.value)
        self.reason = reason
        self.message = message


@dataclass
class OrderParams:
    """A new order as the venue layer parsed it (already in engine terms).

    ``post_only_action`` / ``fok_action``: ``"reject"`` raises ``OrderRejected`` and records
    nothing (Binance -5022/-5021); ``"expire"`` accepts the order and expires it at once with
    ``NEW`` then ``EXPIRED`` events (Bybit-style cancel). ``extra`` is free for venue data.
    """

    symbol: str
    side: Side
    kind: OrderKind
    qty: Decimal
    price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    position_side: PositionSide = PositionSide.BOTH
    reduce_only: bool = False
    close_position: bool = False  # qty is ignored: the whole position (conditional use)
    client_id: str = ""
    stp: StpMode = StpMode.NONE
    good_till_ms: int = 0
    post_only_action: str = "reject"
    fok_action: str = "reject"
    orig_type: str = ""  # venue type name to report (defaults to ``kind``)
    check_margin: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CondParams:
    """A conditional order: when ``trigger_by`` price crosses ``trigger_price`` in
    ``direction`` it places ``kind`` (LIMIT at ``price`` or MARKET). Trailing stops set
    ``callback_rate`` (percent) and optionally ``activate_price``."""

    symbol: str
    side: Side
    kind: OrderKind
    qty: Decimal
    trigger_price: Decimal
    direction: TriggerDirection
    trigger_by: TriggerBy = TriggerBy.LAST
    price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    position_side: PositionSide = PositionSide.BOTH
    reduce_only: bool = False
    close_position: bool = False
    client_id: str = ""
    stp: StpMode = StpMode.NONE
    good_till_ms: int = 0
    callback_rate: Decimal | None = None
    activate_price: Decimal | None = None
    orig_type: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Order:
    """An order of one account (live object inside the engine; events carry copies)."""

    order_id: int
    account: str
    symbol: str
    side: Side
    kind: OrderKind
    tif: TimeInForce
    qty: Decimal
    price: Decimal  # 0 for market orders
    client_id: str
    position_side: PositionSide
    reduce_only: bool
    close_position: bool
    stp: StpMode
    created_ms: int
    updated_ms: int
    orig_type: str
    good_till_ms: int = 0
    status: OrderStatus = OrderStatus.NEW
    executed_qty: Decimal = ZERO
    cum_quote: Decimal = ZERO
    commission: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    stop_price: Decimal = ZERO
    working_type: TriggerBy = TriggerBy.LAST
    cond_id: int = 0  # conditional that placed it (0 = none)
    activate_price: Decimal = ZERO
    callback_rate: Decimal = ZERO
    amend_count: int = 0
    expire_reason: str = ""
    maker_qty: Decimal = ZERO  # share executed as maker
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed_qty

    @property
    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed_qty if self.executed_qty else ZERO

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def snapshot(self) -> Order:
        snap = copy.copy(self)
        snap.extra = dict(self.extra)
        return snap


@dataclass(eq=False)
class Conditional:
    """A conditional (algo) order waiting for its trigger."""

    cond_id: int
    account: str
    symbol: str
    side: Side
    kind: OrderKind
    qty: Decimal
    price: Decimal
    trigger_price: Decimal
    direction: TriggerDirection
    trigger_by: TriggerBy
    tif: TimeInForce
    position_side: PositionSide
    reduce_only: bool
    close_position: bool
    client_id: str
    stp: StpMode
    created_ms: int
    updated_ms: int
    orig_type: str
    good_till_ms: int = 0
    status: CondStatus = CondStatus.NEW
    trigger_ms: int = 0
    order_id: int = 0  # the real order once triggered
    callback_rate: Decimal | None = None
    activate_price: Decimal | None = None
    activated: bool = False
    extreme: Decimal | None = None  # trailing: best price since activation
    reject_reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def snapshot(self) -> Conditional:
        snap = copy.copy(self)
        snap.extra = dict(self.extra)
        return snap


@dataclass(frozen=True)
class Fill:
    """One execution of one account order."""

    trade_id: int
    order_id: int
    account: str
    symbol: str
    side: Side
    position_side: PositionSide
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    fee: Decimal  # positive = paid
    fee_asset: str
    maker: bool
    realized_pnl: Decimal
    ts: int


@dataclass(eq=False)
class Position:
    """One position row: ``amount`` is signed (LONG rows >= 0, SHORT rows <= 0)."""

    account: str
    symbol: str
    position_side: PositionSide
    amount: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO  # cumulative
    isolated_wallet: Decimal = ZERO
    fees_paid: Decimal = ZERO  # fees since the position opened (break-even price)
    updated_ms: int = 0

    def snapshot(self) -> Position:
        return copy.copy(self)

    def unrealized(self, mark: Decimal) -> Decimal:
        return self.amount * (mark - self.entry_price) if self.amount else ZERO

    @property
    def break_even_price(self) -> Decimal:
        if not self.amount:
            return ZERO
        return self.entry_price + self.fees_paid / self.amount


@dataclass(eq=False)
class Balance:
    """One asset of an account's wallet."""

    asset: str
    wallet: Decimal = ZERO
    updated_ms: int = 0

    def snapshot(self) -> Balance:
        return copy.copy(self)


@dataclass
class SymbolConfig:
    """Per-account, per-symbol settings."""

    leverage: int = 20
    margin_type: MarginType = MarginType.CROSSED
