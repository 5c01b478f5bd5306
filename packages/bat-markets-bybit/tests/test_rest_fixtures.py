"""Every recorded REST payload in tests/fixtures/rest, decoded through the adapter's flows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bat_markets.bybit import BybitAdapter
from bat_markets.core import (
    AuthError,
    CancelRequest,
    CommandKind,
    CommandStatus,
    DecodeError,
    EditRequest,
    ExchangeReject,
    InstrumentKind,
    InstrumentStatus,
    LeverageRequest,
    Liquidity,
    MarginMode,
    MarginModeRequest,
    OrderRequest,
    OrderStatus,
    OrderType,
    PermissionDenied,
    PositionMode,
    PositionModeRequest,
    PositionSide,
    Side,
    StateDivergence,
    TimeInForce,
    run_flow_sync,
)

D = Decimal


def run(flow, script):  # type: ignore[no-untyped-def]
    return run_flow_sync(flow, script)


def test_server_time(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/server_time.json")])
    assert run(adapter.server_time(), script) == 1688639403423
    assert script.requests[0].path == "/v5/market/time"


def test_instruments_info(h) -> None:
    adapter = BybitAdapter(market_statuses=("",))
    script = h.Script([h.response("rest/instruments_info.json")])
    (spec,) = run(adapter.load_markets(), script)
    assert spec.symbol == "BTC/USDT:USDT"
    assert spec.id == "BTCUSDT"
    assert (spec.base, spec.quote, spec.settle) == ("BTC", "USDT", "USDT")
    assert spec.kind is InstrumentKind.PERPETUAL
    assert spec.status is InstrumentStatus.TRADING
    assert spec.tick_size == D("0.10")
    assert spec.step_size == D("0.001")
    assert spec.min_qty == D("0.001")
    assert spec.max_qty == D("1190.000")
    assert spec.market_max_qty == D("500.000")
    assert (spec.min_price, spec.max_price) == (D("0.10"), D("1999999.80"))
    assert spec.min_notional == D("5")
    assert spec.max_leverage == D("100.00")
    assert spec.onboard_time == 1585526400000
    assert spec.expiry is None
    assert spec.funding_interval_hours == 8
    assert script.requests[0].params == [("category", "linear"), ("limit", "1000")]


def test_tickers(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/tickers.json")])
    t = run(adapter.fetch_ticker("BTCUSD"), script)
    assert t.symbol == "BTCUSD"  # inverse docs example: not a USDT contract, kept native
    assert t.timestamp == 1760352369814
    assert t.last == D("120635.50")
    assert t.open == D("105595.90")
    assert (t.bid, t.bid_size, t.ask, t.ask_size) == (
        D("103401.00"),
        D("1063"),
        D("109152.80"),
        D("9854"),
    )
    assert (t.high, t.low) == (D("131309.30"), D("102007.60"))
    assert t.volume == D("13713832.0000")
    assert t.quote_volume == D("115.6907")
    assert t.change == D("120635.50") - D("105595.90")
    assert t.percentage == D("14.2425")
    assert t.mark_price == D("114898.43")
    assert t.index_price == D("114890.92")
    assert t.funding_rate == D("0.0001")
    assert t.next_funding_time == 1760371200000
    assert t.open_interest == D("240113967")
    assert script.requests[0].params == [("category", "linear"), ("symbol", "BTCUSD")]


def test_tickers_feed_mark_funding_and_open_interest(adapter: BybitAdapter, h) -> None:
    mark = run(adapter.fetch_mark_price("BTCUSD"), h.Script([h.response("rest/tickers.json")]))
    assert (mark.mark_price, mark.index_price) == (D("114898.43"), D("114890.92"))
    assert mark.estimated_settle_price is None
    fr = run(adapter.fetch_funding_rate("BTCUSD"), h.Script([h.response("rest/tickers.json")]))
    assert fr.funding_rate == D("0.0001")
    assert fr.funding_time == 1760371200000
    assert fr.interval_hours == 8
    assert fr.timestamp == 1760352369814
    oi = run(adapter.fetch_open_interest("BTCUSD"), h.Script([h.response("rest/tickers.json")]))
    assert oi.amount == D("240113967")
    assert oi.value == D("2089.79")


def test_orderbook(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/orderbook.json")])
    book = run(adapter.fetch_order_book("BTCUSDT", 5), script)
    assert book.symbol == "BTC/USDT:USDT"
    assert book.source == "rest"
    assert book.bids[0] == ("69445.9", "49.567")
    assert len(book.bids) == 5
    assert book.asks[-1] == ("69449.1", "40.254")
    assert (book.update_id, book.sequence, book.timestamp) == (1603656, 9092034245, 1711960701415)
    assert script.requests[0].params == [
        ("category", "linear"),
        ("symbol", "BTCUSDT"),
        ("limit", "5"),
    ]


def test_kline_sorted_oldest_first(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/kline.json")])
    candles = run(adapter.fetch_ohlcv("BTCUSDT", "1m", None, None, 5), script)
    assert [c.open_time for c in candles] == [
        1687589400000,
        1687589460000,
        1687589520000,
        1687589580000,
        1687589640000,
    ]
    first = candles[0]
    assert first.interval == "1m"
    assert first.symbol == "BTC/USDT:USDT"
    assert (first.open, first.high, first.low, first.close) == (
        D("30678.6"),
        D("30690.9"),
        D("30678.5"),
        D("30689.9"),
    )
    assert first.volume == D("38.747")
    assert first.quote_volume == D("1188886.4093")
    assert first.close_time == 1687589459999
    assert first.closed
    assert not candles[-1].closed  # closes after the reply's server time 1687589659062
    assert script.requests[0].params == [
        ("category", "linear"),
        ("symbol", "BTCUSDT"),
        ("interval", "1"),
        ("limit", "5"),
    ]


def test_mark_price_kline_is_not_a_trade_kline(adapter: BybitAdapter, h) -> None:
    # Mark-price candles have no volume column: refused loudly, never mis-decoded.
    with pytest.raises(DecodeError, match="too short"):
        run(
            adapter.fetch_ohlcv("BTCUSDT", "1h", None, None, 1),
            h.Script([h.response("rest/mark_price_kline.json")]),
        )


def test_recent_trade(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/recent_trade.json")])
    (trade,) = run(adapter.fetch_trades("BTCUSDT", None, 10), script)
    assert trade.symbol == "BTC/USDT:USDT"
    assert trade.id == "2100000000007764263"
    assert trade.price == D("16618.49")
    assert trade.amount == D("0.00012")
    assert trade.side is Side.BUY
    assert trade.timestamp == 1672052955758
    assert not trade.aggregated


def test_funding_history(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/funding_history.json")])
    (rate,) = run(adapter.fetch_funding_rate_history("ETHPERP", None, 10), script)
    assert rate.symbol == "ETHPERP"
    assert rate.funding_rate == D("0.0001")
    assert rate.timestamp == rate.funding_time == 1672041600000
    assert script.requests[0].params == [
        ("category", "linear"),
        ("symbol", "ETHPERP"),
        ("limit", "10"),
    ]


def test_open_interest_history(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/open_interest.json")])
    rows = run(adapter.fetch_open_interest_history("BTCUSD", "1d", 5), script)
    assert [r.timestamp for r in rows] == sorted(r.timestamp for r in rows)
    assert rows[-1].amount == D("63910691.00000000")
    assert rows[-1].timestamp == 1780963200000
    assert rows[0].amount == D("63942311.00000000")


def test_wallet_balance(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/wallet_balance.json")])
    (btc,) = run(adapter.fetch_balance(), script)
    assert btc.asset == "BTC"
    assert btc.wallet_balance == D("0")
    assert btc.equity == D("0")
    assert btc.unrealized_pnl == D("0")
    assert btc.available == D("0")
    assert btc.timestamp == 1690872862481
    req = script.requests[0]
    assert req.signed
    assert req.params == [("accountType", "UNIFIED")]


def test_position_list(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/position_list.json")])
    (pos,) = run(adapter.fetch_positions(["BTCUSD"]), script)
    assert pos.position_side is PositionSide.BOTH
    assert pos.size == D("-300")
    assert pos.side is Side.SELL
    assert pos.entry_price == D("27464.50441675")
    assert pos.break_even_price == D("93556.73034991")
    assert pos.mark_price == D("28224.50")
    assert pos.liquidation_price is None
    assert pos.unrealized_pnl == D("-0.00029413")
    assert pos.realized_pnl == D("-0.00096902")
    assert pos.leverage == D("10")
    assert pos.margin_mode is MarginMode.CROSS
    assert pos.notional == D("0.01092319")
    assert pos.timestamp == 1697673600012


def test_order_realtime(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/order_realtime.json")])
    (order,) = run(adapter.fetch_open_orders("ETHUSDT"), script)
    assert order.symbol == "ETH/USDT:USDT"
    assert order.id == "fd4300ae-7847-404e-b947-b46980a4d140"
    assert order.client_order_id == "test-000005"
    assert order.side is Side.BUY
    assert order.type is OrderType.LIMIT
    assert order.status is OrderStatus.NEW
    assert order.position_side is PositionSide.LONG
    assert order.amount == D("0.10")
    assert order.filled == D("0.00")
    assert order.price == D("1600.00")
    assert order.average_price is None
    assert order.trigger_price is None
    assert order.time_in_force is TimeInForce.GTC
    assert order.fee == D("0.00242968")
    assert order.fee_asset == "MNT"
    assert (order.created_at, order.updated_at) == (1684738540559, 1684738540561)
    assert order.venue_status == "New"
    assert order.reject_reason is None
    req = script.requests[0]
    assert req.signed
    assert req.path == "/v5/order/realtime"
    assert req.params == [
        ("category", "linear"),
        ("symbol", "ETHUSDT"),
        ("openOnly", "0"),
        ("limit", "50"),
    ]


def test_order_history_post_only_kill_is_expired(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/order_history.json")])
    (order,) = run(adapter.fetch_orders_history("BTCUSDT", None, 10), script)
    assert order.status is OrderStatus.EXPIRED
    assert order.reject_reason == "EC_PostOnlyWillTakeLiquidity"
    assert order.time_in_force is TimeInForce.POST_ONLY
    assert order.venue_status == "Cancelled"
    assert order.client_order_id == "YLxaWKMiHU"
    assert order.amount == D("0.003")
    assert order.price == D("26864.40")


def test_execution_list(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/execution_list.json")])
    (fill,) = run(adapter.fetch_my_trades(None, None, 10), script)
    assert fill.symbol == "ETHPERP"
    assert fill.id == "e0cbe81d-0f18-5866-9415-cf319b5dab3b"
    assert fill.order_id == "8c065341-7b52-4ca9-ac2c-37e31ac55c94"
    assert fill.client_order_id is None
    assert fill.side is Side.BUY
    assert fill.price == D("1190.15")
    assert fill.amount == D("0.1")
    assert fill.fee == D("0.071409")
    assert fill.fee_asset is None
    assert fill.liquidity is Liquidity.TAKER
    assert fill.timestamp == 1672282722429
    assert script.requests[0].params[:2] == [("category", "linear"), ("settleCoin", "USDT")]


def test_order_create(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/order_create.json")])
    req = OrderRequest(
        symbol="BTCUSDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        amount=D("0.01"),
        price=D("30000"),
        client_order_id="spot-test-postonly",
    )
    (receipt,) = run(adapter.create_orders([req]), script)
    assert receipt.status is CommandStatus.ACCEPTED
    assert receipt.kind is CommandKind.CREATE_ORDER
    assert receipt.order_id == "1321003749386327552"
    assert receipt.client_order_id == "spot-test-postonly"
    assert receipt.timestamp == 1672211918471
    assert receipt.symbol == "BTC/USDT:USDT"


def test_order_create_batch(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/order_create_batch.json")])
    reqs = [
        OrderRequest(
            symbol="BTCUSDT",
            side=Side.BUY,
            type=OrderType.LIMIT,
            amount=D("0.01"),
            price=D("30000"),
            client_order_id=cid,
        )
        for cid in ("spot-btc-03", "spot-atom-03")
    ]
    receipts = run(adapter.create_orders(reqs), script)
    assert [r.status for r in receipts] == [CommandStatus.ACCEPTED] * 2
    assert [r.order_id for r in receipts] == ["1666800494330512128", "1666800494330512129"]
    assert [r.client_order_id for r in receipts] == ["spot-btc-03", "spot-atom-03"]
    assert script.requests[0].path == "/v5/order/create-batch"


def test_order_amend_and_batch(adapter: BybitAdapter, h) -> None:
    (single,) = run(
        adapter.edit_orders(
            [EditRequest(symbol="ETHUSDT", client_order_id="linear-004", price=D("1"))]
        ),
        h.Script([h.response("rest/order_amend.json")]),
    )
    assert single.status is CommandStatus.ACCEPTED
    assert single.kind is CommandKind.EDIT_ORDER
    assert single.order_id == "c6f055d9-7f21-4079-913d-e6523a9cfffa"
    assert single.client_order_id == "linear-004"
    assert single.timestamp == 1672217093461
    edits = [EditRequest(symbol="ETHUSDT", id=f"id{i}", amount=D("2")) for i in range(2)]
    batch = run(adapter.edit_orders(edits), h.Script([h.response("rest/order_amend_batch.json")]))
    assert [r.order_id for r in batch] == [
        "b551f227-7059-4fb5-a6a6-699c04dbd2f2",
        "fa6a595f-1a57-483f-b9d3-30e9c8235a52",
    ]
    assert all(r.ok for r in batch)


def test_order_cancel(adapter: BybitAdapter, h) -> None:
    (receipt,) = run(
        adapter.cancel_orders(
            [CancelRequest(symbol="ETHUSDT", id="c6f055d9-7f21-4079-913d-e6523a9cfffa")]
        ),
        h.Script([h.response("rest/order_cancel.json")]),
    )
    assert receipt.ok
    assert receipt.kind is CommandKind.CANCEL_ORDER
    assert receipt.order_id == "c6f055d9-7f21-4079-913d-e6523a9cfffa"
    assert receipt.client_order_id == "linear-004"


def test_order_cancel_batch_mixed(adapter: BybitAdapter, h) -> None:
    reqs = [
        CancelRequest(symbol="BTCUSDT", client_order_id="spot-btc-03"),
        CancelRequest(symbol="ATOMUSDT", client_order_id="1666800494330512129"),
    ]
    ok, failed = run(
        adapter.cancel_orders(reqs), h.Script([h.response("rest/order_cancel_batch_mixed.json")])
    )
    assert ok.status is CommandStatus.ACCEPTED
    assert ok.order_id == "1666800494330512128"
    assert failed.status is CommandStatus.REJECTED
    assert isinstance(failed.error, StateDivergence)
    assert failed.error.code == 170213
    assert failed.client_order_id == "1666800494330512129"
    assert failed.symbol == "ATOM/USDT:USDT"


def test_order_cancel_all(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/order_cancel_all.json")])
    receipts = run(adapter.cancel_all_orders(None), script)
    assert [r.order_id for r in receipts] == ["1616024329462743808", "1616024287544869632"]
    assert [r.client_order_id for r in receipts] == ["1616024329462743809", "1616024287544869633"]
    assert all(r.kind is CommandKind.CANCEL_ALL_ORDERS and r.ok for r in receipts)
    assert script.requests[0].json == {"category": "linear", "settleCoin": "USDT"}


def test_set_leverage(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/set_leverage.json")])
    receipt = run(adapter.set_leverage(LeverageRequest(symbol="BTCUSDT", leverage=D("5"))), script)
    assert receipt.ok
    assert not receipt.noop
    assert receipt.timestamp == 1672281607343
    assert script.requests[0].json == {
        "category": "linear",
        "symbol": "BTCUSDT",
        "buyLeverage": "5",
        "sellLeverage": "5",
    }


def test_switch_mode(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/switch_mode.json")])
    receipt = run(
        adapter.set_position_mode(
            PositionModeRequest(symbol=None, position_mode=PositionMode.HEDGE)
        ),
        script,
    )
    assert receipt.ok
    assert receipt.timestamp == 1675249072814
    assert script.requests[0].json == {"category": "linear", "coin": "USDT", "mode": 3}


def test_set_margin_mode_failure_reasons(adapter: BybitAdapter, h) -> None:
    script = h.Script([h.response("rest/set_margin_mode_error_3400045.json")])
    receipt = run(
        adapter.set_margin_mode(MarginModeRequest(symbol=None, margin_mode=MarginMode.ISOLATED)),
        script,
    )
    assert receipt.status is CommandStatus.REJECTED
    assert receipt.timestamp is None
    assert isinstance(receipt.error, ExchangeReject)
    assert receipt.error.code == 3400045
    assert "Equity needs to be equal to or greater than 1000 USDC" in str(receipt.error)
    assert script.requests[0].json == {"setMarginMode": "ISOLATED_MARGIN"}


@pytest.mark.parametrize(
    ("name", "kind", "time"),
    [
        ("rest/switch_isolated.json", CommandKind.SET_MARGIN_MODE, 1675248433635),
        ("rest/trading_stop.json", CommandKind.CLOSE_POSITION, 1672283125359),
    ],
)
def test_other_command_replies_classified(adapter: BybitAdapter, h, name, kind, time) -> None:
    (receipt,) = adapter.classify_command_json(kind, h.load_bytes(name))
    assert receipt.status is CommandStatus.ACCEPTED
    assert receipt.timestamp == time
    assert receipt.kind is kind


@pytest.mark.parametrize(
    ("name", "time"),
    [
        ("rest/closed_pnl.json", 1672284129153),
        ("rest/fee_rate.json", 1676360412576),
        ("rest/risk_limit.json", 1672054488010),
    ],
)
def test_unserved_endpoints_are_successful_envelopes(adapter: BybitAdapter, h, name, time) -> None:
    # Outside the unified API map (advanced().native()): the adapter still recognises success.
    resp = h.response(name)
    assert adapter.classify_http_error(resp) is None
    payload = h.load_json(name)
    assert payload["time"] == time
    assert payload["result"]["list"]


@pytest.mark.parametrize(
    ("name", "cls", "code", "retryable"),
    [
        ("rest/error_10001.json", StateDivergence, 10001, False),
        ("rest/error_10002.json", AuthError, 10002, True),
        ("rest/error_10003.json", AuthError, 10003, False),
        ("rest/error_10004.json", AuthError, 10004, False),
        ("rest/error_10010.json", PermissionDenied, 10010, False),
        ("rest/error_110001.json", StateDivergence, 110001, False),
        ("rest/error_110003.json", ExchangeReject, 110003, False),
        ("rest/error_110007.json", ExchangeReject, 110007, False),
        ("rest/error_110017.json", ExchangeReject, 110017, False),
    ],
)
def test_error_fixtures_on_reads(adapter: BybitAdapter, h, name, cls, code, retryable) -> None:
    payload = h.load_json(name)
    with pytest.raises(cls) as info:
        run(adapter.fetch_ticker("BTCUSDT"), h.Script([h.response(name)]))
    err = info.value
    assert err.code == code
    assert err.retryable is retryable
    assert err.venue == "bybit"
    assert err.venue_message == payload["retMsg"]
    assert type(adapter.classify_http_error(h.response(name))) is cls
    assert adapter.is_clock_error(err) is (code == 10002)


@pytest.mark.parametrize(
    ("name", "flow"),
    [
        ("rest/error_110025.json", "position_mode"),
        ("rest/error_110026.json", "margin_mode"),
        ("rest/error_110043.json", "leverage"),
    ],
)
def test_noop_fixtures_resolve_as_success(adapter: BybitAdapter, h, name, flow) -> None:
    flows = {
        "position_mode": lambda: adapter.set_position_mode(
            PositionModeRequest(symbol="BTCUSDT", position_mode=PositionMode.ONE_WAY)
        ),
        "margin_mode": lambda: adapter.set_margin_mode(
            MarginModeRequest(symbol=None, margin_mode=MarginMode.CROSS)
        ),
        "leverage": lambda: adapter.set_leverage(
            LeverageRequest(symbol="BTCUSDT", leverage=D("10"))
        ),
    }
    receipt = run(flows[flow](), h.Script([h.response(name)]))
    assert receipt.status is CommandStatus.ACCEPTED
    assert receipt.noop
    assert receipt.error is None
    assert receipt.timestamp == h.load_json(name)["time"]
    assert adapter.classify_http_error(h.response(name)) is None


def test_error_fixtures_on_writes_are_rejections(adapter: BybitAdapter, h) -> None:
    req = OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, amount=D("1"))
    (receipt,) = run(adapter.create_orders([req]), h.Script([h.response("rest/error_110007.json")]))
    assert receipt.status is CommandStatus.REJECTED
    assert isinstance(receipt.error, ExchangeReject)
    assert receipt.error.code == 110007
    assert receipt.client_order_id is not None
    assert receipt.timestamp == 1668838414793
