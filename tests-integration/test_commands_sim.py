"""Commands end to end against the simulator, for both venues: lifecycle, rejects, ambiguous
outcomes reconciled, hedge mode, settings, websocket commands that never fall back to REST."""

from __future__ import annotations

import pathlib
import sys
from decimal import Decimal

import anyio
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from bm_private_support import (
    CANCEL_PATH,
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

from bat_markets.client._command_ws import WsNotSent
from bat_markets.core import (
    AuthError,
    CommandKind,
    CommandStatus,
    ConfigError,
    Endpoints,
    ExchangeReject,
    LifecycleStage,
    OrderStatus,
    PositionSide,
    Side,
    Unsupported,
)

pytestmark = pytest.mark.parametrize("venue", VENUES)


def record_rest(bm: object) -> list[tuple[str, str]]:
    """Record every REST request the client sends from now on (method, path)."""
    rest = bm._runtime.rest  # type: ignore[attr-defined]
    sent: list[tuple[str, str]] = []
    send = rest.send

    async def recording(request):  # type: ignore[no-untyped-def]
        sent.append((request.method, request.path))
        return await send(request)

    rest.send = recording
    return sent


async def stages_of(handle) -> list[LifecycleStage]:  # type: ignore[no-untyped-def]
    out = []
    with anyio.fail_after(5):
        async for event in handle.next_lifecycle():
            out.append(event.stage)
    return out


async def test_create_edit_cancel_lifecycle(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        px = (mid(sim) * Decimal("0.9")).quantize(Decimal("0.1"))
        h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", str(px))
        assert (await h.ack()).status is CommandStatus.ACCEPTED
        assert (await h.receipt()).client_order_id == h.client_order_id
        stages = await stages_of(h)
        assert LifecycleStage.ORDER in stages  # from the private stream
        assert stages[-1] is LifecycleStage.RESOLVED
        out = await h.resolved()
        assert (out.status, out.resolved_by) == (CommandStatus.ACCEPTED, "stream")
        assert [o.client_id for o in sim.engine.open_orders(sim.credentials.api_key)] == [
            h.client_order_id
        ]

        new_px = px - Decimal("10")
        e = await bm.edit_order(h.order_id, SYMBOL, price=str(new_px))
        out = await e.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED
        assert out.order is not None
        assert out.order.price == new_px
        assert (
            sim.engine.get_order(
                sim.credentials.api_key, NATIVE, order_id=None, client_id=h.client_order_id
            ).price
            == new_px
        )

        c = await bm.cancel_order(h.order_id, SYMBOL)
        out = await c.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED
        assert out.order is not None
        assert out.order.status is OrderStatus.CANCELED
        assert sim.engine.open_orders(sim.credentials.api_key) == []


async def test_rejections_are_typed(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        price = mid(sim)
        big = await bm.create_order(
            SYMBOL, "buy", "limit", "500", str((price * Decimal("0.9")).quantize(Decimal("0.1")))
        )
        out = await big.resolved(timeout=5)
        assert out.status is CommandStatus.REJECTED
        assert isinstance(out.error, ExchangeReject)
        crossing = (price * Decimal("1.01")).quantize(Decimal("0.1"))
        po = await bm.create_order(SYMBOL, "buy", "limit", "0.010", str(crossing), post_only=True)
        out = await po.resolved(timeout=5)
        assert out.status is CommandStatus.REJECTED
        assert isinstance(out.error, ExchangeReject)
        assert sim.engine.open_orders(sim.credentials.api_key) == []


async def test_bad_input_and_missing_credentials_before_io(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim, credentials=None) as bm:
        before = bm._runtime.rest.requests
        with pytest.raises(AuthError):
            await bm.create_order(SYMBOL, "buy", "limit", "0.010", "20000")
        with pytest.raises(AuthError):
            await bm.fetch_positions()
        with pytest.raises(AuthError):
            bm.watch_my_trades()
        assert bm._runtime.rest.requests == before
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        before = bm._runtime.rest.requests
        with pytest.raises(ConfigError, match="float"):
            await bm.create_order(SYMBOL, "buy", "limit", 0.01, "20000")
        with pytest.raises(ConfigError):
            await bm.create_order(SYMBOL, "buy", "limit", "0.0101", "20000")
        assert bm._runtime.rest.requests == before


async def test_dropped_create_response_is_unknown_then_accepted(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        method, path = CREATE_PATH[venue]
        px = (mid(sim) * Decimal("0.9")).quantize(Decimal("0.1"))
        sim.faults.drop_response(path, method=method)
        h = await bm.create_order(SYMBOL, "buy", "limit", "0.010", str(px))
        assert (await h.ack()).status is CommandStatus.UNKNOWN
        out = await h.resolved()
        assert out.status is CommandStatus.ACCEPTED
        assert out.resolved_by in ("stream", "reconcile")  # the stream may tell first
        assert out.client_order_id == h.client_order_id
        assert any(e.source == "receipt" for e in out.evidence)
        assert sim.faults.fired
        orders = sim.engine.all_orders(sim.credentials.api_key)
        assert [o.client_id for o in orders] == [h.client_order_id]  # placed once, never re-sent


async def test_dropped_cancel_is_reconciled(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        px = (mid(sim) * Decimal("0.9")).quantize(Decimal("0.1"))
        h = await bm.create_order(SYMBOL, "sell", "limit", "0.010", str(px * 2))
        await h.resolved(timeout=5)
        method, path = CANCEL_PATH[venue]
        sim.faults.drop_response(path, method=method)
        c = await bm.cancel_order(h.order_id, SYMBOL)
        # UNKNOWN, or (a venue whose cancel is retried after the lost answer) "not found"
        assert (await c.ack()).status in (CommandStatus.UNKNOWN, CommandStatus.REJECTED)
        out = await c.resolved(timeout=8)
        assert out.status is CommandStatus.ACCEPTED
        assert out.order is not None
        assert out.order.status is OrderStatus.CANCELED


async def test_market_fill_close_and_cancel_all(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        fills = bm.watch_my_trades(SYMBOL)
        m = await bm.create_order(SYMBOL, "buy", "market", "0.004")
        out = await m.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED
        first = await fills.recv()
        assert first.side is Side.BUY
        await eventually(
            lambda: sum(f.amount for f in bm.account.fills(SYMBOL)) == Decimal("0.004")
        )
        close = await bm.close_position(SYMBOL)
        out = await close.resolved(timeout=5)
        assert (out.status, out.kind) == (CommandStatus.ACCEPTED, CommandKind.CLOSE_POSITION)
        key = sim.credentials.api_key
        await eventually(lambda: not sim.engine.positions(key, NATIVE))
        px = (mid(sim) * Decimal("0.8")).quantize(Decimal("0.1"))
        for i in range(3):
            await (await bm.create_order(SYMBOL, "buy", "limit", "0.010", str(px - i))).resolved(
                timeout=5
            )
        ca = await bm.cancel_all_orders(SYMBOL)
        assert (await ca.resolved(timeout=5)).status is CommandStatus.ACCEPTED
        assert sim.engine.open_orders(key) == []
        await fills.shutdown()


async def test_hedge_mode_close_picks_the_leg(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        mode = await bm.set_position_mode("hedge", SYMBOL if venue == "bybit" else None)
        out = await mode.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED, out.reason
        again = await bm.set_position_mode("hedge", SYMBOL if venue == "bybit" else None)
        out = await again.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED  # already hedge: a no-op is success
        await (
            await bm.create_order(SYMBOL, "buy", "market", "0.005", position_side="long")
        ).resolved(timeout=5)
        await (
            await bm.create_order(SYMBOL, "sell", "market", "0.003", position_side="short")
        ).resolved(timeout=5)
        legs = {p.position_side: p.size for p in await bm.fetch_positions([SYMBOL]) if p.size}
        assert legs == {PositionSide.LONG: Decimal("0.005"), PositionSide.SHORT: Decimal("0.003")}
        with pytest.raises(ConfigError, match="position_side"):
            await bm.close_position(SYMBOL)
        h = await bm.close_position(SYMBOL, position_side="short")
        out = await h.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED, out.reason
        legs = {p.position_side: p.size for p in await bm.fetch_positions([SYMBOL]) if p.size}
        assert legs == {PositionSide.LONG: Decimal("0.005")}
        long_leg = bm.account.position(SYMBOL, PositionSide.LONG)
        assert long_leg is not None
        assert long_leg.size == Decimal("0.005")


async def test_settings_and_no_ops(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        lev = await bm.set_leverage(SYMBOL, "7")
        assert (await lev.resolved(timeout=5)).status is CommandStatus.ACCEPTED
        assert sim.engine.symbol_config(sim.credentials.api_key, NATIVE).leverage == 7
        again = await bm.set_leverage(SYMBOL, "7")
        assert (await again.resolved(timeout=5)).status is CommandStatus.ACCEPTED
        if venue == "binance":  # Bybit's margin mode is account-wide (UTA)
            iso = await bm.set_margin_mode("isolated", SYMBOL)
            assert (await iso.resolved(timeout=5)).status is CommandStatus.ACCEPTED
            noop = await bm.set_margin_mode("isolated", SYMBOL)
            out = await noop.resolved(timeout=5)
            assert (out.status, out.noop) == (CommandStatus.ACCEPTED, True)
        v = await bm.validate_order(
            SYMBOL,
            "buy",
            "limit",
            "0.010",
            str((mid(sim) * Decimal("0.9")).quantize(Decimal("0.1"))),
        )
        assert (await v.resolved(timeout=5)).status is CommandStatus.ACCEPTED
        assert sim.engine.all_orders(sim.credentials.api_key) == []


async def test_ws_commands_never_fall_back_to_rest(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        w = bm.watch_orders()
        await eventually(lambda: lanes(bm)[0].live)
        sent = record_rest(bm)
        px = (mid(sim) * Decimal("0.9")).quantize(Decimal("0.1"))
        h = await bm.create_order_ws(SYMBOL, "buy", "limit", "0.010", str(px))
        out = await h.resolved(timeout=5)
        assert out.status is CommandStatus.ACCEPTED, out.reason
        assert (await h.ack()).transport == "ws"
        c = await bm.cancel_order_ws(h.order_id, SYMBOL)
        assert (await c.resolved(timeout=5)).status is CommandStatus.ACCEPTED
        assert [r for r in sent if r[0] != "GET"] == []  # not a single REST write
        await w.shutdown()
    async with venue_sim(venue) as sim:
        dead = Endpoints(
            rest=sim.endpoints.rest,
            public_ws=sim.endpoints.public_ws,
            private_ws=sim.endpoints.private_ws,
            command_ws="ws://127.0.0.1:9/closed",
            extra=dict(sim.endpoints.extra),
        )
        async with live(venue, sim, endpoints=dead) as bm:
            sent = record_rest(bm)
            with pytest.raises(WsNotSent):
                await bm.create_order_ws(SYMBOL, "buy", "limit", "0.010", "20000")
            assert sent == []  # nothing went over REST instead
            assert sim.engine.all_orders(sim.credentials.api_key) == []


async def test_ws_batch_support_matches_the_venue(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        px = (mid(sim) * Decimal("0.9")).quantize(Decimal("0.1"))
        orders = [
            {
                "symbol": SYMBOL,
                "side": "buy",
                "type": "limit",
                "amount": "0.010",
                "price": str(px - i),
            }
            for i in range(2)
        ]
        ws = bm.capabilities.ws_commands
        if "create_orders_ws" in ws:  # Bybit: order.create-batch
            handles = await bm.create_orders_ws(orders)
            statuses = [(await h.resolved(timeout=5)).status for h in handles]
            assert statuses == [CommandStatus.ACCEPTED] * 2
        else:  # Binance ws-fapi has no batch methods
            with pytest.raises(Unsupported, match="never fall back"):
                await bm.create_orders_ws(orders)
            for o in orders:
                await (await bm.create_order(**o)).resolved(timeout=5)
        assert len(sim.engine.open_orders(sim.credentials.api_key)) == 2
        if "cancel_orders_ws" in ws:  # composed: open-orders read + websocket batch cancel
            sent = record_rest(bm)
            ca = await bm.cancel_all_orders_ws(SYMBOL)
            out = await ca.resolved(timeout=5)
            assert (out.status, out.kind) == (CommandStatus.ACCEPTED, CommandKind.CANCEL_ALL_ORDERS)
            assert sim.engine.open_orders(sim.credentials.api_key) == []
            assert [r for r in sent if r[0] != "GET"] == []  # reads only, never a REST write
        else:
            before = bm._runtime.rest.requests
            with pytest.raises(Unsupported):
                await bm.cancel_all_orders_ws(SYMBOL)
            assert bm._runtime.rest.requests == before
        if "cancel_orders_ws" in ws:
            for o in orders:
                await (await bm.create_order(**o)).resolved(timeout=5)
            left = sim.engine.open_orders(sim.credentials.api_key)
            handles = await bm.cancel_orders_ws(
                [{"client_order_id": o.client_id, "symbol": SYMBOL} for o in left]
            )
            for h in handles:
                assert (await h.resolved(timeout=5)).status is CommandStatus.ACCEPTED
            assert sim.engine.open_orders(sim.credentials.api_key) == []


# Real venue answers (copied from /work/shared/fixtures: binance/rest/order_new.json, trimmed;
# bybit/rest/order_create.json and error_110043.json).
_ANSWERS = {
    "binance": (
        b'{"clientOrderId":"testOrder","cumQty":"0","cumQuote":"0","executedQty":"0",'
        b'"orderId":22542179,"avgPrice":"0.00000","origQty":"10","price":"0","reduceOnly":false,'
        b'"side":"BUY","positionSide":"SHORT","status":"NEW","stopPrice":"9300",'
        b'"closePosition":false,"symbol":"BTCUSDT","timeInForce":"GTC","type":"LIMIT",'
        b'"origType":"LIMIT","updateTime":1566818724722,"workingType":"CONTRACT_PRICE",'
        b'"priceProtect":false,"priceMatch":"NONE","selfTradePreventionMode":"NONE"}'
    ),
    "bybit": (
        b'{"retCode":0,"retMsg":"OK","result":{"orderId":"1321003749386327552",'
        b'"orderLinkId":"spot-test-postonly"},"retExtInfo":{},"time":1672211918471}'
    ),
}


async def test_classify_command_json_live(venue: str) -> None:
    async with venue_sim(venue) as sim, live(venue, sim) as bm:
        tap = bm.advanced().subscribe_command_events(buffer=8)
        receipts = bm.advanced().classify_command_json("create_order", _ANSWERS[venue])
        assert [r.status for r in receipts] == [CommandStatus.ACCEPTED]
        event = await tap.recv()
        assert (event.stage, event.receipt) == (LifecycleStage.RECEIPT, receipts[0])
        unknown = bm.advanced().classify_command_json("cancel_order", None)
        assert [r.status for r in unknown] == [CommandStatus.UNKNOWN]
        if receipts[0].order is not None:  # Binance answers carry the order: folded into state
            assert bm.account.order(receipts[0].order_id) is not None
        await tap.shutdown()
