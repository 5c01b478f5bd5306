"""Every recorded websocket payload in tests/fixtures/ws: decoded frames and built frames."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal

import pytest

from bat_markets.bybit import BybitAdapter
from bat_markets.core import (
    OHLCV,
    Balance,
    BookDeltaEvent,
    BookSnapshotEvent,
    CommandKind,
    CommandStatus,
    Control,
    Credentials,
    Endpoints,
    FundingRate,
    Liquidation,
    Liquidity,
    MarkPrice,
    MyTrade,
    OpenInterest,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    PrivateData,
    Side,
    StateDivergence,
    StreamData,
    Ticker,
    TimeInForce,
    Trade,
    run_flow_sync,
)

D = Decimal
CREDS = Credentials.of("XXXXXX", "a-test-secret")
ENDPOINTS = Endpoints(
    rest="http://127.0.0.1:1",
    public_ws="ws://127.0.0.1:1/v5/public/linear",
    private_ws="ws://127.0.0.1:1/v5/private",
    command_ws="ws://127.0.0.1:1/v5/trade",
)


def public(adapter: BybitAdapter, h, name: str) -> StreamData:
    frame = adapter.decode_public(h.load_bytes(f"ws/{name}"))
    assert isinstance(frame, StreamData)
    return frame


def private(adapter: BybitAdapter, h, name: str) -> PrivateData:
    frame = adapter.decode_private(h.load_bytes(f"ws/{name}"))
    assert isinstance(frame, PrivateData)
    return frame


# -- public data ---------------------------------------------------------------------------------


def test_orderbook_snapshot_and_delta(adapter: BybitAdapter, h) -> None:
    snap = public(adapter, h, "orderbook_50_snapshot.json")
    (event,) = snap.events
    assert isinstance(event, BookSnapshotEvent)
    assert snap.topic == "orderbook.50.BTCUSDT"
    assert event.symbol == "BTC/USDT:USDT"
    assert event.bids == [("16493.50", "0.006"), ("16493.00", "0.100")]
    assert event.asks == [("16611.00", "0.029"), ("16612.00", "0.213")]
    assert (event.update_id, event.sequence, event.timestamp) == (
        18521288,
        7961638724,
        1672304484976,
    )
    delta = public(adapter, h, "orderbook_50_delta.json").events[0]
    assert isinstance(delta, BookDeltaEvent)
    assert delta.last_id == 177400507
    assert delta.sequence == 66544703342
    assert delta.timestamp == 1687940967464  # cts (matching engine), not push ts
    assert delta.bids[-1] == ("30240.00", "0")
    assert len(delta.asks) == 7
    assert delta.first_id is None
    assert delta.prev_id is None


def test_orderbook_depth_one(adapter: BybitAdapter, h) -> None:
    snap = public(adapter, h, "orderbook_1_snapshot.json").events[0]
    assert isinstance(snap, BookSnapshotEvent)
    assert snap.bids == [("45195.00", "7.794")]
    assert snap.asks == [("45195.10", "3.567")]
    assert snap.update_id == 11104722
    assert snap.timestamp == 1704262157070
    delta = public(adapter, h, "orderbook_1_delta.json").events[0]
    assert isinstance(delta, BookDeltaEvent)
    assert delta.bids == []
    assert delta.asks == [("42356.10", "51.549")]
    assert delta.last_id == 327868


def test_public_trade(adapter: BybitAdapter, h) -> None:
    (trade,) = public(adapter, h, "public_trade.json").events
    assert isinstance(trade, Trade)
    assert trade.symbol == "BTC/USDT:USDT"
    assert trade.id == "20f43950-d8dd-5b31-9112-a178eb6023af"
    assert trade.price == D("16578.50")
    assert trade.amount == D("0.001")
    assert trade.side is Side.BUY
    assert trade.timestamp == 1672304486865


def test_kline(adapter: BybitAdapter, h) -> None:
    (candle,) = public(adapter, h, "kline.json").events
    assert isinstance(candle, OHLCV)
    assert candle.interval == "5m"
    assert candle.symbol == "BTC/USDT:USDT"
    assert (candle.open_time, candle.close_time) == (1672324800000, 1672325099999)
    assert (candle.open, candle.high, candle.low, candle.close) == (
        D("16649.5"),
        D("16677"),
        D("16608"),
        D("16677"),
    )
    assert candle.volume == D("2.081")
    assert candle.quote_volume == D("34666.4005")
    assert not candle.closed


def test_all_liquidation_side_is_the_liquidation_order(adapter: BybitAdapter, h) -> None:
    (liq,) = public(adapter, h, "all_liquidation.json").events
    assert isinstance(liq, Liquidation)
    # Bybit S=Sell: a short was liquidated, i.e. the liquidation order buys.
    assert liq.side is Side.BUY
    assert liq.symbol == "ROSE/USDT:USDT"
    assert liq.timestamp == 1739502302929
    assert liq.price == D("0.04499")
    assert liq.amount == D("20000")
    assert liq.complete_feed


def test_tickers_snapshot_emits_all_four(adapter: BybitAdapter, h) -> None:
    events = public(adapter, h, "tickers_snapshot.json").events
    ticker, mark, funding, oi = events
    assert isinstance(ticker, Ticker)
    assert ticker.timestamp == 1760325052630
    assert ticker.last == D("66666.60")
    assert ticker.open == D("79206.20")
    assert ticker.bid == D("66666.60")
    assert ticker.ask_size == D("23775.469")
    assert ticker.percentage == D("-15.8315")
    assert ticker.volume == D("73191.3870")
    assert ticker.next_funding_time == 1760342400000
    assert ticker.open_interest == D("492373.72")
    assert isinstance(mark, MarkPrice)
    assert mark.index_price == D("115418.19")
    assert isinstance(funding, FundingRate)
    assert funding.funding_rate == D("-0.005")
    assert funding.interval_hours == 8
    assert funding.funding_time == 1760342400000
    assert isinstance(oi, OpenInterest)
    assert oi.value == D("32824881841.75")


def test_tickers_delta_merges_onto_snapshot(adapter: BybitAdapter, h) -> None:
    snapshot = h.load_json("ws/tickers_snapshot.json")
    snapshot["topic"] = "tickers.NKNUSDT"
    snapshot["data"]["symbol"] = "NKNUSDT"
    adapter.decode_public(json.dumps(snapshot))
    (ticker, *_rest) = public(adapter, h, "tickers_delta.json").events
    assert isinstance(ticker, Ticker)
    assert ticker.symbol == "NKN/USDT:USDT"
    assert ticker.ask == D("0.13942")
    assert ticker.ask_size == D("3691")
    assert ticker.bid == D("66666.60")
    assert ticker.last == D("66666.60")
    assert ticker.timestamp == 1709202840989


def test_tickers_delta_without_snapshot(adapter: BybitAdapter, h) -> None:
    events = public(adapter, h, "tickers_delta.json").events
    assert len(events) == 1  # no mark, funding or OI known yet
    (ticker,) = events
    assert isinstance(ticker, Ticker)
    assert ticker.ask == D("0.13942")
    assert ticker.last is None


# -- public control ------------------------------------------------------------------------------


def test_subscribe_ack_and_pongs(adapter: BybitAdapter, h) -> None:
    ack = adapter.decode_public(h.load_bytes("ws/subscribe_ack.json"))
    assert ack == Control(kind="ack", ok=True)
    pong = adapter.decode_public(h.load_bytes("ws/pong_public.json"))
    assert pong.kind == "pong"
    assert pong.ok
    pong = adapter.decode_private(h.load_bytes("ws/pong_private.json"))
    assert pong == Control(kind="pong", req_id="test", ok=True)
    pong = adapter.decode_private(h.load_bytes("ws/trade_pong.json"))
    assert pong.kind == "pong"
    assert pong.ok


def test_subscribe_failure_is_an_ack_with_ok_false(adapter: BybitAdapter) -> None:
    frame = b'{"success":false,"ret_msg":"error:handler not found,topic:foo.BTCUSDT","conn_id":"x","req_id":"7","op":"subscribe"}'
    ack = adapter.decode_public(frame)
    assert ack == Control(
        kind="ack", req_id="7", ok=False, message="error:handler not found,topic:foo.BTCUSDT"
    )


def test_subscribe_request_matches_our_frame(adapter: BybitAdapter, h) -> None:
    recorded = h.load_json("ws/subscribe_request.json")
    ours = json.loads(adapter.subscribe_frame(recorded["args"], 0))
    assert ours["op"] == recorded["op"] == "subscribe"
    assert ours["args"] == recorded["args"]
    assert json.loads(adapter.unsubscribe_frame(["publicTrade.BTCUSDT"], 9)) == {
        "req_id": "9",
        "op": "unsubscribe",
        "args": ["publicTrade.BTCUSDT"],
    }


def test_ping_request_matches_heartbeat(adapter: BybitAdapter, h) -> None:
    heartbeat = adapter.heartbeat()
    assert heartbeat.interval_s == 20.0
    assert heartbeat.frame is not None
    assert json.loads(heartbeat.frame) == h.load_json("ws/ping_request.json")
    assert adapter.ws_ping_frame() == heartbeat.frame


# -- private -----------------------------------------------------------------------------------


def test_auth_request_shape_and_reply(adapter: BybitAdapter, h) -> None:
    recorded = h.load_json("ws/auth_request.json")
    session = run_flow_sync(
        adapter.private_session(ENDPOINTS, CREDS, 1662350390000, 5000), lambda r: None
    )  # type: ignore[arg-type,return-value]
    auth = json.loads(session.frames[0])
    assert set(auth) == set(recorded)
    assert auth["op"] == recorded["op"] == "auth"
    key, expires, signature = auth["args"]
    assert key == "XXXXXX"
    assert expires == 1662350400000
    expected = hmac.new(b"a-test-secret", f"GET/realtime{expires}".encode(), hashlib.sha256)
    assert signature == expected.hexdigest()
    assert json.loads(session.frames[1])["args"] == ["order", "execution", "position", "wallet"]
    assert session.url == ENDPOINTS.private_ws
    assert session.auth_required
    reply = adapter.decode_private(h.load_bytes("ws/auth_response.json"))
    assert reply == Control(kind="auth", ok=True)
    bad = adapter.decode_private(
        b'{"success":false,"ret_msg":"Params Error","op":"auth","conn_id":"c"}'
    )
    assert bad == Control(kind="auth", ok=False, message="Params Error")


def test_private_subscribe_ack(adapter: BybitAdapter, h) -> None:
    assert adapter.decode_private(h.load_bytes("ws/subscribe_ack_private.json")) == Control(
        kind="ack", ok=True
    )


def test_order_push(adapter: BybitAdapter, h) -> None:
    data = private(adapter, h, "order.json")
    (order,) = data.events
    assert isinstance(order, Order)
    assert data.timestamp == 1702776926306
    assert order.id == "cf7a63a5-4c78-40f5-be9e-393645bb7339"
    assert order.client_order_id is None
    assert order.type is OrderType.LIMIT
    assert order.status is OrderStatus.NEW
    assert order.position_side is PositionSide.LONG
    assert order.side is Side.BUY
    assert order.price == D("10000.00")
    assert order.amount == D("0.01")
    assert order.filled == 0
    assert order.time_in_force is TimeInForce.GTC
    assert order.trigger_price is None
    assert order.created_at == 1702776926299
    assert order.updated_at == 1702776926303


def test_execution_push(adapter: BybitAdapter, h) -> None:
    (fill,) = private(adapter, h, "execution.json").events
    assert isinstance(fill, MyTrade)
    assert fill.id == "0ab1bdf7-4219-438b-b30a-32ec863018f7"
    assert fill.symbol == "BTC/USDT:USDT"
    assert fill.side is Side.SELL
    assert fill.price == D("95900.1")
    assert fill.amount == D("0.5")
    assert fill.fee == D("26.3725275")
    assert fill.fee_asset == "USDT"
    assert fill.liquidity is Liquidity.TAKER
    assert fill.realized_pnl == D("0.05")
    assert fill.timestamp == 1746270400353
    assert fill.client_order_id is None


def test_execution_fast_push(adapter: BybitAdapter, h) -> None:
    (fill,) = private(adapter, h, "execution_fast.json").events
    assert isinstance(fill, MyTrade)
    assert fill.symbol == "ICP/USDT:USDT"
    assert fill.client_order_id == "test-00001"
    assert fill.price == D("12.015")
    assert fill.amount == D("3000")
    assert fill.fee is None
    assert fill.timestamp == 1716800399334


def test_position_push_flat_short_leg(adapter: BybitAdapter, h) -> None:
    (pos,) = private(adapter, h, "position.json").events
    assert isinstance(pos, Position)
    assert pos.position_side is PositionSide.SHORT
    assert pos.size == 0
    assert pos.side is None
    assert pos.entry_price is None
    assert pos.leverage == D("10")
    assert pos.realized_pnl == D("-25.06579337")
    assert pos.timestamp == 1697682317038


def test_position_hedge_live_leg_not_mistaken_for_flat(adapter: BybitAdapter, h) -> None:
    long_leg, short_leg = private(adapter, h, "position_hedge.json").events
    assert isinstance(long_leg, Position)
    assert isinstance(short_leg, Position)
    assert long_leg.key == ("BTC/USDT:USDT", PositionSide.LONG)
    assert long_leg.size == D("0.02")
    assert long_leg.side is Side.BUY
    assert long_leg.entry_price == D("42182.55")
    assert long_leg.unrealized_pnl == D("-2.529")
    assert short_leg.key == ("BTC/USDT:USDT", PositionSide.SHORT)
    assert short_leg.size == 0
    assert short_leg.side is None


def test_wallet_push(adapter: BybitAdapter, h) -> None:
    (bal,) = private(adapter, h, "wallet.json").events
    assert isinstance(bal, Balance)
    assert bal.asset == "BTC"
    assert bal.wallet_balance == D("0.00102964")
    assert bal.equity == D("0.00102964")
    assert bal.unrealized_pnl == D("0")
    assert bal.available == D("0.00102964")  # IM fields empty: availableToWithdraw
    assert bal.timestamp == 1700034722104


# -- trade websocket -----------------------------------------------------------------------------


def test_trade_auth_request_and_reply(adapter: BybitAdapter, h) -> None:
    recorded = h.load_json("ws/trade_auth_request.json")
    session = adapter.ws_command_session(ENDPOINTS, CREDS, 1711010111452)
    assert session.auth_frame is not None
    ours = json.loads(session.auth_frame)
    assert set(ours) == set(recorded)
    assert ours["op"] == "auth"
    assert ours["args"][1] == recorded["args"][1] == 1711010121452
    assert len(ours["args"][2]) == len(recorded["args"][2]) == 64  # lowercase hex HMAC
    reply = h.load_bytes("ws/trade_auth_response.json")
    assert adapter.ws_reply_id(reply) == session.auth_req_id
    assert adapter.decode_private(reply) == Control(kind="auth", ok=True, message="OK")


def test_trade_create_request_matches_recorded(adapter: BybitAdapter, h) -> None:
    recorded = h.load_json("ws/trade_order_create_request.json")
    req = OrderRequest(
        symbol="ETHUSDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        amount=D("0.2"),
        price=D("2800"),
        time_in_force=TimeInForce.POST_ONLY,
        client_order_id="test-005",
    )
    cmd = adapter.ws_command(
        CommandKind.CREATE_ORDER, [req], "test-005", CREDS, 1711001595207, 8000
    )
    ours = json.loads(cmd.frame)
    assert ours["reqId"] == recorded["reqId"]
    assert ours["op"] == recorded["op"]
    assert ours["header"] == {"X-BAPI-TIMESTAMP": "1711001595207", "X-BAPI-RECV-WINDOW": "8000"}
    for key, value in recorded["args"][0].items():
        assert ours["args"][0][key] == value
    assert ours["args"][0]["positionIdx"] == 0
    assert ours["args"][0]["orderLinkId"] == "test-005"
    (receipt,) = cmd.decode(h.load_bytes("ws/trade_order_create_response.json"))
    assert receipt.status is CommandStatus.ACCEPTED
    assert receipt.order_id == "a4c1718e-fe53-4659-a118-1f6ecce04ad9"
    assert receipt.client_order_id == "test-005"
    assert receipt.timestamp == 1711001595209  # the reply header's Timenow
    assert receipt.symbol == "ETH/USDT:USDT"
    assert adapter.ws_reply_id(h.load_bytes("ws/trade_order_create_response.json")) == "test-005"


def test_trade_batch_request_and_error_reply(adapter: BybitAdapter, h) -> None:
    recorded = h.load_json("ws/trade_order_create_batch_request.json")
    reqs = [
        OrderRequest(
            symbol=item["symbol"],
            side=Side.BUY,
            type=OrderType.LIMIT,
            amount=D(item["qty"]),
            price=D(item["price"]),
            time_in_force=TimeInForce.GTC,
            client_order_id=item["orderLinkId"],
        )
        for item in recorded["args"][0]["request"]
    ]
    cmd = adapter.ws_command(CommandKind.CREATE_ORDER, reqs, "b1", CREDS, 1740453381256, 1000)
    ours = json.loads(cmd.frame)
    assert ours["op"] == "order.create-batch"
    assert ours["header"] == recorded["header"]
    assert ours["args"][0]["category"] == "linear"
    for mine, theirs in zip(
        ours["args"][0]["request"], recorded["args"][0]["request"], strict=True
    ):
        assert {k: mine[k] for k in theirs} == theirs
    receipts = cmd.decode(h.load_bytes("ws/trade_order_create_batch_error_response.json"))
    assert [r.status for r in receipts] == [CommandStatus.REJECTED] * 3
    assert all(isinstance(r.error, StateDivergence) and r.error.code == 10001 for r in receipts)
    assert [r.client_order_id for r in receipts] == ["-batch-000", "batch-001", "batch-002"]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ws/trade_order_amend_response.json", CommandKind.EDIT_ORDER),
        ("ws/trade_order_cancel_response.json", CommandKind.CANCEL_ORDER),
    ],
)
def test_trade_amend_and_cancel_replies(adapter: BybitAdapter, h, name, kind) -> None:
    from bat_markets.core import CancelRequest, EditRequest

    req = (
        EditRequest(symbol="BTCUSDT", id="a4c1718e-fe53-4659-a118-1f6ecce04ad9", price=D("1"))
        if kind is CommandKind.EDIT_ORDER
        else CancelRequest(symbol="BTCUSDT", id="a4c1718e-fe53-4659-a118-1f6ecce04ad9")
    )
    cmd = adapter.ws_command(kind, [req], "r2", CREDS, 1, 5000)  # type: ignore[list-item]
    frame = json.loads(cmd.frame)
    assert frame["op"] == ("order.amend" if kind is CommandKind.EDIT_ORDER else "order.cancel")
    payload = h.load_bytes(name)
    assert adapter.ws_reply_id(payload) == "|2|"
    (receipt,) = cmd.decode(payload)
    assert receipt.ok
    assert receipt.kind is kind
    assert receipt.order_id == "a4c1718e-fe53-4659-a118-1f6ecce04ad9"
