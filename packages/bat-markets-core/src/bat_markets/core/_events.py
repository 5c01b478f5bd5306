"""Lane events: what adapters decode from websocket frames, before the runtime routes them."""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec

from ._models import (
    OHLCV,
    Balance,
    BookTop,
    FundingRate,
    Liquidation,
    MarkPrice,
    MyTrade,
    OpenInterest,
    Order,
    Position,
    Ticker,
    Trade,
)

__all__ = [
    "RawLevel",
    "BookSnapshotEvent",
    "BookDeltaEvent",
    "Control",
    "StreamData",
    "PublicEvent",
    "PublicFrame",
    "AccountConfigEvent",
    "MarginCallEvent",
    "StreamExpired",
    "PrivateEvent",
    "PrivateFrame",
    "PrivateData",
]

RawLevel = tuple[str, str]
"""One book level as the venue's decimal strings ``(price, amount)``; converted to ticks by the book."""


class BookSnapshotEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A full replacement of the book (REST snapshot, Bybit ``snapshot`` frame, partial depth)."""

    symbol: str  # unified
    bids: list[RawLevel]
    asks: list[RawLevel]
    update_id: int | None = None  # Binance lastUpdateId / Bybit u
    sequence: int | None = None  # Bybit cross sequence
    timestamp: int | None = None
    source: Literal["rest", "ws"] = "ws"


class BookDeltaEvent(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Absolute-quantity level changes; an amount of zero deletes the level."""

    symbol: str
    bids: list[RawLevel]
    asks: list[RawLevel]
    first_id: int | None = None  # Binance U
    last_id: int = 0  # Binance u / Bybit u
    prev_id: int | None = None  # Binance pu
    sequence: int | None = None
    timestamp: int | None = None


PublicEvent: TypeAlias = (
    Ticker
    | Trade
    | BookTop
    | BookSnapshotEvent
    | BookDeltaEvent
    | OHLCV
    | MarkPrice
    | FundingRate
    | OpenInterest
    | Liquidation
)


class Control(msgspec.Struct, frozen=True, kw_only=True):
    """A frame that carries no data: subscribe ack, pong, error, or something we skip.

    ``kind`` is one of ``ack``, ``pong``, ``auth``, ``error``, ``unknown``. ``unknown`` frames are
    counted by the runtime, never fatal.
    """

    kind: Literal["ack", "pong", "auth", "error", "unknown"]
    req_id: str | None = None
    ok: bool = True
    message: str | None = None
    topics: list[str] | None = None


class StreamData(msgspec.Struct, frozen=True, kw_only=True):
    """Events decoded from one public frame, with the venue topic they arrived on."""

    topic: str
    events: list[PublicEvent]


PublicFrame: TypeAlias = StreamData | Control


class AccountConfigEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Leverage / multi-asset / position-mode change pushed by the venue."""

    timestamp: int
    symbol: str | None = None
    leverage: int | None = None
    multi_assets: bool | None = None


class MarginCallEvent(msgspec.Struct, frozen=True, kw_only=True):
    timestamp: int
    positions: list[Position]
    cross_wallet_balance: str | None = None


class StreamExpired(msgspec.Struct, frozen=True, kw_only=True):
    """The private stream's session ended (Binance listenKeyExpired): reconnect and reconcile."""

    timestamp: int
    reason: str


PrivateEvent: TypeAlias = (
    Balance | Position | Order | MyTrade | AccountConfigEvent | MarginCallEvent | StreamExpired
)


class PrivateData(msgspec.Struct, frozen=True, kw_only=True):
    """Events decoded from one private frame. ``sequence`` is the venue's ordering hint if any."""

    topic: str
    events: list[PrivateEvent]
    timestamp: int | None = None


PrivateFrame: TypeAlias = PrivateData | Control
