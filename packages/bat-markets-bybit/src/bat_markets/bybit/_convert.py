"""Native Bybit rows to unified models (symbols arrive native and leave unified)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from bat_markets.core import (
    Balance,
    DecodeError,
    FundingRate,
    Liquidity,
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
    TriggerBy,
)

from ._native import CoinRow, ExecutionRow, FastExecutionRow, OrderRow, PositionRow
from ._util import VENUE, dec, dec_nonzero, dec_opt, int_opt

__all__ = [
    "Unify",
    "SIDES",
    "POSITION_SIDES",
    "TRIGGER_BY",
    "TRIGGER_BY_NATIVE",
    "side_of",
    "TickerFields",
    "ticker_from",
    "mark_price_from",
    "funding_rate_from",
    "open_interest_from",
    "order_from_row",
    "position_from_row",
    "my_trade_from_row",
    "my_trade_from_fast",
    "balance_from_coin",
]

Unify = Callable[[str], str]
"""Native id -> unified symbol (``Markets.unified``)."""

SIDES = {"Buy": Side.BUY, "Sell": Side.SELL}
POSITION_SIDES = {0: PositionSide.BOTH, 1: PositionSide.LONG, 2: PositionSide.SHORT}
TRIGGER_BY = {
    "LastPrice": TriggerBy.LAST_PRICE,
    "MarkPrice": TriggerBy.MARK_PRICE,
    "IndexPrice": TriggerBy.INDEX_PRICE,
}
TRIGGER_BY_NATIVE = {v: k for k, v in TRIGGER_BY.items()}
_TIF = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "PostOnly": TimeInForce.POST_ONLY,
}
_STATUS = {
    "New": OrderStatus.NEW,
    "Untriggered": OrderStatus.NEW,  # conditional, waiting for its trigger
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Triggered": OrderStatus.TRIGGERED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED,
    "PartiallyFilledCanceled": OrderStatus.CANCELED,
    "Deactivated": OrderStatus.CANCELED,
    "Rejected": OrderStatus.REJECTED,
}
# Bybit kills a post-only order that would take (Binance answers EXPIRED); SMP kills likewise.
_EXPIRE_REASONS = frozenset({"EC_PostOnlyWillTakeLiquidity"})
_EXPIRE_CANCEL_TYPES = frozenset({"CancelBySmp"})
_NON_FILL_EXEC_TYPES = frozenset({"Funding", "Settle"})


def side_of(text: str, field: str = "side") -> Side:
    side = SIDES.get(text)
    if side is None:
        raise DecodeError(f"unknown {field} {text!r}", venue=VENUE)
    return side


# -- tickers -----------------------------------------------------------------------------------


class TickerFields:
    """The ticker fields shared by REST rows and merged websocket state (``str``, ``""`` = unset)."""

    __slots__ = (
        "ask1Price",
        "ask1Size",
        "bid1Price",
        "bid1Size",
        "fundingIntervalHour",
        "fundingRate",
        "highPrice24h",
        "indexPrice",
        "lastPrice",
        "lowPrice24h",
        "markPrice",
        "nextFundingTime",
        "openInterest",
        "openInterestValue",
        "predictedDeliveryPrice",
        "prevPrice24h",
        "price24hPcnt",
        "symbol",
        "turnover24h",
        "volume24h",
    )
    FIELDS: tuple[str, ...] = tuple(f for f in __slots__ if f != "symbol")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        for name in self.FIELDS:
            setattr(self, name, "")

    def update_from(self, source: object) -> None:
        """Copy every field of ``source`` that is not ``None`` (a delta: absent = unchanged)."""
        for name in self.FIELDS:
            value = getattr(source, name, None)
            if value is not None:
                setattr(self, name, value)

    def get(self, name: str) -> str:
        value: str = getattr(self, name)
        return value


def ticker_from(f: TickerFields | object, unified: str, timestamp: int) -> Ticker:
    """A unified ``Ticker`` from a REST row or merged websocket fields."""

    def g(name: str) -> str:
        value: str = getattr(f, name, "") or ""
        return value

    last = dec_opt(g("lastPrice"), "lastPrice")
    prev = dec_opt(g("prevPrice24h"), "prevPrice24h")
    pcnt = dec_opt(g("price24hPcnt"), "price24hPcnt")
    return Ticker(
        symbol=unified,
        timestamp=timestamp,
        last=last,
        bid=dec_opt(g("bid1Price"), "bid1Price"),
        bid_size=dec_opt(g("bid1Size"), "bid1Size"),
        ask=dec_opt(g("ask1Price"), "ask1Price"),
        ask_size=dec_opt(g("ask1Size"), "ask1Size"),
        open=prev,
        high=dec_opt(g("highPrice24h"), "highPrice24h"),
        low=dec_opt(g("lowPrice24h"), "lowPrice24h"),
        volume=dec_opt(g("volume24h"), "volume24h"),
        quote_volume=dec_opt(g("turnover24h"), "turnover24h"),
        change=last - prev if last is not None and prev is not None else None,
        percentage=pcnt * 100 if pcnt is not None else None,
        mark_price=dec_opt(g("markPrice"), "markPrice"),
        index_price=dec_opt(g("indexPrice"), "indexPrice"),
        funding_rate=dec_opt(g("fundingRate"), "fundingRate"),
        next_funding_time=int_opt(g("nextFundingTime"), "nextFundingTime"),
        open_interest=dec_opt(g("openInterest"), "openInterest"),
    )


def mark_price_from(f: object, unified: str, timestamp: int) -> MarkPrice | None:
    mark = dec_opt(getattr(f, "markPrice", "") or "", "markPrice")
    if mark is None:
        return None
    return MarkPrice(
        symbol=unified,
        timestamp=timestamp,
        mark_price=mark,
        index_price=dec_opt(getattr(f, "indexPrice", "") or "", "indexPrice"),
        estimated_settle_price=dec_opt(
            getattr(f, "predictedDeliveryPrice", "") or "", "predictedDeliveryPrice"
        ),
    )


def funding_rate_from(f: object, unified: str, timestamp: int) -> FundingRate | None:
    rate = dec_opt(getattr(f, "fundingRate", "") or "", "fundingRate")
    if rate is None:  # dated futures have no funding
        return None
    return FundingRate(
        symbol=unified,
        timestamp=timestamp,
        funding_rate=rate,
        funding_time=int_opt(getattr(f, "nextFundingTime", "") or "", "nextFundingTime"),
        mark_price=dec_opt(getattr(f, "markPrice", "") or "", "markPrice"),
        index_price=dec_opt(getattr(f, "indexPrice", "") or "", "indexPrice"),
        interval_hours=int_opt(getattr(f, "fundingIntervalHour", "") or "", "fundingIntervalHour"),
    )


def open_interest_from(f: object, unified: str, timestamp: int) -> OpenInterest | None:
    amount = dec_opt(getattr(f, "openInterest", "") or "", "openInterest")
    if amount is None:
        return None
    return OpenInterest(
        symbol=unified,
        timestamp=timestamp,
        amount=amount,
        value=dec_opt(getattr(f, "openInterestValue", "") or "", "openInterestValue"),
    )


# -- orders ------------------------------------------------------------------------------------


def _order_type(row: OrderRow, side: Side, trigger: Decimal | None) -> OrderType:
    limit = row.orderType == "Limit"
    stop_type = row.stopOrderType
    if stop_type == "TrailingStop":
        return OrderType.TRAILING_STOP_MARKET
    if trigger is None and stop_type in ("", "UNKNOWN"):
        return OrderType.LIMIT if limit else OrderType.MARKET
    if stop_type in ("TakeProfit", "PartialTakeProfit"):
        take_profit = True
    elif stop_type in ("StopLoss", "PartialStopLoss"):
        take_profit = False
    else:
        # A plain conditional ("Stop"): a buy that triggers on a rise (1) is a stop, on a fall (2)
        # a take-profit; mirrored for sells.
        rising = row.triggerDirection == 1
        take_profit = rising if side is Side.SELL else row.triggerDirection == 2
    if take_profit:
        return OrderType.TAKE_PROFIT_LIMIT if limit else OrderType.TAKE_PROFIT_MARKET
    return OrderType.STOP_LIMIT if limit else OrderType.STOP_MARKET


def _order_status(row: OrderRow) -> OrderStatus:
    status = _STATUS.get(row.orderStatus)
    if status is None:
        # Forward compatibility: an unknown final-looking status is not reported as open.
        lowered = row.orderStatus.lower()
        if "cancel" in lowered:
            return OrderStatus.CANCELED
        if "reject" in lowered:
            return OrderStatus.REJECTED
        if "fill" in lowered:
            return OrderStatus.FILLED
        return OrderStatus.NEW
    if status is OrderStatus.CANCELED and (
        row.rejectReason in _EXPIRE_REASONS or row.cancelType in _EXPIRE_CANCEL_TYPES
    ):
        return OrderStatus.EXPIRED
    return status


def order_from_row(row: OrderRow, unify: Unify) -> Order:
    """A unified ``Order`` from a REST ``order/realtime|history`` row or an ``order`` push."""
    side = side_of(row.side)
    trigger = dec_nonzero(row.triggerPrice, "triggerPrice")
    otype = _order_type(row, side, trigger)
    fee: Decimal | None = None
    fee_asset: str | None = None
    if row.cumFeeDetail:
        if len(row.cumFeeDetail) == 1:
            ((fee_asset, fee_text),) = row.cumFeeDetail.items()
            fee = dec_opt(fee_text, "cumFeeDetail")
    elif row.cumExecFee:
        fee = dec_opt(row.cumExecFee, "cumExecFee")
        fee_asset = "USDT" if fee is not None else None
    reason = row.rejectReason
    return Order(
        symbol=unify(row.symbol),
        id=row.orderId,
        client_order_id=row.orderLinkId or None,
        side=side,
        type=otype,
        status=_order_status(row),
        amount=dec(row.qty, "qty"),
        filled=dec_opt(row.cumExecQty, "cumExecQty") or Decimal(0),
        price=dec_nonzero(row.price, "price") if otype.has_limit_price else None,
        average_price=dec_nonzero(row.avgPrice, "avgPrice"),
        trigger_price=trigger,
        trigger_by=TRIGGER_BY.get(row.triggerBy) if trigger is not None else None,
        time_in_force=_TIF.get(row.timeInForce),
        reduce_only=row.reduceOnly,
        close_position=row.closeOnTrigger,
        position_side=POSITION_SIDES.get(row.positionIdx, PositionSide.BOTH),
        fee=fee,
        fee_asset=fee_asset,
        created_at=int_opt(row.createdTime, "createdTime"),
        updated_at=int_opt(row.updatedTime, "updatedTime"),
        venue_status=row.orderStatus or None,
        reject_reason=reason if reason and reason != "EC_NoError" else None,
    )


# -- positions ---------------------------------------------------------------------------------


def position_from_row(row: PositionRow, unify: Unify) -> Position:
    """One position leg. ``positionIdx`` decides the leg (0 BOTH, 1 LONG, 2 SHORT); a flat leg
    (``side`` ``""``/``"None"``, size 0) is kept as a zero-size leg."""
    leg = POSITION_SIDES.get(row.positionIdx)
    if leg is None:
        raise DecodeError(f"unknown positionIdx {row.positionIdx}", venue=VENUE)
    size = dec_opt(row.size, "size") or Decimal(0)
    if size < 0:
        raise DecodeError(f"negative position size {row.size!r}", venue=VENUE)
    if leg is PositionSide.BOTH and row.side == "Sell":
        size = -size
    flat = size == 0
    entry = row.entryPrice or row.avgPrice
    isolated = row.tradeMode == 1
    return Position(
        symbol=unify(row.symbol),
        position_side=leg,
        size=size,
        entry_price=None if flat else dec_nonzero(entry, "entryPrice"),
        break_even_price=None if flat else dec_nonzero(row.breakEvenPrice, "breakEvenPrice"),
        mark_price=dec_nonzero(row.markPrice, "markPrice"),
        liquidation_price=None if flat else dec_nonzero(row.liqPrice, "liqPrice"),
        unrealized_pnl=dec_opt(row.unrealisedPnl, "unrealisedPnl"),
        realized_pnl=dec_opt(row.cumRealisedPnl, "cumRealisedPnl"),
        leverage=dec_nonzero(row.leverage, "leverage"),
        margin_mode=MarginMode.ISOLATED if isolated else MarginMode.CROSS,
        isolated_margin=dec_opt(row.positionBalance or row.positionIM, "positionBalance")
        if isolated
        else None,
        notional=dec_opt(row.positionValue, "positionValue"),
        timestamp=int_opt(row.updatedTime, "updatedTime"),
    )


# -- executions --------------------------------------------------------------------------------


def my_trade_from_row(row: ExecutionRow, unify: Unify) -> MyTrade | None:
    """A fill; ``None`` for executions that are not fills (funding, settlement)."""
    if row.execType in _NON_FILL_EXEC_TYPES:
        return None
    return MyTrade(
        symbol=unify(row.symbol),
        id=row.execId,
        order_id=row.orderId,
        client_order_id=row.orderLinkId or None,
        side=side_of(row.side),
        price=dec(row.execPrice, "execPrice"),
        amount=dec(row.execQty, "execQty"),
        timestamp=int_opt(row.execTime, "execTime") or 0,
        fee=dec_opt(row.execFee, "execFee"),
        fee_asset=row.feeCurrency or None,
        liquidity=None
        if row.isMaker is None
        else (Liquidity.MAKER if row.isMaker else Liquidity.TAKER),
        realized_pnl=dec_opt(row.execPnl, "execPnl"),
    )


def my_trade_from_fast(row: FastExecutionRow, unify: Unify) -> MyTrade:
    """A fill from ``execution.fast`` (no fee; ``orderLinkId`` is empty on maker fills)."""
    return MyTrade(
        symbol=unify(row.symbol),
        id=row.execId,
        order_id=row.orderId,
        client_order_id=row.orderLinkId or None,
        side=side_of(row.side),
        price=dec(row.execPrice, "execPrice"),
        amount=dec(row.execQty, "execQty"),
        timestamp=int_opt(row.execTime, "execTime") or 0,
        liquidity=None
        if row.isMaker is None
        else (Liquidity.MAKER if row.isMaker else Liquidity.TAKER),
    )


# -- balances ----------------------------------------------------------------------------------


def balance_from_coin(coin: CoinRow, timestamp: int | None) -> Balance:
    """Per-coin balance of a unified account.

    ``available`` = wallet - position IM - order IM - locked when the margin fields are present
    (UTA 2.0 leaves ``availableToWithdraw`` empty); else ``availableToWithdraw``; else unknown.
    """
    wallet = dec_opt(coin.walletBalance, "walletBalance") or Decimal(0)
    pos_im = dec_opt(coin.totalPositionIM, "totalPositionIM")
    ord_im = dec_opt(coin.totalOrderIM, "totalOrderIM")
    locked = dec_opt(coin.locked, "locked") or Decimal(0)
    available: Decimal | None
    if pos_im is not None or ord_im is not None:
        available = wallet - (pos_im or 0) - (ord_im or 0) - locked
    else:
        available = dec_opt(coin.availableToWithdraw, "availableToWithdraw")
    return Balance(
        asset=coin.coin,
        wallet_balance=wallet,
        available=available,
        unrealized_pnl=dec_opt(coin.unrealisedPnl, "unrealisedPnl"),
        equity=dec_opt(coin.equity, "equity"),
        timestamp=timestamp,
    )
