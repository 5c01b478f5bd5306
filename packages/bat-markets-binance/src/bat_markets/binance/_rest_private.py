"""Private REST reads (PROTOCOLS §3.B): balances, positions, orders, fills, account settings."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from bat_markets.core import (
    Balance,
    CancelRequest,
    ConfigError,
    MyTrade,
    Order,
    Position,
    PositionMode,
    RestFlow,
    RestRequest,
    StateDivergence,
)

from ._convert import (
    algo_order_from_native,
    balance_from_native,
    margin_mode,
    my_trade_from_native,
    order_from_native,
    parse_algo_id,
    position_from_native,
)
from ._errors import classify
from ._flows import FlowBase
from ._native import (
    NativeAccount,
    NativeAccountConfig,
    NativeAlgoOrder,
    NativeBalance,
    NativeCommissionRate,
    NativeIncome,
    NativeLeverageBracket,
    NativeOrder,
    NativePosition,
    NativePositionMode,
    NativeSymbolConfig,
    NativeUserTrade,
    decode,
)
from ._orders import algo_cancel_params, cancel_params

__all__ = ["PrivateRestMixin"]

_NOT_FOUND = -2013
_TRADES_PAGE = 1000


def _signed(path: str, params: list[tuple[str, str]], weight: int, tag: str) -> RestRequest:
    return RestRequest(method="GET", path=path, params=params, signed=True, weight=weight, tag=tag)


class PrivateRestMixin(FlowBase):
    """Signed reads."""

    def fetch_balance(self) -> RestFlow[list[Balance]]:
        rows = yield from self._get(
            _signed("/fapi/v3/balance", [], 5, "fetch_balance"), list[NativeBalance], "balance"
        )
        return [balance_from_native(n) for n in rows]

    def fetch_account(self) -> RestFlow[tuple[list[Balance], list[Position]]]:
        """``GET /fapi/v3/account``: balances with equity, and position summaries."""
        n = yield from self._get(
            _signed("/fapi/v3/account", [], 5, "fetch_account"), NativeAccount, "account"
        )
        balances = [
            Balance(
                asset=a.asset,
                wallet_balance=a.walletBalance,
                available=a.availableBalance,
                unrealized_pnl=a.unrealizedProfit,
                equity=a.marginBalance,
                cross_wallet_balance=a.crossWalletBalance,
                timestamp=a.updateTime or None,
            )
            for a in n.assets
        ]
        positions = [
            position_from_native(
                NativePosition(
                    symbol=p.symbol,
                    positionAmt=p.positionAmt,
                    positionSide=p.positionSide,
                    entryPrice=p.entryPrice,
                    unRealizedProfit=p.unrealizedProfit,
                    isolatedMargin=p.isolatedMargin,
                    notional=p.notional,
                    leverage=p.leverage,
                    marginType=None
                    if p.isolated is None
                    else ("isolated" if p.isolated else "cross"),
                    updateTime=p.updateTime,
                ),
                self._unified,
            )
            for p in n.positions
        ]
        return balances, positions

    def fetch_positions(self, symbols: Sequence[str] | None) -> RestFlow[list[Position]]:
        wanted = {self._native(s) for s in symbols} if symbols else None
        one = [("symbol", next(iter(wanted)))] if wanted is not None and len(wanted) == 1 else []
        rows = yield from self._get(
            _signed("/fapi/v3/positionRisk", one, 5, "fetch_positions"),
            list[NativePosition],
            "positionRisk",
        )
        rows = [r for r in rows if wanted is None or r.symbol in wanted]
        # v3 rows carry no leverage / margin type: symbolConfig has them (optional enrichment)
        configs = None
        if rows and any(r.leverage is None for r in rows):
            configs = yield from self._optional(
                _signed("/fapi/v1/symbolConfig", one, 5, "symbol_config"),
                list[NativeSymbolConfig],
                "symbolConfig",
            )
        by_symbol = {c.symbol: c for c in configs} if configs else {}
        out = []
        for r in rows:
            pos = position_from_native(r, self._unified)
            cfg = by_symbol.get(r.symbol)
            if cfg is not None and pos.leverage is None:
                pos = msgspec.structs.replace(
                    pos, leverage=Decimal(cfg.leverage), margin_mode=margin_mode(cfg.marginType)
                )
            out.append(pos)
        return out

    def fetch_open_orders(self, symbol: str | None) -> RestFlow[list[Order]]:
        params = [("symbol", self._native(symbol))] if symbol else []
        weight = 1 if symbol else 40
        regular = yield from self._get(
            _signed("/fapi/v1/openOrders", params, weight, "fetch_open_orders"),
            list[NativeOrder],
            "open orders",
        )
        algo = yield from self._get(
            _signed("/fapi/v1/openAlgoOrders", params, weight, "fetch_open_algo_orders"),
            list[NativeAlgoOrder],
            "open algo orders",
        )
        orders = [order_from_native(n, self._unified) for n in regular]
        orders.extend(algo_order_from_native(n, self._unified) for n in algo)
        return orders

    def fetch_order(
        self, symbol: str, id: str | None, client_order_id: str | None
    ) -> RestFlow[Order]:
        native = self._native(symbol)
        algo_id = parse_algo_id(id)
        if algo_id is not None:
            return (yield from self._fetch_algo(algo_id, None))
        params = cancel_params_for(native, id, client_order_id)
        response = yield _signed("/fapi/v1/order", params, 1, "fetch_order")
        err = classify(response.status, response.headers, response.body, write=False)
        if err is None:
            n = decode(response.body, NativeOrder, "order")
            return order_from_native(n, self._unified)
        if err.code == _NOT_FOUND and id is None and client_order_id is not None:
            # the client id may belong to a conditional order living in the algo service
            try:
                return (yield from self._fetch_algo(None, client_order_id))
            except StateDivergence:
                raise err from None
            except ConfigError:
                raise err from None
        raise err

    def _fetch_algo(self, algo_id: str | None, client_algo_id: str | None) -> RestFlow[Order]:
        n = yield from self._get(
            _signed(
                "/fapi/v1/algoOrder",
                algo_cancel_params(algo_id, client_algo_id),
                1,
                "fetch_algo_order",
            ),
            NativeAlgoOrder,
            "algo order",
        )
        return algo_order_from_native(n, self._unified)

    def fetch_orders_history(
        self, symbol: str, since: int | None, limit: int | None
    ) -> RestFlow[list[Order]]:
        native = self._native(symbol)
        params = [("symbol", native)]
        if since is not None:
            params.append(("startTime", str(since)))
        if limit is not None:
            params.append(("limit", str(min(int(limit), 1000))))
        regular = yield from self._get(
            _signed("/fapi/v1/allOrders", params, 5, "fetch_orders_history"),
            list[NativeOrder],
            "all orders",
        )
        algo = yield from self._get(
            _signed("/fapi/v1/allAlgoOrders", params, 5, "fetch_algo_orders_history"),
            list[NativeAlgoOrder],
            "all algo orders",
        )
        orders = [order_from_native(n, self._unified) for n in regular]
        orders.extend(algo_order_from_native(n, self._unified) for n in algo)
        orders.sort(key=lambda o: o.created_at or o.updated_at or 0)
        return orders[-limit:] if limit is not None else orders

    def fetch_my_trades(
        self, symbol: str | None, since: int | None, limit: int | None
    ) -> RestFlow[list[MyTrade]]:
        if not symbol:
            raise self._unsupported(
                "fetch_my_trades without a symbol", "GET /fapi/v1/userTrades needs one"
            )
        native = self._native(symbol)
        target = limit if limit is not None else 500
        trades: dict[int, MyTrade] = {}
        params: list[tuple[str, str]] = [("startTime", str(since))] if since is not None else []
        while len(trades) < target:
            want = min(_TRADES_PAGE, target - len(trades))
            rows = yield from self._get(
                _signed(
                    "/fapi/v1/userTrades",
                    [("symbol", native), *params, ("limit", str(want))],
                    5,
                    "fetch_my_trades",
                ),
                list[NativeUserTrade],
                "user trades",
            )
            before = len(trades)
            for n in rows:
                trades[n.id] = my_trade_from_native(n, self._unified)
            if since is None or len(rows) < want or len(trades) == before:
                break  # without ``since`` the venue gives the newest page only
            params = [("fromId", str(max(r.id for r in rows) + 1))]
        ordered = [trades[k] for k in sorted(trades)]
        return ordered[:target] if since is not None else ordered[-target:]

    def fetch_my_liquidations(
        self, symbol: str | None = None, limit: int | None = None
    ) -> RestFlow[list[Order]]:
        """Own liquidation / ADL orders (``GET /fapi/v1/forceOrders``)."""
        params = [("symbol", self._native(symbol))] if symbol else []
        if limit is not None:
            params.append(("limit", str(min(int(limit), 100))))
        rows = yield from self._get(
            _signed("/fapi/v1/forceOrders", params, 20 if symbol else 50, "force_orders"),
            list[NativeOrder],
            "force orders",
        )
        return [order_from_native(n, self._unified) for n in rows]

    def fetch_position_mode(self) -> RestFlow[PositionMode]:
        """``GET /fapi/v1/positionSide/dual``: hedge or one-way (account-wide)."""
        n = yield from self._get(
            _signed("/fapi/v1/positionSide/dual", [], 30, "position_mode"),
            NativePositionMode,
            "position mode",
        )
        return PositionMode.HEDGE if n.dualSidePosition else PositionMode.ONE_WAY

    def fetch_account_config(self) -> RestFlow[NativeAccountConfig]:
        """``GET /fapi/v1/accountConfig`` (position mode, multi-assets, fee tier...)."""
        n: NativeAccountConfig = yield from self._get(
            _signed("/fapi/v1/accountConfig", [], 5, "account_config"),
            NativeAccountConfig,
            "account config",
        )
        return n

    def fetch_symbol_config(self, symbol: str | None = None) -> RestFlow[list[NativeSymbolConfig]]:
        """``GET /fapi/v1/symbolConfig``: leverage and margin type per symbol."""
        params = [("symbol", self._native(symbol))] if symbol else []
        rows: list[NativeSymbolConfig] = yield from self._get(
            _signed("/fapi/v1/symbolConfig", params, 5, "symbol_config"),
            list[NativeSymbolConfig],
            "symbol config",
        )
        return rows

    def fetch_leverage_brackets(
        self, symbol: str | None = None
    ) -> RestFlow[list[NativeLeverageBracket]]:
        """``GET /fapi/v1/leverageBracket``: notional tiers and their max leverage."""
        params = [("symbol", self._native(symbol))] if symbol else []
        rows: list[NativeLeverageBracket] = yield from self._get(
            _signed("/fapi/v1/leverageBracket", params, 1, "leverage_brackets"),
            list[NativeLeverageBracket],
            "leverage brackets",
        )
        return rows

    def fetch_commission_rate(self, symbol: str) -> RestFlow[NativeCommissionRate]:
        """``GET /fapi/v1/commissionRate``: maker / taker fee rates."""
        n: NativeCommissionRate = yield from self._get(
            _signed(
                "/fapi/v1/commissionRate", [("symbol", self._native(symbol))], 20, "commission"
            ),
            NativeCommissionRate,
            "commission rate",
        )
        return n

    def fetch_income(
        self, symbol: str | None = None, since: int | None = None, limit: int | None = None
    ) -> RestFlow[list[NativeIncome]]:
        """``GET /fapi/v1/income``: funding fees, commissions, realised PnL, transfers."""
        params = [("symbol", self._native(symbol))] if symbol else []
        if since is not None:
            params.append(("startTime", str(since)))
        if limit is not None:
            params.append(("limit", str(min(int(limit), 1000))))
        rows: list[NativeIncome] = yield from self._get(
            _signed("/fapi/v1/income", params, 30, "income"), list[NativeIncome], "income"
        )
        return rows


def cancel_params_for(
    native: str, order_id: str | None, client_order_id: str | None
) -> list[tuple[str, str]]:
    """``symbol`` + ``orderId`` / ``origClientOrderId`` (query and cancel share them)."""
    return cancel_params(CancelRequest(symbol=native, id=order_id, client_order_id=client_order_id))
