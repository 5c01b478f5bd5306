"""Every public ``watch_*`` of the live client against the simulator of both venues, over real
loopback websockets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import pytest

from bat_markets.client import BatMarkets, Health, Watch
from bat_markets.core import (
    OHLCV,
    ConfigError,
    FundingRate,
    Liquidation,
    MarkPrice,
    OpenInterest,
    Ticker,
    Trade,
)
from bat_markets.testing.sim import VenueSim

Connect = Callable[..., Awaitable[BatMarkets]]
T = TypeVar("T")


async def first(watch: Watch[T], n: int = 1, within: float = 5.0) -> list[T]:
    out = []
    with anyio.fail_after(within):
        for _ in range(n):
            out.append(await watch.recv())
    await watch.shutdown()
    return out


async def test_ticker_and_tickers(ticking_sim: VenueSim, connect: Connect) -> None:
    bm = await connect(ticking_sim)
    (t,) = await first(bm.watch_ticker("BTC/USDT:USDT"))
    assert isinstance(t, Ticker)
    assert t.symbol == "BTC/USDT:USDT"
    assert t.last is not None
    both = await first(bm.watch_tickers(["BTCUSDT", "ETHUSDT"]), n=6)
    assert {x.symbol for x in both} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}


async def test_trades(ticking_sim: VenueSim, connect: Connect) -> None:
    bm = await connect(ticking_sim)
    trades = await first(bm.watch_trades("BTCUSDT"), n=5)
    assert all(isinstance(t, Trade) and t.symbol == "BTC/USDT:USDT" for t in trades)
    assert all(t.price > 0 and t.amount > 0 for t in trades)
    assert trades[0].aggregated is (ticking_sim.venue == "binance")
    multi = await first(bm.watch_trades_for_symbols(["BTCUSDT", "ETHUSDT"]), n=30)
    assert {t.symbol for t in multi} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}


async def test_order_book_full_and_partial_depth(ticking_sim: VenueSim, connect: Connect) -> None:
    bm = await connect(ticking_sim)
    books = await first(bm.watch_order_book("BTCUSDT", depth=100), n=3)
    for book in books:
        assert len(book.bids) == 100
        assert len(book.asks) == 100
        assert book.bids[0].price < book.asks[0].price
    first_seq, last_seq = books[0].sequence, books[-1].sequence
    assert first_seq is not None
    assert last_seq is not None
    assert last_seq > first_seq
    (full,) = await first(bm.watch_order_book("ETHUSDT"))
    assert len(full.bids) >= 1000
    assert len(full.asks) >= 1000
    (small,) = await first(bm.watch_order_book("BTCUSDT", depth=10))
    assert len(small.bids) == 10
    assert len(small.asks) == 10


async def test_ohlcv(ticking_sim: VenueSim, connect: Connect) -> None:
    bm = await connect(ticking_sim)
    (c,) = await first(bm.watch_ohlcv("BTCUSDT", "1m"))
    assert isinstance(c, OHLCV)
    assert c.interval == "1m"
    assert c.symbol == "BTC/USDT:USDT"
    assert c.close_time - c.open_time == 59_999
    several = await first(bm.watch_ohlcv_for_symbols(["BTCUSDT", "ETHUSDT"], "5m"), n=8)
    assert {x.symbol for x in several} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert {x.interval for x in several} == {"5m"}


async def test_mark_price_and_funding(ticking_sim: VenueSim, connect: Connect) -> None:
    bm = await connect(ticking_sim)
    (m,) = await first(bm.watch_mark_price("BTCUSDT"))
    assert isinstance(m, MarkPrice)
    assert m.mark_price > 0
    (f,) = await first(bm.watch_funding_rate("ETH/USDT:USDT"))
    assert isinstance(f, FundingRate)
    assert f.symbol == "ETH/USDT:USDT"


async def test_open_interest(ticking_sim: VenueSim, connect: Connect) -> None:
    bm = await connect(ticking_sim)
    values = await first(bm.watch_open_interest("BTCUSDT"), n=2)
    assert all(isinstance(v, OpenInterest) and v.amount > 0 for v in values)
    diag = bm.advanced().diagnostics()
    if bm.capabilities.open_interest_push:
        assert not bm._runtime.polls  # type: ignore[union-attr]
    else:  # Binance: polled over REST in its own task, no socket involved
        assert not diag.streams


async def test_liquidations(ticking_sim: VenueSim, connect: Connect) -> None:
    bm = await connect(ticking_sim)
    (liq,) = await first(bm.watch_liquidations("BTCUSDT"), within=15)
    assert isinstance(liq, Liquidation)
    assert liq.price > 0
    assert liq.amount > 0
    assert liq.complete_feed is bm.capabilities.liquidations_complete


async def test_status_reports_connections(ticking_sim: VenueSim, connect: Connect) -> None:
    bm = await connect(ticking_sim)
    status = bm.watch_status()
    trades = bm.watch_trades("BTCUSDT")
    with anyio.fail_after(5):
        while (await status.recv()).kind != "connected":
            pass
        await trades.recv()
    s = bm.status()
    assert s.health is Health.HEALTHY
    assert s.public.connected >= 1
    await trades.shutdown()
    await status.shutdown()


async def test_bad_watch_input_fails_fast(sim: VenueSim, connect: Connect) -> None:
    bm = await connect(sim)
    with pytest.raises(ConfigError):
        bm.watch_trades("NOTASYMBOL")
    with pytest.raises(ConfigError):
        bm.watch_tickers([])
    with pytest.raises(ConfigError):
        bm.watch_ohlcv("BTCUSDT", "13m")
    with pytest.raises(Exception) as err:
        bm.watch_order_book("BTCUSDT", depth=5000)
    assert type(err.value).__name__ in ("Unsupported", "ConfigError")
    assert bm.status().public.connections == 0
