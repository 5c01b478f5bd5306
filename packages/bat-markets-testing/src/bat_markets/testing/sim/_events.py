"""Events the engine emits to its listeners (one callback per venue layer).

Public: ``BookDiff``, ``PublicTrade``, ``AggTrade``, ``MarkUpdate``, ``LiquidationPrint``,
``FundingSettled``. Private (``account`` = API key): ``OrderUpdate``, ``AccountUpdate``,
``ConfigUpdate``, ``ConditionalUpdate``. All carry ``ts`` (epoch ms, engine clock).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ._model import Balance, Conditional, ExecType, Fill, MarginType, Order, Position, Side

__all__ = [
    "BookDiff",
    "PublicTrade",
    "AggTrade",
    "MarkUpdate",
    "LiquidationPrint",
    "FundingSettled",
    "OrderUpdate",
    "AccountUpdate",
    "ConfigUpdate",
    "ConditionalUpdate",
    "EngineEvent",
    "PRIVATE_EVENTS",
]


@dataclass(frozen=True)
class BookDiff:
    """Changed levels with absolute amounts (0 = level removed).

    Update ids: ``first_id`` = ``prev_last_id + 1`` and ``last_id`` = the book's update id after
    the change; the book's ``update_id`` is what a REST snapshot reports as last update id.
    Levels are sorted best-first (bids descending, asks ascending).
    """

    symbol: str
    first_id: int
    last_id: int
    prev_last_id: int
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    ts: int


@dataclass(frozen=True)
class PublicTrade:
    """One print on the public tape; ``buyer_is_maker`` means the taker sold."""

    symbol: str
    trade_id: int
    agg_id: int
    price: Decimal
    qty: Decimal
    buyer_is_maker: bool
    ts: int
    liquidation: bool = False


@dataclass(frozen=True)
class AggTrade:
    """Trades of one taker order at one price, emitted once the level is done."""

    symbol: str
    agg_id: int
    price: Decimal
    qty: Decimal
    first_trade_id: int
    last_trade_id: int
    buyer_is_maker: bool
    ts: int


@dataclass(frozen=True)
class MarkUpdate:
    symbol: str
    mark_price: Decimal
    index_price: Decimal
    funding_rate: Decimal
    next_funding_ms: int
    ts: int


@dataclass(frozen=True)
class LiquidationPrint:
    """A market-wide forced order (someone else's liquidation): ``side`` is the order side."""

    symbol: str
    side: Side
    price: Decimal
    avg_price: Decimal
    qty: Decimal
    ts: int


@dataclass(frozen=True)
class FundingSettled:
    symbol: str
    rate: Decimal
    mark_price: Decimal
    ts: int


@dataclass(frozen=True)
class OrderUpdate:
    """An order changed: ``order`` is a snapshot after the change, ``fill`` set for TRADE."""

    account: str
    order: Order
    exec_type: ExecType
    fill: Fill | None
    ts: int


@dataclass(frozen=True)
class AccountUpdate:
    """Balances and/or positions changed; ``reason`` uses Binance's names (ORDER,
    FUNDING_FEE, DEPOSIT, MARGIN_TYPE_CHANGE, ADJUSTMENT). ``balance_changes`` maps asset to
    the change excluding PnL and fees (Binance ``bc``)."""

    account: str
    reason: str
    balances: tuple[Balance, ...]
    positions: tuple[Position, ...]
    balance_changes: tuple[tuple[str, Decimal], ...]
    ts: int


@dataclass(frozen=True)
class ConfigUpdate:
    """Leverage / margin type of a symbol, or the account position mode changed."""

    account: str
    symbol: str | None
    leverage: int | None = None
    margin_type: MarginType | None = None
    dual_side: bool | None = None
    ts: int = 0


@dataclass(frozen=True)
class ConditionalUpdate:
    account: str
    cond: Conditional
    ts: int


EngineEvent = (
    BookDiff
    | PublicTrade
    | AggTrade
    | MarkUpdate
    | LiquidationPrint
    | FundingSettled
    | OrderUpdate
    | AccountUpdate
    | ConfigUpdate
    | ConditionalUpdate
)

PRIVATE_EVENTS = (OrderUpdate, AccountUpdate, ConfigUpdate, ConditionalUpdate)
