"""Public market-data streams of ``/v5/public/linear`` driven by engine events.

Every ``orderbook.{1,50,200,1000}.SYM`` stream keeps the top-N levels it last published and its
own ``u``: a change of the book produces one delta per depth with ``u + 1`` (depth 1: a
snapshot), all sharing the symbol's cross sequence ``seq`` and the engine time ``cts``. Engine
events are coalesced and published once per event-loop turn (the venue batches every 10-200 ms).
The 1000-level stream is kept even without subscribers so the REST book's ``u`` equals it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from .._events import BookDiff, EngineEvent, LiquidationPrint, MarkUpdate, PublicTrade
from .._model import Side
from .._server import SimConnection
from . import _render as R
from ._klines import INTERVALS, aggregate, bucket_start
from ._views import KlineView, LiquidationView, TradeView

if TYPE_CHECKING:
    from .._engine import Engine
    from .._faults import Faults
    from ._bridge import Bridge

__all__ = ["DEPTHS", "Topic", "parse_topic", "PublicHub", "schedule"]

DEPTHS = (1, 50, 200, 1000)
_encode = msgspec.json.Encoder().encode
_MAX_TRADES_PER_MESSAGE = 1024


def schedule(fn: Callable[[], None]) -> bool:
    """Run ``fn`` once the current event-loop turn ends; run it now when no loop runs.

    Returns True when deferred."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        fn()
        return False
    loop.call_soon(fn)
    return True


@dataclass(frozen=True)
class Topic:
    """A parsed public topic name."""

    name: str
    kind: str  # orderbook | publicTrade | tickers | kline | allLiquidation
    symbol: str
    depth: int = 0
    interval: str = ""


def parse_topic(name: object, symbols: dict[str, Any]) -> Topic | None:
    """The topic, or None when the venue would answer "handler not found"."""
    if not isinstance(name, str):
        return None
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "orderbook":
        try:
            depth = int(parts[1])
        except ValueError:
            return None
        if depth in DEPTHS and parts[2] in symbols:
            return Topic(name, "orderbook", parts[2], depth=depth)
        return None
    if len(parts) == 3 and parts[0] == "kline":
        if parts[1] in INTERVALS and parts[2] in symbols:
            return Topic(name, "kline", parts[2], interval=parts[1])
        return None
    if (
        len(parts) == 2
        and parts[0] in ("publicTrade", "tickers", "allLiquidation")
        and parts[1] in symbols
    ):
        return Topic(name, parts[0], parts[1])
    return None


@dataclass
class _Depth:
    depth: int
    u: int
    bids: dict[int, int] = field(default_factory=dict)  # ticks -> steps, as last published
    asks: dict[int, int] = field(default_factory=dict)
    restart: bool = False
    pushed_ms: int = 0  # when subscribers last got a frame (depth 1 re-push timer)


def _diff(old: dict[int, int], new: dict[int, int]) -> list[tuple[int, int]]:
    changed = [(t, s) for t, s in new.items() if old.get(t) != s]
    changed.extend((t, 0) for t in old if t not in new)
    return changed


class PublicHub:
    """Subscriptions and message generation of the public linear socket."""

    def __init__(
        self, engine: Engine, bridge: Bridge, faults: Faults, now_ms: Callable[[], int]
    ) -> None:
        self.engine = engine
        self.bridge = bridge
        self.faults = faults
        self.now_ms = now_ms
        self.subs: dict[str, set[SimConnection]] = {}
        self.topics: dict[str, Topic] = {}
        self._depths: dict[tuple[str, int], _Depth] = {}
        self._trades: dict[str, list[TradeView]] = {}
        self._liqs: dict[str, list[LiquidationView]] = {}
        self._dirty_books: set[str] = set()
        self._dirty_tickers: set[str] = set()
        self._dirty_klines: set[str] = set()
        self._tickers: dict[str, dict[str, Any]] = {}
        self._klines: dict[str, KlineView] = {}  # topic -> last pushed candle
        self._scheduled = False
        self._u_base = {sym: 100_000 * (n + 1) for n, sym in enumerate(engine.instruments)}

    # -- engine events ---------------------------------------------------------------------------
    def on_event(self, ev: EngineEvent) -> None:
        if isinstance(ev, BookDiff):
            self._dirty_books.add(ev.symbol)
            self._dirty_tickers.add(ev.symbol)
        elif isinstance(ev, PublicTrade):
            seq = self.bridge.trade_seq(ev.symbol, ev.trade_id)
            prev = self.engine.markets[ev.symbol].trades
            direction = "ZeroPlusTick"
            if len(prev) >= 2:
                a, b = prev[-2].price, prev[-1].price
                direction = "PlusTick" if b > a else "MinusTick" if b < a else "ZeroPlusTick"
            self._trades.setdefault(ev.symbol, []).append(
                TradeView(
                    self.bridge.ids.trade(ev.symbol, ev.trade_id),
                    ev.symbol,
                    "Sell" if ev.buyer_is_maker else "Buy",
                    ev.price,
                    ev.qty,
                    ev.ts,
                    seq,
                    direction,
                )
            )
            self._dirty_tickers.add(ev.symbol)
            self._dirty_klines.add(ev.symbol)
        elif isinstance(ev, MarkUpdate):
            self._dirty_tickers.add(ev.symbol)
        elif isinstance(ev, LiquidationPrint):
            # Bybit ``S`` is the liquidated position's side: a forced SELL closes a long ("Buy")
            side = "Buy" if ev.side is Side.SELL else "Sell"
            self._liqs.setdefault(ev.symbol, []).append(
                LiquidationView(ev.symbol, side, ev.qty, ev.price, ev.ts)
            )
        else:
            return
        if not self._scheduled:
            self._scheduled = True
            schedule(self.flush)

    # -- book streams -----------------------------------------------------------------------------
    def _state(self, symbol: str, depth: int) -> _Depth:
        st = self._depths.get((symbol, depth))
        if st is None:
            st = _Depth(depth, self._u_base[symbol] * (depth + 1))
            bids, asks = self.engine.books[symbol].depth(depth)
            st.bids, st.asks = dict(bids), dict(asks)
            self._depths[(symbol, depth)] = st
        return st

    def _levels(self, symbol: str, levels: list[tuple[int, int]]) -> list[list[str]]:
        inst = self.engine.instruments[symbol]
        view = self.bridge.instruments[symbol]
        return R.book_levels(((inst.price_of(t), inst.qty_of(s)) for t, s in levels), view)

    def _sorted(
        self, st: _Depth, limit: int | None = None
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        bids = sorted(st.bids.items(), reverse=True)
        asks = sorted(st.asks.items())
        if limit is not None:
            bids, asks = bids[:limit], asks[:limit]
        return bids, asks

    def _book_message(
        self,
        symbol: str,
        st: _Depth,
        kind: str,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
    ) -> str:
        now = self.now_ms()
        msg = R.orderbook_ws(
            f"orderbook.{st.depth}.{symbol}",
            kind,
            symbol,
            self._levels(symbol, bids),
            self._levels(symbol, asks),
            ts=now,
            u=st.u,
            seq=self.bridge.seq[symbol],
            cts=self.engine.now(),
        )
        return _encode(msg).decode()

    def _advance(self, symbol: str, depth: int, send: bool) -> None:
        """Bring one stream up to the book; publish the delta (or snapshot) when ``send``."""
        st = self._state(symbol, depth)
        new_b, new_a = self.engine.books[symbol].depth(depth)
        nb, na = dict(new_b), dict(new_a)
        if st.restart:
            st.restart = False
            st.u = 1
            st.bids, st.asks = nb, na
            if send:
                self._send_topic(
                    f"orderbook.{depth}.{symbol}",
                    self._book_message(symbol, st, "snapshot", new_b, new_a),
                    "depth",
                )
            return
        db, da = _diff(st.bids, nb), _diff(st.asks, na)
        if not db and not da:
            return
        st.u += 1
        st.bids, st.asks = nb, na
        if not send:
            return
        if depth == 1:
            msg = self._book_message(symbol, st, "snapshot", new_b, new_a)
        else:
            db.sort(reverse=True)
            da.sort()
            msg = self._book_message(symbol, st, "delta", db, da)
        self._send_topic(f"orderbook.{depth}.{symbol}", msg, "depth")

    def rest_book(self, symbol: str, limit: int) -> dict[str, Any]:
        """``/v5/market/orderbook`` result: the 1000-level stream's levels and ``u``."""
        self.flush()
        self._advance(symbol, 1000, send=self._has(f"orderbook.1000.{symbol}"))
        st = self._state(symbol, 1000)
        bids, asks = self._sorted(st, limit)
        now = self.now_ms()
        return R.orderbook_rest(
            symbol,
            self._levels(symbol, bids),
            self._levels(symbol, asks),
            ts=now,
            u=st.u,
            seq=self.bridge.seq[symbol],
            cts=self.engine.now(),
        )

    def restart(self, symbol: str | None = None) -> None:
        """Simulated service restart: every book stream restarts with a ``u=1`` snapshot."""
        for (sym, _depth), st in self._depths.items():
            if symbol is None or sym == symbol:
                st.restart = True
        for sym in [symbol] if symbol else list(self.engine.instruments):
            self._dirty_books.add(sym)
        if not self._scheduled:
            self._scheduled = True
            schedule(self.flush)

    def resnapshot(self, symbol: str, depth: int) -> None:
        """Push a fresh snapshot mid-stream (the venue's recovery snapshot), ``u`` + 1."""
        topic = f"orderbook.{depth}.{symbol}"
        self._advance(symbol, depth, send=True)
        st = self._state(symbol, depth)
        st.u += 1
        bids, asks = self._sorted(st)
        self._send_topic(topic, self._book_message(symbol, st, "snapshot", bids, asks), "depth")

    # -- subscriptions ---------------------------------------------------------------------------
    def subscribe(self, conn: SimConnection, topic: Topic) -> None:
        """Register ``conn`` and send what the venue sends first (book/ticker snapshots)."""
        self.flush()  # existing subscribers are brought up to date first
        self.topics[topic.name] = topic
        first_subscriber = not self._has(topic.name)
        if topic.kind == "orderbook":
            self._advance(topic.symbol, topic.depth, send=not first_subscriber)
        self.subs.setdefault(topic.name, set()).add(conn)
        if topic.kind == "orderbook":
            st = self._state(topic.symbol, topic.depth)
            if first_subscriber:
                st.pushed_ms = self.now_ms()
            bids, asks = self._sorted(st)
            conn.push(self._book_message(topic.symbol, st, "snapshot", bids, asks), "depth")
        elif topic.kind == "tickers":
            full = self._ticker_full(topic.symbol)
            prev = self._tickers.get(topic.symbol)
            if prev is not None:  # time-driven fields may have moved: tell existing subscribers
                delta = R.ticker_delta(prev, full)
                if len(delta) > 1:
                    msg = self._ticker_message(topic.symbol, "delta", delta)
                    for other in self.subs.get(topic.name, ()):
                        if other is not conn:
                            other.push(msg, "public")
            self._tickers[topic.symbol] = full
            conn.push(self._ticker_message(topic.symbol, "snapshot", full), "public")
        elif topic.kind == "kline":
            k = self._kline_now(topic)
            if k is not None:
                self._klines[topic.name] = k
                conn.push(self._kline_message(topic, [k]), "public")

    def unsubscribe(self, conn: SimConnection, name: str) -> None:
        subs = self.subs.get(name)
        if subs is not None:
            subs.discard(conn)
            if not subs:
                del self.subs[name]

    def drop(self, conn: SimConnection) -> None:
        for name in list(self.subs):
            self.unsubscribe(conn, name)

    def _send_topic(self, name: str, text: str, kind: str) -> None:
        topic = self.topics.get(name)
        if topic is not None and topic.kind == "orderbook":
            self._state(topic.symbol, topic.depth).pushed_ms = self.now_ms()
        for conn in list(self.subs.get(name, ())):
            conn.push(text, kind)

    def repush_bbo(self, every_ms: int) -> None:
        """Depth 1 is re-pushed as the same snapshot (same ``u``) when unchanged for a while."""
        self.flush()
        now = self.now_ms()
        for name, topic in list(self.topics.items()):
            if topic.kind != "orderbook" or topic.depth != 1 or not self._has(name):
                continue
            st = self._state(topic.symbol, 1)
            if now - st.pushed_ms >= every_ms:
                bids, asks = self._sorted(st)
                self._send_topic(
                    name, self._book_message(topic.symbol, st, "snapshot", bids, asks), "depth"
                )

    def _has(self, name: str) -> bool:
        return bool(self.subs.get(name))

    # -- tickers / klines ------------------------------------------------------------------------
    def _ticker_full(self, symbol: str) -> dict[str, Any]:
        return R.ticker_ws(self.bridge.ticker_view(symbol), self.bridge.instruments[symbol])

    def _ticker_message(self, symbol: str, kind: str, data: dict[str, Any]) -> str:
        msg = {
            "topic": f"tickers.{symbol}",
            "type": kind,
            "data": data,
            "cs": self.bridge.seq[symbol],
            "ts": self.now_ms(),
        }
        return _encode(msg).decode()

    def _kline_now(self, topic: Topic) -> KlineView | None:
        mkt = self.engine.markets[topic.symbol]
        now = self.engine.now()
        return aggregate(mkt.candles, topic.interval, bucket_start(topic.interval, now), now)

    def _kline_message(self, topic: Topic, candles: list[KlineView]) -> str:
        view = self.bridge.instruments[topic.symbol]
        return _encode(R.kline_ws(topic.name, candles, view, self.now_ms())).decode()

    # -- publishing ------------------------------------------------------------------------------
    def flush(self) -> None:
        """Publish everything pending (called once per event-loop turn)."""
        self._scheduled = False
        books, self._dirty_books = self._dirty_books, set()
        for symbol in books:
            watched = any(self._has(f"orderbook.{d}.{symbol}") for d in DEPTHS)
            skip = watched and self.faults.take_skip(symbol)
            for depth in DEPTHS:
                name = f"orderbook.{depth}.{symbol}"
                if self._has(name):
                    self._advance(symbol, depth, send=not skip)
                elif skip and (symbol, depth) in self._depths:
                    self._advance(symbol, depth, send=False)
        trades, self._trades = self._trades, {}
        for symbol, items in trades.items():
            name = f"publicTrade.{symbol}"
            if not self._has(name):
                continue
            view = self.bridge.instruments[symbol]
            for i in range(0, len(items), _MAX_TRADES_PER_MESSAGE):
                chunk = items[i : i + _MAX_TRADES_PER_MESSAGE]
                msg = R.trade_ws(name, chunk, view, self.now_ms())
                self._send_topic(name, _encode(msg).decode(), "public")
        liqs, self._liqs = self._liqs, {}
        for symbol, lst in liqs.items():
            name = f"allLiquidation.{symbol}"
            if self._has(name):
                msg = R.liquidation_ws(name, lst, self.bridge.instruments[symbol], self.now_ms())
                self._send_topic(name, _encode(msg).decode(), "public")
        tickers, self._dirty_tickers = self._dirty_tickers, set()
        for symbol in tickers:
            if not self._has(f"tickers.{symbol}"):
                self._tickers.pop(symbol, None)
                continue
            full = self._ticker_full(symbol)
            prev = self._tickers.get(symbol)
            self._tickers[symbol] = full
            if prev is None:
                continue
            delta = R.ticker_delta(prev, full)
            if len(delta) > 1:
                self._send_topic(
                    f"tickers.{symbol}", self._ticker_message(symbol, "delta", delta), "public"
                )
        klines, self._dirty_klines = self._dirty_klines, set()
        if klines:
            for name, topic in list(self.topics.items()):
                if topic.kind != "kline" or topic.symbol not in klines or not self._has(name):
                    continue
                current = self._kline_now(topic)
                last = self._klines.get(name)
                out: list[KlineView] = []
                if last is not None and current is not None and last.start_ms != current.start_ms:
                    mkt = self.engine.markets[topic.symbol]
                    closed = aggregate(
                        mkt.candles, topic.interval, last.start_ms, self.engine.now()
                    )
                    if closed is not None:
                        out.append(closed)
                if current is not None:
                    out.append(current)
                    self._klines[name] = current
                for k in out:
                    self._send_topic(name, self._kline_message(topic, [k]), "public")
