"""Typed public streams over the hub: filters, derived families, REST-polled open interest,
raw lane events, status and diagnostics."""

from __future__ import annotations

import json
from decimal import Decimal

import anyio
from bm_client_fake import FakeAdapter, FakeRest, FakeWsServer, MakeClient

from bat_markets.client import Health
from bat_markets.core import FundingRate, MarkPrice, OpenInterest, StreamData


def kline(t: int, close: str, closed: bool = False) -> dict[str, object]:
    return {"t": t, "o": "1", "h": "2", "l": "0.5", "c": close, "v": "10", "x": closed}


async def test_trades_for_several_symbols(make_client: MakeClient, ws_server: FakeWsServer) -> None:
    bm = await make_client()
    w = bm.watch_trades_for_symbols(["BTCUSDT", "ETH/USDT:USDT"])
    await ws_server.wait_for(
        lambda: ws_server.subscribed("trade.BTCUSDT") and ws_server.subscribed("trade.ETHUSDT")
    )
    await ws_server.publish("trade.ETHUSDT", [{"i": 1, "T": 1, "p": "3000", "q": "2", "s": "sell"}])
    await ws_server.publish(
        "trade.BTCUSDT",
        [
            {"i": 2, "T": 2, "p": "60000", "q": "1", "s": "buy"},
            {"i": 3, "T": 3, "p": "60001", "q": "1", "s": "buy"},
        ],
    )
    got = [await w.recv() for _ in range(3)]
    assert [(t.symbol, t.id) for t in got] == [
        ("ETH/USDT:USDT", "1"),
        ("BTC/USDT:USDT", "2"),
        ("BTC/USDT:USDT", "3"),
    ]
    assert got[0].price == Decimal("3000")
    assert got[0].side.value == "sell"
    await w.shutdown()


async def test_ohlcv_streams_filter_by_interval(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    one = bm.watch_ohlcv("BTCUSDT", "1m")
    five = bm.watch_ohlcv_for_symbols(["BTCUSDT", "ETHUSDT"], "5m")
    await ws_server.wait_for(
        lambda: all(
            ws_server.subscribed(t)
            for t in ("kline.1m.BTCUSDT", "kline.5m.BTCUSDT", "kline.5m.ETHUSDT")
        )
    )
    await ws_server.publish("kline.1m.BTCUSDT", kline(60_000, "1.5"))
    await ws_server.publish("kline.5m.ETHUSDT", kline(300_000, "2.5", closed=True))
    c1 = await one.recv()
    c5 = await five.recv()
    assert (c1.interval, c1.close, c1.closed) == ("1m", Decimal("1.5"), False)
    assert (c5.interval, c5.symbol, c5.closed) == ("5m", "ETH/USDT:USDT", True)
    await one.shutdown()
    await five.shutdown()


async def test_tickers_conflate_per_symbol(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    w = bm.watch_tickers(["BTCUSDT", "ETHUSDT"])
    await ws_server.wait_for(lambda: len(ws_server.topics_sent("subscribe")) == 2)
    for i in range(5):
        await ws_server.publish("ticker.BTCUSDT", {"T": i, "last": str(100 + i)})
    await ws_server.publish("ticker.ETHUSDT", {"T": 9, "last": "7"})
    await anyio.sleep(0.1)
    a, b = await w.recv(), await w.recv()
    assert (a.symbol, a.last) == ("BTC/USDT:USDT", Decimal("104"))
    assert (b.symbol, b.last) == ("ETH/USDT:USDT", Decimal("7"))
    await w.shutdown()


async def test_mark_price_and_funding_are_derived_from_the_ticker_topic(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    mark = bm.watch_mark_price("BTCUSDT")
    funding = bm.watch_funding_rate("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("ticker.BTCUSDT"))
    assert ws_server.topics_sent("subscribe") == ["ticker.BTCUSDT"]  # one shared topic
    await ws_server.publish("ticker.BTCUSDT", {"T": 1, "last": "100"})  # no mark: nothing
    await ws_server.publish(
        "ticker.BTCUSDT", {"T": 2, "last": "100", "mark": "100.2", "funding": "0.0001"}
    )
    m = await mark.recv()
    f = await funding.recv()
    assert isinstance(m, MarkPrice)
    assert m.mark_price == Decimal("100.2")
    assert m.timestamp == 2
    assert isinstance(f, FundingRate)
    assert f.funding_rate == Decimal("0.0001")
    await mark.shutdown()
    await funding.shutdown()


async def test_open_interest_is_polled_over_rest_when_not_pushed(
    make_client: MakeClient, ws_server: FakeWsServer, rest: FakeRest
) -> None:
    bm = await make_client(open_interest_poll_s=0.05)
    a = bm.watch_open_interest("BTCUSDT")
    b = bm.watch_open_interest("BTC/USDT:USDT")
    with anyio.fail_after(3):
        oi = await a.recv()
        await b.recv()
    assert isinstance(oi, OpenInterest)
    assert oi.amount == Decimal("12345.5")
    rest.oi = "99"
    with anyio.fail_after(3):
        while (await a.recv()).amount != Decimal("99"):
            pass
    assert ws_server.opened == 0  # no socket for a polled stream
    assert len(bm._runtime.polls) == 1  # type: ignore[union-attr]  # shared by both watchers
    await a.shutdown()
    await b.shutdown()
    await anyio.sleep(0.1)
    polls = rest.count("/oi")
    await anyio.sleep(0.2)
    assert rest.count("/oi") == polls  # the last release stopped the poll task


async def test_open_interest_from_the_push_topic_when_available(
    make_client: MakeClient, ws_server: FakeWsServer, rest: FakeRest
) -> None:
    bm = await make_client(FakeAdapter(oi_push=True))
    w = bm.watch_open_interest("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("ticker.BTCUSDT"))
    await ws_server.publish("ticker.BTCUSDT", {"T": 3, "last": "1", "oi": "777"})
    assert (await w.recv()).amount == Decimal("777")
    assert rest.count("/oi") == 0
    await w.shutdown()


async def test_raw_public_events_and_live_ingest(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    raw = bm.advanced().subscribe_public_events()
    w = bm.watch_trades("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    await ws_server.publish("trade.BTCUSDT", [{"i": 5, "T": 1, "p": "1", "q": "1", "s": "buy"}])
    data = await raw.recv()
    assert isinstance(data, StreamData)
    assert data.topic == "trade.BTCUSDT"
    frame = json.dumps({"topic": "ticker.ETHUSDT", "data": {"T": 1, "last": "3"}})
    events = bm.advanced().ingest_public_json(frame)
    assert len(events) == 1
    assert (await raw.recv()).topic == "ticker.ETHUSDT"
    await raw.shutdown()
    await w.shutdown()


async def test_status_and_diagnostics(make_client: MakeClient, ws_server: FakeWsServer) -> None:
    bm = await make_client()
    status = bm.status()
    assert status.health is Health.HEALTHY  # REST answered; no socket yet (public lane idle)
    assert status.public.health is Health.IDLE
    assert status.private.health is Health.IDLE
    assert "not implemented" in (status.private.detail or "")
    events = bm.watch_status()
    w = bm.watch_trades("BTCUSDT")
    with anyio.fail_after(3):
        while (await events.recv()).kind != "connected":
            pass
    status = events.current()
    assert status.public.health is Health.HEALTHY
    assert status.public.connected == 1
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    await ws_server.publish("trade.BTCUSDT", [{"i": 5, "T": 1, "p": "1", "q": "1", "s": "buy"}])
    with anyio.fail_after(3):
        await w.recv()
    diag = bm.advanced().diagnostics()
    assert diag.venue == "fake"
    assert diag.environment == "testnet"
    (conn,) = diag.connections
    assert conn.state == "connected"
    assert conn.topics == 1
    assert conn.frames >= 2
    assert conn.last_message_age_s is not None
    assert conn.last_message_age_s < 5
    (stream,) = diag.streams
    assert stream.topic == "trade.BTCUSDT"
    assert stream.state == "subscribed"
    assert stream.messages == 1
    assert diag.handles >= 1
    assert diag.rest.requests >= 2
    assert diag.pending_commands == 0
    assert diag.unknown_commands == 0
    await w.shutdown()
    await events.shutdown()
