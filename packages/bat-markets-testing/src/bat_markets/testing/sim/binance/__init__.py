"""Binance USD-M futures venue layer of the simulator."""

from __future__ import annotations

from ._sim import BinanceSim

__all__ = ["BinanceSim"]
