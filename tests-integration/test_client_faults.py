"""The live client under the simulator's faults: shared subscriptions, disconnects, sequence
gaps, malformed frames, rate-limit bans and clock skew. Books are always compared with a REST
snapshot of the venue at the same update id: a resync is flagged, never a corrupt book."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import pytest

from bat_markets.client import BatMarkets, OrderBookWatch, StreamGap
from bat_markets.core import OrderBookSnapshot, RateLimited
from bat_markets.testing.sim import VenueSim

Connect = Callable[..., Awaitable[BatMarkets]]


def server_subscriptions(sim: VenueSim) -> list[str]:
    """Stream names the simulator currently serves, over every open connection."""
    names: list[str] = []
    for conn in list(sim.faults.connections):
        if not conn.closed:
            names.extend(conn.state.get("streams", ()))
            names.extend(conn.state.get("bybit_topics", ()))
    return names


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    with anyio.fail_after(within):
        while not predicate():  # noqa: ASYNC110 - polling a test condition
            await anyio.sleep(0.01)


@contextlib.asynccontextmanager
async def stepping(sim: VenueSim, interval: float = 0.01) -> AsyncIterator[None]:
    """Move the simulated market while the block runs; it stands still afterwards."""

    async def run() -> None:
        while True:
            sim.step()
            await asyncio.sleep(interval)

    task = asyncio.ensure_future(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def assert_book_matches_venue(bm: BatMarkets, watch: OrderBookWatch, sim: VenueSim) -> None:
    """With the market standing still, our book equals the venue's REST snapshot."""
    rest: OrderBookSnapshot | None = None
    mine: OrderBookSnapshot | None = None

    def caught_up() -> bool:
        nonlocal mine
        mine = watch.current(1000)
        return mine is not None and rest is not None and mine.sequence == rest.sequence

    with anyio.fail_after(5):
        while True:
            rest = await bm.fetch_order_book("BTCUSDT", limit=1000)
            if caught_up():
                break
            await anyio.sleep(0.05)
    assert mine is not None
    assert rest is not None
    assert mine.bids == rest.bids[: len(mine.bids)]
    assert len(mine.bids) == len(rest.bids)
    assert mine.asks == rest.asks[: len(mine.asks)]
    assert len(mine.asks) == len(rest.asks)


async def test_two_watchers_share_one_subscription(sim: VenueSim, connect: Connect) -> None:
    bm = await connect(sim)
    a = bm.watch_order_book("BTCUSDT")
    b = bm.watch_order_book("BTC/USDT:USDT")
    t1 = bm.watch_trades("ETHUSDT")
    t2 = bm.watch_trades("ETHUSDT")
    async with stepping(sim):
        with anyio.fail_after(5):
            await a.recv()
            await b.recv()
            await t1.recv()
            await t2.recv()
    subs = server_subscriptions(sim)
    assert len(subs) == 2
    assert len(set(subs)) == 2
    diag = bm.advanced().diagnostics()
    assert diag.books[0].watchers == 2
    assert len(diag.books) == 1
    await a.shutdown()
    await t1.shutdown()
    async with stepping(sim):
        with anyio.fail_after(5):
            await b.recv()  # the remaining watchers keep their streams
            await t2.recv()
    assert len(server_subscriptions(sim)) == 2
    await b.shutdown()
    await t2.shutdown()
    await eventually(lambda: not server_subscriptions(sim))
    await eventually(lambda: bm.status().public.connections == 0)  # closed after the linger
    await eventually(lambda: not [c for c in sim.faults.connections if not c.closed])


async def test_disconnect_mid_stream_reconnects_resubscribes_and_resyncs(
    sim: VenueSim, connect: Connect
) -> None:
    bm = await connect(sim)
    book = bm.watch_order_book("BTCUSDT")
    trades = bm.watch_trades("BTCUSDT")
    async with stepping(sim):
        with anyio.fail_after(5):
            assert not (await book.recv()).resynced
            await trades.recv()
        open_conns = [c for c in sim.faults.connections if not c.closed]
        assert len(open_conns) == (2 if sim.venue == "binance" else 1)  # split routes on Binance
        sim.faults.drop_ws(count=len(open_conns))
        with anyio.fail_after(10):
            while not (await book.recv()).resynced:
                pass
            gap: StreamGap | None = None
            while gap is None:  # trades received before the drop, then the gap, once
                try:
                    await trades.recv()
                except StreamGap as exc:
                    gap = exc
            assert "dropped" in gap.message
            await trades.recv()  # the trade stream was resubscribed as well
    assert trades.gaps == 1
    await assert_book_matches_venue(bm, book, sim)
    diag = bm.advanced().diagnostics()
    assert diag.reconnects >= 1
    assert all(c.state == "connected" for c in diag.connections)


async def test_sequence_gap_is_resynced_and_flagged(
    venue: str, sim: VenueSim, connect: Connect
) -> None:
    # Binance: pu chain breaks -> REST snapshot. Bybit: u skips (strict sequence, the adapter's
    # default) -> resubscribe -> fresh snapshot.
    bm = await connect(sim)
    book = bm.watch_order_book("BTCUSDT")
    async with stepping(sim):
        with anyio.fail_after(5):
            await book.recv()
        sim.faults.skip_sequence("BTCUSDT")
        with anyio.fail_after(3):
            while not (await book.recv()).resynced:
                pass
    assert bm.advanced().diagnostics().book_resyncs >= 1
    await assert_book_matches_venue(bm, book, sim)


async def test_malformed_frames_are_counted_and_the_stream_continues(
    sim: VenueSim, connect: Connect
) -> None:
    bm = await connect(sim)
    trades = bm.watch_trades("BTCUSDT")
    book = bm.watch_order_book("BTCUSDT")
    async with stepping(sim):
        with anyio.fail_after(5):
            await trades.recv()
            await book.recv()
        sim.faults.malformed_frames(count=3)
        await eventually(lambda: bm.advanced().diagnostics().invalid_frames >= 3)
        with anyio.fail_after(5):
            for _ in range(5):
                await trades.recv()
            await book.recv()
    diag = bm.advanced().diagnostics()
    assert diag.reconnects == 0  # a bad frame never costs the connection
    await assert_book_matches_venue(bm, book, sim)


async def test_rate_limit_ban_sends_nothing_until_it_ends(
    venue: str, sim: VenueSim, connect: Connect, counting_transport: Any
) -> None:
    transport = counting_transport
    bm = await connect(sim, http_transport=transport)
    sim.faults.ban(1.0)
    with pytest.raises(RateLimited) as first:
        await bm.fetch_ticker("BTCUSDT")
    assert first.value.retry_after is not None
    assert first.value.retry_after > 0
    sent = transport.count()
    for _ in range(3):
        with pytest.raises(RateLimited) as again:
            await bm.fetch_order_book("BTCUSDT", limit=5)
        assert again.value.retry_after is not None
    assert transport.count() == sent  # nothing left during the ban
    assert bm.status().rate_limited_for_s is not None
    if venue == "binance":  # 418 "banned until <ms>": requests resume when it ends
        await anyio.sleep(first.value.retry_after + 0.1)
        assert (await bm.fetch_ticker("BTCUSDT")).last is not None
    else:  # Bybit 403: the venue documents a 10-minute stop
        assert first.value.retry_after >= 600


async def test_clock_skew_rejection_resyncs_the_clock(sim: VenueSim, connect: Connect) -> None:
    bm = await connect(sim, credentials=sim.credentials)
    rt = bm._runtime
    assert rt is not None
    syncs = rt.clock.syncs
    sim.faults.clock_skew(-4000)  # our timestamps now run 4 s ahead of the venue
    # A signed read (the private lane will reuse this executor): rejected for its timestamp,
    # the clock is re-measured and the request retried once with a corrected timestamp.
    balances = await rt.rest.run(bm._adapter.fetch_balance(), signed=True)
    assert balances
    assert rt.clock.syncs == syncs + 1
    assert abs(rt.clock.offset_ms + 4000) < 300
    assert abs((bm.status().clock_offset_ms or 0) + 4000) < 300
    assert bm.advanced().diagnostics().clock.synced
