"""Request building: order bodies, endpoints, topics, frames, capabilities, ids, limits."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from bat_markets.bybit import BybitAdapter, create_adapter
from bat_markets.core import (
    API_METHODS,
    CancelRequest,
    Channel,
    CommandKind,
    ConfigError,
    Credentials,
    EditRequest,
    Environment,
    MarginMode,
    MarginModeRequest,
    OrderRequest,
    OrderType,
    PositionSide,
    RestRequest,
    Side,
    TimeInForce,
    TriggerBy,
    Unsupported,
    VenueAdapter,
    load_venue,
)

D = Decimal
CREDS = Credentials.of("key", "secret")


def first_request(flow) -> RestRequest:  # type: ignore[no-untyped-def]
    request = next(flow)
    flow.close()
    return request


def body_of(adapter: BybitAdapter, req: OrderRequest) -> dict[str, object]:
    request = first_request(adapter.create_orders([req]))
    assert request.method == "POST"
    assert request.path == "/v5/order/create"
    assert request.signed
    assert request.json is not None
    return request.json


def test_entry_point_and_protocol() -> None:
    adapter = load_venue("bybit")
    assert isinstance(adapter, BybitAdapter)
    assert isinstance(adapter, VenueAdapter)
    assert create_adapter() is not create_adapter()
    assert {s.id for s in adapter.markets} >= {"BTCUSDT", "ETHUSDT"}
    eth = adapter.markets.resolve("ETH/USDT:USDT")
    assert eth.tick_size == D("0.01")
    assert eth.min_notional == D("5")


def test_endpoints() -> None:
    adapter = BybitAdapter()
    main = adapter.endpoints(Environment.MAINNET)
    assert main.rest == "https://api.bybit.com"
    assert main.public_ws == "wss://stream.bybit.com/v5/public/linear"
    assert main.private_ws == "wss://stream.bybit.com/v5/private"
    assert main.command_ws == "wss://stream.bybit.com/v5/trade"
    test = adapter.endpoints(Environment.TESTNET)
    assert test.rest == "https://api-testnet.bybit.com"
    assert test.command_ws == "wss://stream-testnet.bybit.com/v5/trade"
    demo = adapter.endpoints(Environment.DEMO)
    assert demo.rest == "https://api-demo.bybit.com"
    assert demo.command_ws is None
    assert demo.private_ws == "wss://stream-demo.bybit.com/v5/private"
    assert adapter.public_ws_url(main, "public") == main.public_ws
    with pytest.raises(Unsupported, match="demo"):
        adapter.ws_command_session(demo, CREDS, 0)
    with pytest.raises(ConfigError):
        adapter.endpoints("staging")  # type: ignore[arg-type]


# -- orders --------------------------------------------------------------------------------------


def test_limit_order_body(adapter: BybitAdapter) -> None:
    body = body_of(
        adapter,
        OrderRequest(
            symbol="BTCUSDT",
            side=Side.BUY,
            type=OrderType.LIMIT,
            amount=D("0.0100"),
            price=D("3E+4"),
            time_in_force=TimeInForce.POST_ONLY,
            client_order_id="my-id_1",
        ),
    )
    assert body == {
        "category": "linear",
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Limit",
        "qty": "0.01",
        "price": "30000",
        "timeInForce": "PostOnly",
        "positionIdx": 0,
        "orderLinkId": "my-id_1",
    }


@pytest.mark.parametrize(
    ("otype", "side", "direction", "order_type"),
    [
        (OrderType.STOP_MARKET, Side.BUY, 1, "Market"),
        (OrderType.STOP_MARKET, Side.SELL, 2, "Market"),
        (OrderType.TAKE_PROFIT_MARKET, Side.BUY, 2, "Market"),
        (OrderType.TAKE_PROFIT_MARKET, Side.SELL, 1, "Market"),
        (OrderType.STOP_LIMIT, Side.BUY, 1, "Limit"),
        (OrderType.STOP_LIMIT, Side.SELL, 2, "Limit"),
        (OrderType.TAKE_PROFIT_LIMIT, Side.BUY, 2, "Limit"),
        (OrderType.TAKE_PROFIT_LIMIT, Side.SELL, 1, "Limit"),
    ],
)
def test_conditional_orders_use_trigger_direction(
    adapter, otype, side, direction, order_type
) -> None:
    body = body_of(
        adapter,
        OrderRequest(
            symbol="BTCUSDT",
            side=side,
            type=otype,
            amount=D("1"),
            price=D("100") if otype.has_limit_price else None,
            trigger_price=D("101.5"),
            trigger_by=TriggerBy.MARK_PRICE,
        ),
    )
    assert body["orderType"] == order_type  # never StopMarket & co (defect of the original)
    assert body["triggerDirection"] == direction
    assert body["triggerPrice"] == "101.5"
    assert body["triggerBy"] == "MarkPrice"
    assert ("price" in body) is otype.has_limit_price


def test_hedge_close_long_is_reduce_only_on_idx_1(adapter: BybitAdapter) -> None:
    body = body_of(
        adapter,
        OrderRequest(
            symbol="BTCUSDT",
            side=Side.SELL,
            type=OrderType.MARKET,
            amount=D("0.5"),
            reduce_only=True,
            position_side=PositionSide.LONG,
        ),
    )
    assert body["positionIdx"] == 1
    assert body["reduceOnly"] is True
    assert body["side"] == "Sell"
    assert "timeInForce" not in body
    assert "price" not in body
    short = body_of(
        adapter,
        OrderRequest(
            symbol="BTCUSDT",
            side=Side.SELL,
            type=OrderType.MARKET,
            amount=D("0.5"),
            position_side=PositionSide.SHORT,
        ),
    )
    assert short["positionIdx"] == 2
    assert "reduceOnly" not in short


def test_close_position_without_amount(adapter: BybitAdapter) -> None:
    body = body_of(
        adapter,
        OrderRequest(
            symbol="BTCUSDT",
            side=Side.SELL,
            type=OrderType.STOP_MARKET,
            amount=None,
            trigger_price=D("25000"),
            close_position=True,
        ),
    )
    assert body["qty"] == "0"
    assert body["reduceOnly"] is True
    assert body["closeOnTrigger"] is True


def test_generated_client_order_id(adapter: BybitAdapter) -> None:
    body = body_of(
        adapter, OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, amount=D("1"))
    )
    link = body["orderLinkId"]
    assert isinstance(link, str)
    assert re.fullmatch(r"bm-[A-Za-z0-9]{26}", link)
    ids = {adapter.new_client_order_id("my.bot:1/x") for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,36}", i) for i in ids)
    assert all(i.startswith("mybot1x-") for i in ids)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"type": OrderType.TRAILING_STOP_MARKET, "callback_rate": D("1")},
            Unsupported,
            "trading-stop",
        ),
        (
            {"type": OrderType.LIMIT, "price": D("1"), "time_in_force": TimeInForce.GTD},
            Unsupported,
            "GTD",
        ),
        ({"type": OrderType.LIMIT, "price": D("1"), "good_till": 5}, Unsupported, "GTD"),
        ({"type": OrderType.LIMIT}, ConfigError, "need a price"),
        ({"type": OrderType.MARKET, "price": D("1")}, ConfigError, "take no price"),
        ({"type": OrderType.STOP_MARKET}, ConfigError, "trigger_price"),
        ({"type": OrderType.MARKET, "trigger_price": D("1")}, ConfigError, "conditional"),
        ({"type": OrderType.MARKET, "time_in_force": TimeInForce.POST_ONLY}, ConfigError, "market"),
        ({"type": OrderType.MARKET, "amount": D("0")}, ConfigError, "positive"),
        ({"type": OrderType.MARKET, "amount": D("NaN")}, ConfigError, "finite"),
        ({"type": OrderType.MARKET, "amount": None}, ConfigError, "amount"),
        ({"type": OrderType.MARKET, "client_order_id": "bad.id"}, ConfigError, "A-Za-z0-9"),
        ({"type": OrderType.MARKET, "client_order_id": "x" * 37}, ConfigError, "1-36"),
    ],
)
def test_bad_orders_raise_before_sending(adapter: BybitAdapter, kwargs, error, match) -> None:
    base: dict[str, object] = {"symbol": "BTCUSDT", "side": Side.BUY, "amount": D("1")}
    base.update(kwargs)
    with pytest.raises(error, match=match):
        adapter.create_orders([OrderRequest(**base)])  # type: ignore[arg-type]


def test_batch_create_chunks_of_20(adapter: BybitAdapter) -> None:
    reqs = [
        OrderRequest(
            symbol="BTCUSDT",
            side=Side.BUY,
            type=OrderType.LIMIT,
            amount=D("1"),
            price=D(100 + i),
            client_order_id=f"c{i}",
        )
        for i in range(45)
    ]
    flow = adapter.create_orders(reqs)
    request = next(flow)
    assert request.path == "/v5/order/create-batch"
    assert request.order_weight == 20
    assert request.json is not None
    assert request.json["category"] == "linear"
    items = request.json["request"]
    assert isinstance(items, list)
    assert len(items) == 20
    assert "category" not in items[0]
    assert items[0]["orderLinkId"] == "c0"
    flow.close()


def test_amend_and_cancel_bodies(adapter: BybitAdapter) -> None:
    amend = first_request(
        adapter.edit_orders(
            [
                EditRequest(
                    symbol="BTCUSDT",
                    id="o1",
                    client_order_id="c1",
                    amount=D("2"),
                    trigger_price=D("5"),
                )
            ]
        )
    )
    assert amend.path == "/v5/order/amend"
    assert amend.json == {
        "category": "linear",
        "symbol": "BTCUSDT",
        "orderId": "o1",
        "qty": "2",
        "triggerPrice": "5",
    }
    cancel = first_request(
        adapter.cancel_orders([CancelRequest(symbol="BTCUSDT", client_order_id="c1")])
    )
    assert cancel.path == "/v5/order/cancel"
    assert not cancel.idempotent  # a retried cancel would turn a lost success into "not found"
    assert cancel.json == {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "c1"}
    batch = first_request(
        adapter.cancel_orders([CancelRequest(symbol="BTCUSDT", id=f"o{i}") for i in range(3)])
    )
    assert batch.path == "/v5/order/cancel-batch"
    assert batch.order_weight == 3
    with pytest.raises(ConfigError, match="order id"):
        adapter.cancel_orders([CancelRequest(symbol="BTCUSDT")])
    with pytest.raises(ConfigError, match="new amount"):
        adapter.edit_orders([EditRequest(symbol="BTCUSDT", id="o1")])
    with pytest.raises(ConfigError):
        adapter.create_orders([])


def test_cancel_all_by_symbol_and_margin_scope(adapter: BybitAdapter) -> None:
    request = first_request(adapter.cancel_all_orders("BTCUSDT"))
    assert request.path == "/v5/order/cancel-all"
    assert request.json == {"category": "linear", "symbol": "BTCUSDT"}
    with pytest.raises(Unsupported, match="account-wide"):
        adapter.set_margin_mode(MarginModeRequest(symbol="BTCUSDT", margin_mode=MarginMode.CROSS))
    regular = first_request(
        adapter.set_margin_mode(MarginModeRequest(symbol=None, margin_mode=MarginMode.CROSS))
    )
    assert regular.path == "/v5/account/set-margin-mode"
    assert regular.json == {"setMarginMode": "REGULAR_MARGIN"}


# -- reads ---------------------------------------------------------------------------------------


def test_read_requests(adapter: BybitAdapter) -> None:
    def params(flow) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
        return first_request(flow).params

    assert params(adapter.fetch_positions(None)) == [
        ("category", "linear"),
        ("settleCoin", "USDT"),
        ("limit", "200"),
    ]
    assert params(adapter.fetch_positions(["BTCUSDT"]))[:2] == [
        ("category", "linear"),
        ("symbol", "BTCUSDT"),
    ]
    assert params(adapter.fetch_open_orders(None))[:3] == [
        ("category", "linear"),
        ("settleCoin", "USDT"),
        ("openOnly", "0"),
    ]
    assert params(adapter.fetch_order("BTCUSDT", None, "cid-1")) == [
        ("category", "linear"),
        ("symbol", "BTCUSDT"),
        ("orderLinkId", "cid-1"),
    ]
    assert params(adapter.fetch_orders_history("BTCUSDT", 1000, 5)) == [
        ("category", "linear"),
        ("symbol", "BTCUSDT"),
        ("startTime", "1000"),
        ("endTime", str(1000 + 7 * 24 * 3_600_000 - 1)),
        ("limit", "50"),
    ]
    assert params(adapter.fetch_trades("BTCUSDT", None, None)) == [
        ("category", "linear"),
        ("symbol", "BTCUSDT"),
        ("limit", "500"),
    ]
    assert params(adapter.fetch_ohlcv("BTCUSDT", "D", None, 1_700_000_000_000, 3)) == [
        ("category", "linear"),
        ("symbol", "BTCUSDT"),
        ("interval", "D"),
        ("end", "1700000000000"),
        ("limit", "3"),
    ]
    with pytest.raises(ConfigError):
        adapter.fetch_order("BTCUSDT", None, None).send(None)
    with pytest.raises(Unsupported, match="8h"):
        next(adapter.fetch_ohlcv("BTCUSDT", "8h", None, None, None))
    with pytest.raises(Unsupported, match="1000 levels"):
        next(adapter.fetch_order_book("BTCUSDT", 5000))
    with pytest.raises(ConfigError):
        next(adapter.fetch_order_book("BTCUSDT", 0))
    with pytest.raises(Unsupported, match="watch_liquidations"):
        adapter.fetch_liquidations("BTCUSDT", None, None)


# -- websocket -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "kwargs", "topic"),
    [
        (Channel.TICKER, {}, "tickers.BTCUSDT"),
        (Channel.MARK_PRICE, {}, "tickers.BTCUSDT"),
        (Channel.FUNDING_RATE, {}, "tickers.BTCUSDT"),
        (Channel.OPEN_INTEREST, {}, "tickers.BTCUSDT"),
        (Channel.TRADES, {}, "publicTrade.BTCUSDT"),
        (Channel.BOOK_TOP, {}, "orderbook.1.BTCUSDT"),
        (Channel.ORDER_BOOK, {}, "orderbook.1000.BTCUSDT"),
        (Channel.ORDER_BOOK, {"depth": 1}, "orderbook.1.BTCUSDT"),
        (Channel.ORDER_BOOK, {"depth": 20}, "orderbook.50.BTCUSDT"),
        (Channel.ORDER_BOOK, {"depth": 200}, "orderbook.200.BTCUSDT"),
        (Channel.ORDER_BOOK, {"depth": 500}, "orderbook.1000.BTCUSDT"),
        (Channel.OHLCV, {"interval": "1h"}, "kline.60.BTCUSDT"),
        (Channel.OHLCV, {"interval": "W"}, "kline.W.BTCUSDT"),
        (Channel.LIQUIDATIONS, {}, "allLiquidation.BTCUSDT"),
    ],
)
def test_public_topics(adapter: BybitAdapter, channel, kwargs, topic) -> None:
    (t,) = adapter.public_topics(channel, "btcusdt", **kwargs)
    assert t.name == topic
    assert t.route == "public"


def test_bad_topics(adapter: BybitAdapter) -> None:
    with pytest.raises(Unsupported):
        adapter.public_topics(Channel.ORDER_BOOK, "BTCUSDT", depth=5000)
    with pytest.raises(ConfigError):
        adapter.public_topics(Channel.ORDER_BOOK, "BTCUSDT", depth=0)
    with pytest.raises(Unsupported):
        adapter.public_topics(Channel.OHLCV, "BTCUSDT", interval="3d")
    with pytest.raises(ConfigError):
        adapter.public_topics(Channel.OHLCV, "BTCUSDT")


def test_ws_command_frames(adapter: BybitAdapter) -> None:
    cancel = adapter.ws_command(
        CommandKind.CANCEL_ORDER,
        [CancelRequest(symbol="BTCUSDT", id=f"o{i}") for i in range(2)],
        "req-1",
        CREDS,
        1700000000000,
        5000,
    )
    frame = json.loads(cancel.frame)
    assert frame == {
        "reqId": "req-1",
        "header": {"X-BAPI-TIMESTAMP": "1700000000000", "X-BAPI-RECV-WINDOW": "5000"},
        "op": "order.cancel-batch",
        "args": [
            {
                "category": "linear",
                "request": [
                    {"symbol": "BTCUSDT", "orderId": "o0"},
                    {"symbol": "BTCUSDT", "orderId": "o1"},
                ],
            }
        ],
    }
    with pytest.raises(Unsupported, match="cancel-all"):
        adapter.ws_command(CommandKind.CANCEL_ALL_ORDERS, [], "r", CREDS, 1, 1)
    with pytest.raises(ConfigError, match="at most 20"):
        adapter.ws_command(
            CommandKind.CANCEL_ORDER,
            [CancelRequest(symbol="BTCUSDT", id=str(i)) for i in range(21)],
            "r",
            CREDS,
            1,
            1,
        )
    with pytest.raises(ConfigError, match="reqId"):
        adapter.ws_command(
            CommandKind.CANCEL_ORDER, [CancelRequest(symbol="B", id="1")], "a b", CREDS, 1, 1
        )


# -- capabilities and rate limits ----------------------------------------------------------------


def test_capabilities() -> None:
    caps = BybitAdapter.capabilities
    assert caps.methods == API_METHODS - {"fetch_liquidations", "cancel_all_orders_ws"}
    assert "fetch_liquidations" in caps.notes
    assert "cancel_all_orders_ws" not in caps.ws_commands
    assert "cancel_all_orders_ws" in caps.notes
    assert caps.ws_commands <= caps.methods
    assert caps.max_batch_create == caps.max_batch_edit == caps.max_batch_cancel == 20
    assert caps.watch_book_depths == (1, 50, 200, 1000)
    assert caps.liquidations_complete
    assert caps.open_interest_push
    assert caps.position_mode_scope == "symbol"
    assert caps.margin_mode_scope == "account"
    assert "8h" not in caps.ohlcv_intervals
    assert "1M" in caps.ohlcv_intervals


def test_rate_limit_rules_and_headers(adapter: BybitAdapter) -> None:
    rules = {r.key: r for r in adapter.rate_limit_rules}
    assert (rules["weight"].limit, rules["weight"].window_s) == (600, 5.0)
    assert rules["POST /v5/order/create"].limit == 10
    assert rules["GET /v5/order/realtime"].limit == 50
    assert rules["GET /v5/account/fee-rate"].limit == 5
    # Rule keys are the runtime's endpoint strings of the requests the flows build.
    flows = [
        adapter.create_orders(
            [OrderRequest(symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET, amount=D("1"))]
        ),
        adapter.cancel_orders([CancelRequest(symbol="BTCUSDT", id=str(i)) for i in range(2)]),
        adapter.fetch_open_orders(None),
        adapter.fetch_positions(None),
        adapter.fetch_balance(),
        adapter.fetch_my_trades(None, None, None),
    ]
    for flow in flows:
        request = first_request(flow)
        assert f"{request.method} {request.path}" in rules
        assert request.weight == 1
    (usage,) = adapter.parse_rate_limits(
        {
            "x-bapi-limit": "10",
            "x-bapi-limit-status": "9",
            "x-bapi-limit-reset-timestamp": "1711001595208",
        },
        endpoint="POST /v5/order/create",
    )
    assert usage.key == "POST /v5/order/create"
    assert (usage.limit, usage.remaining, usage.used, usage.reset_at) == (10, 9, 1, 1711001595208)
    assert usage.window_s == 1.0
    assert adapter.parse_rate_limits({}) == []
    assert adapter.parse_rate_limits({"x-bapi-limit": "junk"}) == []
