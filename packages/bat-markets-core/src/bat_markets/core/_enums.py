"""Enumerations of the unified domain. Values are the lowercase CCXT-style strings."""

from __future__ import annotations

import enum

__all__ = [
    "Side",
    "OrderType",
    "TimeInForce",
    "OrderStatus",
    "MarginMode",
    "PositionMode",
    "PositionSide",
    "InstrumentStatus",
    "InstrumentKind",
    "TriggerBy",
    "Liquidity",
    "Environment",
    "CommandKind",
    "CommandStatus",
    "Channel",
]


class _StrEnum(str, enum.Enum):
    def __str__(self) -> str:
        return str(self.value)


class Side(_StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(_StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"
    TRAILING_STOP_MARKET = "trailing_stop_market"

    @property
    def is_conditional(self) -> bool:
        return self not in (OrderType.MARKET, OrderType.LIMIT)

    @property
    def has_limit_price(self) -> bool:
        return self in (OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT)


class TimeInForce(_StrEnum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"
    GTD = "gtd"


class OrderStatus(_StrEnum):
    NEW = "new"  # resting, or conditional waiting for its trigger
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    TRIGGERED = "triggered"  # conditional order fired; its real order follows

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)

    @property
    def is_final(self) -> bool:
        return self in (
            OrderStatus.FILLED,
            OrderStatus.CANCELED,
            OrderStatus.EXPIRED,
            OrderStatus.REJECTED,
        )


class MarginMode(_StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"


class PositionMode(_StrEnum):
    ONE_WAY = "one_way"
    HEDGE = "hedge"


class PositionSide(_StrEnum):
    """``BOTH`` is the single position of one-way mode; ``LONG``/``SHORT`` are hedge-mode legs."""

    BOTH = "both"
    LONG = "long"
    SHORT = "short"


class InstrumentStatus(_StrEnum):
    TRADING = "trading"
    PRE_LAUNCH = "pre_launch"
    HALTED = "halted"
    SETTLING = "settling"
    CLOSED = "closed"


class InstrumentKind(_StrEnum):
    PERPETUAL = "perpetual"
    FUTURE = "future"


class TriggerBy(_StrEnum):
    LAST_PRICE = "last_price"
    MARK_PRICE = "mark_price"
    INDEX_PRICE = "index_price"


class Liquidity(_StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class Environment(_StrEnum):
    MAINNET = "mainnet"
    TESTNET = "testnet"
    DEMO = "demo"


class CommandKind(_StrEnum):
    CREATE_ORDER = "create_order"
    EDIT_ORDER = "edit_order"
    CANCEL_ORDER = "cancel_order"
    CANCEL_ALL_ORDERS = "cancel_all_orders"
    CLOSE_POSITION = "close_position"
    VALIDATE_ORDER = "validate_order"
    SET_LEVERAGE = "set_leverage"
    SET_MARGIN_MODE = "set_margin_mode"
    SET_POSITION_MODE = "set_position_mode"


class CommandStatus(_StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"  # outcome not known: reconciliation decides


class Channel(_StrEnum):
    """Public stream families a watcher can lease."""

    TICKER = "ticker"
    TRADES = "trades"
    ORDER_BOOK = "order_book"
    BOOK_TOP = "book_top"
    OHLCV = "ohlcv"
    MARK_PRICE = "mark_price"
    FUNDING_RATE = "funding_rate"
    OPEN_INTEREST = "open_interest"
    LIQUIDATIONS = "liquidations"
