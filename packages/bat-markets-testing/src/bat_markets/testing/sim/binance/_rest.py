"""Binance USD-M REST (``/fapi/...``): dispatch, limits, auth, and every implemented endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from .._engine import Account
from .._instruments import fmt_fixed
from .._model import OrderRejected
from ._auth import check_timestamp, lookup_key, merge_params, signed_payload, verify_signature
from ._errors import BinanceError, mandatory
from ._klines import INTERVALS, aggregate, stats_24h
from ._orders import Params
from ._render import money

if TYPE_CHECKING:
    from ._sim import BinanceSim

__all__ = ["BinanceRest", "Endpoint"]

Weight = Callable[[Params], int]


@dataclass(frozen=True)
class Endpoint:
    """``security``: NONE | MARKET_DATA | USER_STREAM | USER_DATA | TRADE."""

    handler: Callable[[Params, Account | None], Any]
    security: str
    weight: Weight
    orders: Callable[[Params], int] | None = None


def _w(n: int) -> Weight:
    return lambda _p: n


def _sym_weight(with_symbol: int, without: int) -> Weight:
    return lambda p: with_symbol if p.has("symbol") else without


def _depth_weight(p: Params) -> int:
    limit = p.get_int("limit", 500)
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def _kline_weight(p: Params) -> int:
    limit = p.get_int("limit", 500)
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


_ENCODER = msgspec.json.Encoder(decimal_format="number")


def _dumps(obj: Any) -> bytes:
    """JSON bytes; ``Decimal`` values become JSON numbers (the few numeric ratios)."""
    return _ENCODER.encode(obj)


class BinanceRest:
    """All REST routes of one ``BinanceSim``."""

    def __init__(self, sim: BinanceSim) -> None:
        self.sim = sim
        self.engine = sim.engine
        self.desk = sim.desk
        self.render = sim.renderer
        self.limiter = sim.limiter
        one = _w(1)
        self.routes: dict[tuple[str, str], Endpoint] = {
            ("GET", "/fapi/v1/ping"): Endpoint(lambda p, a: {}, "NONE", one),
            ("GET", "/fapi/v1/time"): Endpoint(
                lambda p, a: {"serverTime": self.now()}, "NONE", one
            ),
            ("GET", "/fapi/v1/exchangeInfo"): Endpoint(self.exchange_info, "NONE", one),
            ("GET", "/fapi/v1/depth"): Endpoint(self.depth, "NONE", _depth_weight),
            ("GET", "/fapi/v1/trades"): Endpoint(self.trades, "NONE", _w(5)),
            ("GET", "/fapi/v1/historicalTrades"): Endpoint(
                self.historical_trades, "MARKET_DATA", _w(20)
            ),
            ("GET", "/fapi/v1/aggTrades"): Endpoint(self.agg_trades, "NONE", _w(20)),
            ("GET", "/fapi/v1/klines"): Endpoint(self.klines, "NONE", _kline_weight),
            ("GET", "/fapi/v1/markPriceKlines"): Endpoint(self.mark_klines, "NONE", _kline_weight),
            ("GET", "/fapi/v1/indexPriceKlines"): Endpoint(
                self.index_klines, "NONE", _kline_weight
            ),
            ("GET", "/fapi/v1/premiumIndex"): Endpoint(
                self.premium_index, "NONE", _sym_weight(1, 10)
            ),
            ("GET", "/fapi/v1/fundingRate"): Endpoint(self.funding_rate, "NONE", one),
            ("GET", "/fapi/v1/fundingInfo"): Endpoint(lambda p, a: [], "NONE", one),
            ("GET", "/fapi/v1/ticker/24hr"): Endpoint(self.ticker_24hr, "NONE", _sym_weight(1, 40)),
            ("GET", "/fapi/v1/ticker/price"): Endpoint(
                self.ticker_price, "NONE", _sym_weight(1, 2)
            ),
            ("GET", "/fapi/v2/ticker/price"): Endpoint(
                self.ticker_price, "NONE", _sym_weight(1, 2)
            ),
            ("GET", "/fapi/v1/ticker/bookTicker"): Endpoint(
                self.book_ticker, "NONE", _sym_weight(2, 5)
            ),
            ("GET", "/fapi/v1/openInterest"): Endpoint(self.open_interest, "NONE", one),
            # user data streams
            ("POST", "/fapi/v1/listenKey"): Endpoint(self.listen_key_new, "USER_STREAM", one),
            ("PUT", "/fapi/v1/listenKey"): Endpoint(self.listen_key_keepalive, "USER_STREAM", one),
            ("DELETE", "/fapi/v1/listenKey"): Endpoint(self.listen_key_delete, "USER_STREAM", one),
            # trading
            ("POST", "/fapi/v1/order"): Endpoint(self.order_new, "TRADE", _w(0), lambda p: 1),
            ("POST", "/fapi/v1/order/test"): Endpoint(self.order_test, "TRADE", _w(0)),
            ("PUT", "/fapi/v1/order"): Endpoint(self.order_modify, "TRADE", one, lambda p: 1),
            ("DELETE", "/fapi/v1/order"): Endpoint(self.order_cancel, "TRADE", one),
            ("GET", "/fapi/v1/order"): Endpoint(self.order_query, "USER_DATA", one),
            ("GET", "/fapi/v1/openOrder"): Endpoint(self.open_order, "USER_DATA", one),
            ("GET", "/fapi/v1/openOrders"): Endpoint(
                self.open_orders, "USER_DATA", _sym_weight(1, 40)
            ),
            ("DELETE", "/fapi/v1/allOpenOrders"): Endpoint(self.cancel_all, "TRADE", one),
            ("GET", "/fapi/v1/allOrders"): Endpoint(self.all_orders, "USER_DATA", _w(5)),
            ("POST", "/fapi/v1/batchOrders"): Endpoint(
                self.batch_new, "TRADE", _w(5), self._batch_count
            ),
            ("PUT", "/fapi/v1/batchOrders"): Endpoint(
                self.batch_modify, "TRADE", _w(5), self._batch_count
            ),
            ("DELETE", "/fapi/v1/batchOrders"): Endpoint(self.batch_cancel, "TRADE", one),
            ("GET", "/fapi/v1/userTrades"): Endpoint(self.user_trades, "USER_DATA", _w(5)),
            ("GET", "/fapi/v1/forceOrders"): Endpoint(
                self.force_orders, "USER_DATA", _sym_weight(20, 50)
            ),
            ("GET", "/fapi/v1/income"): Endpoint(self.income, "USER_DATA", _w(30)),
            # algo (conditional) orders
            ("POST", "/fapi/v1/algoOrder"): Endpoint(self.algo_new, "TRADE", _w(0), lambda p: 1),
            ("DELETE", "/fapi/v1/algoOrder"): Endpoint(self.algo_cancel, "TRADE", one),
            ("GET", "/fapi/v1/algoOrder"): Endpoint(self.algo_query, "USER_DATA", one),
            ("GET", "/fapi/v1/openAlgoOrders"): Endpoint(
                self.algo_open, "USER_DATA", _sym_weight(1, 40)
            ),
            ("DELETE", "/fapi/v1/algoOpenOrders"): Endpoint(self.algo_cancel_all, "TRADE", one),
            ("GET", "/fapi/v1/allAlgoOrders"): Endpoint(self.algo_all, "USER_DATA", _w(5)),
            # settings
            ("POST", "/fapi/v1/leverage"): Endpoint(
                lambda p, a: self.desk.leverage(self._a(a), p), "TRADE", one
            ),
            ("POST", "/fapi/v1/marginType"): Endpoint(
                lambda p, a: self.desk.margin_type(self._a(a), p), "TRADE", one
            ),
            ("POST", "/fapi/v1/positionSide/dual"): Endpoint(
                lambda p, a: self.desk.position_mode(self._a(a), p), "TRADE", one
            ),
            ("GET", "/fapi/v1/positionSide/dual"): Endpoint(
                lambda p, a: {"dualSidePosition": self._a(a).dual_side}, "USER_DATA", _w(30)
            ),
            ("GET", "/fapi/v1/multiAssetsMargin"): Endpoint(
                lambda p, a: {"multiAssetsMargin": self._a(a).multi_assets}, "USER_DATA", _w(30)
            ),
            ("POST", "/fapi/v1/multiAssetsMargin"): Endpoint(self.multi_assets, "TRADE", one),
            ("GET", "/fapi/v1/leverageBracket"): Endpoint(self.leverage_bracket, "USER_DATA", one),
            ("GET", "/fapi/v1/symbolConfig"): Endpoint(self.symbol_config, "USER_DATA", _w(5)),
            ("GET", "/fapi/v1/accountConfig"): Endpoint(self.account_config, "USER_DATA", _w(5)),
            ("GET", "/fapi/v1/commissionRate"): Endpoint(self.commission_rate, "USER_DATA", _w(20)),
            ("GET", "/fapi/v1/rateLimit/order"): Endpoint(self.rate_limit_order, "USER_DATA", one),
            # account
            ("GET", "/fapi/v2/account"): Endpoint(
                lambda p, a: self.render.account(self._a(a).api_key, v2=True), "USER_DATA", _w(5)
            ),
            ("GET", "/fapi/v3/account"): Endpoint(
                lambda p, a: self.render.account(self._a(a).api_key, v2=False), "USER_DATA", _w(5)
            ),
            ("GET", "/fapi/v2/balance"): Endpoint(
                lambda p, a: self.render.balance(self._a(a).api_key), "USER_DATA", _w(5)
            ),
            ("GET", "/fapi/v3/balance"): Endpoint(
                lambda p, a: self.render.balance(self._a(a).api_key), "USER_DATA", _w(5)
            ),
            ("GET", "/fapi/v2/positionRisk"): Endpoint(self.position_risk_v2, "USER_DATA", _w(5)),
            ("GET", "/fapi/v3/positionRisk"): Endpoint(self.position_risk_v3, "USER_DATA", _w(5)),
        }

    # -- plumbing ------------------------------------------------------------------------------
    def now(self) -> int:
        return self.sim.server_time_ms()

    @staticmethod
    def _a(acct: Account | None) -> Account:
        assert acct is not None
        return acct

    @staticmethod
    def _batch_count(p: Params) -> int:
        try:
            items = json.loads(p.get("batchOrders"))
        except (ValueError, BinanceError):
            return 1
        return len(items) if isinstance(items, list) else 1

    def _headers(self, now: int, acct: Account | None, order_endpoint: bool) -> dict[str, str]:
        headers = {"X-MBX-USED-WEIGHT-1M": str(self.limiter.used_weight(now))}
        if order_endpoint and acct is not None:
            c10, c1m = self.limiter.order_counts(now, acct.api_key)
            headers["X-MBX-ORDER-COUNT-10S"] = str(c10)
            headers["X-MBX-ORDER-COUNT-1M"] = str(c1m)
        return headers

    async def dispatch(self, request: Request) -> Response:
        now = self.now()
        method = request.method
        path = request.url.path
        query = request.scope.get("query_string", b"").decode("latin-1")
        body = (await request.body()).decode("utf-8", "replace") if method != "GET" else ""
        acct: Account | None = None
        ep = self.routes.get((method, path))
        try:
            faults = self.sim.faults
            if faults.ban_request:
                self.limiter.ban(now, faults.ban_request)
                faults.ban_request = 0.0
            self.limiter.check_ban(now)
            if faults.forced_rate_limits > 0:
                faults.forced_rate_limits -= 1
                faults.fired.append("http:rate_limit")
                raise self.limiter.too_many(now)
            if ep is None:
                raise BinanceError(-5000, f"Path {path}, Method {method} is invalid", 404)
            params = Params(merge_params(query, body))
            self.limiter.charge(now, ep.weight(params))
            if ep.security != "NONE":
                acct = lookup_key(self.engine, request.headers.get("X-MBX-APIKEY"))
            if ep.security in ("USER_DATA", "TRADE"):
                check_timestamp(params.raw, now)
                payload, signature = signed_payload(query, body)
                if not signature:
                    raise mandatory("signature")
                assert acct is not None
                if not verify_signature(acct, payload, signature):
                    raise BinanceError(-1022, "Signature for this request is not valid.")
            if acct is not None:
                needed = {"TRADE": "trade", "USER_DATA": "read", "USER_STREAM": "user_stream"}.get(
                    ep.security
                )
                if needed is not None and needed not in acct.permissions:
                    raise BinanceError(
                        -2015,
                        "Invalid API-key, IP, or permissions for action, request ip: 127.0.0.1",
                        401,
                    )
            if ep.orders is not None and acct is not None:
                self.limiter.charge_orders(now, acct.api_key, ep.orders(params))
            result = ep.handler(params, acct)
        except BinanceError as exc:
            headers = self._headers(now, acct, ep is not None and ep.orders is not None)
            headers.update(exc.headers)
            return Response(_dumps(exc.body()), exc.status, headers, media_type="application/json")
        except OrderRejected as exc:  # engine refusals not mapped by a handler
            from ._errors import reject_error

            err = reject_error(exc.reason, exc.message)
            return Response(
                _dumps(err.body()),
                err.status,
                self._headers(now, acct, False),
                media_type="application/json",
            )
        headers = self._headers(now, acct, ep.orders is not None)
        return Response(_dumps(result), 200, headers, media_type="application/json")

    # -- market data ---------------------------------------------------------------------------
    def exchange_info(self, p: Params, acct: Account | None) -> dict[str, Any]:
        lim = self.limiter.limits
        symbols = []
        for inst in self.engine.instruments.values():
            symbols.append(
                {
                    "symbol": inst.symbol,
                    "pair": inst.symbol,
                    "contractType": "PERPETUAL",
                    "deliveryDate": 4133404800000,
                    "onboardDate": inst.onboard_ms,
                    "status": "TRADING",
                    "maintMarginPercent": "2.5000",
                    "requiredMarginPercent": "5.0000",
                    "baseAsset": inst.base,
                    "quoteAsset": inst.quote,
                    "marginAsset": inst.quote,
                    "pricePrecision": inst.price_decimals,
                    "quantityPrecision": inst.qty_decimals,
                    "baseAssetPrecision": 8,
                    "quotePrecision": 8,
                    "underlyingType": "COIN",
                    "underlyingSubType": [],
                    "settlePlan": 0,
                    "triggerProtect": "0.0500",
                    "liquidationFee": "0.012500",
                    "marketTakeBound": "0.05",
                    "filters": [
                        {
                            "minPrice": str(inst.min_price),
                            "maxPrice": str(inst.max_price),
                            "filterType": "PRICE_FILTER",
                            "tickSize": str(inst.tick_size),
                        },
                        {
                            "stepSize": str(inst.step_size),
                            "filterType": "LOT_SIZE",
                            "maxQty": str(inst.max_qty),
                            "minQty": str(inst.min_qty),
                        },
                        {
                            "stepSize": str(inst.step_size),
                            "filterType": "MARKET_LOT_SIZE",
                            "maxQty": str(inst.max_market_qty),
                            "minQty": str(inst.min_qty),
                        },
                        {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
                        {"notional": str(inst.min_notional), "filterType": "MIN_NOTIONAL"},
                        {
                            "multiplierDown": fmt_fixed(inst.percent_down, 4),
                            "multiplierUp": fmt_fixed(inst.percent_up, 4),
                            "multiplierDecimal": "4",
                            "filterType": "PERCENT_PRICE",
                        },
                    ],
                    "orderTypes": [
                        "LIMIT",
                        "MARKET",
                        "STOP",
                        "STOP_MARKET",
                        "TAKE_PROFIT",
                        "TAKE_PROFIT_MARKET",
                        "TRAILING_STOP_MARKET",
                    ],
                    "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
                }
            )
        return {
            "timezone": "UTC",
            "serverTime": self.now(),
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": lim.weight_1m,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": lim.orders_1m,
                },
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": lim.orders_10s,
                },
            ],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": symbols,
        }

    def _limit(self, p: Params, default: int, maximum: int) -> int:
        limit = p.get_int("limit", default)
        if limit <= 0:
            raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
        return min(limit, maximum)

    def depth(self, p: Params, acct: Account | None) -> dict[str, Any]:
        sym = self.desk.symbol(p)
        limit = p.get_int("limit", 500)
        if limit not in (5, 10, 20, 50, 100, 500, 1000):
            raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
        inst = self.engine.instruments[sym]
        book = self.engine.books[sym]
        bids, asks = book.depth(limit)
        now = self.now()
        return {
            "lastUpdateId": book.update_id,
            "E": now,
            "T": now,
            "bids": [
                [inst.fmt_price(inst.price_of(t)), inst.fmt_qty(inst.qty_of(s))] for t, s in bids
            ],
            "asks": [
                [inst.fmt_price(inst.price_of(t)), inst.fmt_qty(inst.qty_of(s))] for t, s in asks
            ],
        }

    def trades(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        sym = self.desk.symbol(p)
        limit = self._limit(p, 500, 1000)
        inst = self.engine.instruments[sym]
        tape = list(self.engine.markets[sym].trades)[-limit:]
        return [
            {
                "id": t.trade_id,
                "price": inst.fmt_price(t.price),
                "qty": inst.fmt_qty(t.qty),
                "quoteQty": fmt_fixed(t.price * t.qty, 5),
                "time": t.ts,
                "isBuyerMaker": t.buyer_is_maker,
                "isRPITrade": False,
            }
            for t in tape
        ]

    def historical_trades(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        sym = self.desk.symbol(p)
        limit = self._limit(p, 100, 500)
        from_id = p.opt_int("fromId")
        rows = self.trades(Params({"symbol": sym, "limit": 1000}), acct)
        if from_id is not None:
            rows = [r for r in rows if r["id"] >= from_id][:limit]
        else:
            rows = rows[-limit:]
        return rows

    def agg_trades(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        sym = self.desk.symbol(p)
        limit = self._limit(p, 500, 1000)
        from_id = p.opt_int("fromId")
        start, end = p.opt_int("startTime"), p.opt_int("endTime")
        if from_id is not None and (start is not None or end is not None):
            raise BinanceError(-1128, "Combination of optional parameters invalid.")
        if start is not None and end is not None and end - start > 3_600_000:
            raise BinanceError(-1127, "More than 1 hours between startTime and endTime.")
        inst = self.engine.instruments[sym]
        rows = list(self.engine.markets[sym].agg_trades)
        if from_id is not None:
            rows = [a for a in rows if a.agg_id >= from_id][:limit]
        elif start is not None or end is not None:
            rows = [
                a for a in rows if (start is None or a.ts >= start) and (end is None or a.ts <= end)
            ][:limit]
        else:
            rows = rows[-limit:]
        return [
            {
                "a": a.agg_id,
                "p": inst.fmt_price(a.price),
                "q": inst.fmt_qty(a.qty),
                "f": a.first_trade_id,
                "l": a.last_trade_id,
                "T": a.ts,
                "m": a.buyer_is_maker,
            }
            for a in rows
        ]

    def _kline_rows(
        self, p: Params, series_name: str, symbol_param: str = "symbol"
    ) -> list[list[Any]]:
        sym = p.get(symbol_param)
        if sym not in self.engine.instruments:
            raise BinanceError(-1121, "Invalid symbol.")
        interval = p.get("interval")
        if interval not in INTERVALS:
            raise BinanceError(-1120, "Invalid interval.")
        limit = self._limit(p, 500, 1500)
        inst = self.engine.instruments[sym]
        mkt = self.engine.markets[sym]
        series = {"trade": mkt.candles, "mark": mkt.mark_candles, "index": mkt.index_candles}[
            series_name
        ]
        rows = aggregate(
            series,
            interval,
            start_ms=p.opt_int("startTime"),
            end_ms=p.opt_int("endTime"),
            limit=limit,
            now_ms=self.engine.now(),
        )
        out: list[list[Any]] = []
        for open_ms, close_ms, c in rows:
            if series_name == "trade":
                out.append(
                    [
                        open_ms,
                        inst.fmt_price(c.open),
                        inst.fmt_price(c.high),
                        inst.fmt_price(c.low),
                        inst.fmt_price(c.close),
                        inst.fmt_qty(c.volume),
                        close_ms,
                        fmt_fixed(c.quote_volume, 5),
                        c.trades,
                        inst.fmt_qty(c.taker_buy_volume),
                        fmt_fixed(c.taker_buy_quote, 5),
                        "0",
                    ]
                )
            else:
                out.append(
                    [
                        open_ms,
                        fmt_fixed(c.open, 8),
                        fmt_fixed(c.high, 8),
                        fmt_fixed(c.low, 8),
                        fmt_fixed(c.close, 8),
                        "0",
                        close_ms,
                        "0",
                        c.trades,
                        "0",
                        "0",
                        "0",
                    ]
                )
        return out

    def klines(self, p: Params, acct: Account | None) -> list[list[Any]]:
        return self._kline_rows(p, "trade")

    def mark_klines(self, p: Params, acct: Account | None) -> list[list[Any]]:
        return self._kline_rows(p, "mark")

    def index_klines(self, p: Params, acct: Account | None) -> list[list[Any]]:
        return self._kline_rows(p, "index", "pair")

    def _symbols(self, p: Params) -> list[str]:
        return [self.desk.symbol(p)] if p.has("symbol") else list(self.engine.instruments)

    def premium_index(self, p: Params, acct: Account | None) -> Any:
        now = self.now()
        rows = []
        for sym in self._symbols(p):
            mkt = self.engine.markets[sym]
            rows.append(
                {
                    "symbol": sym,
                    "markPrice": fmt_fixed(mkt.mark_price, 8),
                    "indexPrice": fmt_fixed(mkt.index_price, 8),
                    "estimatedSettlePrice": fmt_fixed(mkt.index_price, 8),
                    "lastFundingRate": fmt_fixed(mkt.funding_rate, 8),
                    "interestRate": fmt_fixed(mkt.interest_rate, 8),
                    "nextFundingTime": mkt.next_funding_ms,
                    "time": now,
                }
            )
        return rows[0] if p.has("symbol") else rows

    def funding_rate(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        limit = self._limit(p, 100, 1000)
        start, end = p.opt_int("startTime"), p.opt_int("endTime")
        rows = []
        for sym in self._symbols(p):
            for rec in self.engine.markets[sym].funding_history:
                if (start is None or rec.time_ms >= start) and (end is None or rec.time_ms <= end):
                    rows.append(
                        {
                            "symbol": sym,
                            "fundingRate": fmt_fixed(rec.rate, 8),
                            "fundingTime": rec.time_ms,
                            "markPrice": fmt_fixed(rec.mark_price, 8),
                        }
                    )
        rows.sort(key=lambda r: int(str(r["fundingTime"])))
        return rows[:limit] if start is not None else rows[-limit:]

    def ticker_24hr(self, p: Params, acct: Account | None) -> Any:
        now = self.now()
        rows = []
        for sym in self._symbols(p):
            inst = self.engine.instruments[sym]
            st = stats_24h(self.engine.markets[sym], now)
            rows.append(
                {
                    "symbol": sym,
                    "priceChange": inst.fmt_price(st.change),
                    "priceChangePercent": fmt_fixed(st.change_pct, 3),
                    "weightedAvgPrice": inst.fmt_price(st.weighted_avg),
                    "lastPrice": inst.fmt_price(st.last),
                    "lastQty": inst.fmt_qty(st.last_qty),
                    "openPrice": inst.fmt_price(st.open),
                    "highPrice": inst.fmt_price(st.high),
                    "lowPrice": inst.fmt_price(st.low),
                    "volume": inst.fmt_qty(st.volume),
                    "quoteVolume": fmt_fixed(st.quote_volume, 2),
                    "openTime": st.open_ms,
                    "closeTime": st.close_ms,
                    "firstId": st.first_id,
                    "lastId": st.last_id,
                    "count": st.count,
                }
            )
        return rows[0] if p.has("symbol") else rows

    def ticker_price(self, p: Params, acct: Account | None) -> Any:
        now = self.now()
        rows = [
            {
                "symbol": sym,
                "price": self.engine.instruments[sym].fmt_price(
                    self.engine.markets[sym].last_price
                ),
                "time": now,
            }
            for sym in self._symbols(p)
        ]
        return rows[0] if p.has("symbol") else rows

    def book_ticker(self, p: Params, acct: Account | None) -> Any:
        now = self.now()
        rows = []
        for sym in self._symbols(p):
            inst = self.engine.instruments[sym]
            book = self.engine.books[sym]
            bb, ba = book.best_bid(), book.best_ask()
            rows.append(
                {
                    "symbol": sym,
                    "bidPrice": inst.fmt_price(inst.price_of(bb)) if bb is not None else "0",
                    "bidQty": inst.fmt_qty(inst.qty_of(book.bids[bb].total))
                    if bb is not None
                    else "0",
                    "askPrice": inst.fmt_price(inst.price_of(ba)) if ba is not None else "0",
                    "askQty": inst.fmt_qty(inst.qty_of(book.asks[ba].total))
                    if ba is not None
                    else "0",
                    "time": now,
                }
            )
        return rows[0] if p.has("symbol") else rows

    def open_interest(self, p: Params, acct: Account | None) -> dict[str, Any]:
        sym = self.desk.symbol(p)
        inst = self.engine.instruments[sym]
        return {
            "openInterest": inst.fmt_qty(self.engine.open_interest(sym)),
            "symbol": sym,
            "time": self.now(),
        }

    # -- listen keys ---------------------------------------------------------------------------
    def listen_key_new(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return {"listenKey": self.sim.users.create(self._a(acct).api_key)}

    def listen_key_keepalive(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return {"listenKey": self.sim.users.keepalive(self._a(acct).api_key, p.opt("listenKey"))}

    def listen_key_delete(self, p: Params, acct: Account | None) -> dict[str, Any]:
        self.sim.users.delete(self._a(acct).api_key, p.opt("listenKey"))
        return {}

    # -- orders --------------------------------------------------------------------------------
    def order_new(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return self.desk.place(self._a(acct), p)

    def order_test(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return self.desk.place(self._a(acct), p, test=True)

    def order_modify(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return self.desk.modify(self._a(acct), p)

    def order_cancel(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return self.desk.cancel(self._a(acct), p)

    def order_query(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return self.desk.query(self._a(acct), p)

    def open_order(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return self.desk.query_open(self._a(acct), p)

    def open_orders(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        sym = self.desk.symbol(p) if p.has("symbol") else None
        orders = self.engine.open_orders(self._a(acct).api_key, sym)
        return [self.render.order(o, variant="query") for o in orders]

    def cancel_all(self, p: Params, acct: Account | None) -> dict[str, Any]:
        sym = self.desk.symbol(p)
        self.engine.cancel_all(self._a(acct).api_key, sym)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def all_orders(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        sym = self.desk.symbol(p) if p.has("symbol") else None
        limit = self._limit(p, 500, 1000)
        oid = p.opt_int("orderId")
        start, end = p.opt_int("startTime"), p.opt_int("endTime")
        rows = [
            o
            for o in self.engine.all_orders(self._a(acct).api_key, sym)
            if (oid is None or o.order_id >= oid)
            and (start is None or o.created_ms >= start)
            and (end is None or o.created_ms <= end)
        ]
        rows.sort(key=lambda o: o.order_id)
        rows = rows[:limit] if oid is not None or start is not None else rows[-limit:]
        return [self.render.order(o, variant="query") for o in rows]

    def _batch(self, p: Params, maximum: int) -> list[dict[str, Any]]:
        try:
            items = json.loads(p.get("batchOrders"))
        except ValueError:
            raise BinanceError(
                -1130, "Data sent for parameter 'batchOrders' is not valid."
            ) from None
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise BinanceError(-1130, "Data sent for parameter 'batchOrders' is not valid.")
        if len(items) > maximum:
            raise BinanceError(
                -4087 if maximum == 0 else -1130, f"Batch size must not exceed {maximum}."
            )
        return items

    def batch_new(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        a = self._a(acct)
        out: list[dict[str, Any]] = []
        for item in self._batch(p, 5):
            try:
                out.append(self.desk.place(a, Params(item)))
            except BinanceError as exc:
                out.append(exc.body())
        return out

    def batch_modify(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        a = self._a(acct)
        out: list[dict[str, Any]] = []
        for item in self._batch(p, 5):
            try:
                out.append(self.desk.modify(a, Params(item)))
            except BinanceError as exc:
                out.append(exc.body())
        return out

    def batch_cancel(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        a = self._a(acct)
        sym = self.desk.symbol(p)
        refs: list[dict[str, object]] = []
        for name, key in (
            ("orderIdList", "orderId"),
            ("origClientOrderIdList", "origClientOrderId"),
        ):
            if p.has(name):
                try:
                    values = json.loads(p.get(name))
                except ValueError:
                    raise BinanceError(
                        -1130, f"Data sent for parameter '{name}' is not valid."
                    ) from None
                if not isinstance(values, list):
                    raise BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")
                refs.extend({"symbol": sym, key: v} for v in values)
        if not refs:
            raise BinanceError(
                -1102,
                "Param 'origClientOrderIdList' or 'orderIdList' must be sent, but both were empty/null!",
            )
        if len(refs) > 10:
            raise BinanceError(-1130, "Data sent for parameter 'orderIdList' is not valid.")
        out: list[dict[str, Any]] = []
        for ref in refs:
            try:
                out.append(self.desk.cancel(a, Params(ref)))
            except BinanceError as exc:
                out.append(exc.body())
        return out

    def user_trades(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        sym = self.desk.symbol(p)
        limit = self._limit(p, 500, 1000)
        oid = p.opt_int("orderId")
        from_id = p.opt_int("fromId")
        start, end = p.opt_int("startTime"), p.opt_int("endTime")
        fills = [
            f
            for f in self.engine.fills(self._a(acct).api_key, sym)
            if (oid is None or f.order_id == oid)
            and (from_id is None or f.trade_id >= from_id)
            and (start is None or f.ts >= start)
            and (end is None or f.ts <= end)
        ]
        fills = fills[:limit] if from_id is not None or start is not None else fills[-limit:]
        inst = self.engine.instruments[sym]
        return [
            {
                "buyer": f.side.value == "BUY",
                "commission": money(f.fee),
                "commissionAsset": f.fee_asset,
                "id": f.trade_id,
                "maker": f.maker,
                "orderId": f.order_id,
                "price": inst.fmt_price(f.price),
                "qty": inst.fmt_qty(f.qty),
                "quoteQty": fmt_fixed(f.quote_qty, 5),
                "realizedPnl": money(f.realized_pnl),
                "side": f.side.value,
                "positionSide": f.position_side.value,
                "symbol": f.symbol,
                "time": f.ts,
            }
            for f in fills
        ]

    def force_orders(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        """The account's liquidation / ADL orders (venue client ids ``autoclose-*``,
        ``adl_autoclose``); the engine never liquidates simulated accounts, so usually none."""
        sym = self.desk.symbol(p) if p.has("symbol") else None
        kind = p.opt("autoCloseType")
        if kind not in (None, "LIQUIDATION", "ADL"):
            raise BinanceError(-1130, "Data sent for parameter 'autoCloseType' is not valid.")
        limit = self._limit(p, 50, 100)
        start, end = p.opt_int("startTime"), p.opt_int("endTime")
        prefixes = {"LIQUIDATION": ("autoclose-",), "ADL": ("adl_autoclose",)}.get(
            kind or "", ("autoclose-", "adl_autoclose")
        )
        rows = [
            o
            for o in self.engine.all_orders(self._a(acct).api_key, sym)
            if o.client_id.startswith(prefixes)
            and (start is None or o.created_ms >= start)
            and (end is None or o.created_ms <= end)
        ]
        return [self.render.order(o, variant="query") for o in rows[-limit:]]

    def income(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        a = self._a(acct)
        sym = self.desk.symbol(p) if p.has("symbol") else None
        kind = p.opt("incomeType")
        limit = self._limit(p, 100, 1000)
        rows: list[dict[str, Any]] = []
        tran = 1
        for f in self.engine.fills(a.api_key, sym):
            entries = [("COMMISSION", -f.fee)]
            if f.realized_pnl:
                entries.insert(0, ("REALIZED_PNL", f.realized_pnl))
            for name, amount in entries:
                if kind is None or kind == name:
                    rows.append(
                        {
                            "symbol": f.symbol,
                            "incomeType": name,
                            "income": money(amount),
                            "asset": f.fee_asset,
                            "info": name,
                            "time": f.ts,
                            "tranId": tran,
                            "tradeId": str(f.trade_id),
                        }
                    )
                    tran += 1
        return rows[-limit:]

    # -- algo orders ---------------------------------------------------------------------------
    def algo_new(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return self.desk.place_algo(self._a(acct), p)

    def algo_cancel(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return self.desk.cancel_algo(self._a(acct), p)

    def algo_query(self, p: Params, acct: Account | None) -> dict[str, Any]:
        return self.desk.query_algo(self._a(acct), p)

    def algo_open(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        sym = self.desk.symbol(p) if p.has("symbol") else None
        return [
            self.render.algo(c, variant="query")
            for c in self.engine.open_conditionals(self._a(acct).api_key, sym)
        ]

    def algo_all(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        sym = self.desk.symbol(p)
        limit = self._limit(p, 500, 1000)
        rows = self.engine.all_conditionals(self._a(acct).api_key, sym)
        return [self.render.algo(c, variant="query") for c in rows[-limit:]]

    def algo_cancel_all(self, p: Params, acct: Account | None) -> dict[str, Any]:
        sym = self.desk.symbol(p)
        self.engine.cancel_all_conditionals(self._a(acct).api_key, sym)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    # -- settings / account info ---------------------------------------------------------------
    def multi_assets(self, p: Params, acct: Account | None) -> dict[str, Any]:
        a = self._a(acct)
        value = p.get_bool("multiAssetsMargin")
        if value == a.multi_assets:
            raise BinanceError(
                -4171, "Adjusted asset mode is currently set and does not need to be adjusted."
            )
        a.multi_assets = value
        return {"code": 200, "msg": "success"}

    def leverage_bracket(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        caps = [
            (125, 50_000),
            (100, 600_000),
            (75, 3_000_000),
            (50, 12_000_000),
            (25, 70_000_000),
            (20, 100_000_000),
        ]
        rows = []
        for sym in self._symbols(p):
            brackets = []
            floor = 0
            for i, (lev, cap) in enumerate(caps, start=1):
                mmr = Decimal("0.004") * i
                brackets.append(
                    {
                        "bracket": i,
                        "initialLeverage": lev,
                        "notionalCap": cap,
                        "notionalFloor": floor,
                        "maintMarginRatio": mmr,
                        "cum": Decimal("0.0"),
                    }
                )
                floor = cap
            rows.append({"symbol": sym, "notionalCoef": Decimal("1.0"), "brackets": brackets})
        return rows  # an array even for one symbol (PROTOCOLS §3.B, fixture leverage_bracket.json)

    def symbol_config(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        from ._render import max_notional

        a = self._a(acct)
        rows = []
        for sym in self._symbols(p):
            cfg = self.engine.symbol_config(a.api_key, sym)
            rows.append(
                {
                    "symbol": sym,
                    "marginType": cfg.margin_type.value,
                    "isAutoAddMargin": False,
                    "leverage": cfg.leverage,
                    "maxNotionalValue": str(max_notional(cfg.leverage)),
                }
            )
        return rows

    def account_config(self, p: Params, acct: Account | None) -> dict[str, Any]:
        a = self._a(acct)
        return {
            "feeTier": 0,
            "canTrade": "trade" in a.permissions,
            "canDeposit": True,
            "canWithdraw": True,
            "dualSidePosition": a.dual_side,
            "updateTime": 0,
            "multiAssetsMargin": a.multi_assets,
            "tradeGroupId": -1,
        }

    def commission_rate(self, p: Params, acct: Account | None) -> dict[str, Any]:
        a = self._a(acct)
        sym = self.desk.symbol(p)
        return {
            "symbol": sym,
            "makerCommissionRate": str(a.maker_fee),
            "takerCommissionRate": str(a.taker_fee),
            "rpiCommissionRate": str(a.maker_fee / 4),
        }

    def rate_limit_order(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        lim = self.limiter.limits
        return [
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": lim.orders_10s,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": lim.orders_1m,
            },
        ]

    def position_risk_v2(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        a = self._a(acct)
        sym = self.desk.symbol(p) if p.has("symbol") else None
        return [
            self.render.position_v2(pos)
            for pos in self.render.position_rows(a.api_key, sym, only_active=False)
        ]

    def position_risk_v3(self, p: Params, acct: Account | None) -> list[dict[str, Any]]:
        a = self._a(acct)
        sym = self.desk.symbol(p) if p.has("symbol") else None
        return [
            self.render.position_v3(pos)
            for pos in self.render.position_rows(a.api_key, sym, only_active=True)
        ]
