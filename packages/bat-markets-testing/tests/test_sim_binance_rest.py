"""Binance simulator REST contract: shapes against the venue fixtures, signing, auth errors.

Driven with plain httpx and hand-made HMAC signatures (not through our adapters).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bat_markets.testing.sim import BinanceSim, ManualClock

DATA = Path(__file__).parent / "data_sim_binance"
TRAILING_ONLY = {"activatePrice", "priceRate"}


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
    expected: Any, actual: Any, path: str = "$", skip: frozenset[str] | set[str] = frozenset()
) -> None:
    """Every key of the fixture exists with the same JSON type (recursively)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected object, got {actual!r}"
        for key, value in expected.items():
            if key in skip:
                continue
            assert key in actual, f"{path}: missing key {key!r} (have {sorted(actual)})"
            if value is None:
                continue
            assert_shape(value, actual[key], f"{path}.{key}", skip)
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: expected array, got {actual!r}"
        if expected and actual:
            if isinstance(expected[0], (dict, list)):
                assert_shape(expected[0], actual[0], f"{path}[0]", skip)
            elif len({_kind(e) for e in expected}) == 1:
                kinds = {_kind(a) for a in actual}
                assert kinds == {_kind(expected[0])}, f"{path}: element kinds {kinds}"
            else:  # heterogeneous rows (klines)
                assert len(expected) == len(actual), (
                    f"{path}: length {len(actual)} != {len(expected)}"
                )
                for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
                    assert _kind(e) == _kind(a), f"{path}[{i}]: {_kind(a)} != {_kind(e)}"
    else:
        assert _kind(expected) == _kind(actual), (
            f"{path}: {_kind(actual)} {actual!r} != {_kind(expected)}"
        )


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class Client:
    """Minimal hand-written Binance client: HMAC over the exact bytes sent."""

    def __init__(self, sim: BinanceSim, http: httpx.AsyncClient) -> None:
        self.sim = sim
        self.http = http
        self.key = sim.credentials.api_key
        self.secret = sim.credentials.secret.reveal()

    async def public(self, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params)

    async def signed(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        body: bool = False,
    ) -> httpx.Response:
        items = dict(params or {})
        items["timestamp"] = timestamp if timestamp is not None else int(time.time() * 1000)
        payload = urlencode(items)
        signed = f"{payload}&signature={sign(secret or self.secret, payload)}"
        headers = {"X-MBX-APIKEY": key or self.key}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return await self.http.request(method, path, content=signed, headers=headers)
        return await self.http.request(method, f"{path}?{signed}", headers=headers)


@pytest.fixture
async def sim() -> AsyncIterator[BinanceSim]:
    async with BinanceSim(seed=7) as s:
        yield s


@pytest.fixture
async def client(sim: BinanceSim) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(base_url=sim.endpoints.rest) as http:
        yield Client(sim, http)


def bid_price(sim: BinanceSim, ticks_below: int = 50) -> str:
    inst = sim.engine.instruments["BTCUSDT"]
    best = sim.engine.books["BTCUSDT"].best_bid()
    assert best is not None
    return inst.fmt_price(inst.price_of(best - ticks_below))


# -- public endpoints -----------------------------------------------------------------------------
async def test_endpoints_and_credentials(sim: BinanceSim) -> None:
    ep = sim.endpoints
    assert ep.rest == f"http://127.0.0.1:{sim.port}"
    assert ep.public_ws == ep.private_ws == f"ws://127.0.0.1:{sim.port}"
    assert ep.command_ws == f"ws://127.0.0.1:{sim.port}/ws-fapi/v1"
    assert ep.extra == {
        "public": "/public/stream",
        "market": "/market/stream",
        "private": "/private/ws?listenKey={listen_key}",
    }
    assert len(sim.credentials.api_key) == 64
    assert sim.credentials.secret.reveal() not in repr(sim.credentials)


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/fapi/v1/time", {}, "time.json"),
        ("/fapi/v1/ping", {}, "ping.json"),
        ("/fapi/v1/exchangeInfo", {}, "exchange_info.json"),
        ("/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": 5}, "depth.json"),
        ("/fapi/v1/trades", {"symbol": "BTCUSDT", "limit": 5}, "trades.json"),
        ("/fapi/v1/aggTrades", {"symbol": "BTCUSDT", "limit": 5}, "agg_trades.json"),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "limit": 3}, "klines.json"),
        (
            "/fapi/v1/markPriceKlines",
            {"symbol": "BTCUSDT", "interval": "1h", "limit": 3},
            "mark_price_klines.json",
        ),
        ("/fapi/v1/ticker/24hr", {"symbol": "BTCUSDT"}, "ticker_24hr.json"),
        ("/fapi/v2/ticker/price", {"symbol": "BTCUSDT"}, "ticker_price.json"),
        ("/fapi/v1/ticker/bookTicker", {"symbol": "BTCUSDT"}, "book_ticker.json"),
        ("/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}, "premium_index.json"),
        ("/fapi/v1/fundingRate", {"symbol": "BTCUSDT", "limit": 3}, "funding_rate.json"),
        ("/fapi/v1/openInterest", {"symbol": "BTCUSDT"}, "open_interest.json"),
    ],
)
async def test_public_shapes(client: Client, path: str, params: dict[str, Any], name: str) -> None:
    r = await client.public(path, **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_shape(fixture(f"rest/{name}"), body)
    assert r.headers["X-MBX-USED-WEIGHT-1M"].isdigit()
    if isinstance(body, list) and path != "/fapi/v1/fundingRate":
        assert body, path


async def test_public_values_are_consistent(sim: BinanceSim, client: Client) -> None:
    sim.step(20)
    info = (await client.public("/fapi/v1/exchangeInfo")).json()
    btc = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.10"
    assert filters["LOT_SIZE"]["stepSize"] == "0.001"
    depth = (await client.public("/fapi/v1/depth", symbol="BTCUSDT", limit=1000)).json()
    assert len(depth["bids"]) == 1000
    assert len(depth["asks"]) == 1000
    assert depth["lastUpdateId"] == sim.engine.books["BTCUSDT"].update_id
    prices = [Decimal(p) for p, _ in depth["bids"]]
    assert prices == sorted(prices, reverse=True)
    assert Decimal(depth["bids"][0][0]) < Decimal(depth["asks"][0][0])
    bt = (await client.public("/fapi/v1/ticker/bookTicker", symbol="BTCUSDT")).json()
    assert bt["bidPrice"] == depth["bids"][0][0]
    assert bt["askQty"] == depth["asks"][0][1]
    kl = (await client.public("/fapi/v1/klines", symbol="ETHUSDT", interval="1h", limit=10)).json()
    assert len(kl) == 10
    assert all(r[6] - r[0] == 3_599_999 for r in kl)
    assert [r[0] for r in kl] == sorted(r[0] for r in kl)
    agg = (await client.public("/fapi/v1/aggTrades", symbol="BTCUSDT", limit=1000)).json()
    assert agg
    assert all(a["f"] <= a["l"] for a in agg)
    r = await client.public("/fapi/v1/depth", symbol="NOPE")
    assert r.status_code == 400
    assert r.json() == {"code": -1121, "msg": "Invalid symbol."}
    r = await client.public("/fapi/v1/klines", symbol="BTCUSDT", interval="7m")
    assert r.json()["code"] == -1120
    r = await client.http.get("/fapi/v9/nothing")
    assert r.status_code == 404
    assert r.json()["code"] == -5000


# -- signing and auth -----------------------------------------------------------------------------
async def test_official_signing_vectors_are_accepted() -> None:
    vectors = fixture("signing.json")["vectors"]["hmac_sha256"]
    fapi, spot_ascii, spot_unicode = vectors[0], vectors[2], vectors[3]
    ts = 1591702613943
    async with BinanceSim(seed=1, clock=ManualClock(ts + 50)) as sim:
        sim.add_account(api_key=fapi["apiKey"], secret=fapi["secret"])
        sim.add_account(api_key=spot_ascii["apiKey"], secret=spot_ascii["secret"])
        async with httpx.AsyncClient(base_url=sim.endpoints.rest) as http:
            hdr = {"X-MBX-APIKEY": fapi["apiKey"]}
            # example 1: everything in the query string
            r = await http.post(
                f"/fapi/v1/order?{fapi['payload']}&signature={fapi['signature']}", headers=hdr
            )
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "NEW"
            assert r.json()["price"] == "9000.00"
            # example 2: everything in the form body
            r = await http.post(
                "/fapi/v1/order",
                content=f"{fapi['payload']}&signature={fapi['signature']}",
                headers={**hdr, "Content-Type": "application/x-www-form-urlencoded"},
            )
            assert r.status_code == 200, r.text
            # query + body concatenated without '&'
            q = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
            b = "quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943"
            r = await http.post(
                f"/fapi/v1/order?{q}",
                content=f"{b}&signature={sign(fapi['secret'], q + b)}",
                headers={**hdr, "Content-Type": "application/x-www-form-urlencoded"},
            )
            assert r.status_code == 200, r.text
            # one changed hex digit is a bad signature
            bad = fapi["signature"][:-1] + ("0" if fapi["signature"][-1] != "0" else "1")
            r = await http.post(f"/fapi/v1/order?{fapi['payload']}&signature={bad}", headers=hdr)
            assert r.status_code == 400
            assert r.json() == {"code": -1022, "msg": "Signature for this request is not valid."}
            # signature is case-insensitive
            r = await http.post(
                f"/fapi/v1/order?{fapi['payload']}&signature={fapi['signature'].upper()}",
                headers=hdr,
            )
            assert r.status_code == 200
            # spot vector with a percent-encoded non-ASCII symbol: signature OK, symbol unknown
            hdr2 = {"X-MBX-APIKEY": spot_ascii["apiKey"]}
            sim.engine.clock = ManualClock(1499827319559 + 10)
            r = await http.post(
                f"/fapi/v1/order?{spot_unicode['payload']}&signature={spot_unicode['signature']}",
                headers=hdr2,
            )
            assert r.json() == {"code": -1121, "msg": "Invalid symbol."}
            r = await http.post(
                f"/fapi/v1/order?{spot_ascii['payload']}&signature={spot_ascii['signature']}",
                headers=hdr2,
            )
            assert r.json()["code"] == -1121  # LTCBTC is not listed, but the signature was fine


async def test_timestamp_rules(sim: BinanceSim, client: Client) -> None:
    now = sim.server_time_ms()
    r = await client.signed("GET", "/fapi/v3/balance", timestamp=now - 6000)
    assert r.status_code == 400
    assert r.json() == fixture("rest/error_-1021.json")
    r = await client.signed("GET", "/fapi/v3/balance", timestamp=now + 1500)
    assert r.json()["code"] == -1021
    r = await client.signed("GET", "/fapi/v3/balance", {"recvWindow": 10000}, timestamp=now - 6000)
    assert r.status_code == 200
    r = await client.signed("GET", "/fapi/v3/balance", {"recvWindow": 70000})
    assert r.json()["code"] == -1131
    # missing timestamp / signature
    r = await client.http.get("/fapi/v3/balance", headers={"X-MBX-APIKEY": client.key})
    assert r.json()["code"] == -1102
    assert "timestamp" in r.json()["msg"]
    ts = int(time.time() * 1000)
    r = await client.http.get(
        f"/fapi/v3/balance?timestamp={ts}", headers={"X-MBX-APIKEY": client.key}
    )
    assert r.json()["code"] == -1102
    assert "signature" in r.json()["msg"]


async def test_key_errors_and_permissions(sim: BinanceSim, client: Client) -> None:
    r = await client.http.get("/fapi/v3/balance", params={"timestamp": 1, "signature": "x"})
    assert r.status_code == 401
    assert r.json() == {"code": -2014, "msg": "API-key format invalid."}
    r = await client.signed("GET", "/fapi/v3/balance", key="A" * 64)
    assert r.status_code == 401
    assert r.json()["code"] == -2015
    assert_shape(fixture("rest/error_-2015.json"), r.json())
    ro = sim.add_account(permissions={"read"})
    r = await client.signed("GET", "/fapi/v3/balance", key=ro.api_key, secret=ro.secret.reveal())
    assert r.status_code == 200
    r = await client.signed(
        "POST",
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"},
        key=ro.api_key,
        secret=ro.secret.reveal(),
    )
    assert r.status_code == 401
    assert r.json()["code"] == -2015
    assert not sim.engine.all_orders(ro.api_key)
    r = await client.signed("GET", "/fapi/v3/balance", secret="wrong")
    assert r.json()["code"] == -1022
    r = await client.http.post("/fapi/v1/listenKey")
    assert r.status_code == 401
    assert r.json()["code"] == -2014


# -- trading ---------------------------------------------------------------------------------------
async def test_order_lifecycle_shapes(sim: BinanceSim, client: Client) -> None:
    price = bid_price(sim)
    new = await client.signed(
        "POST",
        "/fapi/v1/order",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.010",
            "price": price,
            "newClientOrderId": "my-1",
        },
    )
    assert new.status_code == 200, new.text
    body = new.json()
    assert_shape(fixture("rest/order_new.json"), body, skip=TRAILING_ONLY)
    assert body["status"] == "NEW"
    assert body["clientOrderId"] == "my-1"
    assert body["price"] == price
    assert new.headers["X-MBX-ORDER-COUNT-10S"] == "1"
    assert new.headers["X-MBX-ORDER-COUNT-1M"] == "1"
    oid = body["orderId"]
    q = await client.signed("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": oid})
    assert_shape(fixture("rest/order_query.json"), q.json(), skip=TRAILING_ONLY)
    q = await client.signed(
        "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "my-1"}
    )
    assert q.json()["orderId"] == oid
    oo = await client.signed("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
    assert_shape(fixture("rest/open_orders.json"), oo.json(), skip=TRAILING_ONLY)
    assert [o["orderId"] for o in oo.json()] == [oid]
    # modify: new price, loses priority, -5027 when nothing changes
    new_price = bid_price(sim, 60)
    m = await client.signed(
        "PUT",
        "/fapi/v1/order",
        {
            "symbol": "BTCUSDT",
            "orderId": oid,
            "side": "BUY",
            "quantity": "0.010",
            "price": new_price,
        },
    )
    assert m.status_code == 200, m.text
    assert_shape(fixture("rest/order_modify.json"), m.json())
    assert m.json()["price"] == new_price
    m = await client.signed(
        "PUT",
        "/fapi/v1/order",
        {
            "symbol": "BTCUSDT",
            "orderId": oid,
            "side": "BUY",
            "quantity": "0.010",
            "price": new_price,
        },
    )
    assert m.json()["code"] == -5027
    c = await client.signed("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": oid})
    assert_shape(fixture("rest/order_cancel.json"), c.json(), skip=TRAILING_ONLY)
    assert c.json()["status"] == "CANCELED"
    c = await client.signed("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": oid})
    assert c.status_code == 400
    assert c.json() == fixture("rest/error_-2011.json")
    g = await client.signed("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": 42})
    assert g.json() == {"code": -2013, "msg": "Order does not exist."}
    allo = await client.signed("GET", "/fapi/v1/allOrders", {"symbol": "BTCUSDT"})
    assert_shape(fixture("rest/all_orders.json"), allo.json(), skip=TRAILING_ONLY)
    assert allo.json()[-1]["status"] == "CANCELED"


async def test_market_order_result_fills_trades_and_positions(
    sim: BinanceSim, client: Client
) -> None:
    ack = await client.signed(
        "POST",
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.02"},
    )
    assert ack.json()["status"] == "NEW"
    assert ack.json()["executedQty"] == "0.000"
    res = await client.signed(
        "POST",
        "/fapi/v1/order",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "MARKET",
            "quantity": "0.03",
            "newOrderRespType": "RESULT",
        },
    )
    body = res.json()
    assert body["status"] == "FILLED"
    assert body["executedQty"] == "0.030"
    assert Decimal(body["avgPrice"]) > 0
    q = await client.signed(
        "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": ack.json()["orderId"]}
    )
    assert q.json()["status"] == "FILLED"
    ut = await client.signed("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert_shape(fixture("rest/user_trades.json"), ut.json())
    assert sum(Decimal(t["qty"]) for t in ut.json()) == Decimal("0.05")
    assert all(t["maker"] is False and t["buyer"] is True for t in ut.json())
    pr = await client.signed("GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"})
    assert_shape(fixture("rest/position_risk_v3_one_way.json"), pr.json())
    assert pr.json()[0]["positionAmt"] == "0.050"
    pr2 = await client.signed("GET", "/fapi/v2/positionRisk")
    assert_shape(fixture("rest/position_risk_v2_one_way.json"), pr2.json())
    assert {p["symbol"] for p in pr2.json()} == {"BTCUSDT", "ETHUSDT"}
    for name, path in (
        ("account_v2.json", "/fapi/v2/account"),
        ("account_v3.json", "/fapi/v3/account"),
    ):
        acc = await client.signed("GET", path)
        assert_shape(fixture(f"rest/{name}"), acc.json())
    for name, path in (
        ("balance_v2.json", "/fapi/v2/balance"),
        ("balance_v3.json", "/fapi/v3/balance"),
    ):
        bal = await client.signed("GET", path)
        assert_shape(fixture(f"rest/{name}"), bal.json())
    inc = await client.signed("GET", "/fapi/v1/income")
    assert_shape(fixture("rest/income.json"), inc.json())


async def test_batch_orders(sim: BinanceSim, client: Client) -> None:
    price = bid_price(sim)
    orders = [
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.010",
            "price": price,
        },
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "MARKET",
            "quantity": "0.010",
            "reduceOnly": "true",
        },
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "STOP_MARKET",
            "quantity": "0.010",
            "stopPrice": price,
        },
    ]
    r = await client.signed("POST", "/fapi/v1/batchOrders", {"batchOrders": json.dumps(orders)})
    assert r.status_code == 200, r.text
    out = r.json()
    fx = fixture("rest/batch_orders_place.json")
    assert_shape(fx[0], out[0], skip=TRAILING_ONLY)
    assert out[1] == {"code": -2022, "msg": "ReduceOnly Order is rejected."}
    assert_shape(fx[1], out[1])
    assert out[2]["code"] == -4120
    assert r.headers["X-MBX-ORDER-COUNT-10S"] == "3"
    oid = out[0]["orderId"]
    new_price = bid_price(sim, 70)
    mods = [
        {
            "symbol": "BTCUSDT",
            "orderId": oid,
            "side": "BUY",
            "quantity": "0.020",
            "price": new_price,
        },
        {"symbol": "BTCUSDT", "orderId": 1, "side": "BUY", "quantity": "0.020", "price": new_price},
    ]
    r = await client.signed("PUT", "/fapi/v1/batchOrders", {"batchOrders": json.dumps(mods)})
    modified = r.json()
    assert_shape(fixture("rest/order_modify.json"), modified[0])
    assert modified[0]["origQty"] == "0.020"
    assert modified[0]["price"] == new_price
    assert modified[1] == {"code": -2013, "msg": "Order does not exist."}
    r = await client.signed(
        "DELETE",
        "/fapi/v1/batchOrders",
        {"symbol": "BTCUSDT", "orderIdList": json.dumps([oid, 999])},
    )
    cancel = r.json()
    fx = fixture("rest/batch_orders_cancel.json")
    assert_shape(fx[0], cancel[0], skip=TRAILING_ONLY)
    assert cancel[1] == fx[1]
    r = await client.signed("POST", "/fapi/v1/batchOrders", {"batchOrders": json.dumps(orders * 2)})
    assert r.json()["code"] == -1130
    r = await client.signed("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"})
    assert r.json() == fixture("rest/cancel_all_open_orders.json")


async def test_order_rejections_use_venue_codes(sim: BinanceSim, client: Client) -> None:
    base = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010",
    }
    cases: list[tuple[dict[str, Any], int]] = [
        ({**base, "type": "STOP_MARKET", "stopPrice": "70000"}, -4120),
        ({**base, "type": "TAKE_PROFIT", "price": bid_price(sim), "stopPrice": "60000"}, -4120),
        ({**base}, -1102),  # no price
        ({**base, "price": "60000.05"}, -4014),
        ({**base, "price": bid_price(sim), "quantity": "0.0001"}, -1111),
        ({**base, "price": bid_price(sim), "quantity": "0.001"}, -4164),
        ({**base, "symbol": "XYZUSDT", "price": "1"}, -1121),
        ({**base, "price": bid_price(sim), "positionSide": "LONG"}, -4061),
        ({**base, "price": bid_price(sim), "timeInForce": "XXX"}, -1115),
        ({**base, "price": bid_price(sim), "side": "UP"}, -1117),
        ({**base, "price": bid_price(sim), "type": "WEIRD"}, -1116),
        ({**base, "price": bid_price(sim), "newClientOrderId": "bad id!"}, -4015),
        ({**base, "price": bid_price(sim, -100), "timeInForce": "GTX"}, -5022),
        ({**base, "price": bid_price(sim, -2), "timeInForce": "FOK", "quantity": "20"}, -5021),
        ({**base, "price": bid_price(sim), "quantity": "abc"}, -1100),
        ({**base, "price": bid_price(sim), "quantity": "100"}, -2019),
    ]
    for params, code in cases:
        r = await client.signed("POST", "/fapi/v1/order", params)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["code"] == code, (params, r.json())
    assert r.json() == fixture("rest/error_-2019.json")
    assert not sim.engine.all_orders(client.key)
    r = await client.signed("POST", "/fapi/v1/order", cases[0][0])
    assert r.json() == fixture("rest/error_-4120.json")
    t = await client.signed("POST", "/fapi/v1/order/test", {**base, "price": bid_price(sim)})
    assert_shape(fixture("rest/order_test.json"), t.json(), skip=TRAILING_ONLY)
    assert not sim.engine.all_orders(client.key)  # never reaches the engine


async def test_settings_endpoints(sim: BinanceSim, client: Client) -> None:
    r = await client.signed("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 21})
    assert_shape(fixture("rest/leverage.json"), r.json())
    assert r.json()["leverage"] == 21
    r = await client.signed("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT", "leverage": 200})
    assert r.json()["code"] == -4028
    r = await client.signed(
        "POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"}
    )
    assert r.json() == fixture("rest/margin_type.json")
    r = await client.signed(
        "POST", "/fapi/v1/marginType", {"symbol": "BTCUSDT", "marginType": "ISOLATED"}
    )
    assert r.json() == fixture("rest/error_-4046.json")
    r = await client.signed("GET", "/fapi/v1/positionSide/dual")
    assert r.json() == {"dualSidePosition": False}
    assert_shape(fixture("rest/position_side_dual_get.json"), r.json())
    r = await client.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"})
    assert r.json() == fixture("rest/position_side_dual.json")
    r = await client.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"})
    assert r.json() == fixture("rest/error_-4059.json")
    r = await client.signed(
        "POST",
        "/fapi/v1/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"},
    )
    assert r.json() == fixture("rest/error_-4061.json")
    r = await client.signed(
        "POST",
        "/fapi/v1/order",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "MARKET",
            "quantity": "0.01",
            "positionSide": "LONG",
            "reduceOnly": "false",
        },
    )
    assert r.json() == {"code": -1106, "msg": "Parameter 'reduceOnly' sent when not required."}
    r = await client.signed(
        "POST",
        "/fapi/v1/order",
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "MARKET",
            "quantity": "0.01",
            "positionSide": "LONG",
        },
    )
    assert r.status_code == 200
    r = await client.signed("GET", "/fapi/v3/positionRisk")
    assert_shape(fixture("rest/position_risk_v3_hedge.json"), r.json())
    assert [p["positionSide"] for p in r.json()] == ["LONG"]  # flat rows are omitted by v3
    r = await client.signed("GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"})
    assert_shape(fixture("rest/position_risk_v2_hedge.json"), r.json())
    assert r.json()[0]["marginType"] == "isolated"
    assert r.json()[0]["leverage"] == "21"
    r = await client.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "false"})
    assert r.json()["code"] == -4068
    for name, path, params in (
        ("symbol_config.json", "/fapi/v1/symbolConfig", {"symbol": "BTCUSDT"}),
        ("account_config.json", "/fapi/v1/accountConfig", {}),
        ("commission_rate.json", "/fapi/v1/commissionRate", {"symbol": "BTCUSDT"}),
        ("leverage_bracket.json", "/fapi/v1/leverageBracket", {}),
    ):
        r = await client.signed("GET", path, params)
        assert r.status_code == 200, r.text
        assert_shape(fixture(f"rest/{name}"), r.json())


async def test_listen_key_endpoints(sim: BinanceSim, client: Client) -> None:
    hdr = {"X-MBX-APIKEY": client.key}
    r = await client.http.post("/fapi/v1/listenKey", headers=hdr)
    assert_shape(fixture("rest/listen_key.json"), r.json())
    key = r.json()["listenKey"]
    r2 = await client.http.post("/fapi/v1/listenKey", headers=hdr)
    assert r2.json()["listenKey"] == key  # the active key is returned again
    r = await client.http.put("/fapi/v1/listenKey", headers=hdr)
    assert r.json() == {"listenKey": key}
    assert_shape(fixture("rest/listen_key_keepalive.json"), r.json())
    r = await client.http.delete("/fapi/v1/listenKey", headers=hdr)
    assert r.status_code == 200
    assert r.json() == {}
    r = await client.http.put("/fapi/v1/listenKey", headers=hdr)
    assert r.status_code == 400
    assert r.json() == {
        "code": -1125,
        "msg": "This listenKey does not exist.",
    }


async def test_algo_orders(sim: BinanceSim, client: Client) -> None:
    last = sim.engine.markets["BTCUSDT"].last_price
    inst = sim.engine.instruments["BTCUSDT"]
    trigger = inst.fmt_price(last + 5)
    r = await client.signed(
        "POST",
        "/fapi/v1/algoOrder",
        {
            "algoType": "CONDITIONAL",
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "STOP_MARKET",
            "quantity": "0.010",
            "triggerPrice": trigger,
            "clientAlgoId": "algo-1",
        },
    )
    assert r.status_code == 200, r.text
    assert_shape(fixture("rest/algo_order_new.json"), r.json())
    aid = r.json()["algoId"]
    assert r.json()["algoStatus"] == "NEW"
    assert r.json()["orderType"] == "STOP_MARKET"
    q = await client.signed("GET", "/fapi/v1/algoOrder", {"algoId": aid})
    assert_shape(fixture("rest/algo_order_query.json"), q.json())
    op = await client.signed("GET", "/fapi/v1/openAlgoOrders", {"symbol": "BTCUSDT"})
    assert_shape(fixture("rest/algo_open_orders.json"), op.json())
    oo = await client.signed("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
    assert oo.json() == []  # algo orders are not in openOrders
    bad = await client.signed(
        "POST",
        "/fapi/v1/algoOrder",
        {
            "algoType": "CONDITIONAL",
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "STOP_MARKET",
            "quantity": "0.010",
            "triggerPrice": inst.fmt_price(last - 50),
        },
    )
    assert bad.json()["code"] == -2021
    # push the last price through the trigger: the algo order places a real order
    sim.engine.taker("BTCUSDT", sim_side_buy(), 10_000_000, limit_ticks=inst.ticks(last + 10))
    q = await client.signed("GET", "/fapi/v1/algoOrder", {"clientAlgoId": "algo-1"})
    body = q.json()
    assert body["algoStatus"] == "FINISHED"
    assert body["actualOrderId"]
    real = await client.signed(
        "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": int(body["actualOrderId"])}
    )
    assert real.json()["status"] == "FILLED"
    assert real.json()["origType"] == "STOP_MARKET"
    # cancel flow
    r = await client.signed(
        "POST",
        "/fapi/v1/algoOrder",
        {
            "algoType": "CONDITIONAL",
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "TAKE_PROFIT",
            "quantity": "0.010",
            "price": inst.fmt_price(last + 500),
            "triggerPrice": inst.fmt_price(last + 400),
            "timeInForce": "GTC",
        },
    )
    c = await client.signed("DELETE", "/fapi/v1/algoOrder", {"algoId": r.json()["algoId"]})
    assert c.json() == {
        "algoId": r.json()["algoId"],
        "clientAlgoId": r.json()["clientAlgoId"],
        "code": "200",
        "msg": "success",
    }
    assert_shape(fixture("rest/algo_order_cancel.json"), c.json())
    c = await client.signed("DELETE", "/fapi/v1/algoOrder", {"algoId": r.json()["algoId"]})
    assert c.json()["code"] == -2011
    r = await client.signed("DELETE", "/fapi/v1/algoOpenOrders", {"symbol": "BTCUSDT"})
    assert r.json()["code"] == 200
    al = await client.signed("GET", "/fapi/v1/allAlgoOrders", {"symbol": "BTCUSDT"})
    assert [a["algoStatus"] for a in al.json()] == ["FINISHED", "CANCELED"]


def sim_side_buy() -> Any:
    from bat_markets.testing.sim import Side

    return Side.BUY


async def test_rate_limit_429_then_418(sim: BinanceSim, client: Client) -> None:
    sim.limits.weight_1m = 10
    codes = []
    for _ in range(6):
        r = await client.public("/fapi/v1/depth", symbol="BTCUSDT", limit=5)  # weight 2
        codes.append(r.status_code)
        if r.status_code != 200:
            break
    assert codes[:5] == [200] * 5
    assert codes[5] == 429
    assert r.json()["code"] == -1003
    assert int(r.headers["Retry-After"]) >= 1
    r = await client.public("/fapi/v1/time")
    assert r.status_code == 418
    body = r.json()
    assert body["code"] == -1003
    assert "IP banned until" in body["msg"]
    assert_shape(fixture("rest/error_-1003.json"), body)
    until = int(body["msg"].split("until ")[1].split(".")[0])
    assert until - sim.server_time_ms() > 100_000
    r = await client.public("/fapi/v1/time")
    assert r.status_code == 418


async def test_order_count_limit(sim: BinanceSim, client: Client) -> None:
    sim.limits.orders_10s = 2
    price = bid_price(sim)
    params = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010",
        "price": price,
    }
    assert (await client.signed("POST", "/fapi/v1/order", params)).status_code == 200
    assert (await client.signed("POST", "/fapi/v1/order", params)).status_code == 200
    r = await client.signed("POST", "/fapi/v1/order", params)
    assert r.status_code == 429
    assert r.json()["code"] == -1015
    assert len(sim.engine.open_orders(client.key)) == 2
