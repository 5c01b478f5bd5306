"""``BatMarkets``: the facade. Static (offline) or live (``BatMarkets.live(...)``)."""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType
from typing import Any

from bat_markets.core import (
    Capabilities,
    ConfigError,
    Credentials,
    Endpoints,
    Environment,
    Markets,
    VenueAdapter,
    VenueConfig,
    load_venue,
)

from ._advanced_private import PrivateAdvanced
from ._commands import CommandAPI
from ._options import ClientOptions
from ._private_methods import PrivateAPI
from ._public_api import PublicMixin
from ._runtime import Runtime
from ._status import Diagnostics, Health, LaneStatus, Status

__all__ = ["BatMarkets", "LiveConnect"]


def _adapter_for(venue: str | VenueAdapter) -> VenueAdapter:
    if isinstance(venue, str):
        return load_venue(venue)
    if isinstance(venue, VenueAdapter):
        return venue
    raise ConfigError(f"venue must be a venue id or an adapter, got {type(venue).__name__}")


class BatMarkets(PublicMixin, PrivateAPI, CommandAPI):
    """One venue, one typed CCXT-shaped API.

    ``BatMarkets("binance")`` is a *static* client: bundled metadata, offline decoding, no I/O.
    ``BatMarkets.live("binance", ...)`` is a *live* client; use it as ``async with`` or ``await``
    it (then ``await bm.close()``).
    """

    def __init__(self, venue: str | VenueAdapter) -> None:
        self._adapter = _adapter_for(venue)
        self._runtime: Runtime | None = None
        self._advanced = PrivateAdvanced(self)

    @classmethod
    def live(
        cls,
        venue: str | VenueAdapter,
        *,
        environment: Environment | str | None = None,
        credentials: Credentials | None = None,
        endpoints: Endpoints | None = None,
        config: VenueConfig | None = None,
        options: ClientOptions | None = None,
    ) -> LiveConnect:
        """A live client: ``async with BatMarkets.live(...) as bm`` or ``bm = await ...``.

        Environment defaults to ``config.environment`` (testnet). ``endpoints`` overrides the
        adapter's preset (how tests and the demo point at the simulator). Credentials: explicit,
        else ``config.credentials``, else ``<VENUE>_API_KEY``/``<VENUE>_API_SECRET``; public
        data needs none. Starting measures the clock offset and loads the markets.
        """
        client = cls(venue)
        adapter = client._adapter
        cfg = config or VenueConfig()
        try:
            env = Environment(environment) if environment is not None else cfg.environment
        except ValueError:
            raise ConfigError(
                f"unknown environment {environment!r}; use mainnet, testnet or demo",
                venue=adapter.id,
            ) from None
        creds = credentials or cfg.credentials or Credentials.from_env(adapter.id)
        eps = endpoints or cfg.endpoints or adapter.endpoints(env)
        if cfg.environment is not env:
            cfg = VenueConfig(
                environment=env,
                credentials=cfg.credentials,
                endpoints=cfg.endpoints,
                recv_window_ms=cfg.recv_window_ms,
                timeouts=cfg.timeouts,
                client_order_id_prefix=cfg.client_order_id_prefix,
            )
        client._runtime = Runtime(
            adapter,
            config=cfg,
            options=options or ClientOptions(),
            endpoints=eps,
            credentials=creds,
        )
        return LiveConnect(client)

    def __repr__(self) -> str:
        if self._runtime is None:
            return f"<BatMarkets {self._adapter.id} static>"
        state = "closed" if self._runtime.closed else "live"
        return f"<BatMarkets {self._adapter.id} {self._runtime.environment} {state}>"

    # -- identity and metadata
    @property
    def venue(self) -> str:
        return self._adapter.id

    @property
    def capabilities(self) -> Capabilities:
        return self._adapter.capabilities

    @property
    def is_live(self) -> bool:
        return self._runtime is not None

    @property
    def environment(self) -> str | None:
        return self._runtime.environment if self._runtime is not None else None

    def markets(self) -> Markets:
        """The instrument catalog (bundled; replaced by ``load_markets()`` on live clients)."""
        return self._adapter.markets

    async def load_markets(self) -> Markets:
        """Fetch the venue's instruments and replace the catalog."""
        rt = self._live("load_markets")
        self._require("load_markets")
        return await rt.load_markets()

    # -- runtime
    def status(self) -> Status:
        """Cheap health summary per lane (static clients report every lane idle)."""
        rt = self._runtime
        if rt is not None:
            return rt.status()
        idle = {
            lane: LaneStatus(lane=lane, health=Health.IDLE, detail="static client")
            for lane in ("rest", "public", "private", "command")
        }
        return Status(
            venue=self._adapter.id,
            environment="offline",
            health=Health.IDLE,
            rest=idle["rest"],
            public=idle["public"],
            private=idle["private"],
            command=idle["command"],
        )

    def advanced(self) -> PrivateAdvanced:
        """Raw lanes, offline decoding, diagnostics, reconciliation and the native adapter."""
        return self._advanced

    def diagnostics(self) -> Diagnostics:
        """Shortcut for ``advanced().diagnostics()``."""
        return self._advanced.diagnostics()

    async def close(self) -> None:
        """Close every socket and task. Idempotent; open handles then raise ``StreamClosed``."""
        if self._runtime is not None:
            await self._runtime.close()

    async def __aenter__(self) -> BatMarkets:
        if self._runtime is not None and not self._runtime.started:
            await self._runtime.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class LiveConnect:
    """What ``BatMarkets.live()`` returns: awaitable, and an async context manager."""

    def __init__(self, client: BatMarkets) -> None:
        self._client = client

    async def _start(self) -> BatMarkets:
        rt = self._client._runtime
        assert rt is not None
        await rt.start()
        return self._client

    def __await__(self) -> Generator[Any, None, BatMarkets]:
        return self._start().__await__()

    async def __aenter__(self) -> BatMarkets:
        return await self._start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.close()
