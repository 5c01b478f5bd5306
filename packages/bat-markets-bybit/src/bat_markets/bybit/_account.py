"""Private REST reads (signed): balance, positions, orders, executions."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TypeVar

from bat_markets.core import (
    Balance,
    ConfigError,
    MyTrade,
    Order,
    Position,
    RestFlow,
    RestRequest,
    RestResponse,
    StateDivergence,
)

from ._convert import Unify, balance_from_coin, my_trade_from_row, order_from_row, position_from_row
from ._market import check_limit
from ._native import ExecutionRow, OrderRow, Page, PositionRow, WalletAccount, lax
from ._rest import CATEGORY, MAX_PAGES, cursor_pages, decode_result, get
from ._util import VENUE, check_order_link_id

__all__ = [
    "SETTLE",
    "fetch_balance",
    "fetch_positions",
    "fetch_open_orders",
    "fetch_order",
    "fetch_orders_history",
    "fetch_my_trades",
]

R = TypeVar("R")
Flow = Generator[RestRequest, RestResponse, R]
SETTLE = ("settleCoin", "USDT")
_WALLET = lax(Page[WalletAccount])
_POSITIONS = lax(Page[PositionRow])
_ORDERS = lax(Page[OrderRow])
_EXECUTIONS = lax(Page[ExecutionRow])
_WEEK = 7 * 24 * 3_600_000  # order history / executions accept windows of at most 7 days


def fetch_balance() -> RestFlow[list[Balance]]:
    """Per-coin balances of the unified trading account."""
    env = yield from get(
        "/v5/account/wallet-balance", [("accountType", "UNIFIED")], signed=True, tag="fetch_balance"
    )
    accounts = decode_result(_WALLET, env.result, "wallet-balance").items
    return [balance_from_coin(coin, env.time) for account in accounts for coin in account.coin]


def fetch_positions(symbols: Sequence[str] | None, unify: Unify) -> RestFlow[list[Position]]:
    """Every leg (flat legs included, hedge mode gives LONG and SHORT rows).

    One symbol: ``symbol=``; otherwise ``settleCoin=USDT`` (every USDT contract), filtered to
    ``symbols`` when given."""
    if symbols is not None and len(symbols) == 1:
        params = [CATEGORY, ("symbol", symbols[0])]
    else:
        params = [CATEGORY, SETTLE]
    rows, _ = yield from cursor_pages(
        "/v5/position/list", params, _POSITIONS, page_size=200, signed=True, tag="fetch_positions"
    )
    wanted = {s.upper() for s in symbols} if symbols else None
    return [
        position_from_row(row, unify)
        for row in rows
        if wanted is None or row.symbol.upper() in wanted
    ]


def fetch_open_orders(symbol: str | None, unify: Unify) -> RestFlow[list[Order]]:
    """Open orders incl. untriggered conditionals (one symbol, or every USDT contract)."""
    params = [CATEGORY, ("symbol", symbol) if symbol else SETTLE, ("openOnly", "0")]
    rows, _ = yield from cursor_pages(
        "/v5/order/realtime", params, _ORDERS, page_size=50, signed=True, tag="fetch_open_orders"
    )
    return [order_from_row(row, unify) for row in rows]


def fetch_order(
    symbol: str, order_id: str | None, client_order_id: str | None, unify: Unify
) -> RestFlow[Order]:
    """By id or client id: ``order/realtime`` (open and recently closed), then ``order/history``."""
    if order_id:
        ident = ("orderId", order_id)
    elif client_order_id:
        ident = ("orderLinkId", check_order_link_id(client_order_id))
    else:
        raise ConfigError("fetch_order needs an order id or a client order id", venue=VENUE)
    params = [CATEGORY, ("symbol", symbol), ident]
    for path in ("/v5/order/realtime", "/v5/order/history"):
        env = yield from get(path, params, signed=True, tag="fetch_order")
        for row in decode_result(_ORDERS, env.result, path).items:
            if row.orderId == order_id or (not order_id and row.orderLinkId == client_order_id):
                return order_from_row(row, unify)
    raise StateDivergence(
        f"order {ident[1]} not found on {symbol} (open, recent or history)",
        venue=VENUE,
        code=110001,
    )


def _order_key(o: Order) -> tuple[int, str]:
    return (o.created_at or o.updated_at or 0, o.id)


def _trade_key(t: MyTrade) -> tuple[int, str]:
    return (t.timestamp, t.id)


def fetch_orders_history(
    symbol: str, since: int | None, limit: int | None, unify: Unify
) -> RestFlow[list[Order]]:
    """Closed and open orders, oldest first. ``since``: the first ``limit`` from then on, walking
    7-day windows; without it the newest ``limit`` (default 50) of the venue's default window."""
    check_limit(limit)
    base = [CATEGORY, ("symbol", symbol)]
    if since is None:
        want = limit or 50
        rows, _ = yield from cursor_pages(
            "/v5/order/history",
            base,
            _ORDERS,
            page_size=50,
            want=want,
            signed=True,
            tag="fetch_orders_history",
        )
        orders = sorted((order_from_row(r, unify) for r in rows), key=_order_key)
        return orders[-want:]
    collected: dict[str, Order] = {}
    cursor = since
    for _ in range(MAX_PAGES):
        end = cursor + _WEEK - 1
        params = [*base, ("startTime", str(cursor)), ("endTime", str(end))]
        rows, now = yield from cursor_pages(
            "/v5/order/history",
            params,
            _ORDERS,
            page_size=50,
            signed=True,
            tag="fetch_orders_history",
        )
        for row in rows:
            order = order_from_row(row, unify)
            collected.setdefault(order.id, order)
        if limit is not None and len(collected) >= limit:
            break
        if now is None or end >= now:
            break
        cursor = end + 1
    orders = sorted(collected.values(), key=_order_key)
    return orders[:limit] if limit is not None else orders


def fetch_my_trades(
    symbol: str | None, since: int | None, limit: int | None, unify: Unify
) -> RestFlow[list[MyTrade]]:
    """Fills (funding and settlement entries excluded), oldest first; windows as for orders."""
    check_limit(limit)
    base = [CATEGORY, ("symbol", symbol) if symbol else SETTLE]

    def convert(rows: list[ExecutionRow]) -> list[MyTrade]:
        return [t for t in (my_trade_from_row(r, unify) for r in rows) if t is not None]

    if since is None:
        want = limit or 50
        rows, _ = yield from cursor_pages(
            "/v5/execution/list",
            base,
            _EXECUTIONS,
            page_size=100,
            want=want,
            signed=True,
            tag="fetch_my_trades",
        )
        return sorted(convert(rows), key=_trade_key)[-want:]
    collected: dict[str, MyTrade] = {}
    cursor = since
    for _ in range(MAX_PAGES):
        end = cursor + _WEEK - 1
        params = [*base, ("startTime", str(cursor)), ("endTime", str(end))]
        rows, now = yield from cursor_pages(
            "/v5/execution/list",
            params,
            _EXECUTIONS,
            page_size=100,
            signed=True,
            tag="fetch_my_trades",
        )
        for trade in convert(rows):
            collected.setdefault(trade.id, trade)
        if limit is not None and len(collected) >= limit:
            break
        if now is None or end >= now:
            break
        cursor = end + 1
    trades = sorted(collected.values(), key=_trade_key)
    return trades[:limit] if limit is not None else trades
