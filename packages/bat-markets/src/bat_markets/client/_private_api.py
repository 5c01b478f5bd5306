"""Private account data (``fetch_balance``... ``watch_positions``).

Not implemented in this release: every method raises ``Unsupported`` after validating that the
client is live. The runtime pieces a private lane needs already exist and are reusable:
``Runtime.rest.run(flow, signed=True)`` (signed REST with clock and limiter),
``Runtime.spawn`` (supervised background tasks), ``StateSink``/``EventSink`` + ``StateWatch``/
``EventWatch`` (handles), ``Runtime.lane_status["private"]`` (status) and ``Runtime.close_hooks``.
"""

from __future__ import annotations

from collections.abc import Sequence

from bat_markets.core import Balance, MyTrade, Order, Position

from ._base import ClientBase, not_implemented
from ._handles import EventWatch, StateWatch

__all__ = ["PrivateMixin"]


class PrivateMixin(ClientBase):
    """Private REST reads and private streams (credentials required)."""

    async def fetch_balance(self) -> list[Balance]:
        raise not_implemented(self._adapter.id, "fetch_balance")

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        raise not_implemented(self._adapter.id, "fetch_positions")

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        raise not_implemented(self._adapter.id, "fetch_open_orders")

    async def fetch_order(
        self,
        id: str | None = None,
        symbol: str | None = None,
        *,
        client_order_id: str | None = None,
    ) -> Order:
        raise not_implemented(self._adapter.id, "fetch_order")

    async def fetch_my_trades(
        self, symbol: str | None = None, since: int | None = None, limit: int | None = None
    ) -> list[MyTrade]:
        raise not_implemented(self._adapter.id, "fetch_my_trades")

    def watch_balance(self) -> StateWatch[Balance]:
        raise not_implemented(self._adapter.id, "watch_balance")

    def watch_orders(self, symbol: str | None = None) -> EventWatch[Order]:
        raise not_implemented(self._adapter.id, "watch_orders")

    def watch_my_trades(self, symbol: str | None = None) -> EventWatch[MyTrade]:
        raise not_implemented(self._adapter.id, "watch_my_trades")

    def watch_positions(self, symbols: Sequence[str] | None = None) -> StateWatch[Position]:
        raise not_implemented(self._adapter.id, "watch_positions")
