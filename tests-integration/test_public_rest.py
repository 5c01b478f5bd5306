"""Every public REST read of the live client against the simulator of both venues."""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest

from bat_markets.client import BatMarkets
from bat_markets.core import (
    OHLCV,
    ConfigError,
    FundingRate,
    MarkPrice,
    OpenInterest,
    Ticker,
    Trade,
    Unsupported,
)
from bat_markets.testing.sim import VenueSim

Connect = Callable[..., Awaitable[BatMarkets]]


async def test_markets_are_loaded_from_the_venue(sim: VenueSim, connect: Connect) -> None:
    bm = await connect(sim)
    ids = {s.id for s in bm.markets()}
    assert ids == set(sim.engine.instruments)
    spec = bm.markets().resolve("BTC/USDT:USDT")
    assert spec.tick_size > 0
    assert spec.step_size > 0
    assert spec.min_qty > 0
    again = await bm.load_markets()
    assert {s.id for s in again} == ids


async def test_tickers(sim: VenueSim, connect: Connect) -> None:
    sim.step(5)
    bm = await connect(sim)
    t = await bm.fetch_ticker("BTC/USDT:USDT")
    assert isinstance(t, Ticker)
    assert t.symbol == "BTC/USDT:USDT"
    assert isinstance(t.last, Decimal)
    assert t.last > 0
    native = await bm.fetch_ticker("BTCUSDT")
    assert native.last == t.last
    both = await bm.fetch_tickers(["BTCUSDT", "ETH/USDT:USDT"])
    assert {x.symbol for x in both} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    every = await bm.fetch_tickers()
    assert {x.symbol for x in every} >= {"BTC/USDT:USDT", "ETH/USDT:USDT"}


async def test_order_book_snapshot(sim: VenueSim, connect: Connect) -> None:
    bm = await connect(sim)
    book = await bm.fetch_order_book("BTCUSDT", limit=100)
    assert len(book.bids) == 100
    assert len(book.asks) == 100
    assert book.bids[0].price < book.asks[0].price
    assert [b.price for b in book.bids] == sorted((b.price for b in book.bids), reverse=True)
    assert [a.price for a in book.asks] == sorted(a.price for a in book.asks)
    engine_book = sim.engine.books["BTCUSDT"]
    tick = sim.engine.instruments["BTCUSDT"].tick_size
    assert book.bids[0].price == tick * engine_book.best_bid()  # type: ignore[operator]
    assert book.asks[0].price == tick * engine_book.best_ask()  # type: ignore[operator]


async def test_ohlcv_with_since_and_limit_pages_through_history(
    sim: VenueSim, connect: Connect
) -> None:
    bm = await connect(sim)
    now = sim.server_time_ms()
    minute = 60_000
    since = (now // minute - 1300) * minute
    candles = await bm.fetch_ohlcv("BTCUSDT", "1m", since=since, limit=1200)
    assert len(candles) == 1200  # more than one request on both venues (1000 / 1500 per page)
    assert all(isinstance(c, OHLCV) and c.interval == "1m" for c in candles)
    opens = [c.open_time for c in candles]
    assert opens[0] == since
    assert all(b - a == minute for a, b in itertools.pairwise(opens))
    assert all(c.low <= c.open <= c.high and c.low <= c.close <= c.high for c in candles)
    hourly = await bm.fetch_ohlcv("ETH/USDT:USDT", "1h", limit=5)
    assert len(hourly) == 5
    assert hourly[-1].open_time - hourly[0].open_time == 4 * 3_600_000


async def test_recent_trades(sim: VenueSim, connect: Connect) -> None:
    sim.step(50)
    bm = await connect(sim)
    trades = await bm.fetch_trades("BTCUSDT", limit=10)
    assert 0 < len(trades) <= 10
    assert all(isinstance(t, Trade) and t.symbol == "BTC/USDT:USDT" for t in trades)
    assert [t.timestamp for t in trades] == sorted(t.timestamp for t in trades)


async def test_mark_price_funding_and_open_interest(sim: VenueSim, connect: Connect) -> None:
    sim.step(3)
    bm = await connect(sim)
    mark = await bm.fetch_mark_price("BTCUSDT")
    assert isinstance(mark, MarkPrice)
    assert mark.mark_price > 0
    funding = await bm.fetch_funding_rate("BTCUSDT")
    assert isinstance(funding, FundingRate)
    assert funding.funding_time is not None
    assert funding.funding_time > time.time() * 1000 - 1000
    history = await bm.fetch_funding_rate_history("BTCUSDT", limit=3)
    assert len(history) == 3
    assert all(isinstance(f, FundingRate) for f in history)
    assert [f.funding_time for f in history] == sorted(f.funding_time or 0 for f in history)
    oi = await bm.fetch_open_interest("BTCUSDT")
    assert isinstance(oi, OpenInterest)
    assert oi.amount > 0


async def test_liquidations_have_no_public_rest_source(sim: VenueSim, connect: Connect) -> None:
    bm = await connect(sim)
    with pytest.raises(Unsupported, match="watch_liquidations"):
        await bm.fetch_liquidations("BTCUSDT")


async def test_bad_symbols_fail_before_sending(sim: VenueSim, connect: Connect) -> None:
    bm = await connect(sim)
    with pytest.raises(ConfigError, match="unknown symbol"):
        await bm.fetch_ticker("DOESNOTEXIST")
    with pytest.raises(ConfigError):
        await bm.fetch_ohlcv("BTCUSDT", "2s")
