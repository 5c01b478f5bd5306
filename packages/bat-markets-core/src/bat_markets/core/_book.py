"""Order-book engine (placeholder interface; full implementation in progress)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from ._events import RawLevel

__all__ = ["OrderBook"]


class OrderBook:
    def __init__(self, symbol: str, tick_size: Decimal, step_size: Decimal) -> None:
        self.symbol = symbol
        self.tick_size = tick_size
        self.step_size = step_size
        self.update_id: int | None = None
        self.timestamp: int | None = None

    def apply_snapshot(
        self,
        bids: Iterable[RawLevel],
        asks: Iterable[RawLevel],
        *,
        update_id: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        raise NotImplementedError

    def apply_delta(
        self,
        bids: Iterable[RawLevel],
        asks: Iterable[RawLevel],
        *,
        update_id: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        raise NotImplementedError
