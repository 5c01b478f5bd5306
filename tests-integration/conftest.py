"""Fixtures for end-to-end tests: the loopback simulator of each venue and live clients on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from bat_markets.client import BatMarkets, ClientOptions
from bat_markets.testing.sim import VenueSim, venue_class

VENUES = ("binance", "bybit")


class CountingTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport that records every request that actually leaves the client."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def count(self, path: str | None = None) -> int:
        return sum(1 for r in self.sent if path is None or r.url.path == path)


def fast_options(**overrides: Any) -> ClientOptions:
    """Runtime timers shortened for tests (the protocol behaviour is unchanged)."""
    values: dict[str, Any] = {
        "linger_s": 0.2,
        "reconnect_initial_s": 0.05,
        "reconnect_max_s": 0.2,
        "clock_refresh_s": 0,
        "control_frames_per_s": 100.0,
        "snapshot_retry_s": 0.05,
        "open_interest_poll_s": 0.1,
        "retry_backoff_s": 0.02,
        "retry_backoff_max_s": 0.05,
    }
    values.update(overrides)
    return ClientOptions(**values)


@pytest.fixture
def counting_transport() -> CountingTransport:
    """Pass as ``http_transport=`` to count the requests that really leave the client."""
    return CountingTransport()


@pytest.fixture(params=VENUES)
def venue(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def sim(venue: str) -> AsyncIterator[VenueSim]:
    """A venue simulator that does not tick by itself (tests call ``sim.step``)."""
    async with venue_class(venue)(seed=7, auto_tick=None) as s:
        yield s


@pytest.fixture
async def ticking_sim(venue: str) -> AsyncIterator[VenueSim]:
    """A venue simulator whose market moves every 20 ms."""
    async with venue_class(venue)(seed=7, auto_tick=0.02) as s:
        yield s


Connect = Callable[..., Awaitable[BatMarkets]]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    """``await connect(sim, credentials=None, **options)``: a live client on ``sim``, closed
    after the test (``options`` are ``ClientOptions`` fields)."""
    clients: list[BatMarkets] = []

    async def factory(sim: VenueSim, *, credentials: Any = None, **options: Any) -> BatMarkets:
        bm = await BatMarkets.live(
            sim.venue,
            endpoints=sim.endpoints,
            credentials=credentials,
            options=fast_options(**options),
        )
        clients.append(bm)
        return bm

    yield factory
    for bm in clients:
        await bm.close()
