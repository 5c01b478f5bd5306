"""Bybit simulator websockets (public, private, trade) with plain ``websockets`` over loopback."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from bat_markets.testing.sim.bybit import BybitSim, assert_shape, ws_auth_args

DATA = Path(__file__).parent / "data_sim_bybit"
D = Decimal


def fixture(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def trade_url(sim: BybitSim) -> str:
    url = sim.endpoints.command_ws
    assert url is not None
    return url


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def recv(ws: ClientConnection, timeout: float = 2.0) -> dict[str, Any]:
    msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    assert isinstance(msg, dict)
    return msg


async def recv_until(
    ws: ClientConnection, pred: Callable[[dict[str, Any]], bool], timeout: float = 3.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first message matching ``pred`` and everything received before it."""
    skipped: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError(
                f"no matching message; got {[m.get('topic', m.get('op')) for m in skipped]}"
            )
        msg = await recv(ws, left)
        if pred(msg):
            return msg, skipped
        skipped.append(msg)


async def drain(ws: ClientConnection, quiet: float = 0.15) -> list[dict[str, Any]]:
    out = []
    while True:
        try:
            out.append(await recv(ws, quiet))
        except (asyncio.TimeoutError, TimeoutError):
            return out


@pytest.fixture
async def sim() -> AsyncIterator[BybitSim]:
    async with BybitSim(seed=11, auto_tick=None, depth_levels=300) as s:
        yield s


async def steps(sim: BybitSim, n: int) -> None:
    """Advance one market step per event-loop turn (the venue pushes per batch)."""
    for _ in range(n):
        sim.step()
        await asyncio.sleep(0)


def apply(book: dict[str, dict[Decimal, Decimal]], data: dict[str, Any], snapshot: bool) -> None:
    if snapshot:
        book["b"], book["a"] = {}, {}
    for side in ("b", "a"):
        for price, size in data[side]:
            if D(size) == 0:
                book[side].pop(D(price), None)
            else:
                book[side][D(price)] = D(size)


# -- public --------------------------------------------------------------------------------------


async def test_public_control_frames_match_fixtures(sim: BybitSim) -> None:
    async with websockets.connect(sim.endpoints.public_ws) as ws:
        await ws.send(json.dumps(fixture("ws/subscribe_request.json")))
        ack = await recv(ws)
        assert_shape(ack, fixture("ws/subscribe_ack.json"))
        assert list(ack) == list(fixture("ws/subscribe_ack.json"))
        assert (ack["success"], ack["req_id"], ack["op"]) == (True, "test", "subscribe")
        await drain(ws)
        await ws.send(json.dumps({"req_id": "p1", "op": "ping"}))
        pong = await recv(ws)
        assert_shape(pong, fixture("ws/pong_public.json"))
        assert (pong["ret_msg"], pong["op"], pong["req_id"]) == ("pong", "ping", "p1")
        await ws.send(
            json.dumps({"req_id": "x", "op": "subscribe", "args": ["orderbook.500.BTCUSDT"]})
        )
        bad = await recv(ws)
        assert bad["success"] is False
        assert "orderbook.500.BTCUSDT" in bad["ret_msg"]
        await ws.send(
            json.dumps({"req_id": "y", "op": "subscribe", "args": ["orderbook.1.BTCUSDT"]})
        )
        dup = await recv(ws)
        assert dup["success"] is False
        assert "already subscribed" in dup["ret_msg"]
        await ws.send("not json")
        assert (await recv(ws))["success"] is False
        await ws.send(
            json.dumps({"req_id": "z", "op": "unsubscribe", "args": ["orderbook.1.BTCUSDT"]})
        )
        assert (await recv(ws))["success"] is True


async def test_orderbook_snapshot_delta_contract_and_rest_u(sim: BybitSim) -> None:
    topics = ["orderbook.1.BTCUSDT", "orderbook.50.BTCUSDT", "orderbook.1000.BTCUSDT"]
    async with (
        websockets.connect(sim.endpoints.public_ws) as ws,
        httpx.AsyncClient(base_url=sim.endpoints.rest) as http,
    ):
        await ws.send(json.dumps({"op": "subscribe", "args": topics}))
        assert (await recv(ws))["success"] is True
        books: dict[str, dict[str, dict[Decimal, Decimal]]] = {
            t: {"b": {}, "a": {}} for t in topics
        }
        last_u: dict[str, int] = {}
        last_seq = 0
        first = {t: True for t in topics}
        ref_snap = fixture("ws/orderbook_50_snapshot.json")
        ref_delta = fixture("ws/orderbook_50_delta.json")

        def handle(msg: dict[str, Any]) -> None:
            nonlocal last_seq
            topic = msg["topic"]
            data = msg["data"]
            assert data["s"] == "BTCUSDT"
            if first[topic]:
                assert msg["type"] == "snapshot"
                assert_shape(msg, ref_snap)
                first[topic] = False
            else:
                assert data["u"] == last_u[topic] + 1, "u increases by one per message"
                if topic.startswith("orderbook.1."):
                    assert msg["type"] == "snapshot"  # depth 1 is snapshot-only
                else:
                    assert msg["type"] == "delta"
                    assert_shape(msg, ref_delta)
            assert data["seq"] >= last_seq
            last_seq = max(last_seq, data["seq"])
            last_u[topic] = data["u"]
            apply(books[topic], data, msg["type"] == "snapshot")
            levels = books[topic]
            depth = int(topic.split(".")[1])
            assert len(levels["b"]) <= depth
            assert len(levels["a"]) <= depth
            assert max(levels["b"]) < min(levels["a"]), "never crossed"

        for _ in range(3):
            handle(await recv(ws))
        for _ in range(15):
            sim.step()
            for msg in await drain(ws, 0.05):
                handle(msg)
        rest = (
            await http.get(
                "/v5/market/orderbook",
                params={"category": "linear", "symbol": "BTCUSDT", "limit": 1000},
            )
        ).json()["result"]
        for msg in await drain(ws, 0.1):
            handle(msg)
        assert rest["u"] == last_u["orderbook.1000.BTCUSDT"], "REST u is the 1000-level stream's u"
        local = books["orderbook.1000.BTCUSDT"]
        assert [
            [f"{p:.2f}", f"{q:.3f}"] for p, q in sorted(local["b"].items(), reverse=True)
        ] == rest["b"]
        assert [[f"{p:.2f}", f"{q:.3f}"] for p, q in sorted(local["a"].items())] == rest["a"]
        top50 = books["orderbook.50.BTCUSDT"]
        assert (
            sorted(top50["b"].items(), reverse=True)
            == sorted(local["b"].items(), reverse=True)[:50]
        )
        assert sorted(top50["a"].items()) == sorted(local["a"].items())[:50]
        top1 = books["orderbook.1.BTCUSDT"]
        assert max(top1["b"]) == max(local["b"])
        assert min(top1["a"]) == min(local["a"])


async def test_ticker_snapshot_then_deltas_with_only_changed_fields(sim: BybitSim) -> None:
    async with (
        websockets.connect(sim.endpoints.public_ws) as ws,
        httpx.AsyncClient(base_url=sim.endpoints.rest) as http,
    ):
        await ws.send(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSDT"]}))
        assert (await recv(ws))["success"] is True
        snap = await recv(ws)
        assert snap["type"] == "snapshot"
        assert_shape(snap, fixture("ws/tickers_snapshot.json"))
        state = dict(snap["data"])
        deltas = 0
        for _ in range(8):
            sim.step()
            for msg in await drain(ws, 0.05):
                assert msg["type"] == "delta"
                assert msg["topic"] == "tickers.BTCUSDT"
                ref = fixture("ws/tickers_delta.json")
                assert_shape(msg, ref | {"data": {"symbol": "X"}})  # the delta's keys vary
                assert list(msg) == list(ref)
                data = msg["data"]
                assert set(data) < set(state)
                assert "symbol" in data
                changed = {k: v for k, v in data.items() if k != "symbol"}
                assert changed
                assert all(state[k] != v for k, v in changed.items()), "only changed fields"
                state.update(changed)
                deltas += 1
        assert deltas >= 4
        row = (
            await http.get("/v5/market/tickers", params={"category": "linear", "symbol": "BTCUSDT"})
        ).json()["result"]["list"][0]
        for key in (
            "lastPrice",
            "markPrice",
            "indexPrice",
            "bid1Price",
            "ask1Price",
            "fundingRate",
            "nextFundingTime",
        ):
            assert state[key] == row[key], key


async def test_trades_klines_and_liquidations(sim: BybitSim) -> None:
    async with websockets.connect(sim.endpoints.public_ws) as ws:
        await ws.send(
            json.dumps(
                {
                    "op": "subscribe",
                    "args": ["publicTrade.BTCUSDT", "kline.1.BTCUSDT", "allLiquidation.BTCUSDT"],
                }
            )
        )
        assert (await recv(ws))["success"] is True
        kline = await recv(ws)
        assert_shape(kline, fixture("ws/kline.json"))
        assert kline["data"][0]["interval"] == "1"
        assert kline["data"][0]["confirm"] is False
        trades: list[dict[str, Any]] = []
        for _ in range(10):
            sim.step()
            for msg in await drain(ws, 0.05):
                if msg["topic"] == "publicTrade.BTCUSDT":
                    assert_shape(msg, fixture("ws/public_trade.json"))
                    trades += msg["data"]
        assert trades
        seqs = [t["seq"] for t in trades]
        assert seqs == sorted(seqs)
        assert len(set(t["i"] for t in trades)) == len(trades)
        assert {t["S"] for t in trades} <= {"Buy", "Sell"}
        sim.inject_liquidation("BTCUSDT", "Sell", 5)
        liq, _ = await recv_until(ws, lambda m: m["topic"] == "allLiquidation.BTCUSDT")
        assert_shape(liq, fixture("ws/all_liquidation.json"))
        assert liq["data"][0]["S"] == "Buy"  # a forced sell closes a long: S is the position side
        assert liq["data"][0]["v"] == "0.005"


# -- private -------------------------------------------------------------------------------------


async def auth_private(
    sim: BybitSim, ws: ClientConnection, topics: list[str] | None = None
) -> None:
    c = sim.credentials
    await ws.send(
        json.dumps(
            {
                "req_id": "auth-1",
                "op": "auth",
                "args": ws_auth_args(c.api_key, c.secret.reveal(), now_ms() + 5000),
            }
        )
    )
    reply = await recv(ws)
    assert reply["success"] is True, reply
    if topics:
        await ws.send(json.dumps({"op": "subscribe", "args": topics}))
        assert (await recv(ws))["success"] is True


async def test_private_auth_replies(sim: BybitSim) -> None:
    c = sim.credentials
    async with websockets.connect(sim.endpoints.private_ws) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["order"]}))
        early = await recv(ws)
        assert early["success"] is False
        assert early["op"] == "subscribe"
        await ws.send(json.dumps({"op": "auth", "args": [c.api_key, now_ms() + 5000, "0" * 64]}))
        bad = await recv(ws)
        assert (bad["success"], bad["op"]) == (False, "auth")
        expired = now_ms() - 10
        await ws.send(
            json.dumps({"op": "auth", "args": ws_auth_args(c.api_key, c.secret.reveal(), expired)})
        )
        old = await recv(ws)
        assert (old["success"], old["ret_msg"]) == (False, "Params Error")
        await ws.send(
            json.dumps(
                {"op": "auth", "args": ws_auth_args(c.api_key, c.secret.reveal(), now_ms() + 5000)}
            )
        )
        ok = await recv(ws)
        assert_shape(ok, fixture("ws/auth_response.json"))
        assert list(ok) == list(fixture("ws/auth_response.json"))
        await ws.send(json.dumps({"op": "subscribe", "args": ["order", "order.linear"]}))
        assert (await recv(ws))["success"] is False  # all-in-one + categorised in one request
        await ws.send(json.dumps({"op": "subscribe", "args": ["order", "greeks"]}))
        assert (await recv(ws))["success"] is False
        await ws.send(json.dumps({"op": "subscribe", "args": ["order", "execution"]}))
        ack = await recv(ws)
        assert_shape(ack, fixture("ws/subscribe_ack_private.json"))
        await ws.send(json.dumps({"req_id": "test", "op": "ping"}))
        pong = await recv(ws)
        assert_shape(pong, fixture("ws/pong_private.json"))
        assert abs(int(pong["args"][0]) - now_ms()) < 5000


async def test_private_events_of_a_fill(sim: BybitSim) -> None:
    topics = ["order", "execution", "execution.fast", "position", "wallet"]
    async with (
        websockets.connect(sim.endpoints.private_ws) as ws,
        websockets.connect(trade_url(sim)) as tws,
    ):
        await auth_private(sim, ws, topics)
        c = sim.credentials
        await tws.send(
            json.dumps(
                {"op": "auth", "args": ws_auth_args(c.api_key, c.secret.reveal(), now_ms() + 5000)}
            )
        )
        assert (await recv(tws))["retCode"] == 0
        req = {
            "reqId": "fill-1",
            "header": {"X-BAPI-TIMESTAMP": str(now_ms()), "X-BAPI-RECV-WINDOW": "5000"},
            "op": "order.create",
            "args": [
                {
                    "category": "linear",
                    "symbol": "BTCUSDT",
                    "side": "Sell",
                    "orderType": "Market",
                    "qty": "0.050",
                    "orderLinkId": "ws-mkt-1",
                }
            ],
        }
        await tws.send(json.dumps(req))
        reply = await recv(tws)
        assert reply["retCode"] == 0
        got: dict[str, list[dict[str, Any]]] = {}
        for msg in await drain(ws, 0.3):
            got.setdefault(msg["topic"], []).append(msg)
        assert set(got) == set(topics)
        order_items = [d for m in got["order"] for d in m["data"]]
        for m in got["order"]:
            assert_shape(m, fixture("ws/order.json"))
        statuses = [d["orderStatus"] for d in order_items]
        assert statuses[0] == "New"
        assert statuses[-1] == "Filled"
        assert {d["orderId"] for d in order_items} == {reply["data"]["orderId"]}
        execs = [d for m in got["execution"] for d in m["data"]]
        assert_shape(
            got["execution"][0],
            fixture("ws/execution.json")
            | {"data": [fixture("ws/execution.json")["data"][0] | {"extraFees": []}]},
        )
        assert sum(D(e["execQty"]) for e in execs) == D("0.050")
        fast = [d for m in got["execution.fast"] for d in m["data"]]
        assert_shape(got["execution.fast"][0], fixture("ws/execution_fast.json"))
        assert [f["execId"] for f in fast] == [e["execId"] for e in execs]
        assert [f["seq"] for f in fast] == [e["seq"] for e in execs]
        pos = got["position"][-1]
        assert_shape(pos, fixture("ws/position.json"))
        assert [(p["positionIdx"], p["side"], p["size"]) for p in pos["data"]] == [
            (0, "Sell", "0.050")
        ]
        wallet = got["wallet"][-1]
        assert_shape(wallet, fixture("ws/wallet.json"))
        fee = sum(D(e["execFee"]) for e in execs)
        assert D(wallet["data"][0]["coin"][0]["walletBalance"]) == D(100000) - fee


async def test_private_hedge_rows_on_the_stream(sim: BybitSim) -> None:
    async with (
        websockets.connect(sim.endpoints.private_ws) as ws,
        httpx.AsyncClient(base_url=sim.endpoints.rest) as http,
    ):
        await auth_private(sim, ws, ["position"])
        from bat_markets.testing.sim.bybit import rest_headers

        c = sim.credentials

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            raw = json.dumps(body)
            r = await http.post(
                path, content=raw, headers=rest_headers(c.api_key, c.secret.reveal(), raw, now_ms())
            )
            out: dict[str, Any] = r.json()
            return out

        assert (
            await post(
                "/v5/position/switch-mode", {"category": "linear", "symbol": "BTCUSDT", "mode": 3}
            )
        )["retCode"] == 0
        out = await post(
            "/v5/order/create",
            {
                "category": "linear",
                "symbol": "BTCUSDT",
                "side": "Buy",
                "orderType": "Market",
                "qty": "0.010",
                "positionIdx": 1,
            },
        )
        assert out["retCode"] == 0
        msg, _ = await recv_until(ws, lambda m: m["topic"] == "position")
        assert_shape(msg, fixture("ws/position_hedge.json"))
        assert [(p["positionIdx"], p["side"], p["size"]) for p in msg["data"]] == [
            (1, "Buy", "0.010"),
            (2, "", "0.000"),
        ]
        assert_shape(msg["data"][1], fixture("ws/position_hedge.json")["data"][1] | {"side": ""})


# -- trade ---------------------------------------------------------------------------------------


def trade_req(op: str, arg: dict[str, Any], req_id: str, ts: int | None = None) -> str:
    return json.dumps(
        {
            "reqId": req_id,
            "header": {
                "X-BAPI-TIMESTAMP": str(ts if ts is not None else now_ms()),
                "X-BAPI-RECV-WINDOW": "5000",
            },
            "op": op,
            "args": [arg],
        }
    )


async def test_trade_socket_ops_match_fixtures(sim: BybitSim) -> None:
    c = sim.credentials
    book = sim.engine.books["BTCUSDT"]
    inst = sim.engine.instruments["BTCUSDT"]
    bid = inst.price_of(book.best_bid() or 0)
    async with websockets.connect(trade_url(sim)) as ws:
        await ws.send(
            trade_req(
                "order.create",
                {
                    "category": "linear",
                    "symbol": "BTCUSDT",
                    "side": "Buy",
                    "orderType": "Limit",
                    "qty": "0.010",
                    "price": str(bid - 10),
                },
                "r0",
            )
        )
        assert (await recv(ws))["retCode"] == 10007  # not authenticated yet
        await ws.send(
            json.dumps(
                {"op": "auth", "args": ws_auth_args(c.api_key, c.secret.reveal(), now_ms() + 5000)}
            )
        )
        auth = await recv(ws)
        assert_shape(auth, fixture("ws/trade_auth_response.json"))
        assert list(auth) == list(fixture("ws/trade_auth_response.json"))
        await ws.send(
            json.dumps(
                {"op": "auth", "args": ws_auth_args(c.api_key, c.secret.reveal(), now_ms() + 5000)}
            )
        )
        assert (await recv(ws))["retCode"] == 20001
        await ws.send(json.dumps(fixture("ws/ping_request.json")))
        pong = await recv(ws)
        assert_shape(pong, fixture("ws/trade_pong.json"))
        assert list(pong) == list(fixture("ws/trade_pong.json"))
        await ws.send(
            trade_req(
                "order.create",
                {
                    "category": "linear",
                    "symbol": "BTCUSDT",
                    "side": "Buy",
                    "orderType": "Limit",
                    "qty": "0.010",
                    "price": str(bid - 10),
                    "orderLinkId": "t-1",
                },
                "r1",
            )
        )
        created = await recv(ws)
        assert_shape(created, fixture("ws/trade_order_create_response.json"))
        assert list(created) == list(fixture("ws/trade_order_create_response.json"))
        assert (created["reqId"], created["retCode"], created["data"]["orderLinkId"]) == (
            "r1",
            0,
            "t-1",
        )
        assert set(created["header"]) == set(
            fixture("ws/trade_order_create_response.json")["header"]
        )
        oid = created["data"]["orderId"]
        await ws.send(
            trade_req(
                "order.amend",
                {"category": "linear", "symbol": "BTCUSDT", "orderId": oid, "qty": "0.020"},
                "r2",
            )
        )
        amended = await recv(ws)
        assert_shape(amended, fixture("ws/trade_order_amend_response.json"))
        assert amended["data"] == {"orderId": oid, "orderLinkId": "t-1"}
        assert sim.engine.open_orders(c.api_key)[0].qty == D("0.020")
        await ws.send(
            trade_req(
                "order.cancel",
                {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "t-1"},
                "r3",
            )
        )
        cancelled = await recv(ws)
        assert_shape(cancelled, fixture("ws/trade_order_cancel_response.json"))
        assert not sim.engine.open_orders(c.api_key)
        await ws.send(
            trade_req(
                "order.cancel",
                {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "t-1"},
                "r4",
            )
        )
        assert (await recv(ws))["retCode"] == 110001
        await ws.send(
            trade_req(
                "order.cancel",
                {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "t-1"},
                "r4",
            )
        )
        assert (await recv(ws))["retCode"] == 20006  # duplicate reqId
        await ws.send(trade_req("order.create", {"category": "linear"}, "r5", ts=now_ms() - 60_000))
        stale = await recv(ws)
        assert stale["retCode"] == 10002
        assert "recv_window" in stale["retMsg"]
        await ws.send(trade_req("order.explode", {}, "r6"))
        assert (await recv(ws))["retCode"] == 10404


async def test_trade_socket_batch_matches_the_documented_error_response(sim: BybitSim) -> None:
    c = sim.credentials
    async with websockets.connect(trade_url(sim)) as ws:
        await ws.send(
            json.dumps(
                {"op": "auth", "args": ws_auth_args(c.api_key, c.secret.reveal(), now_ms() + 5000)}
            )
        )
        assert (await recv(ws))["retCode"] == 0
        assert (await recv_switch_mode(sim)) == 0  # hedge mode: the docs' batch used no positionIdx
        req = fixture("ws/trade_order_create_batch_request.json")
        for item in req["args"][0]["request"]:
            item["symbol"] = "BTCUSDT"
            item["qty"] = "0.010"
            item["price"] = "60000"
        req["args"][0]["request"][0]["orderLinkId"] = "batch-000"
        req["header"]["X-BAPI-TIMESTAMP"] = str(now_ms())
        req["reqId"] = "batch-1"
        await ws.send(json.dumps(req))
        out = await recv(ws)
        ref = fixture("ws/trade_order_create_batch_error_response.json")
        assert_shape(out, ref)
        assert out["retCode"] == 0
        assert out["retExtInfo"] == ref["retExtInfo"]
        assert [(r["orderId"], r["orderLinkId"], r["createAt"]) for r in out["data"]["list"]] == [
            ("", "batch-000", ""),
            ("", "batch-001", ""),
            ("", "batch-002", ""),
        ]
        for item in req["args"][0]["request"]:
            item["positionIdx"] = 1
        req["reqId"] = "batch-2"
        await ws.send(json.dumps(req))
        ok = await recv(ws)
        assert [e["code"] for e in ok["retExtInfo"]["list"]] == [0, 0, 0]
        assert all(r["orderId"] and r["createAt"] for r in ok["data"]["list"])
        cancel = {
            "category": "linear",
            "request": [{"symbol": "BTCUSDT", "orderLinkId": f"batch-00{i}"} for i in range(4)],
        }
        await ws.send(trade_req("order.cancel-batch", cancel, "batch-3"))
        cancelled = await recv(ws)
        assert [e["code"] for e in cancelled["retExtInfo"]["list"]] == [0, 0, 0, 110001]


async def recv_switch_mode(sim: BybitSim) -> int:
    from bat_markets.testing.sim.bybit import rest_headers

    c = sim.credentials
    raw = json.dumps({"category": "linear", "symbol": "BTCUSDT", "mode": 3})
    async with httpx.AsyncClient(base_url=sim.endpoints.rest) as http:
        r = await http.post(
            "/v5/position/switch-mode",
            content=raw,
            headers=rest_headers(c.api_key, c.secret.reveal(), raw, now_ms()),
        )
        code: int = r.json()["retCode"]
        return code


async def test_conditional_order_triggers_under_the_same_order_id(sim: BybitSim) -> None:
    from bat_markets.testing.sim import Side

    c = sim.credentials
    async with (
        websockets.connect(sim.endpoints.private_ws) as ws,
        websockets.connect(trade_url(sim)) as tws,
    ):
        await auth_private(sim, ws, ["order", "execution"])
        await tws.send(
            json.dumps(
                {"op": "auth", "args": ws_auth_args(c.api_key, c.secret.reveal(), now_ms() + 5000)}
            )
        )
        assert (await recv(tws))["retCode"] == 0
        inst = sim.engine.instruments["BTCUSDT"]
        book = sim.engine.books["BTCUSDT"]
        ask = inst.price_of(book.best_ask() or 0)
        trigger = max(ask, sim.engine.markets["BTCUSDT"].last_price) + D("0.2")
        arg = {
            "category": "linear",
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Market",
            "qty": "0.010",
            "triggerPrice": str(trigger),
            "triggerDirection": 1,
            "triggerBy": "LastPrice",
            "orderLinkId": "cond-1",
        }
        await tws.send(trade_req("order.create", arg, "c1"))
        reply = await recv(tws)
        assert reply["retCode"] == 0
        oid = reply["data"]["orderId"]
        first = [d for m in await drain(ws) for d in m["data"]]
        assert [(d["orderId"], d["orderStatus"], d["stopOrderType"]) for d in first] == [
            (oid, "Untriggered", "Stop")
        ]
        sweep = sum(book.asks[t].total for t in book.iter_ticks(Side.SELL)[:10])
        sim.engine.taker("BTCUSDT", Side.BUY, sweep)  # someone lifts ten ask levels
        msgs = await drain(ws)
        orders = [d for m in msgs if m["topic"] == "order" for d in m["data"]]
        assert {d["orderId"] for d in orders} == {oid}
        assert [d["orderStatus"] for d in orders][:2] == ["Triggered", "New"]
        assert orders[-1]["orderStatus"] == "Filled"
        assert orders[-1]["createType"] == "CreateByStopOrder"
        execs = [d for m in msgs if m["topic"] == "execution" for d in m["data"]]
        assert execs
        assert {e["orderId"] for e in execs} == {oid}


async def test_depth_1_is_re_pushed_unchanged_with_the_same_u() -> None:
    sim = BybitSim(seed=4, depth_levels=20, bbo_repush=0.2)
    async with sim, websockets.connect(sim.endpoints.public_ws) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["orderbook.1.BTCUSDT"]}))
        assert (await recv(ws))["success"] is True
        first = await recv(ws)
        again = await recv(ws, 1.0)  # nothing moved: the same snapshot comes back
        assert again["type"] == "snapshot"
        assert again["data"] == first["data"]
        assert again["ts"] >= first["ts"] + 150
