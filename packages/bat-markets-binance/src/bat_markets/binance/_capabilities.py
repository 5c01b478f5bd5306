"""What the Binance adapter serves, and how (the facts the unified layer exposes)."""

from __future__ import annotations

from bat_markets.core import API_METHODS, Capabilities

__all__ = ["INTERVALS", "REST_DEPTHS", "WATCH_DEPTHS", "PARTIAL_DEPTHS", "CAPABILITIES"]

INTERVALS = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
)  # fmt: skip
REST_DEPTHS = (5, 10, 20, 50, 100, 500, 1000)
PARTIAL_DEPTHS = (5, 10, 20)
WATCH_DEPTHS = (0, 5, 10, 20, 50, 100, 500, 1000)

_METHODS = API_METHODS - {
    "fetch_liquidations",  # see _NOTES
    "create_orders_ws",
    "edit_orders_ws",
    "cancel_orders_ws",
    "cancel_all_orders_ws",
}

_NOTES = {
    "fetch_liquidations": (
        "Unsupported: Binance has no public liquidation REST source (/fapi/v1/allForceOrders was "
        "switched off 2021-04-27); use watch_liquidations (forceOrder stream, a <=1/s/symbol "
        "sample). Own liquidations: BinanceAdapter.fetch_my_liquidations (/fapi/v1/forceOrders)."
    ),
    "watch_liquidations": (
        "<s>@forceOrder: only the latest liquidation per symbol per second is pushed; "
        "Liquidation.complete_feed is False."
    ),
    "watch_open_interest": "no open-interest stream: the runtime polls GET /fapi/v1/openInterest.",
    "watch_order_book": (
        "depth 5/10/20: partial-depth stream (a full top-N snapshot per frame); any other depth "
        "up to 1000 (or 0 = full): diff stream @depth@100ms synced on a 1000-level REST snapshot "
        "with the U/u/pu rules, cut to the requested depth; above 1000: Unsupported."
    ),
    "watch_funding_rate": "served by the <s>@markPrice@1s stream (rate r, next funding T).",
    "fetch_order_book": (
        "limits 5/10/20/50/100/500/1000; other limits use the next allowed one and are cut to the "
        "requested count; None = 1000; above 1000: Unsupported."
    ),
    "fetch_ohlcv": "paginated inside the flow, oldest first, at most 1500 candles per request.",
    "fetch_my_trades": "GET /fapi/v1/userTrades needs a symbol; without one: Unsupported.",
    "create_order": (
        "market/limit -> POST /fapi/v1/order; stop/take-profit/trailing -> POST /fapi/v1/algoOrder "
        "(algoType=CONDITIONAL), ids exposed as 'algo:<algoId>'. Index-price triggers: Unsupported."
    ),
    "create_orders": "POST /fapi/v1/batchOrders in chunks of 5 (conditional orders one by one).",
    "edit_order": (
        "PUT /fapi/v1/order: limit orders only, side + amount + price all required (the order "
        "loses queue priority); conditional (algo) orders cannot be amended: Unsupported."
    ),
    "edit_orders": "PUT /fapi/v1/batchOrders in chunks of 5.",
    "cancel_orders": (
        "DELETE /fapi/v1/batchOrders in chunks of 10 per symbol; algo orders one by one; a client "
        "id unknown to the matching engine is retried on the algo service."
    ),
    "cancel_all_orders": (
        "DELETE /fapi/v1/allOpenOrders + DELETE /fapi/v1/algoOpenOrders per symbol; without a "
        "symbol the open orders are listed first and every symbol is cancelled."
    ),
    "validate_order": (
        "market/limit: POST /fapi/v1/order/test (venue-side checks, never executed); conditional "
        "orders have no test endpoint and are validated locally only."
    ),
    "set_position_mode": "account-wide (all symbols); pass no symbol.",
    "set_margin_mode": "per symbol (ISOLATED / CROSSED).",
    "create_orders_ws": "Unsupported: ws-fapi has no batch methods (batches are REST only).",
    "edit_orders_ws": "Unsupported: ws-fapi has no batch methods (batches are REST only).",
    "cancel_orders_ws": "Unsupported: ws-fapi has no batch methods (batches are REST only).",
    "cancel_all_orders_ws": "Unsupported: ws-fapi has no cancel-all method.",
    "create_order_ws": "order.place (market/limit) or algoOrder.place (conditional).",
    "cancel_order_ws": "order.cancel or algoOrder.cancel ('algo:<id>').",
    "edit_order_ws": "order.modify (limit orders only).",
    "watch_orders": "ORDER_TRADE_UPDATE (regular) and ALGO_UPDATE (conditional, 'algo:<id>').",
    "watch_my_trades": (
        "ORDER_TRADE_UPDATE fills (with fees) and TRADE_LITE (faster, no fee): dedupe by trade id."
    ),
}

CAPABILITIES = Capabilities(
    methods=_METHODS,
    ws_commands=frozenset({"create_order_ws", "edit_order_ws", "cancel_order_ws"}),
    max_batch_create=5,
    max_batch_edit=5,
    max_batch_cancel=10,
    ohlcv_intervals=INTERVALS,
    order_book_depths=REST_DEPTHS,
    watch_book_depths=WATCH_DEPTHS,
    liquidations_complete=False,
    open_interest_push=False,
    position_mode_scope="account",
    margin_mode_scope="symbol",
    notes=_NOTES,
)
