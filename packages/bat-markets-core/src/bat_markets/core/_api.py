"""The unified API map: the method names an adapter declares in ``Capabilities.methods``."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["API_MAP", "API_METHODS"]

API_MAP: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "metadata": ("markets", "load_markets"),
        "public REST": (
            "fetch_ticker", "fetch_tickers", "fetch_order_book", "fetch_ohlcv", "fetch_trades",
            "fetch_mark_price", "fetch_funding_rate", "fetch_funding_rate_history",
            "fetch_open_interest", "fetch_liquidations",
        ),
        "private REST": (
            "fetch_balance", "fetch_positions", "fetch_open_orders", "fetch_order",
            "fetch_orders_history", "fetch_my_trades",
        ),
        "public WS": (
            "watch_ticker", "watch_tickers", "watch_trades", "watch_trades_for_symbols",
            "watch_order_book", "watch_ohlcv", "watch_ohlcv_for_symbols", "watch_mark_price",
            "watch_funding_rate", "watch_open_interest", "watch_liquidations", "watch_status",
        ),
        "private WS": ("watch_balance", "watch_orders", "watch_my_trades", "watch_positions"),
        "commands": (
            "create_order", "create_orders", "edit_order", "edit_orders", "cancel_order",
            "cancel_orders", "cancel_all_orders", "close_position", "validate_order",
            "set_leverage", "set_margin_mode", "set_position_mode",
        ),
        "WS commands": (
            "create_order_ws", "create_orders_ws", "edit_order_ws", "edit_orders_ws",
            "cancel_order_ws", "cancel_orders_ws", "cancel_all_orders_ws",
        ),
    }
)  # fmt: skip
"""Method names per family (the mission's API map plus the two history reads)."""

API_METHODS: frozenset[str] = frozenset(name for family in API_MAP.values() for name in family)
"""Every name of ``API_MAP``: an adapter's ``Capabilities.methods`` is a subset."""
