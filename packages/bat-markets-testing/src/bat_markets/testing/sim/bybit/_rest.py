"""The REST gateway: routing, IP ban, auth, UID rate limits, envelopes and headers.

Order of checks (as the venue applies them): IP ban (HTTP 403) → route (404 / 400 for a wrong
method) → auth for private paths (401 without auth headers, else 10003 / 10002 / 10004 / 10010 /
10005 with HTTP 200) → UID rate limit (10006) → the handler. Every answer is the envelope
``{retCode, retMsg, result, retExtInfo, time}``; private answers carry the three
``X-Bapi-Limit*`` headers; all carry ``Timenow`` and ``Traceid``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from . import _codes as C
from . import _render as R
from ._auth import READ, TRADE, AuthFailure, verify_rest
from ._errors import BybitError
from ._limits import Charge

if TYPE_CHECKING:
    from ._sim import BybitSim

__all__ = ["Route", "RestGateway"]

_encode = msgspec.json.Encoder().encode

Handler = Callable[[str, dict[str, Any]], Any]


@dataclass(frozen=True)
class Route:
    """One endpoint: ``handler(api_key, params)`` (api_key is "" on public routes)."""

    method: str
    handler: Handler
    private: bool = False
    need: str = READ
    batch: str = ""  # create | amend | cancel for batch endpoints (charged per order)


class RestGateway:
    """Dispatches REST requests of one :class:`BybitSim`."""

    def __init__(self, sim: BybitSim) -> None:
        self.sim = sim
        t = sim.trading
        m = sim.market_rest

        def pub(fn: Callable[[dict[str, Any]], Any]) -> Handler:
            return lambda _key, params: fn(params)

        self.routes: dict[str, Route] = {
            "/v5/market/time": Route("GET", pub(m.time)),
            "/v5/market/instruments-info": Route("GET", pub(m.instruments)),
            "/v5/market/tickers": Route("GET", pub(m.tickers)),
            "/v5/market/orderbook": Route("GET", pub(m.orderbook)),
            "/v5/market/kline": Route("GET", pub(m.kline)),
            "/v5/market/mark-price-kline": Route("GET", pub(m.mark_kline)),
            "/v5/market/index-price-kline": Route("GET", pub(m.index_kline)),
            "/v5/market/recent-trade": Route("GET", pub(m.recent_trades)),
            "/v5/market/funding/history": Route("GET", pub(m.funding_history)),
            "/v5/market/open-interest": Route("GET", pub(m.open_interest)),
            "/v5/market/risk-limit": Route("GET", pub(m.risk_limit)),
            "/v5/order/create": Route("POST", t.create, True, TRADE),
            "/v5/order/amend": Route("POST", t.amend, True, TRADE),
            "/v5/order/cancel": Route("POST", t.cancel, True, TRADE),
            "/v5/order/cancel-all": Route("POST", t.cancel_all, True, TRADE),
            "/v5/order/create-batch": Route("POST", t.create, True, TRADE, "create"),
            "/v5/order/amend-batch": Route("POST", t.amend, True, TRADE, "amend"),
            "/v5/order/cancel-batch": Route("POST", t.cancel, True, TRADE, "cancel"),
            "/v5/order/pre-check": Route("POST", t.pre_check, True, TRADE),
            "/v5/order/realtime": Route("GET", t.realtime, True),
            "/v5/order/history": Route("GET", t.history, True),
            "/v5/execution/list": Route("GET", t.executions, True),
            "/v5/position/list": Route("GET", t.positions, True),
            "/v5/position/set-leverage": Route("POST", t.set_leverage, True, TRADE),
            "/v5/position/switch-mode": Route("POST", t.switch_mode, True, TRADE),
            "/v5/account/set-margin-mode": Route("POST", t.set_margin_mode, True, TRADE),
            "/v5/account/wallet-balance": Route("GET", t.wallet, True),
            "/v5/account/info": Route("GET", lambda key, _p: t.account_info(key), True),
            "/v5/account/fee-rate": Route("GET", t.fee_rate, True),
        }

    # -- responses -------------------------------------------------------------------------------
    def _response(
        self,
        status: int,
        body: dict[str, Any],
        charge: Charge | None = None,
    ) -> Response:
        now = self.sim.server_time_ms()
        headers = {"Timenow": str(now), "Traceid": secrets.token_hex(16)}
        if charge is not None:
            headers.update(charge.headers())
        return Response(
            _encode(body), status_code=status, headers=headers, media_type="application/json"
        )

    def _error(
        self, status: int, code: int, msg: str, charge: Charge | None = None, result: object = None
    ) -> Response:
        body = R.envelope(result, time_ms=self.sim.server_time_ms(), code=code, msg=msg)
        return self._response(status, body, charge)

    # -- dispatch --------------------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        sim = self.sim
        now = sim.server_time_ms()
        ip = request.client.host if request.client else "127.0.0.1"
        if sim.faults.ban_request:
            seconds, sim.faults.ban_request = sim.faults.ban_request, 0.0
            sim.ip_guard.ban(ip, now + int(seconds * 1000))
            sim.faults.fired.append("http:ban")
        if sim.ip_guard.hit(ip, now) is not None:
            return Response("access too frequent", status_code=403, media_type="text/plain")
        path = request.url.path
        route = self.routes.get(path)
        if route is None:
            return self._error(404, C.ROUTE_NOT_FOUND, C.MSG[C.ROUTE_NOT_FOUND])
        if request.method != route.method:
            return self._error(
                400, C.ROUTE_NOT_FOUND, f"method {request.method} not allowed for {path}"
            )
        if route.method == "GET":
            payload = request.scope.get("query_string", b"").decode("latin-1")
            params: dict[str, Any] = dict(parse_qsl(payload, keep_blank_values=True))
            bad_body = False
        else:
            raw = await request.body()
            payload = raw.decode("utf-8", "replace")
            try:
                decoded = json.loads(payload) if payload.strip() else {}
                bad_body = not isinstance(decoded, dict)
            except ValueError:
                decoded, bad_body = {}, True
            params = decoded if isinstance(decoded, dict) else {}
        api_key = ""
        charge: Charge | None = None
        if route.private:
            out = verify_rest(
                sim.keys, request.headers, payload, now, client_ip=ip, need=route.need
            )
            if isinstance(out, AuthFailure):
                return self._error(out.http_status, out.ret_code, out.ret_msg)
            api_key = out.api_key
            units = 1
            if route.batch and isinstance(params.get("request"), list):
                units = max(1, len(params["request"]))
            if sim.faults.forced_rate_limits > 0:  # requests are served in one loop thread
                sim.faults.forced_rate_limits -= 1
                sim.faults.fired.append("http:rate_limit")
                cap = sim.limiter.limits.cap(path)
                charge = Charge(units, 0, cap, 0, now + sim.limiter.limits.window_ms)
                return self._error(200, C.TOO_MANY_VISITS, C.MSG[C.TOO_MANY_VISITS], charge)
            charge = sim.limiter.charge(api_key, path, now, units)
            if charge.allowed == 0:
                return self._error(200, C.TOO_MANY_VISITS, C.MSG[C.TOO_MANY_VISITS], charge)
        if bad_body:
            return self._error(
                200, C.PARAM_ERROR, "params error: the request body must be a JSON object", charge
            )
        try:
            if route.batch:
                result, ext = sim.trading.batch(
                    api_key, route.batch, params, charge.allowed if charge is not None else None
                )
                body = R.envelope(result, time_ms=sim.server_time_ms(), ext=ext)
            else:
                result = route.handler(api_key, params)
                body = R.envelope(result, time_ms=sim.server_time_ms())
        except BybitError as err:
            return self._error(200, err.code, err.msg, charge, err.result)
        return self._response(200, body, charge)
