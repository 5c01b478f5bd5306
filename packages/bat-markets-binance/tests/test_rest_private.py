"""Private REST reads: balances, positions (one-way + hedge), orders, fills, settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from binance_kit import Script, err, load, ok, params, raw

from bat_markets.binance import BinanceAdapter
from bat_markets.core import (
    Liquidity,
    MarginMode,
    OrderStatus,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    StateDivergence,
    TimeInForce,
    TriggerBy,
    Unsupported,
)

D = Decimal


@pytest.mark.parametrize("name", ["rest/balance_v3.json", "rest/balance_v2.json"])
def test_fetch_balance(adapter: BinanceAdapter, name: str) -> None:
    s = Script(ok(raw(name)))
    (b,) = s.run(adapter.fetch_balance())
    req = s.requests[0]
    assert req.path == "/fapi/v3/balance"
    assert req.signed
    assert req.weight == 5
    assert b.asset == "USDT"
    assert b.wallet_balance == D("122607.35137903")
    assert b.cross_wallet_balance == D("23.72469206")
    assert b.unrealized_pnl == D("0.00000000")
    assert b.available == D("23.72469206")
    assert b.timestamp == 1617939110373


def test_fetch_account_v3(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/account_v3.json")))
    balances, positions = s.run(adapter.fetch_account())
    assert s.requests[0].path == "/fapi/v3/account"
    assert [b.asset for b in balances] == ["USDT", "USDC"]
    assert balances[1].available == D("126.72469206")
    assert balances[1].equity == D("103.12345678")
    (p,) = positions
    assert p.symbol == "BTC/USDT:USDT"
    assert p.size == D("1.000")
    assert p.position_side is PositionSide.BOTH


def test_fetch_account_v2_shape(adapter: BinanceAdapter) -> None:
    balances, positions = Script(ok(raw("rest/account_v2.json"))).run(adapter.fetch_account())
    assert balances[0].wallet_balance == D("23.72469206")
    assert balances[1].asset == "BUSD"
    (p,) = positions
    assert p.leverage == D("100")
    assert p.margin_mode is MarginMode.ISOLATED
    assert p.size == D("0")


def test_positions_one_way_v3_with_symbol_config(adapter: BinanceAdapter) -> None:
    config = [
        {
            "symbol": "ADAUSDT",
            "marginType": "CROSSED",
            "isAutoAddMargin": False,
            "leverage": 20,
            "maxNotionalValue": "1000",
        }
    ]
    s = Script(ok(raw("rest/position_risk_v3_one_way.json")), ok(config))
    (p,) = s.run(adapter.fetch_positions(None))
    assert [r.path for r in s.requests] == ["/fapi/v3/positionRisk", "/fapi/v1/symbolConfig"]
    assert p.symbol == "ADA/USDT:USDT"
    assert p.position_side is PositionSide.BOTH
    assert p.size == D("30")
    assert p.side is Side.BUY
    assert p.entry_price == D("0.385")
    assert p.break_even_price == D("0.385077")
    assert p.mark_price == D("0.41047590")
    assert p.unrealized_pnl == D("0.76427700")
    assert p.liquidation_price is None  # "0" = none
    assert p.notional == D("12.31427700")
    assert p.timestamp == 1720736417660
    assert p.leverage == D("20")
    assert p.margin_mode is MarginMode.CROSS


def test_positions_hedge_v3_keyed_by_side(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/position_risk_v3_hedge.json")), ok(raw("rest/symbol_config.json")))
    long, short = s.run(adapter.fetch_positions(None))
    assert long.key == ("ADA/USDT:USDT", PositionSide.LONG)
    assert long.size == D("30")
    assert short.key == ("COMP/USDT:USDT", PositionSide.SHORT)
    assert short.size == D("1.000")  # hedge legs are non-negative; the side is in the key
    assert short.side is Side.SELL
    assert short.liquidation_price == D("2260.56757210")
    assert long.leverage is None  # symbolConfig listed only BTCUSDT


def test_positions_v2_hedge_and_one_way(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/position_risk_v2_hedge.json")))
    long, short = s.run(adapter.fetch_positions(["BTCUSDT"]))
    assert params(s.requests[0]) == {"symbol": "BTCUSDT"}
    assert len(s.requests) == 1  # v2 rows carry leverage: no symbolConfig call
    assert long.key == ("BTC/USDT:USDT", PositionSide.LONG)
    assert long.size == D("0.001")
    assert long.leverage == D("4")
    assert long.margin_mode is MarginMode.CROSS
    assert long.liquidation_price == D("19731.45529116")
    assert short.size == D("0.000")
    assert short.side is None
    (flat,) = Script(ok(raw("rest/position_risk_v2_one_way.json"))).run(
        adapter.fetch_positions(None)
    )
    assert flat.margin_mode is MarginMode.ISOLATED
    assert flat.leverage == D("10")
    assert flat.entry_price is None


def test_positions_survive_a_failing_symbol_config(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/position_risk_v3_one_way.json")), err("rest/error_-2015.json", 401))
    (p,) = s.run(adapter.fetch_positions(None))
    assert p.leverage is None
    assert p.size == D("30")


def test_open_orders_merge_regular_and_algo(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/open_orders.json")), ok(raw("rest/algo_open_orders.json")))
    regular, algo = s.run(adapter.fetch_open_orders("BTCUSDT"))
    assert [r.path for r in s.requests] == ["/fapi/v1/openOrders", "/fapi/v1/openAlgoOrders"]
    assert all(params(r) == {"symbol": "BTCUSDT"} for r in s.requests)
    assert all(r.weight == 1 for r in s.requests)
    assert regular.id == "1917641"
    assert regular.client_order_id == "abc"
    assert regular.type is OrderType.TRAILING_STOP_MARKET
    assert regular.side is Side.BUY
    assert regular.position_side is PositionSide.SHORT
    assert regular.status is OrderStatus.NEW
    assert regular.amount == D("0.40")
    assert regular.trigger_price == D("9020")  # trailing: the activation price
    assert regular.trigger_by is TriggerBy.LAST_PRICE
    assert regular.price is None
    assert regular.created_at == 1579276756075
    assert algo.id == "algo:2148627"
    assert algo.client_order_id == "MRumok0dkhrP4kCm12AHaB"
    assert algo.symbol == "BNB/USDT:USDT"
    assert algo.type is OrderType.TAKE_PROFIT_LIMIT
    assert algo.status is OrderStatus.NEW
    assert algo.amount == D("0.01")
    assert algo.price == D("750.000")
    assert algo.trigger_price == D("750.000")
    assert algo.time_in_force is TimeInForce.GTC
    assert algo.average_price is None
    s = Script(ok(b"[]"), ok(b"[]"))
    assert s.run(adapter.fetch_open_orders(None)) == []
    assert all(r.weight == 40 and not r.params for r in s.requests)


def test_fetch_order_by_id_and_algo_id(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/order_query.json")))
    o = s.run(adapter.fetch_order("BTCUSDT", "1917641", None))
    assert params(s.requests[0]) == {"symbol": "BTCUSDT", "orderId": "1917641"}
    assert o.id == "1917641"
    assert o.trigger_price == D("9020")
    s = Script(ok(raw("rest/algo_order_query.json")))
    a = s.run(adapter.fetch_order("BNBUSDT", "algo:2146760", None))
    assert s.requests[0].path == "/fapi/v1/algoOrder"
    assert params(s.requests[0]) == {"algoId": "2146760"}
    assert a.id == "algo:2146760"
    assert a.status is OrderStatus.CANCELED
    assert a.updated_at == 1750514545091


def test_fetch_order_by_client_id_falls_back_to_the_algo_service(adapter: BinanceAdapter) -> None:
    not_found = {"code": -2013, "msg": "Order does not exist."}
    s = Script(err(not_found), ok(raw("rest/algo_order_query.json")))
    a = s.run(adapter.fetch_order("BNBUSDT", None, "6B2I9XVcJpCjqPAJ4YoFX7"))
    assert params(s.requests[0]) == {
        "symbol": "BNBUSDT",
        "origClientOrderId": "6B2I9XVcJpCjqPAJ4YoFX7",
    }
    assert params(s.requests[1]) == {"clientAlgoId": "6B2I9XVcJpCjqPAJ4YoFX7"}
    assert a.client_order_id == "6B2I9XVcJpCjqPAJ4YoFX7"
    with pytest.raises(StateDivergence) as info:
        Script(err(not_found), err(not_found)).run(adapter.fetch_order("BNBUSDT", None, "nope"))
    assert info.value.code == -2013


def test_orders_history_merged(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/all_orders.json")), ok(raw("rest/algo_open_orders.json")))
    orders = s.run(adapter.fetch_orders_history("BTCUSDT", 1579000000000, 10))
    assert [r.path for r in s.requests] == ["/fapi/v1/allOrders", "/fapi/v1/allAlgoOrders"]
    assert params(s.requests[0]) == {
        "symbol": "BTCUSDT",
        "startTime": "1579000000000",
        "limit": "10",
    }
    assert [o.id for o in orders] == ["1917641", "algo:2148627"]  # oldest first


def test_my_trades(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/user_trades.json")))
    (t,) = s.run(adapter.fetch_my_trades("BTCUSDT", None, 50))
    assert params(s.requests[0]) == {"symbol": "BTCUSDT", "limit": "50"}
    assert t.id == "698759"
    assert t.order_id == "25851813"
    assert t.side is Side.SELL
    assert t.price == D("7819.01")
    assert t.amount == D("0.002")
    assert t.fee == D("-0.07819010")
    assert t.fee_asset == "USDT"
    assert t.realized_pnl == D("-0.91539999")
    assert t.liquidity is Liquidity.TAKER
    assert t.position_side is PositionSide.SHORT
    assert t.timestamp == 1569514978020
    with pytest.raises(Unsupported, match="userTrades"):
        Script().run(adapter.fetch_my_trades(None, None, None))


def test_my_trades_since_paginates_with_from_id(adapter: BinanceAdapter) -> None:
    row = load("rest/user_trades.json")[0]
    page1 = [dict(row, id=i) for i in range(1000)]
    page2 = [dict(row, id=i) for i in range(1000, 1100)]
    s = Script(ok(page1), ok(page2))
    trades = s.run(adapter.fetch_my_trades("BTCUSDT", 123, 1500))
    assert len(trades) == 1100
    assert params(s.requests[0])["startTime"] == "123"
    assert params(s.requests[1]) == {"symbol": "BTCUSDT", "fromId": "1000", "limit": "500"}


def test_force_orders(adapter: BinanceAdapter) -> None:
    s = Script(ok(raw("rest/force_orders.json")))
    first, second = s.run(adapter.fetch_my_liquidations("BTCUSDT", 10))
    assert s.requests[0].path == "/fapi/v1/forceOrders"
    assert first.client_order_id == "autoclose-1596107620040000020"
    assert first.status is OrderStatus.FILLED
    assert first.average_price == D("10913.21000")
    assert first.time_in_force is TimeInForce.IOC
    assert second.position_side is PositionSide.SHORT
    assert second.filled == D("0.001")


def test_settings_reads(adapter: BinanceAdapter) -> None:
    mode = Script(ok(raw("rest/position_side_dual_get.json"))).run(adapter.fetch_position_mode())
    assert mode is PositionMode.HEDGE
    cfg = Script(ok(raw("rest/account_config.json"))).run(adapter.fetch_account_config())
    assert cfg.dualSidePosition is True
    assert cfg.multiAssetsMargin is False
    assert cfg.tradeGroupId == -1
    (sc,) = Script(ok(raw("rest/symbol_config.json"))).run(adapter.fetch_symbol_config("BTCUSDT"))
    assert (sc.symbol, sc.marginType, sc.leverage) == ("BTCUSDT", "CROSSED", 21)
    assert sc.maxNotionalValue == D("1000000")
    (lb,) = Script(ok(raw("rest/leverage_bracket.json"))).run(adapter.fetch_leverage_brackets())
    assert lb.symbol == "ETHUSDT"
    assert lb.notionalCoef == D("1.50")
    assert lb.brackets[0].initialLeverage == 75
    assert lb.brackets[0].maintMarginRatio == D("0.0065")
    rate = Script(ok(raw("rest/commission_rate.json"))).run(
        adapter.fetch_commission_rate("BTCUSDT")
    )
    assert rate.makerCommissionRate == D("0.0002")
    assert rate.takerCommissionRate == D("0.0004")
    transfer, commission = Script(ok(raw("rest/income.json"))).run(adapter.fetch_income())
    assert transfer.incomeType == "TRANSFER"
    assert transfer.income == D("-0.37500000")
    assert commission.symbol == "BTCUSDT"
    assert commission.tradeId == "2059192"


def test_private_session_creates_a_listen_key(adapter: BinanceAdapter) -> None:
    endpoints = adapter.endpoints("mainnet")  # type: ignore[arg-type]
    from bat_markets.core import Credentials

    creds = Credentials.of("k", "s")
    s = Script(ok(raw("rest/listen_key.json")))
    session = s.run(adapter.private_session(endpoints, creds, 0, 5000))
    req = s.requests[0]
    assert (req.method, req.path, req.keyed, req.signed) == (
        "POST",
        "/fapi/v1/listenKey",
        True,
        False,
    )
    key = load("rest/listen_key.json")["listenKey"]
    assert session.url == f"wss://fstream.binance.com/private/ws?listenKey={key}"
    assert session.keepalive is not None
    assert (session.keepalive.method, session.keepalive.path) == ("PUT", "/fapi/v1/listenKey")
    assert session.keepalive.keyed
    assert session.keepalive_interval_s == 1800
    # the keepalive answer (fixture) classifies as success
    assert adapter.classify_http_error(ok(raw("rest/listen_key_keepalive.json"))) is None
    testnet = Script(ok(raw("rest/listen_key.json"))).run(
        adapter.private_session(adapter.endpoints("testnet"), creds, 0, 5000)  # type: ignore[arg-type]
    )
    assert testnet.url == f"wss://fstream.binancefuture.com/ws/{key}"
    s = Script(ok(b"{}"))
    s.run(adapter.close_listen_key())
    assert s.requests[0].method == "DELETE"
