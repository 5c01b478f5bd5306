"""Bybit v5 return codes and the exact messages the simulator answers with.

Messages are copied from real captures where one exists (``fixtures/bybit/rest/error_*.json``);
the rest follow the venue's error page wording and are marked ``(unverified)``.
"""

from __future__ import annotations

__all__ = [
    "OK",
    "SERVER_TIMEOUT",
    "PARAM_ERROR",
    "TIMESTAMP_WINDOW",
    "INVALID_KEY",
    "BAD_SIGN",
    "PERMISSION_DENIED",
    "TOO_MANY_VISITS",
    "NOT_AUTHENTICATED",
    "IP_NOT_WHITELISTED",
    "SERVER_ERROR",
    "ROUTE_NOT_FOUND",
    "SERVICE_RESTARTING",
    "ORDER_NOT_EXISTS",
    "PRICE_OUT_OF_RANGE",
    "QTY_INVALID",
    "INSUFFICIENT_BALANCE",
    "ORDER_FINISHED",
    "REDUCE_ONLY_RULE",
    "SWITCH_MODE_POSITION",
    "POSITION_MODE_UNCHANGED",
    "MARGIN_MODE_UNCHANGED",
    "SWITCH_MODE_ORDERS",
    "LEVERAGE_UNCHANGED",
    "LEVERAGE_INVALID",
    "DUPLICATE_LINK_ID",
    "REPEAT_AUTH",
    "DUPLICATE_REQ_ID",
    "WS_UNKNOWN_OP",
    "MSG",
    "POSITION_IDX_MISMATCH",
    "ORDER_NOT_MODIFIED",
    "error_sign_message",
    "timestamp_message",
]

OK = 0
SERVER_TIMEOUT = 10000
PARAM_ERROR = 10001
TIMESTAMP_WINDOW = 10002
INVALID_KEY = 10003
BAD_SIGN = 10004
PERMISSION_DENIED = 10005
TOO_MANY_VISITS = 10006
NOT_AUTHENTICATED = 10007
IP_NOT_WHITELISTED = 10010
SERVER_ERROR = 10016
ROUTE_NOT_FOUND = 10017
SERVICE_RESTARTING = 10019
WS_UNKNOWN_OP = 10404
REPEAT_AUTH = 20001
DUPLICATE_REQ_ID = 20006
ORDER_NOT_EXISTS = 110001
PRICE_OUT_OF_RANGE = 110003
QTY_INVALID = 110004
INSUFFICIENT_BALANCE = 110007
ORDER_FINISHED = 110008
REDUCE_ONLY_RULE = 110017
SWITCH_MODE_POSITION = 110024
POSITION_MODE_UNCHANGED = 110025
MARGIN_MODE_UNCHANGED = 110026
SWITCH_MODE_ORDERS = 110028
LEVERAGE_UNCHANGED = 110043
LEVERAGE_INVALID = 110013
DUPLICATE_LINK_ID = 110072

POSITION_IDX_MISMATCH = "position idx not match position mode"
ORDER_NOT_MODIFIED = (
    "The order remains unchanged as the parameters entered match the existing ones."
)

#: Default ``retMsg`` per code. Captured texts: 10001 (position idx), 10003, 10006, 110001,
#: 110003, 110007, 110017, 110025, 110026, 110043. Others: venue error page wording (unverified).
MSG: dict[int, str] = {
    OK: "OK",
    SERVER_TIMEOUT: "Server Timeout",
    PARAM_ERROR: "params error",
    INVALID_KEY: "API key is invalid.",
    PERMISSION_DENIED: "Permission denied, please check your API key permissions.",
    TOO_MANY_VISITS: "Too many visits!",
    NOT_AUTHENTICATED: "Request not authorized",
    IP_NOT_WHITELISTED: "Unmatched IP, please check your API key's bound IP addresses.",
    SERVER_ERROR: "Internal server error.",
    ROUTE_NOT_FOUND: "Route not found",
    SERVICE_RESTARTING: "Service is restarting, please retry later.",
    WS_UNKNOWN_OP: "Invalid op",
    REPEAT_AUTH: "Repeat auth",
    DUPLICATE_REQ_ID: "reqId is duplicate",
    ORDER_NOT_EXISTS: "Order does not exist",
    PRICE_OUT_OF_RANGE: "Order price is out of permissible range",
    QTY_INVALID: "Order quantity exceeded the upper limit",
    INSUFFICIENT_BALANCE: "ab not enough for new order",
    ORDER_FINISHED: "The order has been filled or cancelled",
    REDUCE_ONLY_RULE: "Reduce-only rule not satisfied",
    SWITCH_MODE_POSITION: "You have existing positions, so cannot switch position mode",
    POSITION_MODE_UNCHANGED: "Position mode is not modified",
    MARGIN_MODE_UNCHANGED: "Cross/isolated margin mode is not modified",
    SWITCH_MODE_ORDERS: "You have open orders, so cannot switch position mode",
    LEVERAGE_UNCHANGED: "Set leverage not modified",
    LEVERAGE_INVALID: "leverage invalid",
    DUPLICATE_LINK_ID: "OrderLinkedID is duplicate",
}


def error_sign_message(origin: str) -> str:
    """The 10004 text: the venue echoes the string it signed (never the secret)."""
    return f"error sign! origin_string[{origin}]"


def timestamp_message(req_ts: str, server_ts: int, recv_window: str) -> str:
    """The 10002 text, as captured from the live API."""
    return (
        "invalid request, please check your server timestamp or recv_window param. "
        f"req_timestamp[{req_ts}],server_timestamp[{server_ts}],recv_window[{recv_window}]"
    )
