"""Base class of a venue simulator: engine + market generator + faults + server harness.

A venue layer subclasses ``VenueSim`` and implements ``setup()`` (its own state, called once
``engine``/``generator``/``faults`` exist), ``build_app()`` (its starlette app),
``make_endpoints(http_base, ws_base)`` and ``fault_body(error, status)``. Users get::

    async with SomeVenueSim(seed=7, auto_tick=None) as sim:   # in the running event loop
        sim.endpoints, sim.credentials, sim.faults, sim.engine, sim.generator
        sim.add_account(api_key=..., secret=..., permissions=..., balance=...) -> Credentials
        sim.step(n=1)
        sim.server_time_ms()        # engine clock + faults.clock_skew

    with SomeVenueSim(seed=7) as sim:   # same, served from a background thread (sync clients)
        sim.step()                      # marshalled into the server's loop
"""

from __future__ import annotations

import asyncio
import random
import string
import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from bat_markets.core import Credentials, Endpoints, Secret

from ._clock import Clock
from ._engine import ALL_PERMISSIONS, Engine
from ._faults import Faults
from ._instruments import DEFAULT_INSTRUMENTS, Instrument
from ._market import MarketGenerator
from ._server import ASGIApp, SimServer

__all__ = ["VenueSim", "random_token"]

_ALNUM = string.ascii_letters + string.digits
_V = TypeVar("_V", bound="VenueSim")


def random_token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(length))


class VenueSim:
    """Shared lifecycle of the venue simulators (see module docstring)."""

    venue = "sim"
    key_length = 64

    def __init__(
        self,
        *,
        seed: int = 7,
        auto_tick: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        instruments: Iterable[Instrument] = DEFAULT_INSTRUMENTS,
        clock: Clock | None = None,
        depth_levels: int = 1000,
        balance: Decimal = Decimal("100000"),
        api_key: str | None = None,
        secret: str | None = None,
        ws_ping_interval: float | None = 180.0,
        ws_ping_timeout: float | None = 600.0,
        ws_max_age: float | None = 24 * 3600.0,
        maker_fee: Decimal = Decimal("0.0002"),
        taker_fee: Decimal = Decimal("0.0004"),
    ) -> None:
        self.seed = seed
        self.auto_tick = auto_tick
        self.ws_max_age = ws_max_age
        self.engine = Engine(
            tuple(instruments), clock=clock, maker_fee=maker_fee, taker_fee=taker_fee
        )
        self.faults = Faults()
        self.token_rng = random.Random(f"{self.venue}-{seed}")
        key = api_key or random_token(self.token_rng, self.key_length)
        sec = secret or random_token(self.token_rng, self.key_length)
        self.generator = MarketGenerator(self.engine, seed, depth_levels=depth_levels)
        self.setup()
        self.credentials = self.add_account(api_key=key, secret=sec, balance=balance)
        self._server = SimServer(
            self.build_app(),
            self.faults,
            self.fault_body,
            host=host,
            port=port,
            ws_ping_interval=ws_ping_interval,
            ws_ping_timeout=ws_ping_timeout,
        )
        self._host = host
        self._ticker: asyncio.Task[None] | None = None
        self._running = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    # -- to implement ---------------------------------------------------------------------------
    def setup(self) -> None:
        """Hook: venue state (listeners on ``self.engine``), before ``build_app`` is called."""

    def build_app(self) -> ASGIApp:
        raise NotImplementedError

    def make_endpoints(self, http_base: str, ws_base: str) -> Endpoints:
        raise NotImplementedError

    def fault_body(self, error: str, status: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return status, [(b"content-type", b"text/plain")], b"error"

    async def on_stop(self) -> None:
        """Hook: close venue resources before the server stops."""

    # -- API ------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.port

    @property
    def endpoints(self) -> Endpoints:
        if not self._running:
            raise RuntimeError("the simulator is not running (use 'async with' or 'with')")
        return self.make_endpoints(
            f"http://{self._host}:{self.port}", f"ws://{self._host}:{self.port}"
        )

    def server_time_ms(self) -> int:
        return self.engine.now() + self.faults.clock_offset_ms

    def add_account(
        self,
        *,
        api_key: str | None = None,
        secret: str | None = None,
        permissions: Iterable[str] = ALL_PERMISSIONS,
        balance: Decimal = Decimal("100000"),
        key_type: str = "hmac",
        public_key: str | None = None,
    ) -> Credentials:
        """Create an account; returns its credentials (``secret`` is the PEM private key for
        Ed25519 keys, whose ``public_key`` PEM the server verifies with)."""
        key = api_key or random_token(self.token_rng, self.key_length)
        sec = secret or random_token(self.token_rng, self.key_length)
        self.engine.add_account(
            key,
            Secret(sec),
            permissions=frozenset(permissions),
            balance=balance,
            key_type=key_type,
            public_key=public_key,
        )
        return Credentials.of(key, sec, key_type)

    def step(self, n: int = 1) -> None:
        """Advance the market-data generator ``n`` steps (deterministic for a seed)."""
        loop = self._loop
        if (
            self._thread is not None
            and loop is not None
            and threading.current_thread() is not self._thread
        ):
            fut = asyncio.run_coroutine_threadsafe(self._astep(n), loop)
            fut.result()
            return
        self.generator.step(n)

    async def _astep(self, n: int) -> None:
        self.generator.step(n)

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` in the server's loop (thread mode) and return its result."""
        loop = self._loop
        if (
            self._thread is not None
            and loop is not None
            and threading.current_thread() is not self._thread
        ):

            async def run() -> Any:
                return fn(*args, **kwargs)

            return asyncio.run_coroutine_threadsafe(run(), loop).result()
        return fn(*args, **kwargs)

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        await self._server.start()
        self._running = True
        self._loop = asyncio.get_running_loop()
        if self.auto_tick:
            self._ticker = asyncio.ensure_future(self.generator.run(self.auto_tick))

    async def stop(self) -> None:
        if not self._running:
            return
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        await self.on_stop()
        await self._server.stop()
        self._running = False

    async def __aenter__(self: _V) -> _V:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # thread mode ---------------------------------------------------------------------------
    def __enter__(self: _V) -> _V:
        started = threading.Event()
        errors: list[BaseException] = []

        async def main() -> None:
            self._stop_event = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:
                errors.append(exc)
                started.set()
                return
            started.set()
            try:
                await self._stop_event.wait()
            finally:
                await self.stop()

        self._thread = threading.Thread(
            target=lambda: asyncio.run(main()), name=f"{self.venue}-sim", daemon=True
        )
        self._thread.start()
        started.wait()
        if errors:
            raise errors[0]
        return self

    def __exit__(self, *exc: object) -> None:
        loop, ev, thread = self._loop, self._stop_event, self._thread
        if loop is not None and ev is not None:
            loop.call_soon_threadsafe(ev.set)
        if thread is not None:
            thread.join(timeout=10)
        self._thread = None
