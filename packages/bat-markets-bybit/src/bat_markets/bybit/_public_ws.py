"""Public websocket frames (``/v5/public/linear``) to lane events (§5.Y).

``tickers.{SYM}`` pushes a snapshot then deltas that carry only changed fields; the decoder keeps
a per-symbol merge of every field and emits, for each ticker frame, a full ``Ticker`` plus the
``MarkPrice``, ``FundingRate`` and ``OpenInterest`` it implies, so watchers of those channels are
all served from the one topic.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from bat_markets.core import (
    OHLCV,
    BookDeltaEvent,
    BookSnapshotEvent,
    Control,
    DecodeError,
    Liquidation,
    PublicEvent,
    PublicFrame,
    Side,
    StreamData,
    Trade,
)

from ._convert import (
    TickerFields,
    Unify,
    funding_rate_from,
    mark_price_from,
    open_interest_from,
    ticker_from,
)
from ._intervals import NATIVE
from ._native import (
    BookData,
    BookFrame,
    TickerData,
    TradeFrame,
    WsEnvelope,
    WsKlineRow,
    WsLiquidationRow,
    WsTradeRow,
    strict,
)
from ._util import VENUE, dec_opt

__all__ = ["PublicDecoder", "control_from", "DECODE_FAILURES"]

_ENVELOPE = strict(WsEnvelope)
_BOOK = strict(BookData)
_BOOK_FRAME = strict(BookFrame)
_TRADE_FRAME = strict(TradeFrame)
_BOOK_PREFIX = b'{"topic":"orderbook.'
_TRADE_PREFIX = b'{"topic":"publicTrade.'
_BOOK_PREFIX_STR = _BOOK_PREFIX.decode()
_TRADE_PREFIX_STR = _TRADE_PREFIX.decode()

_TRADES = strict(list[WsTradeRow])
_KLINES = msgspec.json.Decoder(list[WsKlineRow], strict=False)
_LIQUIDATIONS = strict(list[WsLiquidationRow])
_TICKER = strict(TickerData)
_BUY, _SELL = Side.BUY, Side.SELL

DECODE_FAILURES = (
    msgspec.MsgspecError,
    ValueError,
    TypeError,
    ArithmeticError,
    KeyError,
    IndexError,
    AttributeError,
    UnicodeError,
)
"""What malformed input can raise inside decoders; all of it becomes ``DecodeError``."""


def control_from(env: WsEnvelope) -> Control:
    """A control frame (ack, pong, auth reply, error) or ``unknown``."""
    op = env.op
    req_id = env.req_id or env.reqId or None
    if env.success is not None:
        ok = env.success
    else:  # trade websocket; 20001 = already authenticated
        ok = env.retCode in (0, None) or (op == "auth" and env.retCode == 20001)
    message = env.ret_msg or env.retMsg or None
    if op in ("subscribe", "unsubscribe"):
        return Control(kind="ack", req_id=req_id, ok=ok, message=message)
    if op == "pong" or (op == "ping" and (env.ret_msg == "pong" or env.success)):
        return Control(kind="pong", req_id=req_id, ok=ok, message=message)
    if op == "auth":
        return Control(kind="auth", req_id=req_id, ok=ok, message=message)
    if not ok:
        return Control(kind="error", req_id=req_id, ok=False, message=message)
    return Control(kind="unknown", req_id=req_id, message=f"unhandled op {op!r}" if op else None)


class PublicDecoder:
    """Stateful decoder (ticker merge cache) for one adapter instance."""

    __slots__ = ("_handlers", "_tickers", "_unify", "unknown_frames")

    def __init__(self, unify: Unify) -> None:
        self._unify = unify
        self._tickers: dict[str, TickerFields] = {}
        self.unknown_frames = 0
        self._handlers: dict[str, Callable[[str, WsEnvelope, msgspec.Raw], list[PublicEvent]]] = {
            "orderbook": self._book,
            "publicTrade": self._trades,
            "tickers": self._ticker,
            "kline": self._kline,
            "allLiquidation": self._liquidations,
        }

    def reset_tickers(self, symbol: str | None = None) -> None:
        """Forget merged ticker state (one native symbol, or all)."""
        if symbol is None:
            self._tickers.clear()
        else:
            self._tickers.pop(symbol, None)

    def decode(self, frame: bytes | str) -> PublicFrame:
        # Hot paths: venue frames start with their topic; anything else (or any failure here)
        # takes the general path below, which produces the proper error.
        if isinstance(frame, str):
            book_frame = frame.startswith(_BOOK_PREFIX_STR)
            trade_frame = not book_frame and frame.startswith(_TRADE_PREFIX_STR)
        else:
            book_frame = frame.startswith(_BOOK_PREFIX)
            trade_frame = not book_frame and frame.startswith(_TRADE_PREFIX)
        if book_frame:
            try:
                book = _BOOK_FRAME.decode(frame)
            except msgspec.MsgspecError:
                pass
            else:
                cts = book.cts
                data = book.data
                if book.type == "delta":  # the hot path, inlined from ``_book_events``
                    return StreamData(
                        topic=book.topic,
                        events=[
                            BookDeltaEvent(
                                symbol=self._unify(data.s),
                                bids=data.b,
                                asks=data.a,
                                last_id=data.u,
                                sequence=data.seq,
                                timestamp=book.ts if cts is None else cts,
                            )
                        ],
                    )
                return StreamData(
                    topic=book.topic,
                    events=self._book_events(book.type, data, book.ts if cts is None else cts),
                )
        elif trade_frame:
            try:
                trades = _TRADE_FRAME.decode(frame)
            except msgspec.MsgspecError:
                pass
            else:
                return StreamData(topic=trades.topic, events=self._trade_events(trades.data))
        return self._decode_general(frame)

    def _decode_general(self, frame: bytes | str) -> PublicFrame:
        try:
            env = _ENVELOPE.decode(frame)
            topic = env.topic
            if not topic:
                control = control_from(env) if env.op else Control(kind="unknown")
                if control.kind == "unknown":
                    self.unknown_frames += 1
                return control
            head, _, rest = topic.partition(".")
            handler = self._handlers.get(head)
            if handler is None:
                self.unknown_frames += 1
                return Control(kind="unknown", message=f"unknown topic {topic!r}", topics=[topic])
            data = env.data
            if not data:
                raise DecodeError(f"{topic}: frame without data", venue=VENUE)
            return StreamData(topic=topic, events=handler(rest, env, data))
        except DecodeError:
            raise
        except DECODE_FAILURES as exc:
            raise DecodeError(f"malformed Bybit public frame: {exc}", venue=VENUE) from exc

    # -- handlers (``rest`` is the topic after its first dot) -------------------------------

    def _book(self, rest: str, env: WsEnvelope, raw: msgspec.Raw) -> list[PublicEvent]:
        return self._book_events(
            env.type, _BOOK.decode(raw), env.cts if env.cts is not None else env.ts
        )

    def _book_events(self, kind: str, data: BookData, timestamp: int | None) -> list[PublicEvent]:
        symbol = self._unify(data.s)
        if kind == "delta":
            return [
                BookDeltaEvent(
                    symbol=symbol,
                    bids=data.b,
                    asks=data.a,
                    last_id=data.u,
                    sequence=data.seq,
                    timestamp=timestamp,
                )
            ]
        if kind == "snapshot":
            return [
                BookSnapshotEvent(
                    symbol=symbol,
                    bids=data.b,
                    asks=data.a,
                    update_id=data.u,
                    sequence=data.seq,
                    timestamp=timestamp,
                )
            ]
        raise DecodeError(f"orderbook frame of unknown type {kind!r}", venue=VENUE)

    def _trades(self, rest: str, env: WsEnvelope, raw: msgspec.Raw) -> list[PublicEvent]:
        return self._trade_events(_TRADES.decode(raw))

    def _trade_events(self, rows: list[WsTradeRow]) -> list[PublicEvent]:
        unify = self._unify
        native = ""
        symbol = ""
        out: list[PublicEvent] = []
        append = out.append
        for row in rows:
            if row.s != native:
                native = row.s
                symbol = unify(native)
            side_text = row.S
            if side_text == "Buy":
                side = _BUY
            elif side_text == "Sell":
                side = _SELL
            else:
                raise DecodeError(f"unknown trade side {side_text!r}", venue=VENUE)
            price = row.p
            amount = row.v
            if not (price.is_finite() and amount.is_finite()):
                raise DecodeError("non-finite trade price or size", venue=VENUE)
            append(
                Trade(
                    symbol=symbol,
                    id=row.i,
                    timestamp=row.T,
                    price=price,
                    amount=amount,
                    side=side,
                )
            )
        return out

    def _ticker(self, rest: str, env: WsEnvelope, raw: msgspec.Raw) -> list[PublicEvent]:
        data = _TICKER.decode(raw)
        native = data.symbol
        if env.type == "snapshot":
            fields = TickerFields(native)
        elif env.type == "delta":
            # A delta before any snapshot merges onto an empty state (unknown fields stay unset).
            fields = self._tickers.get(native) or TickerFields(native)
        else:
            raise DecodeError(f"tickers frame of unknown type {env.type!r}", venue=VENUE)
        merged = TickerFields(native)
        merged.update_from(fields)
        merged.update_from(data)
        timestamp = env.ts or 0
        symbol = self._unify(native)
        events: list[PublicEvent] = [ticker_from(merged, symbol, timestamp)]
        for build in (mark_price_from, funding_rate_from, open_interest_from):
            event = build(merged, symbol, timestamp)
            if event is not None:
                events.append(event)
        # Commit only after every field converted: a bad delta leaves the cache untouched.
        self._tickers[native] = merged
        return events

    def _kline(self, rest: str, env: WsEnvelope, raw: msgspec.Raw) -> list[PublicEvent]:
        native_interval, _, native_symbol = rest.partition(".")
        interval = NATIVE.get(native_interval)
        if interval is None or not native_symbol:
            raise DecodeError(f"kline topic with unknown interval: {rest!r}", venue=VENUE)
        symbol = self._unify(native_symbol)
        rows = _KLINES.decode(raw)
        for row in rows:
            if not all(v.is_finite() for v in (row.open, row.high, row.low, row.close, row.volume)):
                raise DecodeError("non-finite kline value", venue=VENUE)
        return [
            OHLCV(
                symbol=symbol,
                interval=interval,
                open_time=row.start,
                close_time=row.end,
                open=row.open,
                high=row.high,
                low=row.low,
                close=row.close,
                volume=row.volume,
                quote_volume=dec_opt(row.turnover, "turnover"),
                closed=row.confirm,
            )
            for row in rows
        ]

    def _liquidations(self, rest: str, env: WsEnvelope, raw: msgspec.Raw) -> list[PublicEvent]:
        out: list[PublicEvent] = []
        for row in _LIQUIDATIONS.decode(raw):
            # Bybit ``S`` is the liquidated position's side; ours is the liquidation order's.
            if row.S == "Buy":
                side = _SELL
            elif row.S == "Sell":
                side = _BUY
            else:
                raise DecodeError(f"unknown liquidation side {row.S!r}", venue=VENUE)
            if not (row.p.is_finite() and row.v.is_finite()):
                raise DecodeError("non-finite liquidation price or size", venue=VENUE)
            out.append(
                Liquidation(
                    symbol=self._unify(row.s),
                    timestamp=row.T,
                    side=side,
                    price=row.p,
                    amount=row.v,
                )
            )
        return out
