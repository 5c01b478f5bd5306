"""Public REST flows (PROTOCOLS §3.B): market data, metadata, server time."""

from __future__ import annotations

from collections.abc import Sequence

from bat_markets.core import (
    OHLCV,
    BookSnapshotEvent,
    BookTop,
    ConfigError,
    FundingRate,
    InstrumentSpec,
    Liquidation,
    MarkPrice,
    OpenInterest,
    RestFlow,
    RestRequest,
    Ticker,
    Trade,
    Unsupported,
)

from ._capabilities import INTERVALS, REST_DEPTHS
from ._convert import (
    agg_trade_from_native,
    book_from_native,
    funding_from_history,
    funding_from_premium,
    mark_price_from_native,
    ohlcv_from_row,
    open_interest_from_native,
    ticker_from_native,
    trade_from_native,
)
from ._flows import FlowBase, response_time_s
from ._instruments import specs_from_exchange_info
from ._native import (
    KlineRow,
    NativeAggTrade,
    NativeBookTicker,
    NativeDepth,
    NativeFundingInfo,
    NativeFundingRate,
    NativeOpenInterest,
    NativePremiumIndex,
    NativeServerTime,
    NativeTicker24h,
    NativeTickerPrice,
    NativeTrade,
    decode,
)

__all__ = ["PublicRestMixin", "depth_limit", "depth_weight", "kline_weight"]

KLINE_PAGE = 1500
TRADE_PAGE = 1000
FUNDING_PAGE = 1000


def depth_limit(limit: int | None) -> int:
    """The REST snapshot size for a requested depth: the next allowed limit (None -> 1000)."""
    if limit is None:
        return 1000
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        raise ConfigError(
            f"order book limit must be a positive int, got {limit!r}", venue="binance"
        )
    for allowed in REST_DEPTHS:
        if limit <= allowed:
            return allowed
    raise Unsupported(
        f"Binance order book snapshots hold at most 1000 levels per side, {limit} requested",
        venue="binance",
    )


def depth_weight(limit: int) -> int:
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def kline_weight(limit: int) -> int:
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def _check_limit(limit: int | None, what: str) -> None:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0):
        raise ConfigError(f"{what} limit must be a positive int, got {limit!r}", venue="binance")


class PublicRestMixin(FlowBase):
    """Public market-data flows."""

    def _funding_hours(self, native: str) -> int | None:
        spec = self.markets.by_id(native)
        return spec.funding_interval_hours if spec is not None else None

    def server_time(self) -> RestFlow[int]:
        t = yield from self._get(
            RestRequest(method="GET", path="/fapi/v1/time", tag="server_time"),
            NativeServerTime,
            "server time",
        )
        return int(t.serverTime)

    def ping(self) -> RestFlow[None]:
        """``GET /fapi/v1/ping``: connectivity check."""
        yield from self._read(RestRequest(method="GET", path="/fapi/v1/ping", tag="ping"))
        return None

    def load_markets(self) -> RestFlow[list[InstrumentSpec]]:
        response = yield from self._read(
            RestRequest(method="GET", path="/fapi/v1/exchangeInfo", weight=1, tag="load_markets")
        )
        # funding intervals other than 8 h are listed separately; optional enrichment
        info = yield from self._optional(
            RestRequest(method="GET", path="/fapi/v1/fundingInfo", tag="funding_info"),
            list[NativeFundingInfo],
            "fundingInfo",
        )
        hours = {f.symbol: f.fundingIntervalHours for f in info} if info else None
        return specs_from_exchange_info(response.body, hours)

    def fetch_ticker(self, symbol: str) -> RestFlow[Ticker]:
        native = self._native(symbol)
        n = yield from self._get(
            RestRequest(
                method="GET",
                path="/fapi/v1/ticker/24hr",
                params=[("symbol", native)],
                tag="fetch_ticker",
            ),
            NativeTicker24h,
            "24h ticker",
        )
        return ticker_from_native(n, self._unified)

    def fetch_tickers(self, symbols: Sequence[str] | None) -> RestFlow[list[Ticker]]:
        wanted = {self._native(s) for s in symbols} if symbols else None
        if wanted is not None and len(wanted) == 1:
            one = yield from self.fetch_ticker(next(iter(wanted)))
            return [one]
        rows = yield from self._get(
            RestRequest(method="GET", path="/fapi/v1/ticker/24hr", weight=40, tag="fetch_tickers"),
            list[NativeTicker24h],
            "24h tickers",
        )
        return [
            ticker_from_native(n, self._unified)
            for n in rows
            if wanted is None or n.symbol in wanted
        ]

    def fetch_book_ticker(self, symbol: str) -> RestFlow[BookTop]:
        """``GET /fapi/v1/ticker/bookTicker``: best bid/ask."""
        native = self._native(symbol)
        n = yield from self._get(
            RestRequest(
                method="GET",
                path="/fapi/v1/ticker/bookTicker",
                params=[("symbol", native)],
                weight=2,
                tag="fetch_book_ticker",
            ),
            NativeBookTicker,
            "book ticker",
        )
        return BookTop(
            symbol=self._unified(n.symbol),
            timestamp=n.time,
            bid=n.bidPrice,
            bid_size=n.bidQty,
            ask=n.askPrice,
            ask_size=n.askQty,
        )

    def fetch_last_price(self, symbol: str) -> RestFlow[Ticker]:
        """``GET /fapi/v2/ticker/price``: a ticker with only ``last`` set."""
        native = self._native(symbol)
        n = yield from self._get(
            RestRequest(
                method="GET",
                path="/fapi/v2/ticker/price",
                params=[("symbol", native)],
                tag="fetch_last_price",
            ),
            NativeTickerPrice,
            "ticker price",
        )
        return Ticker(symbol=self._unified(n.symbol), timestamp=n.time or 0, last=n.price)

    def fetch_order_book(self, symbol: str, limit: int | None) -> RestFlow[BookSnapshotEvent]:
        native = self._native(symbol)
        venue_limit = depth_limit(limit)
        n = yield from self._get(
            RestRequest(
                method="GET",
                path="/fapi/v1/depth",
                params=[("symbol", native), ("limit", str(venue_limit))],
                weight=depth_weight(venue_limit),
                tag="fetch_order_book",
            ),
            NativeDepth,
            "order book",
        )
        return book_from_native(n, self._unified(native), limit)

    def fetch_ohlcv(
        self, symbol: str, interval: str, since: int | None, until: int | None, limit: int | None
    ) -> RestFlow[list[OHLCV]]:
        return self._klines("/fapi/v1/klines", symbol, interval, since, until, limit)

    def fetch_mark_price_ohlcv(
        self, symbol: str, interval: str, since: int | None, until: int | None, limit: int | None
    ) -> RestFlow[list[OHLCV]]:
        """Mark-price candles (``/fapi/v1/markPriceKlines``), paginated like ``fetch_ohlcv``."""
        return self._klines("/fapi/v1/markPriceKlines", symbol, interval, since, until, limit)

    def _klines(
        self,
        path: str,
        symbol: str,
        interval: str,
        since: int | None,
        until: int | None,
        limit: int | None,
    ) -> RestFlow[list[OHLCV]]:
        if interval not in INTERVALS:
            raise ConfigError(
                f"Binance has no {interval!r} candles; use one of {', '.join(INTERVALS)}",
                venue="binance",
            )
        _check_limit(limit, "ohlcv")
        native = self._native(symbol)
        unified = self._unified(native)
        candles: dict[int, OHLCV] = {}

        def page(params: list[tuple[str, str]], size: int) -> RestRequest:
            return RestRequest(
                method="GET",
                path=path,
                params=[("symbol", native), ("interval", interval), *params, ("limit", str(size))],
                weight=kline_weight(size),
                tag="fetch_ohlcv",
            )

        if since is not None:
            # forward from ``since``; without limit or until, one default page
            start = since
            single = limit is None and until is None
            while True:
                want = KLINE_PAGE if limit is None else min(KLINE_PAGE, limit - len(candles))
                if single:
                    want = 500
                extra = [("startTime", str(start))]
                if until is not None:
                    extra.append(("endTime", str(until)))
                response = yield from self._read(page(extra, want))
                rows = decode(response.body, list[KlineRow], "klines")
                now_s = response_time_s(response)
                for row in rows:
                    candles[row[0]] = ohlcv_from_row(row, unified, interval, now_s)
                if single or len(rows) < want or not rows:
                    break
                if limit is not None and len(candles) >= limit:
                    break
                nxt = rows[-1][0] + 1
                if nxt <= start or (until is not None and nxt > until):
                    break
                start = nxt
            out = sorted(candles.values(), key=lambda c: c.open_time)
            return out[:limit] if limit is not None else out
        # newest ``limit`` candles up to ``until`` (or now), walking backwards
        target = limit if limit is not None else 500
        end = until
        while len(candles) < target:
            want = min(KLINE_PAGE, target - len(candles))
            extra = [("endTime", str(end))] if end is not None else []
            response = yield from self._read(page(extra, want))
            rows = decode(response.body, list[KlineRow], "klines")
            now_s = response_time_s(response)
            before = len(candles)
            for row in rows:
                candles[row[0]] = ohlcv_from_row(row, unified, interval, now_s)
            if len(rows) < want or len(candles) == before:
                break
            end = rows[0][0] - 1
        out = sorted(candles.values(), key=lambda c: c.open_time)
        return out[-target:]

    def fetch_trades(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Trade]]:
        """Aggregate trades (``/fapi/v1/aggTrades``, taker side, ``aggregated=True``)."""
        _check_limit(limit, "trades")
        native = self._native(symbol)
        unified = self._unified(native)
        trades: dict[int, Trade] = {}
        target = limit if limit is not None else 500

        def page(params: list[tuple[str, str]], size: int) -> RestRequest:
            return RestRequest(
                method="GET",
                path="/fapi/v1/aggTrades",
                params=[("symbol", native), *params, ("limit", str(size))],
                weight=20,
                tag="fetch_trades",
            )

        if since is not None:
            params: list[tuple[str, str]] = [("startTime", str(since))]
            while len(trades) < target:
                want = min(TRADE_PAGE, target - len(trades))
                rows = yield from self._get(page(params, want), list[NativeAggTrade], "aggTrades")
                for n in rows:
                    trades[n.a] = agg_trade_from_native(n, unified)
                if len(rows) < want:
                    break
                params = [("fromId", str(rows[-1].a + 1))]  # fromId excludes a time range
            ordered = sorted(trades.items())
            return [t for _, t in ordered[:target]]
        oldest: int | None = None
        while len(trades) < target:
            want = min(TRADE_PAGE, target - len(trades))
            params = [] if oldest is None else [("fromId", str(max(0, oldest - want)))]
            rows = yield from self._get(page(params, want), list[NativeAggTrade], "aggTrades")
            before = len(trades)
            for n in rows:
                if oldest is None or n.a < oldest:
                    trades[n.a] = agg_trade_from_native(n, unified)
            if len(trades) == before or len(rows) < want:
                break
            oldest = min(trades)
            if oldest == 0:
                break
        ordered = sorted(trades.items())
        return [t for _, t in ordered[-target:]]

    def fetch_recent_trades(self, symbol: str, limit: int | None = None) -> RestFlow[list[Trade]]:
        """Raw (not aggregated) recent trades: ``GET /fapi/v1/trades`` (at most 1000)."""
        _check_limit(limit, "trades")
        native = self._native(symbol)
        unified = self._unified(native)
        params = [("symbol", native)]
        if limit is not None:
            params.append(("limit", str(min(limit, TRADE_PAGE))))
        rows = yield from self._get(
            RestRequest(
                method="GET", path="/fapi/v1/trades", params=params, weight=5, tag="recent_trades"
            ),
            list[NativeTrade],
            "trades",
        )
        return [trade_from_native(n, unified) for n in rows]

    def fetch_mark_price(self, symbol: str) -> RestFlow[MarkPrice]:
        n = yield from self._premium(symbol)
        return mark_price_from_native(n, self._unified)

    def fetch_funding_rate(self, symbol: str) -> RestFlow[FundingRate]:
        n = yield from self._premium(symbol)
        return funding_from_premium(n, self._unified, self._funding_hours(n.symbol))

    def _premium(self, symbol: str) -> RestFlow[NativePremiumIndex]:
        native = self._native(symbol)
        n: NativePremiumIndex = yield from self._get(
            RestRequest(
                method="GET",
                path="/fapi/v1/premiumIndex",
                params=[("symbol", native)],
                tag="premium_index",
            ),
            NativePremiumIndex,
            "premium index",
        )
        return n

    def fetch_funding_rate_history(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[FundingRate]]:
        _check_limit(limit, "funding history")
        native = self._native(symbol)
        hours = self._funding_hours(native)
        rates: dict[int, FundingRate] = {}
        target = limit if limit is not None else 100

        def page(params: list[tuple[str, str]], size: int) -> RestRequest:
            return RestRequest(
                method="GET",
                path="/fapi/v1/fundingRate",
                params=[("symbol", native), *params, ("limit", str(size))],
                tag="fetch_funding_rate_history",
            )

        start = since
        end: int | None = None
        while len(rates) < target:
            want = min(FUNDING_PAGE, target - len(rates))
            params = [("startTime", str(start))] if start is not None else []
            if end is not None:
                params.append(("endTime", str(end)))
            rows = yield from self._get(page(params, want), list[NativeFundingRate], "fundingRate")
            before = len(rates)
            for n in rows:
                rates[n.fundingTime] = funding_from_history(n, self._unified, hours)
            if len(rows) < want or len(rates) == before:
                break
            if since is not None:
                start = max(r.fundingTime for r in rows) + 1
            else:
                end = min(r.fundingTime for r in rows) - 1
        ordered = [rates[k] for k in sorted(rates)]
        return ordered[:target] if since is not None else ordered[-target:]

    def fetch_open_interest(self, symbol: str) -> RestFlow[OpenInterest]:
        native = self._native(symbol)
        n = yield from self._get(
            RestRequest(
                method="GET",
                path="/fapi/v1/openInterest",
                params=[("symbol", native)],
                tag="fetch_open_interest",
            ),
            NativeOpenInterest,
            "open interest",
        )
        return open_interest_from_native(n, self._unified)

    def fetch_liquidations(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Liquidation]]:
        raise self._unsupported(
            "fetch_liquidations",
            "there is no public liquidation REST source (allForceOrders was switched off); "
            "use watch_liquidations (forceOrder stream, a 1/s/symbol sample)",
        )
