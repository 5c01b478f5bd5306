"""User data stream events and the WS API (ws-fapi) envelopes."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from binance_kit import load, raw

from bat_markets.binance import BinanceAdapter
from bat_markets.core import (
    AccountConfigEvent,
    Balance,
    CancelRequest,
    CommandKind,
    CommandStatus,
    Control,
    Credentials,
    DecodeError,
    EditRequest,
    ExchangeReject,
    Liquidity,
    MarginCallEvent,
    MarginMode,
    MyTrade,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    PrivateData,
    Side,
    StreamExpired,
    TimeInForce,
    Timeout,
    TriggerBy,
    UnknownExecution,
    Unsupported,
)

D = Decimal
CREDS = Credentials.of("api-key-1", "secret-1")


def private(adapter: BinanceAdapter, frame: bytes) -> PrivateData:
    out = adapter.decode_private(frame)
    assert isinstance(out, PrivateData), out
    return out


def test_account_update(adapter: BinanceAdapter) -> None:
    out = private(adapter, raw("ws/account_update.json"))
    assert out.topic == "ACCOUNT_UPDATE"
    assert out.timestamp == 1564745798939
    usdt, busd, both, long, short = out.events
    assert isinstance(usdt, Balance)
    assert usdt.asset == "USDT"
    assert usdt.wallet_balance == D("122624.12345678")
    assert usdt.cross_wallet_balance == D("100.12345678")
    assert usdt.available is None  # ACCOUNT_UPDATE has no available balance (not cw!)
    assert usdt.timestamp == 1564745798938
    assert isinstance(busd, Balance)
    assert busd.wallet_balance == D("1.00000000")
    assert isinstance(both, Position)
    assert both.key == ("BTC/USDT:USDT", PositionSide.BOTH)
    assert both.size == D("0")
    assert both.entry_price is None
    assert isinstance(long, Position)
    assert long.key == ("BTC/USDT:USDT", PositionSide.LONG)
    assert long.size == D("20")
    assert long.entry_price == D("6563.66500")
    assert long.unrealized_pnl == D("2850.21200")
    assert long.margin_mode is MarginMode.ISOLATED
    assert long.isolated_margin == D("13200.70726908")
    assert isinstance(short, Position)
    assert short.key == ("BTC/USDT:USDT", PositionSide.SHORT)
    assert short.size == D("10")
    assert short.break_even_price == D("6563.6")
    assert short.realized_pnl == D("-45.04000000")


def test_order_trade_update_new_trailing(adapter: BinanceAdapter) -> None:
    (o,) = private(adapter, raw("ws/order_trade_update_new.json")).events
    assert isinstance(o, Order)
    assert o.id == "8886774"
    assert o.client_order_id == "TEST"
    assert o.side is Side.SELL
    assert o.type is OrderType.TRAILING_STOP_MARKET
    assert o.status is OrderStatus.NEW
    assert o.amount == D("0.001")
    assert o.filled == D("0")
    assert o.price is None
    assert o.trigger_price == D("7476.89")  # activation price
    assert o.trigger_by is TriggerBy.LAST_PRICE
    assert o.position_side is PositionSide.LONG
    assert o.time_in_force is TimeInForce.GTC
    assert o.updated_at == 1568879465650


def test_order_trade_update_partial_fill_has_a_trade(adapter: BinanceAdapter) -> None:
    o, t = private(adapter, raw("ws/order_trade_update_partially_filled.json")).events
    assert isinstance(o, Order)
    assert o.status is OrderStatus.PARTIALLY_FILLED
    assert o.filled == D("0.001")
    assert o.remaining == D("0.001")
    assert o.average_price == D("7100.50")
    assert isinstance(t, MyTrade)
    assert t.id == "12345678"
    assert t.order_id == "8886774"
    assert t.price == D("7100.50")
    assert t.amount == D("0.001")
    assert t.fee == D("0.01000000")
    assert t.fee_asset == "USDT"
    assert t.liquidity is Liquidity.MAKER
    assert t.realized_pnl == D("12.34")
    assert t.side is Side.BUY
    assert t.position_side is PositionSide.LONG


def test_order_trade_update_filled_and_canceled(adapter: BinanceAdapter) -> None:
    o, t = private(adapter, raw("ws/order_trade_update_filled.json")).events
    assert isinstance(o, Order)
    assert o.status is OrderStatus.FILLED
    assert o.filled == D("0.100")
    assert isinstance(t, MyTrade)
    assert t.liquidity is Liquidity.TAKER
    assert t.fee == D("0.71000")
    assert t.id == "987654321"
    (c,) = private(adapter, raw("ws/order_trade_update_canceled.json")).events
    assert isinstance(c, Order)
    assert c.status is OrderStatus.CANCELED
    assert c.client_order_id == "web_w4Sot5R1ym9ChzWfGdAm"
    assert c.price == D("20000")
    assert c.position_side is PositionSide.LONG


@pytest.mark.parametrize(
    ("x", "status", "trades"),
    [
        ("NEW", "NEW", 0),
        ("CANCELED", "CANCELED", 0),
        ("CALCULATED", "FILLED", 1),
        ("EXPIRED", "EXPIRED", 0),
        ("TRADE", "PARTIALLY_FILLED", 1),
        ("AMENDMENT", "NEW", 0),
        ("EXPIRED", "EXPIRED_IN_MATCH", 0),
    ],
)
def test_every_execution_type(adapter: BinanceAdapter, x: str, status: str, trades: int) -> None:
    event = load("ws/order_trade_update_filled.json")
    event["o"].update(x=x, X=status)
    if not trades:
        event["o"]["l"] = "0"
    events = private(adapter, json.dumps(event).encode()).events
    assert len(events) == 1 + trades
    assert isinstance(events[0], Order)
    assert events[0].venue_status == status


def test_trade_lite(adapter: BinanceAdapter) -> None:
    out = private(adapter, raw("ws/trade_lite.json"))
    assert out.topic == "TRADE_LITE"
    (t,) = out.events
    assert isinstance(t, MyTrade)
    assert t.id == "109100866"
    assert t.order_id == "8886774"
    assert t.client_order_id == "z8hcUoOsqEdKMeKPSABslD"
    assert t.price == D("64089.20")
    assert t.amount == D("0.040")
    assert t.liquidity is Liquidity.TAKER
    assert t.fee is None
    assert t.timestamp == 1721895408214


def test_account_config_updates(adapter: BinanceAdapter) -> None:
    (lev,) = private(adapter, raw("ws/account_config_update_leverage.json")).events
    assert lev == AccountConfigEvent(timestamp=1611646737476, symbol="BTC/USDT:USDT", leverage=25)
    (multi,) = private(adapter, raw("ws/account_config_update_multi_assets.json")).events
    assert multi == AccountConfigEvent(timestamp=1611646737476, multi_assets=True)


def test_margin_call(adapter: BinanceAdapter) -> None:
    (call,) = private(adapter, raw("ws/margin_call.json")).events
    assert isinstance(call, MarginCallEvent)
    assert call.cross_wallet_balance == "3.16812045"
    (p,) = call.positions
    assert p.key == ("ETH/USDT:USDT", PositionSide.LONG)
    assert p.size == D("1.327")
    assert p.mark_price == D("187.17127")
    assert p.unrealized_pnl == D("-1.166074")
    assert p.margin_mode is MarginMode.CROSS


def test_listen_key_expired(adapter: BinanceAdapter) -> None:
    (e,) = private(adapter, raw("ws/listen_key_expired.json")).events
    assert e == StreamExpired(timestamp=1736996475556, reason="listenKeyExpired")


def test_algo_update(adapter: BinanceAdapter) -> None:
    (o,) = private(adapter, raw("ws/algo_update.json")).events
    assert isinstance(o, Order)
    assert o.id == "algo:2148719"
    assert o.client_order_id == "Q5xaq5EGKgXXa0fD7fs0Ip"
    assert o.symbol == "BNB/USDT:USDT"
    assert o.type is OrderType.TAKE_PROFIT_LIMIT
    assert o.status is OrderStatus.CANCELED
    assert o.price == D("750")
    assert o.trigger_price == D("750")
    assert o.reject_reason == "Reduce Only reject"
    event = load("ws/algo_update.json")
    event["o"].update(X="FINISHED", aq="0.01", ap="751.5", ai="12345")
    (done,) = private(adapter, json.dumps(event).encode()).events
    assert isinstance(done, Order)
    assert done.status is OrderStatus.FILLED
    assert done.filled == D("0.01")
    assert done.average_price == D("751.5")
    event["o"].update(X="TRIGGERED", aq="0")
    (fired,) = private(adapter, json.dumps(event).encode()).events
    assert isinstance(fired, Order)
    assert fired.status is OrderStatus.TRIGGERED


def test_deprecated_trigger_reject_is_a_counted_unknown(adapter: BinanceAdapter) -> None:
    out = adapter.decode_private(raw("ws/conditional_order_trigger_reject.json"))
    assert isinstance(out, Control)
    assert out.kind == "unknown"
    assert out.message is not None
    assert "155618472834" in out.message
    assert "FOK order has been rejected" in out.message


def test_combined_private_wrapper_and_unknowns(adapter: BinanceAdapter) -> None:
    wrapped = json.dumps({"stream": "abc", "data": load("ws/trade_lite.json")}).encode()
    assert private(adapter, wrapped).topic == "TRADE_LITE"
    unknown = adapter.decode_private(b'{"e":"STRATEGY_UPDATE","E":1}')
    assert isinstance(unknown, Control)
    assert unknown.kind == "unknown"
    with pytest.raises(DecodeError):
        adapter.decode_private(b'{"e":"ORDER_TRADE_UPDATE","E":1,"o":{"s":"BTCUSDT"}}')
    with pytest.raises(DecodeError):
        adapter.decode_private(b"nope")


# -- WS API


def test_ws_command_session(adapter: BinanceAdapter) -> None:
    endpoints = adapter.endpoints("mainnet")  # type: ignore[arg-type]
    plain = adapter.ws_command_session(endpoints, CREDS, 1)
    assert plain.url == "wss://ws-fapi.binance.com/ws-fapi/v1"
    assert plain.auth_frame is None
    pem = load("signing.json")["vectors"]["ed25519"][0]["private_key_pem"]
    ed = Credentials.of("ed-key", pem, key_type="ed25519")
    session = adapter.ws_command_session(endpoints, ed, 1649729878532)
    assert session.auth_frame is not None
    frame = json.loads(session.auth_frame)
    fixture = load("ws/api_session_logon_request.json")
    assert frame["method"] == fixture["method"] == "session.logon"
    assert set(frame["params"]) == set(fixture["params"])
    assert frame["params"]["timestamp"] == 1649729878532
    assert frame["id"] == session.auth_req_id
    auth = adapter.decode_private(raw("ws/api_session_logon_response.json"))
    assert auth == Control(kind="auth", req_id="c174a2b1-3f51-4580-b200-8528bd237cb7", ok=True)
    status = adapter.decode_private(raw("ws/api_session_status_response.json"))
    assert isinstance(status, Control)
    assert status.kind == "auth"
    started = adapter.decode_private(raw("ws/api_user_data_stream_start_response.json"))
    assert started == Control(kind="ack", req_id="d3df8a61-98ea-4fe0-8f4e-0fcea5d418b0")


def _compare(frame: bytes, fixture: str) -> dict[str, object]:
    mine = json.loads(frame)
    theirs = load(fixture)
    assert mine["method"] == theirs["method"]
    for key, value in mine["params"].items():
        if key in theirs["params"] and key not in ("apiKey", "signature", "timestamp"):
            expected = theirs["params"][key]
            if isinstance(expected, float):
                assert D(value) == D(str(expected)), key
            else:
                assert value == expected, key
    return dict(mine["params"])


def test_ws_order_place(adapter: BinanceAdapter) -> None:
    request = OrderRequest(
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        amount=D("0.1"),
        price=D("43187.0"),
        time_in_force=TimeInForce.GTC,
    )
    cmd = adapter.ws_command(
        CommandKind.CREATE_ORDER, [request], "3f7df6e3", CREDS, 1702555533821, 5000
    )
    params = _compare(cmd.frame, "ws/api_order_place_request.json")
    assert params["apiKey"] == "api-key-1"
    assert params["recvWindow"] == 5000
    assert cmd.req_id == "3f7df6e3"
    (r,) = cmd.decode(raw("ws/api_order_place_response.json"))
    assert r.status is CommandStatus.ACCEPTED
    assert r.order_id == "325078477"
    assert r.order is not None
    assert r.order.price == D("43187.00")
    (err,) = cmd.decode(raw("ws/api_error_response.json"))
    assert err.status is CommandStatus.REJECTED
    assert isinstance(err.error, ExchangeReject)
    assert err.error.code == -1102
    (lost,) = cmd.unknown(Timeout("no reply", venue="binance"))
    assert lost.status is CommandStatus.UNKNOWN
    assert isinstance(lost.error, UnknownExecution)
    assert (
        adapter.ws_reply_id(raw("ws/api_order_place_response.json"))
        == "3f7df6e3-2df4-44b9-9919-d2f38f90a99a"
    )
    assert adapter.ws_reply_id(raw("ws/agg_trade.json")) is None


def test_ws_algo_place(adapter: BinanceAdapter) -> None:
    request = OrderRequest(
        symbol="BTCUSDT",
        side=Side.SELL,
        type=OrderType.TAKE_PROFIT_LIMIT,
        amount=D("1"),
        price=D("160000"),
        trigger_price=D("120000"),
        position_side=PositionSide.SHORT,
        reduce_only=False,
    )
    cmd = adapter.ws_command(CommandKind.CREATE_ORDER, [request], "1", CREDS, 1, 5000)
    frame = json.loads(cmd.frame)
    assert frame["method"] == "algoOrder.place"
    assert frame["params"]["algoType"] == "CONDITIONAL"
    (r,) = cmd.decode(raw("ws/api_algo_order_place_response.json"))
    assert r.status is CommandStatus.ACCEPTED
    assert r.order_id == "algo:3000000000003505"
    assert r.order is not None
    assert r.order.position_side is PositionSide.SHORT
    assert r.order.trigger_price == D("120000.00")


def test_ws_modify_cancel_status(adapter: BinanceAdapter) -> None:
    edit = EditRequest(
        symbol="BTCUSDT", id="328971409", amount=D("0.11"), price=D("43769.1"), side=Side.SELL
    )
    cmd = adapter.ws_command(CommandKind.EDIT_ORDER, [edit], "c8", CREDS, 1, 5000)
    params = _compare(cmd.frame, "ws/api_order_modify_request.json")
    assert params["orderId"] == 328971409  # INT params are numbers
    (r,) = cmd.decode(raw("ws/api_order_modify_response.json"))
    assert r.ok
    assert r.order is not None
    assert r.order.price == D("43769.10")
    cancel = CancelRequest(symbol="BTCUSDT", id="283194212")
    cmd = adapter.ws_command(CommandKind.CANCEL_ORDER, [cancel], "56", CREDS, 1, 5000)
    _compare(cmd.frame, "ws/api_order_cancel_request.json")
    (r,) = cmd.decode(raw("ws/api_order_cancel_response.json"))
    assert r.ok
    assert r.order is not None
    assert r.order.status is OrderStatus.CANCELED
    algo_cancel = adapter.ws_command(
        CommandKind.CANCEL_ORDER,
        [CancelRequest(symbol="BTCUSDT", id="algo:42")],
        "57",
        CREDS,
        1,
        5000,
    )
    frame = json.loads(algo_cancel.frame)
    assert frame["method"] == "algoOrder.cancel"
    assert frame["params"]["algoId"] == 42
    status = json.loads(
        adapter.ws_order_status_frame("BTCUSDT", "1917641", None, "605a", CREDS, 1, 5000)
    )
    assert status["method"] == "order.status"
    assert status["params"]["orderId"] == 1917641
    order = adapter.decode_ws_order(raw("ws/api_order_status_response.json"))
    assert order.id == "1917641"
    assert order.type is OrderType.TRAILING_STOP_MARKET
    assert order.created_at == 1579276756075
    with pytest.raises(ExchangeReject):
        adapter.decode_ws_order(raw("ws/api_error_response.json"))


def test_ws_batches_and_cancel_all_are_unsupported(adapter: BinanceAdapter) -> None:
    two = [CancelRequest(symbol="BTCUSDT", id="1"), CancelRequest(symbol="BTCUSDT", id="2")]
    with pytest.raises(Unsupported, match="cancel_orders_ws"):
        adapter.ws_command(CommandKind.CANCEL_ORDER, two, "x", CREDS, 1, 5000)
    with pytest.raises(Unsupported, match="cancel_all_orders_ws"):
        adapter.ws_command(CommandKind.CANCEL_ALL_ORDERS, [], "x", CREDS, 1, 5000)


def test_ws_signature_is_valid(adapter: BinanceAdapter) -> None:
    from bat_markets.binance._signing import hmac_sha256_hex, ws_signing_payload

    cancel = CancelRequest(symbol="BTCUSDT", client_order_id="abc")
    frame = json.loads(
        adapter.ws_command(CommandKind.CANCEL_ORDER, [cancel], "1", CREDS, 99, 5000).frame
    )
    params = frame["params"]
    assert params["signature"] == hmac_sha256_hex("secret-1", ws_signing_payload(params))
    assert ws_signing_payload(params) == (
        "apiKey=api-key-1&origClientOrderId=abc&recvWindow=5000&symbol=BTCUSDT&timestamp=99"
    )
