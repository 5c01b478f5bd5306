"""Engine objects -> Bybit views (names, statuses, position indexes, money fields).

The engine speaks a venue-neutral (Binance-flavoured) vocabulary; this module is the only place
that knows how each engine state reads on Bybit v5 linear.
"""

from __future__ import annotations

from decimal import Decimal

from .._engine import Engine
from .._instruments import Instrument
from .._model import (
    ZERO,
    Conditional,
    CondStatus,
    Fill,
    MarginType,
    Order,
    OrderKind,
    OrderStatus,
    Position,
    PositionSide,
    Side,
    TimeInForce,
    TriggerBy,
    TriggerDirection,
)
from .._tape import MINUTE_MS
from ._ids import IdMap
from ._views import (
    CoinView,
    ExecutionView,
    InstrumentView,
    OrderView,
    PositionView,
    TickerView,
    WalletView,
)

__all__ = [
    "MAINT_RATE",
    "SIDE",
    "SIDE_OF",
    "TIF",
    "TIF_OF",
    "IDX",
    "IDX_OF",
    "TRIGGER_BY",
    "TRIGGER_BY_OF",
    "Bridge",
    "instrument_view",
]

#: maintenance-margin rate shown on positions (the engine's own rate for liquidation maths)
MAINT_RATE = Decimal("0.004")

SIDE = {Side.BUY: "Buy", Side.SELL: "Sell"}
SIDE_OF = {v: k for k, v in SIDE.items()}
TIF = {
    TimeInForce.GTC: "GTC",
    TimeInForce.IOC: "IOC",
    TimeInForce.FOK: "FOK",
    TimeInForce.GTX: "PostOnly",
    TimeInForce.GTD: "GTC",
}
TIF_OF = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "PostOnly": TimeInForce.GTX,
}
IDX = {PositionSide.BOTH: 0, PositionSide.LONG: 1, PositionSide.SHORT: 2}
IDX_OF = {v: k for k, v in IDX.items()}
TRIGGER_BY = {
    TriggerBy.LAST: "LastPrice",
    TriggerBy.MARK: "MarkPrice",
    TriggerBy.INDEX: "IndexPrice",
}
TRIGGER_BY_OF = {v: k for k, v in TRIGGER_BY.items()}
_KIND = {OrderKind.LIMIT: "Limit", OrderKind.MARKET: "Market"}
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000


def instrument_view(inst: Instrument, symbol_id: int = 0) -> InstrumentView:
    """How ``instruments-info`` lists one engine instrument."""
    return InstrumentView(
        symbol=inst.symbol,
        base=inst.base,
        quote=inst.quote,
        settle=inst.settle,
        tick_size=inst.tick_size,
        qty_step=inst.step_size,
        min_qty=inst.min_qty,
        max_qty=inst.max_qty,
        max_mkt_qty=inst.max_market_qty,
        min_notional=inst.min_notional,
        min_price=inst.min_price,
        max_price=inst.max_price,
        max_leverage=Decimal(inst.max_leverage),
        funding_interval_min=inst.funding_interval_hours * 60,
        launch_ms=inst.onboard_ms,
        symbol_id=symbol_id,
        price_scale=inst.price_decimals,
        qty_scale=inst.qty_decimals,
    )


def _status(order: Order) -> tuple[str, str, str]:
    """``(orderStatus, cancelType, rejectReason)`` of an engine order."""
    st = order.status
    if st is OrderStatus.NEW:
        return "New", "UNKNOWN", "EC_NoError"
    if st is OrderStatus.PARTIALLY_FILLED:
        return "PartiallyFilled", "UNKNOWN", "EC_NoError"
    if st is OrderStatus.FILLED:
        return "Filled", "UNKNOWN", "EC_NoError"
    if st is OrderStatus.REJECTED:
        return "Rejected", "UNKNOWN", "EC_NoError"
    if st is OrderStatus.EXPIRED_IN_MATCH:
        return "Cancelled", "CancelBySmp", "EC_NoError"
    reason = order.expire_reason
    if st is OrderStatus.CANCELED:
        if reason == "POST_ONLY":
            return "Cancelled", "CancelByUser", "EC_PostOnlyWillTakeLiquidity"
        return "Cancelled", order.extra.get("bybit_cancel_type", "CancelByUser"), "EC_NoError"
    # EXPIRED: the venue reports every automatic end as Cancelled with a reason
    if reason == "POST_ONLY":
        return "Cancelled", "UNKNOWN", "EC_PostOnlyWillTakeLiquidity"
    if reason == "REDUCE_ONLY":
        return "Cancelled", "CancelByReduceOnly", "EC_NoError"
    if reason == "FOK":
        return "Cancelled", "UNKNOWN", "EC_CancelForNoFullFill"
    if reason == "IOC":
        return "Cancelled", "UNKNOWN", "EC_CancelForNoFullFill"
    return "Cancelled", "UNKNOWN", "EC_NoError"


class Bridge:
    """Renders engine state as Bybit views for one simulator."""

    def __init__(self, engine: Engine, ids: IdMap) -> None:
        self.engine = engine
        self.ids = ids
        self.instruments: dict[str, InstrumentView] = {
            sym: instrument_view(inst, n + 1)
            for n, (sym, inst) in enumerate(engine.instruments.items())
        }
        self._pos_created: dict[tuple[str, str, PositionSide], int] = {}
        self.seq: dict[str, int] = {
            sym: 9_000_000_000 * (n + 1) for n, sym in enumerate(engine.instruments)
        }
        self._trade_seq: dict[tuple[str, int], int] = {}
        # Trades printed before the venue layer existed (the generator's warm-up) get their
        # cross sequence now, in tape order, so ``seq`` grows with time like every later trade's.
        for sym in engine.instruments:
            for trade in engine.markets[sym].trades:
                self.trade_seq(sym, trade.trade_id)

    # -- sequences ------------------------------------------------------------------------------
    def next_seq(self, symbol: str) -> int:
        self.seq[symbol] += 1
        return self.seq[symbol]

    def trade_seq(self, symbol: str, trade_id: int) -> int:
        """Cross sequence of one trade (the same number on the tape and on the fill)."""
        key = (symbol, trade_id)
        seq = self._trade_seq.get(key)
        if seq is None:
            seq = self.next_seq(symbol)
            self._trade_seq[key] = seq
            if len(self._trade_seq) > 200_000:  # bounded memory in long runs
                for old in list(self._trade_seq)[:100_000]:
                    del self._trade_seq[old]
        return seq

    # -- orders ---------------------------------------------------------------------------------
    def market_price(self, symbol: str, side: Side) -> Decimal:
        """The protection price a market order is shown with (like the venue's IOC limit)."""
        inst = self.engine.instruments[symbol]
        mkt = self.engine.markets[symbol]
        ref = mkt.last_price
        raw = ref * (Decimal("1.03") if side is Side.BUY else Decimal("0.97"))
        ticks = int(raw / inst.tick_size)
        return min(max(inst.price_of(ticks), inst.min_price), inst.max_price)

    def order_view(self, order: Order) -> OrderView:
        status, cancel_type, reject = _status(order)
        extra = order.extra
        price = order.price
        if order.kind is OrderKind.MARKET:
            price = extra.get("bybit_price", ZERO)
        stop_type = "UNKNOWN"
        trigger_price: Decimal | None = None
        trigger_direction = 0
        trigger_by = "UNKNOWN"
        if order.cond_id:
            stop_type = "Stop"
            trigger_price = order.stop_price
            trigger_by = TRIGGER_BY[order.working_type]
            trigger_direction = int(extra.get("bybit_trigger_direction", 0))
        return OrderView(
            order_id=self.ids.order(order.order_id, order.cond_id),
            link_id=extra.get("bybit_link_id", ""),
            symbol=order.symbol,
            side=SIDE[order.side],
            order_type=_KIND[order.kind],
            price=price,
            qty=order.qty,
            time_in_force=TIF[order.tif] if order.kind is OrderKind.LIMIT else "IOC",
            position_idx=IDX[order.position_side],
            status=status,
            created_ms=int(extra.get("bybit_created_ms", order.created_ms)),
            updated_ms=order.updated_ms,
            cum_qty=order.executed_qty,
            cum_value=order.cum_quote,
            cum_fee=order.commission,
            avg_price=order.avg_price if order.executed_qty else None,
            reduce_only=bool(extra.get("bybit_reduce_only", order.reduce_only)),
            close_on_trigger=bool(extra.get("bybit_close_on_trigger", False)),
            trigger_price=trigger_price,
            trigger_direction=trigger_direction,
            trigger_by=trigger_by,
            stop_order_type=stop_type,
            reject_reason=reject,
            cancel_type=cancel_type,
            create_type="CreateByStopOrder" if order.cond_id else "CreateByUser",
            last_price_on_created=extra.get("bybit_last_price"),
            closed_pnl=order.realized_pnl,
            fee_currency=self.engine.settle_asset,
        )

    def cond_view(self, cond: Conditional) -> OrderView:
        """An untriggered (or cancelled-before-trigger) conditional order."""
        if cond.status in (CondStatus.NEW, CondStatus.TRIGGERING):
            status, cancel_type = "Untriggered", "UNKNOWN"
        elif cond.status is CondStatus.CANCELED:
            status, cancel_type = "Deactivated", "CancelByUser"
        elif cond.status is CondStatus.EXPIRED:
            status, cancel_type = "Deactivated", "UNKNOWN"
        elif cond.status is CondStatus.REJECTED:
            status, cancel_type = "Rejected", "UNKNOWN"
        else:
            status, cancel_type = "Triggered", "UNKNOWN"
        price = cond.price
        if cond.kind is OrderKind.MARKET:
            price = cond.extra.get("bybit_price", ZERO)
        return OrderView(
            order_id=self.ids.cond(cond.cond_id),
            link_id=cond.extra.get("bybit_link_id", ""),
            symbol=cond.symbol,
            side=SIDE[cond.side],
            order_type=_KIND[cond.kind],
            price=price,
            qty=cond.qty,
            time_in_force=TIF[cond.tif] if cond.kind is OrderKind.LIMIT else "IOC",
            position_idx=IDX[cond.position_side],
            status=status,
            created_ms=int(cond.extra.get("bybit_created_ms", cond.created_ms)),
            updated_ms=cond.updated_ms,
            reduce_only=bool(cond.extra.get("bybit_reduce_only", cond.reduce_only)),
            close_on_trigger=bool(cond.extra.get("bybit_close_on_trigger", False)),
            trigger_price=cond.trigger_price,
            trigger_direction=1 if cond.direction is TriggerDirection.RISE else 2,
            trigger_by=TRIGGER_BY[cond.trigger_by],
            stop_order_type="Stop",
            cancel_type=cancel_type,
            last_price_on_created=cond.extra.get("bybit_last_price"),
            fee_currency=self.engine.settle_asset,
        )

    def exec_view(self, fill: Fill, order: Order) -> ExecutionView:
        mkt = self.engine.markets[fill.symbol]
        # a fill that realised PnL (or a reduce-only one) closed position: the engine does not
        # report the split of a flipping fill, so the whole fill counts as closing
        closed = fill.qty if fill.realized_pnl or order.reduce_only else ZERO
        price = order.price
        if order.kind is OrderKind.MARKET:
            price = order.extra.get("bybit_price", ZERO)
        return ExecutionView(
            exec_id=self.ids.execution(fill.trade_id, fill.order_id),
            order_id=self.ids.order(order.order_id, order.cond_id),
            link_id=order.extra.get("bybit_link_id", ""),
            symbol=fill.symbol,
            side=SIDE[fill.side],
            order_type=_KIND[order.kind],
            order_price=price,
            order_qty=order.qty,
            leaves_qty=order.remaining if order.is_open else ZERO,
            exec_price=fill.price,
            exec_qty=fill.qty,
            exec_fee=fill.fee,
            fee_rate=(fill.fee / fill.quote_qty).normalize() if fill.quote_qty else ZERO,
            is_maker=fill.maker,
            exec_time=fill.ts,
            seq=self.trade_seq(fill.symbol, fill.trade_id),
            mark_price=mkt.mark_price,
            closed_size=closed,
            exec_pnl=fill.realized_pnl,
            create_type="CreateByStopOrder" if order.cond_id else "CreateByUser",
            stop_order_type="Stop" if order.cond_id else "UNKNOWN",
            fee_currency=fill.fee_asset,
        )

    # -- positions ------------------------------------------------------------------------------
    def position_view(self, pos: Position) -> PositionView:
        eng = self.engine
        inst = eng.instruments[pos.symbol]
        mkt = eng.markets[pos.symbol]
        cfg = eng.symbol_config(pos.account, pos.symbol)
        mark = mkt.mark_price
        key = (pos.account, pos.symbol, pos.position_side)
        created = self._pos_created.setdefault(key, pos.updated_ms or eng.now())
        size = abs(pos.amount)
        if pos.position_side is PositionSide.LONG:
            side = "Buy"
        elif pos.position_side is PositionSide.SHORT:
            side = "Sell"
        else:
            side = "Buy" if pos.amount > 0 else "Sell"
        lev = Decimal(cfg.leverage)
        notional = size * mark
        liq = bust = None
        if size:
            direction = 1 if pos.amount > 0 else -1
            bust_raw = pos.entry_price * (1 - direction / lev)
            liq_raw = pos.entry_price * (1 - direction * (1 / lev - MAINT_RATE))
            bust = max(inst.tick_size, bust_raw.quantize(inst.tick_size))
            liq = max(inst.tick_size, liq_raw.quantize(inst.tick_size))
        return PositionView(
            symbol=pos.symbol,
            position_idx=IDX[pos.position_side],
            side=side,
            size=size,
            entry_price=pos.entry_price,
            mark_price=mark,
            leverage=lev,
            created_ms=created,
            updated_ms=pos.updated_ms or created,
            seq=self.seq[pos.symbol],
            unrealised_pnl=pos.unrealized(mark),
            cur_realised_pnl=pos.realized_pnl,
            cum_realised_pnl=pos.realized_pnl,
            liq_price=liq,
            bust_price=bust,
            position_im=(notional / lev).quantize(Decimal("0.00000001")) if size else ZERO,
            position_mm=(notional * MAINT_RATE).quantize(Decimal("0.00000001")) if size else ZERO,
            trade_mode=1 if cfg.margin_type is MarginType.ISOLATED else 0,
            adl_rank=2 if size else 0,
        )

    def position_rows(
        self, api_key: str, symbol: str | None, include_flat: bool
    ) -> list[PositionView]:
        return [self.position_view(p) for p in self.engine.positions(api_key, symbol, include_flat)]

    # -- wallet ---------------------------------------------------------------------------------
    def wallet_view(self, api_key: str) -> WalletView:
        eng = self.engine
        acct = eng.account(api_key)
        summary = eng.summary(api_key)
        realised = sum((f.realized_pnl - f.fee for f in acct.fill_log), ZERO)
        coins = []
        for asset, bal in sorted(acct.balances.items()):
            if asset == eng.settle_asset:
                coins.append(
                    CoinView(
                        coin=asset,
                        wallet_balance=bal.wallet,
                        unrealised_pnl=summary.unrealized,
                        cum_realised_pnl=realised,
                        total_order_im=summary.open_order_initial_margin.quantize(
                            Decimal("0.00000001")
                        ),
                        total_position_im=summary.position_initial_margin.quantize(
                            Decimal("0.00000001")
                        ),
                        total_position_mm=summary.maint_margin.quantize(Decimal("0.00000001")),
                    )
                )
            elif bal.wallet:
                coins.append(CoinView(coin=asset, wallet_balance=bal.wallet))
        return WalletView(tuple(coins))

    # -- market ---------------------------------------------------------------------------------
    def ticker_view(self, symbol: str) -> TickerView:
        eng = self.engine
        inst = eng.instruments[symbol]
        mkt = eng.markets[symbol]
        book = eng.books[symbol]
        now = eng.now()
        minute = now - now % MINUTE_MS
        prev_24h = prev_1h = mkt.last_price
        high = low = mkt.last_price
        volume = turnover = ZERO
        start_24h = minute - _DAY_MS + MINUTE_MS
        c24 = mkt.candles.get(start_24h)
        if c24 is not None:
            prev_24h = c24.open
        c1 = mkt.candles.get(minute - _HOUR_MS + MINUTE_MS)
        if c1 is not None:
            prev_1h = c1.open
        for start, c in mkt.candles.items():
            if start >= start_24h:
                high = max(high, c.high)
                low = min(low, c.low)
                volume += c.volume
                turnover += c.quote_volume
        bid, ask = book.best_bid(), book.best_ask()
        bid_size = inst.qty_of(book.bids[bid].total) if bid is not None else ZERO
        ask_size = inst.qty_of(book.asks[ask].total) if ask is not None else ZERO
        trades = mkt.trades
        direction = "ZeroPlusTick"
        if len(trades) >= 2:
            a, b = trades[-2].price, trades[-1].price
            direction = "PlusTick" if b > a else "MinusTick" if b < a else "ZeroPlusTick"
        return TickerView(
            symbol=symbol,
            last_price=mkt.last_price,
            mark_price=mkt.mark_price.quantize(inst.tick_size),
            index_price=mkt.index_price.quantize(inst.tick_size),
            prev_price_24h=prev_24h,
            high_24h=high,
            low_24h=low,
            prev_price_1h=prev_1h,
            volume_24h=volume,
            turnover_24h=turnover.quantize(Decimal("0.0001")),
            open_interest=eng.open_interest(symbol),
            funding_rate=mkt.funding_rate.normalize(),
            next_funding_ms=mkt.next_funding_ms,
            bid1_price=inst.price_of(bid) if bid is not None else None,
            bid1_size=bid_size,
            ask1_price=inst.price_of(ask) if ask is not None else None,
            ask1_size=ask_size,
            tick_direction=direction,
            funding_interval_hour=inst.funding_interval_hours,
        )
