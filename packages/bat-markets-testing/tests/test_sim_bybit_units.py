"""Bybit simulator building blocks without sockets: signatures, rate limits, payload renderers."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bat_markets.testing.sim.bybit import _codes as C
from bat_markets.testing.sim.bybit import _render as R
from bat_markets.testing.sim.bybit._auth import (
    READ,
    ApiKey,
    AuthFailure,
    KeyStore,
    WsAuthFailure,
    sign,
    verify_rest,
    verify_ws_auth,
)
from bat_markets.testing.sim.bybit._contract import assert_shape, shape_errors
from bat_markets.testing.sim.bybit._format import decimals_of, fixed, parse_decimal, plain
from bat_markets.testing.sim.bybit._limits import IpGuard, RateLimiter, RateLimits
from bat_markets.testing.sim.bybit._views import (
    CoinView,
    ExecutionView,
    InstrumentView,
    KlineView,
    LiquidationView,
    OrderView,
    PositionView,
    TickerView,
    TradeView,
    WalletView,
)

DATA = Path(__file__).parent / "data_sim_bybit"
D = Decimal
NOW = 1_700_000_000_000


def fixture(name: str) -> Any:
    return json.loads((DATA / name).read_text())


KEY = ApiKey("simkey0001", "simsecret0001", "uid-1")
STORE = KeyStore([KEY, ApiKey("readonly01", "rosecret", "uid-2", frozenset({READ}))])


def signed_headers(key: ApiKey, payload: str, ts: int, recv: str | None = "5000") -> dict[str, str]:
    origin = f"{ts}{key.api_key}{recv or ''}{payload}"
    headers = {
        "X-BAPI-API-KEY": key.api_key,
        "X-BAPI-TIMESTAMP": str(ts),
        "X-BAPI-SIGN": sign(key.secret, origin),
        "X-BAPI-SIGN-TYPE": "2",
    }
    if recv is not None:
        headers["X-BAPI-RECV-WINDOW"] = recv
    return headers


# -- signatures ---------------------------------------------------------------------------------


def test_sign_matches_pybit_vector() -> None:
    vec = fixture("signing.json")
    assert sign(vec["secret"], vec["payload"]) == vec["signature"]


def test_signature_payload_rules_match_the_docs_strings() -> None:
    vec = fixture("signing.json")["vectors"]["official_docs_without_secret"]
    # GET: ts + key + recv + query ; POST: ts + key + recv + raw body (secret unpublished)
    assert (
        vec[0]["payload"]
        == "1658384314791" + "XXXXXXXXXX" + "5000" + "category=option&symbol=BTC-29JUL22-25000-C"
    )
    assert vec[1]["payload"] == "1658385579423XXXXXXXXXX5000" + '{"category": "option"}'


def test_verify_rest_accepts_a_good_get_and_a_good_post() -> None:
    q = "category=linear&symbol=BTCUSDT"
    assert verify_rest(STORE, signed_headers(KEY, q, NOW - 10), q, NOW) is KEY
    body = '{"category": "linear", "symbol": "BTCUSDT"}'
    assert verify_rest(STORE, signed_headers(KEY, body, NOW), body, NOW) is KEY


def test_verify_rest_header_names_are_case_insensitive_in_lower_form() -> None:
    q = "category=linear"
    headers = {k.lower(): v for k, v in signed_headers(KEY, q, NOW).items()}
    assert verify_rest(STORE, headers, q, NOW) is KEY


def test_bad_sign_is_10004_and_echoes_the_origin_string() -> None:
    q = "category=linear"
    headers = signed_headers(KEY, q, NOW)
    headers["X-BAPI-SIGN"] = "0" * 64
    out = verify_rest(STORE, headers, q, NOW)
    assert out == AuthFailure(200, 10004, f"error sign! origin_string[{NOW}{KEY.api_key}5000{q}]")
    assert KEY.secret not in out.ret_msg
    # signing other bytes than were sent (e.g. re-serialised JSON) fails the same way
    sent = '{"a":1}'
    headers = signed_headers(KEY, '{"a": 1}', NOW)
    assert isinstance(r := verify_rest(STORE, headers, sent, NOW), AuthFailure)
    assert r.ret_code == 10004


@pytest.mark.parametrize(
    ("offset", "window", "ok"),
    [
        (0, "5000", True),
        (-5000, "5000", True),  # server - recvWindow <= ts
        (-5001, "5000", False),
        (999, "5000", True),  # ts < server + 1000
        (1000, "5000", False),
        (-14000, "15000", True),
    ],
)
def test_timestamp_window_rule(offset: int, window: str, ok: bool) -> None:
    q = "category=linear"
    ts = NOW + offset
    out = verify_rest(STORE, signed_headers(KEY, q, ts, window), q, NOW)
    if ok:
        assert out is KEY
    else:
        assert out == AuthFailure(
            200,
            10002,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{ts}],server_timestamp[{NOW}],recv_window[{window}]",
        )


def test_10002_message_matches_the_captured_format() -> None:
    captured = fixture("rest/error_10002.json")["retMsg"]
    ours = C.timestamp_message("1696396708819", 1696396707813, "15000")
    assert ours == captured


def test_unknown_key_is_10003_and_missing_headers_are_http_401() -> None:
    q = "category=linear"
    stranger = ApiKey("nobody", "x", "uid-x")
    assert verify_rest(STORE, signed_headers(stranger, q, NOW), q, NOW) == AuthFailure(
        200, 10003, fixture("rest/error_10003.json")["retMsg"]
    )
    out = verify_rest(STORE, {}, q, NOW)
    assert isinstance(out, AuthFailure)
    assert out.http_status == 401


def test_permissions_and_ip_binding() -> None:
    ro = STORE.get("readonly01")
    assert ro is not None
    body = "{}"
    out = verify_rest(STORE, signed_headers(ro, body, NOW), body, NOW, need="trade")
    assert isinstance(out, AuthFailure)
    assert out.ret_code == 10005
    bound = ApiKey("boundkey", "bsecret", "uid-3", allowed_ips=("10.0.0.1",))
    store = KeyStore([bound])
    out = verify_rest(store, signed_headers(bound, body, NOW), body, NOW)
    assert out == AuthFailure(200, 10010, fixture("rest/error_10010.json")["retMsg"])


def test_secret_not_in_key_repr() -> None:
    assert KEY.secret not in repr(KEY)


def test_ws_auth() -> None:
    expires = NOW + 5000
    good = sign(KEY.secret, f"GET/realtime{expires}")
    assert verify_ws_auth(STORE, [KEY.api_key, expires, good], NOW) is KEY
    assert verify_ws_auth(STORE, [KEY.api_key, str(expires), good], NOW) is KEY  # ccxt: string
    assert verify_ws_auth(STORE, [KEY.api_key, expires, "ab" * 32], NOW) == WsAuthFailure(
        10004, "Invalid sign"
    )
    expired = NOW - 1
    sig = sign(KEY.secret, f"GET/realtime{expired}")
    assert verify_ws_auth(STORE, [KEY.api_key, expired, sig], NOW) == WsAuthFailure(
        10001, "Params Error"
    )
    assert isinstance(verify_ws_auth(STORE, ["nobody", expires, good], NOW), WsAuthFailure)
    assert verify_ws_auth(STORE, "junk", NOW) == WsAuthFailure(10001, "Params Error")
    assert verify_ws_auth(STORE, [KEY.api_key, True, good], NOW) == WsAuthFailure(
        10001, "Params Error"
    )


# -- rate limits --------------------------------------------------------------------------------


def test_uid_limit_rolls_per_second_and_reports_headers() -> None:
    lim = RateLimiter(RateLimits())
    for i in range(10):
        c = lim.charge("uid", "/v5/order/create", NOW + i)
        assert not c.exceeded
        assert c.headers() == {
            "X-Bapi-Limit": "10",
            "X-Bapi-Limit-Status": str(9 - i),
            "X-Bapi-Limit-Reset-Timestamp": str(NOW + i),
        }
    over = lim.charge("uid", "/v5/order/create", NOW + 500)
    assert over.exceeded
    assert over.allowed == 0
    assert over.remaining == 0
    assert over.reset_ms == NOW + 1000  # the oldest request leaves the window then
    # another endpoint and another UID have their own budgets
    assert not lim.charge("uid", "/v5/order/cancel", NOW + 500).exceeded
    assert not lim.charge("uid2", "/v5/order/create", NOW + 500).exceeded
    assert not lim.charge("uid", "/v5/order/create", NOW + 1000).exceeded


def test_batch_charged_per_order_and_partially_served() -> None:
    lim = RateLimiter(RateLimits(endpoint={"/v5/order/create-batch": 5}))
    c = lim.charge("uid", "/v5/order/create-batch", NOW, units=3)
    assert (c.allowed, c.remaining) == (3, 2)
    c = lim.charge("uid", "/v5/order/create-batch", NOW + 1, units=4)
    assert c.exceeded
    assert c.allowed == 2
    assert c.remaining == 0


def test_ip_guard_bans_after_overrun_and_lifts() -> None:
    guard = IpGuard(RateLimits(ip_limit=3, ip_window_ms=1000, ip_ban_ms=60_000))
    assert [guard.hit("1.1.1.1", NOW + i) for i in range(3)] == [None, None, None]
    assert guard.hit("1.1.1.1", NOW + 3) == NOW + 3 + 60_000
    assert guard.hit("1.1.1.1", NOW + 59_000) == NOW + 3 + 60_000  # still banned
    assert guard.hit("2.2.2.2", NOW + 4) is None
    assert guard.hit("1.1.1.1", NOW + 60_004) is None  # ban over
    guard.ban("1.1.1.1", NOW + 10**9)
    guard.lift()
    assert guard.banned_until("1.1.1.1", NOW) is None


# -- formatting ---------------------------------------------------------------------------------


def test_formatting_never_uses_exponents() -> None:
    assert decimals_of(D("0.10")) == 1
    assert decimals_of(D("0.001")) == 3
    assert decimals_of(D("5")) == 0
    assert fixed(D("10000"), 2) == "10000.00"
    assert plain(D("1E+1")) == "10"
    assert plain(D("0.000")) == "0"
    assert plain(D("119.0150")) == "119.015"
    assert parse_decimal("0.1") == D("0.1")
    assert parse_decimal(0.1) == D("0.1")
    assert parse_decimal("nan") is None
    assert parse_decimal("x") is None
    assert parse_decimal(True) is None


# -- renderers against the fixtures -------------------------------------------------------------

BTC = InstrumentView(
    symbol="BTCUSDT",
    base="BTC",
    quote="USDT",
    settle="USDT",
    tick_size=D("0.10"),
    qty_step=D("0.001"),
    min_qty=D("0.001"),
    max_qty=D("1190"),
    max_mkt_qty=D("500"),
    min_notional=D("5"),
    min_price=D("0.10"),
    max_price=D("1999999.80"),
    price_scale=2,
)

ORDER = OrderView(
    order_id="cf7a63a5-4c78-40f5-be9e-393645bb7339",
    link_id="bm-1",
    symbol="BTCUSDT",
    side="Buy",
    order_type="Limit",
    price=D("10000"),
    qty=D("0.01"),
    time_in_force="GTC",
    position_idx=1,
    status="New",
    created_ms=NOW,
    updated_ms=NOW + 3,
    last_price_on_created=D("42184"),
)

FILLED = OrderView(
    order_id="o2",
    link_id="",
    symbol="BTCUSDT",
    side="Sell",
    order_type="Market",
    price=D("9500.5"),
    qty=D("0.5"),
    time_in_force="IOC",
    position_idx=0,
    status="Filled",
    created_ms=NOW,
    updated_ms=NOW,
    cum_qty=D("0.5"),
    cum_value=D("4750.25"),
    cum_fee=D("2.6126375"),
    avg_price=D("9500.5"),
)

EXEC = ExecutionView(
    exec_id="0ab1bdf7-4219-438b-b30a-32ec863018f7",
    order_id="o2",
    link_id="x-1",
    symbol="BTCUSDT",
    side="Sell",
    order_type="Market",
    order_price=D("94942.5"),
    order_qty=D("0.5"),
    leaves_qty=D("0"),
    exec_price=D("95900.1"),
    exec_qty=D("0.5"),
    exec_fee=D("26.3725275"),
    fee_rate=D("0.00055"),
    is_maker=False,
    exec_time=NOW,
    seq=140612148849382,
    mark_price=D("95901.48"),
    closed_size=D("0.5"),
    exec_pnl=D("0.05"),
)

POS_LONG = PositionView(
    symbol="BTCUSDT",
    position_idx=1,
    side="Buy",
    size=D("0.02"),
    entry_price=D("42182.55"),
    mark_price=D("42056.1"),
    leverage=D("10"),
    created_ms=NOW,
    updated_ms=NOW,
    seq=8793822126,
    unrealised_pnl=D("-2.529"),
    position_im=D("84.3651"),
    position_mm=D("4.2"),
)
POS_FLAT = PositionView(
    symbol="BTCUSDT",
    position_idx=2,
    side="Sell",
    size=D("0"),
    entry_price=D("0"),
    mark_price=D("42056.1"),
    leverage=D("10"),
    created_ms=NOW,
    updated_ms=NOW,
    seq=8793673384,
)

TICKER = TickerView(
    symbol="BTCUSDT",
    last_price=D("66666.6"),
    mark_price=D("66666.6"),
    index_price=D("66660"),
    prev_price_24h=D("79206.2"),
    high_24h=D("79266.3"),
    low_24h=D("65076.9"),
    prev_price_1h=D("66666.6"),
    volume_24h=D("73191.387"),
    turnover_24h=D("4936790807.6521"),
    open_interest=D("492373.72"),
    funding_rate=D("-0.005"),
    next_funding_ms=1760342400000,
    bid1_price=D("66666.6"),
    bid1_size=D("23789.165"),
    ask1_price=D("66666.7"),
    ask1_size=D("23775.469"),
    tick_direction="MinusTick",
)


def test_envelope_and_server_time_match_fixtures() -> None:
    ref = fixture("rest/server_time.json")
    ours = R.envelope(R.server_time(1688639403423), time_ms=1688639403423)
    assert_shape(ours, ref)
    assert ours["result"]["timeSecond"] == "1688639403"
    assert ours == {
        "retCode": 0,
        "retMsg": "OK",
        "result": {"timeSecond": "1688639403", "timeNano": "1688639403423000000"},
        "retExtInfo": {},
        "time": 1688639403423,
    }
    err = R.envelope(None, time_ms=1, code=110043, msg=C.MSG[110043])
    ref_err = fixture("rest/error_110043.json")
    assert list(err) == list(ref_err)
    assert err["retMsg"] == ref_err["retMsg"]


@pytest.mark.parametrize(
    "code", [10001, 10003, 10010, 110001, 110003, 110007, 110017, 110025, 110026, 110043]
)
def test_error_messages_match_captures(code: int) -> None:
    ref = fixture(f"rest/error_{code}.json")
    msg = C.POSITION_IDX_MISMATCH if code == 10001 else C.MSG[code]
    assert msg == ref["retMsg"]


def test_instrument_row_matches_fixture_exactly_for_the_same_inputs() -> None:
    ref = fixture("rest/instruments_info.json")["result"]["list"][0]
    ours = R.instrument(BTC)
    assert_shape(ours, ref)
    assert list(ours) == list(ref)  # same keys, same order
    for key in ("priceFilter", "leverageFilter"):
        assert ours[key] == ref[key]
    assert ours["lotSizeFilter"]["qtyStep"] == "0.001"
    assert ours["priceScale"] == "2"


def test_order_rows_match_rest_and_ws_fixtures() -> None:
    open_maps = frozenset({"cumFeeDetail"})
    for name in ("rest/order_realtime.json", "rest/order_history.json"):
        ref = fixture(name)["result"]["list"][0]
        assert_shape(R.order_rest(ORDER, BTC), ref, open_maps=open_maps)
        assert_shape(R.order_rest(FILLED, BTC), ref, open_maps=open_maps)
    ref_ws = fixture("ws/order.json")["data"][0]
    ours = R.order_ws(ORDER, BTC)
    assert_shape(ours, ref_ws)
    assert ours["price"] == "10000.00"
    assert ours["qty"] == "0.010"
    assert ours["avgPrice"] == ""
    assert ours["leavesQty"] == "0.010"
    assert ours["leavesValue"] == "100"
    assert ours["triggerPrice"] == "0.00"
    assert ours["lastPriceOnCreated"] == "42184.00"
    filled = R.order_ws(FILLED, BTC)
    assert filled["avgPrice"] == "9500.50"
    assert filled["leavesQty"] == "0.000"
    assert filled["cumFeeDetail"] == {"USDT": "2.6126375"}


def test_execution_rows_match_fixtures() -> None:
    assert_shape(
        R.execution_rest(EXEC, BTC), fixture("rest/execution_list.json")["result"]["list"][0]
    )
    ws = R.execution_ws(EXEC, BTC)
    assert_shape(ws, fixture("ws/execution.json")["data"][0] | {"extraFees": []})
    assert ws["execValue"] == "47950.05"
    assert ws["seq"] == 140612148849382
    fast = R.execution_fast_ws(EXEC, BTC)
    ref = fixture("ws/execution_fast.json")["data"][0]
    assert_shape(fast, ref)
    assert list(fast) == list(ref)
    assert fast["orderLinkId"] == "x-1"
    maker = R.execution_fast_ws(replace(EXEC, is_maker=True), BTC)
    assert maker["orderLinkId"] == ""


def test_position_rows_one_way_and_hedge() -> None:
    ref_rest = fixture("rest/position_list.json")["result"]["list"][0]
    assert_shape(R.position_rest(POS_LONG, BTC), ref_rest)
    ref_ws = fixture("ws/position.json")["data"][0]
    ref_hedge = fixture("ws/position_hedge.json")["data"]
    long_ws, flat_ws = R.position_ws(POS_LONG, BTC), R.position_ws(POS_FLAT, BTC)
    for row in (long_ws, flat_ws):
        assert_shape(row, ref_ws)
        assert_shape(row, ref_hedge[0])
    assert (long_ws["positionIdx"], long_ws["side"], long_ws["size"]) == (1, "Buy", "0.020")
    assert (flat_ws["positionIdx"], flat_ws["side"], flat_ws["size"]) == (2, "", "0.000")
    assert flat_ws["entryPrice"] == "0"
    assert flat_ws["positionValue"] == "0"
    assert long_ws["entryPrice"] == "42182.55"


def test_wallet_matches_rest_and_ws_fixtures() -> None:
    view = WalletView(
        (
            CoinView(
                "USDT",
                D("9684.46297164"),
                unrealised_pnl=D("-2.5"),
                total_position_im=D("100"),
                total_position_mm=D("5"),
                total_order_im=D("27.8573"),
            ),
        )
    )
    acct = R.wallet_account(view)
    assert_shape(acct, fixture("rest/wallet_balance.json")["result"]["list"][0])
    assert_shape(acct, fixture("ws/wallet.json")["data"][0])
    coin = acct["coin"][0]
    assert coin["equity"] == "9681.96297164"
    assert acct["totalInitialMargin"] == "127.8573"
    assert acct["totalAvailableBalance"] == "9554.10567164"


def test_ticker_snapshot_rest_row_and_delta() -> None:
    rest = R.ticker_rest(TICKER, BTC)
    assert_shape(rest, fixture("rest/tickers.json")["result"]["list"][0])
    snap = R.ticker_ws(TICKER, BTC)
    assert_shape(snap, fixture("ws/tickers_snapshot.json")["data"])
    assert snap["price24hPcnt"] == "-0.158315"  # same inputs as the fixture -> same value
    moved = replace(TICKER, ask1_price=D("66666.8"), ask1_size=D("1"))
    delta = R.ticker_delta(snap, R.ticker_ws(moved, BTC))
    assert delta == {"symbol": "BTCUSDT", "ask1Price": "66666.80", "ask1Size": "1.000"}
    assert_shape(delta, fixture("ws/tickers_delta.json")["data"])


def test_book_trade_kline_liquidation_shapes() -> None:
    bids = R.book_levels([(D("30247.2"), D("30.028")), (D("30240"), D("0"))], BTC)
    assert bids == [["30247.20", "30.028"], ["30240.00", "0"]]
    msg = R.orderbook_ws(
        "orderbook.50.BTCUSDT", "delta", "BTCUSDT", bids, [], ts=1, u=2, seq=3, cts=0
    )
    assert_shape(msg, fixture("ws/orderbook_50_delta.json"))
    rest = R.orderbook_rest("BTCUSDT", bids, [], ts=1, u=2, seq=3, cts=0)
    assert_shape(rest, fixture("rest/orderbook.json")["result"])
    trade = TradeView(
        "20f43950-d8dd-5b31-9112-a178eb6023af",
        "BTCUSDT",
        "Buy",
        D("16578.5"),
        D("0.001"),
        1,
        1783284617,
        "PlusTick",
    )
    assert_shape(
        R.trade_ws("publicTrade.BTCUSDT", [trade], BTC, 2), fixture("ws/public_trade.json")
    )
    assert_shape(R.trade_rest(trade, BTC), fixture("rest/recent_trade.json")["result"]["list"][0])
    k = KlineView(
        1672324800000,
        1672325099999,
        "5",
        D("16649.5"),
        D("16677"),
        D("16608"),
        D("16677"),
        D("2.081"),
        D("34666.4005"),
    )
    assert_shape(R.kline_ws("kline.5.BTCUSDT", [k], BTC, 1672324988882), fixture("ws/kline.json"))
    assert len(R.kline_rest_row(k, BTC)) == 7
    assert len(R.mark_kline_rest_row(k, BTC)) == 5
    assert_shape(R.kline_rest_row(k, BTC), fixture("rest/kline.json")["result"]["list"][0])
    liq = LiquidationView("BTCUSDT", "Sell", D("0.02"), D("0.04499"), 5)
    assert_shape(
        R.liquidation_ws("allLiquidation.BTCUSDT", [liq], BTC, 6),
        fixture("ws/all_liquidation.json"),
    )


def test_private_envelopes() -> None:
    ref = fixture("ws/order.json")
    ours = R.private_message("order", [R.order_ws(ORDER, BTC)], creation_ms=NOW, msg_id="abc")
    assert_shape(ours, ref)
    assert list(ours) == ["id", "topic", "creationTime", "data"]
    fast = R.private_message("execution.fast", [], creation_ms=NOW, msg_id=None)
    assert "id" not in fast


def test_shape_checker_detects_differences() -> None:
    assert shape_errors({"a": "1"}, {"a": 1}) == ["$.a: str where the venue sends int"]
    assert shape_errors({}, {"a": 1}) == ["$: missing key 'a'"]
    assert shape_errors({"a": True}, {"a": 1}) == ["$.a: bool where the venue sends int"]
    with pytest.raises(AssertionError):
        assert_shape([{"x": 1}], [{"x": "1"}])


def test_rsa_keys_verify_base64_signatures() -> None:
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    key = ApiKey("rsakey0001", "unused", "uid-r", public_key=pem)
    store = KeyStore([key])
    q = "category=linear&symbol=BTCUSDT"
    origin = f"{NOW}{key.api_key}5000{q}"
    sig = base64.b64encode(
        private.sign(origin.encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    headers = {
        "X-BAPI-API-KEY": key.api_key,
        "X-BAPI-TIMESTAMP": str(NOW),
        "X-BAPI-RECV-WINDOW": "5000",
        "X-BAPI-SIGN": sig,
    }
    assert verify_rest(store, headers, q, NOW) is key
    out = verify_rest(store, headers, q + "&x=1", NOW)
    assert isinstance(out, AuthFailure)
    assert out.ret_code == 10004
    expires = NOW + 1000
    ws_sig = base64.b64encode(
        private.sign(f"GET/realtime{expires}".encode(), padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    assert verify_ws_auth(store, [key.api_key, expires, ws_sig], NOW) is key
    assert isinstance(
        verify_ws_auth(store, [key.api_key, expires, "not-base64!"], NOW), WsAuthFailure
    )
