"""Bybit v5 payload renderers: views in, the venue's exact JSON shapes out.

Key sets, key order and JSON types follow ``fixtures/bybit`` (strings for every price, quantity,
value and REST timestamp; ints for ``positionIdx``, ``seq``, ``triggerDirection``, WS ``ts``;
bools for flags). Fields newer than a fixture (e.g. ``cumFeeDetail`` on WS orders) are added.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, Decimal
from typing import Any

from ._format import ZERO, fixed, opt_fixed, plain
from ._views import (
    CoinView,
    ExecutionView,
    InstrumentView,
    KlineView,
    LiquidationView,
    OrderView,
    PositionView,
    TickerView,
    TradeView,
    WalletView,
)

__all__ = [
    "JsonDict",
    "envelope",
    "server_time",
    "instrument",
    "order_rest",
    "order_ws",
    "execution_rest",
    "execution_ws",
    "execution_fast_ws",
    "position_rest",
    "position_ws",
    "wallet_account",
    "ticker_rest",
    "ticker_ws",
    "book_levels",
    "orderbook_rest",
    "orderbook_ws",
    "kline_rest_row",
    "mark_kline_rest_row",
    "kline_ws",
    "trade_rest",
    "trade_ws",
    "liquidation_ws",
    "private_message",
    "ticker_delta",
]

JsonDict = dict[str, Any]


def envelope(
    result: object = None,
    *,
    time_ms: int,
    code: int = 0,
    msg: str = "OK",
    ext: JsonDict | None = None,
) -> JsonDict:
    """The REST envelope ``{retCode, retMsg, result, retExtInfo, time}`` (HTTP 200 even on errors)."""
    return {
        "retCode": code,
        "retMsg": msg,
        "result": {} if result is None else result,
        "retExtInfo": {} if ext is None else ext,
        "time": time_ms,
    }


def server_time(now_ms: int) -> JsonDict:
    return {"timeSecond": str(now_ms // 1000), "timeNano": str(now_ms * 1_000_000)}


def instrument(view: InstrumentView) -> JsonDict:
    """One ``instruments-info`` row (linear)."""
    pp, qp = view.price_places, view.qty_places
    return {
        "symbol": view.symbol,
        "symbolId": view.symbol_id,
        "contractType": view.contract_type,
        "status": view.status,
        "baseCoin": view.base,
        "quoteCoin": view.quote,
        "launchTime": str(view.launch_ms),
        "deliveryTime": str(view.delivery_ms),
        "deliveryFeeRate": "",
        "priceScale": str(pp),
        "leverageFilter": {
            "minLeverage": plain(view.min_leverage),
            "maxLeverage": fixed(view.max_leverage, 2),
            "leverageStep": plain(view.leverage_step),
        },
        "priceFilter": {
            "minPrice": fixed(view.min_price, pp),
            "maxPrice": fixed(view.max_price, pp),
            "tickSize": fixed(view.tick_size, pp),
        },
        "lotSizeFilter": {
            "maxOrderQty": fixed(view.max_qty, qp),
            "minOrderQty": fixed(view.min_qty, qp),
            "qtyStep": fixed(view.qty_step, qp),
            "postOnlyMaxOrderQty": fixed(view.max_qty, qp),
            "maxMktOrderQty": fixed(view.max_mkt_qty, qp),
            "minNotionalValue": plain(view.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": view.funding_interval_min,
        "settleCoin": view.settle,
        "copyTrading": "both",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        "symbolType": "",
    }


def _avg(view: OrderView, pp: int) -> str:
    if view.avg_price is None or view.cum_qty == 0:
        return "0"
    return fixed(view.avg_price, pp)


def _order_common(view: OrderView, inst: InstrumentView) -> JsonDict:
    pp, qp = inst.price_places, inst.qty_places
    leaves = view.leaves_qty
    price = view.price if view.order_type == "Limit" or view.price else ZERO
    return {
        "orderId": view.order_id,
        "orderLinkId": view.link_id,
        "blockTradeId": "",
        "symbol": view.symbol,
        "price": fixed(price, pp),
        "qty": fixed(view.qty, qp),
        "side": view.side,
        "isLeverage": "",
        "positionIdx": view.position_idx,
        "orderStatus": view.status,
        "cancelType": view.cancel_type,
        "rejectReason": view.reject_reason,
        "avgPrice": _avg(view, pp),
        "leavesQty": fixed(leaves, qp),
        "leavesValue": plain(leaves * price),
        "cumExecQty": fixed(view.cum_qty, qp),
        "cumExecValue": plain(view.cum_value),
        "cumExecFee": plain(view.cum_fee),
        "timeInForce": view.time_in_force,
        "orderType": view.order_type,
        "stopOrderType": view.stop_order_type,
        "orderIv": "",
        "triggerPrice": opt_fixed(view.trigger_price, pp),
        "takeProfit": opt_fixed(view.take_profit, pp),
        "stopLoss": opt_fixed(view.stop_loss, pp),
        "tpTriggerBy": view.tp_trigger_by,
        "slTriggerBy": view.sl_trigger_by,
        "triggerDirection": view.trigger_direction,
        "triggerBy": view.trigger_by,
        "lastPriceOnCreated": opt_fixed(view.last_price_on_created, pp),
        "reduceOnly": view.reduce_only,
        "closeOnTrigger": view.close_on_trigger,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "Full" if view.take_profit or view.stop_loss else "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "placeType": "",
        "createdTime": str(view.created_ms),
        "updatedTime": str(view.updated_ms),
    }


def order_rest(view: OrderView, inst: InstrumentView) -> JsonDict:
    """A row of ``/v5/order/realtime`` and ``/v5/order/history``."""
    row = _order_common(view, inst)
    row["slippageToleranceType"] = "UNKNOWN"
    row["slippageTolerance"] = ""
    row["extraFees"] = ""
    row["cumFeeDetail"] = {view.fee_currency: plain(view.cum_fee)} if view.cum_fee else {}
    row["rpiTakerAccess"] = False
    row["rpiMatchedQty"] = "0"
    return row


def order_ws(view: OrderView, inst: InstrumentView) -> JsonDict:
    """One element of the private ``order`` topic."""
    row = _order_common(view, inst)
    if row["avgPrice"] == "0" and view.cum_qty == 0:
        row["avgPrice"] = ""  # captured: a fresh order carries avgPrice "" on the stream
    if not view.take_profit and not view.stop_loss:
        row["tpslMode"] = "UNKNOWN"
    row["category"] = "linear"
    row["createType"] = view.create_type
    row["closedPnl"] = plain(view.closed_pnl)
    row["cumFeeDetail"] = {view.fee_currency: plain(view.cum_fee)} if view.cum_fee else {}
    row["slippageToleranceType"] = "UNKNOWN"
    row["slippageTolerance"] = ""
    return row


def _exec_common(view: ExecutionView, inst: InstrumentView) -> JsonDict:
    pp, qp = inst.price_places, inst.qty_places
    return {
        "symbol": view.symbol,
        "orderType": view.order_type,
        "underlyingPrice": "",
        "orderLinkId": view.link_id,
        "side": view.side,
        "indexPrice": "",
        "orderId": view.order_id,
        "stopOrderType": view.stop_order_type,
        "leavesQty": fixed(view.leaves_qty, qp),
        "execTime": str(view.exec_time),
        "feeCurrency": view.fee_currency,
        "isMaker": view.is_maker,
        "execFee": plain(view.exec_fee),
        "feeRate": plain(view.fee_rate),
        "execId": view.exec_id,
        "tradeIv": "",
        "blockTradeId": "",
        "markPrice": fixed(view.mark_price, pp),
        "execPrice": fixed(view.exec_price, pp),
        "markIv": "",
        "orderQty": fixed(view.order_qty, qp),
        "orderPrice": fixed(view.order_price, pp),
        "execValue": plain(view.exec_value),
        "execType": view.exec_type,
        "execQty": fixed(view.exec_qty, qp),
        "closedSize": fixed(view.closed_size, qp),
        "extraFees": "",
        "seq": view.seq,
    }


def execution_rest(view: ExecutionView, inst: InstrumentView) -> JsonDict:
    """A row of ``/v5/execution/list``."""
    row = _exec_common(view, inst)
    row["execPnl"] = plain(view.exec_pnl)
    row["createType"] = view.create_type
    return row


def execution_ws(view: ExecutionView, inst: InstrumentView) -> JsonDict:
    """One element of the private ``execution`` topic."""
    row = _exec_common(view, inst)
    row["category"] = "linear"
    row["isLeverage"] = "0"
    row["marketUnit"] = ""
    row["execPnl"] = plain(view.exec_pnl)
    row["createType"] = view.create_type
    row["extraFees"] = []
    return row


def execution_fast_ws(view: ExecutionView, inst: InstrumentView) -> JsonDict:
    """One element of ``execution.fast`` (maker fills carry ``orderLinkId: ""``)."""
    return {
        "category": "linear",
        "symbol": view.symbol,
        "execId": view.exec_id,
        "execPrice": fixed(view.exec_price, inst.price_places),
        "execQty": fixed(view.exec_qty, inst.qty_places),
        "orderId": view.order_id,
        "isMaker": view.is_maker,
        "orderLinkId": "" if view.is_maker else view.link_id,
        "side": view.side,
        "execTime": str(view.exec_time),
        "seq": view.seq,
    }


def _position_common(view: PositionView, inst: InstrumentView) -> JsonDict:
    pp, qp = inst.price_places, inst.qty_places
    flat = view.size == 0
    return {
        "positionIdx": view.position_idx,
        "riskId": view.risk_id,
        "riskLimitValue": plain(view.risk_limit_value),
        "symbol": view.symbol,
        "side": "" if flat else view.side,
        "size": fixed(view.size, qp),
        "positionValue": plain(view.position_value) if not flat else "0",
        "tradeMode": view.trade_mode,
        "positionStatus": view.status,
        "autoAddMargin": view.auto_add_margin,
        "adlRankIndicator": 0 if flat else view.adl_rank,
        "leverage": plain(view.leverage),
        "breakEvenPrice": "0" if flat else fixed(view.entry_price, pp),
        "positionBalance": plain(view.position_balance),
        "markPrice": fixed(view.mark_price, pp),
        "liqPrice": "" if view.liq_price is None or flat else fixed(view.liq_price, pp),
        "bustPrice": "" if view.bust_price is None or flat else fixed(view.bust_price, pp),
        "positionMM": plain(view.position_mm),
        "positionMMByMp": plain(view.position_mm),
        "positionIM": plain(view.position_im),
        "positionIMByMp": plain(view.position_im),
        "tpslMode": "Full",
        "takeProfit": opt_fixed(view.take_profit, pp),
        "stopLoss": opt_fixed(view.stop_loss, pp),
        "trailingStop": opt_fixed(None, pp),
        "unrealisedPnl": plain(view.unrealised_pnl),
        "curRealisedPnl": plain(view.cur_realised_pnl),
        "cumRealisedPnl": plain(view.cum_realised_pnl),
        "seq": view.seq,
        "isReduceOnly": False,
        "sessionAvgPrice": "",
        "createdTime": str(view.created_ms),
        "updatedTime": str(view.updated_ms),
    }


def position_rest(view: PositionView, inst: InstrumentView) -> JsonDict:
    """A row of ``/v5/position/list`` (entry price is ``avgPrice``)."""
    row = _position_common(view, inst)
    row["avgPrice"] = "0" if view.size == 0 else plain(view.entry_price)
    row["mmrSysUpdateTime"] = ""
    row["leverageSysUpdatedTime"] = ""
    return row


def position_ws(view: PositionView, inst: InstrumentView) -> JsonDict:
    """One element of the private ``position`` topic (entry price is ``entryPrice``)."""
    row = _position_common(view, inst)
    row["entryPrice"] = "0" if view.size == 0 else plain(view.entry_price)
    row["category"] = "linear"
    row["leverageSysUpdatedTime"] = ""
    row["mmrSysUpdatedTime"] = ""
    row["mmrSysUpdateTime"] = ""  # both spellings are seen in captured frames
    return row


def _coin(view: CoinView) -> JsonDict:
    return {
        "coin": view.coin,
        "equity": plain(view.equity),
        "usdValue": plain(view.equity * view.usd_price),
        "walletBalance": plain(view.wallet_balance),
        "availableToWithdraw": plain(view.available),
        "availableToBorrow": "",
        "borrowAmount": "0",
        "accruedInterest": "0",
        "totalOrderIM": plain(view.total_order_im),
        "totalPositionIM": plain(view.total_position_im),
        "totalPositionMM": plain(view.total_position_mm),
        "unrealisedPnl": plain(view.unrealised_pnl),
        "cumRealisedPnl": plain(view.cum_realised_pnl),
        "bonus": "0",
        "collateralSwitch": True,
        "marginCollateral": True,
        "locked": plain(view.locked),
        "spotHedgingQty": "0",
        "spotBorrow": "0",
    }


def wallet_account(view: WalletView) -> JsonDict:
    """The account object of ``wallet-balance`` ``result.list[0]`` and of the ``wallet`` topic."""
    equity = sum((c.equity * c.usd_price for c in view.coins), ZERO)
    wallet = sum((c.wallet_balance * c.usd_price for c in view.coins), ZERO)
    upl = sum((c.unrealised_pnl * c.usd_price for c in view.coins), ZERO)
    im = sum(((c.total_order_im + c.total_position_im) * c.usd_price for c in view.coins), ZERO)
    mm = sum((c.total_position_mm * c.usd_price for c in view.coins), ZERO)
    margin_balance = wallet + upl
    available = max(ZERO, margin_balance - im)
    im_rate = (im / margin_balance).quantize(Decimal("0.0001")) if margin_balance > 0 else ZERO
    mm_rate = (mm / margin_balance).quantize(Decimal("0.0001")) if margin_balance > 0 else ZERO
    return {
        "totalEquity": plain(equity),
        "accountIMRate": plain(im_rate),
        "accountIMRateByMp": plain(im_rate),
        "totalMarginBalance": plain(margin_balance),
        "totalInitialMargin": plain(im),
        "totalInitialMarginByMp": plain(im),
        "accountType": view.account_type,
        "totalAvailableBalance": plain(available),
        "accountMMRate": plain(mm_rate),
        "accountMMRateByMp": plain(mm_rate),
        "totalPerpUPL": plain(upl),
        "totalWalletBalance": plain(wallet),
        "accountLTV": "0",
        "totalMaintenanceMargin": plain(mm),
        "totalMaintenanceMarginByMp": plain(mm),
        "coin": [_coin(c) for c in view.coins],
    }


def _pcnt(view: TickerView) -> str:
    if view.prev_price_24h == 0:
        return "0"
    change = (view.last_price - view.prev_price_24h) / view.prev_price_24h
    return plain(change.quantize(Decimal("0.000001"), rounding=ROUND_DOWN))


def _ticker_common(view: TickerView, inst: InstrumentView) -> JsonDict:
    pp, qp = inst.price_places, inst.qty_places
    return {
        "symbol": view.symbol,
        "lastPrice": fixed(view.last_price, pp),
        "indexPrice": fixed(view.index_price, pp),
        "markPrice": fixed(view.mark_price, pp),
        "prevPrice24h": fixed(view.prev_price_24h, pp),
        "price24hPcnt": _pcnt(view),
        "highPrice24h": fixed(view.high_24h, pp),
        "lowPrice24h": fixed(view.low_24h, pp),
        "prevPrice1h": fixed(view.prev_price_1h, pp),
        "openInterest": plain(view.open_interest),
        "openInterestValue": fixed(view.open_interest * view.mark_price, 2),
        "turnover24h": plain(view.turnover_24h),
        "volume24h": fixed(view.volume_24h, qp),
        "fundingRate": plain(view.funding_rate),
        "nextFundingTime": str(view.next_funding_ms),
        "bid1Price": "" if view.bid1_price is None else fixed(view.bid1_price, pp),
        "bid1Size": fixed(view.bid1_size, qp),
        "ask1Price": "" if view.ask1_price is None else fixed(view.ask1_price, pp),
        "ask1Size": fixed(view.ask1_size, qp),
        "fundingIntervalHour": str(view.funding_interval_hour),
        "fundingCap": plain(view.funding_cap),
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
    }


def ticker_rest(view: TickerView, inst: InstrumentView) -> JsonDict:
    """A row of ``/v5/market/tickers`` (linear)."""
    row = _ticker_common(view, inst)
    row["predictedDeliveryPrice"] = ""
    row["basisRate"] = ""
    row["deliveryFeeRate"] = ""
    row["deliveryTime"] = "0"
    row["basis"] = ""
    row["basisRateYear"] = ""
    return row


def ticker_ws(view: TickerView, inst: InstrumentView) -> JsonDict:
    """The full ``data`` object of a ``tickers.SYM`` snapshot."""
    row = _ticker_common(view, inst)
    row["tickDirection"] = view.tick_direction
    return row


def ticker_delta(previous: JsonDict, current: JsonDict) -> JsonDict:
    """The ``data`` of a ``tickers`` delta: ``symbol`` plus only the fields that changed."""
    delta: JsonDict = {"symbol": current["symbol"]}
    for key, value in current.items():
        if key != "symbol" and previous.get(key) != value:
            delta[key] = value
    return delta


def book_levels(levels: Iterable[tuple[Decimal, Decimal]], inst: InstrumentView) -> list[list[str]]:
    """``[[price, size], ...]`` strings; a size of zero renders ``"0"`` (level removed)."""
    pp, qp = inst.price_places, inst.qty_places
    return [[fixed(p, pp), fixed(q, qp) if q else "0"] for p, q in levels]


def orderbook_rest(
    symbol: str,
    bids: list[list[str]],
    asks: list[list[str]],
    *,
    ts: int,
    u: int,
    seq: int,
    cts: int,
) -> JsonDict:
    """``/v5/market/orderbook`` result (``u`` is the 1000-level stream's ``u``)."""
    return {"s": symbol, "b": bids, "a": asks, "ts": ts, "u": u, "seq": seq, "cts": cts}


def orderbook_ws(
    topic: str,
    kind: str,
    symbol: str,
    bids: list[list[str]],
    asks: list[list[str]],
    *,
    ts: int,
    u: int,
    seq: int,
    cts: int,
) -> JsonDict:
    """An ``orderbook.{depth}.SYM`` message (``kind`` is ``snapshot`` or ``delta``)."""
    return {
        "topic": topic,
        "type": kind,
        "ts": ts,
        "data": {"s": symbol, "b": bids, "a": asks, "u": u, "seq": seq},
        "cts": cts,
    }


def kline_rest_row(view: KlineView, inst: InstrumentView) -> list[str]:
    """``[start, open, high, low, close, volume, turnover]`` strings."""
    pp, qp = inst.price_places, inst.qty_places
    return [
        str(view.start_ms),
        fixed(view.open, pp),
        fixed(view.high, pp),
        fixed(view.low, pp),
        fixed(view.close, pp),
        fixed(view.volume, qp),
        plain(view.turnover),
    ]


def mark_kline_rest_row(view: KlineView, inst: InstrumentView) -> list[str]:
    """``[start, open, high, low, close]`` strings (mark/index price klines)."""
    return kline_rest_row(view, inst)[:5]


def kline_ws(topic: str, candles: Sequence[KlineView], inst: InstrumentView, ts: int) -> JsonDict:
    """A ``kline.{interval}.SYM`` message."""
    pp, qp = inst.price_places, inst.qty_places
    return {
        "topic": topic,
        "data": [
            {
                "start": c.start_ms,
                "end": c.end_ms,
                "interval": c.interval,
                "open": fixed(c.open, pp),
                "close": fixed(c.close, pp),
                "high": fixed(c.high, pp),
                "low": fixed(c.low, pp),
                "volume": fixed(c.volume, qp),
                "turnover": plain(c.turnover),
                "confirm": c.confirm,
                "timestamp": ts,
            }
            for c in candles
        ],
        "ts": ts,
        "type": "snapshot",
    }


def trade_rest(view: TradeView, inst: InstrumentView) -> JsonDict:
    """A row of ``/v5/market/recent-trade`` (note: REST ``seq`` is a string)."""
    return {
        "execId": view.trade_id,
        "symbol": view.symbol,
        "price": fixed(view.price, inst.price_places),
        "size": fixed(view.qty, inst.qty_places),
        "side": view.side,
        "time": str(view.time_ms),
        "isBlockTrade": view.block_trade,
        "isRPITrade": view.rpi,
        "seq": str(view.seq),
    }


def trade_ws(topic: str, trades: Sequence[TradeView], inst: InstrumentView, ts: int) -> JsonDict:
    """A ``publicTrade.SYM`` message."""
    return {
        "topic": topic,
        "type": "snapshot",
        "ts": ts,
        "data": [
            {
                "T": t.time_ms,
                "s": t.symbol,
                "S": t.side,
                "v": fixed(t.qty, inst.qty_places),
                "p": fixed(t.price, inst.price_places),
                "L": t.tick_direction,
                "i": t.trade_id,
                "BT": t.block_trade,
                "RPI": t.rpi,
                "seq": t.seq,
            }
            for t in trades
        ],
    }


def liquidation_ws(
    topic: str, items: Sequence[LiquidationView], inst: InstrumentView, ts: int
) -> JsonDict:
    """An ``allLiquidation.SYM`` message."""
    return {
        "topic": topic,
        "type": "snapshot",
        "ts": ts,
        "data": [
            {
                "T": x.time_ms,
                "s": x.symbol,
                "S": x.side,
                "v": fixed(x.qty, inst.qty_places),
                "p": fixed(x.price, inst.price_places),
            }
            for x in items
        ],
    }


def private_message(
    topic: str, data: list[JsonDict], *, creation_ms: int, msg_id: str | None
) -> JsonDict:
    """Private-topic envelope ``{id, topic, creationTime, data}`` (``execution.fast`` has no id)."""
    if msg_id is None:
        return {"topic": topic, "creationTime": creation_ms, "data": data}
    return {"id": msg_id, "topic": topic, "creationTime": creation_ms, "data": data}
