"""Public market data: ``fetch_*`` over REST and ``watch_*`` over the shared hubs."""

from __future__ import annotations

from collections.abc import Sequence

from bat_markets.core import (
    OHLCV,
    Channel,
    ConfigError,
    FundingRate,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBook,
    OrderBookSnapshot,
    Ticker,
    Trade,
)

from ._base import ClientBase
from ._books import OrderBookWatch
from ._handles import EventWatch, StateWatch, StatusWatch
from ._params import check_buffer, check_interval, check_limit, check_since, check_symbols
from ._public_lane import PublicLane

__all__ = ["PublicMixin"]


class PublicMixin(ClientBase):
    """``fetch_*`` / ``watch_*`` of the public API map. Symbols: unified or native."""

    def _lane(self, method: str) -> PublicLane:
        return PublicLane(self._live(method))

    # -- public REST ------------------------------------------------------------------------
    async def fetch_ticker(self, symbol: str) -> Ticker:
        """24 h ticker of one symbol."""
        rt = self._live("fetch_ticker")
        self._require("fetch_ticker")
        spec = self._spec(symbol)
        return await rt.rest.run(self._adapter.fetch_ticker(spec.id))

    async def fetch_tickers(self, symbols: Sequence[str] | None = None) -> list[Ticker]:
        """Tickers of ``symbols`` (all symbols when ``None``)."""
        rt = self._live("fetch_tickers")
        self._require("fetch_tickers")
        natives = None
        if symbols is not None:
            natives = [self._spec(s).id for s in check_symbols(symbols, self._adapter.id)]
        return await rt.rest.run(self._adapter.fetch_tickers(natives))

    async def fetch_order_book(self, symbol: str, limit: int | None = None) -> OrderBookSnapshot:
        """A REST snapshot of the book (``limit`` levels per side, venue default when ``None``)."""
        rt = self._live("fetch_order_book")
        self._require("fetch_order_book")
        spec = self._spec(symbol)
        limit = check_limit(limit, venue=self._adapter.id)  # the adapter maps/refuses the value
        event = await rt.rest.run(self._adapter.fetch_order_book(spec.id, limit))
        book = OrderBook(spec.symbol, spec.tick_size, spec.step_size)
        book.apply_snapshot(
            event.bids, event.asks, update_id=event.update_id, timestamp=event.timestamp
        )
        return book.snapshot()

    async def fetch_ohlcv(
        self,
        symbol: str,
        interval: str = "1m",
        since: int | None = None,
        limit: int | None = None,
        *,
        until: int | None = None,
    ) -> list[OHLCV]:
        """Candles, oldest first; ``since``/``until`` (epoch ms) and ``limit`` page as needed."""
        rt = self._live("fetch_ohlcv")
        self._require("fetch_ohlcv")
        spec = self._spec(symbol)
        venue = self._adapter.id
        interval = check_interval(interval, self._adapter.capabilities, venue)
        since = check_since(since, venue=venue)
        until = check_since(until, "until", venue)
        limit = check_limit(limit, venue=venue)
        if since is not None and until is not None and until < since:
            raise ConfigError(f"until ({until}) is before since ({since})", venue=venue)
        return await rt.rest.run(self._adapter.fetch_ohlcv(spec.id, interval, since, until, limit))

    async def fetch_trades(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[Trade]:
        """Recent public trades, oldest first."""
        rt = self._live("fetch_trades")
        self._require("fetch_trades")
        spec = self._spec(symbol)
        since = check_since(since, venue=self._adapter.id)
        limit = check_limit(limit, venue=self._adapter.id)
        return await rt.rest.run(self._adapter.fetch_trades(spec.id, since, limit))

    async def fetch_mark_price(self, symbol: str) -> MarkPrice:
        rt = self._live("fetch_mark_price")
        self._require("fetch_mark_price")
        spec = self._spec(symbol)
        return await rt.rest.run(self._adapter.fetch_mark_price(spec.id))

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        """Current funding rate and next settlement time."""
        rt = self._live("fetch_funding_rate")
        self._require("fetch_funding_rate")
        spec = self._spec(symbol)
        return await rt.rest.run(self._adapter.fetch_funding_rate(spec.id))

    async def fetch_funding_rate_history(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[FundingRate]:
        """Settled funding rates, oldest first."""
        rt = self._live("fetch_funding_rate_history")
        self._require("fetch_funding_rate_history")
        spec = self._spec(symbol)
        since = check_since(since, venue=self._adapter.id)
        limit = check_limit(limit, venue=self._adapter.id)
        return await rt.rest.run(self._adapter.fetch_funding_rate_history(spec.id, since, limit))

    async def fetch_open_interest(self, symbol: str) -> OpenInterest:
        rt = self._live("fetch_open_interest")
        self._require("fetch_open_interest")
        spec = self._spec(symbol)
        return await rt.rest.run(self._adapter.fetch_open_interest(spec.id))

    async def fetch_liquidations(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[Liquidation]:
        """Recent liquidations (``Liquidation.complete_feed`` says whether the venue samples)."""
        rt = self._live("fetch_liquidations")
        self._require("fetch_liquidations")
        spec = self._spec(symbol)
        since = check_since(since, venue=self._adapter.id)
        limit = check_limit(limit, venue=self._adapter.id)
        return await rt.rest.run(self._adapter.fetch_liquidations(spec.id, since, limit))

    # -- public websocket -------------------------------------------------------------------
    def watch_ticker(self, symbol: str) -> StateWatch[Ticker]:
        """Live ticker (conflated)."""
        lane = self._lane("watch_ticker")
        self._require("watch_ticker")
        return lane.watch_state(Ticker, Channel.TICKER, [self._spec(symbol)], "ticker")

    def watch_tickers(self, symbols: Sequence[str]) -> StateWatch[Ticker]:
        """Live tickers of several symbols (conflated per symbol)."""
        lane = self._lane("watch_tickers")
        self._require("watch_tickers")
        specs = [self._spec(s) for s in check_symbols(symbols, self._adapter.id)]
        return lane.watch_state(Ticker, Channel.TICKER, specs, "tickers")

    def watch_trades(self, symbol: str, *, buffer: int | None = None) -> EventWatch[Trade]:
        """Live public trades (bounded buffer, ``Lagged`` on overflow)."""
        return self._watch_trades("watch_trades", [symbol], buffer)

    def watch_trades_for_symbols(
        self, symbols: Sequence[str], *, buffer: int | None = None
    ) -> EventWatch[Trade]:
        return self._watch_trades(
            "watch_trades_for_symbols", check_symbols(symbols, self._adapter.id), buffer
        )

    def _watch_trades(
        self, method: str, symbols: list[str], buffer: int | None
    ) -> EventWatch[Trade]:
        lane = self._lane(method)
        self._require(method)
        specs = [self._spec(s) for s in symbols]
        size = check_buffer(buffer, lane.rt.options.event_buffer, self._adapter.id)
        return lane.watch_events(Trade, Channel.TRADES, specs, "trades", buffer=size)

    def watch_order_book(self, symbol: str, depth: int | None = None) -> OrderBookWatch:
        """A live, synchronised order book with ``depth`` levels per side (``None``: full book).

        The adapter picks the venue stream that covers ``depth`` (Binance: the diff stream, or a
        partial-depth stream for 5/10/20; Bybit: the next ``orderbook.N`` up) and refuses depths
        it cannot serve, before anything is subscribed. Reads are cut to ``depth`` levels.
        """
        lane = self._lane("watch_order_book")
        self._require("watch_order_book")
        spec = self._spec(symbol)
        depth = check_limit(depth, "depth", self._adapter.id)
        # The adapter maps a depth to its streams or refuses it (ConfigError / Unsupported) now.
        return lane.watch_book(spec, depth)

    def watch_ohlcv(
        self, symbol: str, interval: str = "1m", *, buffer: int | None = None
    ) -> EventWatch[OHLCV]:
        """Live candles of ``interval`` (each update of the open candle, then the closed one)."""
        return self._watch_ohlcv("watch_ohlcv", [symbol], interval, buffer)

    def watch_ohlcv_for_symbols(
        self, symbols: Sequence[str], interval: str = "1m", *, buffer: int | None = None
    ) -> EventWatch[OHLCV]:
        return self._watch_ohlcv(
            "watch_ohlcv_for_symbols", check_symbols(symbols, self._adapter.id), interval, buffer
        )

    def _watch_ohlcv(
        self, method: str, symbols: list[str], interval: str, buffer: int | None
    ) -> EventWatch[OHLCV]:
        lane = self._lane(method)
        self._require(method)
        specs = [self._spec(s) for s in symbols]
        interval = check_interval(interval, self._adapter.capabilities, self._adapter.id)
        size = check_buffer(buffer, lane.rt.options.event_buffer, self._adapter.id)
        return lane.watch_events(
            OHLCV, Channel.OHLCV, specs, "ohlcv", buffer=size, interval=interval
        )

    def watch_mark_price(self, symbol: str) -> StateWatch[MarkPrice]:
        lane = self._lane("watch_mark_price")
        self._require("watch_mark_price")
        return lane.watch_state(MarkPrice, Channel.MARK_PRICE, [self._spec(symbol)], "mark price")

    def watch_funding_rate(self, symbol: str) -> StateWatch[FundingRate]:
        lane = self._lane("watch_funding_rate")
        self._require("watch_funding_rate")
        return lane.watch_state(
            FundingRate, Channel.FUNDING_RATE, [self._spec(symbol)], "funding rate"
        )

    def watch_open_interest(self, symbol: str) -> StateWatch[OpenInterest]:
        """Live open interest; polled over REST where the venue has no push (Binance)."""
        lane = self._lane("watch_open_interest")
        self._require("watch_open_interest")
        spec = self._spec(symbol)
        if not self._adapter.capabilities.open_interest_push:
            self._require("fetch_open_interest")
            return lane.watch_polled_open_interest(spec)
        return lane.watch_state(OpenInterest, Channel.OPEN_INTEREST, [spec], "open interest")

    def watch_liquidations(
        self, symbol: str, *, buffer: int | None = None
    ) -> EventWatch[Liquidation]:
        """Live liquidations (``Liquidation.complete_feed`` is False on sampled feeds)."""
        lane = self._lane("watch_liquidations")
        self._require("watch_liquidations")
        spec = self._spec(symbol)
        size = check_buffer(buffer, lane.rt.options.event_buffer, self._adapter.id)
        return lane.watch_events(
            Liquidation, Channel.LIQUIDATIONS, [spec], "liquidations", buffer=size
        )

    def watch_status(self, *, buffer: int | None = None) -> StatusWatch:
        """Connection and health events of this client; ``current()`` gives ``status()``."""
        lane = self._lane("watch_status")
        size = check_buffer(buffer, 256, self._adapter.id)
        return lane.watch_status(size)
