"""State and helpers shared by the facade's mixins (public, private, commands)."""

from __future__ import annotations

from bat_markets.core import (
    ConfigError,
    InstrumentSpec,
    Unsupported,
    VenueAdapter,
)

from ._runtime import Runtime

__all__ = ["ClientBase", "not_implemented"]


def not_implemented(venue: str, method: str) -> Unsupported:
    """The error of an API-map method this release does not implement yet."""
    return Unsupported(f"{method} is not implemented yet in this release", venue=venue)


class ClientBase:
    """What every API family needs: the adapter, the runtime (live clients only), helpers."""

    _adapter: VenueAdapter
    _runtime: Runtime | None

    def _live(self, method: str) -> Runtime:
        """The runtime, or a ``ConfigError`` on a static client / a closed one."""
        rt = self._runtime
        if rt is None:
            raise ConfigError(
                f"{method}() needs a live client: BatMarkets({self._adapter.id!r}) is static "
                f"(offline). Use 'async with BatMarkets.live({self._adapter.id!r}) as bm'.",
                venue=self._adapter.id,
            )
        if rt.closed:
            raise ConfigError(f"{method}(): the client is closed", venue=self._adapter.id)
        if not rt.started:
            raise ConfigError(
                f"{method}(): the live client is not started; 'await' it or use 'async with'",
                venue=self._adapter.id,
            )
        return rt

    def _require(self, method: str) -> None:
        """``Unsupported`` (with the adapter's note) when the venue does not serve ``method``."""
        caps = self._adapter.capabilities
        if method not in caps.methods:
            note = caps.notes.get(method)
            raise Unsupported(
                f"{self._adapter.name} does not support {method}" + (f": {note}" if note else ""),
                venue=self._adapter.id,
            )

    def _spec(self, symbol: object) -> InstrumentSpec:
        """Resolve a unified (``BTC/USDT:USDT``) or native (``BTCUSDT``) symbol."""
        if not isinstance(symbol, str):
            raise ConfigError(f"symbol must be a string, got {symbol!r}", venue=self._adapter.id)
        return self._adapter.markets.resolve(symbol)
