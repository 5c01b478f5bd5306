"""Binance WS API (``/ws-fapi/v1``): request/response envelope with ``rateLimits``.

Signed requests carry ``apiKey``, ``timestamp`` and ``signature`` (HMAC hex, or base64 for
Ed25519/RSA keys) over the params sorted by name; after ``session.logon`` (Ed25519 keys only,
as on the venue) they may omit ``apiKey``/``signature``. Response faults: a REST fault rule whose
path is ``ws-fapi:<method>`` (e.g. ``faults.drop_response("ws-fapi:order.place")``) applies to
that method: ``drop``/``hang`` execute without answering, ``delay`` answers late, ``status``
answers with that HTTP-like status and the venue's error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from .._engine import Account
from .._server import SimConnection
from ._auth import check_timestamp, lookup_key, verify_signature, ws_payload
from ._errors import BinanceError, mandatory
from ._orders import Params

if TYPE_CHECKING:
    from ._sim import BinanceSim

__all__ = ["WsApi"]

_ENCODER = msgspec.json.Encoder(decimal_format="number")


@dataclass(frozen=True)
class _Method:
    handler: Callable[[Params, Account | None], Any]
    security: str  # NONE | USER_STREAM | SIGNED
    weight: int
    orders: int = 0
    permission: str | None = None


class WsApi:
    """Request handling for ``/ws-fapi/v1`` connections."""

    def __init__(self, sim: BinanceSim) -> None:
        self.sim = sim
        self.engine = sim.engine
        self.desk = sim.desk
        r = sim.renderer
        rest = sim.rest
        users = sim.users

        def acct_of(a: Account | None) -> Account:
            assert a is not None
            return a

        self.methods: dict[str, _Method] = {
            "order.place": _Method(
                lambda p, a: self.desk.place(acct_of(a), p), "SIGNED", 0, 1, "trade"
            ),
            "order.modify": _Method(
                lambda p, a: self.desk.modify(acct_of(a), p, ws=True), "SIGNED", 1, 1, "trade"
            ),
            "order.cancel": _Method(
                lambda p, a: self.desk.cancel(acct_of(a), p), "SIGNED", 1, 0, "trade"
            ),
            "order.status": _Method(
                lambda p, a: self.desk.query(acct_of(a), p), "SIGNED", 1, 0, "read"
            ),
            "algoOrder.place": _Method(
                lambda p, a: self.desk.place_algo(acct_of(a), p), "SIGNED", 0, 1, "trade"
            ),
            "algoOrder.cancel": _Method(
                lambda p, a: self.desk.cancel_algo(acct_of(a), p), "SIGNED", 1, 0, "trade"
            ),
            "account.status": _Method(
                lambda p, a: r.account(acct_of(a).api_key, v2=True), "SIGNED", 5, 0, "read"
            ),
            "v2/account.status": _Method(
                lambda p, a: r.account(acct_of(a).api_key, v2=False), "SIGNED", 5, 0, "read"
            ),
            "account.balance": _Method(
                lambda p, a: r.balance(acct_of(a).api_key), "SIGNED", 5, 0, "read"
            ),
            "v2/account.balance": _Method(
                lambda p, a: r.balance(acct_of(a).api_key), "SIGNED", 5, 0, "read"
            ),
            "account.position": _Method(rest.position_risk_v2, "SIGNED", 5, 0, "read"),
            "v2/account.position": _Method(rest.position_risk_v3, "SIGNED", 5, 0, "read"),
            "ticker.price": _Method(rest.ticker_price, "NONE", 1),
            "ticker.book": _Method(rest.book_ticker, "NONE", 2),
            "depth": _Method(rest.depth, "NONE", 5),
            "userDataStream.start": _Method(
                lambda p, a: {"listenKey": users.create(acct_of(a).api_key)},
                "USER_STREAM",
                1,
                0,
                "user_stream",
            ),
            "userDataStream.ping": _Method(
                lambda p, a: {"listenKey": users.keepalive(acct_of(a).api_key)},
                "USER_STREAM",
                1,
                0,
                "user_stream",
            ),
            "userDataStream.stop": _Method(
                lambda p, a: self._stop_stream(acct_of(a)), "USER_STREAM", 1, 0, "user_stream"
            ),
        }

    def _stop_stream(self, acct: Account) -> dict[str, Any]:
        self.sim.users.delete(acct.api_key)
        return {}

    def _now(self) -> int:
        return self.sim.server_time_ms()

    def _rate_limits(self, acct: Account | None, orders: bool) -> list[dict[str, Any]]:
        now = self._now()
        lim = self.sim.limiter.limits
        out: list[dict[str, Any]] = []
        if orders and acct is not None:
            c10, c1m = self.sim.limiter.order_counts(now, acct.api_key)
            out.append(
                {
                    "rateLimitType": "ORDERS",
                    "interval": "SECOND",
                    "intervalNum": 10,
                    "limit": lim.orders_10s,
                    "count": c10,
                }
            )
            out.append(
                {
                    "rateLimitType": "ORDERS",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": lim.orders_1m,
                    "count": c1m,
                }
            )
        out.append(
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": lim.weight_1m,
                "count": self.sim.limiter.used_weight(now),
            }
        )
        return out

    def _session(self, conn: SimConnection) -> dict[str, Any]:
        key = conn.state.get("session_key")
        return {
            "apiKey": key,
            "authorizedSince": conn.state.get("authorized_since") if key else None,
            "connectedSince": conn.state["connected_since"],
            "returnRateLimits": conn.state["return_rate_limits"],
            "serverTime": self._now(),
        }

    async def on_text(self, conn: SimConnection, text: str) -> None:
        try:
            msg = json.loads(text, parse_float=Decimal)
        except ValueError:
            conn.push(
                json.dumps(
                    {
                        "id": None,
                        "status": 400,
                        "error": {"code": -1100, "msg": "Illegal characters found in a parameter."},
                    }
                ),
                "control",
            )
            return
        if not isinstance(msg, dict):
            conn.push(
                json.dumps(
                    {
                        "id": None,
                        "status": 400,
                        "error": {"code": -1102, "msg": "Malformed request."},
                    }
                ),
                "control",
            )
            return
        req_id = msg.get("id")
        method = msg.get("method")
        raw_params = msg.get("params", {})
        if not isinstance(raw_params, dict):
            raw_params = {}
        show_limits = conn.state["return_rate_limits"]
        if raw_params.get("returnRateLimits") is False:
            show_limits = False
        acct: Account | None = None
        is_order = False
        rule = None
        try:
            if not isinstance(method, str):
                raise mandatory("method")
            rule = self.sim.faults.take_http("WS", f"ws-fapi:{method}", require_path=True)
            if rule is not None and not rule.execute:
                raise self._fault_error(rule.status, rule.error)
            result, acct, is_order = self._execute(conn, method, raw_params)
            status = 200
            body: dict[str, Any] = {"id": req_id, "status": 200, "result": result}
        except BinanceError as exc:
            status = exc.status
            body = {"id": req_id, "status": exc.status, "error": exc.body()}
            if exc.status in (418, 429):
                body["error"]["data"] = {
                    "retryAfter": int(exc.headers.get("Retry-After", "1")) * 1000
                }
        if show_limits:
            body["rateLimits"] = self._rate_limits(acct, is_order)
        text_out = _ENCODER.encode(body).decode()
        if rule is not None:
            if rule.kind in ("drop", "hang"):
                return
            if rule.kind == "delay":
                conn.spawn(self._later(conn, text_out, rule.delay))
                return
            if rule.kind == "status" and status == 200:
                err = self._fault_error(rule.status, rule.error)
                body = {"id": req_id, "status": err.status, "error": err.body()}
                text_out = _ENCODER.encode(body).decode()
        conn.push(text_out, "control")

    @staticmethod
    async def _later(conn: SimConnection, text: str, delay: float) -> None:
        await asyncio.sleep(delay)
        conn.push(text, "control")

    def _fault_error(self, status: int, error: str) -> BinanceError:
        code, msg = self.sim.fault_error(error)
        return BinanceError(code, msg, status)

    def _execute(
        self, conn: SimConnection, method: str, raw: dict[str, Any]
    ) -> tuple[Any, Account | None, bool]:
        now = self._now()
        limiter = self.sim.limiter
        if method in ("session.logon", "session.status", "session.logout"):
            limiter.charge(now, 2)
            if method == "session.logon":
                logon = lookup_key(
                    self.engine, raw.get("apiKey") if isinstance(raw.get("apiKey"), str) else None
                )
                if logon.key_type != "ed25519":
                    raise BinanceError(-4056, "HMAC_SHA256 API key is not supported.")
                check_timestamp(raw, now)
                sig = raw.get("signature")
                if not isinstance(sig, str) or not sig:
                    raise mandatory("signature")
                if not verify_signature(logon, ws_payload(raw), sig):
                    raise BinanceError(-1022, "Signature for this request is not valid.")
                conn.state["session_key"] = logon.api_key
                conn.state["authorized_since"] = now
                return self._session(conn), logon, False
            if method == "session.logout":
                conn.state["session_key"] = None
            return self._session(conn), None, False
        m = self.methods.get(method)
        if m is None:
            raise BinanceError(-1102, f"Unknown method '{method}'.", 400)
        limiter.charge(now, m.weight)
        acct: Account | None = None
        if m.security != "NONE":
            key = raw.get("apiKey")
            if key is None and conn.state.get("session_key"):
                session_acct = self.engine.accounts.get(str(conn.state["session_key"]))
                if session_acct is None:
                    conn.state["session_key"] = None
                    raise BinanceError(
                        -2015, "Invalid API-key, IP, or permissions for action.", 401
                    )
                acct = session_acct
            else:
                acct = lookup_key(self.engine, key if isinstance(key, str) else None)
                if m.security == "SIGNED":
                    sig = raw.get("signature")
                    check_timestamp(raw, now)
                    if not isinstance(sig, str) or not sig:
                        raise mandatory("signature")
                    if not verify_signature(acct, ws_payload(raw), sig):
                        raise BinanceError(-1022, "Signature for this request is not valid.")
            if m.security == "SIGNED" and key is None:
                check_timestamp(raw, now)
            if m.permission is not None and m.permission not in acct.permissions:
                raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
            if m.orders:
                limiter.charge_orders(now, acct.api_key, m.orders)
        params = Params({k: v for k, v in raw.items() if k not in ("apiKey", "signature")})
        return m.handler(params, acct), acct, bool(m.orders) or method.startswith("order.")
