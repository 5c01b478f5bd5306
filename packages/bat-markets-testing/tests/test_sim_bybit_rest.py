"""Bybit simulator REST, exercised with plain httpx over loopback (no bat-markets adapter)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bat_markets.core import Credentials
from bat_markets.testing.sim import DEFAULT_INSTRUMENTS, Instrument
from bat_markets.testing.sim.bybit import BybitSim, RateLimits, assert_shape, rest_headers

DATA = Path(__file__).parent / "data_sim_bybit"
D = Decimal


def fixture(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Rest:
    """A minimal signed Bybit v5 client on httpx (what any off-the-shelf client does)."""

    def __init__(self, client: httpx.AsyncClient, creds: Credentials) -> None:
        self.client = client
        self.creds = creds

    def _headers(
        self, payload: str, creds: Credentials | None, ts: int | None = None
    ) -> dict[str, str]:
        c = creds or self.creds
        return rest_headers(
            c.api_key, c.secret.reveal(), payload, ts if ts is not None else now_ms()
        )

    async def get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = False,
        creds: Credentials | None = None,
    ) -> httpx.Response:
        query = urlencode(params or {})
        headers = self._headers(query, creds) if signed else {}
        return await self.client.get(f"{path}?{query}" if query else path, headers=headers)

    async def post(
        self, path: str, body: dict[str, Any], *, creds: Credentials | None = None
    ) -> httpx.Response:
        raw = json.dumps(body)  # the exact bytes signed are the bytes sent
        return await self.client.post(path, content=raw, headers=self._headers(raw, creds))

    async def ok(self, method: str, path: str, params: dict[str, Any], **kw: Any) -> dict[str, Any]:
        r = await (
            self.get(path, params, signed=True, **kw)
            if method == "GET"
            else self.post(path, params, **kw)
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["retCode"] == 0, body
        result: dict[str, Any] = body["result"]
        return result


@pytest.fixture
async def sim() -> AsyncIterator[BybitSim]:
    async with BybitSim(seed=7, auto_tick=None, depth_levels=300) as s:
        yield s


@pytest.fixture
async def rest(sim: BybitSim) -> AsyncIterator[Rest]:
    async with httpx.AsyncClient(base_url=sim.endpoints.rest, timeout=5) as client:
        yield Rest(client, sim.credentials)


def best(sim: BybitSim, symbol: str = "BTCUSDT") -> tuple[Decimal, Decimal]:
    inst = sim.engine.instruments[symbol]
    book = sim.engine.books[symbol]
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None
    assert ask is not None
    return inst.price_of(bid), inst.price_of(ask)


def limit_body(
    price: Decimal, side: str = "Buy", qty: str = "0.010", **extra: Any
) -> dict[str, Any]:
    return {
        "category": "linear",
        "symbol": "BTCUSDT",
        "side": side,
        "orderType": "Limit",
        "qty": qty,
        "price": str(price),
        **extra,
    }


# -- market data ---------------------------------------------------------------------------------


async def test_market_endpoints_have_the_fixture_shapes(sim: BybitSim, rest: Rest) -> None:
    sim.step(5)
    r = await rest.get("/v5/market/time")
    body = r.json()
    assert_shape(body, fixture("rest/server_time.json"))
    assert abs(int(body["result"]["timeSecond"]) * 1000 - now_ms()) < 5000
    assert r.headers["Timenow"]
    assert "X-Bapi-Limit" not in r.headers
    checks: list[tuple[str, dict[str, Any], str, str]] = [
        ("/v5/market/instruments-info", {}, "rest/instruments_info.json", "list"),
        ("/v5/market/tickers", {"symbol": "BTCUSDT"}, "rest/tickers.json", "list"),
        ("/v5/market/orderbook", {"symbol": "BTCUSDT", "limit": 5}, "rest/orderbook.json", ""),
        (
            "/v5/market/kline",
            {"symbol": "BTCUSDT", "interval": "1", "limit": 5},
            "rest/kline.json",
            "list",
        ),
        (
            "/v5/market/mark-price-kline",
            {"symbol": "BTCUSDT", "interval": "60", "limit": 3},
            "rest/mark_price_kline.json",
            "list",
        ),
        (
            "/v5/market/recent-trade",
            {"symbol": "BTCUSDT", "limit": 3},
            "rest/recent_trade.json",
            "list",
        ),
        (
            "/v5/market/funding/history",
            {"symbol": "BTCUSDT", "limit": 3},
            "rest/funding_history.json",
            "list",
        ),
        (
            "/v5/market/open-interest",
            {"symbol": "BTCUSDT", "intervalTime": "1h", "limit": 5},
            "rest/open_interest.json",
            "list",
        ),
        ("/v5/market/risk-limit", {"symbol": "BTCUSDT"}, "rest/risk_limit.json", "list"),
    ]
    for path, params, name, key in checks:
        r = await rest.get(path, {"category": "linear", **params})
        assert r.status_code == 200
        body = r.json()
        ref = fixture(name)
        assert list(body) == ["retCode", "retMsg", "result", "retExtInfo", "time"]
        assert body["retCode"] == 0, (path, body)
        if key:
            assert body["result"][key], path
            assert_shape(body["result"][key][0], ref["result"][key][0])
        else:
            assert_shape(body["result"], ref["result"])
    kl = (
        await rest.get(
            "/v5/market/kline",
            {"category": "linear", "symbol": "BTCUSDT", "interval": "5", "limit": 4},
        )
    ).json()
    starts = [int(row[0]) for row in kl["result"]["list"]]
    assert starts == sorted(starts, reverse=True)
    assert len(starts) == 4
    assert all(b - a == 300_000 for a, b in zip(starts[1:], starts[:-1], strict=True))


async def test_instruments_info_cursor_pagination() -> None:
    extra = [
        Instrument(
            symbol=f"C{n}USDT",
            base=f"C{n}",
            quote="USDT",
            tick_size=D("0.001"),
            step_size=D("1"),
            min_qty=D("1"),
            max_qty=D("100000"),
            max_market_qty=D("10000"),
            min_notional=D("5"),
            min_price=D("0.001"),
            max_price=D("1999"),
            initial_price=D("1.500"),
            price_decimals=3,
            qty_decimals=0,
        )
        for n in range(5)
    ]
    async with (
        BybitSim(seed=3, instruments=(*DEFAULT_INSTRUMENTS, *extra), depth_levels=20) as sim,
        httpx.AsyncClient(base_url=sim.endpoints.rest) as client,
    ):
        seen: list[str] = []
        cursor = ""
        pages = 0
        while True:
            params = {
                "category": "linear",
                "limit": "2",
                **({"cursor": cursor} if cursor else {}),
            }
            body = (await client.get("/v5/market/instruments-info", params=params)).json()
            assert body["retCode"] == 0
            rows = body["result"]["list"]
            assert len(rows) <= 2
            seen += [row["symbol"] for row in rows]
            pages += 1
            cursor = body["result"]["nextPageCursor"]
            if not cursor:
                break
        assert pages == 4
        assert sorted(seen) == sorted(i.symbol for i in (*DEFAULT_INSTRUMENTS, *extra))
        one = (
            await client.get(
                "/v5/market/instruments-info", params={"category": "linear", "symbol": "C3USDT"}
            )
        ).json()
        row = one["result"]["list"][0]
        assert row["priceFilter"]["tickSize"] == "0.001"
        assert row["lotSizeFilter"]["qtyStep"] == "1"
        bad = (
            await client.get(
                "/v5/market/instruments-info", params={"category": "linear", "limit": "1001"}
            )
        ).json()
        assert bad["retCode"] == 10001


async def test_orderbook_limits_and_sorting(sim: BybitSim, rest: Rest) -> None:
    for limit in (1, 25, 1000):
        body = (
            await rest.get(
                "/v5/market/orderbook", {"category": "linear", "symbol": "BTCUSDT", "limit": limit}
            )
        ).json()
        res = body["result"]
        assert len(res["b"]) == min(limit, 300)
        assert len(res["a"]) == min(limit, 300)
        bids = [D(p) for p, _ in res["b"]]
        asks = [D(p) for p, _ in res["a"]]
        assert bids == sorted(bids, reverse=True)
        assert asks == sorted(asks)
        assert bids[0] < asks[0]
    default = (
        await rest.get("/v5/market/orderbook", {"category": "linear", "symbol": "BTCUSDT"})
    ).json()
    assert len(default["result"]["b"]) == 25
    for bad in ({"limit": 0}, {"limit": 1001}, {"symbol": "NOPEUSDT"}, {"category": "spot"}):
        params = {"category": "linear", "symbol": "BTCUSDT", **bad}
        body = (await rest.get("/v5/market/orderbook", params)).json()
        assert body["retCode"] == 10001, bad


async def test_unknown_path_and_wrong_method(rest: Rest) -> None:
    r = await rest.get("/v5/market/nothing")
    assert r.status_code == 404
    r = await rest.client.post("/v5/market/time", content="{}")
    assert r.status_code == 400


# -- authentication ------------------------------------------------------------------------------


async def test_signature_and_timestamp_rejections_use_the_real_codes(
    sim: BybitSim, rest: Rest
) -> None:
    body = json.dumps(limit_body(D("60000.0")))
    c = sim.credentials
    bad = rest_headers(c.api_key, c.secret.reveal(), body, now_ms())
    bad["X-BAPI-SIGN"] = "f" * 64
    r = await rest.client.post("/v5/order/create", content=body, headers=bad)
    assert r.status_code == 200
    out = r.json()
    assert_shape(out, fixture("rest/error_10004.json"))
    assert out["retCode"] == 10004
    assert out["retMsg"].startswith("error sign! origin_string[")
    assert c.secret.reveal() not in r.text
    stale = now_ms() - 6000
    r = await rest.client.post(
        "/v5/order/create",
        content=body,
        headers=rest_headers(c.api_key, c.secret.reveal(), body, stale),
    )
    out = r.json()
    assert_shape(out, fixture("rest/error_10002.json"))
    assert out["retCode"] == 10002
    assert f"req_timestamp[{stale}]" in out["retMsg"]
    r = await rest.client.post(
        "/v5/order/create", content=body, headers=rest_headers("nokey", "x", body, now_ms())
    )
    assert (r.status_code, r.json()["retCode"], r.json()["retMsg"]) == (
        200,
        10003,
        "API key is invalid.",
    )
    r = await rest.client.post(
        "/v5/order/create", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 401
    ro = sim.add_account(permissions={"read"})
    r = await rest.post("/v5/order/create", limit_body(D("60000.0")), creds=ro)
    assert r.json()["retCode"] == 10005
    assert (
        await rest.get(
            "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"}, signed=True, creds=ro
        )
    ).json()["retCode"] == 0
    bound = sim.add_account(allowed_ips=["10.1.2.3"])
    r = await rest.get("/v5/account/info", {}, signed=True, creds=bound)
    assert r.json() | {"time": 0} == fixture("rest/error_10010.json") | {"time": 0}
    assert not sim.engine.all_orders(c.api_key)  # nothing was placed by rejected requests


# -- orders --------------------------------------------------------------------------------------


async def test_order_lifecycle_over_rest(sim: BybitSim, rest: Rest) -> None:
    bid, _ask = best(sim)
    created = await rest.ok(
        "POST", "/v5/order/create", limit_body(bid - D("100"), orderLinkId="life-1")
    )
    assert_shape(
        {"retCode": 0, "retMsg": "OK", "result": created, "retExtInfo": {}, "time": 1},
        fixture("rest/order_create.json"),
    )
    oid = created["orderId"]
    assert created["orderLinkId"] == "life-1"
    assert len(oid) == 36
    scope = {"category": "linear", "symbol": "BTCUSDT"}
    live = await rest.ok("GET", "/v5/order/realtime", scope)
    assert [o["orderId"] for o in live["list"]] == [oid]
    row = live["list"][0]
    assert_shape(
        row,
        fixture("rest/order_realtime.json")["result"]["list"][0],
        open_maps=frozenset({"cumFeeDetail"}),
    )
    assert (row["orderStatus"], row["price"], row["qty"], row["leavesQty"]) == (
        "New",
        f"{bid - 100:.2f}",
        "0.010",
        "0.010",
    )
    amended = await rest.ok(
        "POST", "/v5/order/amend", {**scope, "orderLinkId": "life-1", "price": str(bid - D("50"))}
    )
    assert amended == {"orderId": oid, "orderLinkId": "life-1"}
    row = (await rest.ok("GET", "/v5/order/realtime", {**scope, "orderId": oid}))["list"][0]
    assert row["price"] == f"{bid - 50:.2f}"
    same = await rest.post(
        "/v5/order/amend", {**scope, "orderId": oid, "price": str(bid - D("50"))}
    )
    assert same.json()["retCode"] == 10001
    cancelled = await rest.ok("POST", "/v5/order/cancel", {**scope, "orderId": oid})
    assert cancelled == {"orderId": oid, "orderLinkId": "life-1"}
    assert (await rest.ok("GET", "/v5/order/realtime", scope))["list"] == []
    by_id = (await rest.ok("GET", "/v5/order/realtime", {**scope, "orderId": oid}))["list"]
    assert [(o["orderStatus"], o["cancelType"]) for o in by_id] == [("Cancelled", "CancelByUser")]
    hist = await rest.ok("GET", "/v5/order/history", {**scope, "orderLinkId": "life-1"})
    assert_shape(
        hist["list"][0],
        fixture("rest/order_history.json")["result"]["list"][0],
        open_maps=frozenset({"cumFeeDetail"}),
    )
    again = (await rest.post("/v5/order/cancel", {**scope, "orderId": oid})).json()
    assert again | {"time": 0} == fixture("rest/error_110001.json") | {"time": 0}
    dup = (
        await rest.post("/v5/order/create", limit_body(bid - D("100"), orderLinkId="life-1"))
    ).json()
    assert (dup["retCode"], dup["retMsg"]) == (110072, "OrderLinkedID is duplicate")


async def test_post_only_that_would_take_is_accepted_then_cancelled(
    sim: BybitSim, rest: Rest
) -> None:
    _bid, ask = best(sim)
    out = await rest.ok(
        "POST", "/v5/order/create", limit_body(ask, timeInForce="PostOnly", orderLinkId="po-1")
    )
    row = (
        await rest.ok(
            "GET",
            "/v5/order/realtime",
            {"category": "linear", "symbol": "BTCUSDT", "orderId": out["orderId"]},
        )
    )["list"][0]
    assert (row["orderStatus"], row["rejectReason"], row["timeInForce"]) == (
        "Cancelled",
        "EC_PostOnlyWillTakeLiquidity",
        "PostOnly",
    )


async def test_market_fill_execution_position_wallet(sim: BybitSim, rest: Rest) -> None:
    scope = {"category": "linear", "symbol": "BTCUSDT"}
    out = await rest.ok(
        "POST",
        "/v5/order/create",
        {**scope, "side": "Buy", "orderType": "Market", "qty": "0.020", "orderLinkId": "mkt-1"},
    )
    execs = await rest.ok("GET", "/v5/execution/list", scope)
    assert execs["list"], "the market order filled"
    assert_shape(execs["list"][0], fixture("rest/execution_list.json")["result"]["list"][0])
    assert {e["orderId"] for e in execs["list"]} == {out["orderId"]}
    assert sum(D(e["execQty"]) for e in execs["list"]) == D("0.020")
    assert all(e["isMaker"] is False and e["orderLinkId"] == "mkt-1" for e in execs["list"])
    pos = (await rest.ok("GET", "/v5/position/list", scope))["list"]
    assert_shape(pos[0], fixture("rest/position_list.json")["result"]["list"][0])
    assert [(p["positionIdx"], p["side"], p["size"]) for p in pos] == [(0, "Buy", "0.020")]
    wallet = await rest.ok("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"})
    assert_shape(wallet["list"][0], fixture("rest/wallet_balance.json")["result"]["list"][0])
    fees = sum(D(e["execFee"]) for e in execs["list"])
    coin = wallet["list"][0]["coin"][0]
    assert coin["coin"] == "USDT"
    assert D(coin["walletBalance"]) == D("100000") - fees
    assert (
        await rest.get("/v5/account/wallet-balance", {"accountType": "CONTRACT"}, signed=True)
    ).json()["retCode"] == 10001
    info = await rest.ok("GET", "/v5/account/info", {})
    assert info["marginMode"] == "REGULAR_MARGIN"
    assert info["unifiedMarginStatus"] in (5, 6)
    fee = await rest.ok("GET", "/v5/account/fee-rate", scope)
    assert_shape(fee["list"][0], fixture("rest/fee_rate.json")["result"]["list"][0])
    # reduce-only in one-way mode: closing works, increasing is refused
    bad = (
        await rest.post(
            "/v5/order/create",
            {**scope, "side": "Buy", "orderType": "Market", "qty": "0.010", "reduceOnly": True},
        )
    ).json()
    assert bad | {"time": 0} == fixture("rest/error_110017.json") | {"time": 0}
    await rest.ok(
        "POST",
        "/v5/order/create",
        {**scope, "side": "Sell", "orderType": "Market", "qty": "0.020", "reduceOnly": True},
    )
    pos = (await rest.ok("GET", "/v5/position/list", scope))["list"]
    assert [(p["positionIdx"], p["side"], p["size"]) for p in pos] == [(0, "", "0.000")]


async def test_hedge_mode_rows_and_position_idx_rules(sim: BybitSim, rest: Rest) -> None:
    scope = {"category": "linear", "symbol": "BTCUSDT"}
    res = await rest.ok("POST", "/v5/position/switch-mode", {**scope, "mode": 3})
    assert res == {}
    again = (await rest.post("/v5/position/switch-mode", {**scope, "mode": 3})).json()
    assert again | {"time": 0} == fixture("rest/error_110025.json") | {"time": 0}
    rows = (await rest.ok("GET", "/v5/position/list", scope))["list"]
    assert [(r["positionIdx"], r["side"], r["size"]) for r in rows] == [
        (1, "", "0.000"),
        (2, "", "0.000"),
    ]
    mismatch = (
        await rest.post(
            "/v5/order/create", {**scope, "side": "Buy", "orderType": "Market", "qty": "0.010"}
        )
    ).json()
    assert mismatch | {"time": 0} == fixture("rest/error_10001.json") | {"time": 0}
    await rest.ok(
        "POST",
        "/v5/order/create",
        {**scope, "side": "Buy", "orderType": "Market", "qty": "0.030", "positionIdx": 1},
    )
    rows = (await rest.ok("GET", "/v5/position/list", scope))["list"]
    assert [(r["positionIdx"], r["side"], r["size"]) for r in rows] == [
        (1, "Buy", "0.030"),
        (2, "", "0.000"),
    ]
    # a long row must not be read as flat (pybit#367): the flat short row is the second one
    assert rows[0]["avgPrice"] != "0"
    assert rows[1]["avgPrice"] == "0"
    opening_ro = (
        await rest.post(
            "/v5/order/create",
            {
                **scope,
                "side": "Buy",
                "orderType": "Market",
                "qty": "0.010",
                "positionIdx": 1,
                "reduceOnly": True,
            },
        )
    ).json()
    assert opening_ro["retCode"] == 110017
    blocked = (await rest.post("/v5/position/switch-mode", {**scope, "mode": 0})).json()
    assert blocked["retCode"] == 110024
    await rest.ok(
        "POST",
        "/v5/order/create",
        {
            **scope,
            "side": "Sell",
            "orderType": "Market",
            "qty": "0.030",
            "positionIdx": 1,
            "reduceOnly": True,
        },
    )
    await rest.ok(
        "POST",
        "/v5/order/create",
        {**scope, "side": "Sell", "orderType": "Market", "qty": "0.010", "positionIdx": 2},
    )
    rows = (await rest.ok("GET", "/v5/position/list", scope))["list"]
    assert [(r["positionIdx"], r["side"], r["size"]) for r in rows] == [
        (1, "", "0.000"),
        (2, "Sell", "0.010"),
    ]
    settle_rows = (
        await rest.ok("GET", "/v5/position/list", {"category": "linear", "settleCoin": "USDT"})
    )["list"]
    assert [(r["symbol"], r["positionIdx"]) for r in settle_rows] == [("BTCUSDT", 2)]
    assert (await rest.get("/v5/position/list", {"category": "linear"}, signed=True)).json()[
        "retCode"
    ] == 10001


async def test_no_op_codes_for_settings(sim: BybitSim, rest: Rest) -> None:
    scope = {"category": "linear", "symbol": "BTCUSDT"}
    assert (
        await rest.ok(
            "POST", "/v5/position/set-leverage", {**scope, "buyLeverage": "7", "sellLeverage": "7"}
        )
        == {}
    )
    same = (
        await rest.post(
            "/v5/position/set-leverage", {**scope, "buyLeverage": "7", "sellLeverage": "7"}
        )
    ).json()
    assert same | {"time": 0} == fixture("rest/error_110043.json") | {"time": 0}
    rows = (await rest.ok("GET", "/v5/position/list", scope))["list"]
    assert rows[0]["leverage"] == "7"
    mode = await rest.ok(
        "POST", "/v5/account/set-margin-mode", {"setMarginMode": "ISOLATED_MARGIN"}
    )
    assert mode == {"reasons": []}
    assert (await rest.ok("GET", "/v5/account/info", {}))["marginMode"] == "ISOLATED_MARGIN"
    rows = (await rest.ok("GET", "/v5/position/list", scope))["list"]
    assert rows[0]["tradeMode"] == 1
    await rest.ok(
        "POST", "/v5/order/create", {**scope, "side": "Buy", "orderType": "Market", "qty": "0.010"}
    )
    fail = (
        await rest.post("/v5/account/set-margin-mode", {"setMarginMode": "REGULAR_MARGIN"})
    ).json()
    assert fail["retCode"] == 3400045
    assert fail["result"]["reasons"][0]["reasonCode"]
    assert_shape(fail, fixture("rest/set_margin_mode_error_3400045.json"))


async def test_batch_endpoints_report_per_element(sim: BybitSim, rest: Rest) -> None:
    bid, _ = best(sim)
    reqs = [
        {
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Limit",
            "qty": "0.010",
            "price": str(bid - 10),
            "orderLinkId": "b-0",
        },
        {
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Limit",
            "qty": "0.0105",
            "price": str(bid - 10),
            "orderLinkId": "b-1",
        },
        {
            "symbol": "BTCUSDT",
            "side": "Buy",
            "orderType": "Limit",
            "qty": "0.010",
            "price": str(bid - 20),
            "orderLinkId": "b-2",
        },
    ]
    r = await rest.post("/v5/order/create-batch", {"category": "linear", "request": reqs})
    body = r.json()
    assert body["retCode"] == 0
    assert_shape(body, fixture("rest/order_create_batch.json"))
    codes = [e["code"] for e in body["retExtInfo"]["list"]]
    assert codes == [0, 10001, 0]
    rows = body["result"]["list"]
    assert [row["orderLinkId"] for row in rows] == ["b-0", "b-1", "b-2"]
    assert rows[1]["orderId"] == ""
    assert rows[0]["orderId"]
    assert rows[2]["orderId"]
    amend = (
        await rest.post(
            "/v5/order/amend-batch",
            {
                "category": "linear",
                "request": [
                    {"symbol": "BTCUSDT", "orderLinkId": "b-0", "qty": "0.020"},
                    {"symbol": "BTCUSDT", "orderLinkId": "nope", "qty": "0.020"},
                ],
            },
        )
    ).json()
    assert_shape(amend, fixture("rest/order_amend_batch.json"))
    assert [e["code"] for e in amend["retExtInfo"]["list"]] == [0, 110001]
    cancel = (
        await rest.post(
            "/v5/order/cancel-batch",
            {
                "category": "linear",
                "request": [
                    {"symbol": "BTCUSDT", "orderId": rows[0]["orderId"]},
                    {"symbol": "BTCUSDT", "orderLinkId": "b-1"},
                ],
            },
        )
    ).json()
    assert_shape(cancel, fixture("rest/order_cancel_batch_mixed.json"))
    assert [(e["code"], e["msg"]) for e in cancel["retExtInfo"]["list"]] == [
        (0, "OK"),
        (110001, "Order does not exist"),
    ]
    assert cancel["result"]["list"][1]["orderId"] == ""
    left = await rest.ok("GET", "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"})
    assert [(o["orderLinkId"], o["qty"]) for o in left["list"]] == [("b-2", "0.010")]
    too_many = (
        await rest.post("/v5/order/create-batch", {"category": "linear", "request": [reqs[0]] * 21})
    ).json()
    assert too_many["retCode"] == 10001
    all_gone = await rest.ok(
        "POST", "/v5/order/cancel-all", {"category": "linear", "symbol": "BTCUSDT"}
    )
    assert_shape(
        {"retCode": 0, "retMsg": "OK", "result": all_gone, "retExtInfo": {}, "time": 0},
        fixture("rest/order_cancel_all.json"),
    )
    assert [x["orderLinkId"] for x in all_gone["list"]] == ["b-2"]


async def test_conditional_order_untriggered_then_deactivated(sim: BybitSim, rest: Rest) -> None:
    _bid, ask = best(sim)
    scope = {"category": "linear", "symbol": "BTCUSDT"}
    out = await rest.ok(
        "POST",
        "/v5/order/create",
        {
            **scope,
            "side": "Buy",
            "orderType": "Market",
            "qty": "0.010",
            "triggerPrice": str(ask + 500),
            "triggerDirection": 1,
            "orderLinkId": "stop-1",
        },
    )
    rows = (await rest.ok("GET", "/v5/order/realtime", scope))["list"]
    assert [
        (r["orderId"], r["orderStatus"], r["stopOrderType"], r["triggerDirection"]) for r in rows
    ] == [(out["orderId"], "Untriggered", "Stop", 1)]
    amended = await rest.ok(
        "POST",
        "/v5/order/amend",
        {**scope, "orderId": out["orderId"], "triggerPrice": str(ask + 600)},
    )
    assert amended["orderId"] == out["orderId"]
    rows = (await rest.ok("GET", "/v5/order/realtime", scope))["list"]
    assert [(r["orderId"], r["triggerPrice"]) for r in rows] == [
        (out["orderId"], f"{ask + 600:.2f}")
    ]
    await rest.ok("POST", "/v5/order/cancel", {**scope, "orderLinkId": "stop-1"})
    hist = (await rest.ok("GET", "/v5/order/history", {**scope, "orderId": out["orderId"]}))["list"]
    assert [(r["orderStatus"], r["cancelType"]) for r in hist] == [("Deactivated", "CancelByUser")]
    now_trigger = (
        await rest.post(
            "/v5/order/create",
            {
                **scope,
                "side": "Buy",
                "orderType": "Market",
                "qty": "0.010",
                "triggerPrice": str(ask - 500),
                "triggerDirection": 1,
            },
        )
    ).json()
    assert now_trigger["retCode"] == 110092


async def test_pre_check(sim: BybitSim, rest: Rest) -> None:
    bid, _ = best(sim)
    res = await rest.ok("POST", "/v5/order/pre-check", limit_body(bid - 10))
    assert res["postImrE4"] > res["preImrE4"] >= 0
    bad = (await rest.post("/v5/order/pre-check", limit_body(bid - 10, qty="0.0001"))).json()
    assert bad["retCode"] == 10001
    assert not sim.engine.all_orders(sim.credentials.api_key)


# -- rate limits ---------------------------------------------------------------------------------


async def test_uid_rate_limit_headers_and_10006() -> None:
    limits = RateLimits(endpoint={"/v5/order/realtime": 3, "/v5/order/create-batch": 2})
    async with (
        BybitSim(seed=7, depth_levels=50, limits=limits) as sim,
        httpx.AsyncClient(base_url=sim.endpoints.rest) as client,
    ):
        rest = Rest(client, sim.credentials)
        scope = {"category": "linear", "symbol": "BTCUSDT"}
        statuses = []
        for _ in range(3):
            r = await rest.get("/v5/order/realtime", scope, signed=True)
            assert r.json()["retCode"] == 0
            assert r.headers["X-Bapi-Limit"] == "3"
            statuses.append(int(r.headers["X-Bapi-Limit-Status"]))
        assert statuses == [2, 1, 0]
        r = await rest.get("/v5/order/realtime", scope, signed=True)
        body = r.json()
        assert (r.status_code, body["retCode"], body["retMsg"]) == (
            200,
            10006,
            "Too many visits!",
        )
        reset = int(r.headers["X-Bapi-Limit-Reset-Timestamp"])
        assert now_ms() - 100 < reset <= now_ms() + 1000
        bid, _ = best(sim)
        reqs = [
            {
                "symbol": "BTCUSDT",
                "side": "Buy",
                "orderType": "Limit",
                "qty": "0.010",
                "price": str(bid - 10 - i),
            }
            for i in range(3)
        ]
        batch = (
            await rest.post("/v5/order/create-batch", {"category": "linear", "request": reqs})
        ).json()
        assert [e["code"] for e in batch["retExtInfo"]["list"]] == [0, 0, 10006]


async def test_ip_hammering_gets_http_403_ban() -> None:
    limits = RateLimits(ip_limit=20, ip_window_ms=5000, ip_ban_ms=400)
    async with (
        BybitSim(seed=7, depth_levels=20, limits=limits) as sim,
        httpx.AsyncClient(base_url=sim.endpoints.rest) as client,
    ):
        codes = [(await client.get("/v5/market/time")).status_code for _ in range(22)]
        assert codes[:20] == [200] * 20
        assert codes[20:] == [403, 403]
        r = await client.get("/v5/market/time")
        assert (r.status_code, r.text) == (403, "access too frequent")
        sim.ip_guard.lift()
        assert (await client.get("/v5/market/time")).status_code == 200
