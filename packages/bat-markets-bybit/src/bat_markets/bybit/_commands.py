"""Order commands: request bodies (§4.Y), REST command flows and reply classification.

Bodies are validated eagerly (bad input raises ``ConfigError``/``Unsupported`` before anything
is sent). Flows return one receipt per item in request order and never raise for venue
rejections; a failure the runtime throws into a flow (transport error, timeout) makes that
request's items UNKNOWN and the flow carries on with the remaining chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import msgspec

from bat_markets.core import (
    BatMarketsError,
    CancelRequest,
    CommandKind,
    CommandReceipt,
    CommandStatus,
    ConfigError,
    DecodeError,
    EditRequest,
    InstrumentSpec,
    LeverageRequest,
    MarginMode,
    MarginModeRequest,
    OrderRequest,
    OrderType,
    PositionMode,
    PositionModeRequest,
    PositionSide,
    RestFlow,
    RestRequest,
    RestResponse,
    Side,
    TimeInForce,
    UnknownExecution,
    Unsupported,
)

from ._convert import TRIGGER_BY_NATIVE, Unify
from ._errors import error_for_code, is_noop, receipt_for_error, thrown_receipt_error
from ._native import ABSENT_RAW, EMPTY_RAW, AckRow, ExtInfo, Page, lax
from ._rest import command_outcome
from ._util import VENUE, check_order_link_id, fmt_decimal

__all__ = [
    "BATCH_LIMIT",
    "NO_REQUESTS",
    "CANCEL_ALL_LIMIT",
    "Item",
    "order_item",
    "amend_item",
    "cancel_item",
    "create_orders",
    "edit_orders",
    "cancel_orders",
    "cancel_all_orders",
    "set_leverage",
    "set_margin_mode",
    "set_position_mode",
    "validate_order",
    "receipts_from_reply",
    "thrown_receipts",
    "classify_command_json",
]

BATCH_LIMIT = 20
CANCEL_ALL_LIMIT = 500  # futures cancel-all cancels at most 500 orders per call
_ACKS = lax(Page[AckRow])
_ACK = lax(AckRow)
_EXT = lax(ExtInfo)
_SIDE = {Side.BUY: "Buy", Side.SELL: "Sell"}
_POSITION_IDX = {PositionSide.BOTH: 0, PositionSide.LONG: 1, PositionSide.SHORT: 2}
_TIF = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "PostOnly",
}
_STOPS = frozenset({OrderType.STOP_MARKET, OrderType.STOP_LIMIT})
_TAKE_PROFITS = frozenset({OrderType.TAKE_PROFIT_MARKET, OrderType.TAKE_PROFIT_LIMIT})
_CATEGORY = "linear"
NO_REQUESTS: tuple[RestRequest, ...] = ()


class Item(msgspec.Struct, frozen=True):
    """One command item: its venue body and the ids the receipt should carry."""

    symbol: str  # native
    body: dict[str, object]
    order_id: str | None = None
    client_order_id: str | None = None


# -- bodies ------------------------------------------------------------------------------------


def trigger_direction(side: Side, otype: OrderType) -> int:
    """1 = triggers when the price rises to the trigger, 2 = when it falls to it.

    A buy stop protects a short (or enters a breakout): it fires on a rise; a buy take-profit
    fires on a fall. Sells mirror that.
    """
    rising = otype in _STOPS if side is Side.BUY else otype in _TAKE_PROFITS
    return 1 if rising else 2


def order_item(req: OrderRequest, new_client_order_id: Callable[[], str]) -> Item:
    """The ``order/create`` body for one ``OrderRequest`` (without ``category``)."""
    otype = req.type
    if req.good_till is not None or req.time_in_force is TimeInForce.GTD:
        raise Unsupported("Bybit has no good-till-date orders (GTD)", venue=VENUE)
    if otype is OrderType.TRAILING_STOP_MARKET or req.callback_rate is not None:
        raise Unsupported(
            "Bybit v5 has no trailing-stop order type: a trailing stop is a position setting "
            "(POST /v5/position/trading-stop), reachable through advanced().native()",
            venue=VENUE,
        )
    side = _SIDE.get(req.side)
    if side is None:
        raise ConfigError(f"invalid side {req.side!r}", venue=VENUE)
    limit = otype.has_limit_price
    body: dict[str, object] = {
        "symbol": req.symbol,
        "side": side,
        "orderType": "Limit" if limit else "Market",
    }
    if req.amount is None:
        if not req.close_position:
            raise ConfigError("amount is required unless close_position=True", venue=VENUE)
        body["qty"] = "0"  # with reduceOnly + closeOnTrigger: close up to the max order size
    else:
        body["qty"] = fmt_decimal(req.amount, "amount")
    if limit:
        if req.price is None:
            raise ConfigError(f"{otype} orders need a price", venue=VENUE)
        body["price"] = fmt_decimal(req.price, "price")
    elif req.price is not None:
        raise ConfigError(f"{otype} orders take no price", venue=VENUE)
    if otype.is_conditional:
        if req.trigger_price is None:
            raise ConfigError(f"{otype} orders need a trigger_price", venue=VENUE)
        body["triggerPrice"] = fmt_decimal(req.trigger_price, "trigger_price")
        body["triggerDirection"] = trigger_direction(req.side, otype)
        trigger_by = TRIGGER_BY_NATIVE.get(req.trigger_by)
        if trigger_by is None:
            raise ConfigError(f"invalid trigger_by {req.trigger_by!r}", venue=VENUE)
        body["triggerBy"] = trigger_by
    elif req.trigger_price is not None:
        raise ConfigError(f"trigger_price needs a conditional order type, not {otype}", venue=VENUE)
    tif = req.time_in_force
    if tif is not None:
        native_tif = _TIF.get(tif)
        if native_tif is None:
            raise ConfigError(f"invalid time_in_force {tif!r}", venue=VENUE)
        if not limit and tif in (TimeInForce.POST_ONLY, TimeInForce.GTC):
            raise ConfigError(f"market orders cannot be {tif}", venue=VENUE)
        body["timeInForce"] = native_tif
    idx = _POSITION_IDX.get(req.position_side)
    if idx is None:
        raise ConfigError(f"invalid position_side {req.position_side!r}", venue=VENUE)
    body["positionIdx"] = idx
    if req.reduce_only or req.close_position:
        body["reduceOnly"] = True
    if req.close_position:
        body["closeOnTrigger"] = True
    link_id = check_order_link_id(
        req.client_order_id if req.client_order_id is not None else new_client_order_id()
    )
    body["orderLinkId"] = link_id
    return Item(symbol=req.symbol, body=body, client_order_id=link_id)


def _ident(
    body: dict[str, object], order_id: str | None, client_order_id: str | None, what: str
) -> None:
    if order_id:
        body["orderId"] = order_id  # Bybit: orderId wins when both are given
    elif client_order_id:
        body["orderLinkId"] = check_order_link_id(client_order_id)
    else:
        raise ConfigError(f"{what} needs an order id or a client order id", venue=VENUE)


def amend_item(req: EditRequest) -> Item:
    body: dict[str, object] = {"symbol": req.symbol}
    _ident(body, req.id, req.client_order_id, "edit_order")
    if req.amount is not None:
        body["qty"] = fmt_decimal(req.amount, "amount")
    if req.price is not None:
        body["price"] = fmt_decimal(req.price, "price")
    if req.trigger_price is not None:
        body["triggerPrice"] = fmt_decimal(req.trigger_price, "trigger_price")
    if len(body) == 2:
        raise ConfigError("edit_order needs a new amount, price or trigger_price", venue=VENUE)
    return Item(req.symbol, body, req.id, req.client_order_id)


def cancel_item(req: CancelRequest) -> Item:
    body: dict[str, object] = {"symbol": req.symbol}
    _ident(body, req.id, req.client_order_id, "cancel_order")
    return Item(req.symbol, body, req.id, req.client_order_id)


# -- reply classification ----------------------------------------------------------------------


def _receipt(
    kind: CommandKind,
    item: Item | None,
    unify: Unify,
    status: CommandStatus,
    *,
    ack: AckRow | None = None,
    error: BatMarketsError | None = None,
    noop: bool = False,
    timestamp: int | None = None,
) -> CommandReceipt:
    native = item.symbol if item is not None else (ack.symbol if ack is not None else "")
    return CommandReceipt(
        kind=kind,
        status=status,
        venue=VENUE,
        symbol=unify(native) if native else None,
        order_id=(ack.orderId if ack is not None and ack.orderId else None)
        or (item.order_id if item is not None else None),
        # Our id wins (it is what reconciliation searches by); the echo fills in otherwise.
        client_order_id=(item.client_order_id if item is not None else None)
        or (ack.orderLinkId if ack is not None and ack.orderLinkId else None),
        error=error,
        noop=noop,
        timestamp=timestamp,
    )


def receipts_from_reply(
    kind: CommandKind,
    code: int,
    message: str,
    result: msgspec.Raw,
    ext: msgspec.Raw,
    timestamp: int | None,
    items: Sequence[Item] | None,
    batch: bool,
    unify: Unify,
    *,
    error: BatMarketsError | None = None,
    noop: bool = False,
) -> list[CommandReceipt]:
    """Receipts for a decoded REST or trade-websocket reply (``items`` None: unknown request)."""
    if error is None and code != 0 and not noop:
        if is_noop(code, message):
            noop = True
        else:
            error = error_for_code(code, message, write=True)
    if error is not None:
        targets = targets_of(items)
        return [
            receipt_for_error(
                kind,
                error,
                symbol=unify(t.symbol) if t is not None else None,
                order_id=t.order_id if t is not None else None,
                client_order_id=t.client_order_id if t is not None else None,
                timestamp=timestamp,
            )
            for t in targets
        ]
    if not batch:
        try:
            ack = _ACK.decode(result)
        except msgspec.MsgspecError:
            ack = None
        item = items[0] if items else None
        return [
            _receipt(
                kind, item, unify, CommandStatus.ACCEPTED, ack=ack, noop=noop, timestamp=timestamp
            )
        ]
    try:
        acks = _ACKS.decode(result).items
        infos = _EXT.decode(ext).items
    except msgspec.MsgspecError as exc:
        unknown = UnknownExecution(f"batch reply could not be decoded: {exc}", venue=VENUE)
        return [
            _receipt(kind, item, unify, CommandStatus.UNKNOWN, error=unknown, timestamp=timestamp)
            for item in targets_of(items)
        ]
    count = len(items) if items is not None else max(len(acks), len(infos))
    out: list[CommandReceipt] = []
    for i in range(count):
        item = items[i] if items is not None else None
        ack = acks[i] if i < len(acks) else None
        info = infos[i] if i < len(infos) else None
        if info is None:
            # Without a per-item status we cannot tell whether this element executed.
            err: BatMarketsError = UnknownExecution(
                f"batch reply has no status for element {i}", venue=VENUE
            )
            out.append(
                _receipt(
                    kind,
                    item,
                    unify,
                    CommandStatus.UNKNOWN,
                    ack=ack,
                    error=err,
                    timestamp=timestamp,
                )
            )
        elif info.code == 0 or is_noop(info.code, info.msg):
            out.append(
                _receipt(
                    kind,
                    item,
                    unify,
                    CommandStatus.ACCEPTED,
                    ack=ack,
                    noop=info.code != 0,
                    timestamp=timestamp,
                )
            )
        else:
            err = error_for_code(info.code, info.msg, write=True)
            status = (
                CommandStatus.UNKNOWN
                if isinstance(err, UnknownExecution)
                else CommandStatus.REJECTED
            )
            out.append(_receipt(kind, item, unify, status, ack=ack, error=err, timestamp=timestamp))
    return out


def targets_of(items: Sequence[Item] | None) -> list[Item | None]:
    """The items a receipt list covers (one anonymous target when the request is unknown)."""
    return list(items) if items else [None]


def thrown_receipts(
    kind: CommandKind, items: Sequence[Item | None], err: BatMarketsError, unify: Unify
) -> list[CommandReceipt]:
    status, error = thrown_receipt_error(err, str(kind))
    return [_receipt(kind, item, unify, status, error=error) for item in items]


def _response_receipts(
    kind: CommandKind, response: RestResponse, items: Sequence[Item], batch: bool, unify: Unify
) -> list[CommandReceipt]:
    outcome = command_outcome(response)
    env = outcome.envelope
    if env is None:
        assert outcome.error is not None
        return [
            receipt_for_error(
                kind,
                outcome.error,
                symbol=unify(item.symbol),
                order_id=item.order_id,
                client_order_id=item.client_order_id,
            )
            for item in items
        ]
    return receipts_from_reply(
        kind,
        env.retCode,
        env.retMsg,
        env.result,
        env.retExtInfo,
        env.time,
        items,
        batch,
        unify,
        error=outcome.error,
        noop=outcome.noop,
    )


# -- flows -------------------------------------------------------------------------------------


def _post(
    path: str, body: dict[str, object], *, weight: int, idempotent: bool, tag: str
) -> RestRequest:
    return RestRequest(
        method="POST",
        path=path,
        json=body,
        signed=True,
        order_weight=weight,
        idempotent=idempotent,
        tag=tag,
    )


def _batched(
    kind: CommandKind,
    items: list[Item],
    single_path: str,
    batch_path: str,
    unify: Unify,
    *,
    idempotent: bool,
) -> RestFlow[list[CommandReceipt]]:
    receipts: list[CommandReceipt] = []
    batch = len(items) > 1
    for start in range(0, len(items), BATCH_LIMIT):
        chunk = items[start : start + BATCH_LIMIT]
        if batch:
            request = _post(
                batch_path,
                {"category": _CATEGORY, "request": [item.body for item in chunk]},
                weight=len(chunk),
                idempotent=idempotent,
                tag=str(kind),
            )
        else:
            request = _post(
                single_path,
                {"category": _CATEGORY, **chunk[0].body},
                weight=1,
                idempotent=idempotent,
                tag=str(kind),
            )
        try:
            response = yield request
        except BatMarketsError as err:
            receipts.extend(thrown_receipts(kind, chunk, err, unify))
            continue
        receipts.extend(_response_receipts(kind, response, chunk, batch, unify))
    return receipts


def create_orders(
    requests: Sequence[OrderRequest], unify: Unify, new_client_order_id: Callable[[], str]
) -> RestFlow[list[CommandReceipt]]:
    """``order/create`` for one order, ``order/create-batch`` in chunks of 20 for several."""
    items = [order_item(r, new_client_order_id) for r in requests]
    if not items:
        raise ConfigError("create_orders needs at least one order", venue=VENUE)
    return _batched(
        CommandKind.CREATE_ORDER,
        items,
        "/v5/order/create",
        "/v5/order/create-batch",
        unify,
        idempotent=False,
    )


def edit_orders(requests: Sequence[EditRequest], unify: Unify) -> RestFlow[list[CommandReceipt]]:
    items = [amend_item(r) for r in requests]
    if not items:
        raise ConfigError("edit_orders needs at least one edit", venue=VENUE)
    return _batched(
        CommandKind.EDIT_ORDER,
        items,
        "/v5/order/amend",
        "/v5/order/amend-batch",
        unify,
        idempotent=False,
    )


def cancel_orders(
    requests: Sequence[CancelRequest], unify: Unify
) -> RestFlow[list[CommandReceipt]]:
    items = [cancel_item(r) for r in requests]
    if not items:
        raise ConfigError("cancel_orders needs at least one order", venue=VENUE)
    return _batched(
        CommandKind.CANCEL_ORDER,
        items,
        "/v5/order/cancel",
        "/v5/order/cancel-batch",
        unify,
        idempotent=False,
    )


def cancel_all_orders(symbol: str | None, unify: Unify) -> RestFlow[list[CommandReceipt]]:
    """``order/cancel-all`` for one symbol or every USDT contract, repeated while the venue
    reports a full batch of 500; one receipt per cancelled order (one bare receipt if none)."""
    kind = CommandKind.CANCEL_ALL_ORDERS
    body: dict[str, object] = {"category": _CATEGORY}
    if symbol:
        body["symbol"] = symbol
    else:
        body["settleCoin"] = "USDT"
    target = Item(symbol or "", body)
    receipts: list[CommandReceipt] = []
    for _ in range(50):
        try:
            response = yield _post(
                "/v5/order/cancel-all", body, weight=1, idempotent=False, tag=str(kind)
            )
        except BatMarketsError as err:
            receipts.extend(thrown_receipts(kind, [target if symbol else None], err, unify))
            return receipts
        outcome = command_outcome(response)
        env = outcome.envelope
        if outcome.error is not None or env is None:
            failure = outcome.error
            assert failure is not None
            receipts.append(
                receipt_for_error(
                    kind,
                    failure,
                    symbol=unify(symbol) if symbol else None,
                    timestamp=env.time if env else None,
                )
            )
            return receipts
        try:
            acks = _ACKS.decode(env.result).items
        except msgspec.MsgspecError:
            acks = []
        receipts.extend(
            CommandReceipt(
                kind=kind,
                status=CommandStatus.ACCEPTED,
                venue=VENUE,
                symbol=_unified(ack.symbol or symbol, unify),
                order_id=ack.orderId or None,
                client_order_id=ack.orderLinkId or None,
                timestamp=env.time,
            )
            for ack in acks
        )
        if len(acks) < CANCEL_ALL_LIMIT:
            break
    if not receipts:
        receipts.append(
            CommandReceipt(
                kind=kind,
                status=CommandStatus.ACCEPTED,
                venue=VENUE,
                symbol=unify(symbol) if symbol else None,
            )
        )
    return receipts


def _unified(native: str | None, unify: Unify) -> str | None:
    return unify(native) if native else None


def _setting(
    kind: CommandKind, path: str, body: dict[str, object], symbol: str | None, unify: Unify
) -> RestFlow[CommandReceipt]:
    target = Item(symbol, body) if symbol else None
    try:
        response = yield _post(path, body, weight=1, idempotent=False, tag=str(kind))
    except BatMarketsError as err:
        return thrown_receipts(kind, [target], err, unify)[0]
    outcome = command_outcome(response)
    env = outcome.envelope
    unified = unify(symbol) if symbol else None
    if outcome.error is not None:
        return receipt_for_error(
            kind, outcome.error, symbol=unified, timestamp=env.time if env is not None else None
        )
    return CommandReceipt(
        kind=kind,
        status=CommandStatus.ACCEPTED,
        venue=VENUE,
        symbol=unified,
        noop=outcome.noop,
        timestamp=env.time if env is not None else None,
    )


def set_leverage(request: LeverageRequest, unify: Unify) -> RestFlow[CommandReceipt]:
    """Same leverage for both sides (required in one-way and hedge-cross modes)."""
    leverage = fmt_decimal(request.leverage, "leverage")
    body: dict[str, object] = {
        "category": _CATEGORY,
        "symbol": request.symbol,
        "buyLeverage": leverage,
        "sellLeverage": leverage,
    }
    return _setting(
        CommandKind.SET_LEVERAGE, "/v5/position/set-leverage", body, request.symbol, unify
    )


def set_margin_mode(request: MarginModeRequest, unify: Unify) -> RestFlow[CommandReceipt]:
    """Account-wide on Bybit's unified account: a per-symbol request is ``Unsupported``."""
    if request.symbol:
        raise Unsupported(
            "Bybit margin mode is account-wide on the unified account (all symbols at once); "
            "call set_margin_mode with symbol=None",
            venue=VENUE,
        )
    modes = {MarginMode.CROSS: "REGULAR_MARGIN", MarginMode.ISOLATED: "ISOLATED_MARGIN"}
    mode = modes.get(request.margin_mode)
    if mode is None:
        raise ConfigError(f"invalid margin mode {request.margin_mode!r}", venue=VENUE)
    return _setting(
        CommandKind.SET_MARGIN_MODE,
        "/v5/account/set-margin-mode",
        {"setMarginMode": mode},
        None,
        unify,
    )


def set_position_mode(request: PositionModeRequest, unify: Unify) -> RestFlow[CommandReceipt]:
    """Per symbol, or for every USDT contract (``coin=USDT``) when ``symbol`` is None."""
    modes = {PositionMode.ONE_WAY: 0, PositionMode.HEDGE: 3}
    mode = modes.get(request.position_mode)
    if mode is None:
        raise ConfigError(f"invalid position mode {request.position_mode!r}", venue=VENUE)
    body: dict[str, object] = {"category": _CATEGORY}
    if request.symbol:
        body["symbol"] = request.symbol
    else:
        body["coin"] = "USDT"
    body["mode"] = mode
    return _setting(
        CommandKind.SET_POSITION_MODE, "/v5/position/switch-mode", body, request.symbol, unify
    )


def _is_multiple(value: Decimal, unit: Decimal) -> bool:
    return unit > 0 and (value % unit) == 0


def validate_order(
    request: OrderRequest,
    spec: InstrumentSpec,
    unify: Unify,
    new_client_order_id: Callable[[], str],
) -> RestFlow[CommandReceipt]:
    """Local check against the instrument filters (Bybit has no linear test-order endpoint)."""
    yield from NO_REQUESTS  # a flow that sends nothing
    kind = CommandKind.VALIDATE_ORDER
    problems: list[str] = []
    try:
        order_item(request, new_client_order_id)
    except (ConfigError, Unsupported) as err:
        return CommandReceipt(
            kind=kind, status=CommandStatus.REJECTED, venue=VENUE, symbol=spec.symbol, error=err
        )
    amount = request.amount
    if amount is not None:
        if not _is_multiple(amount, spec.step_size):
            problems.append(f"amount {amount} is not a multiple of the step {spec.step_size}")
        if amount < spec.min_qty and not request.reduce_only:
            problems.append(f"amount {amount} is below the minimum {spec.min_qty}")
        cap = (
            spec.max_qty if request.type.has_limit_price else (spec.market_max_qty or spec.max_qty)
        )
        if cap is not None and amount > cap:
            problems.append(f"amount {amount} is above the maximum {cap}")
    for name, price in (("price", request.price), ("trigger_price", request.trigger_price)):
        if price is None:
            continue
        if not _is_multiple(price, spec.tick_size):
            problems.append(f"{name} {price} is not a multiple of the tick {spec.tick_size}")
        if spec.min_price is not None and price < spec.min_price:
            problems.append(f"{name} {price} is below the minimum {spec.min_price}")
        if spec.max_price is not None and price > spec.max_price:
            problems.append(f"{name} {price} is above the maximum {spec.max_price}")
    reference = request.price if request.price is not None else request.trigger_price
    if (
        amount is not None
        and reference is not None
        and not request.reduce_only
        and amount * reference < spec.min_notional
    ):
        problems.append(f"notional {amount * reference} is below the minimum {spec.min_notional}")
    if problems:
        return CommandReceipt(
            kind=kind,
            status=CommandStatus.REJECTED,
            venue=VENUE,
            symbol=spec.symbol,
            error=ConfigError("; ".join(problems), venue=VENUE),
        )
    return CommandReceipt(
        kind=kind,
        status=CommandStatus.ACCEPTED,
        venue=VENUE,
        symbol=spec.symbol,
        client_order_id=request.client_order_id,
    )


_BATCH_OPS = frozenset({"order.create-batch", "order.amend-batch", "order.cancel-batch"})


class _AnyReply(msgspec.Struct, gc=False):
    retCode: int
    retMsg: str = ""
    op: str = ""
    result: msgspec.Raw = ABSENT_RAW
    data: msgspec.Raw = ABSENT_RAW
    retExtInfo: msgspec.Raw = ABSENT_RAW
    time: int | None = None


_ANY = lax(_AnyReply)


def classify_command_json(
    kind: CommandKind, payload: bytes | None, unify: Unify
) -> list[CommandReceipt]:
    """Receipts from a raw REST or trade-websocket reply body (``None``: no reply came)."""
    if payload is None:
        return [
            CommandReceipt(
                kind=kind,
                status=CommandStatus.UNKNOWN,
                venue=VENUE,
                error=UnknownExecution(f"{kind}: no reply received", venue=VENUE),
            )
        ]
    try:
        reply = _ANY.decode(payload)
    except msgspec.MsgspecError as exc:
        err = DecodeError(f"{kind}: reply is not a Bybit reply: {exc}", venue=VENUE)
        return thrown_receipts(kind, [None], err, unify)
    raw = reply.result or reply.data or EMPTY_RAW
    ext = reply.retExtInfo or EMPTY_RAW
    batch = reply.op in _BATCH_OPS or b'"list"' in bytes(ext)
    return receipts_from_reply(
        kind,
        reply.retCode,
        reply.retMsg,
        raw,
        ext,
        reply.time,
        None,
        batch,
        unify,
    )
