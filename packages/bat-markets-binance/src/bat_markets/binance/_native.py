"""msgspec structs for Binance USD-M REST payloads (decoders built once, at import).

Field names are the venue's; numbers that are always decimal strings decode straight to
``Decimal``. Fields the venue sometimes sends as ``""`` stay ``str`` and are parsed by the
converters.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from bat_markets.core import DecodeError

__all__ = [
    "NativeOrder",
    "NativeAlgoOrder",
    "NativeCodeMsg",
    "NativePosition",
    "NativeBalance",
    "NativeAccountAsset",
    "NativeAccountPosition",
    "NativeAccount",
    "NativeTicker24h",
    "NativeBookTicker",
    "NativeTickerPrice",
    "NativeDepth",
    "NativeAggTrade",
    "NativeTrade",
    "NativePremiumIndex",
    "NativeFundingRate",
    "NativeFundingInfo",
    "NativeOpenInterest",
    "NativeServerTime",
    "NativeListenKey",
    "NativeLeverage",
    "NativeUserTrade",
    "NativeIncome",
    "NativeCommissionRate",
    "NativeBracket",
    "NativeLeverageBracket",
    "NativeSymbolConfig",
    "NativeAccountConfig",
    "NativePositionMode",
    "KlineRow",
    "decode",
    "decoder",
]

_ZERO = Decimal(0)


class NativeOrder(msgspec.Struct, kw_only=True, gc=False):
    """A regular order as REST and the WS API return it (create, query, cancel, modify...)."""

    orderId: int
    symbol: str
    status: str
    side: str
    type: str
    origQty: Decimal = _ZERO
    clientOrderId: str | None = None
    price: Decimal = _ZERO
    avgPrice: Decimal = _ZERO
    executedQty: Decimal = _ZERO
    timeInForce: str | None = None
    origType: str | None = None
    reduceOnly: bool = False
    closePosition: bool = False
    positionSide: str = "BOTH"
    stopPrice: Decimal = _ZERO
    workingType: str | None = None
    activatePrice: Decimal | None = None
    priceRate: Decimal | None = None
    time: int | None = None
    updateTime: int | None = None
    goodTillDate: int | None = None


class NativeAlgoOrder(msgspec.Struct, kw_only=True, gc=False):
    """A conditional (algo service) order: ``/fapi/v1/algoOrder``, ``openAlgoOrders``."""

    algoId: int
    symbol: str
    side: str
    orderType: str
    clientAlgoId: str | None = None
    algoType: str | None = None
    algoStatus: str = "NEW"
    positionSide: str = "BOTH"
    timeInForce: str | None = None
    quantity: str = ""
    price: str = ""
    triggerPrice: str = ""
    actualOrderId: str | int | None = None
    actualPrice: str = ""
    workingType: str | None = None
    closePosition: bool = False
    reduceOnly: bool = False
    activatePrice: str | None = None
    callbackRate: str | None = None
    createTime: int | None = None
    updateTime: int | None = None
    triggerTime: int | None = None
    goodTillDate: int | None = None


class NativeCodeMsg(msgspec.Struct, gc=False):
    """``{"code": 200, "msg": "success"}`` style answers (and algo cancel's ids)."""

    code: int | str | None = None
    msg: str | None = None
    algoId: int | None = None
    clientAlgoId: str | None = None


class NativePosition(msgspec.Struct, kw_only=True, gc=False):
    """``/fapi/v3/positionRisk`` row (v2 rows add ``leverage`` and ``marginType``)."""

    symbol: str
    positionAmt: Decimal
    positionSide: str = "BOTH"
    entryPrice: Decimal | None = None
    breakEvenPrice: Decimal | None = None
    markPrice: Decimal | None = None
    unRealizedProfit: Decimal | None = None
    liquidationPrice: Decimal | None = None
    isolatedMargin: Decimal | None = None
    isolatedWallet: Decimal | None = None
    notional: Decimal | None = None
    leverage: Decimal | None = None
    marginType: str | None = None
    marginAsset: str | None = None
    updateTime: int | None = None


class NativeBalance(msgspec.Struct, kw_only=True, gc=False):
    """``/fapi/v3/balance`` row."""

    asset: str
    balance: Decimal
    crossWalletBalance: Decimal | None = None
    crossUnPnl: Decimal | None = None
    availableBalance: Decimal | None = None
    maxWithdrawAmount: Decimal | None = None
    updateTime: int | None = None


class NativeAccountAsset(msgspec.Struct, kw_only=True, gc=False):
    asset: str
    walletBalance: Decimal
    unrealizedProfit: Decimal | None = None
    marginBalance: Decimal | None = None
    crossWalletBalance: Decimal | None = None
    availableBalance: Decimal | None = None
    updateTime: int | None = None


class NativeAccountPosition(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    positionAmt: Decimal
    positionSide: str = "BOTH"
    unrealizedProfit: Decimal | None = None
    entryPrice: Decimal | None = None
    isolatedMargin: Decimal | None = None
    notional: Decimal | None = None
    leverage: Decimal | None = None
    isolated: bool | None = None
    updateTime: int | None = None


class NativeAccount(msgspec.Struct, kw_only=True, gc=False):
    """``/fapi/v2/account`` and ``/fapi/v3/account``."""

    assets: list[NativeAccountAsset] = []
    positions: list[NativeAccountPosition] = []
    totalWalletBalance: Decimal | None = None
    totalMarginBalance: Decimal | None = None
    availableBalance: Decimal | None = None


class NativeTicker24h(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    lastPrice: Decimal | None = None
    priceChange: Decimal | None = None
    priceChangePercent: Decimal | None = None
    weightedAvgPrice: Decimal | None = None
    openPrice: Decimal | None = None
    highPrice: Decimal | None = None
    lowPrice: Decimal | None = None
    volume: Decimal | None = None
    quoteVolume: Decimal | None = None
    openTime: int | None = None
    closeTime: int = 0
    count: int | None = None


class NativeBookTicker(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    bidPrice: Decimal
    bidQty: Decimal
    askPrice: Decimal
    askQty: Decimal
    time: int | None = None


class NativeTickerPrice(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    price: Decimal
    time: int | None = None


class NativeDepth(msgspec.Struct, kw_only=True, gc=False):
    lastUpdateId: int
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]
    E: int | None = None
    T: int | None = None


class NativeAggTrade(msgspec.Struct, kw_only=True, gc=False):
    a: int
    p: Decimal
    q: Decimal
    T: int
    m: bool
    f: int | None = None
    l: int | None = None  # noqa: E741 - venue field name


class NativeTrade(msgspec.Struct, kw_only=True, gc=False):
    id: int
    price: Decimal
    qty: Decimal
    time: int
    isBuyerMaker: bool
    quoteQty: Decimal | None = None


class NativePremiumIndex(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    markPrice: Decimal
    time: int
    indexPrice: Decimal | None = None
    estimatedSettlePrice: Decimal | None = None
    lastFundingRate: str = ""
    interestRate: str = ""
    nextFundingTime: int | None = None


class NativeFundingRate(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    fundingRate: Decimal
    fundingTime: int
    markPrice: str = ""


class NativeFundingInfo(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    fundingIntervalHours: int
    adjustedFundingRateCap: Decimal | None = None
    adjustedFundingRateFloor: Decimal | None = None


class NativeOpenInterest(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    openInterest: Decimal
    time: int


class NativeServerTime(msgspec.Struct, gc=False):
    serverTime: int


class NativeListenKey(msgspec.Struct, gc=False):
    listenKey: str


class NativeLeverage(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    leverage: int
    maxNotionalValue: Decimal | None = None


class NativeUserTrade(msgspec.Struct, kw_only=True, gc=False):
    """``/fapi/v1/userTrades`` row."""

    symbol: str
    id: int
    orderId: int
    side: str
    price: Decimal
    qty: Decimal
    time: int
    commission: Decimal | None = None
    commissionAsset: str | None = None
    realizedPnl: Decimal | None = None
    maker: bool | None = None
    buyer: bool | None = None
    positionSide: str = "BOTH"
    quoteQty: Decimal | None = None


class NativeIncome(msgspec.Struct, kw_only=True, gc=False):
    """``/fapi/v1/income`` row."""

    incomeType: str
    income: Decimal
    asset: str
    time: int
    symbol: str = ""
    info: str = ""
    tranId: int | None = None
    tradeId: str = ""


class NativeCommissionRate(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    makerCommissionRate: Decimal
    takerCommissionRate: Decimal
    rpiCommissionRate: Decimal | None = None


class NativeBracket(msgspec.Struct, kw_only=True, gc=False):
    bracket: int
    initialLeverage: int
    notionalCap: Decimal
    notionalFloor: Decimal
    maintMarginRatio: Decimal
    cum: Decimal


class NativeLeverageBracket(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    brackets: list[NativeBracket]
    notionalCoef: Decimal | None = None


class NativeSymbolConfig(msgspec.Struct, kw_only=True, gc=False):
    symbol: str
    marginType: str
    leverage: int
    isAutoAddMargin: bool | None = None
    maxNotionalValue: Decimal | None = None


class NativeAccountConfig(msgspec.Struct, kw_only=True, gc=False):
    """``/fapi/v1/accountConfig``."""

    dualSidePosition: bool
    multiAssetsMargin: bool
    feeTier: int | None = None
    canTrade: bool | None = None
    canDeposit: bool | None = None
    canWithdraw: bool | None = None
    tradeGroupId: int | None = None
    updateTime: int | None = None


class NativePositionMode(msgspec.Struct, gc=False):
    """``GET /fapi/v1/positionSide/dual``."""

    dualSidePosition: bool


KlineRow = tuple[int, str, str, str, str, str, int, str, int, str, str, str]
"""``[openTime, o, h, l, c, volume, closeTime, quoteVolume, trades, takerBase, takerQuote, _]``."""

T = TypeVar("T")
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder(tp: type[T]) -> msgspec.json.Decoder[T]:
    """A cached typed JSON decoder for ``tp``."""
    dec = _DECODERS.get(tp)
    if dec is None:
        dec = _DECODERS[tp] = msgspec.json.Decoder(tp)
    return dec


def decode(body: bytes, tp: type[T], what: str) -> T:
    """Decode ``body`` as ``tp`` or raise ``DecodeError`` naming ``what``."""
    try:
        result: T = decoder(tp).decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise DecodeError(f"Binance {what}: unexpected payload ({exc})", venue="binance") from None
    return result
