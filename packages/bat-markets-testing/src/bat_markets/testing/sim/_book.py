"""The shared public order book of one symbol, in integer ticks (price) and steps (qty).

Each level is a FIFO queue of entries; an entry is either anonymous market-maker liquidity
(``order is None``) or one account order. Touched levels are collected until ``flush`` turns
them into one ``BookDiff`` with absolute amounts and contiguous update ids.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque

from ._events import BookDiff
from ._instruments import Instrument
from ._model import Order, Side

__all__ = ["Entry", "Level", "Book"]


class Entry:
    """One resting piece of liquidity."""

    __slots__ = ("order", "steps")

    def __init__(self, order: Order | None, steps: int) -> None:
        self.order = order
        self.steps = steps


class Level:
    __slots__ = ("entries", "ticks", "total")

    def __init__(self, ticks: int) -> None:
        self.ticks = ticks
        self.total = 0
        self.entries: deque[Entry] = deque()

    def mm_steps(self) -> int:
        return sum(e.steps for e in self.entries if e.order is None)


class Book:
    """Bids and asks of one symbol. Not thread-safe: the engine owns it."""

    def __init__(self, instrument: Instrument, start_update_id: int = 1_000_000) -> None:
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.bids: dict[int, Level] = {}
        self.asks: dict[int, Level] = {}
        self._bid_ticks: list[int] = []  # ascending
        self._ask_ticks: list[int] = []  # ascending
        self.update_id = start_update_id
        self._changed_bids: set[int] = set()
        self._changed_asks: set[int] = set()

    # -- reading -----------------------------------------------------------------------------
    def best_bid(self) -> int | None:
        return self._bid_ticks[-1] if self._bid_ticks else None

    def best_ask(self) -> int | None:
        return self._ask_ticks[0] if self._ask_ticks else None

    def side_levels(self, side: Side) -> dict[int, Level]:
        return self.bids if side is Side.BUY else self.asks

    def iter_ticks(self, side: Side) -> list[int]:
        """Ticks of ``side`` best-first (a copy, safe to mutate the book while iterating)."""
        return self._bid_ticks[::-1] if side is Side.BUY else list(self._ask_ticks)

    def depth(
        self, limit: int | None = None
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Best-first ``(ticks, steps)`` per side, up to ``limit`` levels."""
        bt = self._bid_ticks[::-1] if limit is None else self._bid_ticks[: -limit - 1 : -1]
        at = self._ask_ticks if limit is None else self._ask_ticks[:limit]
        return (
            [(t, self.bids[t].total) for t in bt],
            [(t, self.asks[t].total) for t in at],
        )

    def level_count(self, side: Side) -> int:
        return len(self._bid_ticks if side is Side.BUY else self._ask_ticks)

    def worst(self, side: Side) -> int | None:
        ticks = self._bid_ticks if side is Side.BUY else self._ask_ticks
        if not ticks:
            return None
        return ticks[0] if side is Side.BUY else ticks[-1]

    # -- mutation ----------------------------------------------------------------------------
    def _level(self, side: Side, ticks: int, create: bool) -> Level | None:
        levels = self.side_levels(side)
        lvl = levels.get(ticks)
        if lvl is None and create:
            lvl = Level(ticks)
            levels[ticks] = lvl
            insort(self._bid_ticks if side is Side.BUY else self._ask_ticks, ticks)
        return lvl

    def _touch(self, side: Side, ticks: int) -> None:
        (self._changed_bids if side is Side.BUY else self._changed_asks).add(ticks)

    def _drop_if_empty(self, side: Side, lvl: Level) -> None:
        if lvl.total == 0 and not lvl.entries:
            levels = self.side_levels(side)
            del levels[lvl.ticks]
            arr = self._bid_ticks if side is Side.BUY else self._ask_ticks
            i = bisect_left(arr, lvl.ticks)
            del arr[i]

    def add(self, side: Side, ticks: int, entry: Entry) -> None:
        """Append liquidity at the back of the level's queue (time priority)."""
        lvl = self._level(side, ticks, True)
        assert lvl is not None
        lvl.entries.append(entry)
        lvl.total += entry.steps
        self._touch(side, ticks)

    def mm_set(self, side: Side, ticks: int, steps: int) -> None:
        """Set the market-maker share of a level to ``steps`` (orders keep their place)."""
        lvl = self._level(side, ticks, steps > 0)
        if lvl is None:
            return
        current = lvl.mm_steps()
        if steps > current:
            lvl.entries.append(Entry(None, steps - current))
            lvl.total += steps - current
        elif steps < current:
            cut = current - steps
            # market makers cancel their most recent quotes first
            for e in reversed(list(lvl.entries)):
                if cut == 0:
                    break
                if e.order is None:
                    take = min(cut, e.steps)
                    e.steps -= take
                    cut -= take
                    lvl.total -= take
            lvl.entries = deque(e for e in lvl.entries if e.steps > 0)
        else:
            return
        self._touch(side, ticks)
        self._drop_if_empty(side, lvl)

    def remove_order(self, side: Side, ticks: int, order: Order) -> None:
        lvl = self._level(side, ticks, False)
        if lvl is None:
            return
        for e in lvl.entries:
            if e.order is order:
                lvl.total -= e.steps
                lvl.entries.remove(e)
                self._touch(side, ticks)
                self._drop_if_empty(side, lvl)
                return

    def reduce_entry(self, side: Side, lvl: Level, entry: Entry, steps: int) -> None:
        """Take ``steps`` from ``entry`` (a fill); empties are removed."""
        entry.steps -= steps
        lvl.total -= steps
        if entry.steps <= 0:
            lvl.entries.remove(entry)
        self._touch(side, lvl.ticks)
        self._drop_if_empty(side, lvl)

    def set_order_steps(self, side: Side, ticks: int, order: Order, steps: int) -> None:
        lvl = self._level(side, ticks, False)
        if lvl is None:
            return
        for e in lvl.entries:
            if e.order is order:
                lvl.total += steps - e.steps
                e.steps = steps
                self._touch(side, ticks)
                if steps <= 0:
                    lvl.entries.remove(e)
                    self._drop_if_empty(side, lvl)
                return

    # -- diffs -------------------------------------------------------------------------------
    def has_changes(self) -> bool:
        return bool(self._changed_bids or self._changed_asks)

    def flush(self, ts: int) -> BookDiff | None:
        """Turn the touched levels into one diff (None when nothing changed)."""
        if not self.has_changes():
            return None
        inst = self.instrument
        bids = tuple(
            (inst.price_of(t), inst.qty_of(self.bids[t].total if t in self.bids else 0))
            for t in sorted(self._changed_bids, reverse=True)
        )
        asks = tuple(
            (inst.price_of(t), inst.qty_of(self.asks[t].total if t in self.asks else 0))
            for t in sorted(self._changed_asks)
        )
        self._changed_bids.clear()
        self._changed_asks.clear()
        prev = self.update_id
        self.update_id = prev + len(bids) + len(asks)
        return BookDiff(self.symbol, prev + 1, self.update_id, prev, bids, asks, ts)
