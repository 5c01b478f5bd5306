"""``BinanceSim``: the Binance USD-M futures venue on loopback.

::

    async with BinanceSim(seed=7, auto_tick=None) as sim:
        sim.endpoints     # Endpoints(rest="http://127.0.0.1:P", public_ws="ws://127.0.0.1:P",
                          #   private_ws="ws://127.0.0.1:P", command_ws="ws://127.0.0.1:P/ws-fapi/v1",
                          #   extra={"public": "/public/stream", "market": "/market/stream",
                          #          "private": "/private/ws?listenKey={listen_key}"})
        sim.credentials   # default account: all permissions, 100000 USDT
        sim.limits        # BinanceLimits (weight_1m, orders_10s, orders_1m, ban_seconds), mutable
        sim.faults, sim.engine, sim.step(n)

Routes: REST ``/fapi/...`` (see ``_rest.py``), market streams ``/public/ws``, ``/public/stream``,
``/market/ws``, ``/market/stream``, legacy ``/ws/<streams>`` and ``/stream?streams=``; user data
``/private/ws?listenKey=K[&events=A/B]``, ``/private/stream?listenKey=K`` and legacy
``/ws/<listenKey>``; WS API ``/ws-fapi/v1``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from bat_markets.core import Endpoints

from .._events import EngineEvent
from .._server import ASGIApp, SimConnection
from .._venue import VenueSim
from ._limits import BinanceLimits, RateLimiter
from ._orders import OrderDesk
from ._render import Renderer
from ._rest import BinanceRest
from ._streams import StreamHub, stream_area
from ._user import UserStreams
from ._wsapi import WsApi

__all__ = ["BinanceSim"]

_FAULT_ERRORS: dict[str, tuple[int, str]] = {
    "unknown": (-1000, "Unknown error, please check your request or try again later."),
    "unavailable": (-1001, "Service Unavailable."),
    "internal": (-1001, "Internal error; unable to process your request. Please try again."),
    "timeout": (
        -1007,
        "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    ),
    "overload": (
        -1008,
        "Request throttled by system-level protection. Reduce-only/close-position orders are exempt. Please try again.",
    ),
}


class BinanceSim(VenueSim):
    """Binance USD-M simulator (see module docstring)."""

    venue = "binance"
    key_length = 64

    def setup(self) -> None:
        self.limiter = RateLimiter()
        self.renderer = Renderer(self.engine)
        self.desk = OrderDesk(self)
        self.users = UserStreams(self)
        self.streams = StreamHub(self)
        self.rest = BinanceRest(self)
        self.wsapi = WsApi(self)
        self.engine.subscribe(self._on_event)
        self.faults.hooks["expire_listen_key"] = self.users.expire

    @property
    def limits(self) -> BinanceLimits:
        return self.limiter.limits

    def _on_event(self, ev: EngineEvent) -> None:
        self.streams.on_event(ev)
        self.users.on_event(ev)

    # -- VenueSim hooks ------------------------------------------------------------------------
    def make_endpoints(self, http_base: str, ws_base: str) -> Endpoints:
        return Endpoints(
            rest=http_base,
            public_ws=ws_base,
            private_ws=ws_base,
            command_ws=f"{ws_base}/ws-fapi/v1",
            extra={
                "public": "/public/stream",
                "market": "/market/stream",
                "private": "/private/ws?listenKey={listen_key}",
            },
        )

    def fault_error(self, error: str) -> tuple[int, str]:
        return _FAULT_ERRORS.get(error, _FAULT_ERRORS["unknown"])

    def fault_body(self, error: str, status: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        import json

        code, msg = self.fault_error(error)
        body = json.dumps({"code": code, "msg": msg}, separators=(",", ":")).encode()
        return status, [(b"content-type", b"application/json")], body

    def build_app(self) -> ASGIApp:
        methods = ["GET", "POST", "PUT", "DELETE"]
        routes: list[Any] = [
            Route("/fapi/{rest:path}", self.rest.dispatch, methods=methods),
            WebSocketRoute("/ws-fapi/v1", self._ws_api),
            WebSocketRoute("/private/ws", self._private),
            WebSocketRoute("/private/stream", self._private),
            WebSocketRoute("/public/ws", self._market),
            WebSocketRoute("/public/ws/{streams:path}", self._market),
            WebSocketRoute("/public/stream", self._market),
            WebSocketRoute("/market/ws", self._market),
            WebSocketRoute("/market/ws/{streams:path}", self._market),
            WebSocketRoute("/market/stream", self._market),
            WebSocketRoute("/stream", self._market),
            WebSocketRoute("/ws", self._market),
            WebSocketRoute("/ws/{streams:path}", self._market),
        ]
        app: ASGIApp = Starlette(routes=routes)
        return app

    # -- websocket endpoints -------------------------------------------------------------------
    async def _market(self, ws: WebSocket) -> None:
        path = ws.url.path
        area = (
            "public"
            if path.startswith("/public")
            else "market"
            if path.startswith("/market")
            else "legacy"
        )
        combined = path.endswith("/stream")
        names: list[str] = []
        raw = ws.path_params.get("streams")
        if isinstance(raw, str) and raw:
            names = [n for n in raw.split("/") if n]
        elif combined:
            names = [n for n in ws.query_params.get("streams", "").split("/") if n]
        if area == "legacy" and not combined and len(names) == 1 and names[0] in self.users.keys:
            await self._user_stream(ws, names[0], None, combined=False)
            return
        if (
            area == "legacy"
            and not combined
            and len(names) == 1
            and stream_area(names[0]) is None
            and "@" not in names[0]
            and not names[0].startswith("!")
        ):
            await ws.close(code=1008)  # an unknown / expired listen key
            return
        await ws.accept()
        conn = SimConnection(ws, self.faults, max_age=self.ws_max_age, max_incoming_per_s=10)
        conn.state.update(area=area, combined=combined)
        self.streams.subscribe(conn, names)

        async def on_text(text: str) -> None:
            await self.streams.on_text(conn, text)

        try:
            await conn.run(on_text)
        finally:
            self.streams.forget(conn)

    async def _private(self, ws: WebSocket) -> None:
        key = ws.query_params.get("listenKey", "")
        events_raw = ws.query_params.get("events", "")
        events = {e for e in events_raw.split("/") if e} or None
        if key not in self.users.keys:
            await ws.close(code=1008)
            return
        await self._user_stream(ws, key, events, combined=ws.url.path.endswith("/stream"))

    async def _user_stream(
        self, ws: WebSocket, key: str, events: set[str] | None, *, combined: bool
    ) -> None:
        await ws.accept()
        conn = SimConnection(ws, self.faults, max_age=self.ws_max_age, max_incoming_per_s=10)
        conn.state.update(area="private", combined=combined)
        if not self.users.attach(conn, key, events):
            await ws.close(code=1008)
            return

        async def on_text(text: str) -> None:
            await self.streams.on_text(conn, text)

        try:
            await conn.run(on_text)
        finally:
            self.users.detach(conn)

    async def _ws_api(self, ws: WebSocket) -> None:
        await ws.accept()
        conn = SimConnection(ws, self.faults, max_age=self.ws_max_age)
        conn.state.update(
            connected_since=self.server_time_ms(),
            return_rate_limits=ws.query_params.get("returnRateLimits", "true") != "false",
            session_key=None,
        )

        async def on_text(text: str) -> None:
            await self.wsapi.on_text(conn, text)

        await conn.run(on_text)
