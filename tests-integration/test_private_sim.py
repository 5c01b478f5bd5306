"""The private lane end to end against the simulator, for both venues: reads, the shared account
stream, duplicated / reordered events, session expiry and reconnects, and reconciliation by query
when no stream evidence can arrive."""

from __future__ import annotations

import pathlib
import sys
from decimal import Decimal

import anyio
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from bm_private_support import (
    CREATE_PATH,
    NATIVE,
    SYMBOL,
    VENUES,
    eventually,
    lanes,
    live,
    mid,
    venue_sim,
)

from bat_markets.core import (
    Balance,
    CommandStatus,
    Endpoints,
    OrderStatus,
    PositionSide,
    Side,
    Timeouts,
    VenueConfig,
)

pytestmark = pytest.mark.parametrize("venue", VENUES)


def _dead_private(endpoints: Endpoints) -> Endpoints:
    return Endpoints(
        rest=endpoints.rest,
        public_ws=endpoints.public_ws,
        private_ws="ws://127.0.0.1:9",
        command_ws=endpoints.command_ws,
        extra=dict(endpoints.extra),
    )


async def test_reads_and_watchers_on_one_connection(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        balances = await bm.fetch_balance()
        assert any(b.asset == "USDT" and b.wallet_balance > 0 for b in balances)
        orders = bm.watch_orders(SYMBOL)
        fills = bm.watch_my_trades()
        positions = bm.watch_positions([SYMBOL])
        balance = bm.watch_balance()
        assert isinstance(await balance.recv(), Balance)  # the connect-time REST snapshot
        h = await bm.create_order(SYMBOL, "buy", "market", "0.003")
        assert (await h.resolved(timeout=5)).ok
        seen = []
        with anyio.fail_after(5):
            while not seen or seen[-1].status is not OrderStatus.FILLED:
                seen.append(await orders.recv())
        assert seen[-1].client_order_id == h.client_order_id
        fill = await fills.recv()
        assert (fill.side, fill.symbol) == (Side.BUY, SYMBOL)
        with anyio.fail_after(5):
            pos = await positions.recv()
            while pos.size != Decimal("0.003"):
                pos = await positions.recv()
        assert pos.position_side is PositionSide.BOTH
        assert lanes(bm)[0].connection_diagnostics() is not None
        status = bm.status().private
        assert (status.connected, status.streams) == (1, 4)
        trades = await bm.fetch_my_trades(SYMBOL)
        assert sum(t.amount for t in trades) == Decimal("0.003")
        opened = await bm.fetch_open_orders(SYMBOL)
        assert opened == []
        for w in (orders, fills, positions, balance):
            await w.shutdown()


async def test_duplicate_and_reordered_events_leave_state_correct(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        fills = bm.watch_my_trades(SYMBOL)
        await eventually(lambda: lanes(bm)[0].live)
        sim.faults.duplicate_private(20)
        sim.faults.reorder_private(20)
        handles = [await bm.create_order(SYMBOL, "buy", "market", "0.002") for _ in range(3)]
        for h in handles:
            assert (await h.resolved(timeout=5)).ok
        key = sim.credentials.api_key
        engine_fills = sim.engine.fills(key, NATIVE)
        got = []
        with anyio.fail_after(5):
            while len(got) < len(engine_fills):
                got.append(await fills.recv())
        with anyio.move_on_after(0.3):
            extra = await fills.recv()
            pytest.fail(f"a fill was delivered twice: {extra}")
        assert len({(f.symbol, f.id) for f in got}) == len(engine_fills)
        await eventually(
            lambda: all(
                (o := bm.account.order(client_order_id=h.client_order_id)) is not None
                and o.status is OrderStatus.FILLED
                for h in handles
            )
        )
        pos = bm.account.position(SYMBOL, PositionSide.BOTH)
        assert pos is not None
        assert pos.size == Decimal("0.006")
        assert any(f.startswith("ws:") for f in sim.faults.fired)
        await fills.shutdown()


async def test_session_expiry_and_drop_reestablish_the_stream(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        orders = bm.watch_orders()
        lane = lanes(bm)[0]
        await eventually(lambda: lane.live)
        if venue == "binance":
            sim.faults.expire_listen_key()
            await eventually(lambda: lane.expirations == 1 and lane.reconnects >= 1 and lane.live)
        else:
            sim.faults.drop_ws("*private*")
            await eventually(lambda: lane.reconnects >= 1 and lane.live)
        px = (mid(sim) * Decimal("0.9")).quantize(Decimal("0.1"))
        h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", str(px))
        with anyio.fail_after(5):
            got = await orders.recv()
            while got.client_order_id != h.client_order_id:
                got = await orders.recv()
        assert (await h.resolved(timeout=5)).resolved_by == "stream"
        await orders.shutdown()


async def test_unknown_create_reconciled_by_query_without_a_stream(venue: str) -> None:
    async with venue_sim(venue) as sim:
        config = VenueConfig(timeouts=Timeouts(ws_handshake=0.3, request=1.0))
        async with live(venue, sim, endpoints=_dead_private(sim.endpoints), config=config) as bm:
            method, path = CREATE_PATH[venue]
            px = (mid(sim) * Decimal("0.9")).quantize(Decimal("0.1"))
            sim.faults.drop_response(path, method=method)
            h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", str(px))
            assert (await h.ack()).status is CommandStatus.UNKNOWN
            out = await h.resolved(timeout=8)
            assert (out.status, out.resolved_by) == (CommandStatus.ACCEPTED, "reconcile")
            assert any(e.source == "query" for e in out.evidence)
            # a create that never reached the matching engine: "did not execute"
            sim.faults.timeout(path, method=method, execute=False)
            lost = await bm.create_order(SYMBOL, "buy", "limit", "0.010", str(px - 1))
            assert (await lost.ack()).status is CommandStatus.UNKNOWN
            out = await lost.resolved(timeout=8)
            assert out.status is CommandStatus.REJECTED
            assert "did not execute" in out.reason
            clients = [o.client_id for o in sim.engine.all_orders(sim.credentials.api_key)]
            assert clients == [h.client_order_id]  # never re-sent
