"""Shared support of the private-lane and command integration tests (client <-> simulator)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import anyio

from bat_markets.client import BatMarkets, ClientOptions
from bat_markets.client._advanced_private import PrivateAdvanced
from bat_markets.client._command_lane import lanes_for
from bat_markets.client._commands import CommandAPI
from bat_markets.client._private_methods import PrivateAPI
from bat_markets.core import Credentials, Endpoints, LifecyclePolicy, VenueConfig
from bat_markets.testing.sim import BinanceSim, VenueSim

SYMBOL = "BTC/USDT:USDT"
NATIVE = "BTCUSDT"
VENUES = ("binance", "bybit")

# venue paths the fault plan targets
CREATE_PATH = {"binance": ("POST", "/fapi/v1/order"), "bybit": ("POST", "/v5/order/create")}
CANCEL_PATH = {"binance": ("DELETE", "/fapi/v1/order"), "bybit": ("POST", "/v5/order/cancel")}


def _compose() -> type[BatMarkets]:
    """``BatMarkets`` with the private and command lanes (itself once the facade wires them)."""
    if issubclass(BatMarkets, PrivateAPI) and issubclass(BatMarkets, CommandAPI):
        return BatMarkets

    class Composed(PrivateAPI, CommandAPI, BatMarkets):  # type: ignore[misc]
        def __init__(self, venue: Any) -> None:
            super().__init__(venue)
            if not isinstance(self._advanced, PrivateAdvanced):
                self._advanced = PrivateAdvanced(self)

    return Composed


Client: Any = _compose()


@dataclasses.dataclass(frozen=True)
class Options(ClientOptions):
    lifecycle: LifecyclePolicy | None = None


POLICY = LifecyclePolicy(
    receipt_timeout_ms=5_000,
    confirm_timeout_ms=500,
    absence_grace_ms=500,
    requery_interval_ms=150,
    unknown_window_ms=4_000,
)


def sim_class(venue: str) -> type[VenueSim]:
    if venue == "binance":
        return BinanceSim
    from bat_markets.testing import sim

    cls: type[VenueSim] = sim.BybitSim
    return cls


@asynccontextmanager
async def venue_sim(venue: str, **kwargs: Any) -> AsyncIterator[VenueSim]:
    async with sim_class(venue)(seed=11, auto_tick=None, **kwargs) as s:
        yield s


@asynccontextmanager
async def live(
    venue: str,
    sim: VenueSim,
    *,
    credentials: Credentials | bool | None = True,
    endpoints: Endpoints | None = None,
    config: VenueConfig | None = None,
    **options: Any,
) -> AsyncIterator[Any]:
    creds = sim.credentials if credentials is True else (credentials or None)
    opts = Options(lifecycle=POLICY, clock_refresh_s=0, **options)
    async with Client.live(
        venue, endpoints=endpoints or sim.endpoints, credentials=creds, config=config, options=opts
    ) as bm:
        yield bm


def lanes(bm: Any) -> Any:
    assert bm._runtime is not None
    return lanes_for(bm._runtime)


def mid(sim: VenueSim) -> Decimal:
    """A resting buy price well below the market and a crossing one above it."""
    book = sim.engine.books[NATIVE]
    tick = sim.engine.instruments[NATIVE].tick_size
    bid = book.best_bid()
    assert bid is not None
    return Decimal(bid) * tick


async def eventually(predicate: Any, limit_s: float = 5.0) -> None:
    """Poll simulator / client state (no event exists for these conditions)."""
    with anyio.fail_after(limit_s):
        while not predicate():  # noqa: ASYNC110
            await anyio.sleep(0.02)
