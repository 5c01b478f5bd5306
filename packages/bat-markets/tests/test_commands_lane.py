"""Command lane: handles, lifecycle, rejects, unknown outcomes and reconciliation, WS commands."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import AsyncIterator
from decimal import Decimal

import anyio
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from bm_private_fake import (
    SYMBOL,
    WS_COMMANDS,
    MiniAdapter,
    MiniVenue,
    open_client,
)

from bat_markets.client._command_ws import WsNotSent
from bat_markets.core import (
    CommandKind,
    CommandStatus,
    ConfigError,
    ExchangeReject,
    LifecycleStage,
    OrderStatus,
    PositionSide,
    Side,
    StateDivergence,
    Timeout,
    Timeouts,
    Unsupported,
    VenueConfig,
)


@pytest.fixture
async def venue() -> AsyncIterator[MiniVenue]:
    async with MiniVenue() as v:
        yield v


async def _stages(handle) -> list[LifecycleStage]:  # type: ignore[no-untyped-def]
    out = []
    with anyio.fail_after(5):
        async for event in handle.next_lifecycle():
            out.append(event.stage)
    return out


async def test_create_ack_receipt_stream_lifecycle_resolved(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", "49000")
        assert h.client_order_id is not None
        assert h.client_order_id.startswith("bm-")
        ack = await h.ack()
        assert ack.status is CommandStatus.ACCEPTED
        receipt = await h.receipt()
        assert receipt.order_id == h.order_id
        stages = await _stages(h)
        # the stream may be faster than the REST answer, so ORDER can come before ACK
        assert stages.index(LifecycleStage.ACK) < stages.index(LifecycleStage.RECEIPT)
        assert LifecycleStage.ORDER in stages  # confirmed by the private stream
        assert stages[-1] is LifecycleStage.RESOLVED
        assert stages.count(LifecycleStage.RESOLVED) == 1
        out = await h.resolved()
        assert out.status is CommandStatus.ACCEPTED
        assert out.resolved_by == "stream"
        assert out.order is not None
        assert out.order.status is OrderStatus.NEW
        # awaiting next_lifecycle() after the end returns the final event again (never hangs)
        again = await h.next_lifecycle()
        assert again.stage is LifecycleStage.RESOLVED
    finally:
        await bm.close()


async def test_ids_only_answer_is_confirmed_by_the_stream(venue: MiniVenue) -> None:
    venue.ack_only = True
    adapter = MiniAdapter()
    adapter.ack_only = True
    bm = await open_client(venue, adapter)
    try:
        h = await bm.create_order(SYMBOL, "sell", "limit", "0.010", "51000")
        r = await h.receipt()
        assert r.order is None
        out = await h.resolved(timeout=3)
        assert out.status is CommandStatus.ACCEPTED
        assert out.resolved_by == "stream"
        # post-only that would take: accepted, then killed on the stream -> REJECTED
        p = await bm.create_order(SYMBOL, "buy", "limit", "0.010", "50010", post_only=True)
        out = await p.resolved(timeout=3)
        assert out.status is CommandStatus.REJECTED
        assert isinstance(out.error, ExchangeReject)
        assert out.error.code == "EC_PostOnlyWillTakeLiquidity"
    finally:
        await bm.close()


async def test_venue_rejections_are_typed(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        p = await bm.create_order(SYMBOL, "buy", "limit", "0.010", "50010", post_only=True)
        out = await p.resolved(timeout=3)
        assert out.status is CommandStatus.REJECTED
        assert isinstance(out.error, ExchangeReject)
        assert out.error.code == -5022
        big = await bm.create_order(SYMBOL, "buy", "limit", "1", "49000")
        out = await big.resolved(timeout=3)
        assert out.status is CommandStatus.REJECTED
        assert isinstance(out.error, ExchangeReject)
        assert out.error.code == -2019
        assert (await big.ack()).status is CommandStatus.REJECTED
    finally:
        await bm.close()


async def test_bad_input_fails_before_any_io(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        with pytest.raises(ConfigError, match="float"):
            await bm.create_order(SYMBOL, "buy", "limit", 0.01, "49000")  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="tick size"):
            await bm.create_order(SYMBOL, "buy", "limit", "0.010", "49000.05")
        with pytest.raises(ConfigError, match="minimum notional"):
            await bm.create_order(SYMBOL, "buy", "limit", "0.001", "1000")
        with pytest.raises(ConfigError, match="side"):
            await bm.create_order(SYMBOL, "up", "limit", "0.010", "49000")
        with pytest.raises(ConfigError, match="unknown symbol"):
            await bm.create_order("ETHUSDT", "buy", "limit", "0.010", "49000")
        with pytest.raises(ConfigError, match="float"):
            await bm.set_leverage(SYMBOL, 5.0)  # type: ignore[arg-type]
        with pytest.raises(ConfigError):
            await bm.edit_order("1", SYMBOL)
        with pytest.raises(ConfigError):
            await bm.cancel_order(None, SYMBOL)
        with pytest.raises(ConfigError, match="unique"):
            await bm.create_orders(
                [
                    {"symbol": SYMBOL, "side": "buy", "type": "limit", "amount": "0.01", "price": "49000", "client_order_id": "same"},
                    {"symbol": SYMBOL, "side": "buy", "type": "limit", "amount": "0.01", "price": "49000", "client_order_id": "same"},
                ]
            )  # fmt: skip
        assert venue.requests == []
    finally:
        await bm.close()


async def test_dropped_create_is_unknown_then_reconciled_accepted(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        venue.hold_stream = True  # no stream evidence: reconciliation must query
        venue.faults["POST /order"] = ["drop"]
        h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", "49000")
        ack = await h.ack()
        assert ack.status is CommandStatus.UNKNOWN
        receipt = await h.receipt()
        assert isinstance(receipt.error, Timeout)
        out = await h.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED
        assert out.resolved_by == "reconcile"
        assert out.order is not None
        assert out.order.client_order_id == h.client_order_id
        assert any(e.source == "query" for e in out.evidence)
        assert venue.count("POST /order") == 1  # never re-sent
        stages = await _stages(h)
        assert LifecycleStage.RECONCILING in stages
    finally:
        await bm.close()


async def test_dropped_create_seen_on_the_stream(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        venue.faults["POST /order"] = ["drop"]
        venue.faults["GET /order"] = ["503"] * 100  # queries fail: only the stream can tell
        venue.faults["GET /openOrders"] = ["503"] * 100
        h = await bm.create_order(SYMBOL, "buy", "market", "0.002")
        out = await h.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED
        assert out.resolved_by == "stream"
        assert out.order is not None
        assert out.order.client_order_id == h.client_order_id  # the stream showed our order
    finally:
        await bm.close()


async def test_lost_create_is_reported_as_not_executed(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        venue.faults["POST /order"] = ["lost"]
        h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", "49000")
        out = await h.resolved(timeout=5)
        assert out.status is CommandStatus.REJECTED
        assert "did not execute" in out.reason
        assert isinstance(out.error, Timeout)
        assert venue.count("POST /order") == 1  # sent once (lost on the way), never re-sent
        assert venue.orders == {}
        assert venue.count("GET /order") >= 2  # re-queried inside the window
    finally:
        await bm.close()


async def test_dropped_cancel_is_reconciled(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", "49000")
        await h.resolved(timeout=3)
        venue.hold_stream = True
        venue.faults["DELETE /order"] = ["drop"]
        c = await bm.cancel_order(h.order_id, SYMBOL)
        assert (await c.ack()).status is CommandStatus.UNKNOWN
        out = await c.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED
        assert out.order is not None
        assert out.order.status is OrderStatus.CANCELED
    finally:
        await bm.close()


async def test_cancel_of_filled_order_is_rejected(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        h = await bm.create_order(SYMBOL, "buy", "market", "0.002")
        await h.resolved(timeout=3)
        c = await bm.cancel_order(h.order_id, SYMBOL)
        assert (await c.ack()).status is CommandStatus.REJECTED  # "Unknown order sent."
        out = await c.resolved(timeout=3)
        # the lane looked before concluding: the order filled first
        assert out.status is CommandStatus.REJECTED
        assert "too late" in out.reason
        assert isinstance(out.error, ExchangeReject)
        # a cancel of an order that never existed ends REJECTED with the venue's "not found"
        gone = await bm.cancel_order("999999", SYMBOL)
        out = await gone.resolved(timeout=3)
        assert out.status is CommandStatus.REJECTED
        assert isinstance(out.error, StateDivergence)
    finally:
        await bm.close()


async def test_edit_fills_side_and_is_verified(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        # an order this client never saw: the lane fetches it to learn the side
        status, payload, _ = venue.create(
            {
                "symbol": "BTCUSDT",
                "side": "SELL",
                "type": "LIMIT",
                "qty": "0.010",
                "price": "52000",
                "cid": "ext-1",
            }
        )
        assert status == 200
        e = await bm.edit_order(payload["id"], SYMBOL, price="51500")
        out = await e.resolved(timeout=3)
        assert out.status is CommandStatus.ACCEPTED
        assert out.order is not None
        assert out.order.price == Decimal("51500")
        assert venue.orders[payload["id"]]["side"] == "SELL"
        assert venue.count("GET /order") == 1
    finally:
        await bm.close()


async def test_cancel_all_close_position_and_settings(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        for price in ("48000", "48500"):
            await (await bm.create_order(SYMBOL, "buy", "limit", "0.010", price)).resolved(
                timeout=3
            )
        ca = await bm.cancel_all_orders(SYMBOL)
        assert (await ca.resolved(timeout=3)).status is CommandStatus.ACCEPTED
        with anyio.fail_after(3):
            while bm.account.open_orders():  # noqa: ASYNC110 - the cancellations arrive on the stream
                await anyio.sleep(0.01)
        await (await bm.create_order(SYMBOL, "buy", "market", "0.004")).resolved(timeout=3)
        close = await bm.close_position(SYMBOL)
        out = await close.resolved(timeout=3)
        assert out.status is CommandStatus.ACCEPTED
        assert out.kind is CommandKind.CLOSE_POSITION
        assert out.order is not None
        assert (out.order.side, out.order.reduce_only) == (Side.SELL, True)
        assert venue.positions["BOTH"] == 0
        with pytest.raises(ConfigError, match="no open"):
            await bm.close_position(SYMBOL)
        lev = await bm.set_leverage(SYMBOL, "20")
        assert (await lev.resolved(timeout=3)).status is CommandStatus.ACCEPTED
        assert venue.leverage == 20
        noop = await bm.set_margin_mode("cross", SYMBOL)
        out = await noop.resolved(timeout=3)
        assert (out.status, out.noop) == (CommandStatus.ACCEPTED, True)
        hedge = await bm.set_position_mode(True)
        assert (await hedge.resolved(timeout=3)).status is CommandStatus.ACCEPTED
        v = await bm.validate_order(SYMBOL, "buy", "limit", "0.010", "49000")
        assert (await v.resolved(timeout=3)).status is CommandStatus.ACCEPTED
    finally:
        await bm.close()


async def test_close_position_hedge_picks_the_leg(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        venue.hedge = True
        await (
            await bm.create_order(SYMBOL, "buy", "market", "0.004", position_side="long")
        ).resolved(timeout=3)
        await (
            await bm.create_order(SYMBOL, "sell", "market", "0.002", position_side="short")
        ).resolved(timeout=3)
        with pytest.raises(ConfigError, match="position_side"):
            await bm.close_position(SYMBOL)
        h = await bm.close_position(SYMBOL, position_side="short")
        out = await h.resolved(timeout=3)
        assert out.status is CommandStatus.ACCEPTED
        assert out.order is not None
        assert (out.order.side, out.order.position_side) == (Side.BUY, PositionSide.SHORT)
        assert venue.positions["SHORT"] == 0
        assert venue.positions["LONG"] == Decimal("0.004")
        long_leg = bm.account.position(SYMBOL, PositionSide.LONG)
        assert long_leg is not None
        assert long_leg.size == Decimal("0.004")
    finally:
        await bm.close()


async def test_unknown_set_leverage_verified_by_position_read(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        venue.hold_stream = True
        venue.faults["POST /leverage"] = ["drop"]
        h = await bm.set_leverage(SYMBOL, "25")
        out = await h.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED
        assert out.resolved_by == "reconcile"
        assert "leverage is now 25" in out.reason
    finally:
        await bm.close()


async def test_batch_create_and_command_events(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        tap = bm.advanced().subscribe_command_events()
        handles = await bm.create_orders(
            [
                {
                    "symbol": SYMBOL,
                    "side": "buy",
                    "type": "limit",
                    "amount": "0.01",
                    "price": "48000",
                },
                {"symbol": SYMBOL, "side": "buy", "type": "limit", "amount": "5", "price": "48000"},
                {
                    "symbol": SYMBOL,
                    "side": "sell",
                    "type": "limit",
                    "amount": "0.01",
                    "price": "52000",
                },
            ]
        )
        outs = [await h.resolved(timeout=3) for h in handles]
        assert [o.status for o in outs] == [
            CommandStatus.ACCEPTED,
            CommandStatus.REJECTED,
            CommandStatus.ACCEPTED,
        ]
        seen = set()
        with anyio.move_on_after(0.3):
            while True:
                ev = await tap.recv()
                if ev.stage is LifecycleStage.RESOLVED:
                    seen.add(ev.command_id)
        assert seen == {h.command_id for h in handles}
        await tap.shutdown()
    finally:
        await bm.close()


async def test_reconcile_is_coalesced(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        reports = []

        async def call() -> None:
            reports.append(await bm.advanced().reconcile())

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            tg.start_soon(call)
        assert reports[0] is reports[1]
        assert reports[0].refreshed == ("balances", "positions", "open_orders")
        assert venue.count("GET /balance") == 1
    finally:
        await bm.close()


async def test_close_resolves_pending_as_unknown(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    venue.hold_stream = True
    venue.faults["POST /order"] = ["lost"]
    venue.faults["GET /order"] = ["503"] * 50
    h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", "49000")
    assert (await h.ack()).status is CommandStatus.UNKNOWN
    await bm.close()
    out = await h.resolved(timeout=1)
    assert out.status is CommandStatus.UNKNOWN
    assert "closed" in out.reason


# -- websocket commands


async def test_ws_create_never_uses_rest(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        h = await bm.create_order_ws(SYMBOL, "buy", "limit", "0.010", "49000")
        out = await h.resolved(timeout=3)
        assert out.status is CommandStatus.ACCEPTED
        assert (await h.ack()).transport == "ws"
        c = await bm.cancel_order_ws(h.order_id, SYMBOL)
        assert (await c.resolved(timeout=3)).status is CommandStatus.ACCEPTED
        assert venue.count("POST /order") == 0
        assert venue.count("DELETE /order") == 0
        assert [f["op"] for f in venue.cmd_frames] == ["auth", "create_order", "cancel_order"]
    finally:
        await bm.close()


async def test_ws_unreachable_raises_and_never_falls_back(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        await (await bm.create_order_ws(SYMBOL, "buy", "limit", "0.010", "49000")).resolved(
            timeout=3
        )
        for server in venue._servers[1:]:
            server.close()  # the order websocket goes away for good
            await server.wait_closed()
        await venue.kill_command_ws()
        await anyio.sleep(0.05)
        before = list(venue.requests)
        with pytest.raises(WsNotSent):
            await bm.create_order_ws(SYMBOL, "buy", "limit", "0.010", "49000")
        with pytest.raises(WsNotSent):
            await bm.cancel_order_ws("1", SYMBOL)
        assert [r for r in venue.requests if r not in before] == []
        assert bm._runtime is not None
    finally:
        await bm.close()


async def test_ws_timeout_affects_only_its_request(venue: MiniVenue) -> None:
    bm = await open_client(venue, config=VenueConfig(timeouts=Timeouts(command=0.3)))
    try:
        await (await bm.create_order_ws(SYMBOL, "buy", "limit", "0.010", "47000")).resolved(
            timeout=3
        )
        venue.hold_stream = True
        venue.cmd_faults = ["silent", None]  # type: ignore[list-item]
        results = {}

        async def place(name: str, price: str) -> None:
            h = await bm.create_order_ws(SYMBOL, "buy", "limit", "0.010", price)
            results[name] = h

        from bat_markets.client._command_lane import lanes_for

        assert bm._runtime is not None
        _, lane = lanes_for(bm._runtime)
        async with anyio.create_task_group() as tg:
            tg.start_soon(place, "silent", "48000")
            await anyio.sleep(0.05)
            tg.start_soon(place, "ok", "48100")
        assert (await results["ok"].ack()).status is CommandStatus.ACCEPTED
        assert (await results["silent"].ack()).status is CommandStatus.UNKNOWN
        out = await results["silent"].resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED  # it executed: found by reconciliation
        assert lane.socket.connected  # the connection was not poisoned
        assert venue.count("POST /order") == 0
    finally:
        await bm.close()


async def test_ws_batch_and_cancel_all(venue: MiniVenue) -> None:
    bm = await open_client(venue)
    try:
        handles = await bm.create_orders_ws(
            [
                {
                    "symbol": SYMBOL,
                    "side": "buy",
                    "type": "limit",
                    "amount": "0.01",
                    "price": str(48000 + i),
                }
                for i in range(3)
            ]
        )
        assert [(await h.resolved(timeout=3)).status for h in handles] == [
            CommandStatus.ACCEPTED
        ] * 3
        creates = [f for f in venue.cmd_frames if f["op"] == "create_order"]
        assert [len(f["args"]) for f in creates] == [2, 1]  # chunked by max_batch_create
        ca = await bm.cancel_all_orders_ws(SYMBOL)
        out = await ca.resolved(timeout=3)
        assert out.status is CommandStatus.ACCEPTED
        assert out.kind is CommandKind.CANCEL_ALL_ORDERS
        assert all(o["status"] == "CANCELED" for o in venue.orders.values())
        assert venue.count("DELETE") == 0
    finally:
        await bm.close()


async def test_ws_method_the_venue_lacks_is_unsupported(venue: MiniVenue) -> None:
    adapter = MiniAdapter(ws_commands=WS_COMMANDS - {"create_orders_ws", "cancel_orders_ws"})
    bm = await open_client(venue, adapter)
    try:
        with pytest.raises(Unsupported, match="never fall back"):
            await bm.create_orders_ws(
                [
                    {
                        "symbol": SYMBOL,
                        "side": "buy",
                        "type": "limit",
                        "amount": "0.01",
                        "price": "48000",
                    }
                ]
            )
        with pytest.raises(Unsupported, match="batch cancel"):
            await bm.cancel_all_orders_ws(SYMBOL)
        assert venue.requests == []
        assert venue.cmd_frames == []
    finally:
        await bm.close()
