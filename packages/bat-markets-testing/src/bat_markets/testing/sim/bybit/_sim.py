"""``BybitSim``: the Bybit v5 linear venue on loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from bat_markets.core import Credentials, Endpoints

from .._engine import ALL_PERMISSIONS, Engine
from .._events import EngineEvent
from .._faults import HttpRule
from .._server import ASGIApp, SimConnection
from .._venue import VenueSim, random_token
from . import _codes as C
from . import _render as R
from ._auth import ApiKey
from ._bridge import Bridge
from ._ids import IdMap
from ._limits import Charge, IpGuard, RateLimiter, RateLimits
from ._market_rest import MarketRest
from ._private import PrivateHub
from ._public import PublicHub
from ._rest import RestGateway
from ._trading import Trading
from ._ws import WsEndpoints

__all__ = ["BybitSim", "EngineKeys"]

_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
_FAULT_CODES: dict[str, tuple[int, str]] = {
    "unknown": (C.SERVER_TIMEOUT, C.MSG[C.SERVER_TIMEOUT]),
    "timeout": (C.SERVER_TIMEOUT, C.MSG[C.SERVER_TIMEOUT]),
    "internal": (C.SERVER_ERROR, C.MSG[C.SERVER_ERROR]),
    "unavailable": (C.SERVER_ERROR, "Server is restarting, please retry later."),
    "restarting": (C.SERVICE_RESTARTING, C.MSG[C.SERVICE_RESTARTING]),
    "overload": (10429, "System level frequency protection, please retry later."),
    "rate": (C.TOO_MANY_VISITS, C.MSG[C.TOO_MANY_VISITS]),
}


class EngineKeys:
    """The engine's accounts seen as Bybit API keys (one key per account / UID)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, api_key: str) -> ApiKey | None:
        acct = self.engine.accounts.get(api_key)
        if acct is None:
            return None
        ips = acct.extra.get("bybit_allowed_ips", ())
        return ApiKey(
            api_key=api_key,
            secret=acct.secret.reveal(),
            account=api_key,
            permissions=acct.permissions,
            allowed_ips=tuple(ips) if isinstance(ips, (tuple, list)) else (),
            public_key=acct.public_key if acct.key_type == "rsa" else None,
        )


class BybitSim(VenueSim):
    """Bybit v5 linear (USDT perpetuals) simulator: REST, public/private websockets and
    websocket order entry, on ``127.0.0.1``.

    ::

        async with BybitSim(seed=7, auto_tick=None) as sim:
            sim.endpoints        # rest / public_ws / private_ws / command_ws (/v5/trade)
            sim.credentials      # the default account's key (HMAC)
            sim.add_account(api_key=..., secret=..., permissions={"read"}, balance=...)
            sim.step(3)          # move the market (deterministic for a seed)
            sim.faults           # the fault plan (see below)
            sim.service_restart("BTCUSDT")   # book streams restart with u=1 snapshots

    ``limits`` (:class:`RateLimits`, mutable as ``sim.limits``) sets the per-UID endpoint caps
    and the IP budget / ban; ``bbo_repush`` (seconds, None = off) re-pushes an unchanged
    ``orderbook.1`` snapshot with the same ``u`` as the venue does every 3 s. Other keyword
    arguments go to ``VenueSim`` (``instruments``, ``depth_levels``, ``clock``, fees...).

    Faults as the venue shows them: ``faults.http_error(200, path, error="internal",
    execute=True)`` → retCode 10016 after the order executed; ``error="unknown"`` or
    ``"timeout"`` → 10000; ``"restarting"`` → 10019; ``"overload"`` → 10429 (with any HTTP
    status, e.g. 429); ``faults.timeout(path)`` / ``drop_response(path)`` → executed, no
    answer; ``faults.rate_limit(n)`` → 10006; ``faults.ban(s)`` → HTTP 403 "access too
    frequent"; ``faults.clock_skew(ms)`` → server time and 10002 checks shift. On ``/v5/trade``
    the same rules apply when their path is ``"/v5/trade"`` and ``method`` is the op
    (``faults.drop_response("/v5/trade", method="order.create")``). Websocket faults
    (``drop_ws``, ``skip_sequence``, ``duplicate_private``, ``reorder_private``,
    ``malformed_frames``, ``late_fills``) apply as documented in ``_faults.py``.
    """

    venue = "bybit"
    key_length = 18

    def __init__(
        self,
        *,
        seed: int = 7,
        auto_tick: float | None = None,
        limits: RateLimits | None = None,
        bbo_repush: float | None = 3.0,
        **kwargs: Any,
    ) -> None:
        self.limits = limits or RateLimits()
        self.bbo_repush = bbo_repush  # seconds; None = never re-push an unchanged orderbook.1
        super().__init__(seed=seed, auto_tick=auto_tick, **kwargs)

    # -- VenueSim hooks --------------------------------------------------------------------------
    def setup(self) -> None:
        self.ids = IdMap(self.seed)
        self.bridge = Bridge(self.engine, self.ids)
        self.keys = EngineKeys(self.engine)
        self.limiter = RateLimiter(self.limits)
        self.ip_guard = IpGuard(self.limits)
        self.public = PublicHub(self.engine, self.bridge, self.faults, self.server_time_ms)
        self.private = PrivateHub(self.engine, self.bridge, self.server_time_ms)
        self.trading = Trading(self.engine, self.bridge, on_rejected=self._rejected)
        self.market_rest = MarketRest(self.engine, self.bridge, self.public, self.server_time_ms)
        self._tasks: set[asyncio.Future[Any]] = set()
        self._unsubscribe: Callable[[], None] = self.engine.subscribe(self._on_event)

    def _on_event(self, ev: EngineEvent) -> None:
        self.public.on_event(ev)
        self.private.on_event(ev)

    def _rejected(self, api_key: str, symbol: str) -> None:
        # the venue pushes position rows after every order command, even a refused one
        self.private.push_positions(api_key, {symbol})

    def build_app(self) -> ASGIApp:
        self.rest = RestGateway(self)
        self.ws = WsEndpoints(self)
        app = Starlette(
            routes=[
                WebSocketRoute("/v5/public/linear", self.ws.public),
                WebSocketRoute("/v5/private", self.ws.private),
                WebSocketRoute("/v5/trade", self.ws.trade),
                Route("/{path:path}", self.rest.handle, methods=_METHODS),
            ]
        )
        return app

    def make_endpoints(self, http_base: str, ws_base: str) -> Endpoints:
        return Endpoints(
            rest=http_base,
            public_ws=f"{ws_base}/v5/public/linear",
            private_ws=f"{ws_base}/v5/private",
            command_ws=f"{ws_base}/v5/trade",
        )

    def fault_body(self, error: str, status: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        code, msg = self.fault_error(error)
        body = R.envelope(None, time_ms=self.server_time_ms(), code=code, msg=msg)
        return status, [(b"content-type", b"application/json")], msgspec.json.encode(body)

    async def start(self) -> None:
        await super().start()
        if self.bbo_repush:
            task = asyncio.ensure_future(self._repush_loop(self.bbo_repush))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _repush_loop(self, every: float) -> None:
        while True:
            await asyncio.sleep(every / 4)
            self.public.repush_bbo(int(every * 1000))

    async def on_stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> BybitSim:
        await self.start()
        return self

    def __enter__(self) -> BybitSim:
        super().__enter__()
        return self

    # -- API -------------------------------------------------------------------------------------
    def fault_error(self, error: str) -> tuple[int, str]:
        """``(retCode, retMsg)`` the venue answers for a server-side fault kind."""
        return _FAULT_CODES.get(error, (C.SERVER_ERROR, C.MSG[C.SERVER_ERROR]))

    def add_account(
        self,
        *,
        api_key: str | None = None,
        secret: str | None = None,
        permissions: Iterable[str] = ALL_PERMISSIONS,
        balance: Decimal = Decimal("100000"),
        key_type: str = "hmac",
        public_key: str | None = None,
        allowed_ips: Iterable[str] = (),
    ) -> Credentials:
        """Create an account (one API key = one UID). ``permissions``: ``"read"`` and/or
        ``"trade"``; ``allowed_ips`` binds the key (10010 from other IPs); ``key_type="rsa"``
        with ``public_key`` (PEM) verifies base64 RSA-SHA256 signatures."""
        key = api_key or random_token(self.token_rng, 18)
        sec = secret or random_token(self.token_rng, 36)
        creds = super().add_account(
            api_key=key,
            secret=sec,
            permissions=permissions,
            balance=balance,
            key_type=key_type,
            public_key=public_key,
        )
        ips = tuple(allowed_ips)
        if ips:
            self.engine.accounts[key].extra["bybit_allowed_ips"] = ips
        return creds

    def service_restart(self, symbol: str | None = None) -> None:
        """Simulate a venue service restart: every order-book stream of ``symbol`` (None =
        all) restarts with a ``u=1`` snapshot, as Bybit documents."""
        self.call(self.public.restart, symbol)

    def resend_snapshot(self, symbol: str, depth: int) -> None:
        """Push a recovery snapshot on ``orderbook.{depth}.{symbol}`` mid-stream."""
        self.call(self.public.resnapshot, symbol, depth)

    def inject_liquidation(self, symbol: str, side: str, steps: int) -> None:
        """Someone else's liquidation: a forced taker order (``side`` "Buy"/"Sell") that prints
        trades and an ``allLiquidation`` event."""
        from .._model import Side

        self.call(
            self.engine.print_liquidation, symbol, Side.BUY if side == "Buy" else Side.SELL, steps
        )

    # -- trade-socket faults ---------------------------------------------------------------------
    async def apply_trade_fault(
        self,
        conn: SimConnection,
        rule: HttpRule,
        body: dict[str, Any],
        send: Callable[[dict[str, Any]], None],
        answer: Callable[..., dict[str, Any]],
        req_id: Any,
        op: str,
        charge: Charge | None,
    ) -> None:
        """A REST-style fault on a ``/v5/trade`` op that already executed."""
        if rule.kind == "status":
            code, text = self.fault_error(rule.error)
            send(answer(req_id, op, code, text, charge=charge))
        elif rule.kind == "delay":

            async def later() -> None:
                await asyncio.sleep(rule.delay)
                send(body)

            task = asyncio.ensure_future(later())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif rule.kind == "drop":
            conn.drop(abort=True)
        # "hang": executed, never answered
