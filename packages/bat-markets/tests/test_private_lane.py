"""Private lane: signed reads, the shared account stream, state folding, expiry and reconnects."""

from __future__ import annotations

import json
import pathlib
import sys
from collections.abc import AsyncIterator
from decimal import Decimal

import anyio
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from bm_private_fake import (
    NATIVE,
    SYMBOL,
    Client,
    MiniAdapter,
    MiniVenue,
    open_client,
)

from bat_markets.client import StreamClosed
from bat_markets.core import (
    AuthError,
    Balance,
    ConfigError,
    MyTrade,
    Order,
    OrderStatus,
    Position,
    PositionSide,
)


@pytest.fixture
async def venue() -> AsyncIterator[MiniVenue]:
    async with MiniVenue() as v:
        yield v


async def _wait(predicate: object, limit_s: float = 3.0) -> None:
    """Poll the fake venue's state (it has no events to wait on)."""
    with anyio.fail_after(limit_s):
        while not predicate():  # type: ignore[operator]  # noqa: ASYNC110
            await anyio.sleep(0.01)


def _order_frame(venue: MiniVenue, status: str = "NEW", filled: str = "0", updated: int = 5) -> str:
    return json.dumps(
        {
            "e": "order",
            "o": {
                "id": "77", "cid": "bm-x", "symbol": NATIVE, "side": "BUY", "type": "LIMIT",
                "qty": "0.010", "price": "49000", "filled": filled, "status": status,
                "ps": "BOTH", "created": 1, "updated": updated,
            },
        }
    )  # fmt: skip


async def test_missing_credentials_fail_before_any_io(venue: MiniVenue) -> None:
    bm = await open_client(venue, credentials=None)
    try:
        with pytest.raises(AuthError, match="credentials"):
            await bm.fetch_balance()
        with pytest.raises(AuthError):
            bm.watch_orders()
        with pytest.raises(AuthError):
            await bm.create_order(SYMBOL, "buy", "limit", "0.01", "49000")
        with pytest.raises(AuthError):
            await bm.cancel_order("1", SYMBOL)
        with pytest.raises(AuthError):
            await bm.create_order_ws(SYMBOL, "buy", "limit", "0.01", "49000")
        assert venue.requests == []
        assert venue.private_connects == 0
    finally:
        await bm.close()


async def test_static_client_needs_live_and_ingests_offline() -> None:
    bm = Client(MiniAdapter())
    with pytest.raises(ConfigError, match="live client"):
        await bm.fetch_balance()
    events = bm.advanced().ingest_private_json(
        json.dumps(
            {"e": "position", "s": NATIVE, "ps": "LONG", "pa": "0.5", "l": 5, "mt": "cross", "T": 9}
        )
    )
    assert [type(e) for e in events] == [Position]
    held = bm.advanced().account_state().position(SYMBOL, PositionSide.LONG)
    assert held is not None
    assert held.size == Decimal("0.5")


async def test_rest_reads_fold_into_state(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        balances = await bm.fetch_balance()
        assert balances == [
            Balance(asset="USDT", wallet_balance=Decimal("1000"), timestamp=venue.clock)
        ]
        h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", "49000")
        await h.resolved(timeout=3)
        opened = await bm.fetch_open_orders(SYMBOL)
        assert [o.client_order_id for o in opened] == [h.client_order_id]
        one = await bm.fetch_order(None, SYMBOL, client_order_id=h.client_order_id)
        assert one.status is OrderStatus.NEW
        assert bm.account.order(client_order_id=h.client_order_id) == one
        m = await bm.create_order(SYMBOL, "sell", "market", "0.002")
        await m.resolved(timeout=3)
        trades = await bm.fetch_my_trades(SYMBOL)
        assert [t.amount for t in trades] == [Decimal("0.002")]
        positions = await bm.fetch_positions([SYMBOL])
        assert positions[0].size == Decimal("-0.002")
        with pytest.raises(ConfigError, match="symbol"):
            await bm.fetch_order("1", None)
        with pytest.raises(ConfigError, match="unknown symbol"):
            await bm.fetch_open_orders("NOPEUSDT")
    finally:
        await bm.close()


async def test_watchers_share_one_connection_and_see_deduplicated_events(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        orders = bm.watch_orders()
        fills = bm.watch_my_trades(SYMBOL)
        positions = bm.watch_positions()
        await _wait(lambda: len(venue.private_conns) == 1)
        venue.duplicate_events = True
        h = await bm.create_order(SYMBOL, "buy", "market", "0.003")
        out = await h.resolved(timeout=3)
        assert out.ok
        got_orders = [await orders.recv(), await orders.recv()]
        assert [o.status for o in got_orders] == [OrderStatus.NEW, OrderStatus.FILLED]
        fill = await fills.recv()
        assert isinstance(fill, MyTrade)
        assert fill.amount == Decimal("0.003")
        pos = await positions.recv()
        while pos.size == 0:  # the connect-time REST snapshot may come first
            pos = await positions.recv()
        assert pos.size == Decimal("0.003")
        with anyio.move_on_after(0.2):
            extra = await fills.recv()
            pytest.fail(f"duplicate fill delivered: {extra}")
        assert venue.private_connects == 1
        lane_status = bm.status().private
        assert lane_status.connected == 1
        assert lane_status.streams == 3
        await orders.shutdown()
        await fills.shutdown()
        await positions.shutdown()
    finally:
        await bm.close()


async def test_reordered_events_leave_state_correct(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        orders = bm.watch_orders()
        await _wait(lambda: len(venue.private_conns) == 1)
        for conn in list(venue.private_conns):
            await conn.send(_order_frame(venue, "FILLED", "0.010", updated=30))
            await conn.send(_order_frame(venue, "PARTIALLY_FILLED", "0.004", updated=20))
            await conn.send(_order_frame(venue, "NEW", "0", updated=10))
            await conn.send("not json at all")  # a bad frame is skipped, never fatal
            await conn.send(_order_frame(venue, "FILLED", "0.010", updated=30))
        first = await orders.recv()
        assert first.status is OrderStatus.FILLED
        await _wait(lambda: bm.account.order("77") is not None)
        await anyio.sleep(0.1)
        held = bm.account.order("77")
        assert held is not None
        assert (held.status, held.filled) == (OrderStatus.FILLED, Decimal("0.010"))
        with anyio.move_on_after(0.15):
            late = await orders.recv()
            pytest.fail(f"a stale update was published: {late}")
        diag = lanes_private(bm)
        assert diag.invalid == 1
        assert diag.duplicates >= 3
        await orders.shutdown()
    finally:
        await bm.close()


def lanes_private(bm: Client):  # type: ignore[no-untyped-def]
    from bat_markets.client._command_lane import lanes_for

    assert bm._runtime is not None
    return lanes_for(bm._runtime)[0]


async def test_listen_key_expiry_reestablishes_the_stream(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        orders = bm.watch_orders()
        await _wait(lambda: len(venue.private_conns) == 1)
        await venue.expire_stream()
        await _wait(lambda: venue.private_connects == 2 and len(venue.private_conns) == 1)
        assert venue.count("POST /listenKey") == 2
        h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", "49000")
        got = await orders.recv()
        assert got.client_order_id == h.client_order_id
        await orders.shutdown()
    finally:
        await bm.close()


async def test_rejected_keepalive_reestablishes_the_stream(venue: MiniVenue) -> None:
    bm = await open_client(venue, MiniAdapter(keepalive_s=0.05))
    try:
        w = bm.watch_balance()
        await _wait(lambda: venue.count("PUT /listenKey") >= 1)
        venue.listen_keys.clear()  # the key dies silently: the next keepalive says -1125
        await _wait(lambda: venue.private_connects == 2, limit_s=3)
        await w.shutdown()
    finally:
        await bm.close()


async def test_drop_reconnects_and_snapshots_by_rest(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        balances = bm.watch_balance()
        first = await balances.recv()  # the connect-time REST snapshot
        assert first.wallet_balance == Decimal("1000")
        before = venue.count("GET /openOrders")
        await venue.drop_private()
        await _wait(lambda: venue.private_connects == 2 and venue.count("GET /openOrders") > before)
        assert bm.status().private.reconnects >= 1
        await balances.shutdown()
    finally:
        await bm.close()


async def test_refused_login_fails_watchers_with_auth_error(venue: MiniVenue) -> None:
    venue.auth_mode = True
    venue.refuse_auth = True
    adapter = MiniAdapter()
    adapter.auth_mode = True
    bm = await open_client(venue, adapter)
    try:
        w = bm.watch_orders()
        with anyio.fail_after(3), pytest.raises(AuthError, match="bad sign"):
            await w.recv()
    finally:
        await bm.close()


async def test_auth_mode_stream_works_and_linger_closes(venue: MiniVenue) -> None:
    venue.auth_mode = True
    adapter = MiniAdapter()
    adapter.auth_mode = True
    bm = await open_client(venue, adapter)
    try:
        w = bm.watch_orders()
        await _wait(lambda: len(venue.private_conns) == 1)
        await bm.create_order(SYMBOL, "buy", "limit", "0.010", "49000")
        assert isinstance(await w.recv(), Order)
        await w.shutdown()
        # the command lane keeps its own lease: the stream stays for confirmations
        assert len(venue.private_conns) == 1
    finally:
        await bm.close()
    with pytest.raises(StreamClosed):
        await w.recv()


async def test_linger_closes_the_unleased_stream(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        w = bm.watch_balance()
        await _wait(lambda: len(venue.private_conns) == 1)
        await w.shutdown()
        await _wait(lambda: not venue.private_conns, limit_s=2)
        assert bm.status().private.health.value == "idle"
    finally:
        await bm.close()


async def test_subscribe_private_events_and_ingest_live(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        tap = bm.advanced().subscribe_private_events(buffer=16)
        events = bm.advanced().ingest_private_json(_order_frame(venue))
        assert isinstance(events[0], Order)
        got = await tap.recv()
        assert isinstance(got, Order)
        assert got.id == "77"
        assert bm.account.order("77") is not None
        await tap.shutdown()
    finally:
        await bm.close()
