"""Flows driven with ``run_flow_sync`` and canned replies: paging, errors, batches, transport."""

from __future__ import annotations

import copy
import itertools
from decimal import Decimal

import pytest

from bat_markets.bybit import BybitAdapter
from bat_markets.core import (
    AuthError,
    CancelRequest,
    CommandKind,
    CommandStatus,
    ComplianceRequired,
    ConfigError,
    DecodeError,
    ExchangeReject,
    InstrumentKind,
    InstrumentStatus,
    OrderRequest,
    OrderType,
    RateLimited,
    Side,
    StateDivergence,
    TemporaryUnavailable,
    Timeout,
    TransportError,
    UnknownExecution,
    Unsupported,
    run_flow_sync,
)

D = Decimal


def order(i: int) -> OrderRequest:
    return OrderRequest(
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        amount=D("0.001"),
        price=D(20000 + i),
        client_order_id=f"cid-{i}",
    )


def batch_reply(h, n: int, codes: dict[int, tuple[int, str]] | None = None, start: int = 0):
    codes = codes or {}
    return h.ok(
        {
            "list": [
                {
                    "category": "linear",
                    "symbol": "BTCUSDT",
                    "orderId": f"oid-{start + i}" if i not in codes else "",
                    "orderLinkId": f"cid-{start + i}",
                }
                for i in range(n)
            ]
        },
        ext={
            "list": [
                {"code": codes.get(i, (0, "OK"))[0], "msg": codes.get(i, (0, "OK"))[1]}
                for i in range(n)
            ]
        },
    )


# -- instruments -----------------------------------------------------------------------------------


def _instrument(h, symbol: str, **changes: object) -> dict:
    row = copy.deepcopy(h.load_json("rest/instruments_info.json")["result"]["list"][0])
    row["symbol"] = symbol
    row["baseCoin"] = symbol.removesuffix("USDT")
    row.update(changes)
    return row


def test_short_page_ends_pagination(h) -> None:
    adapter = BybitAdapter(market_statuses=("",))
    page1 = h.ok(
        {
            "category": "linear",
            "list": [_instrument(h, "BTCUSDT"), _instrument(h, "ETHUSDT")],
            "nextPageCursor": "next%3D2",  # Bybit may hand out a cursor to an empty page
        }
    )
    script = h.Script([page1])
    specs = run_flow_sync(adapter.load_markets(), script)
    assert [r.params for r in script.requests] == [[("category", "linear"), ("limit", "1000")]]
    assert [s.id for s in specs] == ["BTCUSDT", "ETHUSDT"]


def test_instruments_cursor_is_followed_on_full_pages(h, monkeypatch: pytest.MonkeyPatch) -> None:
    from bat_markets.bybit import _market

    adapter = BybitAdapter(market_statuses=("", "PreLaunch"))
    real = _market.cursor_pages

    def small_pages(*args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["page_size"] = 2
        return real(*args, **kwargs)

    monkeypatch.setattr(_market, "cursor_pages", small_pages)
    page1 = h.ok(
        {
            "list": [_instrument(h, "BTCUSDT"), _instrument(h, "ETHUSDT")],
            "nextPageCursor": "next%3D2",
        }
    )
    usdc = _instrument(h, "ETHPERP", quoteCoin="USDC", settleCoin="USDC")
    dated = _instrument(
        h,
        "BTCUSDT-26DEC25",
        baseCoin="BTC",
        contractType="LinearFutures",
        deliveryTime="1766736000000",
        status="Delivering",
        fundingInterval=0,
    )
    page2 = h.ok({"list": [usdc, dated], "nextPageCursor": "next%3D3"})
    page3 = h.ok({"list": [], "nextPageCursor": ""})
    prelaunch = h.ok(
        {
            "list": [_instrument(h, "XRPUSDT", status="PreLaunch"), _instrument(h, "BTCUSDT")],
            "nextPageCursor": "",
        }
    )
    script = h.Script([page1, page2, page3, prelaunch])
    specs = run_flow_sync(adapter.load_markets(), script)
    assert [r.params for r in script.requests] == [
        [("category", "linear"), ("limit", "2")],
        [("category", "linear"), ("limit", "2"), ("cursor", "next%3D2")],
        [("category", "linear"), ("limit", "2"), ("cursor", "next%3D3")],
        [("category", "linear"), ("status", "PreLaunch"), ("limit", "2")],
    ]
    by_id = {s.id: s for s in specs}
    assert list(by_id) == ["BTCUSDT", "ETHUSDT", "BTCUSDT-26DEC25", "XRPUSDT"]  # no USDC, no dupes
    future = by_id["BTCUSDT-26DEC25"]
    assert future.kind is InstrumentKind.FUTURE
    assert future.status is InstrumentStatus.SETTLING
    assert future.symbol == "BTC/USDT:USDT-251226"
    assert future.expiry == 1766736000000
    assert future.funding_interval_hours is None
    assert by_id["XRPUSDT"].status is InstrumentStatus.PRE_LAUNCH


def test_repeated_cursor_is_a_decode_error(h, monkeypatch: pytest.MonkeyPatch) -> None:
    from bat_markets.bybit import _market

    real = _market.cursor_pages
    monkeypatch.setattr(_market, "cursor_pages", lambda *a, **k: real(*a, **{**k, "page_size": 1}))
    page = h.ok({"list": [_instrument(h, "BTCUSDT")], "nextPageCursor": "same"})
    with pytest.raises(DecodeError, match="cursor repeated"):
        run_flow_sync(
            BybitAdapter(market_statuses=("",)).load_markets(), h.Script([page, page, page])
        )


# -- klines / funding paging ---------------------------------------------------------------------


def _klines(start: int, n: int, step: int = 60_000) -> list[list[str]]:
    rows = [[str(start + i * step), "1", "2", "0.5", "1.5", "10", "15"] for i in range(n)]
    return list(reversed(rows))  # newest first, like Bybit


def test_ohlcv_since_pages_forward_in_exact_windows(adapter: BybitAdapter, h) -> None:
    since = 1_700_000_000_000
    now = since + 3000 * 60_000
    script = h.Script(
        [
            h.ok({"list": _klines(since, 1000)}, time=now),
            h.ok({"list": _klines(since + 1000 * 60_000, 500)}, time=now),
        ]
    )
    candles = run_flow_sync(adapter.fetch_ohlcv("BTCUSDT", "1", since, None, 1500), script)
    assert len(candles) == 1500
    assert candles[0].open_time == since
    assert all(b.open_time - a.open_time == 60_000 for a, b in itertools.pairwise(candles))
    assert candles[0].interval == "1m"
    assert all(c.closed for c in candles)
    p1, p2 = (dict(r.params) for r in script.requests)
    assert (p1["start"], p1["end"], p1["limit"]) == (
        str(since),
        str(since + 1000 * 60_000 - 1),
        "1000",
    )
    assert p2["start"] == str(since + 1000 * 60_000)
    assert p2["limit"] == "1000"


def test_ohlcv_until_pages_backward(adapter: BybitAdapter, h) -> None:
    until = 1_700_000_000_000
    first = _klines(until - 999 * 60_000, 1000)
    second = _klines(until - 1199 * 60_000, 200)
    script = h.Script([h.ok({"list": first}), h.ok({"list": second})])
    candles = run_flow_sync(adapter.fetch_ohlcv("BTCUSDT", "1m", None, until, 1200), script)
    assert len(candles) == 1200
    assert candles[-1].open_time == until
    assert candles[0].open_time == until - 1199 * 60_000
    assert dict(script.requests[1].params)["end"] == str(until - 999 * 60_000 - 1)
    assert dict(script.requests[1].params)["limit"] == "200"


def test_ohlcv_month_close_time(adapter: BybitAdapter, h) -> None:
    jan = 1_704_067_200_000  # 2024-01-01
    rows = [[str(jan), "1", "1", "1", "1", "1", "1"]]
    (c,) = run_flow_sync(
        adapter.fetch_ohlcv("BTCUSDT", "1M", None, None, 1), h.Script([h.ok({"list": rows})])
    )
    assert c.interval == "1M"
    assert c.close_time == 1_706_745_600_000 - 1


def test_funding_history_since_uses_bounded_windows(adapter: BybitAdapter, h) -> None:
    since = 1_700_000_000_000
    eight_h = 8 * 3_600_000
    rows = [
        {
            "symbol": "BTCUSDT",
            "fundingRate": "0.0001",
            "fundingRateTimestamp": str(since + i * eight_h),
        }
        for i in range(3)
    ]
    script = h.Script([h.ok({"list": list(reversed(rows))}, time=since + 10 * eight_h)])
    rates = run_flow_sync(adapter.fetch_funding_rate_history("BTCUSDT", since, 2), script)
    assert [r.timestamp for r in rates] == [since, since + eight_h]
    params = dict(script.requests[0].params)
    # The bundled BTCUSDT spec says 8-hour funding: a 200-row window is 1600 hours.
    assert params["startTime"] == str(since)
    assert params["endTime"] == str(since + 200 * eight_h - 1)
    assert rates[0].interval_hours == 8


# -- reads: errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "cls", "retry_after"),
    [
        (403, b"access too frequent", {}, RateLimited, 600.0),
        (
            403,
            b"access too frequent",
            {"X-Bapi-Limit-Reset-Timestamp": "1700000030000", "Timenow": "1700000000000"},
            RateLimited,
            30.0,
        ),
        (
            403,
            b"The Amazon CloudFront distribution is configured to block access from your country.",
            {},
            ComplianceRequired,
            None,
        ),
        (429, b"", {}, RateLimited, 1.0),
        (401, b"", {}, AuthError, None),
        (404, b"Not Found", {}, ConfigError, None),
        (502, b"<html>bad gateway</html>", {}, TemporaryUnavailable, None),
    ],
)
def test_http_statuses_on_reads(
    adapter: BybitAdapter, h, status, body, headers, cls, retry_after
) -> None:
    reply = h.response(body, status=status, **{k.replace("-", "_"): v for k, v in headers.items()})
    with pytest.raises(cls) as info:
        run_flow_sync(adapter.fetch_ticker("BTCUSDT"), h.Script([reply]))
    assert info.value.http_status == status
    assert info.value.retry_after == retry_after
    assert type(adapter.classify_http_error(reply)) is cls


def test_rate_limit_code_uses_reset_header(adapter: BybitAdapter, h) -> None:
    reply = h.response(
        {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": 1700000000000},
        X_Bapi_Limit_Reset_Timestamp="1700000000250",
    )
    with pytest.raises(RateLimited) as info:
        run_flow_sync(adapter.fetch_positions(None), h.Script([reply]))
    assert info.value.code == 10006
    assert info.value.retry_after == 0.25
    assert info.value.retryable


@pytest.mark.parametrize("code", [10000, 10016, 10019, 10429])
def test_timeout_codes_on_reads_are_temporary(adapter: BybitAdapter, h, code) -> None:
    with pytest.raises(TemporaryUnavailable) as info:
        run_flow_sync(adapter.fetch_balance(), h.Script([h.error(code, "server timeout")]))
    assert info.value.code == code
    assert info.value.retryable


@pytest.mark.parametrize(
    ("code", "msg", "cls"),
    [
        (10005, "permission denied", "PermissionDenied"),
        (10009, "ip banned by region", "ComplianceRequired"),
        (110125, "accept the trading terms", "ComplianceRequired"),
        (10017, "route not found", "ConfigError"),
        (10028, "UTA only", "Unsupported"),
        (110088, "upgrade to UTA", "Unsupported"),
        (110079, "order is processing", "TemporaryUnavailable"),
        (10001, "params error: symbol invalid", "ExchangeReject"),
        (123456, "brand new code", "ExchangeReject"),
        (33004, "api key expired", "AuthError"),
        (10403, "too many requests from this IP", "RateLimited"),
    ],
)
def test_code_taxonomy(adapter: BybitAdapter, h, code, msg, cls) -> None:
    err = adapter.classify_http_error(h.error(code, msg))
    assert err is not None
    assert type(err).__name__ == cls
    assert err.code == code


def test_garbled_read_body_is_decode_error(adapter: BybitAdapter, h) -> None:
    with pytest.raises(DecodeError):
        run_flow_sync(adapter.server_time(), h.Script([h.response(b"<html>oops</html>")]))
    with pytest.raises(DecodeError):
        run_flow_sync(
            adapter.fetch_ticker("BTCUSDT"),
            h.Script([h.ok({"list": [{"symbol": "BTCUSDT", "lastPrice": "abc"}]})]),
        )


def test_transport_error_propagates_from_reads(adapter: BybitAdapter, h) -> None:
    with pytest.raises(Timeout):
        run_flow_sync(adapter.fetch_ticker("BTCUSDT"), h.Script([Timeout("slow", venue="bybit")]))


def test_fetch_order_falls_back_to_history(adapter: BybitAdapter, h) -> None:
    history = h.load_json("rest/order_history.json")
    script = h.Script([h.ok({"list": [], "nextPageCursor": ""}), h.response(history)])
    found = run_flow_sync(adapter.fetch_order("BTCUSDT", None, "YLxaWKMiHU"), script)
    assert found.id == "14bad3a1-6454-43d8-bcf2-5345896cf74d"
    assert [r.path for r in script.requests] == ["/v5/order/realtime", "/v5/order/history"]
    missing = h.Script([h.ok({"list": []}), h.ok({"list": []})])
    with pytest.raises(StateDivergence) as info:
        run_flow_sync(adapter.fetch_order("BTCUSDT", "nope", None), missing)
    assert info.value.code == 110001


def test_fetch_trades_since_beyond_window_is_unsupported(adapter: BybitAdapter, h) -> None:
    rows = [
        {
            "execId": str(i),
            "symbol": "BTCUSDT",
            "price": "1",
            "size": "1",
            "side": "Sell",
            "time": str(2000 + i),
        }
        for i in range(1000)
    ]
    with pytest.raises(Unsupported, match="1000 most recent"):
        run_flow_sync(adapter.fetch_trades("BTCUSDT", 1000, None), h.Script([h.ok({"list": rows})]))
    trades = run_flow_sync(
        adapter.fetch_trades("BTCUSDT", 2990, 5), h.Script([h.ok({"list": rows})])
    )
    assert [t.timestamp for t in trades] == [2990, 2991, 2992, 2993, 2994]
    assert trades[0].side is Side.SELL


# -- commands ------------------------------------------------------------------------------------


def test_batch_with_per_element_failures(adapter: BybitAdapter, h) -> None:
    reply = batch_reply(
        h,
        4,
        {
            1: (110007, "ab not enough for new order"),
            2: (10016, "service restarting"),
            3: (110043, "Set leverage not modified"),
        },
    )
    receipts = run_flow_sync(adapter.create_orders([order(i) for i in range(4)]), h.Script([reply]))
    assert [r.status for r in receipts] == [
        CommandStatus.ACCEPTED,
        CommandStatus.REJECTED,
        CommandStatus.UNKNOWN,
        CommandStatus.ACCEPTED,
    ]
    assert receipts[0].order_id == "oid-0"
    assert receipts[0].client_order_id == "cid-0"
    assert isinstance(receipts[1].error, ExchangeReject)
    assert receipts[1].error.code == 110007
    assert isinstance(receipts[2].error, UnknownExecution)
    assert receipts[2].client_order_id == "cid-2"
    assert receipts[3].noop


def test_batch_reply_missing_elements_is_unknown(adapter: BybitAdapter, h) -> None:
    reply = batch_reply(h, 2)
    receipts = run_flow_sync(adapter.create_orders([order(i) for i in range(3)]), h.Script([reply]))
    assert [r.status for r in receipts] == [
        CommandStatus.ACCEPTED,
        CommandStatus.ACCEPTED,
        CommandStatus.UNKNOWN,
    ]
    assert receipts[2].client_order_id == "cid-2"


def test_thrown_transport_error_mid_batch(adapter: BybitAdapter, h) -> None:
    orders = [order(i) for i in range(45)]
    script = h.Script(
        [
            batch_reply(h, 20),
            TransportError("connection reset after send", venue="bybit"),
            batch_reply(h, 5, start=40),
        ]
    )
    receipts = run_flow_sync(adapter.create_orders(orders), script)
    assert len(receipts) == 45
    assert len(script.requests) == 3
    assert all(r.status is CommandStatus.ACCEPTED for r in receipts[:20])
    middle = receipts[20:40]
    assert all(r.status is CommandStatus.UNKNOWN for r in middle)
    assert all(isinstance(r.error, UnknownExecution) for r in middle)
    assert [r.client_order_id for r in middle] == [f"cid-{i}" for i in range(20, 40)]
    assert isinstance(middle[0].error.__cause__, TransportError)  # type: ignore[union-attr]
    assert all(r.status is CommandStatus.ACCEPTED for r in receipts[40:])
    assert [r.order_id for r in receipts[40:]] == [f"oid-{i}" for i in range(40, 45)]


def test_thrown_http_429_is_unknown(adapter: BybitAdapter, h) -> None:
    # If the runtime throws classify_http_error's result into a command flow, a 429 stays
    # ambiguous (system protection may still process the write).
    err = adapter.classify_http_error(h.response(b"", status=429))
    assert isinstance(err, RateLimited)
    (receipt,) = run_flow_sync(adapter.create_orders([order(1)]), h.Script([err]))
    assert receipt.status is CommandStatus.UNKNOWN
    assert isinstance(receipt.error, UnknownExecution)
    assert receipt.error.retry_after == 1.0


def test_thrown_limiter_refusal_is_a_rejection(adapter: BybitAdapter, h) -> None:
    (receipt,) = run_flow_sync(
        adapter.cancel_orders([CancelRequest(symbol="BTCUSDT", id="1")]),
        h.Script([RateLimited("local limiter", venue="bybit", retry_after=1.0)]),
    )
    assert receipt.status is CommandStatus.REJECTED
    assert isinstance(receipt.error, RateLimited)


@pytest.mark.parametrize(
    ("reply", "status", "cls"),
    [
        ("timeout-code", CommandStatus.UNKNOWN, UnknownExecution),
        ("duplicate-req", CommandStatus.UNKNOWN, UnknownExecution),
        ("http-500", CommandStatus.UNKNOWN, UnknownExecution),
        ("http-429", CommandStatus.UNKNOWN, UnknownExecution),
        ("garbled", CommandStatus.UNKNOWN, UnknownExecution),
        ("http-403", CommandStatus.REJECTED, RateLimited),
        ("rate-code", CommandStatus.REJECTED, RateLimited),
        ("clock", CommandStatus.REJECTED, AuthError),
        ("dup-link", CommandStatus.REJECTED, ExchangeReject),
    ],
)
def test_single_create_outcomes(adapter: BybitAdapter, h, reply, status, cls) -> None:
    replies = {
        "timeout-code": h.error(10000, "Server Timeout"),
        "duplicate-req": h.error(20006, "duplicate reqId"),
        "http-500": h.response(b"internal", status=500),
        "http-429": h.response(b"", status=429),
        "garbled": h.response(b'{"retCode":0,"res'),
        "http-403": h.response(b"access too frequent", status=403),
        "rate-code": h.error(10006, "Too many visits!"),
        "clock": h.error(10002, "invalid request, please check your server timestamp"),
        "dup-link": h.error(110072, "OrderLinkedID is duplicate"),
    }
    (receipt,) = run_flow_sync(adapter.create_orders([order(1)]), h.Script([replies[reply]]))
    assert receipt.status is status
    assert isinstance(receipt.error, cls)
    assert receipt.client_order_id == "cid-1"
    assert receipt.symbol == "BTC/USDT:USDT"
    if reply == "clock":
        assert adapter.is_clock_error(receipt.error)  # type: ignore[arg-type]


def test_batch_envelope_error_applies_to_every_item(adapter: BybitAdapter, h) -> None:
    receipts = run_flow_sync(
        adapter.create_orders([order(i) for i in range(3)]),
        h.Script([h.error(10019, "restarting")]),
    )
    assert [r.status for r in receipts] == [CommandStatus.UNKNOWN] * 3
    assert [r.client_order_id for r in receipts] == ["cid-0", "cid-1", "cid-2"]


def test_setting_thrown_timeout_is_unknown(adapter: BybitAdapter, h) -> None:
    from bat_markets.core import LeverageRequest

    receipt = run_flow_sync(
        adapter.set_leverage(LeverageRequest(symbol="BTCUSDT", leverage=D("3"))),
        h.Script([Timeout("no answer", venue="bybit")]),
    )
    assert receipt.status is CommandStatus.UNKNOWN
    assert receipt.kind is CommandKind.SET_LEVERAGE
    assert receipt.symbol == "BTC/USDT:USDT"


def test_cancel_all_loops_on_full_batches(adapter: BybitAdapter, h) -> None:
    full = h.ok(
        {"list": [{"orderId": f"o{i}", "orderLinkId": f"c{i}"} for i in range(500)], "success": "1"}
    )
    rest = h.ok({"list": [{"orderId": "last", "orderLinkId": ""}], "success": "1"})
    script = h.Script([full, rest])
    receipts = run_flow_sync(adapter.cancel_all_orders("BTCUSDT"), script)
    assert len(receipts) == 501
    assert len(script.requests) == 2
    assert receipts[-1].order_id == "last"
    assert receipts[-1].client_order_id is None
    assert all(r.symbol == "BTC/USDT:USDT" for r in receipts)
    (empty,) = run_flow_sync(adapter.cancel_all_orders("BTCUSDT"), h.Script([h.ok({"list": []})]))
    assert empty.ok
    assert empty.order_id is None
    (failed,) = run_flow_sync(
        adapter.cancel_all_orders(None), h.Script([TransportError("reset", venue="bybit")])
    )
    assert failed.status is CommandStatus.UNKNOWN


def test_validate_order_is_local(adapter: BybitAdapter) -> None:
    good = OrderRequest(
        symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, amount=D("0.010"), price=D("30000.1")
    )
    receipt = run_flow_sync(adapter.validate_order(good), lambda r: pytest.fail("sent a request"))
    assert receipt.ok
    assert receipt.kind is CommandKind.VALIDATE_ORDER
    bad = OrderRequest(
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        amount=D("0.0015"),
        price=D("30000.15"),
    )
    receipt = run_flow_sync(adapter.validate_order(bad), lambda r: pytest.fail("sent a request"))
    assert receipt.status is CommandStatus.REJECTED
    assert isinstance(receipt.error, ConfigError)
    assert "step" in str(receipt.error)
    assert "tick" in str(receipt.error)
    tiny = OrderRequest(
        symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, amount=D("0.001"), price=D("100")
    )
    receipt = run_flow_sync(adapter.validate_order(tiny), lambda r: pytest.fail("sent a request"))
    assert not receipt.ok
    assert "notional" in str(receipt.error)
    gtd = OrderRequest(
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        amount=D("1"),
        price=D("1"),
        good_till=1,
    )
    receipt = run_flow_sync(adapter.validate_order(gtd), lambda r: pytest.fail("sent a request"))
    assert isinstance(receipt.error, Unsupported)


def test_classify_command_json(adapter: BybitAdapter, h) -> None:
    (none,) = adapter.classify_command_json(CommandKind.CREATE_ORDER, None)
    assert none.status is CommandStatus.UNKNOWN
    (bad,) = adapter.classify_command_json(CommandKind.CREATE_ORDER, b"not json")
    assert bad.status is CommandStatus.UNKNOWN
    mixed = adapter.classify_command_json(
        CommandKind.CANCEL_ORDER, h.load_bytes("rest/order_cancel_batch_mixed.json")
    )
    assert [r.status for r in mixed] == [CommandStatus.ACCEPTED, CommandStatus.REJECTED]
    ws = adapter.classify_command_json(
        CommandKind.CREATE_ORDER, h.load_bytes("ws/trade_order_create_batch_error_response.json")
    )
    assert len(ws) == 3
    assert all(r.status is CommandStatus.REJECTED for r in ws)
    (noop,) = adapter.classify_command_json(
        CommandKind.SET_LEVERAGE, h.load_bytes("rest/error_110043.json")
    )
    assert noop.ok
    assert noop.noop


# Every retCode of PROTOCOLS §10.Y: (code, message, read class, write receipt status, write class)
_TABLE = [
    (10000, "server timeout", "TemporaryUnavailable", "unknown", "UnknownExecution"),
    (10016, "server error", "TemporaryUnavailable", "unknown", "UnknownExecution"),
    (10019, "service restarting", "TemporaryUnavailable", "unknown", "UnknownExecution"),
    (10429, "system protection", "TemporaryUnavailable", "unknown", "UnknownExecution"),
    (429, "system protection", "TemporaryUnavailable", "unknown", "UnknownExecution"),
    (20006, "duplicate reqId", "ExchangeReject", "unknown", "UnknownExecution"),
    (10006, "Too many visits!", "RateLimited", "rejected", "RateLimited"),
    (10403, "ip limit", "RateLimited", "rejected", "RateLimited"),
    (20003, "too frequent", "RateLimited", "rejected", "RateLimited"),
    (10002, "recv_window", "AuthError", "rejected", "AuthError"),
    (10003, "invalid key", "AuthError", "rejected", "AuthError"),
    (10004, "error sign", "AuthError", "rejected", "AuthError"),
    (10007, "auth failed", "AuthError", "rejected", "AuthError"),
    (33004, "key expired", "AuthError", "rejected", "AuthError"),
    (10005, "permission denied", "PermissionDenied", "rejected", "PermissionDenied"),
    (10008, "banned", "PermissionDenied", "rejected", "PermissionDenied"),
    (10010, "unmatched ip", "PermissionDenied", "rejected", "PermissionDenied"),
    (10027, "trading banned", "PermissionDenied", "rejected", "PermissionDenied"),
    (10029, "symbol not whitelisted", "PermissionDenied", "rejected", "PermissionDenied"),
    (10009, "region", "ComplianceRequired", "rejected", "ComplianceRequired"),
    (10024, "compliance", "ComplianceRequired", "rejected", "ComplianceRequired"),
    (110123, "terms", "ComplianceRequired", "rejected", "ComplianceRequired"),
    (110124, "cooling-off", "ComplianceRequired", "rejected", "ComplianceRequired"),
    (110125, "terms", "ComplianceRequired", "rejected", "ComplianceRequired"),
    (110132, "not in region", "ComplianceRequired", "rejected", "ComplianceRequired"),
    (10001, "params error", "ExchangeReject", "rejected", "ExchangeReject"),
    (
        10001,
        "position idx not match position mode",
        "StateDivergence",
        "rejected",
        "StateDivergence",
    ),
    (10017, "route not found", "ConfigError", "rejected", "ConfigError"),
    (10404, "unknown op", "ConfigError", "rejected", "ConfigError"),
    (10028, "UTA only", "Unsupported", "rejected", "Unsupported"),
    (110029, "hedge not supported", "Unsupported", "rejected", "Unsupported"),
    (110088, "upgrade to UTA", "Unsupported", "rejected", "Unsupported"),
    *[
        (code, "order rejected", "ExchangeReject", "rejected", "ExchangeReject")
        for code in (110003, 110004, 110007, 110012, 110017, 110020, 110044, 110045, 110090)
    ],
    (110094, "min notional", "ExchangeReject", "rejected", "ExchangeReject"),
    (110009, "too many stop orders", "ExchangeReject", "rejected", "ExchangeReject"),
    (110072, "OrderLinkedID is duplicate", "ExchangeReject", "rejected", "ExchangeReject"),
    (10014, "duplicate request", "ExchangeReject", "rejected", "ExchangeReject"),
    (110001, "order does not exist", "StateDivergence", "rejected", "StateDivergence"),
    (110008, "order already completed", "StateDivergence", "rejected", "StateDivergence"),
    (110010, "order already cancelled", "StateDivergence", "rejected", "StateDivergence"),
    (110079, "order is processing", "TemporaryUnavailable", "rejected", "TemporaryUnavailable"),
    (110024, "has position", "ExchangeReject", "rejected", "ExchangeReject"),
    (110028, "has open orders", "ExchangeReject", "rejected", "ExchangeReject"),
    (110013, "cannot set leverage", "ExchangeReject", "rejected", "ExchangeReject"),
    (110036, "cannot set leverage", "ExchangeReject", "rejected", "ExchangeReject"),
    (110038, "portfolio margin", "ExchangeReject", "rejected", "ExchangeReject"),
    (34040, "required param missing", "ExchangeReject", "rejected", "ExchangeReject"),
]
_NOOPS = [
    (110043, "Set leverage not modified"),
    (110025, "Position mode is not modified"),
    (110026, "Cross/isolated margin mode is not modified"),
    (110027, "Margin is not modified"),
    (34040, "Not modified"),
]


@pytest.mark.parametrize(("code", "msg", "read_cls", "status", "write_cls"), _TABLE)
def test_every_documented_code(
    adapter: BybitAdapter, h, code, msg, read_cls, status, write_cls
) -> None:
    read = adapter.classify_http_error(h.error(code, msg))
    assert read is not None
    assert type(read).__name__ == read_cls
    assert read.code == code
    assert read.venue == "bybit"
    (receipt,) = run_flow_sync(
        adapter.cancel_orders([CancelRequest(symbol="BTCUSDT", id="1")]),
        h.Script([h.error(code, msg)]),
    )
    assert receipt.status.value == status
    assert type(receipt.error).__name__ == write_cls


@pytest.mark.parametrize(("code", "msg"), _NOOPS)
def test_noop_codes(adapter: BybitAdapter, h, code, msg) -> None:
    from bat_markets.core import LeverageRequest

    receipt = run_flow_sync(
        adapter.set_leverage(LeverageRequest(symbol="BTCUSDT", leverage=D("2"))),
        h.Script([h.error(code, msg)]),
    )
    assert receipt.ok
    assert receipt.noop
    assert adapter.classify_http_error(h.error(code, msg)) is None
