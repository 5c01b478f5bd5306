"""Loopback venue simulator: real HTTP + websocket servers on 127.0.0.1 that speak the venues'
protocols, backed by one matching engine per venue and a deterministic market generator.

Quick start::

    from bat_markets.testing.sim import BinanceSim, Simulator, Faults

    async with BinanceSim(seed=7, auto_tick=None) as sim:
        sim.endpoints, sim.credentials, sim.faults, sim.engine
        sim.step(5)

The venue-neutral engine API is documented in ``_engine.py`` (matching, accounts),
``_market.py`` (market generator), ``_faults.py`` (fault plan), ``_server.py`` (harness) and
``_venue.py`` (the ``VenueSim`` base class venue layers subclass).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._book import Book, Entry, Level
from ._clock import Clock, ManualClock
from ._engine import ALL_PERMISSIONS, Account, AccountSummary, Engine, Listener
from ._events import (
    PRIVATE_EVENTS,
    AccountUpdate,
    AggTrade,
    BookDiff,
    ConditionalUpdate,
    ConfigUpdate,
    EngineEvent,
    FundingSettled,
    LiquidationPrint,
    MarkUpdate,
    OrderUpdate,
    PublicTrade,
)
from ._faults import Faults, HttpRule, WsDropRule
from ._instruments import DEFAULT_INSTRUMENTS, Instrument, fmt_fixed, to_units
from ._market import MarketGenerator
from ._model import (
    ZERO,
    Balance,
    Conditional,
    CondParams,
    CondStatus,
    ExecType,
    Fill,
    MarginType,
    Order,
    OrderKind,
    OrderParams,
    OrderRejected,
    OrderStatus,
    Position,
    PositionSide,
    RejectReason,
    Side,
    StpMode,
    SymbolConfig,
    TimeInForce,
    TriggerBy,
    TriggerDirection,
)
from ._server import FaultMiddleware, SimConnection, SimServer
from ._sim import Simulator, venue_class
from ._tape import Candle, FundingRecord, MarketState
from ._venue import VenueSim, random_token

if TYPE_CHECKING:
    from .binance import BinanceSim
    from .bybit import BybitSim

__all__ = [
    # venues
    "BinanceSim",
    "BybitSim",
    "Simulator",
    "VenueSim",
    "venue_class",
    # engine
    "Engine",
    "Account",
    "AccountSummary",
    "ALL_PERMISSIONS",
    "Listener",
    "Book",
    "Entry",
    "Level",
    "MarketState",
    "Candle",
    "FundingRecord",
    "MarketGenerator",
    "Clock",
    "ManualClock",
    "Instrument",
    "DEFAULT_INSTRUMENTS",
    "fmt_fixed",
    "to_units",
    "random_token",
    # model
    "ZERO",
    "Side",
    "OrderKind",
    "TimeInForce",
    "OrderStatus",
    "ExecType",
    "PositionSide",
    "MarginType",
    "TriggerBy",
    "TriggerDirection",
    "CondStatus",
    "StpMode",
    "RejectReason",
    "OrderRejected",
    "OrderParams",
    "CondParams",
    "Order",
    "Conditional",
    "Fill",
    "Position",
    "Balance",
    "SymbolConfig",
    # events
    "EngineEvent",
    "PRIVATE_EVENTS",
    "BookDiff",
    "PublicTrade",
    "AggTrade",
    "MarkUpdate",
    "LiquidationPrint",
    "FundingSettled",
    "OrderUpdate",
    "AccountUpdate",
    "ConfigUpdate",
    "ConditionalUpdate",
    # faults / server
    "Faults",
    "HttpRule",
    "WsDropRule",
    "SimServer",
    "SimConnection",
    "FaultMiddleware",
]


def __getattr__(name: str) -> Any:
    if name == "BinanceSim":
        from .binance import BinanceSim

        return BinanceSim
    if name == "BybitSim":
        return venue_class("bybit")
    raise AttributeError(name)
