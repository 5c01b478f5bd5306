"""Bybit v5 linear trading semantics on top of the venue-neutral engine.

Shared by REST and the ``/v5/trade`` websocket: every method takes the account's API key and the
request parameters, and returns the ``result`` object or raises :class:`BybitError`.

Venue rules applied here (not in the engine): ``positionIdx`` must match the position mode
(10001); in hedge mode closing is "opposite side + same idx" and ``reduceOnly`` only flags it
(110017 when it would not reduce); ``orderLinkId`` is unique forever per account (110072);
post-only and FOK orders that cannot rest/fill are accepted and then cancelled; conditional
orders (``triggerPrice``) share their ``orderId`` with the order they place when triggered.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from .._engine import Engine
from .._model import (
    Conditional,
    CondParams,
    CondStatus,
    MarginType,
    Order,
    OrderKind,
    OrderParams,
    OrderRejected,
    PositionSide,
    RejectReason,
    Side,
    TriggerDirection,
)
from . import _codes as C
from . import _render as R
from ._bridge import IDX_OF, SIDE_OF, TIF_OF, TRIGGER_BY_OF, Bridge
from ._errors import BybitError, from_rejection
from ._format import plain
from ._params import LINK_ID, Params, page_cursor, parse_cursor
from ._views import OrderView

__all__ = ["MAX_BATCH", "Trading"]

MAX_BATCH = 20
_SEVEN_DAYS = 7 * 86_400_000
_OPEN_COND = (CondStatus.NEW, CondStatus.TRIGGERING)


def _links(engine: Engine, api_key: str) -> set[str]:
    acct = engine.account(api_key)
    links = acct.extra.get("bybit_links")
    if not isinstance(links, set):
        links = set()
        acct.extra["bybit_links"] = links
    return links


class Trading:
    """Order entry, queries and settings of one simulated Bybit venue."""

    def __init__(
        self, engine: Engine, bridge: Bridge, on_rejected: Callable[[str, str], None] | None = None
    ) -> None:
        self.engine = engine
        self.bridge = bridge
        self.ids = bridge.ids
        self.on_rejected = on_rejected

    # -- helpers -------------------------------------------------------------------------------
    def _symbol(self, p: Params) -> str:
        symbol = p.req_text("symbol")
        if symbol not in self.engine.instruments:
            raise BybitError(C.PARAM_ERROR, "params error: symbol invalid")
        return symbol

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except OrderRejected as exc:
            raise from_rejection(exc) from None

    def _find(self, api_key: str, symbol: str, p: Params) -> Order | Conditional:
        """The order named by ``orderId`` (wins) or ``orderLinkId``; 110001 when unknown."""
        order_id = p.text("orderId")
        link = p.text("orderLinkId")
        if not order_id and not link:
            raise BybitError(C.PARAM_ERROR, "params error: orderId or orderLinkId is required")
        eng = self.engine
        acct = eng.account(api_key)
        if order_id:
            cid = self.ids.cond_of(order_id)
            if cid is not None:
                cond = acct.conds.get(cid)
                if cond is None or cond.symbol != symbol:
                    raise BybitError(C.ORDER_NOT_EXISTS)
                if cond.order_id and cond.order_id in acct.orders:
                    return acct.orders[cond.order_id]
                return cond
            oid = self.ids.order_of(order_id)
            if oid is None:
                raise BybitError(C.ORDER_NOT_EXISTS)
            order = acct.orders.get(oid)
            if order is None or order.symbol != symbol:
                raise BybitError(C.ORDER_NOT_EXISTS)
            return order
        assert link is not None
        for order in reversed(list(acct.orders.values())):
            if order.extra.get("bybit_link_id") == link and order.symbol == symbol:
                return order
        for cond in reversed(list(acct.conds.values())):
            if cond.extra.get("bybit_link_id") == link and cond.symbol == symbol:
                return cond
        raise BybitError(C.ORDER_NOT_EXISTS)

    def _ids_of(self, obj: Order | Conditional) -> dict[str, str]:
        if isinstance(obj, Conditional):
            oid = self.ids.cond(obj.cond_id)
        else:
            oid = self.ids.order(obj.order_id, obj.cond_id)
        return {"orderId": oid, "orderLinkId": str(obj.extra.get("bybit_link_id", ""))}

    # -- create ----------------------------------------------------------------------------------
    def create(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        """``/v5/order/create`` → ``{orderId, orderLinkId}`` (the ack; the outcome is on the stream)."""
        p = Params(raw)
        p.category()
        eng = self.engine
        acct = eng.account(api_key)
        symbol = self._symbol(p)
        side_text = p.req_text("side")
        side = SIDE_OF.get(side_text)
        if side is None:
            raise BybitError(C.PARAM_ERROR, "params error: side invalid")
        kind_text = p.req_text("orderType")
        if kind_text not in ("Limit", "Market"):
            raise BybitError(C.PARAM_ERROR, "params error: orderType invalid")
        kind = OrderKind.LIMIT if kind_text == "Limit" else OrderKind.MARKET
        qty = p.decimal("qty", required=True)
        assert qty is not None
        price = p.decimal("price")
        tif_text = p.text("timeInForce", "GTC")
        assert tif_text is not None
        if kind is OrderKind.MARKET:
            tif_text = "IOC"
            price = None
        tif = TIF_OF.get(tif_text)
        if tif is None:
            raise BybitError(C.PARAM_ERROR, f"params error: timeInForce {tif_text} invalid")
        if kind is OrderKind.LIMIT and price is None:
            raise BybitError(C.PARAM_ERROR, "params error: price is required for Limit orders")
        idx = p.integer("positionIdx", 0)
        ps = IDX_OF.get(idx if idx is not None else -1)
        if ps is None:
            raise BybitError(C.PARAM_ERROR, "params error: positionIdx invalid")
        if (ps is PositionSide.BOTH) == acct.dual_side:
            raise BybitError(C.PARAM_ERROR, C.POSITION_IDX_MISMATCH)
        link = p.text("orderLinkId", "") or ""
        if link and not LINK_ID.match(link):
            raise BybitError(C.PARAM_ERROR, "params error: orderLinkId invalid")
        links = _links(eng, api_key)
        if link and link in links:
            raise BybitError(C.DUPLICATE_LINK_ID)
        reduce_only = p.flag("reduceOnly")
        close_on_trigger = p.flag("closeOnTrigger")
        for unsupported in ("takeProfit", "stopLoss", "tpslMode", "slippageToleranceType"):
            if p.has(unsupported):
                raise BybitError(C.PARAM_ERROR, f"params error: {unsupported} is not simulated")
        engine_reduce = reduce_only or close_on_trigger
        if acct.dual_side:
            closing = (ps is PositionSide.LONG and side is Side.SELL) or (
                ps is PositionSide.SHORT and side is Side.BUY
            )
            if engine_reduce and not closing:
                raise BybitError(C.REDUCE_ONLY_RULE)
            engine_reduce = False  # the engine caps hedge closing orders by itself
        mkt = eng.markets[symbol]
        extra: dict[str, Any] = {
            "bybit_link_id": link,
            "bybit_reduce_only": reduce_only,
            "bybit_close_on_trigger": close_on_trigger,
            "bybit_last_price": mkt.last_price,
        }
        if kind is OrderKind.MARKET:
            extra["bybit_price"] = self.bridge.market_price(symbol, side)
        trigger = p.decimal("triggerPrice")
        if trigger is not None and trigger != 0:
            direction_n = p.integer("triggerDirection")
            if direction_n not in (1, 2):
                raise BybitError(C.PARAM_ERROR, "params error: triggerDirection invalid")
            by_text = p.text("triggerBy", "LastPrice")
            assert by_text is not None
            by = TRIGGER_BY_OF.get(by_text)
            if by is None:
                raise BybitError(C.PARAM_ERROR, "params error: triggerBy invalid")
            extra["bybit_trigger_direction"] = direction_n
            # one venue order from placement to fill: amends and the trigger keep createdTime
            extra["bybit_created_ms"] = eng.now()
            cond = self._call(
                lambda: eng.place_conditional(
                    api_key,
                    CondParams(
                        symbol=symbol,
                        side=side,
                        kind=kind,
                        qty=qty,
                        trigger_price=trigger,
                        direction=TriggerDirection.RISE
                        if direction_n == 1
                        else TriggerDirection.FALL,
                        trigger_by=by,
                        price=price,
                        tif=tif,
                        position_side=ps,
                        reduce_only=engine_reduce,
                        client_id=link,
                        extra=extra,
                    ),
                )
            )
            if link:
                links.add(link)
            return {"orderId": self.ids.cond(cond.cond_id), "orderLinkId": link}
        params = OrderParams(
            symbol=symbol,
            side=side,
            kind=kind,
            qty=qty,
            price=price,
            tif=tif,
            position_side=ps,
            reduce_only=engine_reduce,
            client_id=link,
            post_only_action="expire",
            fok_action="expire",
            orig_type=kind_text,
            extra=extra,
        )
        try:
            order = eng.place_order(api_key, params)
        except OrderRejected as exc:
            if self.on_rejected is not None:
                self.on_rejected(api_key, symbol)
            raise from_rejection(exc) from None
        if link:
            links.add(link)
        return {"orderId": self.ids.order(order.order_id), "orderLinkId": link}

    def pre_check(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        """``/v5/order/pre-check``: validation only, with the margin the order would use."""
        p = Params(raw)
        p.category()
        symbol = self._symbol(p)
        side = SIDE_OF.get(p.req_text("side"))
        if side is None:
            raise BybitError(C.PARAM_ERROR, "params error: side invalid")
        kind = OrderKind.LIMIT if p.req_text("orderType") == "Limit" else OrderKind.MARKET
        qty = p.decimal("qty", required=True)
        assert qty is not None
        price = p.decimal("price") if kind is OrderKind.LIMIT else None
        idx = p.integer("positionIdx", 0)
        ps = IDX_OF.get(idx if idx is not None else -1, PositionSide.BOTH)
        eng = self.engine
        acct = eng.account(api_key)
        if (ps is PositionSide.BOTH) == acct.dual_side:
            raise BybitError(C.PARAM_ERROR, C.POSITION_IDX_MISMATCH)
        params = OrderParams(
            symbol,
            side,
            kind,
            qty,
            price,
            position_side=ps,
            post_only_action="expire",
            fok_action="expire",
        )
        before = eng.summary(api_key)
        self._call(lambda: eng.check_order(api_key, params))
        lev = eng.symbol_config(api_key, symbol).leverage
        ref = price if price is not None else eng.markets[symbol].mark_price
        im = ref * qty / lev
        equity = before.margin_balance
        pre_rate = (
            (before.position_initial_margin + before.open_order_initial_margin) / equity
            if equity
            else Decimal(0)
        )
        post_rate = (
            (before.position_initial_margin + before.open_order_initial_margin + im) / equity
            if equity
            else Decimal(0)
        )
        bp = Decimal(10000)
        return {
            "orderId": "",
            "orderLinkId": str(raw.get("orderLinkId", "")),
            "preImrE4": int(pre_rate * bp),
            "preMmrE4": int(before.maint_margin / equity * bp) if equity else 0,
            "postImrE4": int(post_rate * bp),
            "postMmrE4": int(before.maint_margin / equity * bp) if equity else 0,
        }

    # -- amend / cancel --------------------------------------------------------------------------
    def amend(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = self._symbol(p)
        obj = self._find(api_key, symbol, p)
        qty = p.decimal("qty")
        price = p.decimal("price")
        trigger = p.decimal("triggerPrice")
        for unsupported in ("takeProfit", "stopLoss"):
            if p.has(unsupported):
                raise BybitError(C.PARAM_ERROR, f"params error: {unsupported} is not simulated")
        if isinstance(obj, Conditional):
            return self._amend_cond(api_key, obj, qty, price, trigger)
        if not obj.is_open:
            raise BybitError(C.ORDER_NOT_EXISTS)
        if trigger is not None and trigger != obj.stop_price:
            raise BybitError(
                C.PARAM_ERROR, "params error: triggerPrice can only be amended before trigger"
            )
        eng = self.engine
        keep = price is None or price == obj.price
        self._call(
            lambda: eng.amend_order(
                api_key, symbol, order_id=obj.order_id, qty=qty, price=price, keep_priority=keep
            )
        )
        return self._ids_of(obj)

    def _amend_cond(
        self,
        api_key: str,
        cond: Conditional,
        qty: Decimal | None,
        price: Decimal | None,
        trigger: Decimal | None,
    ) -> dict[str, Any]:
        if cond.status not in _OPEN_COND:
            raise BybitError(C.ORDER_NOT_EXISTS)
        inst = self.engine.instruments[cond.symbol]
        changed = False
        if qty is not None and qty != cond.qty:
            if qty <= 0 or inst.steps(qty) is None:
                raise from_rejection(OrderRejected(RejectReason.INVALID_QTY))
            changed = True
        if price is not None and price != cond.price:
            if price <= 0 or inst.ticks(price) is None:
                raise from_rejection(OrderRejected(RejectReason.INVALID_PRICE))
            changed = True
        if trigger is not None and trigger != cond.trigger_price:
            if trigger <= 0 or inst.ticks(trigger) is None:
                raise from_rejection(OrderRejected(RejectReason.INVALID_PRICE))
            changed = True
        if not changed:
            raise BybitError(C.PARAM_ERROR, C.ORDER_NOT_MODIFIED)
        # the engine has no amend for conditionals: replace it, keeping the venue's orderId
        eng = self.engine
        old_uuid = self.ids.cond(cond.cond_id)
        params = CondParams(
            symbol=cond.symbol,
            side=cond.side,
            kind=cond.kind,
            qty=qty if qty is not None else cond.qty,
            trigger_price=trigger if trigger is not None else cond.trigger_price,
            direction=cond.direction,
            trigger_by=cond.trigger_by,
            price=(price if price is not None else cond.price)
            if cond.kind is OrderKind.LIMIT
            else None,
            tif=cond.tif,
            position_side=cond.position_side,
            reduce_only=cond.reduce_only,
            client_id="",
            extra={**cond.extra, "bybit_amended_from": old_uuid},
        )
        with eng.batch():
            # place first: a refused replacement leaves the original untouched
            new = self._call(lambda: eng.place_conditional(api_key, params))
            self.ids.alias_cond(new.cond_id, old_uuid)  # before the batch's events go out
            cond.extra["bybit_replaced"] = True  # hidden from queries and streams from now on
            self._call(lambda: eng.cancel_conditional(api_key, cond_id=cond.cond_id))
        return {"orderId": old_uuid, "orderLinkId": str(cond.extra.get("bybit_link_id", ""))}

    def cancel(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = self._symbol(p)
        obj = self._find(api_key, symbol, p)
        eng = self.engine
        if isinstance(obj, Conditional):
            if obj.status not in _OPEN_COND:
                raise BybitError(C.ORDER_NOT_EXISTS)
            self._call(lambda: eng.cancel_conditional(api_key, cond_id=obj.cond_id))
        else:
            if not obj.is_open:
                raise BybitError(C.ORDER_NOT_EXISTS)
            self._call(lambda: eng.cancel_order(api_key, symbol, order_id=obj.order_id))
        return self._ids_of(obj)

    def cancel_all(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        eng = self.engine
        symbol = p.text("symbol")
        base = p.text("baseCoin")
        settle = p.text("settleCoin")
        if not (symbol or base or settle):
            raise BybitError(
                C.PARAM_ERROR, "params error: symbol, baseCoin or settleCoin is required"
            )
        if symbol and symbol not in eng.instruments:
            raise BybitError(C.PARAM_ERROR, "params error: symbol invalid")

        def wanted(sym: str) -> bool:
            inst = eng.instruments[sym]
            if symbol and sym != symbol:
                return False
            if base and inst.base != base:
                return False
            return not (settle and inst.settle != settle)

        flt = p.text("orderFilter")
        done: list[dict[str, str]] = []
        with eng.batch():
            if flt in (None, "Order", "OpenOrder"):
                for order in list(eng.open_orders(api_key)):
                    if wanted(order.symbol):
                        self._call(partial(eng.cancel_order, api_key, order.symbol, order.order_id))
                        done.append(self._ids_of(order))
            if flt in (None, "StopOrder"):
                for cond in list(eng.open_conditionals(api_key)):
                    if wanted(cond.symbol):
                        self._call(partial(eng.cancel_conditional, api_key, cond.cond_id))
                        done.append(self._ids_of(cond))
        return {"list": done, "success": "1"}

    # -- batches ---------------------------------------------------------------------------------
    def batch(
        self, api_key: str, op: str, raw: dict[str, Any], allowed: int | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``create-batch`` / ``amend-batch`` / ``cancel-batch``: per-element results.

        ``allowed`` = how many elements the rate limit lets through (the rest fail with 10006)."""
        p = Params(raw)
        p.category()
        items = raw.get("request")
        if not isinstance(items, list) or not items:
            raise BybitError(C.PARAM_ERROR, "params error: request is required")
        if len(items) > MAX_BATCH:
            raise BybitError(
                C.PARAM_ERROR, f"params error: the batch size exceeds the limit of {MAX_BATCH}"
            )
        fn = {"create": self.create, "amend": self.amend, "cancel": self.cancel}[op]
        results: list[dict[str, Any]] = []
        ext: list[dict[str, Any]] = []
        with self.engine.batch():
            for i, item in enumerate(items):
                row: dict[str, Any] = {
                    "category": "linear",
                    "symbol": item.get("symbol", "") if isinstance(item, dict) else "",
                    "orderId": "",
                    "orderLinkId": item.get("orderLinkId", "") if isinstance(item, dict) else "",
                }
                if op == "create":
                    row["createAt"] = ""
                if allowed is not None and i >= allowed:
                    code, msg = C.TOO_MANY_VISITS, C.MSG[C.TOO_MANY_VISITS]
                elif not isinstance(item, dict):
                    code, msg = C.PARAM_ERROR, "params error: request item invalid"
                else:
                    try:
                        out = fn(api_key, {**item, "category": "linear"})
                    except BybitError as err:
                        code, msg = err.code, err.msg
                    else:
                        row["orderId"] = out["orderId"]
                        row["orderLinkId"] = out["orderLinkId"]
                        if op == "create":
                            row["createAt"] = str(self.engine.now())
                        code, msg = 0, "OK"
                results.append(row)
                ext.append({"code": code, "msg": msg})
        return {"list": results}, {"list": ext}

    # -- queries ---------------------------------------------------------------------------------
    def _order_views(self, api_key: str) -> list[tuple[OrderView, bool]]:
        """Every order of the account as ``(view, is_open)``, newest first."""
        eng = self.engine
        acct = eng.account(api_key)
        rows: list[tuple[OrderView, bool]] = []
        triggered = set()
        for order in acct.orders.values():
            if order.cond_id:
                triggered.add(order.cond_id)
            rows.append((self.bridge.order_view(order), order.is_open))
        for cond in acct.conds.values():
            if cond.cond_id in triggered or cond.status in (
                CondStatus.TRIGGERED,
                CondStatus.FINISHED,
            ):
                continue
            if cond.extra.get("bybit_replaced"):
                continue
            rows.append((self.bridge.cond_view(cond), cond.status in _OPEN_COND))
        rows.sort(key=lambda r: (r[0].created_ms, r[0].updated_ms), reverse=True)
        return rows

    def _filter_scope(self, p: Params, symbol_required: bool = False) -> Callable[[str], bool]:
        eng = self.engine
        symbol = p.text("symbol")
        base = p.text("baseCoin")
        settle = p.text("settleCoin")
        if symbol_required and not (symbol or base or settle):
            raise BybitError(
                C.PARAM_ERROR, "params error: symbol, baseCoin or settleCoin is required"
            )
        if symbol and symbol not in eng.instruments:
            raise BybitError(C.PARAM_ERROR, "params error: symbol invalid")

        def ok(sym: str) -> bool:
            inst = eng.instruments[sym]
            return (
                (not symbol or sym == symbol)
                and (not base or inst.base == base)
                and (not settle or inst.settle == settle)
            )

        return ok

    def _page(
        self, rows: list[dict[str, Any]], p: Params, default: int, hi: int
    ) -> tuple[list[dict[str, Any]], str]:
        limit = p.limit(default, hi)
        offset = parse_cursor(p.text("cursor"))
        page = rows[offset : offset + limit]
        nxt = page_cursor(offset + limit) if offset + limit < len(rows) else ""
        return page, nxt

    def realtime(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        """``/v5/order/realtime``: open orders (incl. Untriggered), or by id also closed ones."""
        p = Params(raw)
        p.category()
        scope = self._filter_scope(p, symbol_required=True)
        order_id = p.text("orderId")
        link = p.text("orderLinkId")
        open_only = p.integer("openOnly", 0, lo=0, hi=2)
        flt = p.text("orderFilter")
        rows: list[dict[str, Any]] = []
        for view, is_open in self._order_views(api_key):
            if not scope(view.symbol):
                continue
            if order_id and view.order_id != order_id:
                continue
            if link and view.link_id != link:
                continue
            if not (order_id or link):
                if open_only == 0 and not is_open:
                    continue
                if open_only == 1 and is_open:
                    continue
            if flt == "StopOrder" and view.stop_order_type == "UNKNOWN":
                continue
            if flt == "Order" and view.status == "Untriggered":
                continue
            rows.append(R.order_rest(view, self.bridge.instruments[view.symbol]))
        page, nxt = self._page(rows, p, 20, 50)
        return {"list": page, "nextPageCursor": nxt, "category": "linear"}

    def history(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        """``/v5/order/history``: every order in the time window, newest first."""
        p = Params(raw)
        p.category()
        scope = self._filter_scope(p)
        order_id = p.text("orderId")
        link = p.text("orderLinkId")
        status = p.text("orderStatus")
        start, end = self._window(p)
        rows = []
        for view, _open in self._order_views(api_key):
            if not scope(view.symbol):
                continue
            if order_id and view.order_id != order_id:
                continue
            if link and view.link_id != link:
                continue
            if status and view.status != status:
                continue
            if not (order_id or link) and not start <= view.created_ms <= end:
                continue
            rows.append(R.order_rest(view, self.bridge.instruments[view.symbol]))
        page, nxt = self._page(rows, p, 20, 50)
        return {"list": page, "nextPageCursor": nxt, "category": "linear"}

    def _window(self, p: Params) -> tuple[int, int]:
        now = self.engine.now()
        start = p.integer("startTime")
        end = p.integer("endTime")
        if start is None and end is None:
            return now - _SEVEN_DAYS, now + 1
        if start is not None and end is None:
            end = start + _SEVEN_DAYS
        if end is not None and start is None:
            start = end - _SEVEN_DAYS
        assert start is not None
        assert end is not None
        if end - start > _SEVEN_DAYS or end < start:
            raise BybitError(C.PARAM_ERROR, "params error: the time range must be within 7 days")
        return start, end

    def executions(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        """``/v5/execution/list``: the account's fills, newest first."""
        p = Params(raw)
        p.category()
        scope = self._filter_scope(p)
        order_id = p.text("orderId")
        link = p.text("orderLinkId")
        exec_type = p.text("execType")
        start, end = self._window(p)
        eng = self.engine
        acct = eng.account(api_key)
        rows = []
        for fill in reversed(acct.fill_log):
            if not scope(fill.symbol) or not start <= fill.ts <= end:
                continue
            order = acct.orders.get(fill.order_id)
            if order is None:
                continue
            view = self.bridge.exec_view(fill, order)
            if order_id and view.order_id != order_id:
                continue
            if link and view.link_id != link:
                continue
            if exec_type and exec_type != view.exec_type:
                continue
            rows.append(R.execution_rest(view, self.bridge.instruments[fill.symbol]))
        page, nxt = self._page(rows, p, 50, 100)
        return {"nextPageCursor": nxt, "category": "linear", "list": page}

    # -- positions and settings ------------------------------------------------------------------
    def positions(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = p.text("symbol")
        settle = p.text("settleCoin")
        eng = self.engine
        if not symbol and not settle:
            raise BybitError(C.PARAM_ERROR, "params error: symbol or settleCoin is required")
        if symbol and symbol not in eng.instruments:
            raise BybitError(C.PARAM_ERROR, "params error: symbol invalid")
        rows = []
        if symbol:
            views = self.bridge.position_rows(api_key, symbol, include_flat=True)
        else:
            views = [
                v
                for v in self.bridge.position_rows(api_key, None, include_flat=False)
                if eng.instruments[v.symbol].settle == settle
            ]
        for v in views:
            rows.append(R.position_rest(v, self.bridge.instruments[v.symbol]))
        page, nxt = self._page(rows, p, 20, 200)
        return {"list": page, "nextPageCursor": nxt, "category": "linear"}

    def set_leverage(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = self._symbol(p)
        buy = p.decimal("buyLeverage", required=True)
        sell = p.decimal("sellLeverage", required=True)
        assert buy is not None
        assert sell is not None
        if buy != sell:
            raise BybitError(
                C.PARAM_ERROR, "params error: buy leverage must equal sell leverage in this mode"
            )
        if buy != buy.to_integral_value():
            raise BybitError(C.PARAM_ERROR, "leverage invalid")  # the engine keeps integer leverage
        eng = self.engine
        cfg = self._call(lambda: eng.symbol_config(api_key, symbol))
        if Decimal(cfg.leverage) == buy:
            raise BybitError(C.LEVERAGE_UNCHANGED)
        self._call(lambda: eng.set_leverage(api_key, symbol, int(buy)))
        return {}

    def switch_mode(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Position mode. The engine keeps one mode per account, so a symbol/coin switch applies
        to the whole account (the venue scopes it per symbol or settle coin)."""
        p = Params(raw)
        p.category()
        symbol = p.text("symbol")
        coin = p.text("coin")
        if not symbol and not coin:
            raise BybitError(C.PARAM_ERROR, "params error: symbol or coin is required")
        if symbol and symbol not in self.engine.instruments:
            raise BybitError(C.PARAM_ERROR, "params error: symbol invalid")
        mode = p.integer("mode")
        if mode not in (0, 3):
            raise BybitError(C.PARAM_ERROR, "params error: mode invalid")
        eng = self.engine
        self._call(lambda: eng.set_position_mode(api_key, mode == 3))
        return {}

    def set_margin_mode(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        """Account-wide (UTA) margin mode; refused with 3400045 + reasons while orders or
        positions exist (as the venue's documented failure shape)."""
        p = Params(raw)
        mode = p.req_text("setMarginMode")
        if mode not in ("REGULAR_MARGIN", "ISOLATED_MARGIN", "PORTFOLIO_MARGIN"):
            raise BybitError(C.PARAM_ERROR, "params error: setMarginMode invalid")
        eng = self.engine
        acct = eng.account(api_key)
        if mode == "PORTFOLIO_MARGIN":
            raise BybitError(
                3400045,
                "Set margin mode failed",
                {
                    "reasons": [
                        {"reasonCode": "3400000", "reasonMsg": "Portfolio margin is not simulated"}
                    ]
                },
            )
        target = MarginType.ISOLATED if mode == "ISOLATED_MARGIN" else MarginType.CROSSED
        current = acct.extra.get("bybit_margin_mode", "REGULAR_MARGIN")
        if current == mode:
            return {"reasons": []}
        if acct.open_orders or any(pos.amount for pos in acct.positions.values()):
            raise BybitError(
                3400045,
                "Set margin mode failed",
                {
                    "reasons": [
                        {
                            "reasonCode": "3400214",
                            "reasonMsg": "You have open positions or active orders; close them before switching.",
                        }
                    ]
                },
            )
        with eng.batch():
            for sym in eng.instruments:
                if eng.symbol_config(api_key, sym).margin_type is not target:
                    self._call(partial(eng.set_margin_type, api_key, sym, target))
        acct.extra["bybit_margin_mode"] = mode
        acct.extra["bybit_margin_mode_ms"] = eng.now()
        return {"reasons": []}

    def account_info(self, api_key: str) -> dict[str, Any]:
        acct = self.engine.account(api_key)
        return {
            "marginMode": acct.extra.get("bybit_margin_mode", "REGULAR_MARGIN"),
            "updatedTime": str(acct.extra.get("bybit_margin_mode_ms", 0)),
            "unifiedMarginStatus": 6,
            "dcpStatus": "OFF",
            "timeWindow": 10,
            "smpGroup": 0,
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
        }

    def wallet(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        account_type = p.req_text("accountType")
        if account_type != "UNIFIED":
            raise BybitError(C.PARAM_ERROR, "params error: accountType only support UNIFIED")
        view = self.bridge.wallet_view(api_key)
        acct = R.wallet_account(view)
        coins = p.text("coin")
        if coins:
            wanted = set(coins.split(","))
            acct["coin"] = [c for c in acct["coin"] if c["coin"] in wanted]
        return {"list": [acct]}

    def fee_rate(self, api_key: str, raw: dict[str, Any]) -> dict[str, Any]:
        p = Params(raw)
        p.category()
        symbol = p.text("symbol")
        acct = self.engine.account(api_key)
        rows = [
            {
                "symbol": sym,
                "takerFeeRate": plain(acct.taker_fee),
                "makerFeeRate": plain(acct.maker_fee),
            }
            for sym in self.engine.instruments
            if not symbol or sym == symbol
        ]
        return {"list": rows}
