"""Public market-data stream decoding (PROTOCOLS §5.B).

One typed msgspec decoder reads a whole combined frame ``{"stream": ..., "data": {...}}``: the
payload is a tagged union keyed on the event type ``e`` (or a list, for the ``!...@arr`` streams),
so a depth diff or an aggTrade is parsed once, straight into typed fields with ``Decimal`` prices
where they are needed and raw ``(price, amount)`` strings for book levels (the book converts them
to ticks). Anything the fast path rejects goes through a slow path that tells control frames,
unknown events and garbage apart.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from bat_markets.core import (
    OHLCV,
    BookDeltaEvent,
    BookSnapshotEvent,
    BookTop,
    Control,
    DecodeError,
    FundingRate,
    Liquidation,
    MarkPrice,
    PublicEvent,
    PublicFrame,
    Side,
    StreamData,
    Ticker,
    Trade,
)

from ._convert import Unified, dec

__all__ = [
    "WsDepth",
    "WsAggTrade",
    "WsTrade",
    "WsKline",
    "WsContinuousKline",
    "WsTicker",
    "WsMiniTicker",
    "WsBookTicker",
    "WsMarkPrice",
    "WsForceOrder",
    "WsContractInfo",
    "PublicDecoder",
    "subscribe_frame",
    "unsubscribe_frame",
]

_ZERO = Decimal(0)


class WsDepth(msgspec.Struct, tag_field="e", tag="depthUpdate", kw_only=True, gc=False):
    s: str
    U: int
    u: int
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]
    pu: int | None = None
    E: int = 0
    T: int = 0


class WsAggTrade(msgspec.Struct, tag_field="e", tag="aggTrade", kw_only=True, gc=False):
    s: str
    a: int
    p: Decimal
    q: Decimal
    T: int
    m: bool
    E: int = 0


class WsTrade(msgspec.Struct, tag_field="e", tag="trade", kw_only=True, gc=False):
    s: str
    t: int
    p: Decimal
    q: Decimal
    T: int
    m: bool
    E: int = 0
    X: str = "MARKET"


class KlineBody(msgspec.Struct, kw_only=True, gc=False):
    t: int
    T: int
    i: str
    o: Decimal
    c: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 - venue field name
    v: Decimal
    x: bool
    n: int | None = None
    q: Decimal | None = None
    s: str | None = None


class WsKline(msgspec.Struct, tag_field="e", tag="kline", kw_only=True, gc=False):
    s: str
    k: KlineBody
    E: int = 0


class WsContinuousKline(
    msgspec.Struct, tag_field="e", tag="continuous_kline", kw_only=True, gc=False
):
    ps: str
    ct: str
    k: KlineBody
    E: int = 0


class WsTicker(msgspec.Struct, tag_field="e", tag="24hrTicker", kw_only=True, gc=False):
    s: str
    E: int
    c: Decimal
    o: Decimal | None = None
    h: Decimal | None = None
    l: Decimal | None = None  # noqa: E741 - venue field name
    v: Decimal | None = None
    q: Decimal | None = None
    p: Decimal | None = None
    P: Decimal | None = None
    w: Decimal | None = None


class WsMiniTicker(msgspec.Struct, tag_field="e", tag="24hrMiniTicker", kw_only=True, gc=False):
    s: str
    E: int
    c: Decimal
    o: Decimal | None = None
    h: Decimal | None = None
    l: Decimal | None = None  # noqa: E741 - venue field name
    v: Decimal | None = None
    q: Decimal | None = None


class WsBookTicker(msgspec.Struct, tag_field="e", tag="bookTicker", kw_only=True, gc=False):
    s: str
    u: int
    b: Decimal
    B: Decimal
    a: Decimal
    A: Decimal
    E: int = 0
    T: int = 0


class WsMarkPrice(msgspec.Struct, tag_field="e", tag="markPriceUpdate", kw_only=True, gc=False):
    s: str
    E: int
    p: Decimal
    i: Decimal | None = None
    P: Decimal | None = None
    r: str = ""
    T: int = 0


class ForceOrderBody(msgspec.Struct, kw_only=True, gc=False):
    s: str
    S: str
    q: Decimal
    p: Decimal
    T: int
    ap: Decimal | None = None
    z: Decimal | None = None
    X: str | None = None


class WsForceOrder(msgspec.Struct, tag_field="e", tag="forceOrder", kw_only=True, gc=False):
    o: ForceOrderBody
    E: int = 0


class WsContractInfo(msgspec.Struct, tag_field="e", tag="contractInfo", kw_only=True, gc=False):
    s: str
    E: int = 0
    cs: str | None = None
    ct: str | None = None


_ArrayItem = WsMarkPrice | WsMiniTicker | WsTicker
_Event = (
    WsDepth
    | WsAggTrade
    | WsTrade
    | WsKline
    | WsContinuousKline
    | WsTicker
    | WsMiniTicker
    | WsBookTicker
    | WsMarkPrice
    | WsForceOrder
    | WsContractInfo
    | list[_ArrayItem]
)
_TAGS = frozenset(
    {
        "depthUpdate",
        "aggTrade",
        "trade",
        "kline",
        "continuous_kline",
        "24hrTicker",
        "24hrMiniTicker",
        "bookTicker",
        "markPriceUpdate",
        "forceOrder",
        "contractInfo",
    }
)


class _Combined(msgspec.Struct, gc=False):
    stream: str
    data: _Event


_combined = msgspec.json.Decoder(_Combined)
_raw = msgspec.json.Decoder(_Event)
_any = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


def subscribe_frame(topics: list[str], req_id: int) -> bytes:
    return _encoder.encode({"method": "SUBSCRIBE", "params": topics, "id": req_id})


def unsubscribe_frame(topics: list[str], req_id: int) -> bytes:
    return _encoder.encode({"method": "UNSUBSCRIBE", "params": topics, "id": req_id})


def _is_partial_depth(stream: str) -> bool:
    """``<s>@depth5`` / ``@depth10@100ms`` are top-N snapshots; ``<s>@depth[@...]`` are diffs."""
    at = stream.find("@depth")
    return at >= 0 and stream[at + 6 : at + 7].isdigit()


_PARTIAL: dict[str, bool] = {}  # depth stream name -> carries top-N snapshots (not diffs)


class PublicDecoder:
    """Frame -> ``StreamData`` / ``Control``; keeps a small native -> unified symbol cache."""

    __slots__ = ("_cache", "_unified")

    def __init__(self, unified: Unified) -> None:
        self._unified = unified
        self._cache: dict[str, str] = {}

    def reset_symbols(self, unified: Unified) -> None:
        self._unified = unified
        self._cache.clear()

    def sym(self, native: str) -> str:
        found = self._cache.get(native)
        if found is None:
            found = self._cache[native] = self._unified(native)
        return found

    def decode(self, frame: bytes | str) -> PublicFrame:
        try:
            combined = _combined.decode(frame)
        except (msgspec.DecodeError, UnicodeDecodeError):
            try:
                return self._slow(frame)
            except DecodeError:
                raise
            except (TypeError, ValueError, KeyError, AttributeError) as exc:  # never kill a stream
                raise DecodeError(f"undecodable Binance frame ({exc})", venue="binance") from None
        data = combined.data
        stream = combined.stream
        if type(data) is WsDepth:
            # The per-diff hot path, inlined: the same event as ``_depth`` once the stream is
            # known to carry diffs and the symbol is cached (anything else takes ``_frame``).
            partial = _PARTIAL.get(stream)
            if partial is None:
                partial = _is_partial_depth(stream)
                if len(_PARTIAL) < 4096:
                    _PARTIAL[stream] = partial
            symbol = self._cache.get(data.s)
            if partial or symbol is None:
                return self._frame(data, stream)
            return StreamData(
                topic=stream,
                events=[
                    BookDeltaEvent(
                        symbol=symbol,
                        bids=data.b,
                        asks=data.a,
                        first_id=data.U,
                        last_id=data.u,
                        prev_id=data.pu,
                        timestamp=data.T or data.E or None,
                    )
                ],
            )
        return self._frame(data, stream)

    def _frame(self, data: Any, topic: str) -> PublicFrame:
        if type(data) is WsContractInfo:  # listing/status news: no unified model
            return Control(
                kind="unknown",
                message=f"contractInfo {data.s} status={data.cs} type={data.ct}",
                topics=[topic],
            )
        try:
            return StreamData(topic=topic, events=self._events(data, topic))
        except DecodeError:
            raise
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise DecodeError(f"Binance frame on {topic}: {exc}", venue="binance") from None

    # -- conversion
    def _events(self, data: Any, stream: str) -> list[PublicEvent]:
        if type(data) is WsDepth:
            return [self._depth(data, stream)]
        if type(data) is WsAggTrade:
            return [
                Trade(
                    symbol=self.sym(data.s),
                    id=str(data.a),
                    timestamp=data.T,
                    price=data.p,
                    amount=data.q,
                    side=Side.SELL if data.m else Side.BUY,
                    aggregated=True,
                )
            ]
        if isinstance(data, list):
            out: list[PublicEvent] = []
            for item in data:
                out.extend(self._events(item, stream))
            return out
        if isinstance(data, WsBookTicker):
            return [
                BookTop(
                    symbol=self.sym(data.s),
                    timestamp=data.T or data.E or None,
                    bid=data.b,
                    bid_size=data.B,
                    ask=data.a,
                    ask_size=data.A,
                    sequence=data.u,
                )
            ]
        if isinstance(data, WsTrade):
            return [
                Trade(
                    symbol=self.sym(data.s),
                    id=str(data.t),
                    timestamp=data.T,
                    price=data.p,
                    amount=data.q,
                    side=Side.SELL if data.m else Side.BUY,
                )
            ]
        if isinstance(data, WsMarkPrice):
            return self._mark(data)
        if isinstance(data, WsKline):
            return [self._kline(data.k, self.sym(data.s))]
        if isinstance(data, WsContinuousKline):
            if data.ct != "PERPETUAL":
                raise DecodeError(
                    f"continuous kline of {data.ps} {data.ct} has no fixed symbol",
                    venue="binance",
                )
            return [self._kline(data.k, self.sym(data.ps))]
        if isinstance(data, (WsTicker, WsMiniTicker)):
            ticker = Ticker(
                symbol=self.sym(data.s),
                timestamp=data.E,
                last=data.c,
                open=data.o,
                high=data.h,
                low=data.l,
                volume=data.v,
                quote_volume=data.q,
            )
            if isinstance(data, WsTicker):  # miniTicker has no change / percentage / vwap
                ticker = msgspec.structs.replace(
                    ticker, change=data.p, percentage=data.P, vwap=data.w
                )
            return [ticker]
        if isinstance(data, WsForceOrder):
            o = data.o
            if o.S not in ("BUY", "SELL"):
                raise DecodeError(f"forceOrder side {o.S!r}", venue="binance")
            return [
                Liquidation(
                    symbol=self.sym(o.s),
                    timestamp=o.T,
                    side=Side.BUY if o.S == "BUY" else Side.SELL,
                    price=o.p,
                    amount=o.z if o.z else o.q,
                    average_price=o.ap or None,
                    complete_feed=False,
                )
            ]
        raise DecodeError(f"unhandled Binance event {type(data).__name__}", venue="binance")

    def _depth(self, d: WsDepth, stream: str) -> BookDeltaEvent | BookSnapshotEvent:
        if _is_partial_depth(stream):
            return BookSnapshotEvent(
                symbol=self.sym(d.s),
                bids=d.b,
                asks=d.a,
                update_id=d.u,
                timestamp=d.T or d.E or None,
                source="ws",
            )
        return BookDeltaEvent(
            symbol=self.sym(d.s),
            bids=d.b,
            asks=d.a,
            first_id=d.U,
            last_id=d.u,
            prev_id=d.pu,
            timestamp=d.T or d.E or None,
        )

    def _mark(self, m: WsMarkPrice) -> list[PublicEvent]:
        symbol = self.sym(m.s)
        out: list[PublicEvent] = [
            MarkPrice(
                symbol=symbol,
                timestamp=m.E,
                mark_price=m.p,
                index_price=m.i,
                estimated_settle_price=m.P,
            )
        ]
        rate = dec(m.r)
        if rate is not None:  # dated futures carry no funding rate
            out.append(
                FundingRate(
                    symbol=symbol,
                    timestamp=m.E,
                    funding_rate=rate,
                    funding_time=m.T or None,
                    mark_price=m.p,
                    index_price=m.i,
                )
            )
        return out

    @staticmethod
    def _kline(k: KlineBody, symbol: str) -> OHLCV:
        return OHLCV(
            symbol=symbol,
            interval=k.i,
            open_time=k.t,
            close_time=k.T,
            open=k.o,
            high=k.h,
            low=k.l,
            close=k.c,
            volume=k.v,
            quote_volume=k.q,
            trades=k.n,
            closed=k.x,
        )

    # -- slow path: raw (unwrapped) events, control frames, unknown events, garbage
    def _slow(self, frame: bytes | str) -> PublicFrame:
        try:
            data = _raw.decode(frame)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return self._classify(frame)
        return self._frame(data, _raw_topic(data))

    def _classify(self, frame: bytes | str) -> PublicFrame:
        try:
            obj = _any.decode(frame)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise DecodeError(f"Binance sent a non-JSON frame ({exc})", venue="binance") from None
        return classify_control(obj)


def _raw_topic(data: Any) -> str:
    if isinstance(data, list):
        if data and isinstance(data[0], WsMarkPrice):
            return "!markPrice@arr"
        if data and isinstance(data[0], WsMiniTicker):
            return "!miniTicker@arr"
        return "!ticker@arr"
    tag = type(data).__struct_config__.tag
    symbol = getattr(data, "s", None) or getattr(data, "ps", "")
    if isinstance(data, WsForceOrder):
        symbol = data.o.s
    return f"{str(symbol).lower()}@{tag}"


def classify_control(obj: object) -> PublicFrame:
    """A well-formed JSON frame that is not market data: ack, error, or unknown."""
    if isinstance(obj, dict):
        req = obj.get("id")
        req_id = None if req is None else str(req)
        if "result" in obj and "id" in obj and "error" not in obj:
            result = obj["result"]
            topics = [str(t) for t in result] if isinstance(result, list) else None
            return Control(kind="ack", req_id=req_id, ok=True, topics=topics)
        err = obj.get("error")
        if isinstance(err, dict) or ("code" in obj and "msg" in obj):
            body = err if isinstance(err, dict) else obj
            return Control(
                kind="error",
                req_id=req_id,
                ok=False,
                message=f"{body.get('code')}: {body.get('msg')}",
            )
        data = obj.get("data", obj)
        stream = obj.get("stream")
        if isinstance(data, dict):
            tag = data.get("e")
            if isinstance(tag, str) and tag in _TAGS:
                raise DecodeError(
                    f"malformed Binance {tag} event on {stream or 'raw stream'}", venue="binance"
                )
            return Control(
                kind="unknown",
                message=f"unknown event {tag!r}" if tag is not None else "unknown object",
                topics=[stream] if isinstance(stream, str) else None,
            )
        if isinstance(data, list):
            tags = {i.get("e") for i in data if isinstance(i, dict) and isinstance(i.get("e"), str)}
            if tags & _TAGS:
                raise DecodeError("malformed Binance array event", venue="binance")
            return Control(kind="unknown", message="unknown array event")
    return Control(kind="unknown", message=f"unexpected JSON {type(obj).__name__}")
