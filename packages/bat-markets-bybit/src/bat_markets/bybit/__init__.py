"""bat-markets venue adapter for Bybit v5 USDT linear futures (sans-I/O).

Entry point ``bat_markets.bybit:create_adapter`` (group ``bat_markets.venues``, name ``bybit``).
"""

from __future__ import annotations

from ._adapter import BybitAdapter
from ._book_sync import BybitBookSync

__all__ = ["BybitAdapter", "BybitBookSync", "create_adapter"]


def create_adapter() -> BybitAdapter:
    """A new ``BybitAdapter`` (the plugin entry point)."""
    return BybitAdapter()
