"""Order intents to Binance request parameters (PROTOCOLS §4.B).

Regular orders (market, limit) go to ``/fapi/v1/order``; conditional ones (stop, take-profit,
trailing) to the algo service ``/fapi/v1/algoOrder`` with ``algoType=CONDITIONAL``, as the venue
requires since 2025-12-09. In hedge mode ``positionSide`` LONG/SHORT is sent and ``reduceOnly``
never is (the venue rejects the pair with -1106): closing is expressed by side + position side.
Bad intents raise ``ConfigError`` / ``Unsupported`` before anything is sent.
"""

from __future__ import annotations

import re
from decimal import Decimal

from bat_markets.core import (
    CancelRequest,
    ConfigError,
    EditRequest,
    OrderRequest,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    TriggerBy,
    Unsupported,
)

from ._convert import (
    ORDER_TYPE_TO_NATIVE,
    POSITION_SIDE_TO_NATIVE,
    SIDE_TO_NATIVE,
    TIF_TO_NATIVE,
    fmt,
    parse_algo_id,
)

__all__ = [
    "ORDER_PATH",
    "ALGO_PATH",
    "Params",
    "check_client_id",
    "is_algo_request",
    "order_params",
    "algo_params",
    "edit_params",
    "cancel_params",
    "algo_cancel_params",
]

ORDER_PATH = "/fapi/v1/order"
ALGO_PATH = "/fapi/v1/algoOrder"
Params = list[tuple[str, str]]
_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_VENUE = "binance"


def _config(msg: str) -> ConfigError:
    return ConfigError(msg, venue=_VENUE)


def check_client_id(client_id: str) -> str:
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise _config(
            f"client order id {client_id!r} is invalid on Binance: "
            "1-36 characters of [A-Za-z0-9.:/_-]"
        )
    return client_id


def _positive(value: Decimal | None, what: str) -> str:
    if value is None:
        raise _config(f"{what} is required")
    if not isinstance(value, Decimal):
        raise _config(f"{what} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite() or value <= 0:
        raise _config(f"{what} must be positive, got {value}")
    return fmt(value)


def _symbol(symbol: str) -> str:
    if not isinstance(symbol, str) or not symbol:
        raise _config(f"symbol must be a non-empty native id, got {symbol!r}")
    return symbol


def is_algo_request(request: OrderRequest) -> bool:
    return OrderType(request.type).is_conditional


def _side_params(request: OrderRequest, params: Params) -> bool:
    """Append side / positionSide; returns whether ``reduceOnly`` may be sent (one-way mode)."""
    side = Side(request.side)
    pside = PositionSide(request.position_side)
    params.append(("side", SIDE_TO_NATIVE[side]))
    if pside is PositionSide.BOTH:
        return True
    params.append(("positionSide", POSITION_SIDE_TO_NATIVE[pside]))
    opening = (pside is PositionSide.LONG) == (side is Side.BUY)
    if (request.reduce_only or request.close_position) and opening:
        raise _config(
            f"in hedge mode a closing order on the {pside.value} leg must be "
            f"{'SELL' if pside is PositionSide.LONG else 'BUY'}; "
            f"{side.value} {pside.value} would open"
        )
    return False


def _tif(request: OrderRequest, params: Params) -> None:
    tif = TimeInForce(request.time_in_force) if request.time_in_force else TimeInForce.GTC
    params.append(("timeInForce", TIF_TO_NATIVE[tif]))
    if tif is TimeInForce.GTD:
        if request.good_till is None:
            raise _config("time_in_force gtd needs good_till (epoch ms)")
        params.append(("goodTillDate", str(int(request.good_till))))
    elif request.good_till is not None:
        raise _config("good_till is only valid with time_in_force gtd")


def order_params(request: OrderRequest) -> Params:
    """Parameters of ``POST /fapi/v1/order`` (market / limit)."""
    kind = OrderType(request.type)
    if kind.is_conditional:
        raise _config(f"{kind.value} is a conditional order: use algo_params")
    params: Params = [("symbol", _symbol(request.symbol))]
    may_reduce = _side_params(request, params)
    params.append(("type", ORDER_TYPE_TO_NATIVE[kind]))
    if request.close_position:
        raise _config(
            "close_position is only for stop_market / take_profit_market orders; "
            "use reduce_only (one-way) or the closing side (hedge) for market/limit"
        )
    if request.trigger_price is not None or request.callback_rate is not None:
        raise _config(f"trigger_price / callback_rate are not valid on a {kind.value} order")
    if kind is OrderType.LIMIT:
        _tif(request, params)
        params.append(("quantity", _positive(request.amount, "amount")))
        params.append(("price", _positive(request.price, "price of a limit order")))
    else:
        if request.price is not None:
            raise _config("a market order takes no price")
        if request.time_in_force not in (None, TimeInForce.IOC, TimeInForce.GTC):
            raise _config(f"time_in_force {request.time_in_force} is not valid on a market order")
        if request.good_till is not None:
            raise _config("good_till is only valid with time_in_force gtd")
        params.append(("quantity", _positive(request.amount, "amount")))
    if request.reduce_only and may_reduce:
        params.append(("reduceOnly", "true"))
    if request.client_order_id is not None:
        params.append(("newClientOrderId", check_client_id(request.client_order_id)))
    params.append(("newOrderRespType", "RESULT"))
    return params


def _working_type(trigger: TriggerBy) -> str:
    trigger = TriggerBy(trigger)
    if trigger is TriggerBy.MARK_PRICE:
        return "MARK_PRICE"
    if trigger is TriggerBy.LAST_PRICE:
        return "CONTRACT_PRICE"
    raise Unsupported(
        "Binance conditional orders trigger on the last (contract) or mark price only, "
        "not the index price",
        venue=_VENUE,
    )


def algo_params(request: OrderRequest) -> Params:
    """Parameters of ``POST /fapi/v1/algoOrder`` (conditional orders)."""
    kind = OrderType(request.type)
    if not kind.is_conditional:
        raise _config(f"{kind.value} is not a conditional order")
    params: Params = [("algoType", "CONDITIONAL"), ("symbol", _symbol(request.symbol))]
    may_reduce = _side_params(request, params)
    params.append(("type", ORDER_TYPE_TO_NATIVE[kind]))
    if kind.has_limit_price:
        _tif(request, params)
        params.append(("price", _positive(request.price, "price of a stop/take-profit limit")))
    else:
        if request.price is not None:
            raise _config(f"a {kind.value} order takes no limit price")
        if request.time_in_force is not None or request.good_till is not None:
            raise _config(f"time_in_force does not apply to a {kind.value} order")
    if request.close_position:
        if kind not in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET):
            raise _config("close_position is only for stop_market / take_profit_market orders")
        if request.amount is not None or request.reduce_only:
            raise _config("close_position closes the whole position: send no amount/reduce_only")
        params.append(("closePosition", "true"))
    else:
        params.append(("quantity", _positive(request.amount, "amount")))
    if kind is OrderType.TRAILING_STOP_MARKET:
        params.append(("callbackRate", _positive(request.callback_rate, "callback_rate")))
        if request.trigger_price is not None:
            params.append(("activatePrice", _positive(request.trigger_price, "trigger_price")))
    else:
        if request.callback_rate is not None:
            raise _config("callback_rate is only for trailing_stop_market orders")
        params.append(("triggerPrice", _positive(request.trigger_price, "trigger_price")))
    params.append(("workingType", _working_type(request.trigger_by)))
    if request.reduce_only and may_reduce:
        params.append(("reduceOnly", "true"))
    if request.client_order_id is not None:
        params.append(("clientAlgoId", check_client_id(request.client_order_id)))
    return params


def edit_params(request: EditRequest) -> Params:
    """Parameters of ``PUT /fapi/v1/order``: limit orders only, side + quantity + price all set."""
    if parse_algo_id(request.id) is not None:
        raise Unsupported(
            "Binance cannot amend conditional (algo) orders: cancel and place a new one",
            venue=_VENUE,
        )
    if request.trigger_price is not None:
        raise Unsupported(
            "Binance amends limit orders only (price, quantity); trigger prices cannot change",
            venue=_VENUE,
        )
    if request.side is None:
        raise _config("Binance modify needs the order side")
    params: Params = [("symbol", _symbol(request.symbol))]
    params.extend(_order_ref(request.id, request.client_order_id))
    params.append(("side", SIDE_TO_NATIVE[Side(request.side)]))
    params.append(("quantity", _positive(request.amount, "amount (Binance modify sends both)")))
    params.append(("price", _positive(request.price, "price (Binance modify sends both)")))
    return params


def _order_ref(order_id: str | None, client_order_id: str | None) -> Params:
    if order_id is not None:
        if not order_id.isdigit():
            raise _config(f"Binance order id must be numeric or 'algo:<id>', got {order_id!r}")
        return [("orderId", order_id)]
    if client_order_id is not None:
        return [("origClientOrderId", check_client_id(client_order_id))]
    raise _config("an order id or a client order id is required")


def cancel_params(request: CancelRequest) -> Params:
    """Parameters of ``DELETE /fapi/v1/order``."""
    return [("symbol", _symbol(request.symbol)), *_order_ref(request.id, request.client_order_id)]


def algo_cancel_params(algo_id: str | None, client_algo_id: str | None) -> Params:
    """Parameters of ``DELETE`` / ``GET /fapi/v1/algoOrder`` (no symbol: ids are global)."""
    if algo_id is not None:
        if not algo_id.isdigit():
            raise _config(f"algo order id must be numeric, got {algo_id!r}")
        return [("algoId", algo_id)]
    if client_algo_id is not None:
        return [("clientAlgoId", check_client_id(client_algo_id))]
    raise _config("an order id or a client order id is required")
