"""Engine objects rendered as Binance USD-M JSON (REST bodies and user-data events).

Types follow the venue: ids and times are JSON numbers, prices/amounts are strings, flags are
booleans (``isAutoAddMargin`` in positionRisk v2 is the string ``"false"`` as on the venue).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._engine import Engine
from .._events import AccountUpdate, ConditionalUpdate, ConfigUpdate, OrderUpdate
from .._instruments import Instrument, fmt_fixed
from .._model import (
    ZERO,
    Conditional,
    ExecType,
    MarginType,
    Order,
    OrderStatus,
    Position,
    TriggerBy,
)

__all__ = ["Renderer", "money", "working_type"]

_MMR = Decimal("0.004")


def money(value: Decimal, decimals: int = 8) -> str:
    return fmt_fixed(value, decimals)


def working_type(by: TriggerBy) -> str:
    return "MARK_PRICE" if by is TriggerBy.MARK else "CONTRACT_PRICE"


def _margin_word(mt: MarginType) -> str:
    return "isolated" if mt is MarginType.ISOLATED else "cross"


class Renderer:
    """Turns engine state into Binance payloads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def inst(self, symbol: str) -> Instrument:
        return self.engine.instruments[symbol]

    # -- orders --------------------------------------------------------------------------------
    def order(self, o: Order, *, variant: str = "new", ack: bool = False) -> dict[str, Any]:
        """REST/WS order body. ``variant``: new | query | cancel | modify | ws_modify.
        ``ack`` renders the state at acceptance (newOrderRespType=ACK)."""
        inst = self.inst(o.symbol)
        executed = ZERO if ack else o.executed_qty
        cum_quote = ZERO if ack else o.cum_quote
        avg = ZERO if ack or not executed else cum_quote / executed
        status = OrderStatus.NEW if ack else o.status
        updated = o.created_ms if ack else o.updated_ms
        d: dict[str, Any] = {}
        if variant in ("modify", "ws_modify"):
            d["orderId"] = o.order_id
            d["symbol"] = o.symbol
            if variant == "modify":
                d["pair"] = o.symbol
            d["status"] = status.value
            d["clientOrderId"] = o.client_id
            d["price"] = inst.fmt_price(o.price)
            d["avgPrice"] = fmt_fixed(avg, 5)
            d["origQty"] = inst.fmt_qty(o.qty)
            d["executedQty"] = inst.fmt_qty(executed)
            d["cumQty"] = inst.fmt_qty(executed)
            d["cumQuote"] = fmt_fixed(cum_quote, 5)
            if variant == "modify":
                d["cumBase"] = inst.fmt_qty(executed)
            d["timeInForce"] = o.tif.value
            d["type"] = o.kind.value
            d["reduceOnly"] = o.reduce_only
            d["closePosition"] = o.close_position
            d["side"] = o.side.value
            d["positionSide"] = o.position_side.value
            d["stopPrice"] = inst.fmt_price(o.stop_price)
            d["workingType"] = working_type(o.working_type)
            d["priceProtect"] = bool(o.extra.get("priceProtect", False))
            d["origType"] = o.orig_type
            d["priceMatch"] = str(o.extra.get("priceMatch", "NONE"))
            d["selfTradePreventionMode"] = o.stp.value
            d["goodTillDate"] = o.good_till_ms
            d["updateTime"] = updated
            return d
        if variant == "query":
            d["avgPrice"] = fmt_fixed(avg, 5)
        d["clientOrderId"] = o.client_id
        if variant != "query":
            d["cumQty"] = inst.fmt_qty(executed)
        d["cumQuote"] = fmt_fixed(cum_quote, 5)
        d["executedQty"] = inst.fmt_qty(executed)
        d["orderId"] = o.order_id
        if variant != "query":
            d["avgPrice"] = fmt_fixed(avg, 5)
        d["origQty"] = inst.fmt_qty(o.qty)
        d["origType"] = o.orig_type
        d["price"] = inst.fmt_price(o.price)
        d["reduceOnly"] = o.reduce_only
        d["side"] = o.side.value
        d["positionSide"] = o.position_side.value
        d["status"] = status.value
        d["stopPrice"] = inst.fmt_price(o.stop_price)
        d["closePosition"] = o.close_position
        d["symbol"] = o.symbol
        if variant == "query":
            d["time"] = o.created_ms
        d["timeInForce"] = o.tif.value
        d["type"] = o.kind.value
        if o.orig_type == "TRAILING_STOP_MARKET":
            d["activatePrice"] = inst.fmt_price(o.activate_price)
            d["priceRate"] = str(o.callback_rate)
        d["updateTime"] = updated
        d["workingType"] = working_type(o.working_type)
        d["priceProtect"] = bool(o.extra.get("priceProtect", False))
        d["priceMatch"] = str(o.extra.get("priceMatch", "NONE"))
        d["selfTradePreventionMode"] = o.stp.value
        d["goodTillDate"] = o.good_till_ms
        return d

    def _order_notional(self, account: str, symbol: str) -> tuple[Decimal, Decimal]:
        bids = asks = ZERO
        for o in self.engine.accounts[account].open_orders.values():
            if o.symbol != symbol:
                continue
            value = o.remaining * (o.price or self.engine.markets[symbol].mark_price)
            if o.side.value == "BUY":
                bids += value
            else:
                asks += value
        return bids, asks

    def order_trade_update(self, ev: OrderUpdate, event_ms: int) -> dict[str, Any]:
        o = ev.order
        inst = self.inst(o.symbol)
        fill = ev.fill
        exec_type = "EXPIRED" if ev.exec_type is ExecType.REJECTED else ev.exec_type.value
        bids, asks = (
            self._order_notional(o.account, o.symbol)
            if o.account in self.engine.accounts
            else (ZERO, ZERO)
        )
        avg = o.cum_quote / o.executed_qty if o.executed_qty else ZERO
        body: dict[str, Any] = {
            "s": o.symbol,
            "c": o.client_id,
            "S": o.side.value,
            "o": o.kind.value,
            "f": o.tif.value,
            "q": inst.fmt_qty(o.qty),
            "p": inst.fmt_price(o.price),
            "ap": fmt_fixed(avg, 5),
            "sp": inst.fmt_price(o.stop_price),
            "x": exec_type,
            "X": o.status.value,
            "i": o.order_id,
            "l": inst.fmt_qty(fill.qty) if fill else inst.fmt_qty(ZERO),
            "z": inst.fmt_qty(o.executed_qty),
            "L": inst.fmt_price(fill.price) if fill else inst.fmt_price(ZERO),
            "N": self.engine.settle_asset,
            "n": money(fill.fee) if fill else "0",
            "T": ev.ts,
            "t": fill.trade_id if fill else 0,
            "b": money(bids, 5),
            "a": money(asks, 5),
            "m": fill.maker if fill else False,
            "R": o.reduce_only,
            "wt": working_type(o.working_type),
            "ot": o.orig_type,
            "ps": o.position_side.value,
            "cp": o.close_position,
            "AP": inst.fmt_price(o.activate_price),
            "cr": str(o.callback_rate),
            "pP": bool(o.extra.get("priceProtect", False)),
            "si": 0,
            "ss": 0,
            "rp": money(fill.realized_pnl) if fill else "0",
            "V": o.stp.value,
            "pm": str(o.extra.get("priceMatch", "NONE")),
            "gtd": o.good_till_ms,
            "er": "0",
        }
        return {"e": "ORDER_TRADE_UPDATE", "E": event_ms, "T": ev.ts, "o": body}

    def trade_lite(self, ev: OrderUpdate, event_ms: int) -> dict[str, Any] | None:
        fill = ev.fill
        if fill is None:
            return None
        o = ev.order
        inst = self.inst(o.symbol)
        return {
            "e": "TRADE_LITE",
            "E": event_ms,
            "T": ev.ts,
            "s": o.symbol,
            "q": inst.fmt_qty(o.qty),
            "p": inst.fmt_price(o.price),
            "m": fill.maker,
            "c": o.client_id,
            "S": o.side.value,
            "L": inst.fmt_price(fill.price),
            "l": inst.fmt_qty(fill.qty),
            "t": fill.trade_id,
            "i": o.order_id,
        }

    def position_event_row(self, p: Position) -> dict[str, Any]:
        inst = self.inst(p.symbol)
        mark = self.engine.markets[p.symbol].mark_price
        cfg = self.engine.accounts[p.account].configs.get(p.symbol)
        mt = cfg.margin_type if cfg else MarginType.CROSSED
        return {
            "s": p.symbol,
            "pa": inst.fmt_qty(p.amount),
            "ep": fmt_fixed(p.entry_price, 7),
            "bep": fmt_fixed(p.break_even_price, 7),
            "cr": money(p.realized_pnl),
            "up": money(p.unrealized(mark)),
            "mt": _margin_word(mt),
            "iw": money(p.isolated_wallet),
            "ps": p.position_side.value,
        }

    def account_update(self, ev: AccountUpdate, event_ms: int) -> dict[str, Any]:
        changes = dict(ev.balance_changes)
        acct = self.engine.accounts.get(ev.account)
        balances = []
        for b in ev.balances:
            iso = ZERO
            if acct is not None:
                iso = sum((p.isolated_wallet for p in acct.positions.values()), ZERO)
            balances.append(
                {
                    "a": b.asset,
                    "wb": money(b.wallet),
                    "cw": money(b.wallet - iso),
                    "bc": money(changes.get(b.asset, ZERO)),
                }
            )
        return {
            "e": "ACCOUNT_UPDATE",
            "E": event_ms,
            "T": ev.ts,
            "a": {
                "m": ev.reason,
                "B": balances,
                "P": [self.position_event_row(p) for p in ev.positions],
            },
        }

    def config_update(self, ev: ConfigUpdate, event_ms: int) -> dict[str, Any] | None:
        if ev.leverage is not None and ev.symbol is not None:
            return {
                "e": "ACCOUNT_CONFIG_UPDATE",
                "E": event_ms,
                "T": ev.ts,
                "ac": {"s": ev.symbol, "l": ev.leverage},
            }
        if ev.margin_type is not None and ev.symbol is not None:
            rows = [
                self.position_event_row(p)
                for p in self.engine.positions(ev.account, ev.symbol, include_flat=True)
            ]
            return {
                "e": "ACCOUNT_UPDATE",
                "E": event_ms,
                "T": ev.ts,
                "a": {"m": "MARGIN_TYPE_CHANGE", "B": [], "P": rows},
            }
        return None  # position-mode changes are not pushed by the venue

    # -- algo orders ---------------------------------------------------------------------------
    def _actual(self, c: Conditional) -> Order | None:
        if not c.order_id:
            return None
        acct = self.engine.accounts.get(c.account)
        return acct.orders.get(c.order_id) if acct else None

    def algo(self, c: Conditional, *, variant: str = "new") -> dict[str, Any]:
        """variant: new (place response) | query (query / open / all)."""
        inst = self.inst(c.symbol)
        qty = "" if c.close_position else inst.fmt_qty(c.qty)
        d: dict[str, Any] = {
            "algoId": c.cond_id,
            "clientAlgoId": c.client_id,
            "algoType": "CONDITIONAL",
            "orderType": c.orig_type,
            "symbol": c.symbol,
            "side": c.side.value,
            "positionSide": c.position_side.value,
            "timeInForce": c.tif.value,
            "quantity": qty,
            "algoStatus": c.status.value,
        }
        if variant == "query":
            actual = self._actual(c)
            d["actualOrderId"] = str(c.order_id) if c.order_id else ""
            d["actualPrice"] = fmt_fixed(actual.avg_price, 5) if actual else "0.00000"
        d["triggerPrice"] = inst.fmt_price(c.trigger_price)
        d["price"] = inst.fmt_price(c.price)
        d["icebergQuantity"] = None
        if variant == "query":
            d["tpTriggerPrice"] = "0.000"
            d["tpPrice"] = "0.000"
            d["slTriggerPrice"] = "0.000"
            d["slPrice"] = "0.000"
            d["tpOrderType"] = ""
        d["selfTradePreventionMode"] = c.stp.value
        d["workingType"] = working_type(c.trigger_by)
        d["priceMatch"] = str(c.extra.get("priceMatch", "NONE"))
        d["closePosition"] = c.close_position
        d["priceProtect"] = bool(c.extra.get("priceProtect", False))
        d["reduceOnly"] = c.reduce_only
        if variant == "new":
            d["activatePrice"] = (
                inst.fmt_price(c.activate_price) if c.activate_price is not None else ""
            )
            d["callbackRate"] = str(c.callback_rate) if c.callback_rate is not None else ""
        d["createTime"] = c.created_ms
        d["updateTime"] = c.updated_ms
        d["triggerTime"] = c.trigger_ms
        d["goodTillDate"] = c.good_till_ms
        return d

    def algo_update(self, ev: ConditionalUpdate, event_ms: int) -> dict[str, Any]:
        c = ev.cond
        inst = self.inst(c.symbol)
        actual = self._actual(c)
        return {
            "e": "ALGO_UPDATE",
            "T": ev.ts,
            "E": event_ms,
            "o": {
                "caid": c.client_id,
                "aid": c.cond_id,
                "at": "CONDITIONAL",
                "o": c.orig_type,
                "s": c.symbol,
                "S": c.side.value,
                "ps": c.position_side.value,
                "f": c.tif.value,
                "q": "0" if c.close_position else inst.fmt_qty(c.qty),
                "X": c.status.value,
                "ai": str(c.order_id) if c.order_id else "",
                "ap": fmt_fixed(actual.avg_price, 5) if actual else "0.00000",
                "aq": fmt_fixed(actual.executed_qty, 5) if actual else "0.00000",
                "act": actual.kind.value if actual else "0",
                "tp": inst.fmt_price(c.trigger_price),
                "p": inst.fmt_price(c.price),
                "V": c.stp.value,
                "wt": working_type(c.trigger_by),
                "pm": str(c.extra.get("priceMatch", "NONE")),
                "cp": c.close_position,
                "pP": bool(c.extra.get("priceProtect", False)),
                "R": c.reduce_only,
                "tt": c.trigger_ms,
                "gtd": c.good_till_ms,
                "rm": c.reject_reason,
            },
        }

    # -- positions / account -------------------------------------------------------------------
    def _liq_price(self, p: Position, leverage: int) -> Decimal:
        if not p.amount:
            return ZERO
        # simple isolated-style estimate: entry moved by (1/leverage - maintenance rate)
        move = Decimal(1) / leverage - _MMR
        factor = 1 - move if p.amount > 0 else 1 + move
        return max(p.entry_price * factor, ZERO)

    def position_v3(self, p: Position) -> dict[str, Any]:
        inst = self.inst(p.symbol)
        eng = self.engine
        mark = eng.markets[p.symbol].mark_price
        cfg = eng.symbol_config(p.account, p.symbol)
        notional = p.amount * mark
        im = abs(notional) / cfg.leverage
        bids, asks = self._order_notional(p.account, p.symbol)
        oo_im = (bids + asks) / cfg.leverage
        iso = cfg.margin_type is MarginType.ISOLATED
        return {
            "symbol": p.symbol,
            "positionSide": p.position_side.value,
            "positionAmt": inst.fmt_qty(p.amount),
            "entryPrice": fmt_fixed(p.entry_price, 7),
            "breakEvenPrice": fmt_fixed(p.break_even_price, 7),
            "markPrice": money(mark),
            "unRealizedProfit": money(p.unrealized(mark)),
            "liquidationPrice": money(self._liq_price(p, cfg.leverage)),
            "isolatedMargin": money(p.isolated_wallet + p.unrealized(mark) if iso else ZERO),
            "notional": money(notional),
            "marginAsset": eng.settle_asset,
            "isolatedWallet": money(p.isolated_wallet),
            "initialMargin": money(im + oo_im),
            "maintMargin": money(abs(notional) * _MMR),
            "positionInitialMargin": money(im),
            "openOrderInitialMargin": money(oo_im),
            "adl": 0,
            "bidNotional": money(bids),
            "askNotional": money(asks),
            "updateTime": p.updated_ms,
        }

    def position_v2(self, p: Position) -> dict[str, Any]:
        inst = self.inst(p.symbol)
        eng = self.engine
        mark = eng.markets[p.symbol].mark_price
        cfg = eng.symbol_config(p.account, p.symbol)
        iso = cfg.margin_type is MarginType.ISOLATED
        return {
            "symbol": p.symbol,
            "positionAmt": inst.fmt_qty(p.amount),
            "entryPrice": fmt_fixed(p.entry_price, 7),
            "breakEvenPrice": fmt_fixed(p.break_even_price, 7),
            "markPrice": money(mark),
            "unRealizedProfit": money(p.unrealized(mark)),
            "liquidationPrice": money(self._liq_price(p, cfg.leverage)),
            "leverage": str(cfg.leverage),
            "maxNotionalValue": str(max_notional(cfg.leverage)),
            "marginType": _margin_word(cfg.margin_type),
            "isolatedMargin": money(p.isolated_wallet + p.unrealized(mark) if iso else ZERO),
            "isAutoAddMargin": "false",
            "positionSide": p.position_side.value,
            "notional": money(p.amount * mark),
            "isolatedWallet": money(p.isolated_wallet),
            "updateTime": p.updated_ms,
        }

    def position_rows(
        self, account: str, symbol: str | None, *, only_active: bool
    ) -> list[Position]:
        eng = self.engine
        acct = eng.accounts[account]
        rows = eng.positions(account, symbol, include_flat=True)
        if not only_active:
            return rows
        with_orders = {o.symbol for o in acct.open_orders.values()}
        active = {p.symbol for p in rows if p.amount}
        return [p for p in rows if p.amount or (p.symbol in with_orders and p.symbol not in active)]

    def asset_row(self, account: str, *, v2: bool) -> dict[str, Any]:
        eng = self.engine
        s = eng.summary(account)
        bal = eng.accounts[account].balances.get(eng.settle_asset)
        d: dict[str, Any] = {
            "asset": eng.settle_asset,
            "walletBalance": money(s.wallet),
            "unrealizedProfit": money(s.unrealized),
            "marginBalance": money(s.margin_balance),
            "maintMargin": money(s.maint_margin),
            "initialMargin": money(s.position_initial_margin + s.open_order_initial_margin),
            "positionInitialMargin": money(s.position_initial_margin),
            "openOrderInitialMargin": money(s.open_order_initial_margin),
            "crossWalletBalance": money(s.cross_wallet),
            "crossUnPnl": money(s.cross_unrealized),
            "availableBalance": money(s.available),
            "maxWithdrawAmount": money(max(min(s.available, s.wallet), ZERO)),
        }
        if v2:
            d["marginAvailable"] = True
        d["updateTime"] = bal.updated_ms if bal else 0
        return d

    def account(self, account: str, *, v2: bool) -> dict[str, Any]:
        eng = self.engine
        acct = eng.accounts[account]
        s = eng.summary(account)
        d: dict[str, Any] = {}
        if v2:
            d.update(
                {
                    "feeTier": 0,
                    "feeBurn": True,
                    "canDeposit": True,
                    "canWithdraw": True,
                    "updateTime": 0,
                    "multiAssetsMargin": acct.multi_assets,
                    "tradeGroupId": -1,
                }
            )
        d.update(
            {
                "totalInitialMargin": money(
                    s.position_initial_margin + s.open_order_initial_margin
                ),
                "totalMaintMargin": money(s.maint_margin),
                "totalWalletBalance": money(s.wallet),
                "totalUnrealizedProfit": money(s.unrealized),
                "totalMarginBalance": money(s.margin_balance),
                "totalPositionInitialMargin": money(s.position_initial_margin),
                "totalOpenOrderInitialMargin": money(s.open_order_initial_margin),
                "totalCrossWalletBalance": money(s.cross_wallet),
                "totalCrossUnPnl": money(s.cross_unrealized),
                "availableBalance": money(s.available),
                "maxWithdrawAmount": money(max(min(s.available, s.wallet), ZERO)),
                "assets": [self.asset_row(account, v2=v2)],
            }
        )
        if v2:
            d["positions"] = [
                self._account_pos_v2(p) for p in eng.positions(account, include_flat=True)
            ]
        else:
            d["positions"] = [
                self._account_pos_v3(p)
                for p in self.position_rows(account, None, only_active=True)
                if p.amount
            ]
        return d

    def _account_pos_v2(self, p: Position) -> dict[str, Any]:
        inst = self.inst(p.symbol)
        eng = self.engine
        mark = eng.markets[p.symbol].mark_price
        cfg = eng.symbol_config(p.account, p.symbol)
        bids, asks = self._order_notional(p.account, p.symbol)
        im = abs(p.amount * mark) / cfg.leverage
        return {
            "symbol": p.symbol,
            "initialMargin": money(im + (bids + asks) / cfg.leverage),
            "maintMargin": money(abs(p.amount * mark) * _MMR),
            "unrealizedProfit": money(p.unrealized(mark)),
            "positionInitialMargin": money(im),
            "openOrderInitialMargin": money((bids + asks) / cfg.leverage),
            "leverage": str(cfg.leverage),
            "isolated": cfg.margin_type is MarginType.ISOLATED,
            "entryPrice": fmt_fixed(p.entry_price, 7),
            "maxNotional": str(max_notional(cfg.leverage)),
            "bidNotional": money(bids),
            "askNotional": money(asks),
            "positionSide": p.position_side.value,
            "positionAmt": inst.fmt_qty(p.amount),
            "updateTime": p.updated_ms,
        }

    def _account_pos_v3(self, p: Position) -> dict[str, Any]:
        inst = self.inst(p.symbol)
        eng = self.engine
        mark = eng.markets[p.symbol].mark_price
        cfg = eng.symbol_config(p.account, p.symbol)
        im = abs(p.amount * mark) / cfg.leverage
        iso = cfg.margin_type is MarginType.ISOLATED
        return {
            "symbol": p.symbol,
            "positionSide": p.position_side.value,
            "positionAmt": inst.fmt_qty(p.amount),
            "unrealizedProfit": money(p.unrealized(mark)),
            "isolatedMargin": money(p.isolated_wallet + p.unrealized(mark) if iso else ZERO),
            "notional": money(p.amount * mark),
            "isolatedWallet": money(p.isolated_wallet),
            "initialMargin": money(im),
            "maintMargin": money(abs(p.amount * mark) * _MMR),
            "updateTime": p.updated_ms,
        }

    def balance(self, account: str) -> list[dict[str, Any]]:
        eng = self.engine
        s = eng.summary(account)
        acct = eng.accounts[account]
        alias = "Sim" + acct.api_key[:4]
        bal = acct.balances.get(eng.settle_asset)
        return [
            {
                "accountAlias": alias,
                "asset": eng.settle_asset,
                "balance": money(s.wallet),
                "crossWalletBalance": money(s.cross_wallet),
                "crossUnPnl": money(s.cross_unrealized),
                "availableBalance": money(s.available),
                "maxWithdrawAmount": money(max(min(s.available, s.wallet), ZERO)),
                "marginAvailable": True,
                "updateTime": bal.updated_ms if bal else 0,
            }
        ]


def max_notional(leverage: int) -> int:
    """Largest position notional allowed at ``leverage`` (a simple bracket table)."""
    for lev, cap in (
        (125, 50_000),
        (100, 600_000),
        (75, 3_000_000),
        (50, 12_000_000),
        (25, 70_000_000),
        (20, 100_000_000),
        (10, 230_000_000),
        (5, 480_000_000),
        (4, 600_000_000),
        (3, 800_000_000),
        (2, 1_200_000_000),
    ):
        if leverage >= lev:
            return cap
    return 1_800_000_000
