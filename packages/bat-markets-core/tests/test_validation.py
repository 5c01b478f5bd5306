"""Order validation against instrument filters taken from real venue metadata."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bat_markets.core import (
    ConfigError,
    EditRequest,
    InstrumentSpec,
    InstrumentStatus,
    OrderRequest,
    OrderType,
    Rounding,
    Side,
    TimeInForce,
    quantize,
    validate_edit,
    validate_order,
)

DATA = Path(__file__).parent / "data"
D = Decimal


def binance_btcusdt() -> InstrumentSpec:
    """BTCUSDT from the captured exchangeInfo, mapped the way the adapter's filters are defined."""
    info = msgspec.json.decode((DATA / "binance_exchange_info.json").read_bytes())
    raw = next(s for s in info["symbols"] if s["symbol"] == "BTCUSDT")
    f = {x["filterType"]: x for x in raw["filters"]}
    return InstrumentSpec(
        venue="binance",
        symbol="BTC/USDT:USDT",
        id="BTCUSDT",
        base="BTC",
        quote="USDT",
        settle="USDT",
        tick_size=D(f["PRICE_FILTER"]["tickSize"]),
        min_price=D(f["PRICE_FILTER"]["minPrice"]),
        max_price=D(f["PRICE_FILTER"]["maxPrice"]),
        step_size=D(f["LOT_SIZE"]["stepSize"]),
        min_qty=D(f["LOT_SIZE"]["minQty"]),
        max_qty=D(f["LOT_SIZE"]["maxQty"]),
        market_step_size=D(f["MARKET_LOT_SIZE"]["stepSize"]),
        market_min_qty=D(f["MARKET_LOT_SIZE"]["minQty"]),
        market_max_qty=D(f["MARKET_LOT_SIZE"]["maxQty"]),
        min_notional=D(f["MIN_NOTIONAL"]["notional"]),
    )


def bybit_btcusdt() -> InstrumentSpec:
    info = msgspec.json.decode((DATA / "bybit_instruments_info.json").read_bytes())
    raw = info["result"]["list"][0]
    price, lot = raw["priceFilter"], raw["lotSizeFilter"]
    return InstrumentSpec(
        venue="bybit",
        symbol="BTC/USDT:USDT",
        id="BTCUSDT",
        base="BTC",
        quote="USDT",
        settle="USDT",
        tick_size=D(price["tickSize"]),
        min_price=D(price["minPrice"]),
        max_price=D(price["maxPrice"]),
        step_size=D(lot["qtyStep"]),
        min_qty=D(lot["minOrderQty"]),
        max_qty=D(lot["maxOrderQty"]),
        market_max_qty=D(lot["maxMktOrderQty"]),
        min_notional=D(lot["minNotionalValue"]),
    )


BN = binance_btcusdt()
BY = bybit_btcusdt()


def test_fixture_specs_are_what_the_venues_publish() -> None:
    assert (BN.tick_size, BN.step_size, BN.min_notional) == (D("0.10"), D("0.001"), D("10"))
    assert (BN.min_price, BN.max_price, BN.max_qty) == (D("402"), D("1246396.60"), D("1000"))
    assert (BY.market_max_qty, BY.max_qty, BY.min_notional) == (D("500"), D("1190"), D("5"))


def order(**changes: Any) -> OrderRequest:
    fields: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "side": Side.BUY,
        "type": OrderType.LIMIT,
        "amount": D("0.010"),
        "price": D("50000.10"),
    }
    fields.update(changes)
    return OrderRequest(**fields)


def rejects(spec: InstrumentSpec, request: OrderRequest, *fragments: str, **kw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        validate_order(spec, request, **kw)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert info.value.venue == spec.venue
    assert spec.symbol in message
    return message


# -- passing orders ------------------------------------------------------------------------------

PASSING = [
    order(),
    order(symbol="BTC/USDT:USDT"),
    order(symbol="btcusdt"),
    order(type=OrderType.MARKET, price=None, amount=D("0.5")),
    order(type=OrderType.LIMIT, time_in_force=TimeInForce.POST_ONLY),
    order(type=OrderType.LIMIT, time_in_force=TimeInForce.GTD, good_till=1_900_000_000_000),
    order(type=OrderType.STOP_LIMIT, trigger_price=D("49000.0")),
    order(type=OrderType.TAKE_PROFIT_LIMIT, trigger_price=D("51000")),
    order(type=OrderType.STOP_MARKET, price=None, trigger_price=D("49000.0")),
    order(type=OrderType.TAKE_PROFIT_MARKET, price=None, trigger_price=D("51000.0")),
    order(
        type=OrderType.STOP_MARKET,
        price=None,
        amount=None,
        trigger_price=D("49000.0"),
        close_position=True,
    ),
    order(type=OrderType.TRAILING_STOP_MARKET, price=None, callback_rate=D("1.5")),
    order(
        type=OrderType.TRAILING_STOP_MARKET,
        price=None,
        callback_rate=D("0.1"),
        trigger_price=D("52000"),
    ),
    # below min notional, but reduce-only orders are exempt (Binance -4164 / PROTOCOLS §12.10)
    order(amount=D("0.001"), price=D("5000.0"), reduce_only=True),
    order(amount="0.010", price="50000.1"),  # str values from a loose caller are parsed exactly
    order(amount=D("1000"), price=D("1246396.60")),  # max qty and max price themselves
    order(amount=D("0.001"), price=D("10000.0")),  # exactly the min notional
]


@pytest.mark.parametrize("request_", PASSING, ids=lambda r: f"{r.type}-{r.amount}-{r.price}")
def test_valid_orders_pass_binance(request_: OrderRequest) -> None:
    validate_order(BN, request_)


def test_valid_orders_pass_bybit() -> None:
    validate_order(BY, order(amount=D("0.001"), price=D("5000.0")))  # notional 5 == min 5
    validate_order(BY, order(type=OrderType.MARKET, price=None, amount=D("500")))
    validate_order(BY, order(amount=D("1190"), price=D("60000")))


# -- every failing rule ----------------------------------------------------------------------------


def test_instrument_must_be_trading() -> None:
    for status in (InstrumentStatus.HALTED, InstrumentStatus.PRE_LAUNCH, InstrumentStatus.CLOSED):
        halted = msgspec.structs.replace(BN, status=status)
        rejects(halted, order(), status.value, "trading")


def test_request_must_name_the_instrument() -> None:
    rejects(BN, order(symbol="ETHUSDT"), "'ETHUSDT'", "BTCUSDT")


def test_amount_rules() -> None:
    rejects(BN, order(amount=None), "amount is required")
    rejects(BN, order(amount=D("0")), "amount must be positive")
    rejects(BN, order(amount=D("-0.01")), "amount must be positive")
    msg = rejects(
        BN, order(amount=D("0.0105")), "amount 0.0105", "step size 0.001", "0.01", "0.011"
    )
    assert "nearest valid values are 0.01 and 0.011" in msg
    rejects(BN, order(amount=D("1000.001")), "above the maximum quantity 1000")
    rejects(BY, order(amount=D("1190.001")), "above the maximum quantity 1190")
    rejects(BN, order(amount=0.01), "float")  # floats never pass
    rejects(BN, order(amount=D("NaN")), "finite")


def test_market_orders_use_market_lot_filters() -> None:
    # Bybit: maxMktOrderQty 500 < maxOrderQty 1190
    rejects(
        BY, order(type=OrderType.MARKET, price=None, amount=D("501")), "market maximum quantity 500"
    )
    validate_order(BY, order(type=OrderType.LIMIT, amount=D("501"), price=D("60000")))
    coarse = msgspec.structs.replace(BN, market_step_size=D("0.01"), market_min_qty=D("0.01"))
    rejects(
        coarse, order(type=OrderType.MARKET, price=None, amount=D("0.015")), "market step size 0.01"
    )
    rejects(
        coarse,
        order(type=OrderType.MARKET, price=None, amount=D("0.005")),
        "market minimum quantity 0.01",
    )
    stop = order(
        type=OrderType.STOP_MARKET, price=None, trigger_price=D("49000"), amount=D("0.015")
    )
    rejects(coarse, stop, "market step size")
    validate_order(coarse, order(amount=D("0.015")))  # limit orders keep LOT_SIZE


def test_min_qty() -> None:
    big_min = msgspec.structs.replace(BN, min_qty=D("0.01"))
    rejects(big_min, order(amount=D("0.005")), "below the minimum quantity 0.01")


def test_price_rules() -> None:
    rejects(BN, order(price=None), "needs a price")
    rejects(BN, order(price=D("0")), "price must be positive")
    rejects(
        BN, order(price=D("50000.15")), "price 50000.15", "tick size 0.1", "50000.1 and 50000.2"
    )
    rejects(BN, order(price=D("401.9"), amount=D("1")), "below the minimum price 402")
    rejects(BN, order(price=D("1246396.70")), "above the maximum price 1246396.6")
    rejects(BN, order(type=OrderType.MARKET, price=D("50000")), "takes no price", "reference_price")
    rejects(
        BN,
        order(type=OrderType.STOP_MARKET, price=D("50000"), trigger_price=D("49000")),
        "takes no price",
    )


def test_zero_bounds_disable_price_limits() -> None:
    # Binance: "a 0 disables that rule"
    open_ended = msgspec.structs.replace(BN, min_price=D(0), max_price=D(0))
    validate_order(open_ended, order(price=D("99999999.9"), amount=D("0.001")))


def test_trigger_price_rules() -> None:
    for kind in (OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT):
        rejects(BN, order(type=kind), f"a {kind.value} order needs a trigger_price")
    for kind in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
        rejects(BN, order(type=kind, price=None), "needs a trigger_price")
    rejects(BN, order(trigger_price=D("49000")), "trigger_price is only valid for conditional")
    rejects(
        BN,
        order(type=OrderType.STOP_LIMIT, trigger_price=D("49000.05")),
        "trigger_price 49000.05",
        "tick size",
    )
    rejects(
        BN,
        order(type=OrderType.STOP_LIMIT, trigger_price=D("100")),
        "trigger_price 100 is below the minimum price 402",
    )
    rejects(
        BN,
        order(
            type=OrderType.TRAILING_STOP_MARKET,
            price=None,
            callback_rate=D(1),
            trigger_price=D("1.01"),
        ),
        "trigger_price",
    )


def test_callback_rate_rules() -> None:
    trailing = {"type": OrderType.TRAILING_STOP_MARKET, "price": None}
    rejects(BN, order(**trailing), "needs a callback_rate")
    rejects(BN, order(**trailing, callback_rate=D(0)), "callback_rate must be positive")
    rejects(BN, order(**trailing, callback_rate=D(100)), "below 100")
    rejects(BN, order(callback_rate=D(1)), "callback_rate is only valid for trailing")


def test_time_in_force_rules() -> None:
    rejects(
        BN,
        order(type=OrderType.MARKET, price=None, time_in_force=TimeInForce.POST_ONLY),
        "post-only is only valid for limit",
    )
    rejects(
        BN,
        order(
            type=OrderType.STOP_LIMIT, trigger_price=D("49000"), time_in_force=TimeInForce.POST_ONLY
        ),
        "post-only",
    )
    rejects(BN, order(time_in_force=TimeInForce.GTD), "needs good_till")
    rejects(
        BN, order(good_till=1_900_000_000_000), "good_till is only valid with time_in_force GTD"
    )
    rejects(
        BN,
        order(type=OrderType.MARKET, price=None, time_in_force=TimeInForce.GTD, good_till=1),
        "GTD is only valid for limit-priced",
    )
    rejects(BN, order(time_in_force=TimeInForce.GTD, good_till=-5), "positive epoch-ms")
    rejects(BN, order(time_in_force="sometimes"), "sometimes")


def test_close_position_rules() -> None:
    for kind in (
        OrderType.LIMIT,
        OrderType.MARKET,
        OrderType.TRAILING_STOP_MARKET,
        OrderType.STOP_LIMIT,
    ):
        rejects(
            BN,
            order(type=kind, amount=None, close_position=True, price=None),
            "close_position is only valid for stop_market and take_profit_market",
        )
    rejects(
        BN,
        order(
            type=OrderType.STOP_MARKET, price=None, trigger_price=D("49000"), close_position=True
        ),
        "leave amount None",
    )


def test_min_notional_rules() -> None:
    msg = rejects(
        BN,
        order(amount=D("0.001"), price=D("9999.9")),
        "notional 9.9999",
        "minimum notional 10",
        "at least 0.002",
        "reduce-only",
    )
    assert "price 9999.9" in msg
    # market orders are valued at reference_price when given, skipped otherwise
    market = order(type=OrderType.MARKET, price=None, amount=D("0.001"))
    validate_order(BN, market)
    rejects(BN, market, "reference price 5000", "at least 0.002", reference_price=D("5000"))
    validate_order(BN, market, reference_price=D("10000"))
    validate_order(BN, msgspec.structs.replace(market, reduce_only=True), reference_price=D("5000"))
    rejects(BN, market, "reference_price", reference_price=D("-1"))
    # stop-market orders fall back to their trigger price
    stop = order(type=OrderType.STOP_MARKET, price=None, trigger_price=D("5000"), amount=D("0.001"))
    rejects(BN, stop, "trigger price 5000")
    validate_order(BN, msgspec.structs.replace(stop, reduce_only=True))
    # trailing stops without a reference cannot be valued
    trail = order(
        type=OrderType.TRAILING_STOP_MARKET, price=None, callback_rate=D(1), amount=D("0.001")
    )
    validate_order(BN, trail)
    rejects(BN, trail, "notional", reference_price=D("5000"))
    # contract size multiplies the notional
    big = msgspec.structs.replace(BN, contract_size=D(10))
    validate_order(big, order(amount=D("0.001"), price=D("1000.0")))


def test_bybit_min_notional() -> None:
    rejects(BY, order(amount=D("0.001"), price=D("4999.9")), "minimum notional 5")


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=D("0.0001"), max_value=D("2000"), places=4),
    st.decimals(min_value=D("300"), max_value=D("1300000"), places=2),
)
def test_quantized_orders_pass_exactly_when_within_bounds(amount: Decimal, price: Decimal) -> None:
    """Property: after quantising, the only remaining reasons to reject are range/notional."""
    q_amount = quantize(amount, BN.step_size, Rounding.DOWN)
    q_price = quantize(price, BN.tick_size, Rounding.NEAREST)
    request = order(amount=q_amount, price=q_price)
    in_range = (
        BN.min_qty <= q_amount <= (BN.max_qty or q_amount)
        and (BN.min_price or 0) <= q_price <= (BN.max_price or q_price)
        and q_amount * q_price >= BN.min_notional
    )
    if in_range:
        validate_order(BN, request)
    else:
        with pytest.raises(ConfigError):
            validate_order(BN, request)
    if in_range and amount != q_amount and amount <= (BN.max_qty or amount):
        with pytest.raises(ConfigError, match="step size"):
            validate_order(BN, order(amount=amount, price=q_price))


# -- edits -----------------------------------------------------------------------------------------


def edit(**changes: Any) -> EditRequest:
    fields: dict[str, Any] = {"symbol": "BTCUSDT", "id": "123", "price": D("50000.1")}
    fields.update(changes)
    return EditRequest(**fields)


def test_valid_edits() -> None:
    validate_edit(BN, edit())
    validate_edit(BN, edit(id=None, client_order_id="bm-1", amount=D("0.5"), price=None))
    validate_edit(BN, edit(price=None, trigger_price=D("49000")))


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"id": None}, "order id or client_order_id"),
        ({"price": None}, "at least one of amount, price, trigger_price"),
        ({"price": D("50000.15")}, "tick size"),
        ({"amount": D("0.0015")}, "step size"),
        ({"amount": D("0.0005")}, "minimum quantity"),
        ({"amount": D("2000")}, "maximum quantity"),
        ({"amount": D("-1")}, "positive"),
        ({"trigger_price": D("1")}, "minimum price"),
        ({"symbol": "ETHUSDT"}, "ETHUSDT"),
        ({"price": 50000.1}, "float"),
    ],
)
def test_invalid_edits(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        validate_edit(BN, edit(**changes))


def test_edit_on_halted_instrument() -> None:
    with pytest.raises(ConfigError, match="trading"):
        validate_edit(msgspec.structs.replace(BN, status=InstrumentStatus.SETTLING), edit())
