"""Order commands shared by REST and the WS API: parameter parsing (venue rules and codes) and
execution against the engine, returning Binance bodies or raising ``BinanceError``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from .._engine import Account
from .._model import (
    CondParams,
    MarginType,
    Order,
    OrderKind,
    OrderParams,
    OrderRejected,
    PositionSide,
    Side,
    StpMode,
    TimeInForce,
    TriggerBy,
    TriggerDirection,
)
from ._errors import BinanceError, illegal, mandatory, not_required, reject_error

if TYPE_CHECKING:
    from ._sim import BinanceSim

__all__ = ["Params", "OrderDesk", "CONDITIONAL_TYPES"]

_CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
CONDITIONAL_TYPES = {
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
}
_PRICE_MATCH = {
    "NONE",
    "OPPONENT",
    "OPPONENT_5",
    "OPPONENT_10",
    "OPPONENT_20",
    "QUEUE",
    "QUEUE_5",
    "QUEUE_10",
    "QUEUE_20",
}


def _text(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class Params:
    """Typed access to request parameters with the venue's error codes."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self.raw = {k: _text(v) for k, v in raw.items() if v is not None}

    def has(self, name: str) -> bool:
        return self.raw.get(name, "") != ""

    def get(self, name: str, default: str | None = None) -> str:
        value = self.raw.get(name, "")
        if value == "":
            if default is None:
                raise mandatory(name)
            return default
        return value

    def opt(self, name: str) -> str | None:
        value = self.raw.get(name, "")
        return value or None

    def decimal(self, name: str) -> Decimal:
        value = self.get(name)
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise illegal(name) from None
        if not d.is_finite():
            raise illegal(name)
        return d

    def opt_decimal(self, name: str) -> Decimal | None:
        return self.decimal(name) if self.has(name) else None

    def get_int(self, name: str, default: int | None = None) -> int:
        if not self.has(name):
            if default is None:
                raise mandatory(name)
            return default
        try:
            return int(self.raw[name])
        except ValueError:
            raise illegal(name, "^[0-9]{1,20}$") from None

    def opt_int(self, name: str) -> int | None:
        return self.get_int(name) if self.has(name) else None

    def get_bool(self, name: str, default: bool = False) -> bool:
        if not self.has(name):
            return default
        value = self.raw[name].lower()
        if value not in ("true", "false"):
            raise BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")
        return value == "true"

    def choice(
        self,
        name: str,
        allowed: set[str] | tuple[str, ...],
        code: int,
        msg: str,
        default: str | None = None,
    ) -> str:
        value = self.get(name, default)
        if value not in allowed:
            raise BinanceError(code, msg)
        return value


class OrderDesk:
    """Executes order commands for one ``BinanceSim``."""

    def __init__(self, sim: BinanceSim) -> None:
        self.sim = sim
        self.engine = sim.engine
        self.render = sim.renderer

    # -- parsing -------------------------------------------------------------------------------
    def symbol(self, p: Params) -> str:
        sym = p.get("symbol")
        if sym not in self.engine.instruments:
            raise BinanceError(-1121, "Invalid symbol.")
        return sym

    def _side(self, p: Params) -> Side:
        return Side(p.choice("side", ("BUY", "SELL"), -1117, "Invalid side."))

    def _position_side(self, p: Params) -> PositionSide:
        value = p.get("positionSide", "BOTH")
        if value not in ("BOTH", "LONG", "SHORT"):
            raise BinanceError(-4061, "Order's position side does not match user's setting.")
        return PositionSide(value)

    def _client_id(self, p: Params, name: str) -> str:
        cid = p.opt(name) or ""
        if cid and not _CLIENT_ID_RE.match(cid):
            raise BinanceError(-4015, "Client order id is not valid.")
        return cid

    def _stp(self, p: Params) -> StpMode:
        value = p.get("selfTradePreventionMode", "NONE")
        if value not in StpMode.__members__:
            raise BinanceError(
                -1130, "Data sent for parameter 'selfTradePreventionMode' is not valid."
            )
        return StpMode(value)

    def _price_match(self, p: Params, sym: str, side: Side) -> tuple[str, Decimal | None]:
        pm = p.get("priceMatch", "NONE")
        if pm not in _PRICE_MATCH:
            raise BinanceError(-1130, "Data sent for parameter 'priceMatch' is not valid.")
        if pm == "NONE":
            return pm, None
        if p.has("price"):
            raise BinanceError(-1106, "Parameter 'price' sent when not required.")
        book = self.engine.books[sym]
        inst = self.engine.instruments[sym]
        level = int(pm.split("_")[1]) if "_" in pm else 1
        opponent = pm.startswith("OPPONENT")
        side_ticks = book.iter_ticks(side.opposite if opponent else side)
        if not side_ticks:
            raise BinanceError(-5021 if opponent else -5022, "No price available for priceMatch.")
        return pm, inst.price_of(side_ticks[min(level, len(side_ticks)) - 1])

    def parse_order(self, acct: Account, p: Params) -> tuple[OrderParams, str]:
        """(engine params, newOrderRespType)."""
        sym = self.symbol(p)
        side = self._side(p)
        otype = p.get("type")
        if otype in CONDITIONAL_TYPES:
            raise BinanceError(
                -4120,
                "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
            )
        if otype not in ("LIMIT", "MARKET"):
            raise BinanceError(-1116, "Invalid orderType.")
        kind = OrderKind(otype)
        ps = self._position_side(p)
        if acct.dual_side and p.has("reduceOnly"):
            raise not_required("reduceOnly")
        reduce_only = p.get_bool("reduceOnly")
        if p.has("closePosition"):
            raise not_required("closePosition")
        qty = p.decimal("quantity")
        price: Decimal | None = None
        pm = "NONE"
        tif = TimeInForce.GTC
        good_till = 0
        if kind is OrderKind.LIMIT:
            tif = TimeInForce(
                p.choice(
                    "timeInForce",
                    ("GTC", "IOC", "FOK", "GTX", "GTD"),
                    -1115,
                    "Invalid timeInForce.",
                )
            )
            pm, matched = self._price_match(p, sym, side)
            price = matched if matched is not None else p.decimal("price")
            if tif is TimeInForce.GTD:
                good_till = p.get_int("goodTillDate")
                if good_till <= self.sim.server_time_ms() + 600_000:
                    raise BinanceError(
                        -1130, "Data sent for parameter 'goodTillDate' is not valid."
                    )
                good_till -= good_till % 1000
        elif p.has("price"):
            raise not_required("price")
        resp = p.get("newOrderRespType", "ACK")
        if resp not in ("ACK", "RESULT"):
            raise BinanceError(-1130, "Data sent for parameter 'newOrderRespType' is not valid.")
        stp = self._stp(p)
        if tif in (TimeInForce.FOK, TimeInForce.GTX):
            stp = StpMode.NONE  # STP applies to GTC / IOC / GTD only
        params = OrderParams(
            symbol=sym,
            side=side,
            kind=kind,
            qty=qty,
            price=price,
            tif=tif,
            position_side=ps,
            reduce_only=reduce_only,
            client_id=self._client_id(p, "newClientOrderId"),
            stp=stp,
            good_till_ms=good_till,
            post_only_action="reject",
            fok_action="reject",
            extra={"priceMatch": pm, "priceProtect": p.get_bool("priceProtect")},
        )
        return params, resp

    # -- commands ------------------------------------------------------------------------------
    def place(self, acct: Account, p: Params, *, test: bool = False) -> dict[str, Any]:
        params, resp = self.parse_order(acct, p)
        if not params.client_id and test:
            params.client_id = "testOrder"
        try:
            if test:
                self.engine.check_order(acct.api_key, params)
                return self.render.order(self._test_order(acct, params), variant="new")
            order = self.engine.place_order(acct.api_key, params)
        except OrderRejected as exc:
            raise reject_error(exc.reason, exc.message) from None
        return self.render.order(order, variant="new", ack=resp == "ACK")

    def _test_order(self, acct: Account, params: OrderParams) -> Order:
        """What the order would look like; it never reaches the engine (orderId 0)."""
        now = self.sim.server_time_ms()
        return Order(
            order_id=0,
            account=acct.api_key,
            symbol=params.symbol,
            side=params.side,
            kind=params.kind,
            tif=params.tif,
            qty=params.qty,
            price=params.price or Decimal(0),
            client_id=params.client_id,
            position_side=params.position_side,
            reduce_only=params.reduce_only,
            close_position=False,
            stp=params.stp,
            created_ms=now,
            updated_ms=now,
            orig_type=params.kind.value,
            good_till_ms=params.good_till_ms,
            extra=dict(params.extra),
        )

    def _order_ref(self, p: Params) -> tuple[int | None, str | None]:
        oid = p.opt_int("orderId")
        cid = p.opt("origClientOrderId")
        if oid is None and cid is None:
            raise BinanceError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        return oid, cid

    def query(self, acct: Account, p: Params) -> dict[str, Any]:
        sym = self.symbol(p)
        oid, cid = self._order_ref(p)
        try:
            order = self.engine.get_order(acct.api_key, sym, oid, cid)
        except OrderRejected as exc:
            raise reject_error(exc.reason, exc.message) from None
        return self.render.order(order, variant="query")

    def query_open(self, acct: Account, p: Params) -> dict[str, Any]:
        sym = self.symbol(p)
        oid, cid = self._order_ref(p)
        try:
            order = self.engine.get_order(acct.api_key, sym, oid, cid)
        except OrderRejected:
            order = None
        if order is None or not order.is_open:
            raise BinanceError(-2013, "Order does not exist.")
        return self.render.order(order, variant="query")

    def cancel(self, acct: Account, p: Params) -> dict[str, Any]:
        sym = self.symbol(p)
        oid, cid = self._order_ref(p)
        try:
            order = self.engine.cancel_order(acct.api_key, sym, oid, cid)
        except OrderRejected as exc:
            raise reject_error(exc.reason, exc.message, context="cancel") from None
        return self.render.order(order, variant="cancel")

    def modify(self, acct: Account, p: Params, *, ws: bool = False) -> dict[str, Any]:
        sym = self.symbol(p)
        oid, cid = self._order_ref(p)
        side = self._side(p)
        qty = p.decimal("quantity")
        pm, matched = self._price_match(p, sym, side)
        price = matched if matched is not None else p.decimal("price")
        try:
            order = self.engine.get_order(acct.api_key, sym, oid, cid)
            if order.side is not side:
                raise BinanceError(-1117, "Invalid side.")
            order.extra["priceMatch"] = pm
            order = self.engine.amend_order(
                acct.api_key, sym, order_id=order.order_id, qty=qty, price=price
            )
        except OrderRejected as exc:
            raise reject_error(exc.reason, exc.message) from None
        order.stp = StpMode.NONE  # the venue resets STP on modify
        return self.render.order(order, variant="ws_modify" if ws else "modify")

    # -- algo (conditional) orders ---------------------------------------------------------------
    def parse_algo(self, acct: Account, p: Params) -> CondParams:
        algo_type = p.get("algoType")
        if algo_type != "CONDITIONAL":
            raise BinanceError(-1130, "Data sent for parameter 'algoType' is not valid.")
        sym = self.symbol(p)
        side = self._side(p)
        otype = p.get("type")
        if otype not in CONDITIONAL_TYPES:
            raise BinanceError(-1116, "Invalid orderType.")
        ps = self._position_side(p)
        if acct.dual_side and p.has("reduceOnly"):
            raise not_required("reduceOnly")
        close = p.get_bool("closePosition")
        if close:
            if otype not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
                raise not_required("closePosition")
            if p.has("quantity"):
                raise not_required("quantity")
            if p.has("reduceOnly"):
                raise not_required("reduceOnly")
            qty = Decimal(0)
        else:
            qty = p.decimal("quantity")
        wt = p.get("workingType", "CONTRACT_PRICE")
        if wt not in ("CONTRACT_PRICE", "MARK_PRICE"):
            raise BinanceError(-1130, "Data sent for parameter 'workingType' is not valid.")
        by = TriggerBy.MARK if wt == "MARK_PRICE" else TriggerBy.LAST
        limit = otype in ("STOP", "TAKE_PROFIT")
        tif = TimeInForce.GTC
        price: Decimal | None = None
        if limit:
            tif = TimeInForce(
                p.choice(
                    "timeInForce",
                    ("GTC", "IOC", "FOK", "GTX", "GTD"),
                    -1115,
                    "Invalid timeInForce.",
                    "GTC",
                )
            )
            price = p.decimal("price")
        callback: Decimal | None = None
        activate: Decimal | None = None
        if otype == "TRAILING_STOP_MARKET":
            callback = p.decimal("callbackRate")
            if not Decimal("0.1") <= callback <= Decimal(20):
                raise BinanceError(-2007, "Invalid callBack rate.")
            activate = p.opt_decimal("activatePrice")
            trigger = activate if activate is not None else self.engine.markets[sym].last_price
        else:
            trigger = p.decimal("triggerPrice")
        stop = otype.startswith("STOP") or otype == "TRAILING_STOP_MARKET"
        if stop:
            direction = TriggerDirection.RISE if side is Side.BUY else TriggerDirection.FALL
        else:
            direction = TriggerDirection.FALL if side is Side.BUY else TriggerDirection.RISE
        good_till = p.get_int("goodTillDate", 0)
        return CondParams(
            symbol=sym,
            side=side,
            kind=OrderKind.LIMIT if limit else OrderKind.MARKET,
            qty=qty,
            trigger_price=trigger,
            direction=direction,
            trigger_by=by,
            price=price,
            tif=tif,
            position_side=ps,
            reduce_only=p.get_bool("reduceOnly"),
            close_position=close,
            client_id=self._client_id(p, "clientAlgoId"),
            stp=self._stp(p),
            good_till_ms=good_till,
            callback_rate=callback,
            activate_price=activate,
            orig_type=otype,
            extra={
                "priceMatch": p.get("priceMatch", "NONE"),
                "priceProtect": p.get_bool("priceProtect"),
            },
        )

    def place_algo(self, acct: Account, p: Params) -> dict[str, Any]:
        params = self.parse_algo(acct, p)
        try:
            cond = self.engine.place_conditional(acct.api_key, params)
        except OrderRejected as exc:
            raise reject_error(exc.reason, exc.message) from None
        return self.render.algo(cond, variant="new")

    def _algo_ref(self, p: Params) -> tuple[int | None, str | None]:
        aid = p.opt_int("algoId")
        cid = p.opt("clientAlgoId")
        if aid is None and cid is None:
            raise BinanceError(
                -1102, "Param 'clientAlgoId' or 'algoId' must be sent, but both were empty/null!"
            )
        return aid, cid

    def query_algo(self, acct: Account, p: Params) -> dict[str, Any]:
        aid, cid = self._algo_ref(p)
        try:
            cond = self.engine.get_conditional(acct.api_key, aid, cid)
        except OrderRejected:
            raise BinanceError(-2013, "Order does not exist.") from None
        return self.render.algo(cond, variant="query")

    def cancel_algo(self, acct: Account, p: Params) -> dict[str, Any]:
        aid, cid = self._algo_ref(p)
        try:
            cond = self.engine.cancel_conditional(acct.api_key, aid, cid)
        except OrderRejected:
            raise BinanceError(-2011, "Unknown order sent.") from None
        return {
            "algoId": cond.cond_id,
            "clientAlgoId": cond.client_id,
            "code": "200",
            "msg": "success",
        }

    # -- settings ------------------------------------------------------------------------------
    def leverage(self, acct: Account, p: Params) -> dict[str, Any]:
        from ._render import max_notional

        sym = self.symbol(p)
        lev = p.get_int("leverage")
        try:
            self.engine.set_leverage(acct.api_key, sym, lev)
        except OrderRejected:
            raise BinanceError(-4028, f"Leverage {lev} is not valid") from None
        return {"leverage": lev, "maxNotionalValue": str(max_notional(lev)), "symbol": sym}

    def margin_type(self, acct: Account, p: Params) -> dict[str, Any]:
        sym = self.symbol(p)
        mt = p.get("marginType").upper()
        if mt not in ("ISOLATED", "CROSSED", "CROSS"):
            raise BinanceError(-1130, "Data sent for parameter 'marginType' is not valid.")
        try:
            self.engine.set_margin_type(
                acct.api_key, sym, MarginType.ISOLATED if mt == "ISOLATED" else MarginType.CROSSED
            )
        except OrderRejected as exc:
            raise reject_error(exc.reason, exc.message, context="margin_type") from None
        return {"code": 200, "msg": "success"}

    def position_mode(self, acct: Account, p: Params) -> dict[str, Any]:
        dual = p.get("dualSidePosition").lower()
        if dual not in ("true", "false"):
            raise BinanceError(-1130, "Data sent for parameter 'dualSidePosition' is not valid.")
        try:
            self.engine.set_position_mode(acct.api_key, dual == "true")
        except OrderRejected as exc:
            raise reject_error(exc.reason, exc.message, context="position_mode") from None
        return {"code": 200, "msg": "success"}
