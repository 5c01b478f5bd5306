"""Native layer: the Example venue's JSON shapes, decoded by msgspec without number conversion.

Prices and amounts stay the venue's decimal strings here; ``_adapter`` turns them into ``Decimal``.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "NativeError",
    "NativeInstrument",
    "NativeTicker",
    "NativeTrade",
    "NativeBalance",
    "NativeTime",
    "NativeFrame",
]


class NativeError(msgspec.Struct, frozen=True):
    """Error body: ``{"ok": false, "code": 1001, "message": "..."}``."""

    ok: bool = True
    code: int | None = None
    message: str | None = None


class NativeInstrument(msgspec.Struct, frozen=True):
    symbol: str  # "BTC-USDT-PERP"
    base: str
    quote: str
    tick: str
    step: str
    min_qty: str
    min_notional: str = "0"
    status: Literal["open", "halted"] = "open"


class NativeTicker(msgspec.Struct, frozen=True):
    symbol: str
    last: str
    ts: int
    bid: str | None = None
    ask: str | None = None
    volume: str | None = None


class NativeTrade(msgspec.Struct, frozen=True):
    id: str
    symbol: str
    price: str
    qty: str
    taker: Literal["buy", "sell"]
    ts: int


class NativeBalance(msgspec.Struct, frozen=True):
    asset: str
    total: str
    free: str


class NativeTime(msgspec.Struct, frozen=True):
    server_time: int


class NativeFrame(msgspec.Struct, frozen=True):
    """Any websocket frame: data frames carry ``topic`` + ``data``, control frames carry ``op``."""

    op: str | None = None
    id: int | None = None
    topic: str | None = None
    topics: list[str] | None = None
    message: str | None = None
    data: msgspec.Raw = msgspec.Raw()  # empty on control frames
