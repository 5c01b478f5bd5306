"""``API_MAP``: the mission's method families, as adapters declare them."""

from __future__ import annotations

from bat_markets.core import API_MAP, API_METHODS

MISSION = """
markets load_markets
fetch_ticker fetch_tickers fetch_order_book fetch_ohlcv fetch_trades fetch_mark_price
fetch_funding_rate fetch_open_interest fetch_liquidations
fetch_balance fetch_positions fetch_open_orders fetch_order fetch_my_trades
watch_ticker watch_tickers watch_trades watch_trades_for_symbols watch_order_book watch_ohlcv
watch_ohlcv_for_symbols watch_mark_price watch_funding_rate watch_open_interest
watch_liquidations watch_status
watch_balance watch_orders watch_my_trades watch_positions
create_order create_orders edit_order edit_orders cancel_order cancel_orders cancel_all_orders
close_position validate_order set_leverage set_margin_mode set_position_mode
create_order_ws create_orders_ws edit_order_ws edit_orders_ws cancel_order_ws cancel_orders_ws
cancel_all_orders_ws
"""


def test_api_methods_are_the_mission_map_plus_the_history_reads() -> None:
    extras = {"fetch_funding_rate_history", "fetch_orders_history"}
    assert set(MISSION.split()) | extras == API_METHODS
    names = [name for family in API_MAP.values() for name in family]
    assert len(names) == len(set(names))  # each method in one family
