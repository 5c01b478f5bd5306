"""Bybit simulator faults, each observed the way a client of the real venue would see it."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bat_markets.testing.sim.bybit import BybitSim, rest_headers, ws_auth_args

D = Decimal


def trade_url(sim: BybitSim) -> str:
    url = sim.endpoints.command_ws
    assert url is not None
    return url


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def recv(ws: ClientConnection, timeout: float = 2.0) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def drain(ws: ClientConnection, quiet: float = 0.15) -> list[Any]:
    out = []
    while True:
        try:
            out.append(await recv(ws, quiet))
        except (asyncio.TimeoutError, TimeoutError):
            return out


async def read_until_closed(ws: ClientConnection) -> None:
    for _ in range(50):
        await recv(ws, 1.0)


@pytest.fixture
async def sim() -> AsyncIterator[BybitSim]:
    async with BybitSim(seed=5, auto_tick=None, depth_levels=200) as s:
        yield s


def signed_post(
    sim: BybitSim, body: dict[str, Any], ts: int | None = None
) -> tuple[str, dict[str, str]]:
    raw = json.dumps(body)
    c = sim.credentials
    return raw, rest_headers(c.api_key, c.secret.reveal(), raw, ts if ts is not None else now_ms())


def signed_get(sim: BybitSim, query: str, ts: int | None = None) -> dict[str, str]:
    c = sim.credentials
    return rest_headers(c.api_key, c.secret.reveal(), query, ts if ts is not None else now_ms())


MARKET = {
    "category": "linear",
    "symbol": "BTCUSDT",
    "side": "Buy",
    "orderType": "Market",
    "qty": "0.010",
}


async def find_by_link(sim: BybitSim, http: httpx.AsyncClient, link: str) -> list[dict[str, Any]]:
    """How a client resolves an unknown outcome: query by orderLinkId (covers closed orders)."""
    q = f"category=linear&symbol=BTCUSDT&orderLinkId={link}"
    body = (await http.get(f"/v5/order/realtime?{q}", headers=signed_get(sim, q))).json()
    assert body["retCode"] == 0
    rows: list[dict[str, Any]] = body["result"]["list"]
    return rows


# -- public stream faults ------------------------------------------------------------------------


async def test_skipped_book_update_shows_as_a_u_gap(sim: BybitSim) -> None:
    async with websockets.connect(sim.endpoints.public_ws) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]}))
        assert (await recv(ws))["success"] is True
        snap = await recv(ws)
        us = [snap["data"]["u"]]
        for i in range(6):
            if i == 3:
                sim.faults.skip_sequence("BTCUSDT")
            sim.step()
            us += [m["data"]["u"] for m in await drain(ws, 0.05)]
        gaps = [b - a for a, b in itertools.pairwise(us)]
        assert gaps.count(2) == 1, gaps
        assert set(gaps) <= {1, 2}, gaps
        assert "ws:skip_sequence" in sim.faults.fired


async def test_service_restart_sends_u1_snapshots(sim: BybitSim) -> None:
    async with websockets.connect(sim.endpoints.public_ws) as ws:
        await ws.send(
            json.dumps(
                {"op": "subscribe", "args": ["orderbook.200.BTCUSDT", "orderbook.1.BTCUSDT"]}
            )
        )
        assert (await recv(ws))["success"] is True
        await drain(ws)
        sim.service_restart("BTCUSDT")
        msgs = await drain(ws)
        assert {(m["topic"], m["type"], m["data"]["u"]) for m in msgs} == {
            ("orderbook.200.BTCUSDT", "snapshot", 1),
            ("orderbook.1.BTCUSDT", "snapshot", 1),
        }
        sim.step()
        after = [m for m in await drain(ws, 0.05) if m["topic"] == "orderbook.200.BTCUSDT"]
        assert [(m["type"], m["data"]["u"]) for m in after] == [("delta", 2)]
        sim.resend_snapshot("BTCUSDT", 200)
        again = [m for m in await drain(ws, 0.05) if m["topic"] == "orderbook.200.BTCUSDT"]
        assert [(m["type"], m["data"]["u"]) for m in again] == [("snapshot", 3)]


async def test_dropped_public_socket(sim: BybitSim) -> None:
    async with websockets.connect(sim.endpoints.public_ws) as ws:
        await ws.send(json.dumps({"op": "subscribe", "args": ["publicTrade.BTCUSDT"]}))
        assert (await recv(ws))["success"] is True
        sim.faults.drop_ws("/v5/public/linear")
        with pytest.raises(ConnectionClosed):
            await read_until_closed(ws)
    # the venue is fine afterwards: a new connection works
    async with websockets.connect(sim.endpoints.public_ws) as ws2:
        await ws2.send(json.dumps({"op": "ping"}))
        assert (await recv(ws2))["ret_msg"] == "pong"


async def test_malformed_frame_then_real_frames(sim: BybitSim) -> None:
    async with websockets.connect(sim.endpoints.public_ws) as ws:
        sim.faults.malformed_frames(1, path="/v5/public/linear")
        await ws.send(json.dumps({"op": "ping"}))
        broken = await asyncio.wait_for(ws.recv(), 2)
        with pytest.raises(ValueError):
            json.loads(broken)
        assert json.loads(await asyncio.wait_for(ws.recv(), 2))["ret_msg"] == "pong"


# -- private stream faults -----------------------------------------------------------------------


async def private_and_trade(
    sim: BybitSim, topics: list[str]
) -> tuple[ClientConnection, ClientConnection]:
    c = sim.credentials
    pws = await websockets.connect(sim.endpoints.private_ws)
    await pws.send(
        json.dumps(
            {"op": "auth", "args": ws_auth_args(c.api_key, c.secret.reveal(), now_ms() + 5000)}
        )
    )
    assert (await recv(pws))["success"] is True
    await pws.send(json.dumps({"op": "subscribe", "args": topics}))
    assert (await recv(pws))["success"] is True
    tws = await websockets.connect(trade_url(sim))
    await tws.send(
        json.dumps(
            {"op": "auth", "args": ws_auth_args(c.api_key, c.secret.reveal(), now_ms() + 5000)}
        )
    )
    assert (await recv(tws))["retCode"] == 0
    return pws, tws


def create(arg: dict[str, Any], req_id: str) -> str:
    return json.dumps(
        {
            "reqId": req_id,
            "header": {"X-BAPI-TIMESTAMP": str(now_ms())},
            "op": "order.create",
            "args": [{**arg}],
        }
    )


async def test_duplicate_and_reordered_private_events(sim: BybitSim) -> None:
    pws, tws = await private_and_trade(sim, ["order", "position"])
    try:
        sim.faults.duplicate_private(1)
        await tws.send(create(MARKET, "d1"))
        assert (await recv(tws))["retCode"] == 0
        msgs = await drain(pws)
        assert [m["topic"] for m in msgs] == ["order", "order", "position"]
        assert msgs[0] == msgs[1]  # the same message (same id) twice
        sim.faults.reorder_private(1)
        await tws.send(create(MARKET, "d2"))
        assert (await recv(tws))["retCode"] == 0
        msgs = await drain(pws)
        assert [m["topic"] for m in msgs] == ["position", "order"]  # order update arrives after
    finally:
        await pws.close()
        await tws.close()


async def test_late_fills_arrive_after_the_rest(sim: BybitSim) -> None:
    pws, tws = await private_and_trade(sim, ["order", "execution", "position"])
    try:
        sim.faults.late_fills(0.3, count=1)
        await tws.send(create(MARKET, "late-1"))
        assert (await recv(tws))["retCode"] == 0
        first = await drain(pws, 0.1)
        assert [m["topic"] for m in first] == ["order", "position"]
        assert first[0]["data"][-1]["orderStatus"] == "Filled"
        late = await recv(pws, 1.0)
        assert late["topic"] == "execution"
        assert late["data"][0]["orderId"] == first[0]["data"][0]["orderId"]
    finally:
        await pws.close()
        await tws.close()


async def test_dropped_private_socket(sim: BybitSim) -> None:
    pws, tws = await private_and_trade(sim, ["order"])
    try:
        sim.faults.drop_ws("/v5/private")
        with pytest.raises(ConnectionClosed):
            await recv(pws, 1.0)
    finally:
        await pws.close()
        await tws.close()


# -- REST faults ---------------------------------------------------------------------------------


async def test_dropped_rest_response_while_the_order_executes(sim: BybitSim) -> None:
    async with httpx.AsyncClient(base_url=sim.endpoints.rest, timeout=2) as http:
        sim.faults.drop_response("/v5/order/create")
        raw, headers = signed_post(sim, {**MARKET, "orderLinkId": "lost-1"})
        with pytest.raises(httpx.TransportError):
            await http.post("/v5/order/create", content=raw, headers=headers)
        rows = await find_by_link(sim, http, "lost-1")
        assert [(r["orderLinkId"], r["orderStatus"]) for r in rows] == [("lost-1", "Filled")]
        again = (
            await http.post(
                "/v5/order/create",
                content=raw,
                headers=signed_post(sim, {**MARKET, "orderLinkId": "lost-1"})[1],
            )
        ).json()
        assert again["retCode"] == 110072  # a blind resend is refused: the first one exists


async def test_timeout_and_delay_while_the_order_executes(sim: BybitSim) -> None:
    async with httpx.AsyncClient(base_url=sim.endpoints.rest, timeout=0.4) as http:
        sim.faults.timeout("/v5/order/create")
        raw, headers = signed_post(sim, {**MARKET, "orderLinkId": "slow-1"})
        with pytest.raises(httpx.ReadTimeout):
            await http.post("/v5/order/create", content=raw, headers=headers)
        assert [r["orderStatus"] for r in await find_by_link(sim, http, "slow-1")] == ["Filled"]
        sim.faults.delay_response(0.2, "/v5/order/create")
        raw, headers = signed_post(sim, {**MARKET, "orderLinkId": "slow-2"})
        started = time.monotonic()
        r = await http.post("/v5/order/create", content=raw, headers=headers)
        assert r.json()["retCode"] == 0
        assert time.monotonic() - started >= 0.2


async def test_server_error_codes_after_execution(sim: BybitSim) -> None:
    async with httpx.AsyncClient(base_url=sim.endpoints.rest) as http:
        sim.faults.http_error(200, "/v5/order/create", error="internal", execute=True)
        raw, headers = signed_post(sim, {**MARKET, "orderLinkId": "e-1"})
        body = (await http.post("/v5/order/create", content=raw, headers=headers)).json()
        assert (body["retCode"], list(body)) == (
            10016,
            ["retCode", "retMsg", "result", "retExtInfo", "time"],
        )
        assert [r["orderStatus"] for r in await find_by_link(sim, http, "e-1")] == ["Filled"]
        sim.faults.unknown_error("/v5/order/create")
        raw, headers = signed_post(sim, {**MARKET, "orderLinkId": "e-2"})
        r = await http.post("/v5/order/create", content=raw, headers=headers)
        assert (r.status_code, r.json()["retCode"]) == (503, 10000)
        assert len(await find_by_link(sim, http, "e-2")) == 1
        sim.faults.http_error(503, "/v5/order/create", error="unavailable", execute=False)
        raw, headers = signed_post(sim, {**MARKET, "orderLinkId": "e-3"})
        r = await http.post("/v5/order/create", content=raw, headers=headers)
        assert (r.status_code, r.json()["retCode"]) == (503, 10016)
        assert await find_by_link(sim, http, "e-3") == []  # not executed


async def test_clock_skew_rejects_with_10002(sim: BybitSim) -> None:
    async with httpx.AsyncClient(base_url=sim.endpoints.rest) as http:
        sim.faults.clock_skew(20_000)
        server = int((await http.get("/v5/market/time")).json()["result"]["timeSecond"]) * 1000
        assert server - now_ms() > 15_000
        q = "category=linear&symbol=BTCUSDT"
        body = (await http.get(f"/v5/order/realtime?{q}", headers=signed_get(sim, q))).json()
        assert body["retCode"] == 10002
        assert "server_timestamp[" in body["retMsg"]
        body = (
            await http.get(
                f"/v5/order/realtime?{q}", headers=signed_get(sim, q, ts=now_ms() + 20_000)
            )
        ).json()
        assert body["retCode"] == 0  # a client that synced its clock is accepted
        sim.faults.clear()


async def test_forced_rate_limit_and_ban(sim: BybitSim) -> None:
    async with httpx.AsyncClient(base_url=sim.endpoints.rest) as http:
        sim.faults.rate_limit(1)
        q = "category=linear&symbol=BTCUSDT"
        r = await http.get(f"/v5/order/realtime?{q}", headers=signed_get(sim, q))
        assert r.json()["retCode"] == 10006
        assert r.headers["X-Bapi-Limit-Status"] == "0"
        r = await http.get(f"/v5/order/realtime?{q}", headers=signed_get(sim, q))
        assert r.json()["retCode"] == 0
        sim.faults.ban(0.25)
        assert (await http.get("/v5/market/time")).status_code == 403
        assert (await http.get("/v5/market/time")).status_code == 403
        await asyncio.sleep(0.3)  # the ban's own length
        assert (await http.get("/v5/market/time")).status_code == 200


# -- trade socket faults -------------------------------------------------------------------------


async def test_trade_socket_reply_lost_but_order_executed(sim: BybitSim) -> None:
    _pws, tws = await private_and_trade(sim, ["order"])
    try:
        sim.faults.drop_response("/v5/trade", method="order.create")
        await tws.send(create({**MARKET, "orderLinkId": "ws-lost"}, "x1"))
        with pytest.raises(ConnectionClosed):
            await recv(tws, 1.0)
        async with httpx.AsyncClient(base_url=sim.endpoints.rest) as http:
            assert [r["orderStatus"] for r in await find_by_link(sim, http, "ws-lost")] == [
                "Filled"
            ]
    finally:
        await _pws.close()
        await tws.close()


async def test_trade_socket_server_error_and_delay(sim: BybitSim) -> None:
    pws, tws = await private_and_trade(sim, ["order"])
    try:
        sim.faults.http_error(
            200, "/v5/trade", method="order.create", error="internal", execute=True
        )
        await tws.send(create({**MARKET, "orderLinkId": "ws-e"}, "x2"))
        reply = await recv(tws)
        assert (reply["reqId"], reply["retCode"], reply["op"]) == ("x2", 10016, "order.create")
        statuses = [d["orderStatus"] for m in await drain(pws) for d in m["data"]]
        assert statuses[-1] == "Filled"  # the private stream tells the truth
        sim.faults.delay_response(0.25, "/v5/trade", method="order.create")
        started = time.monotonic()
        await tws.send(create({**MARKET, "orderLinkId": "ws-d"}, "x3"))
        reply = await recv(tws)
        assert reply["retCode"] == 0
        assert time.monotonic() - started >= 0.25
        sim.faults.http_error(
            200, "/v5/trade", method="order.create", error="restarting", execute=False
        )
        await tws.send(create({**MARKET, "orderLinkId": "ws-r"}, "x4"))
        assert (await recv(tws))["retCode"] == 10019
        async with httpx.AsyncClient(base_url=sim.endpoints.rest) as http:
            assert await find_by_link(sim, http, "ws-r") == []
    finally:
        await pws.close()
        await tws.close()
