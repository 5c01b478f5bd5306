"""User data stream decoding (PROTOCOLS §7.B): one tagged-union decoder over the event type."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from bat_markets.core import (
    AccountConfigEvent,
    Balance,
    Control,
    DecodeError,
    Liquidity,
    MarginCallEvent,
    MyTrade,
    Order,
    Position,
    PositionSide,
    PrivateData,
    PrivateEvent,
    PrivateFrame,
    StreamExpired,
)

from ._convert import (
    Unified,
    algo_order_id,
    algo_status,
    dec,
    margin_mode,
    order_status,
    order_type,
    position_side,
    side,
    time_in_force,
    trigger_by,
)

__all__ = [
    "UdAccountUpdate",
    "UdOrderTradeUpdate",
    "UdTradeLite",
    "UdAccountConfigUpdate",
    "UdMarginCall",
    "UdListenKeyExpired",
    "UdAlgoUpdate",
    "UdConditionalReject",
    "decode_private",
]

_ZERO = Decimal(0)


class UdBalance(msgspec.Struct, kw_only=True, gc=False):
    a: str
    wb: Decimal
    cw: Decimal | None = None
    bc: Decimal | None = None


class UdPosition(msgspec.Struct, kw_only=True, gc=False):
    s: str
    pa: Decimal
    ps: str = "BOTH"
    ep: Decimal | None = None
    bep: Decimal | None = None
    cr: Decimal | None = None
    up: Decimal | None = None
    mt: str | None = None
    iw: Decimal | None = None


class UdAccount(msgspec.Struct, kw_only=True, gc=False):
    m: str = ""
    B: list[UdBalance] = []
    P: list[UdPosition] = []


class UdAccountUpdate(msgspec.Struct, tag_field="e", tag="ACCOUNT_UPDATE", kw_only=True, gc=False):
    E: int
    a: UdAccount
    T: int = 0


class UdOrder(msgspec.Struct, kw_only=True, gc=False):
    s: str
    S: str
    o: str
    X: str
    x: str
    i: int
    q: Decimal
    c: str = ""
    f: str | None = None
    p: Decimal = _ZERO
    ap: Decimal = _ZERO
    sp: Decimal = _ZERO
    l: Decimal = _ZERO  # noqa: E741 - venue field name
    z: Decimal = _ZERO
    L: Decimal = _ZERO
    N: str | None = None
    n: Decimal | None = None
    T: int = 0
    t: int = 0
    m: bool = False
    R: bool = False
    wt: str | None = None
    ot: str | None = None
    ps: str = "BOTH"
    cp: bool = False
    AP: Decimal | None = None
    rp: Decimal | None = None


class UdOrderTradeUpdate(
    msgspec.Struct, tag_field="e", tag="ORDER_TRADE_UPDATE", kw_only=True, gc=False
):
    E: int
    o: UdOrder
    T: int = 0


class UdTradeLite(msgspec.Struct, tag_field="e", tag="TRADE_LITE", kw_only=True, gc=False):
    E: int
    s: str
    S: str
    L: Decimal
    l: Decimal  # noqa: E741 - venue field name
    t: int
    i: int
    T: int = 0
    c: str = ""
    m: bool | None = None


class UdConfigLeverage(msgspec.Struct, kw_only=True, gc=False):
    s: str
    l: int  # noqa: E741 - venue field name


class UdConfigMultiAssets(msgspec.Struct, kw_only=True, gc=False):
    j: bool


class UdAccountConfigUpdate(
    msgspec.Struct, tag_field="e", tag="ACCOUNT_CONFIG_UPDATE", kw_only=True, gc=False
):
    E: int
    T: int = 0
    ac: UdConfigLeverage | None = None
    ai: UdConfigMultiAssets | None = None


class UdMarginPosition(msgspec.Struct, kw_only=True, gc=False):
    s: str
    pa: Decimal
    ps: str = "BOTH"
    mt: str | None = None
    iw: Decimal | None = None
    mp: Decimal | None = None
    up: Decimal | None = None
    mm: Decimal | None = None


class UdMarginCall(msgspec.Struct, tag_field="e", tag="MARGIN_CALL", kw_only=True, gc=False):
    E: int
    p: list[UdMarginPosition]
    cw: str | None = None


class UdListenKeyExpired(
    msgspec.Struct, tag_field="e", tag="listenKeyExpired", kw_only=True, gc=False
):
    E: int | str
    listenKey: str = ""


class UdAlgo(msgspec.Struct, kw_only=True, gc=False):
    aid: int
    s: str
    S: str
    o: str
    X: str
    caid: str = ""
    ps: str = "BOTH"
    f: str | None = None
    q: str = ""
    ai: str | int = ""
    ap: str = ""
    aq: str = ""
    tp: str = ""
    p: str = ""
    wt: str | None = None
    cp: bool = False
    R: bool = False
    tt: int = 0
    rm: str = ""


class UdAlgoUpdate(msgspec.Struct, tag_field="e", tag="ALGO_UPDATE", kw_only=True, gc=False):
    E: int
    o: UdAlgo
    T: int = 0


class UdTriggerReject(msgspec.Struct, kw_only=True, gc=False):
    s: str
    i: int
    r: str = ""


class UdConditionalReject(
    msgspec.Struct, tag_field="e", tag="CONDITIONAL_ORDER_TRIGGER_REJECT", kw_only=True, gc=False
):
    E: int
    reject: UdTriggerReject = msgspec.field(name="or")
    T: int = 0


_UdEvent = (
    UdAccountUpdate
    | UdOrderTradeUpdate
    | UdTradeLite
    | UdAccountConfigUpdate
    | UdMarginCall
    | UdListenKeyExpired
    | UdAlgoUpdate
    | UdConditionalReject
)
_TAGS = frozenset(
    {
        "ACCOUNT_UPDATE",
        "ORDER_TRADE_UPDATE",
        "TRADE_LITE",
        "ACCOUNT_CONFIG_UPDATE",
        "MARGIN_CALL",
        "listenKeyExpired",
        "ALGO_UPDATE",
        "CONDITIONAL_ORDER_TRIGGER_REJECT",
    }
)


class _Wrapped(msgspec.Struct, gc=False):
    stream: str
    data: _UdEvent


_raw = msgspec.json.Decoder(_UdEvent)
_wrapped = msgspec.json.Decoder(_Wrapped)
_any = msgspec.json.Decoder()


def _position(s: str, pa: Decimal, ps: str, unified: Unified, **extra: Any) -> Position:
    pside = position_side(ps)
    return Position(
        symbol=unified(s),
        position_side=pside,
        size=pa if pside is PositionSide.BOTH else abs(pa),
        **extra,
    )


def _account_update(e: UdAccountUpdate, unified: Unified) -> list[PrivateEvent]:
    ts = e.T or e.E
    out: list[PrivateEvent] = [
        Balance(asset=b.a, wallet_balance=b.wb, cross_wallet_balance=b.cw, timestamp=ts)
        for b in e.a.B
    ]
    for p in e.a.P:
        out.append(
            _position(
                p.s,
                p.pa,
                p.ps,
                unified,
                entry_price=p.ep or None,
                break_even_price=p.bep or None,
                unrealized_pnl=p.up,
                realized_pnl=p.cr,
                margin_mode=margin_mode(p.mt),
                isolated_margin=p.iw,
                timestamp=ts,
            )
        )
    return out


def _order_update(e: UdOrderTradeUpdate, unified: Unified) -> list[PrivateEvent]:
    o = e.o
    symbol = unified(o.s)
    kind = order_type(o.o, o.p)
    trigger = o.sp or None
    if o.AP:
        trigger = o.AP
    order = Order(
        symbol=symbol,
        id=str(o.i),
        client_order_id=o.c or None,
        side=side(o.S),
        type=kind,
        status=order_status(o.X),
        amount=o.q,
        filled=o.z,
        price=o.p or None,
        average_price=o.ap or None,
        trigger_price=trigger,
        trigger_by=trigger_by(o.wt) if (kind.is_conditional or trigger) else None,
        time_in_force=time_in_force(o.f),
        reduce_only=o.R,
        close_position=o.cp,
        position_side=position_side(o.ps),
        updated_at=o.T or e.E,
        venue_status=o.X,
    )
    out: list[PrivateEvent] = [order]
    if o.x in ("TRADE", "CALCULATED") and o.l > 0:
        out.append(
            MyTrade(
                symbol=symbol,
                id=str(o.t),
                order_id=str(o.i),
                client_order_id=o.c or None,
                side=order.side,
                price=o.L,
                amount=o.l,
                timestamp=o.T or e.E,
                fee=o.n,
                fee_asset=o.N,
                liquidity=Liquidity.MAKER if o.m else Liquidity.TAKER,
                realized_pnl=o.rp,
                position_side=order.position_side,
            )
        )
    return out


def _algo_update(e: UdAlgoUpdate, unified: Unified) -> Order:
    o = e.o
    amount = dec(o.q) or _ZERO
    filled = dec(o.aq)
    status = algo_status(o.X, filled, amount)
    return Order(
        symbol=unified(o.s),
        id=algo_order_id(o.aid),
        client_order_id=o.caid or None,
        side=side(o.S),
        type=order_type(o.o),
        status=status,
        amount=amount,
        filled=filled or _ZERO,
        price=dec(o.p, zero_is_none=True),
        average_price=dec(o.ap, zero_is_none=True),
        trigger_price=dec(o.tp, zero_is_none=True),
        trigger_by=trigger_by(o.wt),
        time_in_force=time_in_force(o.f),
        reduce_only=o.R,
        close_position=o.cp,
        position_side=position_side(o.ps),
        updated_at=e.T or e.E,
        venue_status=o.X,
        reject_reason=o.rm or None,
    )


def _events(e: Any, unified: Unified) -> PrivateFrame:
    if isinstance(e, UdOrderTradeUpdate):
        return PrivateData(
            topic="ORDER_TRADE_UPDATE", events=_order_update(e, unified), timestamp=e.E
        )
    if isinstance(e, UdAccountUpdate):
        return PrivateData(
            topic="ACCOUNT_UPDATE", events=_account_update(e, unified), timestamp=e.E
        )
    if isinstance(e, UdTradeLite):
        trade = MyTrade(
            symbol=unified(e.s),
            id=str(e.t),
            order_id=str(e.i),
            client_order_id=e.c or None,
            side=side(e.S),
            price=e.L,
            amount=e.l,
            timestamp=e.T or e.E,
            liquidity=None if e.m is None else (Liquidity.MAKER if e.m else Liquidity.TAKER),
        )
        return PrivateData(topic="TRADE_LITE", events=[trade], timestamp=e.E)
    if isinstance(e, UdAlgoUpdate):
        return PrivateData(topic="ALGO_UPDATE", events=[_algo_update(e, unified)], timestamp=e.E)
    if isinstance(e, UdAccountConfigUpdate):
        event = AccountConfigEvent(
            timestamp=e.T or e.E,
            symbol=unified(e.ac.s) if e.ac else None,
            leverage=e.ac.l if e.ac else None,
            multi_assets=e.ai.j if e.ai else None,
        )
        return PrivateData(topic="ACCOUNT_CONFIG_UPDATE", events=[event], timestamp=e.E)
    if isinstance(e, UdMarginCall):
        positions = [
            _position(
                p.s,
                p.pa,
                p.ps,
                unified,
                mark_price=p.mp,
                unrealized_pnl=p.up,
                margin_mode=margin_mode(p.mt),
                isolated_margin=p.iw,
                timestamp=e.E,
            )
            for p in e.p
        ]
        call = MarginCallEvent(timestamp=e.E, positions=positions, cross_wallet_balance=e.cw)
        return PrivateData(topic="MARGIN_CALL", events=[call], timestamp=e.E)
    if isinstance(e, UdListenKeyExpired):
        try:
            ts = int(e.E)
        except ValueError:
            raise DecodeError(f"listenKeyExpired time {e.E!r}", venue="binance") from None
        expired = StreamExpired(timestamp=ts, reason="listenKeyExpired")
        return PrivateData(topic="listenKeyExpired", events=[expired], timestamp=ts)
    if isinstance(e, UdConditionalReject):
        # deprecated since 2025-12-15 (reason now in ALGO_UPDATE.rm); too little for an Order
        return Control(
            kind="unknown",
            message=(
                f"CONDITIONAL_ORDER_TRIGGER_REJECT {e.reject.s} order {e.reject.i}: {e.reject.r}"
            ),
        )
    raise DecodeError(f"unhandled Binance user event {type(e).__name__}", venue="binance")


def decode_private(frame: bytes | str, unified: Unified) -> PrivateFrame:
    """One user-data frame (raw ``/ws`` or combined ``/stream`` wrapper) into lane events."""
    try:
        event: Any = _raw.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError):
        try:
            event = _wrapped.decode(frame).data
        except (msgspec.DecodeError, UnicodeDecodeError):
            try:
                return _classify(frame)
            except DecodeError:
                raise
            except (TypeError, ValueError, KeyError, AttributeError) as exc:  # never kill a stream
                raise DecodeError(f"undecodable Binance frame ({exc})", venue="binance") from None
    try:
        return _events(event, unified)
    except DecodeError:
        raise
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise DecodeError(f"Binance user event: {exc}", venue="binance") from None


def _classify(frame: bytes | str) -> PrivateFrame:
    try:
        obj = _any.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise DecodeError(f"Binance sent a non-JSON frame ({exc})", venue="binance") from None
    if isinstance(obj, dict):
        data = obj.get("data", obj)
        if isinstance(data, dict):
            tag = data.get("e")
            if isinstance(tag, str) and tag in _TAGS:
                raise DecodeError(f"malformed Binance {tag} event", venue="binance")
            if "status" in obj and "id" in obj:  # a WS API answer (session.logon...)
                return _ws_api_control(obj)
            if "result" in obj and "id" in obj:
                req = obj.get("id")
                return Control(kind="ack", req_id=None if req is None else str(req))
            return Control(
                kind="unknown",
                message=f"unknown user event {tag!r}" if tag is not None else "unknown object",
            )
    return Control(kind="unknown", message=f"unexpected JSON {type(obj).__name__}")


def _ws_api_control(obj: dict[str, Any]) -> Control:
    req = obj.get("id")
    req_id = None if req is None else str(req)
    result = obj.get("result")
    if obj.get("status") == 200 and isinstance(result, dict):
        if "authorizedSince" in result or "apiKey" in result:
            return Control(kind="auth", req_id=req_id, ok=result.get("apiKey") is not None)
        return Control(kind="ack", req_id=req_id)
    err = obj.get("error")
    msg = f"{err.get('code')}: {err.get('msg')}" if isinstance(err, dict) else str(err)
    return Control(kind="error", req_id=req_id, ok=False, message=msg)
