"""Binance error codes/messages and the mapping from engine reject reasons."""

from __future__ import annotations

from .._model import RejectReason

__all__ = ["BinanceError", "reject_error", "mandatory", "illegal", "not_required"]


class BinanceError(Exception):
    """An error answer: HTTP ``status`` with body ``{"code": code, "msg": msg}``."""

    def __init__(
        self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal(name: str, legal: str = "^([0-9]{1,20})(\\.[0-9]{1,20})?$") -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


def not_required(name: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


_REJECTS: dict[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    RejectReason.INVALID_PRICE: (-4014, "Price not increased by tick size."),
    RejectReason.INVALID_QTY: (-1111, "Precision is over the maximum defined for this asset."),
    RejectReason.QTY_TOO_SMALL: (-4004, "Quantity less than min quantity."),
    RejectReason.QTY_TOO_LARGE: (-4005, "Quantity greater than max quantity."),
    RejectReason.PRICE_REQUIRED: (
        -1102,
        "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
    ),
    RejectReason.REDUCE_ONLY_REJECTED: (-2022, "ReduceOnly Order is rejected."),
    RejectReason.NO_POSITION: (-2022, "ReduceOnly Order is rejected."),
    RejectReason.REDUCE_ONLY_NOT_ALLOWED: (-1106, "Parameter 'reduceOnly' sent when not required."),
    RejectReason.POSITION_SIDE_MISMATCH: (
        -4061,
        "Order's position side does not match user's setting.",
    ),
    RejectReason.INSUFFICIENT_MARGIN: (-2019, "Margin is insufficient."),
    RejectReason.POST_ONLY_WOULD_TAKE: (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. "
        "The order will not be recorded in the order history",
    ),
    RejectReason.FOK_NOT_FILLABLE: (
        -5021,
        "Due to the order could not be filled immediately, the FOK order has been rejected. "
        "The order will not be recorded in the order history",
    ),
    RejectReason.DUPLICATE_CLIENT_ID: (-4116, "ClientOrderId is duplicated."),
    RejectReason.TOO_MANY_ORDERS: (-2025, "Reach max open order limit."),
    RejectReason.ORDER_NOT_FOUND: (-2013, "Order does not exist."),
    RejectReason.ORDER_NOT_OPEN: (-2013, "Order does not exist."),
    RejectReason.AMEND_NO_CHANGE: (-5027, "No need to modify the order."),
    RejectReason.AMEND_NOT_ALLOWED: (-1116, "Invalid orderType."),
    RejectReason.CLOSE_POSITION_INVALID: (
        -4137,
        "Close position is not allowed for this order side.",
    ),
    RejectReason.GTD_INVALID: (-1130, "Data sent for parameter 'goodTillDate' is not valid."),
    RejectReason.INVALID_LEVERAGE: (-4028, "Leverage is not valid"),
    RejectReason.MARGIN_TYPE_UNCHANGED: (-4046, "No need to change margin type."),
    RejectReason.POSITION_MODE_UNCHANGED: (-4059, "No need to change position side."),
    RejectReason.TOO_MANY_CONDITIONALS: (-4045, "Reach max stop order limit."),
    RejectReason.TRIGGER_IMMEDIATELY: (-2021, "Order would immediately trigger."),
    RejectReason.UNKNOWN_ACCOUNT: (-2015, "Invalid API-key, IP, or permissions for action."),
}


def reject_error(reason: RejectReason, detail: str = "", *, context: str = "") -> BinanceError:
    """The Binance error for an engine rejection; ``context`` picks variants (``cancel``,
    ``margin_type``, ``position_mode``, ``min_notional``)."""
    if reason is RejectReason.MIN_NOTIONAL:
        return BinanceError(
            -4164,
            f"Order's notional must be no smaller than {detail.rsplit(' ', 1)[-1] if detail else '5'}"
            " (unless you choose reduce only).",
        )
    if reason is RejectReason.PRICE_OUT_OF_RANGE:
        if "higher" in detail:
            return BinanceError(
                -4016, f"Limit price can't be higher than {detail.rsplit(' ', 1)[-1]}."
            )
        if "lower" in detail:
            return BinanceError(
                -4024, f"Limit price can't be lower than {detail.rsplit(' ', 1)[-1]}."
            )
        return BinanceError(-4013, "Price less than min price.")
    if (
        reason in (RejectReason.ORDER_NOT_FOUND, RejectReason.ORDER_NOT_OPEN)
        and context == "cancel"
    ):
        return BinanceError(-2011, "Unknown order sent.")
    if reason is RejectReason.HAS_OPEN_ORDERS:
        if context == "margin_type":
            return BinanceError(-4047, "Margin type cannot be changed if there exists open orders.")
        return BinanceError(-4067, "Position side cannot be changed if there exists open orders.")
    if reason is RejectReason.HAS_POSITION:
        if context == "margin_type":
            return BinanceError(-4048, "Margin type cannot be changed if there exists position.")
        return BinanceError(-4068, "Position side cannot be changed if there exists position.")
    code, msg = _REJECTS.get(
        reason, (-1000, "An unknown error occured while processing the request.")
    )
    status = 401 if code == -2015 else 400
    return BinanceError(code, msg, status)
