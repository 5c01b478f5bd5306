"""Watch handles: conflation, bounded buffers with Lagged, leaked handles, shutdown semantics."""

from __future__ import annotations

import gc
import warnings
from decimal import Decimal
from typing import Any

import anyio
import pytest
from bm_client_fake import FakeWsServer, MakeClient

from bat_markets.client import Lagged, StreamClosed
from bat_markets.client._handles import EventSink, StateSink


async def test_state_sink_conflates_per_key() -> None:
    sink: StateSink[int] = StateSink("t")
    for i in range(100):
        sink.push(i, "A")
    sink.push(7, "B")
    assert len(sink) == 2
    assert await sink.get() == 99
    assert await sink.get() == 7
    assert sink.conflated == 99


async def test_event_sink_signals_lag_once_then_continues() -> None:
    sink: EventSink[int] = EventSink("t", capacity=10)
    for i in range(25):
        sink.push(i)
    with pytest.raises(Lagged) as err:
        await sink.get()
    assert err.value.count == 15
    assert [await sink.get() for _ in range(10)] == list(range(15, 25))
    assert sink.lagged_total == 15
    sink.push(99)
    assert await sink.get() == 99  # no second Lagged


async def test_buffered_items_are_delivered_before_a_terminal_error() -> None:
    sink: EventSink[int] = EventSink("t", capacity=10)
    sink.push(1)
    sink.fail(StreamClosed("gone"))
    assert await sink.get() == 1
    with pytest.raises(StreamClosed):
        await sink.get()


async def test_slow_ticker_consumer_sees_only_the_latest(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    w = bm.watch_ticker("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("ticker.BTCUSDT"))
    for i in range(200):
        await ws_server.publish("ticker.BTCUSDT", {"T": i, "last": str(1000 + i)})
    await ws_server.publish("ticker.BTCUSDT", {"T": 999, "last": "5"})
    await anyio.sleep(0.2)
    t = await w.recv()
    assert t.last == Decimal("5")
    assert w.conflated == 200
    await w.shutdown()


async def test_slow_trade_consumer_gets_lagged_with_the_count(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    w = bm.watch_trades("BTCUSDT", buffer=50)
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    for i in range(120):
        await ws_server.publish("trade.BTCUSDT", [{"i": i, "T": i, "p": "1", "q": "1", "s": "buy"}])
    await ws_server.publish("trade.BTCUSDT", [{"i": 999, "T": 1, "p": "1", "q": "1", "s": "sell"}])
    with anyio.fail_after(3):
        while len(w._sink) < 50 or w._sink._buf[-1].id != "999":  # noqa: ASYNC110 - test poll
            await anyio.sleep(0.01)
    with pytest.raises(Lagged) as err:
        await w.recv()
    assert err.value.count == 71
    ids = [(await w.recv()).id for _ in range(50)]
    assert ids[0] == "71"
    assert ids[-1] == "999"
    assert w.lagged_total == 71
    assert bm.advanced().diagnostics().lagged_events == 71
    await w.shutdown()


async def test_shutdown_ends_iteration_and_recv_raises(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    w = bm.watch_trades("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    seen = []

    async def consume() -> None:
        async for t in w:
            seen.append(t.id)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await ws_server.publish("trade.BTCUSDT", [{"i": 1, "T": 1, "p": "1", "q": "1", "s": "buy"}])
        await anyio.sleep(0.05)
        await w.shutdown()
    assert seen == ["1"]
    with pytest.raises(StreamClosed, match="shut down"):
        await w.recv()
    await w.shutdown()  # idempotent
    assert w.closed


async def test_async_with_releases_the_lease(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    async with bm.watch_trades("BTCUSDT") as w:
        await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
        assert not w.closed
    await ws_server.wait_for(lambda: "trade.BTCUSDT" in ws_server.topics_sent("unsubscribe"))


def _drop(handles: list[Any]) -> None:
    handles.clear()
    gc.collect()


async def test_leaked_handle_releases_its_lease_with_a_resource_warning(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    keep = bm.watch_trades("ETHUSDT")
    w = bm.watch_trades("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    handles = [w]
    del w
    with pytest.warns(ResourceWarning, match="garbage-collected without shutdown"):
        _drop(handles)
    await ws_server.wait_for(lambda: "trade.BTCUSDT" in ws_server.topics_sent("unsubscribe"))
    assert bm.status().public.streams == 1
    await keep.shutdown()


async def test_handles_closed_by_the_client_do_not_warn(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    w = bm.watch_trades("BTCUSDT")
    await bm.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del w
        gc.collect()


async def test_event_sink_gap_is_raised_once_in_place() -> None:
    from bat_markets.client import StreamGap
    from bat_markets.client._handles import EventSink

    sink: EventSink[int] = EventSink("trades BTCUSDT", capacity=8, venue="binance")
    sink.push(1)
    sink.gap("the connection carrying btcusdt@aggTrade dropped")
    sink.gap("the connection carrying btcusdt@aggTrade dropped")  # no event in between: one gap
    sink.push(2)
    assert await sink.get() == 1
    with pytest.raises(StreamGap, match="btcusdt@aggTrade dropped") as info:
        await sink.get()
    assert info.value.retryable
    assert info.value.venue == "binance"
    assert await sink.get() == 2
    assert sink.gaps == 1
    assert sink.delivered == 2
