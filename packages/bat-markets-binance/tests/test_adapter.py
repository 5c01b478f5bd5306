"""Identity, plugin entry point, capabilities and the contract surface."""

from __future__ import annotations

import pytest

from bat_markets.binance import BinanceAdapter, create_adapter
from bat_markets.core import (
    API_METHODS,
    AdapterBase,
    Environment,
    Heartbeat,
    Unsupported,
    VenueAdapter,
    available_venues,
    clear_registry_cache,
    load_venue,
)

NOT_SERVED = {
    "fetch_liquidations",
    "create_orders_ws",
    "edit_orders_ws",
    "cancel_orders_ws",
    "cancel_all_orders_ws",
}


def test_entry_point_and_protocol() -> None:
    clear_registry_cache()
    assert "binance" in available_venues()
    adapter = load_venue("binance")
    assert isinstance(adapter, BinanceAdapter)
    fresh: VenueAdapter = create_adapter()  # statically a VenueAdapter...
    assert isinstance(fresh, VenueAdapter)  # ...and at run time
    assert create_adapter() is not create_adapter()


def test_every_protocol_method_is_overridden() -> None:
    skip = {"_unsupported"}
    for name in dir(AdapterBase):
        if name.startswith("_") or name in skip or not callable(getattr(AdapterBase, name)):
            continue
        assert getattr(BinanceAdapter, name) is not getattr(AdapterBase, name), name


def test_capabilities_are_truthful() -> None:
    caps = BinanceAdapter().capabilities
    assert caps.methods == API_METHODS - NOT_SERVED
    assert caps.ws_commands == {"create_order_ws", "edit_order_ws", "cancel_order_ws"}
    assert (caps.max_batch_create, caps.max_batch_edit, caps.max_batch_cancel) == (5, 5, 10)
    assert caps.ohlcv_intervals[0] == "1m"
    assert caps.ohlcv_intervals[-1] == "1M"
    assert len(caps.ohlcv_intervals) == 15
    assert caps.order_book_depths == (5, 10, 20, 50, 100, 500, 1000)
    assert not caps.liquidations_complete
    assert not caps.open_interest_push
    assert caps.position_mode_scope == "account"
    assert caps.margin_mode_scope == "symbol"
    for method in NOT_SERVED | {"watch_open_interest", "watch_liquidations"}:
        assert method in caps.notes, method


def test_misc_contract_pieces() -> None:
    adapter = BinanceAdapter()
    assert adapter.id == "binance"
    assert adapter.max_topics_per_connection() == 200
    hb = adapter.heartbeat()
    assert isinstance(hb, Heartbeat)
    assert hb.frame is None
    assert adapter.ws_ping_frame() is None
    with pytest.raises(Unsupported):
        adapter.endpoints("spot")  # type: ignore[arg-type]
    e1 = adapter.endpoints(Environment.MAINNET)
    e1.extra["public"] = "/changed"  # type: ignore[index]
    assert adapter.endpoints(Environment.MAINNET).extra["public"] == "/public/stream"
