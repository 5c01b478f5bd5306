"""Command flows: receipts per item, chunking, algo routing, hedge mode, no-ops, unknowns."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from binance_kit import Script, err, load, ok, params, raw

from bat_markets.binance import BinanceAdapter
from bat_markets.core import (
    CancelRequest,
    CommandKind,
    CommandStatus,
    ConfigError,
    EditRequest,
    ExchangeReject,
    LeverageRequest,
    MarginMode,
    MarginModeRequest,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionModeRequest,
    PositionSide,
    RateLimited,
    RestRequest,
    RestResponse,
    Side,
    StateDivergence,
    TimeInForce,
    Timeout,
    TransportError,
    TriggerBy,
    UnknownExecution,
    Unsupported,
)

D = Decimal
ACCEPTED, REJECTED, UNKNOWN = CommandStatus.ACCEPTED, CommandStatus.REJECTED, CommandStatus.UNKNOWN


def limit(cid: str = "bm-1", **kw: object) -> OrderRequest:
    base: dict[str, object] = {
        "symbol": "BTCUSDT",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "amount": D("0.010"),
        "price": D("50000.0"),
        "client_order_id": cid,
    }
    base.update(kw)
    return OrderRequest(**base)  # type: ignore[arg-type]


def order_json(i: int, cid: str) -> dict[str, object]:
    row = load("rest/order_new.json")
    return dict(row, orderId=i, clientOrderId=cid, type="LIMIT", origType="LIMIT", status="NEW")


# -- create


def test_create_single_limit(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/order_new.json")))
    (r,) = s.run(adapter.create_orders([limit(time_in_force=TimeInForce.POST_ONLY)]))
    req = s.requests[0]
    assert (req.method, req.path, req.signed, req.idempotent) == (
        "POST",
        "/fapi/v1/order",
        True,
        False,
    )
    assert (req.weight, req.order_weight) == (0, 1)
    assert req.params == [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTX"),
        ("quantity", "0.01"),
        ("price", "50000"),
        ("newClientOrderId", "bm-1"),
        ("newOrderRespType", "RESULT"),
    ]
    assert r.status is ACCEPTED
    assert r.kind is CommandKind.CREATE_ORDER
    assert r.order is not None
    assert r.order_id == "22542179"
    assert r.client_order_id == "testOrder"
    assert r.order.status is OrderStatus.NEW
    assert r.order.time_in_force is TimeInForce.GTD
    assert r.symbol == "BTC/USDT:USDT"


def test_create_market_reduce_only_one_way_and_gtd(adapter: BinanceAdapter) -> None:
    s = Script(ok([order_json(1, "a"), order_json(2, "b")]))
    s.run(
        adapter.create_orders(
            [
                OrderRequest(
                    symbol="BTCUSDT",
                    side=Side.SELL,
                    type=OrderType.MARKET,
                    amount=D("1"),
                    reduce_only=True,
                ),
                limit("b", time_in_force=TimeInForce.GTD, good_till=1_900_000_000_000),
            ]
        )
    )
    batch = json.loads(params(s.requests[0])["batchOrders"])
    assert batch[0] == {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "MARKET",
        "quantity": "1",
        "reduceOnly": "true",
        "newOrderRespType": "RESULT",
    }
    assert batch[1]["timeInForce"] == "GTD"
    assert batch[1]["goodTillDate"] == "1900000000000"


def test_hedge_mode_never_sends_reduce_only(adapter: BinanceAdapter) -> None:
    close_long = OrderRequest(
        symbol="BTCUSDT",
        side=Side.SELL,
        type=OrderType.MARKET,
        amount=D("0.5"),
        reduce_only=True,
        position_side=PositionSide.LONG,
    )
    s = Script(ok(order_json(7, "x")))
    (r,) = s.run(adapter.create_orders([close_long]))
    p = params(s.requests[0])
    assert p["positionSide"] == "LONG"
    assert "reduceOnly" not in p
    assert r.status is ACCEPTED
    # a "reduce-only" BUY on the LONG leg would open: refused before sending
    wrong = OrderRequest(
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.MARKET,
        amount=D("0.5"),
        reduce_only=True,
        position_side=PositionSide.LONG,
    )
    (bad,) = Script().run(adapter.create_orders([wrong]))
    assert bad.status is REJECTED
    assert isinstance(bad.error, ConfigError)


def test_conditional_orders_go_to_the_algo_service(adapter: BinanceAdapter) -> None:
    tp = OrderRequest(
        symbol="BNBUSDT",
        side=Side.SELL,
        type=OrderType.TAKE_PROFIT_LIMIT,
        amount=D("0.01"),
        price=D("750"),
        trigger_price=D("750"),
        trigger_by=TriggerBy.MARK_PRICE,
        reduce_only=True,
        client_order_id="6B2I9XVcJpCjqPAJ4YoFX7",
    )
    s = Script(ok(raw("rest/algo_order_new.json")))
    (r,) = s.run(adapter.create_orders([tp]))
    req = s.requests[0]
    assert (req.method, req.path) == ("POST", "/fapi/v1/algoOrder")
    assert req.params == [
        ("algoType", "CONDITIONAL"),
        ("symbol", "BNBUSDT"),
        ("side", "SELL"),
        ("type", "TAKE_PROFIT"),
        ("timeInForce", "GTC"),
        ("price", "750"),
        ("quantity", "0.01"),
        ("triggerPrice", "750"),
        ("workingType", "MARK_PRICE"),
        ("reduceOnly", "true"),
        ("clientAlgoId", "6B2I9XVcJpCjqPAJ4YoFX7"),
    ]
    assert r.status is ACCEPTED
    assert r.order_id == "algo:2146760"
    assert r.client_order_id == "6B2I9XVcJpCjqPAJ4YoFX7"
    assert r.order is not None
    assert r.order.type is OrderType.TAKE_PROFIT_LIMIT
    assert r.order.status is OrderStatus.NEW


def test_stop_market_close_position_and_trailing(adapter: BinanceAdapter) -> None:
    stop = OrderRequest(
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.STOP_MARKET,
        amount=None,
        trigger_price=D("60000"),
        close_position=True,
        position_side=PositionSide.SHORT,
    )
    trail = OrderRequest(
        symbol="BTCUSDT",
        side=Side.SELL,
        type=OrderType.TRAILING_STOP_MARKET,
        amount=D("0.1"),
        callback_rate=D("1.5"),
        trigger_price=D("70000"),
    )
    s = Script(ok(raw("rest/algo_order_new.json")), ok(raw("rest/algo_order_new.json")))
    s.run(adapter.create_orders([stop, trail]))
    p0, p1 = (params(r) for r in s.requests)
    assert p0["closePosition"] == "true"
    assert p0["positionSide"] == "SHORT"
    assert "quantity" not in p0
    assert "reduceOnly" not in p0
    assert p0["type"] == "STOP_MARKET"
    assert p0["workingType"] == "CONTRACT_PRICE"
    assert p1["type"] == "TRAILING_STOP_MARKET"
    assert p1["callbackRate"] == "1.5"
    assert p1["activatePrice"] == "70000"
    assert "triggerPrice" not in p1


def test_invalid_orders_are_rejected_without_sending(adapter: BinanceAdapter) -> None:
    bad = [
        limit(price=None),
        limit(cid="has space"),
        OrderRequest(
            symbol="BTCUSDT",
            side=Side.BUY,
            type=OrderType.STOP_MARKET,
            amount=D("1"),
            trigger_price=D("1"),
            trigger_by=TriggerBy.INDEX_PRICE,
        ),
        limit(amount=D("-1")),
        limit(symbol="NOPE/USDT:USDT"),
    ]
    receipts = Script().run(adapter.create_orders(bad))
    assert [r.status for r in receipts] == [REJECTED] * 5
    assert [type(r.error) for r in receipts] == [
        ConfigError,
        ConfigError,
        Unsupported,
        ConfigError,
        ConfigError,
    ]
    assert receipts[1].client_order_id == "has space"


def test_batch_with_a_mixed_error_element(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/batch_orders_place.json")))
    ok_r, bad_r = s.run(adapter.create_orders([limit("testOrder"), limit("second")]))
    req = s.requests[0]
    assert (req.path, req.weight, req.order_weight) == ("/fapi/v1/batchOrders", 5, 2)
    assert ok_r.status is ACCEPTED
    assert ok_r.order_id == "22542179"
    assert bad_r.status is REJECTED
    assert isinstance(bad_r.error, ExchangeReject)
    assert bad_r.error.code == -2022
    assert bad_r.client_order_id == "second"


def test_transport_error_mid_batch_only_affects_its_chunk(adapter: BinanceAdapter) -> None:
    requests = [limit(f"c{i}") for i in range(12)]

    def answer(n: int) -> Callable[[RestRequest], RestResponse]:
        def respond(request: RestRequest) -> RestResponse:
            items = json.loads(params(request)["batchOrders"])
            return ok(
                [order_json(100 + n * 5 + k, it["newClientOrderId"]) for k, it in enumerate(items)]
            )

        return respond

    s = Script(answer(0), Timeout("read timed out", venue="binance"), answer(2))
    receipts = s.run(adapter.create_orders(requests))
    assert [len(json.loads(params(r)["batchOrders"])) for r in s.requests] == [5, 5, 2]
    assert [r.status for r in receipts] == [ACCEPTED] * 5 + [UNKNOWN] * 5 + [ACCEPTED] * 2
    assert all(isinstance(r.error, UnknownExecution) for r in receipts[5:10])
    assert [r.client_order_id for r in receipts] == [f"c{i}" for i in range(12)]
    assert receipts[11].order_id == "111"


def test_ambiguous_answers_are_unknown_and_limiter_refusals_rejected(
    adapter: BinanceAdapter,
) -> None:
    unknown_503 = {
        "code": -1000,
        "msg": "Unknown error, please check your request or try again later.",
    }
    (r,) = Script(err(unknown_503, 503)).run(adapter.create_orders([limit()]))
    assert r.status is UNKNOWN
    assert isinstance(r.error, UnknownExecution)
    (r,) = Script(err({"code": -1007, "msg": "Timeout"}, 408)).run(adapter.create_orders([limit()]))
    assert r.status is UNKNOWN
    (r,) = Script(TransportError("reset", venue="binance")).run(adapter.create_orders([limit()]))
    assert r.status is UNKNOWN
    (r,) = Script(RateLimited("local limiter", venue="binance", retry_after=1.0)).run(
        adapter.create_orders([limit()])
    )
    assert r.status is REJECTED
    assert r.error is not None
    assert r.error.retryable
    (r,) = Script(err("rest/error_-4120.json")).run(adapter.create_orders([limit()]))
    assert isinstance(r.error, Unsupported)
    assert r.status is REJECTED


def test_batch_answer_count_mismatch_is_unknown(adapter: BinanceAdapter) -> None:
    receipts = Script(ok([order_json(1, "a")])).run(adapter.create_orders([limit("a"), limit("b")]))
    assert [r.status for r in receipts] == [UNKNOWN, UNKNOWN]


def test_algo_and_regular_interleave_in_request_order(adapter: BinanceAdapter) -> None:
    stop = OrderRequest(
        symbol="BTCUSDT",
        side=Side.SELL,
        type=OrderType.STOP_MARKET,
        amount=D("1"),
        trigger_price=D("1"),
    )
    s = Script(ok(order_json(1, "a")), ok(raw("rest/algo_order_new.json")), ok(order_json(2, "b")))
    receipts = s.run(adapter.create_orders([limit("a"), stop, limit("b")]))
    assert [r.path for r in s.requests] == [
        "/fapi/v1/order",
        "/fapi/v1/algoOrder",
        "/fapi/v1/order",
    ]
    assert [r.order_id for r in receipts] == ["1", "algo:2146760", "2"]


# -- edit


def test_edit_single_and_noop(adapter: BinanceAdapter) -> None:
    edit = EditRequest(
        symbol="BTCUSDT", id="20072994037", amount=D("1"), price=D("30005"), side=Side.BUY
    )
    s = Script(ok(raw("rest/order_modify.json")))
    (r,) = s.run(adapter.edit_orders([edit]))
    req = s.requests[0]
    assert (req.method, req.path) == ("PUT", "/fapi/v1/order")
    assert req.params == [
        ("symbol", "BTCUSDT"),
        ("orderId", "20072994037"),
        ("side", "BUY"),
        ("quantity", "1"),
        ("price", "30005"),
    ]
    assert r.status is ACCEPTED
    assert r.order is not None
    assert r.order.price == D("30005")
    assert r.order.position_side is PositionSide.LONG
    (noop,) = Script(err({"code": -5027, "msg": "No need to modify the order."})).run(
        adapter.edit_orders([edit])
    )
    assert noop.status is ACCEPTED
    assert noop.noop
    assert noop.order_id == "20072994037"


def test_edit_rules(adapter: BinanceAdapter) -> None:
    receipts = Script().run(
        adapter.edit_orders(
            [
                EditRequest(
                    symbol="BTCUSDT", id="algo:1", amount=D("1"), price=D("1"), side=Side.BUY
                ),
                EditRequest(symbol="BTCUSDT", id="1", amount=D("1"), price=D("1")),
                EditRequest(symbol="BTCUSDT", id="1", price=D("1"), side=Side.BUY),
                EditRequest(symbol="BTCUSDT", id="1", trigger_price=D("1"), side=Side.BUY),
            ]
        )
    )
    assert [type(r.error) for r in receipts] == [Unsupported, ConfigError, ConfigError, Unsupported]


def test_edit_batch(adapter: BinanceAdapter) -> None:
    edits = [
        EditRequest(symbol="BTCUSDT", id=str(i), amount=D("1"), price=D("2"), side=Side.SELL)
        for i in range(6)
    ]
    batch_answer = [order_json(i, f"c{i}") for i in range(5)]
    s = Script(ok(batch_answer), ok(order_json(5, "c5")))
    receipts = s.run(adapter.edit_orders(edits))
    assert [(r.method, r.path) for r in s.requests] == [
        ("PUT", "/fapi/v1/batchOrders"),
        ("PUT", "/fapi/v1/order"),
    ]
    items = json.loads(params(s.requests[0])["batchOrders"])
    assert items[0] == {
        "symbol": "BTCUSDT",
        "orderId": 0,
        "side": "SELL",
        "quantity": "1",
        "price": "2",
    }
    assert all(r.status is ACCEPTED for r in receipts)


# -- cancel


def test_cancel_single(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/order_cancel.json")))
    (r,) = s.run(adapter.cancel_orders([CancelRequest(symbol="BTCUSDT", id="283194212")]))
    assert (s.requests[0].method, s.requests[0].path) == ("DELETE", "/fapi/v1/order")
    assert params(s.requests[0]) == {"symbol": "BTCUSDT", "orderId": "283194212"}
    assert r.status is ACCEPTED
    assert r.order is not None
    assert r.order.status is OrderStatus.CANCELED
    assert r.client_order_id == "myOrder1"


def test_cancel_batch_mixed(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/batch_orders_cancel.json")))
    done, missing = s.run(
        adapter.cancel_orders(
            [
                CancelRequest(symbol="BTCUSDT", id="283194212"),
                CancelRequest(symbol="BTCUSDT", id="5"),
            ]
        )
    )
    assert params(s.requests[0]) == {"symbol": "BTCUSDT", "orderIdList": "[283194212,5]"}
    assert done.status is ACCEPTED
    assert missing.status is REJECTED
    assert isinstance(missing.error, StateDivergence)
    assert missing.error.code == -2011
    assert missing.order_id == "5"


def test_cancel_chunks_of_ten_per_symbol(adapter: BinanceAdapter) -> None:
    reqs = [CancelRequest(symbol="BTCUSDT", id=str(i)) for i in range(12)]
    reqs.insert(3, CancelRequest(symbol="ETHUSDT", id="99"))

    def answer(request: RestRequest) -> RestResponse:
        p = params(request)
        if "orderIdList" in p:
            return ok(
                [dict(order_json(i, "x"), status="CANCELED") for i in json.loads(p["orderIdList"])]
            )
        return ok(dict(order_json(int(p["orderId"]), "x"), status="CANCELED", symbol=p["symbol"]))

    s = Script(answer, answer, answer)
    receipts = s.run(adapter.cancel_orders(reqs))
    shapes = [
        (params(r)["symbol"], len(json.loads(params(r).get("orderIdList", "[0]"))))
        for r in s.requests
    ]
    assert shapes == [("BTCUSDT", 10), ("BTCUSDT", 2), ("ETHUSDT", 1)]
    assert all(r.status is ACCEPTED for r in receipts)
    assert receipts[3].symbol == "ETH/USDT:USDT"
    assert [r.order_id for r in receipts] == [str(i) for i in range(3)] + ["99"] + [
        str(i) for i in range(3, 12)
    ]


def test_cancel_algo_by_id_and_client_id_fallback(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/algo_order_cancel.json")))
    (r,) = s.run(adapter.cancel_orders([CancelRequest(symbol="BNBUSDT", id="algo:2146760")]))
    assert (s.requests[0].method, s.requests[0].path) == ("DELETE", "/fapi/v1/algoOrder")
    assert params(s.requests[0]) == {"algoId": "2146760"}
    assert r.status is ACCEPTED
    assert r.order_id == "algo:2146760"
    assert r.client_order_id == "6B2I9XVcJpCjqPAJ4YoFX7"
    # a client id unknown to the matching engine is tried on the algo service
    s = Script(err("rest/error_-2011.json"), ok(raw("rest/algo_order_cancel.json")))
    (r,) = s.run(
        adapter.cancel_orders(
            [CancelRequest(symbol="BNBUSDT", client_order_id="6B2I9XVcJpCjqPAJ4YoFX7")]
        )
    )
    assert params(s.requests[0]) == {
        "symbol": "BNBUSDT",
        "origClientOrderId": "6B2I9XVcJpCjqPAJ4YoFX7",
    }
    assert params(s.requests[1]) == {"clientAlgoId": "6B2I9XVcJpCjqPAJ4YoFX7"}
    assert r.status is ACCEPTED
    assert r.order_id == "algo:2146760"
    # both unknown: the original rejection stays
    s = Script(err("rest/error_-2011.json"), err({"code": -2011, "msg": "Unknown order sent."}))
    (r,) = s.run(adapter.cancel_orders([CancelRequest(symbol="BNBUSDT", client_order_id="zz")]))
    assert r.status is REJECTED
    assert isinstance(r.error, StateDivergence)


def test_cancel_without_any_id_is_rejected(adapter: BinanceAdapter) -> None:
    (r,) = Script().run(adapter.cancel_orders([CancelRequest(symbol="BTCUSDT")]))
    assert r.status is REJECTED
    assert isinstance(r.error, ConfigError)


def test_cancel_all_with_symbol(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/cancel_all_open_orders.json")), ok({"code": 200, "msg": "success"}))
    receipts = s.run(adapter.cancel_all_orders("BTCUSDT"))
    assert [(r.method, r.path, params(r)) for r in s.requests] == [
        ("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"}),
        ("DELETE", "/fapi/v1/algoOpenOrders", {"symbol": "BTCUSDT"}),
    ]
    assert [(r.kind, r.status, r.symbol) for r in receipts] == [
        (CommandKind.CANCEL_ALL_ORDERS, ACCEPTED, "BTC/USDT:USDT")
    ] * 2


def test_cancel_all_without_symbol_lists_then_cancels(adapter: BinanceAdapter) -> None:
    s = Script(
        ok(raw("rest/open_orders.json")),
        ok(raw("rest/algo_open_orders.json")),
        *[ok(raw("rest/cancel_all_open_orders.json"))] * 4,
    )
    receipts = s.run(adapter.cancel_all_orders(None))
    cancelled = [params(r)["symbol"] for r in s.requests[2:]]
    assert cancelled == ["BNBUSDT", "BNBUSDT", "BTCUSDT", "BTCUSDT"]
    assert len(receipts) == 4
    assert all(r.ok for r in receipts)
    (nothing,) = Script(ok(b"[]"), ok(b"[]")).run(adapter.cancel_all_orders(None))
    assert nothing.ok
    assert nothing.noop
    (failed,) = Script(Timeout("x", venue="binance")).run(adapter.cancel_all_orders(None))
    assert failed.status is REJECTED  # nothing was cancelled yet


# -- settings


def test_set_leverage(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/leverage.json")))
    r = s.run(adapter.set_leverage(LeverageRequest(symbol="BTCUSDT", leverage=D("21"))))
    assert params(s.requests[0]) == {"symbol": "BTCUSDT", "leverage": "21"}
    assert r.status is ACCEPTED
    assert r.kind is CommandKind.SET_LEVERAGE
    bad = Script().run(adapter.set_leverage(LeverageRequest(symbol="BTCUSDT", leverage=D("2.5"))))
    assert bad.status is REJECTED
    assert isinstance(bad.error, ConfigError)
    refused = Script(err({"code": -4028, "msg": "Leverage 200 is not valid"})).run(
        adapter.set_leverage(LeverageRequest(symbol="BTCUSDT", leverage=D("100")))
    )
    assert refused.status is REJECTED  # -4028 is not a no-op
    assert not refused.noop


def test_set_margin_mode_and_noop(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/margin_type.json")))
    r = s.run(
        adapter.set_margin_mode(MarginModeRequest(symbol="BTCUSDT", margin_mode=MarginMode.CROSS))
    )
    assert params(s.requests[0]) == {"symbol": "BTCUSDT", "marginType": "CROSSED"}
    assert r.ok
    assert not r.noop
    noop = Script(err("rest/error_-4046.json")).run(
        adapter.set_margin_mode(
            MarginModeRequest(symbol="BTCUSDT", margin_mode=MarginMode.ISOLATED)
        )
    )
    assert noop.status is ACCEPTED
    assert noop.noop
    assert noop.error is not None
    assert noop.error.code == -4046
    no_symbol = Script().run(
        adapter.set_margin_mode(MarginModeRequest(symbol=None, margin_mode=MarginMode.ISOLATED))
    )
    assert isinstance(no_symbol.error, Unsupported)


def test_set_position_mode_and_noop(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/position_side_dual.json")))
    r = s.run(
        adapter.set_position_mode(
            PositionModeRequest(symbol=None, position_mode=PositionMode.HEDGE)
        )
    )
    assert s.requests[0].path == "/fapi/v1/positionSide/dual"
    assert params(s.requests[0]) == {"dualSidePosition": "true"}
    assert r.ok
    noop = Script(err("rest/error_-4059.json")).run(
        adapter.set_position_mode(
            PositionModeRequest(symbol=None, position_mode=PositionMode.ONE_WAY)
        )
    )
    assert noop.ok
    assert noop.noop
    scoped = Script().run(
        adapter.set_position_mode(
            PositionModeRequest(symbol="BTCUSDT", position_mode=PositionMode.HEDGE)
        )
    )
    assert isinstance(scoped.error, Unsupported)


def test_validate_order(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/order_test.json")))
    r = s.run(adapter.validate_order(limit()))
    assert s.requests[0].path == "/fapi/v1/order/test"
    assert r.status is ACCEPTED
    assert r.kind is CommandKind.VALIDATE_ORDER
    rejected = Script(err("rest/error_-2019.json")).run(adapter.validate_order(limit()))
    assert rejected.status is REJECTED
    timed_out = Script(Timeout("x", venue="binance")).run(adapter.validate_order(limit()))
    assert timed_out.status is REJECTED  # a test order can never have executed


# -- raw classification


def test_classify_command_json(adapter: BinanceAdapter) -> None:
    kind = CommandKind.CREATE_ORDER
    first, second = adapter.classify_command_json(kind, raw("rest/batch_orders_place.json"))
    assert first.ok
    assert second.status is REJECTED
    (noop,) = adapter.classify_command_json(
        CommandKind.SET_MARGIN_MODE, raw("rest/error_-4046.json")
    )
    assert noop.noop
    (algo,) = adapter.classify_command_json(kind, raw("rest/algo_order_new.json"))
    assert algo.order_id == "algo:2146760"
    (ws,) = adapter.classify_command_json(kind, raw("ws/api_order_place_response.json"))
    assert ws.order_id == "325078477"
    (ws_err,) = adapter.classify_command_json(kind, raw("ws/api_error_response.json"))
    assert ws_err.status is REJECTED
    assert ws_err.error is not None
    assert ws_err.error.code == -1102
    (none,) = adapter.classify_command_json(kind, None)
    assert none.status is UNKNOWN
    (garbage,) = adapter.classify_command_json(kind, b"<html>")
    assert garbage.status is UNKNOWN
    for odd in (b"{}", b"[]", b"[1]", b'{"msg": "hello"}'):
        (r,) = adapter.classify_command_json(kind, odd)
        assert r.status is UNKNOWN, odd
    (done,) = adapter.classify_command_json(
        CommandKind.CANCEL_ALL_ORDERS, raw("rest/cancel_all_open_orders.json")
    )
    assert done.ok


def test_client_order_ids_are_venue_valid(adapter: BinanceAdapter) -> None:
    import re

    for prefix in ("bm", "my bot/ü", "", "x" * 40):
        for _ in range(50):
            cid = adapter.new_client_order_id(prefix)
            assert re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", cid)
    assert adapter.new_client_order_id("my bot").startswith("mybot-")
    from bat_markets.binance._orders import check_client_id

    with pytest.raises(ConfigError):
        check_client_id("x" * 37)
