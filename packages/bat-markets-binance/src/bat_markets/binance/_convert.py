"""Native Binance values to unified models, and the enum vocabularies in both directions."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from bat_markets.core import (
    OHLCV,
    Balance,
    BookSnapshotEvent,
    ConfigError,
    DecodeError,
    FundingRate,
    MarginMode,
    MarkPrice,
    MyTrade,
    OpenInterest,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
    Ticker,
    TimeInForce,
    Trade,
    TriggerBy,
)
from bat_markets.core import Liquidity as _Liquidity

from ._native import (
    KlineRow,
    NativeAggTrade,
    NativeAlgoOrder,
    NativeBalance,
    NativeDepth,
    NativeFundingRate,
    NativeOpenInterest,
    NativeOrder,
    NativePosition,
    NativePremiumIndex,
    NativeTicker24h,
    NativeTrade,
    NativeUserTrade,
)

__all__ = [
    "ALGO_PREFIX",
    "Unified",
    "ORDER_TYPE_TO_NATIVE",
    "TIF_TO_NATIVE",
    "SIDE_TO_NATIVE",
    "POSITION_SIDE_TO_NATIVE",
    "dec",
    "fmt",
    "side",
    "position_side",
    "order_type",
    "time_in_force",
    "trigger_by",
    "order_status",
    "algo_status",
    "margin_mode",
    "algo_order_id",
    "parse_algo_id",
    "order_from_native",
    "algo_order_from_native",
    "position_from_native",
    "balance_from_native",
    "ticker_from_native",
    "book_from_native",
    "agg_trade_from_native",
    "trade_from_native",
    "ohlcv_from_row",
    "mark_price_from_native",
    "funding_from_premium",
    "funding_from_history",
    "open_interest_from_native",
    "my_trade_from_native",
]

Unified = Callable[[str], str]
ALGO_PREFIX = "algo:"
_ZERO = Decimal(0)

_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
SIDE_TO_NATIVE = {Side.BUY: "BUY", Side.SELL: "SELL"}
_POSITION_SIDES = {
    "BOTH": PositionSide.BOTH,
    "LONG": PositionSide.LONG,
    "SHORT": PositionSide.SHORT,
}
POSITION_SIDE_TO_NATIVE = {v: k for k, v in _POSITION_SIDES.items()}
_ORDER_TYPES = {
    "LIMIT": OrderType.LIMIT,
    "MARKET": OrderType.MARKET,
    "STOP": OrderType.STOP_LIMIT,
    "STOP_MARKET": OrderType.STOP_MARKET,
    "TAKE_PROFIT": OrderType.TAKE_PROFIT_LIMIT,
    "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT_MARKET,
    "TRAILING_STOP_MARKET": OrderType.TRAILING_STOP_MARKET,
    "LIQUIDATION": OrderType.MARKET,  # venue-initiated liquidation order
}
ORDER_TYPE_TO_NATIVE = {
    OrderType.LIMIT: "LIMIT",
    OrderType.MARKET: "MARKET",
    OrderType.STOP_LIMIT: "STOP",
    OrderType.STOP_MARKET: "STOP_MARKET",
    OrderType.TAKE_PROFIT_LIMIT: "TAKE_PROFIT",
    OrderType.TAKE_PROFIT_MARKET: "TAKE_PROFIT_MARKET",
    OrderType.TRAILING_STOP_MARKET: "TRAILING_STOP_MARKET",
}
_TIFS = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "GTX": TimeInForce.POST_ONLY,
    "RPI": TimeInForce.POST_ONLY,  # retail-price-improvement: post-only as well
    "GTD": TimeInForce.GTD,
    "GTE_GTC": TimeInForce.GTC,
}
TIF_TO_NATIVE = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "GTX",
    TimeInForce.GTD: "GTD",
}
_STATUSES = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,  # self-trade prevention
}
_ALGO_STATUSES = {
    "NEW": OrderStatus.NEW,
    "TRIGGERING": OrderStatus.TRIGGERED,
    "TRIGGERED": OrderStatus.TRIGGERED,
    "CANCELED": OrderStatus.CANCELED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
}


def _bad(what: str, value: object) -> DecodeError:
    return DecodeError(f"Binance sent an unknown {what} {value!r}", venue="binance")


def dec(text: str | None, *, zero_is_none: bool = False) -> Decimal | None:
    """A venue decimal string that may be empty (``""`` -> ``None``)."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DecodeError(f"Binance sent a malformed decimal {text!r}", venue="binance") from None
    if not value.is_finite():
        raise DecodeError(f"Binance sent a non-finite decimal {text!r}", venue="binance")
    if zero_is_none and not value:
        return None
    return value


def _nz(value: Decimal | None) -> Decimal | None:
    return value if value else None


def fmt(value: Decimal) -> str:
    """Canonical plain decimal string for a request (no exponent, no trailing zeros)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ConfigError(f"expected a finite Decimal, got {value!r}", venue="binance")
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def side(value: str) -> Side:
    try:
        return _SIDES[value]
    except KeyError:
        raise _bad("side", value) from None


def position_side(value: str | None) -> PositionSide:
    if not value:
        return PositionSide.BOTH
    try:
        return _POSITION_SIDES[value]
    except KeyError:
        raise _bad("position side", value) from None


def order_type(value: str | None, price: Decimal | None = None) -> OrderType:
    found = _ORDER_TYPES.get(value or "")
    if found is not None:
        return found
    return OrderType.LIMIT if price else OrderType.MARKET


def time_in_force(value: str | None) -> TimeInForce | None:
    return _TIFS.get(value) if value else None


def trigger_by(value: str | None) -> TriggerBy | None:
    if value == "MARK_PRICE":
        return TriggerBy.MARK_PRICE
    if value == "CONTRACT_PRICE":
        return TriggerBy.LAST_PRICE
    return None


def order_status(value: str) -> OrderStatus:
    try:
        return _STATUSES[value]
    except KeyError:
        raise _bad("order status", value) from None


def algo_status(value: str, filled: Decimal | None, amount: Decimal | None) -> OrderStatus:
    """Algo status; FINISHED becomes FILLED / CANCELED when the fill evidence says which."""
    if value == "FINISHED":
        if filled is None:
            return OrderStatus.TRIGGERED  # finished, but the payload does not say how
        if filled > 0 and (not amount or filled >= amount):
            return OrderStatus.FILLED
        return OrderStatus.CANCELED
    try:
        return _ALGO_STATUSES[value]
    except KeyError:
        raise _bad("algo status", value) from None


def margin_mode(value: str | None) -> MarginMode | None:
    if not value:
        return None
    low = value.lower()
    if low.startswith("cross"):
        return MarginMode.CROSS
    if low.startswith("isolated"):
        return MarginMode.ISOLATED
    return None


def algo_order_id(algo_id: int | str) -> str:
    return f"{ALGO_PREFIX}{algo_id}"


def parse_algo_id(order_id: str | None) -> str | None:
    """The numeric algo id of an ``"algo:<id>"`` order id, else ``None``."""
    if order_id and order_id.startswith(ALGO_PREFIX):
        return order_id[len(ALGO_PREFIX) :]
    return None


def order_from_native(n: NativeOrder, unified: Unified) -> Order:
    kind = order_type(n.type or n.origType, n.price)
    trigger = _nz(n.stopPrice)
    if kind is OrderType.TRAILING_STOP_MARKET and n.activatePrice:
        trigger = n.activatePrice
    return Order(
        symbol=unified(n.symbol),
        id=str(n.orderId),
        client_order_id=n.clientOrderId or None,
        side=side(n.side),
        type=kind,
        status=order_status(n.status),
        amount=n.origQty,
        filled=n.executedQty,
        price=_nz(n.price),
        average_price=_nz(n.avgPrice),
        trigger_price=trigger,
        trigger_by=trigger_by(n.workingType) if kind.is_conditional else None,
        time_in_force=time_in_force(n.timeInForce),
        reduce_only=n.reduceOnly,
        close_position=n.closePosition,
        position_side=position_side(n.positionSide),
        created_at=n.time or None,
        updated_at=n.updateTime or None,
        venue_status=n.status,
    )


def algo_order_from_native(n: NativeAlgoOrder, unified: Unified) -> Order:
    kind = order_type(n.orderType)
    amount = dec(n.quantity) or _ZERO
    trigger = dec(n.triggerPrice, zero_is_none=True)
    if trigger is None:
        trigger = dec(n.activatePrice, zero_is_none=True)
    return Order(
        symbol=unified(n.symbol),
        id=algo_order_id(n.algoId),
        client_order_id=n.clientAlgoId or None,
        side=side(n.side),
        type=kind,
        status=algo_status(n.algoStatus, None, amount),
        amount=amount,
        price=dec(n.price, zero_is_none=True),
        average_price=dec(n.actualPrice, zero_is_none=True),
        trigger_price=trigger,
        trigger_by=trigger_by(n.workingType),
        time_in_force=time_in_force(n.timeInForce),
        reduce_only=n.reduceOnly,
        close_position=n.closePosition,
        position_side=position_side(n.positionSide),
        created_at=n.createTime or None,
        updated_at=n.updateTime or None,
        venue_status=n.algoStatus,
    )


def position_from_native(n: NativePosition, unified: Unified) -> Position:
    ps = position_side(n.positionSide)
    size = n.positionAmt if ps is PositionSide.BOTH else abs(n.positionAmt)
    return Position(
        symbol=unified(n.symbol),
        position_side=ps,
        size=size,
        entry_price=_nz(n.entryPrice),
        break_even_price=_nz(n.breakEvenPrice),
        mark_price=_nz(n.markPrice),
        liquidation_price=_nz(n.liquidationPrice),
        unrealized_pnl=n.unRealizedProfit,
        leverage=n.leverage,
        margin_mode=margin_mode(n.marginType),
        isolated_margin=n.isolatedMargin,
        notional=n.notional,
        timestamp=n.updateTime or None,
    )


def balance_from_native(n: NativeBalance) -> Balance:
    return Balance(
        asset=n.asset,
        wallet_balance=n.balance,
        available=n.availableBalance,
        unrealized_pnl=n.crossUnPnl,
        cross_wallet_balance=n.crossWalletBalance,
        timestamp=n.updateTime or None,
    )


def ticker_from_native(n: NativeTicker24h, unified: Unified) -> Ticker:
    return Ticker(
        symbol=unified(n.symbol),
        timestamp=n.closeTime,
        last=n.lastPrice,
        open=n.openPrice,
        high=n.highPrice,
        low=n.lowPrice,
        volume=n.volume,
        quote_volume=n.quoteVolume,
        change=n.priceChange,
        percentage=n.priceChangePercent,
        vwap=n.weightedAvgPrice,
    )


def book_from_native(n: NativeDepth, symbol: str, limit: int | None) -> BookSnapshotEvent:
    bids, asks = n.bids, n.asks
    if limit is not None:
        bids, asks = bids[:limit], asks[:limit]
    return BookSnapshotEvent(
        symbol=symbol,
        bids=bids,
        asks=asks,
        update_id=n.lastUpdateId,
        timestamp=n.T or n.E,
        source="rest",
    )


def agg_trade_from_native(n: NativeAggTrade, symbol: str) -> Trade:
    return Trade(
        symbol=symbol,
        id=str(n.a),
        timestamp=n.T,
        price=n.p,
        amount=n.q,
        side=Side.SELL if n.m else Side.BUY,  # buyer is maker => the taker sold
        aggregated=True,
    )


def trade_from_native(n: NativeTrade, symbol: str) -> Trade:
    return Trade(
        symbol=symbol,
        id=str(n.id),
        timestamp=n.time,
        price=n.price,
        amount=n.qty,
        side=Side.SELL if n.isBuyerMaker else Side.BUY,
    )


def _must(text: str) -> Decimal:
    value = dec(text)
    if value is None:
        raise DecodeError("Binance sent an empty decimal in a kline", venue="binance")
    return value


def ohlcv_from_row(row: KlineRow, symbol: str, interval: str, now_s: float | None = None) -> OHLCV:
    close_time = row[6]
    return OHLCV(
        symbol=symbol,
        interval=interval,
        open_time=row[0],
        close_time=close_time,
        open=_must(row[1]),
        high=_must(row[2]),
        low=_must(row[3]),
        close=_must(row[4]),
        volume=_must(row[5]),
        quote_volume=dec(row[7]),
        trades=row[8],
        closed=now_s is None or close_time < now_s * 1000,
    )


def mark_price_from_native(n: NativePremiumIndex, unified: Unified) -> MarkPrice:
    return MarkPrice(
        symbol=unified(n.symbol),
        timestamp=n.time,
        mark_price=n.markPrice,
        index_price=n.indexPrice,
        estimated_settle_price=n.estimatedSettlePrice,
    )


def funding_from_premium(
    n: NativePremiumIndex, unified: Unified, interval_hours: int | None
) -> FundingRate:
    rate = dec(n.lastFundingRate)
    if rate is None:
        raise DecodeError(f"Binance has no funding rate for {n.symbol}", venue="binance")
    return FundingRate(
        symbol=unified(n.symbol),
        timestamp=n.time,
        funding_rate=rate,
        funding_time=n.nextFundingTime or None,
        mark_price=n.markPrice,
        index_price=n.indexPrice,
        interval_hours=interval_hours,
    )


def funding_from_history(
    n: NativeFundingRate, unified: Unified, interval_hours: int | None
) -> FundingRate:
    return FundingRate(
        symbol=unified(n.symbol),
        timestamp=n.fundingTime,
        funding_rate=n.fundingRate,
        funding_time=n.fundingTime,
        mark_price=dec(n.markPrice, zero_is_none=True),
        interval_hours=interval_hours,
    )


def open_interest_from_native(n: NativeOpenInterest, unified: Unified) -> OpenInterest:
    return OpenInterest(symbol=unified(n.symbol), timestamp=n.time, amount=n.openInterest)


def my_trade_from_native(n: NativeUserTrade, unified: Unified) -> MyTrade:
    liquidity = None
    if n.maker is not None:
        liquidity = _Liquidity.MAKER if n.maker else _Liquidity.TAKER
    return MyTrade(
        symbol=unified(n.symbol),
        id=str(n.id),
        order_id=str(n.orderId),
        client_order_id=None,
        side=side(n.side),
        price=n.price,
        amount=n.qty,
        timestamp=n.time,
        fee=n.commission,
        fee_asset=n.commissionAsset,
        liquidity=liquidity,
        realized_pnl=n.realizedPnl,
        position_side=position_side(n.positionSide),
    )
