"""Deterministic market-data generator: simulated market makers and takers.

``MarketGenerator(engine, seed=7, depth_levels=1000, history_minutes=1500)`` fills each book
with ``depth_levels`` levels per side around the instrument's start price, synthesises
``history_minutes`` of 1-minute candles, mark candles and funding history, then on every
``step()``:

1. moves the mid price by a random number of ticks (market makers pull stale quotes; a quote
   that would cross a resting account order trades against it — that is how account orders
   get filled when the price moves through them);
2. resizes a few levels near the top;
3. sends a random anonymous taker order (prints trades, fills account orders in FIFO order);
4. occasionally prints a liquidation (forced taker order);
5. updates mark / index price and funding rate, settles funding when it is due, expires GTD.

All randomness comes from one ``random.Random(seed)`` and uses integers only, so the same seed
and the same sequence of calls give the same prices, sizes and ids. ``run(interval)`` is the
async ticker used by the demo (``auto_tick``).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from decimal import Decimal

import anyio

from ._engine import Engine
from ._model import Side
from ._tape import MINUTE_MS, Candle, FundingRecord

__all__ = ["MarketGenerator"]

log = logging.getLogger("bat_markets.testing.sim")

_HOUR_MS = 3_600_000
_RATE_UNIT = Decimal("0.00000100")
_RATE_CAP = Decimal("0.00300000")
_EIGHT = Decimal("0.00000001")


@dataclass
class _SymState:
    bid: int  # market makers' best bid (ticks); best ask = bid + spread
    spread: int = 1


def _outside(a: tuple[int, int], b: tuple[int, int]) -> list[int]:
    """Ticks of the inclusive range ``a`` that are not in the inclusive range ``b``."""
    lo, hi = a
    out = list(range(lo, min(hi, b[0] - 1) + 1))
    out.extend(range(max(lo, b[1] + 1, min(hi, b[0] - 1) + 1), hi + 1))
    return out


class MarketGenerator:
    """Moves every book of ``engine`` deterministically; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        seed: int = 7,
        *,
        depth_levels: int = 1000,
        history_minutes: int = 1500,
        liquidation_one_in: int = 40,
        warmup_steps: int = 5,
    ) -> None:
        self.engine = engine
        self.seed = seed
        self.rng = random.Random(seed)
        self.depth_levels = depth_levels
        self.liquidation_one_in = liquidation_one_in
        self.steps_done = 0
        self._state: dict[str, _SymState] = {}
        now = engine.now()
        for symbol, inst in engine.instruments.items():
            t = inst.ticks(inst.initial_price)
            assert t is not None, "initial price must be on tick"
            self._state[symbol] = _SymState(bid=t)
            self._history(symbol, now, history_minutes)
        with engine.batch():
            for symbol in engine.instruments:
                self._fill_book(symbol)
                self._marks(symbol)
        for _ in range(warmup_steps):
            self.step()

    # -- set-up ---------------------------------------------------------------------------------
    def _qty(self, symbol: str) -> int:
        top = self.engine.instruments[symbol].level_qty_max_steps
        # mostly small levels, some large: min of two draws skews towards small
        return max(1, min(self.rng.randint(1, top), self.rng.randint(1, top)))

    def _fill_book(self, symbol: str) -> None:
        st = self._state[symbol]
        eng = self.engine
        for i in range(self.depth_levels):
            eng.mm_set_level(symbol, Side.BUY, st.bid - i, self._qty(symbol))
            eng.mm_set_level(symbol, Side.SELL, st.bid + st.spread + i, self._qty(symbol))

    def _history(self, symbol: str, now: int, minutes: int) -> None:
        inst = self.engine.instruments[symbol]
        mkt = self.engine.markets[symbol]
        rng = self.rng
        tick = inst.tick_size
        start_ticks = inst.ticks(inst.initial_price)
        assert start_ticks is not None
        this_minute = now - now % MINUTE_MS
        closes: list[int] = [start_ticks]
        for _ in range(minutes):
            closes.append(max(closes[-1] - rng.randint(-80, 80), 1))
        # closes[k] is the close of the candle k minutes before the current one
        for k in range(minutes, 0, -1):
            close_t = closes[k - 1]
            open_t = closes[k]
            hi = max(open_t, close_t) + rng.randint(0, 40)
            lo = max(min(open_t, close_t) - rng.randint(0, 40), 1)
            n = rng.randint(50, 400)
            vol_steps = rng.randint(n, n * 300)
            buy_steps = rng.randint(0, vol_steps)
            mid = (hi + lo) // 2
            open_ms = this_minute - k * MINUTE_MS
            c = Candle(
                open_ms,
                inst.price_of(open_t),
                inst.price_of(hi),
                inst.price_of(lo),
                inst.price_of(close_t),
                inst.qty_of(vol_steps),
                inst.qty_of(vol_steps) * inst.price_of(mid),
                n,
                inst.qty_of(buy_steps),
                inst.qty_of(buy_steps) * inst.price_of(mid),
            )
            mkt.candles[open_ms] = c
            premium = tick * rng.randint(-30, 30) / 100
            mkt.mark_candles[open_ms] = Candle(
                open_ms,
                c.open + premium,
                c.high + premium,
                c.low + premium,
                c.close + premium,
                trades=60,
            )
            mkt.index_candles[open_ms] = Candle(open_ms, c.open, c.high, c.low, c.close, trades=60)
        # trade ids: contiguous, ending just before the live tape starts
        total = sum(c.trades for c in mkt.candles.values())
        next_id = mkt.next_trade_id - total
        for open_ms in sorted(mkt.candles):
            c = mkt.candles[open_ms]
            c.first_trade_id = next_id
            c.last_trade_id = next_id + c.trades - 1
            next_id += c.trades
        # funding history: every interval, most recent last
        interval = inst.funding_interval_hours * _HOUR_MS
        last_settle = now - now % interval
        mkt.next_funding_ms = last_settle + interval
        for k in range(30, 0, -1):
            rate = _RATE_UNIT * rng.randint(-50, 150)
            mark = inst.price_of(closes[min(k * 60 * inst.funding_interval_hours, minutes)])
            mkt.funding_history.append(
                FundingRecord(symbol, rate, last_settle - (k - 1) * interval, mark)
            )

    # -- stepping -------------------------------------------------------------------------------
    def step(self, n: int = 1) -> None:
        """Advance the market ``n`` steps (each step is one batch of diffs per symbol)."""
        for _ in range(n):
            self.steps_done += 1
            eng = self.engine
            with eng.batch():
                for symbol in eng.instruments:
                    self._step_symbol(symbol)
                eng.expire_due()

    def _step_symbol(self, symbol: str) -> None:
        eng = self.engine
        inst = eng.instruments[symbol]
        st = self._state[symbol]
        rng = self.rng
        move = rng.randint(-inst.max_move_ticks, inst.max_move_ticks)
        old_bid, old_ask = st.bid, st.bid + st.spread
        new_bid = max(old_bid + move, self.depth_levels + 1)
        spread = 1 if rng.randint(0, 3) else 2
        new_ask = new_bid + spread
        depth = self.depth_levels
        book = eng.books[symbol]
        old_b = (old_bid - depth + 1, old_bid)
        new_b = (new_bid - depth + 1, new_bid)
        old_a = (old_ask, old_ask + depth - 1)
        new_a = (new_ask, new_ask + depth - 1)
        # 1. pull quotes that left the quoted ranges
        for t in _outside(old_b, new_b):
            eng.mm_set_level(symbol, Side.BUY, t, 0)
        for t in _outside(old_a, new_a):
            eng.mm_set_level(symbol, Side.SELL, t, 0)
        # 2. quote what entered them (a quote crossing a resting account order trades first)
        for t in sorted(_outside(new_b, old_b), reverse=True):
            eng.mm_set_level(symbol, Side.BUY, t, self._qty(symbol))
        for t in _outside(new_a, old_a):
            eng.mm_set_level(symbol, Side.SELL, t, self._qty(symbol))
        st.bid, st.spread = new_bid, spread
        # 3. resize a few levels near the top
        for _ in range(rng.randint(1, 6)):
            side = Side.BUY if rng.randint(0, 1) else Side.SELL
            off = rng.randint(0, 19)
            t = new_bid - off if side is Side.BUY else new_ask + off
            eng.mm_set_level(symbol, side, t, self._qty(symbol))
        # 4. random taker flow and the odd liquidation, then refill the top
        if rng.randint(0, 1):
            side = Side.BUY if rng.randint(0, 1) else Side.SELL
            eng.taker(symbol, side, rng.randint(1, inst.trade_qty_max_steps))
        if self.liquidation_one_in and rng.randint(1, self.liquidation_one_in) == 1:
            side = Side.BUY if rng.randint(0, 1) else Side.SELL
            eng.print_liquidation(symbol, side, rng.randint(1, inst.trade_qty_max_steps))
        for off in range(3):
            lvl = book.bids.get(new_bid - off)
            if lvl is None or not lvl.mm_steps():
                eng.mm_set_level(symbol, Side.BUY, new_bid - off, self._qty(symbol))
            lvl = book.asks.get(new_ask + off)
            if lvl is None or not lvl.mm_steps():
                eng.mm_set_level(symbol, Side.SELL, new_ask + off, self._qty(symbol))
        # 5. mark / index / funding / open interest
        self._marks(symbol)
        mkt = eng.markets[symbol]
        mkt.open_interest = max(
            mkt.open_interest + inst.qty_of(rng.randint(-2000, 2000)), inst.base_open_interest / 2
        )
        if eng.now() >= mkt.next_funding_ms:
            eng.settle_funding(symbol)
            mkt.next_funding_ms += inst.funding_interval_hours * _HOUR_MS
            if mkt.next_funding_ms <= eng.now():  # manual clocks may jump far
                interval = inst.funding_interval_hours * _HOUR_MS
                mkt.next_funding_ms = eng.now() - eng.now() % interval + interval

    def _marks(self, symbol: str) -> None:
        eng = self.engine
        inst = eng.instruments[symbol]
        st = self._state[symbol]
        rng = self.rng
        mid2 = st.bid * 2 + st.spread  # twice the mid, in ticks
        mid = inst.tick_size * mid2 / 2
        mark = (mid + inst.tick_size * rng.randint(-50, 50) / 100).quantize(_EIGHT)
        index = (mark + inst.tick_size * rng.randint(-40, 40) / 100).quantize(_EIGHT)
        mkt = eng.markets[symbol]
        rate = mkt.funding_rate + _RATE_UNIT * rng.randint(-2, 2)
        rate = min(max(rate, -_RATE_CAP), _RATE_CAP)
        eng.set_prices(symbol, mark=mark, index=index, funding_rate=rate)

    async def run(self, interval: float) -> None:
        """Step forever every ``interval`` seconds (cancel the task to stop)."""
        while True:
            await anyio.sleep(interval)
            try:
                self.step()
            except Exception:  # keep ticking: one bad step must not freeze the demo
                log.exception("market generator step failed")
