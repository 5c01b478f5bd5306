"""Fixtures: the fake venue (adapter + loopback websocket server + mock REST) and live clients."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from bm_client_fake import FakeAdapter, FakeRest, FakeWsServer, MakeClient, fast_options

from bat_markets.client import BatMarkets
from bat_markets.core import Endpoints


@pytest.fixture
async def ws_server() -> AsyncIterator[FakeWsServer]:
    async with FakeWsServer() as server:
        yield server


@pytest.fixture
def rest() -> FakeRest:
    return FakeRest()


@pytest.fixture
async def make_client(ws_server: FakeWsServer, rest: FakeRest) -> AsyncIterator[MakeClient]:
    clients: list[BatMarkets] = []

    async def factory(adapter: FakeAdapter | None = None, **options: Any) -> BatMarkets:
        endpoints = Endpoints(rest="http://fake.test", public_ws=ws_server.url, private_ws="")
        bm = await BatMarkets.live(
            adapter or FakeAdapter(), endpoints=endpoints, options=fast_options(rest, **options)
        )
        clients.append(bm)
        return bm

    yield factory
    for bm in clients:
        await bm.close()
