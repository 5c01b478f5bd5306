"""Order entry over the ``/v5/trade`` websocket (§8.Y).

The session authenticates once (``op: auth``, same signature as the private stream); each request
then carries only ``X-BAPI-TIMESTAMP`` / ``X-BAPI-RECV-WINDOW`` headers. Ops: ``order.create``,
``order.amend``, ``order.cancel`` and their ``-batch`` forms (≤20 items). There is no cancel-all
op. The auth reply carries no ``reqId``; ``reply_id`` maps it to ``AUTH_REQ_ID``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from bat_markets.core import (
    BatMarketsError,
    CancelRequest,
    CommandKind,
    CommandReceipt,
    ConfigError,
    Credentials,
    DecodeError,
    EditRequest,
    Endpoints,
    OrderRequest,
    Unsupported,
    WsCommand,
    WsSession,
)

from ._commands import (
    BATCH_LIMIT,
    Item,
    amend_item,
    cancel_item,
    order_item,
    receipts_from_reply,
    thrown_receipts,
)
from ._convert import Unify
from ._native import TradeReply, strict
from ._signing import ws_auth_args
from ._util import ORDER_LINK_ID, VENUE

__all__ = ["AUTH_REQ_ID", "PING_FRAME", "session", "command", "reply_id"]

AUTH_REQ_ID = "auth"
PING_FRAME = b'{"op":"ping"}'
_AUTH_TTL_MS = 10_000
_REPLY = strict(TradeReply)


class _IdOnly(msgspec.Struct, gc=False):
    reqId: str = ""
    op: str = ""


_ID = msgspec.json.Decoder(_IdOnly)
_OPS = {
    CommandKind.CREATE_ORDER: "order.create",
    CommandKind.EDIT_ORDER: "order.amend",
    CommandKind.CANCEL_ORDER: "order.cancel",
}


def session(endpoints: Endpoints, credentials: Credentials, now_ms: int) -> WsSession:
    if not endpoints.command_ws:
        raise Unsupported(
            "this Bybit environment has no order-entry websocket (demo trading: use REST)",
            venue=VENUE,
        )
    frame = msgspec.json.encode(
        {"op": "auth", "args": ws_auth_args(credentials, now_ms + _AUTH_TTL_MS)}
    )
    return WsSession(url=endpoints.command_ws, auth_frame=frame, auth_req_id=AUTH_REQ_ID)


def reply_id(frame: bytes | str) -> str | None:
    """``reqId`` of a reply (``AUTH_REQ_ID`` for the auth reply); ``None`` if it has none."""
    try:
        reply = _ID.decode(frame)
    except (msgspec.MsgspecError, ValueError, TypeError):
        return None
    if reply.reqId:
        return reply.reqId
    if reply.op == "auth":
        return AUTH_REQ_ID
    return None


def _decode_reply(
    kind: CommandKind, frame: bytes, items: list[Item], batch: bool, unify: Unify
) -> list[CommandReceipt]:
    try:
        reply = _REPLY.decode(frame)
    except (msgspec.MsgspecError, ValueError, TypeError) as exc:
        err = DecodeError(f"undecodable /v5/trade reply: {exc}", venue=VENUE)
        return thrown_receipts(kind, items, err, unify)
    timenow = reply.header.get("Timenow") or reply.header.get("timenow")
    return receipts_from_reply(
        kind,
        reply.retCode,
        reply.retMsg,
        reply.data,
        reply.retExtInfo,
        int(timenow) if timenow and timenow.isdigit() else None,
        items,
        batch,
        unify,
    )


def command(
    kind: CommandKind,
    requests: Sequence[OrderRequest] | Sequence[EditRequest] | Sequence[CancelRequest],
    req_id: str,
    now_ms: int,
    recv_window_ms: int,
    unify: Unify,
    new_client_order_id: Callable[[], str],
) -> WsCommand:
    """One trade-websocket request (single op for one item, ``-batch`` op for 2..20)."""
    op = _OPS.get(kind)
    if op is None:
        why = (
            "the trade websocket has no cancel-all op; use cancel_all_orders (REST)"
            if kind is CommandKind.CANCEL_ALL_ORDERS
            else "not an order-entry operation"
        )
        raise Unsupported(f"{kind} over the Bybit trade websocket: {why}", venue=VENUE)
    if not ORDER_LINK_ID.match(req_id):
        raise ConfigError(
            f"invalid reqId {req_id!r}: 1-36 characters of [A-Za-z0-9_-]", venue=VENUE
        )
    items: list[Item] = []
    for request in requests:
        if kind is CommandKind.CREATE_ORDER and isinstance(request, OrderRequest):
            items.append(order_item(request, new_client_order_id))
        elif kind is CommandKind.EDIT_ORDER and isinstance(request, EditRequest):
            items.append(amend_item(request))
        elif kind is CommandKind.CANCEL_ORDER and isinstance(request, CancelRequest):
            items.append(cancel_item(request))
        else:
            raise ConfigError(
                f"{kind} needs {op} requests, got {type(request).__name__}", venue=VENUE
            )
    if not items:
        raise ConfigError(f"{kind} needs at least one request", venue=VENUE)
    if len(items) > BATCH_LIMIT:
        raise ConfigError(
            f"a Bybit trade-websocket batch holds at most {BATCH_LIMIT} items, got {len(items)}",
            venue=VENUE,
        )
    batch = len(items) > 1
    if batch:
        op = f"{op}-batch"
        args: list[object] = [{"category": "linear", "request": [i.body for i in items]}]
    else:
        args = [{"category": "linear", **items[0].body}]
    frame = msgspec.json.encode(
        {
            "reqId": req_id,
            "header": {
                "X-BAPI-TIMESTAMP": str(int(now_ms)),
                "X-BAPI-RECV-WINDOW": str(int(recv_window_ms)),
            },
            "op": op,
            "args": args,
        }
    )

    def decode(reply: bytes) -> list[CommandReceipt]:
        return _decode_reply(kind, reply, items, batch, unify)

    def unknown(err: BatMarketsError) -> list[CommandReceipt]:
        return thrown_receipts(kind, items, err, unify)

    return WsCommand(req_id=req_id, frame=frame, kind=kind, decode=decode, unknown=unknown)
