"""Fault injection on the Binance simulator: each fault is observable as the venue would show it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import websockets

from bat_markets.testing.sim import BinanceSim, ManualClock, Side

API_ERR = {"code": -1000, "msg": "Unknown error, please check your request or try again later."}


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_url(sim: BinanceSim, path: str, **params: Any) -> str:
    params.setdefault("timestamp", int(time.time() * 1000))
    q = urlencode(params)
    return f"{path}?{q}&signature={sign(sim.credentials.secret.reveal(), q)}"


async def recv(ws: Any, timeout: float = 3.0) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


@pytest.fixture
async def sim() -> AsyncIterator[BinanceSim]:
    async with BinanceSim(seed=7, ws_ping_interval=None) as s:
        yield s


@pytest.fixture
async def http(sim: BinanceSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=sim.endpoints.rest, headers={"X-MBX-APIKEY": sim.credentials.api_key}
    ) as c:
        yield c


def limit_order(sim: BinanceSim, cid: str) -> dict[str, Any]:
    inst = sim.engine.instruments["BTCUSDT"]
    best = sim.engine.books["BTCUSDT"].best_bid()
    assert best is not None
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010",
        "price": inst.fmt_price(inst.price_of(best - 20)),
        "newClientOrderId": cid,
    }


async def query(http: httpx.AsyncClient, sim: BinanceSim, cid: str) -> httpx.Response:
    return await http.get(
        signed_url(sim, "/fapi/v1/order", symbol="BTCUSDT", origClientOrderId=cid)
    )


async def user_stream(sim: BinanceSim, http: httpx.AsyncClient) -> Any:
    key = (await http.post("/fapi/v1/listenKey")).json()["listenKey"]
    return websockets.connect(f"{sim.endpoints.private_ws}/private/ws?listenKey={key}"), key


# -- REST ----------------------------------------------------------------------------------------------
async def test_dropped_response_but_order_exists(sim: BinanceSim, http: httpx.AsyncClient) -> None:
    sim.faults.drop_response("/fapi/v1/order", method="POST")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await http.post(signed_url(sim, "/fapi/v1/order", **limit_order(sim, "lost-1")))
    r = await query(http, sim, "lost-1")
    assert r.status_code == 200
    assert r.json()["status"] == "NEW"
    # the rule was consumed: the next create answers normally
    r = await http.post(signed_url(sim, "/fapi/v1/order", **limit_order(sim, "ok-1")))
    assert r.status_code == 200
    assert sim.faults.fired.count("http:drop") == 1


async def test_timeout_while_order_executes(sim: BinanceSim, http: httpx.AsyncClient) -> None:
    sim.faults.timeout("/fapi/v1/order", method="POST")
    with pytest.raises(httpx.ReadTimeout):
        await http.post(
            signed_url(sim, "/fapi/v1/order", **limit_order(sim, "slow-1")), timeout=0.3
        )
    assert (await query(http, sim, "slow-1")).json()["clientOrderId"] == "slow-1"


async def test_unknown_503_executes_and_plain_503_does_not(
    sim: BinanceSim, http: httpx.AsyncClient
) -> None:
    sim.faults.unknown_error("/fapi/v1/order", method="POST")
    r = await http.post(signed_url(sim, "/fapi/v1/order", **limit_order(sim, "unk-1")))
    assert r.status_code == 503
    assert r.json() == API_ERR
    assert (await query(http, sim, "unk-1")).status_code == 200
    sim.faults.http_error(503, "/fapi/v1/order", method="POST")
    r = await http.post(signed_url(sim, "/fapi/v1/order", **limit_order(sim, "unav-1")))
    assert r.status_code == 503
    assert r.json() == {"code": -1001, "msg": "Service Unavailable."}
    r = await query(http, sim, "unav-1")
    assert r.json() == {"code": -2013, "msg": "Order does not exist."}
    sim.faults.http_error(500, "/fapi/v1/time", body={"oops": 1})
    r = await http.get("/fapi/v1/time")
    assert r.status_code == 500
    assert r.json() == {"oops": 1}


async def test_delayed_response_arrives_after_the_private_event(
    sim: BinanceSim, http: httpx.AsyncClient
) -> None:
    connect, _ = await user_stream(sim, http)
    async with connect as ws:
        sim.faults.delay_response(0.5, "/fapi/v1/order", method="POST")
        t0 = time.monotonic()
        task = asyncio.ensure_future(
            http.post(signed_url(sim, "/fapi/v1/order", **limit_order(sim, "late-1")))
        )
        ev = await recv(ws)
        assert ev["o"]["c"] == "late-1"
        assert ev["o"]["x"] == "NEW"
        assert not task.done()
        r = await task
        assert r.status_code == 200
        assert time.monotonic() - t0 >= 0.5


async def test_clock_skew_rejects_unsynced_timestamps(
    sim: BinanceSim, http: httpx.AsyncClient
) -> None:
    sim.faults.clock_skew(-10_000)  # server 10 s behind the client
    server = (await http.get("/fapi/v1/time")).json()["serverTime"]
    assert server < int(time.time() * 1000) - 9_000
    r = await http.get(signed_url(sim, "/fapi/v3/balance"))
    assert r.status_code == 400
    assert r.json()["code"] == -1021
    r = await http.get(signed_url(sim, "/fapi/v3/balance", timestamp=server))  # synced client
    assert r.status_code == 200


async def test_forced_rate_limit_and_ban(sim: BinanceSim, http: httpx.AsyncClient) -> None:
    sim.faults.rate_limit(1)
    r = await http.get("/fapi/v1/time")
    assert r.status_code == 429
    assert r.json()["code"] == -1003
    assert "Retry-After" in r.headers
    r = await http.get("/fapi/v1/time")
    assert r.status_code == 418  # continuing during the back-off earns a ban
    sim.limiter.banned_until = 0
    assert (await http.get("/fapi/v1/time")).status_code == 200
    sim.faults.ban(30)
    r = await http.get("/fapi/v1/ping")
    assert r.status_code == 418
    assert 25 <= int(r.headers["Retry-After"]) <= 30


# -- websockets ----------------------------------------------------------------------------------------
async def test_sequence_gap_is_a_pu_mismatch(sim: BinanceSim) -> None:
    async with websockets.connect(f"{sim.endpoints.public_ws}/public/ws/btcusdt@depth") as ws:
        sim.step(1)
        first = await recv(ws)
        sim.faults.skip_sequence("BTCUSDT")
        sim.step(2)
        second = await recv(ws)
        assert second["pu"] != first["u"]  # one diff never arrived
        assert second["pu"] > first["u"]
        sim.step(1)
        third = await recv(ws)
        assert third["pu"] == second["u"]


async def test_drop_websocket_now_and_after_frames(sim: BinanceSim) -> None:
    url = f"{sim.endpoints.public_ws}/market/ws/btcusdt@markPrice"
    async with websockets.connect(url) as ws:
        sim.step(1)
        await recv(ws)
        sim.faults.drop_ws("/market/*")
        with pytest.raises(websockets.ConnectionClosed) as exc:
            await recv(ws)
        assert exc.value.rcvd is None  # reset: no close frame
    sim.faults.drop_ws("/market/*", after_frames=3, abort=False)
    async with websockets.connect(url) as ws:
        sim.step(5)
        got = [await recv(ws) for _ in range(3)]
        assert [g["e"] for g in got] == ["markPriceUpdate"] * 3
        with pytest.raises(websockets.ConnectionClosed) as exc:
            await recv(ws)
        assert exc.value.rcvd is not None
        assert exc.value.rcvd.code == 1001
    async with websockets.connect(url) as ws:  # rules consumed: new connections are fine
        sim.step(3)
        assert [(await recv(ws))["e"] for _ in range(3)] == ["markPriceUpdate"] * 3


async def test_malformed_frame_then_stream_continues(sim: BinanceSim) -> None:
    async with websockets.connect(f"{sim.endpoints.public_ws}/market/ws/ethusdt@markPrice") as ws:
        sim.faults.malformed_frames(1)
        sim.step(2)
        raw = await asyncio.wait_for(ws.recv(), 3)
        with pytest.raises(json.JSONDecodeError):
            json.loads(raw)
        assert (await recv(ws))["e"] == "markPriceUpdate"
        assert (await recv(ws))["e"] == "markPriceUpdate"


async def test_listen_key_expired_event(sim: BinanceSim, http: httpx.AsyncClient) -> None:
    connect, key = await user_stream(sim, http)
    async with connect as ws:
        sim.faults.expire_listen_key()
        ev = await recv(ws)
        assert ev == {"e": "listenKeyExpired", "E": ev["E"], "listenKey": key}
        assert isinstance(ev["E"], str)
        assert ev["E"].isdigit()
        r = await http.put("/fapi/v1/listenKey")
        assert r.json() == {"code": -1125, "msg": "This listenKey does not exist."}
        await http.post(signed_url(sim, "/fapi/v1/order", **limit_order(sim, "after-expiry")))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)  # no more events on the dead key
    new_key = (await http.post("/fapi/v1/listenKey")).json()["listenKey"]
    assert new_key != key


async def test_listen_key_expires_after_an_hour_without_keepalive() -> None:
    clock = ManualClock(int(time.time() * 1000))
    async with (
        BinanceSim(seed=3, clock=clock, ws_ping_interval=None) as sim,
        httpx.AsyncClient(
            base_url=sim.endpoints.rest, headers={"X-MBX-APIKEY": sim.credentials.api_key}
        ) as http,
    ):
        key = (await http.post("/fapi/v1/listenKey")).json()["listenKey"]
        async with websockets.connect(f"{sim.endpoints.private_ws}/ws/{key}") as ws:
            clock.advance(59 * 60 * 1000)
            assert (await http.put("/fapi/v1/listenKey")).json() == {"listenKey": key}
            clock.advance(59 * 60 * 1000)
            sim.step(1)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.2)  # still alive: keepalive extended it
            clock.advance(2 * 60 * 1000)
            sim.step(1)
            assert (await recv(ws))["e"] == "listenKeyExpired"


async def test_duplicate_and_reordered_private_events(
    sim: BinanceSim, http: httpx.AsyncClient
) -> None:
    connect, _ = await user_stream(sim, http)
    async with connect as ws:
        sim.faults.duplicate_private(1)
        await http.post(signed_url(sim, "/fapi/v1/order", **limit_order(sim, "dup-1")))
        a, b = await recv(ws), await recv(ws)
        assert a == b
        assert a["o"]["c"] == "dup-1"
        sim.faults.reorder_private(1)
        await http.post(signed_url(sim, "/fapi/v1/order", **limit_order(sim, "ord-1")))
        await http.post(signed_url(sim, "/fapi/v1/order", **limit_order(sim, "ord-2")))
        first, second = await recv(ws), await recv(ws)
        assert [first["o"]["c"], second["o"]["c"]] == ["ord-2", "ord-1"]
        assert first["E"] >= second["E"]


async def test_late_fills(sim: BinanceSim, http: httpx.AsyncClient) -> None:
    connect, _ = await user_stream(sim, http)
    async with connect as ws:
        sim.faults.late_fills(0.4)
        r = await http.post(
            signed_url(
                sim,
                "/fapi/v1/order",
                symbol="BTCUSDT",
                side="BUY",
                type="MARKET",
                quantity="0.010",
                newOrderRespType="RESULT",
            )
        )
        assert r.json()["status"] == "FILLED"  # REST already knows
        order = []
        for _ in range(4):
            msg = await recv(ws)
            order.append(msg["e"] if msg["e"] != "ORDER_TRADE_UPDATE" else f"OTU:{msg['o']['x']}")
        assert order[:2] == ["OTU:NEW", "ACCOUNT_UPDATE"]  # the fills come later
        assert sorted(order[2:]) == ["OTU:TRADE", "TRADE_LITE"]


async def test_ws_api_dropped_reply_but_order_exists(sim: BinanceSim) -> None:
    key, secret = sim.credentials.api_key, sim.credentials.secret.reveal()
    params = {**limit_order(sim, "wsdrop-1"), "apiKey": key, "timestamp": int(time.time() * 1000)}
    params.pop("newClientOrderId")
    params["newClientOrderId"] = "wsdrop-1"
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = sign(secret, payload)
    sim.faults.drop_response("ws-fapi:order.place")
    async with websockets.connect(sim.endpoints.command_ws) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"id": 1, "method": "order.place", "params": params}))
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
    assert sim.engine.get_order(key, "BTCUSDT", client_id="wsdrop-1").is_open
    # a REST fault without an explicit ws-fapi path does not touch the WS API
    sim.faults.drop_response()
    async with websockets.connect(sim.endpoints.command_ws) as ws:  # type: ignore[arg-type]
        await ws.send(
            json.dumps({"id": 2, "method": "ticker.price", "params": {"symbol": "BTCUSDT"}})
        )
        assert (await recv(ws))["status"] == 200


async def test_faults_generator_fill_reaches_user_stream(
    sim: BinanceSim, http: httpx.AsyncClient
) -> None:
    """A resting order filled by the market generator shows up as a maker TRADE event."""
    connect, _ = await user_stream(sim, http)
    async with connect as ws:
        inst = sim.engine.instruments["BTCUSDT"]
        best = sim.engine.books["BTCUSDT"].best_bid()
        assert best is not None
        r = await http.post(
            signed_url(
                sim,
                "/fapi/v1/order",
                symbol="BTCUSDT",
                side="BUY",
                type="LIMIT",
                timeInForce="GTC",
                quantity="0.010",
                price=inst.fmt_price(inst.price_of(best)),
            )
        )
        assert r.status_code == 200
        await recv(ws)
        sim.engine.taker("BTCUSDT", Side.SELL, 10_000_000, limit_ticks=best)
        trade = await recv(ws)
        while trade["e"] != "ORDER_TRADE_UPDATE":
            trade = await recv(ws)
        assert trade["o"]["x"] == "TRADE"
        assert trade["o"]["m"] is True
        assert trade["o"]["X"] == "FILLED"
