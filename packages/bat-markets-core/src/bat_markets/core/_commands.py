"""Command intents (what the user asks) and receipts (what the venue answered)."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from ._enums import (
    CommandKind,
    CommandStatus,
    MarginMode,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    TimeInForce,
    TriggerBy,
)
from ._errors import BatMarketsError
from ._models import Order

__all__ = [
    "OrderRequest",
    "EditRequest",
    "CancelRequest",
    "LeverageRequest",
    "MarginModeRequest",
    "PositionModeRequest",
    "CommandReceipt",
]


class OrderRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A new order. ``symbol`` is the native id once it reaches an adapter."""

    symbol: str
    side: Side
    type: OrderType
    amount: Decimal | None  # None only with close_position=True
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    trigger_by: TriggerBy = TriggerBy.LAST_PRICE
    callback_rate: Decimal | None = None  # trailing stop, percent
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    close_position: bool = False  # Binance closePosition / Bybit closeOnTrigger style stop
    position_side: PositionSide = PositionSide.BOTH
    client_order_id: str | None = None
    good_till: int | None = None  # GTD expiry, ms


class EditRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Change price/amount/trigger of a live order, addressed by id or client id."""

    symbol: str
    id: str | None = None
    client_order_id: str | None = None
    amount: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    side: Side | None = None  # Binance modify requires side; the runtime fills it from state


class CancelRequest(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    id: str | None = None
    client_order_id: str | None = None


class LeverageRequest(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    leverage: Decimal


class MarginModeRequest(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str | None
    margin_mode: MarginMode


class PositionModeRequest(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str | None  # None: account-wide (Binance) / settle coin (Bybit)
    position_mode: PositionMode


class CommandReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """The classified answer to one command (one element of a batch).

    ``status`` is ACCEPTED, REJECTED (``error`` says why) or UNKNOWN (the request may have executed;
    reconciliation decides). ``noop`` marks a rejection that means the state already holds.
    """

    kind: CommandKind
    status: CommandStatus
    venue: str
    symbol: str | None = None
    order_id: str | None = None
    client_order_id: str | None = None
    order: Order | None = None
    error: BatMarketsError | None = None
    noop: bool = False
    timestamp: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is CommandStatus.ACCEPTED
