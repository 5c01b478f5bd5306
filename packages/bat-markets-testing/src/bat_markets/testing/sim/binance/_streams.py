"""Binance market streams: subscriptions, control messages and payload rendering.

Paths: ``/public/ws[/<s1>/<s2>]``, ``/public/stream?streams=``, ``/market/ws[...]``,
``/market/stream?streams=`` and the legacy ``/ws/<s>[/<s2>]``, ``/stream?streams=``. The split
paths only deliver their own stream family (public: ``@depth*``, ``@bookTicker``,
``!bookTicker``, ``@trade``; market: everything else); a stream subscribed on the wrong path is
acknowledged but stays silent. Depth diffs are sent for every engine ``BookDiff`` whatever the
nominal speed (``@depth``, ``@depth@100ms``, ``@depth@500ms``, ``@depth@0ms``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._events import AggTrade, BookDiff, EngineEvent, LiquidationPrint, MarkUpdate, PublicTrade
from .._instruments import Instrument, fmt_fixed
from .._server import SimConnection
from ._klines import INTERVALS, aggregate, bucket_start, stats_24h

if TYPE_CHECKING:
    from ._sim import BinanceSim

__all__ = ["StreamHub", "stream_area"]

_DEPTH_RE = re.compile(r"^([a-z0-9]+)@depth(?:@(?:0|100|250|500)ms)?$")
_PARTIAL_RE = re.compile(r"^([a-z0-9]+)@depth(5|10|20)(?:@(?:100|250|500)ms)?$")
_KLINE_RE = re.compile(r"^([a-z0-9]+)@kline_(\w+)$")
_SIMPLE_RE = re.compile(
    r"^([a-z0-9]+)@(bookTicker|aggTrade|trade|markPrice|markPrice@1s|ticker|miniTicker|forceOrder)$"
)
_GLOBAL = {
    "!bookTicker",
    "!markPrice@arr",
    "!markPrice@arr@1s",
    "!ticker@arr",
    "!miniTicker@arr",
    "!forceOrder@arr",
}


def stream_area(name: str) -> str | None:
    """``public`` / ``market`` for a valid stream name, None when the name is unknown."""
    if _DEPTH_RE.match(name) or _PARTIAL_RE.match(name):
        return "public"
    if name == "!bookTicker":
        return "public"
    if name in _GLOBAL:
        return "market"
    m = _SIMPLE_RE.match(name)
    if m:
        return "public" if m.group(2) in ("bookTicker", "trade") else "market"
    m = _KLINE_RE.match(name)
    if m and m.group(2) in INTERVALS:
        return "market"
    return None


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


class StreamHub:
    """Fan-out of engine events to subscribed market-stream connections."""

    def __init__(self, sim: BinanceSim) -> None:
        self.sim = sim
        self.engine = sim.engine
        self.subs: dict[str, set[SimConnection]] = defaultdict(set)
        self._tops: dict[str, tuple[int, int, int, int]] = {}
        self._kline_open: dict[tuple[str, str], int] = {}
        self._last_symbol = sorted(self.engine.instruments)[-1]

    # -- subscriptions -------------------------------------------------------------------------
    def subscribe(self, conn: SimConnection, names: Iterable[str]) -> None:
        streams: list[str] = conn.state.setdefault("streams", [])
        for name in names:
            if name not in streams:
                streams.append(name)
            area = stream_area(name)
            allowed = conn.state.get("area", "legacy")
            if area is not None and allowed in ("legacy", area):
                self.subs[name].add(conn)

    def unsubscribe(self, conn: SimConnection, names: Iterable[str]) -> None:
        streams: list[str] = conn.state.setdefault("streams", [])
        for name in names:
            if name in streams:
                streams.remove(name)
            self.subs.get(name, set()).discard(conn)

    def forget(self, conn: SimConnection) -> None:
        for name in conn.state.get("streams", []):
            self.subs.get(name, set()).discard(conn)

    def _send(self, name: str, payload: str, kind: str = "public") -> None:
        conns = self.subs.get(name)
        if not conns:
            return
        wrapped: str | None = None
        for conn in list(conns):
            if conn.state.get("combined"):
                if wrapped is None:
                    wrapped = f'{{"stream":"{name}","data":{payload}}}'
                conn.push(wrapped, kind)
            else:
                conn.push(payload, kind)

    def _wanted(self, *names: str) -> bool:
        return any(self.subs.get(n) for n in names)

    # -- control messages ----------------------------------------------------------------------
    async def on_text(self, conn: SimConnection, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            conn.push(
                _dumps({"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}),
                "control",
            )
            return
        if not isinstance(msg, dict):
            conn.push(_dumps({"code": 3, "msg": "Invalid JSON: expected an object"}), "control")
            return
        req_id = msg.get("id")
        method = msg.get("method")
        if "method" not in msg:
            conn.push(
                _dumps({"code": 2, "msg": "Invalid request: missing field `method`", "id": req_id}),
                "control",
            )
            return
        if req_id is not None and (
            not isinstance(req_id, int) or isinstance(req_id, bool) or req_id < 0
        ):
            conn.push(
                _dumps(
                    {
                        "code": 2,
                        "msg": "Invalid request: request ID must be an unsigned integer",
                        "id": None,
                    }
                ),
                "control",
            )
            return
        params = msg.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                conn.push(
                    _dumps({"code": 2, "msg": "Invalid request: invalid params", "id": req_id}),
                    "control",
                )
                return
            if len(conn.state.get("streams", [])) + len(params) > 1024 and method == "SUBSCRIBE":
                conn.push(
                    _dumps(
                        {"code": 2, "msg": "Invalid request: too many parameters", "id": req_id}
                    ),
                    "control",
                )
                return
            if method == "SUBSCRIBE":
                self.subscribe(conn, params)
            else:
                self.unsubscribe(conn, params)
            conn.push(_dumps({"result": None, "id": req_id}), "control")
        elif method == "LIST_SUBSCRIPTIONS":
            conn.push(
                _dumps({"result": list(conn.state.get("streams", [])), "id": req_id}), "control"
            )
        elif method == "SET_PROPERTY":
            if isinstance(params, list) and len(params) == 2 and params[0] == "combined":
                if not isinstance(params[1], bool):
                    conn.push(
                        _dumps(
                            {"code": 1, "msg": "Invalid value type: expected Boolean", "id": req_id}
                        ),
                        "control",
                    )
                    return
                conn.state["combined"] = params[1]
                conn.push(_dumps({"result": None, "id": req_id}), "control")
            else:
                conn.push(_dumps({"code": 0, "msg": "Unknown property", "id": req_id}), "control")
        elif method == "GET_PROPERTY":
            if isinstance(params, list) and params == ["combined"]:
                conn.push(
                    _dumps({"result": bool(conn.state.get("combined")), "id": req_id}), "control"
                )
            else:
                conn.push(_dumps({"code": 0, "msg": "Unknown property", "id": req_id}), "control")
        else:
            conn.push(
                _dumps(
                    {
                        "code": 2,
                        "msg": f"Invalid request: unknown variant `{method}`, expected one of `SUBSCRIBE`, "
                        "`UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`",
                        "id": req_id,
                    }
                ),
                "control",
            )

    # -- engine events -------------------------------------------------------------------------
    def on_event(self, ev: EngineEvent) -> None:
        if isinstance(ev, BookDiff):
            self._book(ev)
        elif isinstance(ev, AggTrade):
            self._agg(ev)
        elif isinstance(ev, PublicTrade):
            self._trade(ev)
        elif isinstance(ev, MarkUpdate):
            self._mark(ev)
        elif isinstance(ev, LiquidationPrint):
            self._liquidation(ev)

    def _now(self) -> int:
        return self.sim.server_time_ms()

    def _book(self, ev: BookDiff) -> None:
        sym = ev.symbol
        low = sym.lower()
        inst = self.engine.instruments[sym]
        names = (
            f"{low}@depth",
            f"{low}@depth@100ms",
            f"{low}@depth@500ms",
            f"{low}@depth@0ms",
            f"{low}@depth@250ms",
        )
        if self._wanted(*names) and not self.sim.faults.take_skip(sym):
            payload = _dumps(
                {
                    "e": "depthUpdate",
                    "E": self._now(),
                    "T": ev.ts,
                    "s": sym,
                    "U": ev.first_id,
                    "u": ev.last_id,
                    "pu": ev.prev_last_id,
                    "b": [[inst.fmt_price(p), inst.fmt_qty(q)] for p, q in ev.bids],
                    "a": [[inst.fmt_price(p), inst.fmt_qty(q)] for p, q in ev.asks],
                }
            )
            for name in names:
                self._send(name, payload, "depth")
        for n in (5, 10, 20):
            pnames = [
                f"{low}@depth{n}",
                f"{low}@depth{n}@100ms",
                f"{low}@depth{n}@500ms",
                f"{low}@depth{n}@250ms",
            ]
            if not self._wanted(*pnames):
                continue
            bids, asks = self.engine.books[sym].depth(n)
            payload = _dumps(
                {
                    "e": "depthUpdate",
                    "E": self._now(),
                    "T": ev.ts,
                    "s": sym,
                    "U": ev.first_id,
                    "u": ev.last_id,
                    "pu": ev.prev_last_id,
                    "b": [
                        [inst.fmt_price(inst.price_of(t)), inst.fmt_qty(inst.qty_of(s))]
                        for t, s in bids
                    ],
                    "a": [
                        [inst.fmt_price(inst.price_of(t)), inst.fmt_qty(inst.qty_of(s))]
                        for t, s in asks
                    ],
                }
            )
            for name in pnames:
                self._send(name, payload)
        self._book_ticker(sym, inst, ev)

    def _book_ticker(self, sym: str, inst: Instrument, ev: BookDiff) -> None:
        name = f"{sym.lower()}@bookTicker"
        if not self._wanted(name, "!bookTicker"):
            return
        book = self.engine.books[sym]
        bb, ba = book.best_bid(), book.best_ask()
        if bb is None or ba is None:
            return
        top = (bb, book.bids[bb].total, ba, book.asks[ba].total)
        if self._tops.get(sym) == top:
            return
        self._tops[sym] = top
        payload = _dumps(
            {
                "e": "bookTicker",
                "u": ev.last_id,
                "E": self._now(),
                "T": ev.ts,
                "s": sym,
                "b": inst.fmt_price(inst.price_of(top[0])),
                "B": inst.fmt_qty(inst.qty_of(top[1])),
                "a": inst.fmt_price(inst.price_of(top[2])),
                "A": inst.fmt_qty(inst.qty_of(top[3])),
            }
        )
        self._send(name, payload)
        self._send("!bookTicker", payload)

    def _trade(self, ev: PublicTrade) -> None:
        name = f"{ev.symbol.lower()}@trade"
        if not self._wanted(name):
            return
        inst = self.engine.instruments[ev.symbol]
        self._send(
            name,
            _dumps(
                {
                    "e": "trade",
                    "E": self._now(),
                    "T": ev.ts,
                    "s": ev.symbol,
                    "t": ev.trade_id,
                    "p": inst.fmt_price(ev.price),
                    "q": inst.fmt_qty(ev.qty),
                    "X": "LIQUIDATION" if ev.liquidation else "MARKET",
                    "m": ev.buyer_is_maker,
                }
            ),
        )

    def _agg(self, ev: AggTrade) -> None:
        low = ev.symbol.lower()
        inst = self.engine.instruments[ev.symbol]
        name = f"{low}@aggTrade"
        if self._wanted(name):
            self._send(
                name,
                _dumps(
                    {
                        "e": "aggTrade",
                        "E": self._now(),
                        "s": ev.symbol,
                        "a": ev.agg_id,
                        "p": inst.fmt_price(ev.price),
                        "q": inst.fmt_qty(ev.qty),
                        "nq": inst.fmt_qty(ev.qty),
                        "f": ev.first_trade_id,
                        "l": ev.last_trade_id,
                        "T": ev.ts,
                        "m": ev.buyer_is_maker,
                    }
                ),
            )
        for interval in INTERVALS:
            kname = f"{low}@kline_{interval}"
            if self._wanted(kname):
                self._kline(ev.symbol, interval, kname, ev.ts)

    def _kline(self, symbol: str, interval: str, name: str, ts: int) -> None:
        mkt = self.engine.markets[symbol]
        inst = self.engine.instruments[symbol]
        start = bucket_start(interval, ts)
        prev = self._kline_open.get((symbol, interval))
        self._kline_open[(symbol, interval)] = start
        opens = [start] if prev is None or prev == start else [prev, start]
        for open_ms in opens:
            rows = aggregate(
                mkt.candles, interval, start_ms=open_ms, end_ms=open_ms, limit=1, now_ms=ts
            )
            if not rows:
                continue
            o, c_ms, c = rows[0]
            self._send(
                name,
                _dumps(
                    {
                        "e": "kline",
                        "E": self._now(),
                        "s": symbol,
                        "k": {
                            "t": o,
                            "T": c_ms,
                            "s": symbol,
                            "i": interval,
                            "f": c.first_trade_id,
                            "L": c.last_trade_id,
                            "o": inst.fmt_price(c.open),
                            "c": inst.fmt_price(c.close),
                            "h": inst.fmt_price(c.high),
                            "l": inst.fmt_price(c.low),
                            "v": inst.fmt_qty(c.volume),
                            "n": c.trades,
                            "x": open_ms != start,
                            "q": fmt_fixed(c.quote_volume, 5),
                            "V": inst.fmt_qty(c.taker_buy_volume),
                            "Q": fmt_fixed(c.taker_buy_quote, 5),
                            "B": "0",
                        },
                    }
                ),
            )

    def mark_payload(self, symbol: str, ts: int) -> dict[str, Any]:
        mkt = self.engine.markets[symbol]
        return {
            "e": "markPriceUpdate",
            "E": ts,
            "s": symbol,
            "p": fmt_fixed(mkt.mark_price, 8),
            "ap": fmt_fixed(mkt.mark_price, 8),
            "i": fmt_fixed(mkt.index_price, 8),
            "P": fmt_fixed(mkt.index_price, 8),
            "r": fmt_fixed(mkt.funding_rate, 8),
            "T": mkt.next_funding_ms,
        }

    def ticker_payload(self, symbol: str, ts: int, mini: bool) -> dict[str, Any]:
        inst = self.engine.instruments[symbol]
        st = stats_24h(self.engine.markets[symbol], ts)
        if mini:
            return {
                "e": "24hrMiniTicker",
                "E": ts,
                "s": symbol,
                "c": inst.fmt_price(st.last),
                "o": inst.fmt_price(st.open),
                "h": inst.fmt_price(st.high),
                "l": inst.fmt_price(st.low),
                "v": inst.fmt_qty(st.volume),
                "q": fmt_fixed(st.quote_volume, 2),
            }
        return {
            "e": "24hrTicker",
            "E": ts,
            "s": symbol,
            "p": inst.fmt_price(st.change),
            "P": fmt_fixed(st.change_pct, 3),
            "w": inst.fmt_price(st.weighted_avg),
            "c": inst.fmt_price(st.last),
            "Q": inst.fmt_qty(st.last_qty),
            "o": inst.fmt_price(st.open),
            "h": inst.fmt_price(st.high),
            "l": inst.fmt_price(st.low),
            "v": inst.fmt_qty(st.volume),
            "q": fmt_fixed(st.quote_volume, 2),
            "O": st.open_ms,
            "C": st.close_ms,
            "F": st.first_id,
            "L": st.last_id,
            "n": st.count,
        }

    def _mark(self, ev: MarkUpdate) -> None:
        low = ev.symbol.lower()
        now = self._now()
        names = (f"{low}@markPrice", f"{low}@markPrice@1s")
        if self._wanted(*names):
            payload = _dumps(self.mark_payload(ev.symbol, now))
            for name in names:
                self._send(name, payload)
        for mini in (False, True):
            name = f"{low}@{'miniTicker' if mini else 'ticker'}"
            if self._wanted(name):
                self._send(name, _dumps(self.ticker_payload(ev.symbol, now, mini)))
        if ev.symbol != self._last_symbol:
            return
        # array streams: once per market step (after the last symbol's mark update)
        if self._wanted("!markPrice@arr", "!markPrice@arr@1s"):
            payload = _dumps([self.mark_payload(s, now) for s in self.engine.instruments])
            self._send("!markPrice@arr", payload)
            self._send("!markPrice@arr@1s", payload)
        for mini in (False, True):
            name = "!miniTicker@arr" if mini else "!ticker@arr"
            if self._wanted(name):
                self._send(
                    name,
                    _dumps([self.ticker_payload(s, now, mini) for s in self.engine.instruments]),
                )

    def _liquidation(self, ev: LiquidationPrint) -> None:
        name = f"{ev.symbol.lower()}@forceOrder"
        if not self._wanted(name, "!forceOrder@arr"):
            return
        inst = self.engine.instruments[ev.symbol]
        payload = _dumps(
            {
                "e": "forceOrder",
                "E": self._now(),
                "o": {
                    "s": ev.symbol,
                    "S": ev.side.value,
                    "o": "LIMIT",
                    "f": "IOC",
                    "q": inst.fmt_qty(ev.qty),
                    "p": inst.fmt_price(ev.price),
                    "ap": inst.fmt_price(ev.avg_price),
                    "X": "FILLED",
                    "l": inst.fmt_qty(ev.qty),
                    "z": inst.fmt_qty(ev.qty),
                    "T": ev.ts,
                },
            }
        )
        self._send(name, payload)
        self._send("!forceOrder@arr", payload)
