"""Typed shapes of Bybit v5 payloads (only the fields we use) and their decoders, built once.

REST decoders are lax (``strict=False``) so the venue's string-encoded integers
(``"createdTime": "1684738540559"``) decode straight to ``int``. Fields the venue may send as
``""`` stay ``str`` and are converted by ``_util``. Hot-path websocket shapes (book levels,
public trades) decode prices straight to ``Decimal`` or keep the raw level strings for the book.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Generic, TypeVar

import msgspec

__all__ = [
    "EMPTY_RAW",
    "ABSENT_RAW",
    "Envelope",
    "Page",
    "TimeResult",
    "PriceFilter",
    "LotSizeFilter",
    "LeverageFilter",
    "InstrumentRow",
    "TickerRow",
    "BookResult",
    "KlineResult",
    "RecentTradeRow",
    "FundingRow",
    "OpenInterestRow",
    "CoinRow",
    "WalletAccount",
    "PositionRow",
    "OrderRow",
    "ExecutionRow",
    "AckRow",
    "ExtInfoItem",
    "ExtInfo",
    "Reason",
    "ReasonsResult",
    "WsEnvelope",
    "BookData",
    "BookFrame",
    "TradeFrame",
    "WsTradeRow",
    "WsKlineRow",
    "WsLiquidationRow",
    "TickerData",
    "FastExecutionRow",
    "TradeReply",
    "lax",
    "strict",
]

T = TypeVar("T")
EMPTY_RAW = msgspec.Raw(b"{}")
ABSENT_RAW = msgspec.Raw(b"")


def lax(tp: type[T]) -> msgspec.json.Decoder[T]:
    """A decoder that accepts string-encoded numbers and booleans."""
    return msgspec.json.Decoder(tp, strict=False)


def strict(tp: type[T]) -> msgspec.json.Decoder[T]:
    return msgspec.json.Decoder(tp)


# -- REST ------------------------------------------------------------------------------------


class Envelope(msgspec.Struct, gc=False):
    """``{retCode, retMsg, result, retExtInfo, time}``; ``result`` decoded in a second step."""

    retCode: int
    retMsg: str = ""
    result: msgspec.Raw = EMPTY_RAW
    retExtInfo: msgspec.Raw = EMPTY_RAW
    time: int | None = None


class Page(msgspec.Struct, Generic[T], gc=False):
    """A list result with an optional pagination cursor."""

    items: list[T] = msgspec.field(default_factory=list, name="list")
    nextPageCursor: str = ""


class TimeResult(msgspec.Struct, gc=False):
    timeSecond: str = ""
    timeNano: str = ""


class PriceFilter(msgspec.Struct, gc=False):
    tickSize: str
    minPrice: str = ""
    maxPrice: str = ""


class LotSizeFilter(msgspec.Struct, gc=False):
    qtyStep: str
    minOrderQty: str
    maxOrderQty: str = ""
    maxMktOrderQty: str = ""
    minNotionalValue: str = ""


class LeverageFilter(msgspec.Struct, gc=False):
    minLeverage: str = ""
    maxLeverage: str = ""
    leverageStep: str = ""


class InstrumentRow(msgspec.Struct, gc=False):
    symbol: str
    priceFilter: PriceFilter
    lotSizeFilter: LotSizeFilter
    contractType: str = ""
    status: str = ""
    baseCoin: str = ""
    quoteCoin: str = ""
    settleCoin: str = ""
    launchTime: str = ""
    deliveryTime: str = ""
    leverageFilter: LeverageFilter | None = None
    fundingInterval: int = 0


class TickerRow(msgspec.Struct, gc=False):
    symbol: str
    lastPrice: str = ""
    indexPrice: str = ""
    markPrice: str = ""
    prevPrice24h: str = ""
    price24hPcnt: str = ""
    highPrice24h: str = ""
    lowPrice24h: str = ""
    openInterest: str = ""
    openInterestValue: str = ""
    turnover24h: str = ""
    volume24h: str = ""
    fundingRate: str = ""
    nextFundingTime: str = ""
    fundingIntervalHour: str = ""
    predictedDeliveryPrice: str = ""
    bid1Price: str = ""
    bid1Size: str = ""
    ask1Price: str = ""
    ask1Size: str = ""


class BookResult(msgspec.Struct, gc=False):
    s: str
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]
    ts: int | None = None
    u: int | None = None
    seq: int | None = None


class KlineResult(msgspec.Struct, gc=False):
    rows: list[list[str]] = msgspec.field(default_factory=list, name="list")
    symbol: str = ""


class RecentTradeRow(msgspec.Struct, gc=False):
    execId: str
    symbol: str
    price: Decimal
    size: Decimal
    side: str
    time: int
    seq: int | None = None  # cross sequence: orders trades within one millisecond


class FundingRow(msgspec.Struct, gc=False):
    symbol: str
    fundingRate: str
    fundingRateTimestamp: int


class OpenInterestRow(msgspec.Struct, gc=False):
    openInterest: str
    timestamp: int


class CoinRow(msgspec.Struct, gc=False):
    coin: str
    walletBalance: str = ""
    equity: str = ""
    unrealisedPnl: str = ""
    availableToWithdraw: str = ""
    locked: str = ""
    totalOrderIM: str = ""
    totalPositionIM: str = ""


class WalletAccount(msgspec.Struct, gc=False):
    coin: list[CoinRow] = []
    accountType: str = ""


class PositionRow(msgspec.Struct, gc=False):
    symbol: str
    positionIdx: int = 0
    side: str = ""
    size: str = "0"
    avgPrice: str = ""  # REST
    entryPrice: str = ""  # websocket
    markPrice: str = ""
    liqPrice: str = ""
    breakEvenPrice: str = ""
    unrealisedPnl: str = ""
    cumRealisedPnl: str = ""
    leverage: str = ""
    tradeMode: int = 0
    positionIM: str = ""
    positionBalance: str = ""
    positionValue: str = ""
    updatedTime: str = ""
    category: str = "linear"


class OrderRow(msgspec.Struct, gc=False):
    orderId: str
    symbol: str
    side: str
    orderLinkId: str = ""
    orderType: str = ""
    orderStatus: str = ""
    price: str = ""
    qty: str = ""
    avgPrice: str = ""
    cumExecQty: str = ""
    cumExecFee: str = ""
    cumFeeDetail: dict[str, str] | None = None
    timeInForce: str = ""
    triggerPrice: str = ""
    triggerBy: str = ""
    triggerDirection: int = 0
    stopOrderType: str = ""
    reduceOnly: bool = False
    closeOnTrigger: bool = False
    positionIdx: int = 0
    cancelType: str = ""
    rejectReason: str = ""
    createdTime: str = ""
    updatedTime: str = ""
    category: str = "linear"


class ExecutionRow(msgspec.Struct, gc=False):
    execId: str
    orderId: str
    symbol: str
    side: str
    execPrice: str
    execQty: str
    execTime: str
    orderLinkId: str = ""
    execFee: str = ""
    feeCurrency: str = ""
    execType: str = "Trade"
    isMaker: bool | None = None
    execPnl: str = ""
    category: str = "linear"


class AckRow(msgspec.Struct, gc=False):
    orderId: str = ""
    orderLinkId: str = ""
    symbol: str = ""


class ExtInfoItem(msgspec.Struct, gc=False):
    code: int = 0
    msg: str = ""


class ExtInfo(msgspec.Struct, gc=False):
    items: list[ExtInfoItem] = msgspec.field(default_factory=list, name="list")


class Reason(msgspec.Struct, gc=False):
    reasonCode: str = ""
    reasonMsg: str = ""


class ReasonsResult(msgspec.Struct, gc=False):
    reasons: list[Reason] = []


# -- websocket -------------------------------------------------------------------------------


class WsEnvelope(msgspec.Struct, gc=False):
    """Any websocket frame: data frames have ``topic``, control frames ``op`` (public and private
    replies use ``success``/``ret_msg``, the trade websocket ``retCode``/``retMsg``)."""

    topic: str = ""
    type: str = ""
    ts: int | None = None
    cts: int | None = None
    creationTime: int | None = None
    data: msgspec.Raw = ABSENT_RAW  # zero-length when the frame has no ``data``
    op: str = ""
    success: bool | None = None
    ret_msg: str = ""
    req_id: str = ""
    retCode: int | None = None
    retMsg: str = ""
    reqId: str = ""


class BookData(msgspec.Struct, gc=False):
    s: str
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]
    u: int
    seq: int | None = None


class BookFrame(msgspec.Struct, gc=False):
    """One-pass shape of an ``orderbook.*`` frame (the hot path)."""

    topic: str
    type: str
    data: BookData
    ts: int | None = None
    cts: int | None = None


class WsTradeRow(msgspec.Struct, gc=False):
    T: int
    s: str
    S: str
    v: Decimal
    p: Decimal
    i: str


class TradeFrame(msgspec.Struct, gc=False):
    """One-pass shape of a ``publicTrade.*`` frame (the hot path)."""

    topic: str
    data: list[WsTradeRow]
    type: str = ""
    ts: int | None = None


class WsKlineRow(msgspec.Struct, gc=False):
    start: int
    end: int
    open: Decimal
    close: Decimal
    high: Decimal
    low: Decimal
    volume: Decimal
    turnover: str = ""
    confirm: bool = False
    interval: str = ""


class WsLiquidationRow(msgspec.Struct, gc=False):
    T: int
    s: str
    S: str
    v: Decimal
    p: Decimal


class TickerData(msgspec.Struct, gc=False):
    """A ``tickers`` snapshot or delta; ``None`` = field absent (unchanged in a delta)."""

    symbol: str
    lastPrice: str | None = None
    indexPrice: str | None = None
    markPrice: str | None = None
    prevPrice24h: str | None = None
    price24hPcnt: str | None = None
    highPrice24h: str | None = None
    lowPrice24h: str | None = None
    openInterest: str | None = None
    openInterestValue: str | None = None
    turnover24h: str | None = None
    volume24h: str | None = None
    fundingRate: str | None = None
    nextFundingTime: str | None = None
    fundingIntervalHour: str | None = None
    predictedDeliveryPrice: str | None = None
    bid1Price: str | None = None
    bid1Size: str | None = None
    ask1Price: str | None = None
    ask1Size: str | None = None


class FastExecutionRow(msgspec.Struct, gc=False):
    execId: str
    orderId: str
    symbol: str
    side: str
    execPrice: str
    execQty: str
    execTime: str
    orderLinkId: str = ""
    isMaker: bool | None = None
    category: str = "linear"


class TradeReply(msgspec.Struct, gc=False):
    """A ``/v5/trade`` reply: ``data`` is the REST ``result``."""

    retCode: int
    retMsg: str = ""
    op: str = ""
    reqId: str = ""
    data: msgspec.Raw = EMPTY_RAW
    retExtInfo: msgspec.Raw = EMPTY_RAW
    header: dict[str, str] = msgspec.field(default_factory=dict)  # Timenow, X-Bapi-Limit...
