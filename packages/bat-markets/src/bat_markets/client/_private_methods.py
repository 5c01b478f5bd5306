"""Private account data: ``fetch_balance`` ... ``watch_positions`` (credentials required).

Missing credentials raise ``AuthError`` before any I/O. Every REST read is folded into the
client's account state (and published to the private watchers when it changed something), so a
``fetch_open_orders("BTCUSDT")`` never disturbs the cached orders of other symbols.
"""

from __future__ import annotations

from collections.abc import Sequence

from bat_markets.core import AccountState, Balance, ConfigError, MyTrade, Order, Position

from ._base import ClientBase
from ._command_lane import lanes_for
from ._handles import EventWatch, StateWatch
from ._params import check_limit, check_since, check_symbols
from ._private import PrivateLane

__all__ = ["PrivateAPI"]


class PrivateAPI(ClientBase):
    """Private REST reads and the private streams of the API map."""

    def _private_lane(self, method: str) -> PrivateLane:
        rt = self._live(method)
        self._require(method)
        return lanes_for(rt)[0]

    @property
    def account(self) -> AccountState:
        """The live account state (balances, positions by (symbol, side), orders, fills)."""
        rt = self._live("account")
        return lanes_for(rt)[0].state

    # -- private REST

    async def fetch_balance(self) -> list[Balance]:
        """Balances per asset."""
        return await self._private_lane("fetch_balance").fetch_balance()

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        """Position legs; hedge mode gives LONG and SHORT legs separately."""
        lane = self._private_lane("fetch_positions")
        if symbols is not None:
            symbols = check_symbols(symbols, self._adapter.id)
            for s in symbols:
                self._spec(s)
        return await lane.fetch_positions(symbols)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        """Open orders of ``symbol`` (all symbols when ``None``)."""
        lane = self._private_lane("fetch_open_orders")
        if symbol is not None:
            self._spec(symbol)
        return await lane.fetch_open_orders(symbol)

    async def fetch_order(
        self,
        id: str | None = None,
        symbol: str | None = None,
        *,
        client_order_id: str | None = None,
    ) -> Order:
        """One order by venue id or by client order id (``symbol`` required)."""
        lane = self._private_lane("fetch_order")
        if symbol is None:
            raise ConfigError("fetch_order needs the order's symbol", venue=self._adapter.id)
        self._spec(symbol)
        return await lane.fetch_order(id, symbol, client_order_id=client_order_id)

    async def fetch_my_trades(
        self, symbol: str | None = None, since: int | None = None, limit: int | None = None
    ) -> list[MyTrade]:
        """Our fills, oldest first."""
        lane = self._private_lane("fetch_my_trades")
        if symbol is not None:
            self._spec(symbol)
        since = check_since(since, venue=self._adapter.id)
        limit = check_limit(limit, venue=self._adapter.id)
        return await lane.fetch_my_trades(symbol, since, limit)

    # -- private streams (one shared connection; each handle is a lease)

    def watch_balance(self) -> StateWatch[Balance]:
        """Balances per asset, conflated (latest per asset)."""
        return self._private_lane("watch_balance").watch_balance()

    def watch_orders(self, symbol: str | None = None) -> EventWatch[Order]:
        """Order updates (bounded buffer, ``Lagged`` on overflow)."""
        lane = self._private_lane("watch_orders")
        if symbol is not None:
            self._spec(symbol)
        return lane.watch_orders(symbol)

    def watch_my_trades(self, symbol: str | None = None) -> EventWatch[MyTrade]:
        """Our fills, deduplicated (bounded buffer, ``Lagged`` on overflow)."""
        lane = self._private_lane("watch_my_trades")
        if symbol is not None:
            self._spec(symbol)
        return lane.watch_my_trades(symbol)

    def watch_positions(self, symbols: Sequence[str] | None = None) -> StateWatch[Position]:
        """Position legs keyed by (symbol, position side), conflated; flat legs included."""
        lane = self._private_lane("watch_positions")
        if symbols is not None:
            symbols = check_symbols(symbols, self._adapter.id)
            for s in symbols:
                self._spec(s)
        return lane.watch_positions(symbols)
