"""The venue error raised inside request handlers, and the engine-rejection mapping."""

from __future__ import annotations

from .._model import OrderRejected, RejectReason
from . import _codes as C

__all__ = ["BybitError", "from_rejection"]


class BybitError(Exception):
    """A business rejection: answered as HTTP 200 with ``retCode``/``retMsg``."""

    def __init__(self, code: int, msg: str | None = None, result: object = None) -> None:
        text = msg if msg is not None else C.MSG.get(code, "error")
        super().__init__(f"{code}: {text}")
        self.code = code
        self.msg = text
        self.result = result


_MAP: dict[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_SYMBOL: (C.PARAM_ERROR, "params error: symbol invalid"),
    RejectReason.UNKNOWN_ACCOUNT: (C.INVALID_KEY, C.MSG[C.INVALID_KEY]),
    RejectReason.INVALID_PRICE: (C.PARAM_ERROR, "params error: price invalid"),
    RejectReason.PRICE_OUT_OF_RANGE: (C.PRICE_OUT_OF_RANGE, C.MSG[C.PRICE_OUT_OF_RANGE]),
    RejectReason.INVALID_QTY: (C.PARAM_ERROR, "Qty invalid"),
    RejectReason.QTY_TOO_SMALL: (C.PARAM_ERROR, "The number of contracts below min limit allowed"),
    RejectReason.QTY_TOO_LARGE: (
        C.PARAM_ERROR,
        "The number of contracts exceeds maximum limit allowed: too large",
    ),
    RejectReason.MIN_NOTIONAL: (110094, "Order does not meet minimum order value"),
    RejectReason.PRICE_REQUIRED: (
        C.PARAM_ERROR,
        "params error: price is required for Limit orders",
    ),
    RejectReason.REDUCE_ONLY_REJECTED: (C.REDUCE_ONLY_RULE, C.MSG[C.REDUCE_ONLY_RULE]),
    RejectReason.REDUCE_ONLY_NOT_ALLOWED: (C.REDUCE_ONLY_RULE, C.MSG[C.REDUCE_ONLY_RULE]),
    RejectReason.NO_POSITION: (C.REDUCE_ONLY_RULE, C.MSG[C.REDUCE_ONLY_RULE]),
    RejectReason.POSITION_SIDE_MISMATCH: (C.PARAM_ERROR, C.POSITION_IDX_MISMATCH),
    RejectReason.INSUFFICIENT_MARGIN: (C.INSUFFICIENT_BALANCE, C.MSG[C.INSUFFICIENT_BALANCE]),
    RejectReason.DUPLICATE_CLIENT_ID: (C.DUPLICATE_LINK_ID, C.MSG[C.DUPLICATE_LINK_ID]),
    RejectReason.TOO_MANY_ORDERS: (110020, "Not allowed to have more than 500 active orders"),
    RejectReason.ORDER_NOT_FOUND: (C.ORDER_NOT_EXISTS, C.MSG[C.ORDER_NOT_EXISTS]),
    RejectReason.ORDER_NOT_OPEN: (C.ORDER_NOT_EXISTS, C.MSG[C.ORDER_NOT_EXISTS]),
    RejectReason.AMEND_NO_CHANGE: (C.PARAM_ERROR, C.ORDER_NOT_MODIFIED),
    RejectReason.AMEND_NOT_ALLOWED: (
        C.PARAM_ERROR,
        "params error: only Limit orders can be amended",
    ),
    RejectReason.INVALID_LEVERAGE: (C.PARAM_ERROR, "leverage invalid"),
    RejectReason.LEVERAGE_UNCHANGED: (C.LEVERAGE_UNCHANGED, C.MSG[C.LEVERAGE_UNCHANGED]),
    RejectReason.MARGIN_TYPE_UNCHANGED: (C.MARGIN_MODE_UNCHANGED, C.MSG[C.MARGIN_MODE_UNCHANGED]),
    RejectReason.POSITION_MODE_UNCHANGED: (
        C.POSITION_MODE_UNCHANGED,
        C.MSG[C.POSITION_MODE_UNCHANGED],
    ),
    RejectReason.HAS_OPEN_ORDERS: (C.SWITCH_MODE_ORDERS, C.MSG[C.SWITCH_MODE_ORDERS]),
    RejectReason.HAS_POSITION: (C.SWITCH_MODE_POSITION, C.MSG[C.SWITCH_MODE_POSITION]),
    RejectReason.TOO_MANY_CONDITIONALS: (
        110009,
        "The number of stop orders exceeds maximum limit allowed",
    ),
    RejectReason.TRIGGER_IMMEDIATELY: (
        110092,
        "expect Rising or Falling, but trigger_price would trigger immediately",
    ),
    RejectReason.CLOSE_POSITION_INVALID: (C.REDUCE_ONLY_RULE, C.MSG[C.REDUCE_ONLY_RULE]),
    RejectReason.GTD_INVALID: (C.PARAM_ERROR, "params error: timeInForce invalid"),
    RejectReason.POST_ONLY_WOULD_TAKE: (C.PARAM_ERROR, "params error: post only would take"),
    RejectReason.FOK_NOT_FILLABLE: (C.PARAM_ERROR, "params error: FOK cannot fill"),
}


def from_rejection(exc: OrderRejected) -> BybitError:
    """The venue's answer to an engine refusal."""
    code, msg = _MAP.get(exc.reason, (C.PARAM_ERROR, "params error"))
    return BybitError(code, msg)
