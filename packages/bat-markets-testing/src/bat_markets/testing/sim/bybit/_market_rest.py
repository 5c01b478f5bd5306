"""Public market REST endpoints (``/v5/market/*``, ``category=linear``)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._tape import MINUTE_MS
from . import _codes as C
from . import _render as R
from ._errors import BybitError
from ._format import plain
from ._klines import INTERVALS, history
from ._params import Params, page_cursor, parse_cursor
from ._views import TradeView

if TYPE_CHECKING:
    from .._engine import Engine
    from ._bridge import Bridge
    from ._public import PublicHub

__all__ = ["MarketRest", "OI_INTERVALS"]

OI_INTERVALS = {
    "5min": 5 * MINUTE_MS,
    "15min": 15 * MINUTE_MS,
    "30min": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
}


class MarketRest:
    """Handlers of the public endpoints; each takes the request parameters, returns ``result``."""

    def __init__(
        self, engine: Engine, bridge: Bridge, hub: PublicHub, now_ms: Callable[[], int]
    ) -> None:
        self.engine = engine
        self.bridge = bridge
        self.hub = hub
        self.now_ms = now_ms

    def _symbol(self, p: Params) -> str:
        symbol = p.req_text("symbol")
        if symbol not in self.engine.instruments:
            raise BybitError(C.PARAM_ERROR, "params error: symbol invalid")
        return symbol

    def time(self, raw: dict[str, Any]) -> dict[str, Any]:
        return R.server_time(self.now_ms())

    def instruments(self, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = p.text("symbol")
        status = p.text("status", "Trading")
        base = p.text("baseCoin")
        rows = [
            R.instrument(v)
            for v in self.bridge.instruments.values()
            if (not symbol or v.symbol == symbol)
            and v.status == status
            and (not base or v.base == base)
        ]
        limit = p.limit(500, 1000)
        offset = parse_cursor(p.text("cursor"))
        page = rows[offset : offset + limit]
        nxt = page_cursor(offset + limit) if offset + limit < len(rows) else ""
        return {"category": "linear", "list": page, "nextPageCursor": nxt}

    def tickers(self, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = p.text("symbol")
        if symbol and symbol not in self.engine.instruments:
            raise BybitError(C.PARAM_ERROR, "params error: symbol invalid")
        rows = [
            R.ticker_rest(self.bridge.ticker_view(sym), view)
            for sym, view in self.bridge.instruments.items()
            if not symbol or sym == symbol
        ]
        return {"category": "linear", "list": rows}

    def orderbook(self, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = self._symbol(p)
        return self.hub.rest_book(symbol, p.limit(25, 1000))

    def _klines(self, raw: dict[str, Any], series: str) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = self._symbol(p)
        interval = p.req_text("interval")
        if interval not in INTERVALS:
            raise BybitError(C.PARAM_ERROR, "params error: interval invalid")
        mkt = self.engine.markets[symbol]
        minutes = {"trade": mkt.candles, "mark": mkt.mark_candles, "index": mkt.index_candles}[
            series
        ]
        rows = history(
            minutes,
            interval,
            self.engine.now(),
            start=p.integer("start"),
            end=p.integer("end"),
            limit=p.limit(200, 1000),
        )
        view = self.bridge.instruments[symbol]
        if series == "trade":
            out = [R.kline_rest_row(k, view) for k in rows]
        else:
            out = [R.mark_kline_rest_row(k, view) for k in rows]
        return {"symbol": symbol, "category": "linear", "list": out}

    def kline(self, raw: dict[str, Any]) -> dict[str, Any]:
        return self._klines(raw, "trade")

    def mark_kline(self, raw: dict[str, Any]) -> dict[str, Any]:
        return self._klines(raw, "mark")

    def index_kline(self, raw: dict[str, Any]) -> dict[str, Any]:
        return self._klines(raw, "index")

    def recent_trades(self, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = self._symbol(p)
        limit = p.limit(500, 1000)
        mkt = self.engine.markets[symbol]
        view = self.bridge.instruments[symbol]
        rows: list[dict[str, Any]] = []
        for t in reversed(mkt.trades):
            if len(rows) >= limit:
                break
            rows.append(
                R.trade_rest(
                    TradeView(
                        self.bridge.ids.trade(symbol, t.trade_id),
                        symbol,
                        "Sell" if t.buyer_is_maker else "Buy",
                        t.price,
                        t.qty,
                        t.ts,
                        self.bridge.trade_seq(symbol, t.trade_id),
                    ),
                    view,
                )
            )
        return {"category": "linear", "list": rows}

    def funding_history(self, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = self._symbol(p)
        start = p.integer("startTime")
        end = p.integer("endTime")
        if start is not None and end is None:
            raise BybitError(
                C.PARAM_ERROR, "params error: endTime is required when startTime is passed"
            )
        limit = p.limit(200, 200)
        rows = []
        for rec in reversed(self.engine.markets[symbol].funding_history):
            if end is not None and rec.time_ms > end:
                continue
            if start is not None and rec.time_ms < start:
                break
            rows.append(
                {
                    "symbol": symbol,
                    "fundingRate": plain(rec.rate),
                    "fundingRateTimestamp": str(rec.time_ms),
                }
            )
            if len(rows) >= limit:
                break
        return {"category": "linear", "list": rows}

    def open_interest(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Open interest per interval; past buckets are synthesised deterministically around
        the current value (the engine keeps no history)."""
        p = Params(raw)
        p.category()
        symbol = self._symbol(p)
        interval = p.req_text("intervalTime")
        span = OI_INTERVALS.get(interval)
        if span is None:
            raise BybitError(C.PARAM_ERROR, "params error: intervalTime invalid")
        limit = p.limit(50, 200)
        offset = parse_cursor(p.text("cursor"))
        now = self.engine.now()
        end = p.integer("endTime", now)
        assert end is not None
        start = p.integer("startTime")
        current = self.engine.open_interest(symbol)
        inst = self.engine.instruments[symbol]
        bucket = end - end % span - offset * span
        rows = []
        for i in range(limit):
            t = bucket - i * span
            if start is not None and t < start:
                break
            if t == now - now % span:
                oi = current
            else:
                wiggle = Decimal((t // span * 7919) % 2001 - 1000) / 1000  # -1..1, deterministic
                oi = (current * (1 + wiggle / 50)).quantize(inst.step_size)
            rows.append(
                {
                    "openInterest": plain(oi),
                    "singleOpenInterest": plain(oi),
                    "timestamp": str(t),
                }
            )
        nxt = page_cursor(offset + limit) if len(rows) == limit else ""
        return {"symbol": symbol, "category": "linear", "list": rows, "nextPageCursor": nxt}

    def risk_limit(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Risk tiers derived from each instrument's max leverage (synthetic schedule)."""
        p = Params(raw)
        p.category()
        symbol = p.text("symbol")
        if symbol and symbol not in self.engine.instruments:
            raise BybitError(C.PARAM_ERROR, "params error: symbol invalid")
        rows: list[dict[str, Any]] = []
        for sym, inst in self.engine.instruments.items():
            if symbol and sym != symbol:
                continue
            lev = Decimal(inst.max_leverage)
            for tier in range(1, 6):
                max_lev = max(Decimal(1), (lev / tier).quantize(Decimal("0.01")))
                mm = (Decimal("0.005") * tier).quantize(Decimal("0.0001"))
                rows.append(
                    {
                        "id": tier,
                        "symbol": sym,
                        "riskLimitValue": str(2_000_000 * tier),
                        "maintenanceMargin": plain(mm),
                        "initialMargin": plain((1 / max_lev).quantize(Decimal("0.0001"))),
                        "isLowestRisk": 1 if tier == 1 else 0,
                        "maxLeverage": format(max_lev, "f"),
                        "mmDeduction": ""
                        if tier == 1
                        else plain(Decimal(2_000_000 * (tier - 1)) * Decimal("0.005")),
                    }
                )
        limit = p.limit(len(rows) or 1, 1000) if p.has("limit") else max(1, len(rows))
        offset = parse_cursor(p.text("cursor"))
        page = rows[offset : offset + limit]
        nxt = page_cursor(offset + limit) if offset + limit < len(rows) else ""
        return {"category": "linear", "list": page, "nextPageCursor": nxt}
