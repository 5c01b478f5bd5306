"""What the Bybit adapter serves, with the reason for everything it does not (or serves oddly)."""

from __future__ import annotations

from bat_markets.core import API_METHODS, Capabilities, RateLimitRule

from ._book_sync import WS_DEPTHS
from ._intervals import CANONICAL

__all__ = ["CAPABILITIES", "RATE_LIMIT_RULES", "UID_LIMITS"]

_METHODS = API_METHODS - {"fetch_liquidations", "cancel_all_orders_ws"}  # see _NOTES
_WS_COMMANDS = frozenset(
    {
        "create_order_ws",
        "create_orders_ws",
        "edit_order_ws",
        "edit_orders_ws",
        "cancel_order_ws",
        "cancel_orders_ws",
    }
)

_NOTES = {
    "fetch_liquidations": "Unsupported: Bybit has no public liquidation REST endpoint; "
    "use watch_liquidations (allLiquidation.{symbol}, every liquidation).",
    "cancel_all_orders_ws": "Unsupported: the /v5/trade websocket has no cancel-all op; "
    "cancel_all_orders uses REST POST /v5/order/cancel-all.",
    "create_order": "Conditional orders are Market/Limit + triggerPrice + triggerDirection "
    "(derived from side and stop/take-profit) + triggerBy. Trailing stops are Unsupported (a "
    "position setting in v5, /v5/position/trading-stop); GTD is Unsupported; post-only is "
    "timeInForce=PostOnly (a would-take order ends EXPIRED with EC_PostOnlyWillTakeLiquidity).",
    "create_orders": "order/create-batch in chunks of 20; per-item results from retExtInfo.",
    "edit_order": "order/amend: qty, price and triggerPrice of open orders (async ack).",
    "fetch_order_book": "REST snapshot of 1..1000 levels (any integer); None = venue default 25.",
    "watch_order_book": "orderbook.{1,50,200,1000}: a requested depth maps to the next venue "
    "depth up (None = 1000); snapshot + deltas, resync by resubscribing.",
    "watch_mark_price": "served from tickers.{symbol} (merged snapshot + deltas, 100 ms).",
    "watch_funding_rate": "served from tickers.{symbol} (merged snapshot + deltas, 100 ms).",
    "watch_open_interest": "pushed: served from tickers.{symbol} (openInterest, 100 ms).",
    "fetch_open_interest": "current value from /v5/market/tickers (contracts and USDT value).",
    "fetch_mark_price": "from /v5/market/tickers.",
    "fetch_funding_rate": "current rate and next settlement from /v5/market/tickers; "
    "Unsupported for dated futures (no funding).",
    "fetch_trades": "the most recent ≤1000 trades only (no historical trade REST); a `since` "
    "older than that window is Unsupported.",
    "fetch_ohlcv": "intervals 1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M (or native 1..720, "
    "D, W, M); 8h and 3d are Unsupported. Pages internally; results oldest first.",
    "set_margin_mode": "account-wide (unified account: REGULAR_MARGIN / ISOLATED_MARGIN via "
    "/v5/account/set-margin-mode); a per-symbol request is Unsupported.",
    "set_position_mode": "per symbol, or for every USDT contract (coin=USDT) when symbol is "
    "None (/v5/position/switch-mode, mode 0 one-way / 3 hedge).",
    "set_leverage": "buyLeverage = sellLeverage (required in one-way and hedge-cross modes).",
    "validate_order": "local check against instrument filters; no request is sent.",
    "create_order_ws": "Unsupported on demo trading (no /v5/trade websocket there).",
    "fetch_balance": "unified account (accountType=UNIFIED) per-coin balances.",
    "fetch_my_trades": "fills only (funding/settlement executions excluded); 7-day windows.",
    "watch_my_trades": "execution topic (execution.fast decodes too).",
}

CAPABILITIES = Capabilities(
    methods=_METHODS,
    ws_commands=_WS_COMMANDS,
    max_batch_create=20,
    max_batch_edit=20,
    max_batch_cancel=20,
    ohlcv_intervals=CANONICAL,
    order_book_depths=(1, 5, 10, 20, 25, 50, 100, 200, 500, 1000),
    watch_book_depths=WS_DEPTHS,
    liquidations_complete=True,
    open_interest_push=True,
    position_mode_scope="symbol",
    margin_mode_scope="account",
    notes=_NOTES,
)

# Per-UID, per-endpoint limits per second, linear defaults (§9.Y). Keys are the runtime's
# endpoint strings ("METHOD /path"); batch endpoints are charged per order by the venue.
UID_LIMITS = {
    "POST /v5/order/create": 10,
    "POST /v5/order/amend": 10,
    "POST /v5/order/cancel": 10,
    "POST /v5/order/cancel-all": 10,
    "POST /v5/order/create-batch": 10,
    "POST /v5/order/amend-batch": 10,
    "POST /v5/order/cancel-batch": 10,
    "GET /v5/order/realtime": 50,
    "GET /v5/order/history": 50,
    "GET /v5/execution/list": 50,
    "GET /v5/position/list": 50,
    "GET /v5/account/wallet-balance": 50,
    "POST /v5/position/set-leverage": 10,
    "POST /v5/position/switch-mode": 10,
    "POST /v5/position/trading-stop": 10,
    "GET /v5/account/fee-rate": 5,
}

RATE_LIMIT_RULES = (
    # IP limit across REST hosts: 600 requests per 5 s (every request has weight 1).
    RateLimitRule(key="weight", limit=600, window_s=5.0),
    *(RateLimitRule(key=key, limit=limit, window_s=1.0) for key, limit in UID_LIMITS.items()),
)
