"""The shared public hub over a real loopback websocket: leases, linger, sharding, reconnects,
heartbeats, rejected subscriptions and bad frames."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import anyio
import pytest
from bm_client_fake import FakeAdapter, FakeRest, FakeWsServer, MakeClient, fast_options

from bat_markets.client import BatMarkets, StreamGap
from bat_markets.core import ConfigError, ExchangeReject, Heartbeat, Unsupported

TICK = {"T": 1, "last": "100.5"}


def trade(i: int, price: str = "100") -> dict[str, object]:
    return {"i": i, "T": i, "p": price, "q": "1", "s": "buy"}


async def test_two_watchers_share_one_subscription_and_the_last_unsubscribes(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    a = bm.watch_ticker("BTCUSDT")
    b = bm.watch_ticker("BTC/USDT:USDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("ticker.BTCUSDT"))
    assert ws_server.topics_sent("subscribe") == ["ticker.BTCUSDT"]
    assert ws_server.opened == 1
    await ws_server.publish("ticker.BTCUSDT", TICK)
    assert (await a.recv()).last == Decimal("100.5")
    assert (await b.recv()).last == Decimal("100.5")

    await a.shutdown()
    await ws_server.publish("ticker.BTCUSDT", {"T": 2, "last": "101"})
    assert (await b.recv()).last == Decimal("101")  # the other watcher keeps its stream
    assert ws_server.frames("unsubscribe") == []

    await b.shutdown()
    await ws_server.wait_for(lambda: ws_server.topics_sent("unsubscribe") == ["ticker.BTCUSDT"])
    # The empty connection closes after the linger.
    await ws_server.wait_for(lambda: not ws_server.open_conns(), timeout=3)
    assert bm.status().public.connections == 0


async def test_a_new_lease_during_linger_reuses_the_connection(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client(linger_s=1.0)
    a = bm.watch_trades("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    await a.shutdown()
    await ws_server.wait_for(lambda: "trade.BTCUSDT" in ws_server.topics_sent("unsubscribe"))
    b = bm.watch_trades("ETHUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.ETHUSDT"))
    assert ws_server.opened == 1
    await b.shutdown()


async def test_streams_are_sharded_across_connections(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client(FakeAdapter(max_topics=2))
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"]
    watch = bm.watch_tickers(symbols)
    await ws_server.wait_for(lambda: all(ws_server.subscribed(f"ticker.{s}") for s in symbols))
    assert ws_server.opened == 3
    per_conn = sorted(len(s) for s in ws_server.subs.values())
    assert per_conn == [1, 2, 2]
    for i, s in enumerate(symbols):
        await ws_server.publish(f"ticker.{s}", {"T": i, "last": str(100 + i)})
    got = {(await watch.recv()).symbol for _ in symbols}
    assert len(got) == 5
    assert bm.status().public.connections == 3
    await watch.shutdown()


async def test_topics_on_different_routes_use_different_connections(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    liq = bm.watch_liquidations("BTCUSDT")
    trades = bm.watch_trades("BTCUSDT")
    await ws_server.wait_for(
        lambda: ws_server.subscribed("liq.BTCUSDT") and ws_server.subscribed("trade.BTCUSDT")
    )
    assert sorted(ws_server.paths) == ["/other", "/ws"]
    await liq.shutdown()
    await trades.shutdown()


async def test_reconnect_resubscribes_everything_still_leased(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    status = bm.watch_status()
    trades = bm.watch_trades("BTCUSDT")
    ticker = bm.watch_ticker("ETHUSDT")
    gone = bm.watch_ticker("SOLUSDT")
    await ws_server.wait_for(lambda: len(ws_server.topics_sent("subscribe")) == 3)
    await gone.shutdown()
    await ws_server.wait_for(lambda: ws_server.topics_sent("unsubscribe") == ["ticker.SOLUSDT"])
    await ws_server.drop_all()
    await ws_server.wait_for(lambda: ws_server.opened == 2)
    await ws_server.wait_for(
        lambda: ws_server.subscribed("trade.BTCUSDT") and ws_server.subscribed("ticker.ETHUSDT")
    )
    assert not ws_server.subscribed("ticker.SOLUSDT")
    await ws_server.publish("trade.BTCUSDT", [trade(1)])
    with pytest.raises(StreamGap, match=r"trade\.BTCUSDT dropped"):
        await trades.recv()  # the drop comes first, in place
    assert (await trades.recv()).id == "1"
    assert trades.gaps == 1
    await ws_server.publish("ticker.ETHUSDT", TICK)
    assert (await ticker.recv()).symbol == "ETH/USDT:USDT"
    kinds: list[str] = []
    with anyio.fail_after(3):
        while kinds.count("connected") < 2:
            kinds.append((await status.recv()).kind)
    assert "disconnected" in kinds
    assert "reconnecting" in kinds
    diag = bm.advanced().diagnostics()
    assert diag.reconnects == 1
    assert bm.status().public.health.value == "healthy"
    await status.shutdown()


async def test_app_level_pongs_keep_a_quiet_connection_alive(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    hb = Heartbeat(interval_s=0.05, frame=b'{"op":"ping"}', idle_timeout_s=0.3)
    bm = await make_client(FakeAdapter(heartbeat=hb))
    w = bm.watch_trades("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    await anyio.sleep(1.0)  # no data at all, only pongs, for >3 idle timeouts
    assert ws_server.opened == 1
    assert len(ws_server.frames("ping")) >= 5
    await w.shutdown()


async def test_websocket_pongs_count_as_liveness(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    hb = Heartbeat(interval_s=0.05, frame=None, idle_timeout_s=0.3)  # protocol-level pings
    bm = await make_client(FakeAdapter(heartbeat=hb))
    w = bm.watch_trades("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    await anyio.sleep(1.0)
    assert ws_server.opened == 1
    await w.shutdown()


async def test_a_silent_connection_is_replaced(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    hb = Heartbeat(interval_s=0.05, frame=b'{"op":"ping"}', idle_timeout_s=0.3)
    ws_server.answer_pings = False
    bm = await make_client(FakeAdapter(heartbeat=hb))
    w = bm.watch_trades("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.opened >= 2, timeout=3)
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    diag = bm.advanced().diagnostics()
    assert "idle timeout" in (diag.connections[0].last_error or "")
    await w.shutdown()


async def test_proactive_reconnect_before_the_maximum_age(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client(max_connection_age_s=0.3)
    w = bm.watch_trades("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.opened >= 2, timeout=5)
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    await ws_server.publish("trade.BTCUSDT", [trade(5)])
    with pytest.raises(StreamGap):
        await w.recv()  # the recycled connection was a drop for the stream: said once
    assert (await w.recv()).id == "5"
    assert w.gaps == 1
    await w.shutdown()


async def test_rejected_subscription_fails_the_handle_not_the_others(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    ws_server.reject.add("trade.ETHUSDT")
    bm = await make_client()
    good = bm.watch_trades("BTCUSDT")
    bad = bm.watch_trades("ETHUSDT")
    with pytest.raises(ExchangeReject, match=r"invalid topic trade\.ETHUSDT"):
        with anyio.fail_after(3):
            await bad.recv()
    assert bad.closed
    assert isinstance(bad.error, ExchangeReject)
    await ws_server.publish("trade.BTCUSDT", [trade(9)])
    assert (await good.recv()).id == "9"
    # A later watcher of the rejected stream gets a fresh attempt (and the same answer).
    again = bm.watch_trades("ETHUSDT")
    with pytest.raises(ExchangeReject):
        with anyio.fail_after(3):
            await again.recv()
    await good.shutdown()
    await bad.shutdown()


async def test_bad_frames_are_counted_and_skipped(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    bm = await make_client()
    w = bm.watch_trades("BTCUSDT")
    await ws_server.wait_for(lambda: ws_server.subscribed("trade.BTCUSDT"))
    await ws_server.send_raw("trade.BTCUSDT", "{this is not json")
    await ws_server.send_raw(
        "trade.BTCUSDT", json.dumps({"topic": "trade.BTCUSDT", "data": [{"i": 1}]})
    )
    await ws_server.send_raw("trade.BTCUSDT", json.dumps({"op": "surprise"}))
    await ws_server.publish("trade.BTCUSDT", [trade(2)])
    assert (await w.recv()).id == "2"
    diag = bm.advanced().diagnostics()
    assert diag.invalid_frames == 2
    assert diag.connections[0].unknown_frames == 1
    assert ws_server.opened == 1  # the connection survived
    await w.shutdown()


async def test_watch_calls_fail_fast_on_bad_input(make_client: MakeClient) -> None:
    bm = await make_client()
    with pytest.raises(ConfigError, match="unknown symbol"):
        bm.watch_trades("NOPEUSDT")
    with pytest.raises(ConfigError, match="empty"):
        bm.watch_tickers([])
    with pytest.raises(ConfigError, match="list"):
        bm.watch_trades_for_symbols("BTCUSDT")
    with pytest.raises(ConfigError, match="interval"):
        bm.watch_ohlcv("BTCUSDT", "7m")
    with pytest.raises(ConfigError, match="depth"):
        bm.watch_order_book("BTCUSDT", depth=-5)
    with pytest.raises(Unsupported, match="1000 levels"):
        bm.watch_order_book("BTCUSDT", depth=5000)
    with pytest.raises(ConfigError, match="buffer"):
        bm.watch_trades("BTCUSDT", buffer=0)
    assert bm.status().public.connections == 0  # nothing was opened


async def test_unsupported_channel_fails_fast(make_client: MakeClient) -> None:
    class NoLiq(FakeAdapter):
        def __init__(self) -> None:
            super().__init__()
            import msgspec

            self.capabilities = msgspec.structs.replace(
                self.capabilities,
                methods=self.capabilities.methods - {"watch_liquidations"},
                notes={"watch_liquidations": "no liquidation feed"},
            )

    bm = await make_client(NoLiq())
    with pytest.raises(Unsupported, match="no liquidation feed"):
        bm.watch_liquidations("BTCUSDT")


async def test_a_refused_connection_is_retried_and_reported(rest: FakeRest) -> None:
    from bat_markets.core import Endpoints

    async with FakeWsServer() as srv:  # a port that then refuses connections
        url = srv.url
    eps = Endpoints(rest="http://fake.test", public_ws=url, private_ws="")
    async with BatMarkets.live(FakeAdapter(), endpoints=eps, options=fast_options(rest)) as bm:
        w = bm.watch_trades("BTCUSDT")
        with anyio.fail_after(3):
            while bm.advanced().diagnostics().connections[0].reconnects < 2:  # noqa: ASYNC110
                await anyio.sleep(0.02)
        assert bm.status().public.health.value == "disconnected"
        assert "connect failed" in (bm.advanced().diagnostics().connections[0].last_error or "")
        assert not w.closed  # a transient failure: the handle waits for the reconnect
        await w.shutdown()


async def test_a_url_the_venue_rejects_fails_the_handles(rest: FakeRest) -> None:
    from websockets.asyncio.server import serve

    from bat_markets.core import Endpoints, TransportError

    def not_found(connection: Any, request: Any) -> Any:
        return connection.respond(404, "no such stream path\n")

    async with serve(lambda ws: ws.close(), "127.0.0.1", 0, process_request=not_found) as srv:
        port = srv.sockets[0].getsockname()[1]
        eps = Endpoints(rest="http://fake.test", public_ws=f"ws://127.0.0.1:{port}", private_ws="")
        async with BatMarkets.live(FakeAdapter(), endpoints=eps, options=fast_options(rest)) as bm:
            w = bm.watch_trades("BTCUSDT")
            with pytest.raises(TransportError, match="404"), anyio.fail_after(3):
                await w.recv()  # three HTTP 404 handshakes: permanent, not a silent retry loop
            assert w.closed


async def test_close_unblocks_every_reader_and_leaves_no_task(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    from bat_markets.client import StreamClosed

    bm = await make_client()
    w1 = bm.watch_trades("BTCUSDT")
    w2 = bm.watch_order_book("BTCUSDT")
    await ws_server.wait_for(
        lambda: len(ws_server.subs) == 1 and len(next(iter(ws_server.subs.values()))) == 2
    )
    results: list[BaseException] = []

    async def reader(w: object) -> None:
        try:
            await w.recv()  # type: ignore[attr-defined]
        except BaseException as exc:
            results.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader, w1)
        tg.start_soon(reader, w2)
        await anyio.sleep(0.05)
        await bm.close()
    assert len(results) == 2
    assert all(isinstance(r, StreamClosed) for r in results)
    with pytest.raises(StreamClosed, match="client was closed"):
        async for _ in w1:
            pass
    await ws_server.wait_for(lambda: not ws_server.open_conns())
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in others if "bat-markets" in t.get_name()]
