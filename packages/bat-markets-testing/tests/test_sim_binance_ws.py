"""Binance simulator websockets: market streams, the documented depth sync, user data stream and
the WS API — plain ``websockets`` clients against real loopback sockets, shapes vs fixtures."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bat_markets.testing.sim import BinanceSim

DATA = Path(__file__).parent / "data_sim_binance"


def fixture(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def assert_shape(
    expected: Any, actual: Any, path: str = "$", skip: frozenset[str] = frozenset()
) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected object, got {actual!r}"
        for key, value in expected.items():
            if key in skip:
                continue
            assert key in actual, f"{path}: missing {key!r} (have {sorted(actual)})"
            assert_shape(value, actual[key], f"{path}.{key}", skip)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected array, got {actual!r}"
        if expected and actual:
            assert_shape(expected[0], actual[0], f"{path}[0]", skip)
    elif expected is not None:
        assert _kind(expected) == _kind(actual), (
            f"{path}: {_kind(actual)} {actual!r} != {_kind(expected)}"
        )


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


async def recv(ws: Any, timeout: float = 3.0) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws: Any, pred: Callable[[Any], bool], timeout: float = 3.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError("no matching frame")
        msg = await recv(ws, left)
        if pred(msg):
            return msg


async def silent(ws: Any, seconds: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return True
    return False


@pytest.fixture
async def sim() -> AsyncIterator[BinanceSim]:
    async with BinanceSim(seed=7, ws_ping_interval=None) as s:
        yield s


@pytest.fixture
async def http(sim: BinanceSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.endpoints.rest) as c:
        yield c


async def signed(
    http: httpx.AsyncClient, sim: BinanceSim, method: str, path: str, **params: Any
) -> httpx.Response:
    params["timestamp"] = int(time.time() * 1000)
    q = urlencode(params)
    q += "&signature=" + sign(sim.credentials.secret.reveal(), q)
    return await http.request(
        method, f"{path}?{q}", headers={"X-MBX-APIKEY": sim.credentials.api_key}
    )


# -- market streams ----------------------------------------------------------------------------------
async def test_combined_public_and_market_streams(sim: BinanceSim) -> None:
    base = sim.endpoints.public_ws
    pub = f"{base}/public/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker/btcusdt@depth5/btcusdt@trade"
    mkt = f"{base}/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice@1s/btcusdt@kline_1m/btcusdt@ticker/btcusdt@miniTicker/!markPrice@arr/btcusdt@forceOrder"
    async with websockets.connect(pub) as p, websockets.connect(mkt) as m:
        sim.step(60)
        seen: dict[str, Any] = {}
        for ws in (p, m):
            while True:
                try:
                    msg = await recv(ws, 0.5)
                except asyncio.TimeoutError:
                    break
                assert set(msg) == {"stream", "data"}
                seen.setdefault(msg["stream"], msg["data"])
    assert_shape(fixture("ws/combined_depth_update.json")["data"], seen["btcusdt@depth@100ms"])
    assert_shape(fixture("ws/depth_update.json"), seen["btcusdt@depth@100ms"])
    assert_shape(fixture("ws/depth_partial.json"), seen["btcusdt@depth5"])
    assert len(seen["btcusdt@depth5"]["b"]) == 5
    assert_shape(fixture("ws/book_ticker.json"), seen["btcusdt@bookTicker"])
    assert_shape(fixture("ws/trade.json")["data"], seen["btcusdt@trade"])
    assert_shape(fixture("ws/agg_trade.json"), seen["btcusdt@aggTrade"])
    assert_shape(fixture("ws/mark_price_update.json"), seen["btcusdt@markPrice@1s"])
    assert_shape(fixture("ws/mark_price_update_array.json"), seen["!markPrice@arr"])
    assert len(seen["!markPrice@arr"]) == 2
    assert_shape(fixture("ws/kline.json"), seen["btcusdt@kline_1m"])
    assert_shape(fixture("ws/ticker_24hr.json"), seen["btcusdt@ticker"])
    assert_shape(fixture("ws/mini_ticker.json"), seen["btcusdt@miniTicker"])
    assert_shape(fixture("ws/force_order.json"), seen["btcusdt@forceOrder"])


async def test_raw_streams_control_messages_and_routing(sim: BinanceSim) -> None:
    base = sim.endpoints.public_ws
    async with websockets.connect(f"{base}/market/ws") as ws:
        await ws.send(json.dumps(fixture("ws/subscribe_request.json")))
        ack = await recv(ws)
        assert ack == fixture("ws/subscribe_response.json")
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
        listed = await recv_until(ws, lambda m: m.get("id") == 3)
        assert listed == {"result": ["btcusdt@aggTrade", "btcusdt@depth"], "id": 3}
        assert_shape(fixture("ws/list_subscriptions_response.json"), listed)
        sim.step(30)
        frames = []
        while True:
            try:
                frames.append(await recv(ws, 0.3))
            except asyncio.TimeoutError:
                break
        # raw payloads (no wrapper); the depth stream lives on /public, so it stays silent here
        assert frames
        assert all(f["e"] == "aggTrade" for f in frames)
        await ws.send(
            json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 4})
        )
        assert await recv_until(ws, lambda m: m.get("id") == 4) == {"result": None, "id": 4}
        await ws.send(json.dumps({"method": "SET_PROPERTY", "params": ["combined", True], "id": 5}))
        assert await recv_until(ws, lambda m: m.get("id") == 5) == {"result": None, "id": 5}
        await ws.send(json.dumps({"method": "GET_PROPERTY", "params": ["combined"], "id": 6}))
        assert await recv_until(ws, lambda m: m.get("id") == 6) == {"result": True, "id": 6}
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@markPrice"], "id": 7}))
        await recv_until(ws, lambda m: m.get("id") == 7)
        sim.step(1)
        msg = await recv_until(ws, lambda m: "stream" in m)
        assert msg["stream"] == "ethusdt@markPrice"
        assert msg["data"]["s"] == "ETHUSDT"
        await ws.send("not json")
        assert (await recv_until(ws, lambda m: "code" in m))["code"] == 3
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["x"], "id": -1}))
        assert (await recv_until(ws, lambda m: "code" in m))["code"] == 2
        await ws.send(json.dumps({"method": "NOPE", "params": [], "id": 8}))
        assert (await recv_until(ws, lambda m: "code" in m))["code"] == 2
    # legacy paths still work
    async with websockets.connect(f"{base}/ws/btcusdt@depth/ethusdt@depth") as ws:
        sim.step(1)
        syms = {(await recv(ws))["s"], (await recv(ws))["s"]}
        assert syms == {"BTCUSDT", "ETHUSDT"}
    async with websockets.connect(f"{base}/stream?streams=btcusdt@depth") as ws:
        sim.step(1)
        assert (await recv(ws))["stream"] == "btcusdt@depth"


async def test_documented_depth_sync_reconstructs_the_book(
    sim: BinanceSim, http: httpx.AsyncClient
) -> None:
    """Buffer diffs, fetch the snapshot, drop u < L, first event U <= L <= u, then pu chaining."""
    async with websockets.connect(f"{sim.endpoints.public_ws}/public/ws/btcusdt@depth@100ms") as ws:
        sim.step(3)
        snap = (
            await http.get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 1000})
        ).json()
        # the client also trades while syncing (its order shows up in the diffs)
        sim.step(3)
        await signed(
            http,
            sim,
            "POST",
            "/fapi/v1/order",
            symbol="BTCUSDT",
            side="SELL",
            type="MARKET",
            quantity="0.5",
        )
        sim.step(20)
        events = []
        while True:
            try:
                events.append(await recv(ws, 0.3))
            except asyncio.TimeoutError:
                break
    last_id = snap["lastUpdateId"]
    bids = {Decimal(p): Decimal(q) for p, q in snap["bids"]}
    asks = {Decimal(p): Decimal(q) for p, q in snap["asks"]}
    live = [e for e in events if e["u"] >= last_id]
    assert live[0]["U"] <= last_id <= live[0]["u"]
    prev_u = None
    for ev in live:
        if prev_u is not None:
            assert ev["pu"] == prev_u
        prev_u = ev["u"]
        for side, book in (("b", bids), ("a", asks)):
            for p, q in ev[side]:
                if Decimal(q) == 0:
                    book.pop(Decimal(p), None)
                else:
                    book[Decimal(p)] = Decimal(q)
    now = (await http.get("/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": 1000})).json()
    assert now["lastUpdateId"] == prev_u
    top_b = sorted(bids.items(), reverse=True)[:200]
    top_a = sorted(asks.items())[:200]
    assert top_b == [(Decimal(p), Decimal(q)) for p, q in now["bids"][:200]]
    assert top_a == [(Decimal(p), Decimal(q)) for p, q in now["asks"][:200]]


# -- user data stream --------------------------------------------------------------------------------
async def test_user_data_stream_events(sim: BinanceSim, http: httpx.AsyncClient) -> None:
    hdr = {"X-MBX-APIKEY": sim.credentials.api_key}
    key = (await http.post("/fapi/v1/listenKey", headers=hdr)).json()["listenKey"]
    async with websockets.connect(f"{sim.endpoints.private_ws}/private/ws?listenKey={key}") as ws:
        inst = sim.engine.instruments["BTCUSDT"]
        best = sim.engine.books["BTCUSDT"].best_bid()
        assert best is not None
        price = inst.fmt_price(inst.price_of(best - 30))
        r = await signed(
            http,
            sim,
            "POST",
            "/fapi/v1/order",
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            timeInForce="GTC",
            quantity="0.010",
            price=price,
            newClientOrderId="ud-1",
        )
        oid = r.json()["orderId"]
        new = await recv(ws)
        assert new["e"] == "ORDER_TRADE_UPDATE"
        assert new["o"]["x"] == "NEW"
        assert new["o"]["c"] == "ud-1"
        assert_shape(fixture("ws/order_trade_update_new.json"), new)
        assert new["o"]["i"] == oid
        assert new["o"]["b"] != "0"
        await signed(http, sim, "DELETE", "/fapi/v1/order", symbol="BTCUSDT", orderId=oid)
        canceled = await recv(ws)
        assert_shape(fixture("ws/order_trade_update_canceled.json"), canceled)
        assert canceled["o"]["X"] == "CANCELED"
        await signed(
            http,
            sim,
            "POST",
            "/fapi/v1/order",
            symbol="BTCUSDT",
            side="BUY",
            type="MARKET",
            quantity="0.010",
        )
        frames = [await recv(ws) for _ in range(4)]
        kinds = [(f["e"], f.get("o", {}).get("x")) for f in frames]
        assert kinds[0] == ("ORDER_TRADE_UPDATE", "NEW")
        lite = next(f for f in frames if f["e"] == "TRADE_LITE")
        trade = next(f for f in frames if f["e"] == "ORDER_TRADE_UPDATE" and f["o"]["x"] == "TRADE")
        acct = next(f for f in frames if f["e"] == "ACCOUNT_UPDATE")
        assert_shape(fixture("ws/trade_lite.json"), lite)
        assert_shape(fixture("ws/order_trade_update_filled.json"), trade)
        assert_shape(fixture("ws/account_update.json"), acct)
        assert trade["o"]["X"] == "FILLED"
        assert trade["o"]["t"] == lite["t"]
        assert trade["o"]["m"] is False
        assert acct["a"]["m"] == "ORDER"
        assert acct["a"]["P"][0]["pa"] == "0.010"
        await signed(http, sim, "POST", "/fapi/v1/leverage", symbol="BTCUSDT", leverage=25)
        cfg = await recv(ws)
        assert cfg == {**cfg, "e": "ACCOUNT_CONFIG_UPDATE", "ac": {"s": "BTCUSDT", "l": 25}}
        assert_shape(fixture("ws/account_config_update_leverage.json"), cfg)
        last = sim.engine.markets["BTCUSDT"].last_price
        await signed(
            http,
            sim,
            "POST",
            "/fapi/v1/algoOrder",
            algoType="CONDITIONAL",
            symbol="BTCUSDT",
            side="SELL",
            type="STOP_MARKET",
            triggerPrice=inst.fmt_price(last - 200),
            closePosition="true",
        )
        algo = await recv(ws)
        assert_shape(fixture("ws/algo_update.json"), algo)
        assert algo["o"]["X"] == "NEW"
        assert algo["o"]["cp"] is True


async def test_user_stream_event_filter_and_legacy_path(
    sim: BinanceSim, http: httpx.AsyncClient
) -> None:
    hdr = {"X-MBX-APIKEY": sim.credentials.api_key}
    key = (await http.post("/fapi/v1/listenKey", headers=hdr)).json()["listenKey"]
    base = sim.endpoints.private_ws
    async with (
        websockets.connect(f"{base}/private/ws?listenKey={key}&events=ACCOUNT_UPDATE") as filt,
        websockets.connect(f"{base}/ws/{key}") as legacy,
    ):
        await signed(
            http,
            sim,
            "POST",
            "/fapi/v1/order",
            symbol="BTCUSDT",
            side="BUY",
            type="MARKET",
            quantity="0.010",
        )
        assert (await recv(filt))["e"] == "ACCOUNT_UPDATE"
        assert await silent(filt, 0.3)
        names = [(await recv(legacy))["e"] for _ in range(4)]
        assert sorted(names) == [
            "ACCOUNT_UPDATE",
            "ORDER_TRADE_UPDATE",
            "ORDER_TRADE_UPDATE",
            "TRADE_LITE",
        ]
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(f"{base}/private/ws?listenKey=nope"):
            pass


# -- WS API --------------------------------------------------------------------------------------------
def ws_sign(secret: str, params: dict[str, Any]) -> str:
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return sign(secret, payload)


async def test_ws_api_signed_requests(sim: BinanceSim) -> None:
    key, secret = sim.credentials.api_key, sim.credentials.secret.reveal()
    inst = sim.engine.instruments["BTCUSDT"]
    best = sim.engine.books["BTCUSDT"].best_bid()
    assert best is not None
    price = inst.fmt_price(inst.price_of(best - 40))

    def req(rid: str, method: str, **params: Any) -> str:
        params.update(apiKey=key, timestamp=int(time.time() * 1000))
        params["signature"] = ws_sign(secret, params)
        return json.dumps({"id": rid, "method": method, "params": params})

    async with websockets.connect(sim.endpoints.command_ws) as ws:  # type: ignore[arg-type]
        await ws.send(
            req(
                "1",
                "order.place",
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.010",
                price=price,
            )
        )
        placed = await recv(ws)
        assert placed["status"] == 200, placed
        assert_shape(fixture("ws/api_order_place_response.json"), placed)
        oid = placed["result"]["orderId"]
        await ws.send(req("2", "order.status", symbol="BTCUSDT", orderId=oid))
        status = await recv(ws)
        assert_shape(
            fixture("ws/api_order_status_response.json"),
            status,
            skip=frozenset({"activatePrice", "priceRate"}),
        )
        await ws.send(
            req(
                "3",
                "order.modify",
                symbol="BTCUSDT",
                orderId=oid,
                side="BUY",
                quantity="0.020",
                price=price,
            )
        )
        modified = await recv(ws)
        assert_shape(fixture("ws/api_order_modify_response.json"), modified)
        assert modified["result"]["origQty"] == "0.020"
        await ws.send(req("4", "order.cancel", symbol="BTCUSDT", orderId=oid))
        canceled = await recv(ws)
        assert_shape(
            fixture("ws/api_order_cancel_response.json"),
            canceled,
            skip=frozenset({"activatePrice", "priceRate"}),
        )
        assert canceled["result"]["status"] == "CANCELED"
        await ws.send(
            req(
                "5",
                "order.place",
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                price=price,
            )
        )
        err = await recv(ws)
        assert err["id"] == "5"
        assert err["status"] == 400
        assert err["error"] == fixture("ws/api_error_response.json")["error"]
        assert_shape(fixture("ws/api_error_response.json"), err)
        await ws.send(
            req(
                "6",
                "order.place",
                symbol="BTCUSDT",
                side="BUY",
                type="STOP_MARKET",
                quantity="0.010",
                stopPrice=price,
            )
        )
        assert (await recv(ws))["error"]["code"] == -4120
        bad = json.loads(req("7", "order.status", symbol="BTCUSDT", orderId=oid))
        bad["params"]["signature"] = "0" * 64
        await ws.send(json.dumps(bad))
        assert (await recv(ws))["error"] == {
            "code": -1022,
            "msg": "Signature for this request is not valid.",
        }
        await ws.send(req("8", "userDataStream.start"))
        started = await recv(ws)
        assert_shape(fixture("ws/api_user_data_stream_start_response.json"), started)
        await ws.send(req("9", "session.logon"))
        logon = await recv(ws)
        assert logon["status"] == 400
        assert logon["error"]["code"] == -4056
        await ws.send(
            json.dumps(
                {
                    "id": 10,
                    "method": "ticker.price",
                    "params": {"symbol": "ETHUSDT"},
                }
            )
        )
        tick = await recv(ws)
        assert tick["result"]["symbol"] == "ETHUSDT"
        assert tick["id"] == 10
    async with websockets.connect(f"{sim.endpoints.command_ws}?returnRateLimits=false") as ws:
        await ws.send(
            json.dumps({"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 5}})
        )
        depth = await recv(ws)
        assert "rateLimits" not in depth
        assert len(depth["result"]["bids"]) == 5


async def test_ws_api_ed25519_session_logon() -> None:
    private = Ed25519PrivateKey.generate()
    pem_public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    pem_private = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    async with BinanceSim(seed=2, ws_ping_interval=None) as sim:
        creds = sim.add_account(key_type="ed25519", public_key=pem_public, secret=pem_private)

        def signed_params(**params: Any) -> dict[str, Any]:
            params.update(apiKey=creds.api_key, timestamp=int(time.time() * 1000))
            payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
            params["signature"] = base64.b64encode(private.sign(payload.encode())).decode()
            return params

        async with websockets.connect(sim.endpoints.command_ws) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"id": "a", "method": "session.status", "params": {}}))
            status = await recv(ws)
            assert status["result"]["apiKey"] is None
            await ws.send(
                json.dumps({"id": "b", "method": "session.logon", "params": signed_params()})
            )
            logon = await recv(ws)
            assert logon["status"] == 200, logon
            assert_shape(fixture("ws/api_session_logon_response.json"), logon)
            assert logon["result"]["apiKey"] == creds.api_key
            # after logon: no apiKey / signature needed
            await ws.send(
                json.dumps(
                    {
                        "id": "c",
                        "method": "order.place",
                        "params": {
                            "symbol": "BTCUSDT",
                            "side": "BUY",
                            "type": "MARKET",
                            "quantity": "0.010",
                            "timestamp": int(time.time() * 1000),
                        },
                    }
                )
            )
            placed = await recv(ws)
            assert placed["status"] == 200, placed
            assert sim.engine.get_order(creds.api_key, "BTCUSDT", placed["result"]["orderId"])
            await ws.send(json.dumps({"id": "d", "method": "session.status", "params": {}}))
            st = await recv(ws)
            assert_shape(fixture("ws/api_session_status_response.json"), st)
            # Ed25519 signatures also work on REST
            async with httpx.AsyncClient(base_url=sim.endpoints.rest) as http:
                q = urlencode({"timestamp": int(time.time() * 1000)})
                sig = base64.b64encode(private.sign(q.encode())).decode()
                url = f"/fapi/v3/balance?{q}&signature={quote(sig, safe='')}"
                r = await http.get(url, headers={"X-MBX-APIKEY": creds.api_key})
                assert r.status_code == 200, r.text
