"""bat-markets venue adapter for Binance USD-M futures (sans-I/O).

``create_adapter()`` is the ``bat_markets.venues`` entry point; ``BinanceAdapter`` implements the
``bat_markets.core.VenueAdapter`` contract.
"""

from __future__ import annotations

from ._adapter import BinanceAdapter, create_adapter

__all__ = ["BinanceAdapter", "create_adapter"]
