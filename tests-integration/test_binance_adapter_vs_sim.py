"""Contract suite: the Binance USD-M adapter against the Binance simulator, over real sockets.

Every adapter flow is driven end to end (``_flowdriver.FlowDriver``: prepare/sign -> httpx ->
``RestResponse`` -> ``flow.send``) against ``BinanceSim`` on loopback; websocket work uses the
adapter's own URLs, subscribe frames, decoders, book sync and WS API commands on real
websockets. No client runtime is involved. Values are checked against the simulator's engine.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import pathlib
import sys
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from _flowdriver import FlowDriver, now_ms

from bat_markets.binance import BinanceAdapter
from bat_markets.binance import _rest_public as binance_rest_public
from bat_markets.core import (
    OHLCV,
    AccountConfigEvent,
    AuthError,
    Balance,
    BookDeltaEvent,
    BookSnapshotEvent,
    BookTop,
    CancelRequest,
    Channel,
    CommandKind,
    CommandReceipt,
    CommandStatus,
    Control,
    Credentials,
    DecodeError,
    EditRequest,
    Endpoints,
    ExchangeReject,
    FundingRate,
    LeverageRequest,
    Liquidation,
    MarginMode,
    MarginModeRequest,
    Markets,
    MarkPrice,
    MyTrade,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionMode,
    PositionModeRequest,
    PositionSide,
    PrivateData,
    RateLimited,
    Side,
    StateDivergence,
    StreamData,
    StreamExpired,
    SyncStatus,
    Ticker,
    TimeInForce,
    Timeout,
    Trade,
    TriggerBy,
    UnknownExecution,
    Unsupported,
)
from bat_markets.testing.sim import BinanceSim
from bat_markets.testing.sim import PositionSide as SimPositionSide
from bat_markets.testing.sim import Side as SimSide

SYM = "BTCUSDT"
UNIFIED = "BTC/USDT:USDT"
D = Decimal


# -- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[BinanceSim]:
    async with BinanceSim(seed=7, auto_tick=None) as s:
        yield s


@pytest.fixture
async def driver(sim: BinanceSim) -> AsyncIterator[FlowDriver]:
    adapter = BinanceAdapter()
    async with FlowDriver(adapter, sim.endpoints, sim.credentials) as d:
        # what the runtime does at start: the venue's instruments replace the bundled ones
        specs = await d.run(adapter.load_markets())
        adapter.markets = Markets("binance", specs)
        yield d


def adapter_of(driver: FlowDriver) -> BinanceAdapter:
    adapter = driver.adapter
    assert isinstance(adapter, BinanceAdapter)
    return adapter


def limit(
    price: str,
    amount: str = "0.010",
    side: Side = Side.BUY,
    cid: str | None = None,
    **kw: Any,
) -> OrderRequest:
    return OrderRequest(
        symbol=SYM,
        side=side,
        type=OrderType.LIMIT,
        amount=D(amount),
        price=D(price),
        client_order_id=cid,
        **kw,
    )


def market(amount: str, side: Side = Side.BUY, cid: str | None = None, **kw: Any) -> OrderRequest:
    return OrderRequest(
        symbol=SYM,
        side=side,
        type=OrderType.MARKET,
        amount=D(amount),
        client_order_id=cid,
        **kw,
    )


def best(sim: BinanceSim, symbol: str = SYM) -> tuple[Decimal, Decimal]:
    """(best bid, best ask) of the simulator's book."""
    inst = sim.engine.instruments[symbol]
    book = sim.engine.books[symbol]
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None
    assert ask is not None
    return inst.price_of(bid), inst.price_of(ask)


async def recv_json(ws: ClientConnection, timeout: float = 2.0) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


_barrier_ids = itertools.count(1000)


async def until_barrier(ws: ClientConnection, timeout: float = 3.0) -> list[str | bytes]:
    """Every frame the server queued before now. Each connection sends from one FIFO queue, so
    the answer to a ``LIST_SUBSCRIPTIONS`` request comes after them (max 10 requests/s/conn)."""
    rid = next(_barrier_ids)
    await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": rid}))
    frames: list[str | bytes] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError("no answer to the barrier request")
        frame = await asyncio.wait_for(ws.recv(), left)
        try:
            obj = json.loads(frame)
        except ValueError:  # a broken frame (fault injection) is data for the caller
            obj = None
        if isinstance(obj, dict) and obj.get("id") == rid and "result" in obj:
            return frames
        frames.append(frame)


async def recv_until(
    ws: ClientConnection, pred: Callable[[str | bytes], bool], timeout: float = 3.0
) -> str | bytes:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise AssertionError("no matching frame")
        frame = await asyncio.wait_for(ws.recv(), left)
        if pred(frame):
            return frame


def only(receipts: list[CommandReceipt]) -> CommandReceipt:
    assert len(receipts) == 1, receipts
    return receipts[0]


def levels(raw: list[tuple[str, str]], n: int) -> list[tuple[Decimal, Decimal]]:
    return [(D(p), D(q)) for p, q in raw[:n]]


# -- metadata and public REST ----------------------------------------------------------------------


async def test_load_markets_matches_sim_instruments(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    specs = {s.id: s for s in await driver.run(adapter.load_markets())}
    assert set(specs) == set(sim.engine.instruments)
    for native, inst in sim.engine.instruments.items():
        spec = specs[native]
        assert spec.symbol == f"{inst.base}/{inst.quote}:{inst.quote}"
        assert (spec.base, spec.quote, spec.settle) == (inst.base, inst.quote, inst.quote)
        assert spec.tick_size == inst.tick_size
        assert spec.step_size == inst.step_size
        assert spec.min_qty == inst.min_qty
        assert spec.max_qty == inst.max_qty
        assert spec.market_max_qty == inst.max_market_qty
        assert spec.min_notional == inst.min_notional
        assert spec.min_price == inst.min_price
        assert spec.max_price == inst.max_price
        assert spec.onboard_time == inst.onboard_ms
        assert spec.funding_interval_hours == inst.funding_interval_hours
        assert spec.max_open_orders == 200
    # the flow read exchangeInfo and the optional fundingInfo enrichment
    assert [r.target for r in driver.sent[-2:]] == ["/fapi/v1/exchangeInfo", "/fapi/v1/fundingInfo"]


async def test_server_time_and_public_snapshots(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    sim.step(3)
    before = sim.server_time_ms()
    t = await driver.run(adapter.server_time())
    assert before <= t <= sim.server_time_ms()

    mkt = sim.engine.markets[SYM]
    ticker = await driver.run(adapter.fetch_ticker(SYM))
    assert ticker.symbol == UNIFIED
    assert ticker.last == mkt.last_price
    assert ticker.low is not None
    assert ticker.high is not None
    assert ticker.low <= ticker.high
    tickers = await driver.run(adapter.fetch_tickers(None))
    assert {t.symbol for t in tickers} == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    assert [t.last for t in tickers if t.symbol == UNIFIED] == [mkt.last_price]

    bid, ask = best(sim)
    top = await driver.run(adapter.fetch_book_ticker(SYM))
    assert (top.bid, top.ask) == (bid, ask)
    last = await driver.run(adapter.fetch_last_price(SYM))
    assert last.last == mkt.last_price

    mark = await driver.run(adapter.fetch_mark_price(SYM))
    assert mark.mark_price == mkt.mark_price
    assert mark.index_price == mkt.index_price
    funding = await driver.run(adapter.fetch_funding_rate(SYM))
    assert funding.funding_rate == mkt.funding_rate
    assert funding.funding_time == mkt.next_funding_ms
    assert funding.interval_hours == 8

    oi = await driver.run(adapter.fetch_open_interest(SYM))
    assert oi.symbol == UNIFIED
    assert oi.amount == sim.engine.open_interest(SYM)

    with pytest.raises(Unsupported):
        await driver.run(adapter.fetch_liquidations(SYM, None, None))


async def test_order_book_snapshot_equals_engine_book(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    sim.step(2)
    inst = sim.engine.instruments[SYM]
    book = sim.engine.books[SYM]
    snap = await driver.run(adapter.fetch_order_book(SYM, 7))  # next allowed venue limit: 10
    assert driver.sent_params()["limit"] == "10"
    assert snap.source == "rest"
    assert snap.update_id == book.update_id
    bids, asks = book.depth(7)
    assert levels(snap.bids, 99) == [(inst.price_of(t), inst.qty_of(s)) for t, s in bids]
    assert levels(snap.asks, 99) == [(inst.price_of(t), inst.qty_of(s)) for t, s in asks]
    assert len(snap.bids) == len(snap.asks) == 7


async def test_trades_match_engine_tape(
    sim: BinanceSim, driver: FlowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = adapter_of(driver)
    sim.step(20)
    mkt = sim.engine.markets[SYM]
    aggs = list(mkt.agg_trades)
    assert len(aggs) >= 12
    trades = await driver.run(adapter.fetch_trades(SYM, None, 5))
    assert [t.id for t in trades] == [str(a.agg_id) for a in aggs[-5:]]
    assert [(t.price, t.amount) for t in trades] == [(a.price, a.qty) for a in aggs[-5:]]
    assert all(t.aggregated for t in trades)
    assert [t.side.value for t in trades] == [
        "sell" if a.buyer_is_maker else "buy" for a in aggs[-5:]
    ]
    raw = await driver.run(adapter.fetch_recent_trades(SYM, 4))
    assert [t.id for t in raw] == [str(t.trade_id) for t in list(mkt.trades)[-4:]]
    assert not any(t.aggregated for t in raw)
    # pages of 3: ``since`` walks forward (startTime, then fromId), no ``since`` walks back
    monkeypatch.setattr(binance_rest_public, "TRADE_PAGE", 3)
    since = aggs[-11].ts
    n0 = len(driver.sent)
    forward = await driver.run(adapter.fetch_trades(SYM, since, 7))
    assert [int(t.id) for t in forward] == [a.agg_id for a in aggs if a.ts >= since][:7]
    pages = [driver.sent_params(i) for i in range(n0, len(driver.sent))]
    assert "startTime" in pages[0]
    assert all("fromId" in p for p in pages[1:])
    assert len(pages) == 3
    back = await driver.run(adapter.fetch_trades(SYM, None, 7))
    assert [int(t.id) for t in back] == [a.agg_id for a in aggs[-7:]]


async def test_ohlcv_pagination_matches_candles(
    sim: BinanceSim, driver: FlowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = adapter_of(driver)
    candles = sim.engine.markets[SYM].candles
    opens = sorted(candles)
    # small pages so the walk crosses several requests
    monkeypatch.setattr(binance_rest_public, "KLINE_PAGE", 100)
    n0 = len(driver.sent)
    since = opens[10]
    got = await driver.run(adapter.fetch_ohlcv(SYM, "1m", since, None, 250))
    pages = driver.sent[n0:]
    assert [driver.sent_params(i)["limit"] for i in range(n0, len(driver.sent))] == [
        "100",
        "100",
        "50",
    ]
    assert len(pages) == 3
    assert [c.open_time for c in got] == opens[10:260]
    for c in got:
        ref = candles[c.open_time]
        assert (c.open, c.high, c.low, c.close, c.volume) == (
            ref.open,
            ref.high,
            ref.low,
            ref.close,
            ref.volume,
        )
        assert c.close_time == c.open_time + 59_999
        assert c.symbol == UNIFIED
    # backwards from now: the newest 230 candles, no duplicates at page seams
    back = await driver.run(adapter.fetch_ohlcv(SYM, "1m", None, None, 230))
    assert [c.open_time for c in back] == opens[-230:]
    assert back[-1].closed is False
    assert back[-2].closed is True
    # a window bounded on both sides
    window = await driver.run(adapter.fetch_ohlcv(SYM, "1m", opens[0], opens[149], None))
    assert [c.open_time for c in window] == opens[:150]
    # 1h candles aggregate the 1m ones
    hours = await driver.run(adapter.fetch_ohlcv(SYM, "1h", None, None, 3))
    assert len(hours) == 3
    assert all(h.close_time - h.open_time == 3_599_999 for h in hours)
    first_hour = [candles[t] for t in opens if hours[0].open_time <= t <= hours[0].close_time]
    assert hours[0].volume == sum((c.volume for c in first_hour), D(0))
    assert hours[0].high == max(c.high for c in first_hour)
    marks = await driver.run(adapter.fetch_mark_price_ohlcv(SYM, "1m", None, None, 3))
    mark_candles = sim.engine.markets[SYM].mark_candles
    assert [m.close for m in marks] == [mark_candles[m.open_time].close for m in marks]


async def test_funding_history_matches_engine(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    history = sim.engine.markets[SYM].funding_history
    assert len(history) >= 4
    got = await driver.run(adapter.fetch_funding_rate_history(SYM, None, 3))
    assert [(f.funding_time, f.funding_rate) for f in got] == [
        (r.time_ms, r.rate) for r in history[-3:]
    ]
    since = await driver.run(adapter.fetch_funding_rate_history(SYM, history[1].time_ms, 2))
    assert [f.funding_time for f in since] == [history[1].time_ms, history[2].time_ms]


# -- orders ------------------------------------------------------------------------------------------


async def test_create_appears_in_open_orders_then_cancel_removes_it(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    bid, _ = best(sim)
    price = bid - D("500")
    r = only(await driver.run(adapter.create_orders([limit(str(price), "0.012", cid="bm-open-1")])))
    assert r.status is CommandStatus.ACCEPTED
    assert r.order is not None
    assert r.client_order_id == "bm-open-1"
    assert r.order.status is OrderStatus.NEW
    assert driver.sent[-1].target == "/fapi/v1/order"
    oid = r.order_id
    assert oid is not None

    opens = await driver.run(adapter.fetch_open_orders(SYM))
    assert [(o.id, o.client_order_id, o.price, o.amount, o.side.value) for o in opens] == [
        (oid, "bm-open-1", price, D("0.012"), "buy")
    ]
    engine_open = sim.engine.open_orders(sim.credentials.api_key, SYM)
    assert [str(o.order_id) for o in engine_open] == [oid]
    everything = await driver.run(adapter.fetch_open_orders(None))
    assert [o.id for o in everything] == [oid]
    # a client id with every punctuation Binance allows survives encoding + signing
    odd = "bm:a/b.c_d-e"
    r2 = only(await driver.run(adapter.create_orders([limit(str(price - 1), cid=odd)])))
    assert r2.status is CommandStatus.ACCEPTED
    assert r2.client_order_id == odd
    assert "newClientOrderId=bm%3Aa%2Fb.c_d-e" in (driver.sent[-1].body or b"").decode()
    assert (await driver.run(adapter.fetch_order(SYM, None, odd))).id == r2.order_id
    assert only(
        await driver.run(adapter.cancel_orders([CancelRequest(symbol=SYM, client_order_id=odd)]))
    ).ok
    by_cid = await driver.run(adapter.fetch_order(SYM, None, "bm-open-1"))
    by_id = await driver.run(adapter.fetch_order(SYM, oid, None))
    assert by_cid.id == by_id.id == oid
    assert by_id.status is OrderStatus.NEW

    c = only(await driver.run(adapter.cancel_orders([CancelRequest(symbol=SYM, id=oid)])))
    assert c.status is CommandStatus.ACCEPTED
    assert c.order is not None
    assert c.order.status is OrderStatus.CANCELED
    assert await driver.run(adapter.fetch_open_orders(SYM)) == []
    after = await driver.run(adapter.fetch_order(SYM, oid, None))
    assert after.status is OrderStatus.CANCELED
    # cancelling again: the venue no longer knows it as open
    again = only(await driver.run(adapter.cancel_orders([CancelRequest(symbol=SYM, id=oid)])))
    assert again.status is CommandStatus.REJECTED
    assert isinstance(again.error, StateDivergence)
    assert again.error.code == -2011
    history = await driver.run(adapter.fetch_orders_history(SYM, None, 10))
    assert [(o.id, o.status) for o in history if o.id == oid] == [(oid, OrderStatus.CANCELED)]
    assert {o.status for o in history} == {OrderStatus.CANCELED}
    n = len(driver.sent)
    with pytest.raises(StateDivergence) as missing:
        await driver.run(adapter.fetch_order(SYM, None, "bm-never-sent"))
    assert missing.value.code == -2013
    assert [s.target.split("?")[0] for s in driver.sent[n:]] == [
        "/fapi/v1/order",
        "/fapi/v1/algoOrder",
    ]


async def test_edit_changes_price_and_amount(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    bid, _ = best(sim)
    r = only(await driver.run(adapter.create_orders([limit(str(bid - 300), cid="bm-edit-1")])))
    assert r.order_id is not None
    e = only(
        await driver.run(
            adapter.edit_orders(
                [
                    EditRequest(
                        symbol=SYM,
                        id=r.order_id,
                        amount=D("0.02"),
                        price=bid - 250,
                        side=Side.BUY,
                    )
                ]
            )
        )
    )
    assert e.status is CommandStatus.ACCEPTED
    assert e.order is not None
    assert (e.order.price, e.order.amount) == (bid - 250, D("0.020"))
    (o,) = await driver.run(adapter.fetch_open_orders(SYM))
    assert (o.id, o.price, o.amount) == (r.order_id, bid - 250, D("0.020"))
    # the same values again: the venue's -5027 "no need to modify" is a no-op success
    same = EditRequest(
        symbol=SYM,
        client_order_id="bm-edit-1",
        amount=D("0.02"),
        price=bid - 250,
        side=Side.BUY,
    )
    noop = only(await driver.run(adapter.edit_orders([same])))
    assert noop.status is CommandStatus.ACCEPTED
    assert noop.noop
    assert noop.error is not None
    assert noop.error.code == -5027


async def test_fill_changes_position_size_and_entry(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    key = sim.credentials.api_key
    inst = sim.engine.instruments[SYM]
    # a resting bid at the touch, filled by someone selling through it
    bid, _ = best(sim)
    r = only(await driver.run(adapter.create_orders([limit(str(bid), "0.050", cid="bm-fill-1")])))
    assert r.status is CommandStatus.ACCEPTED
    book = sim.engine.books[SYM]
    resting = book.bids[inst.ticks(bid) or 0].total
    sim.engine.taker(SYM, SimSide.SELL, resting + 10)
    filled = await driver.run(adapter.fetch_order(SYM, r.order_id, None))
    assert filled.status is OrderStatus.FILLED
    assert filled.filled == D("0.050")
    assert filled.average_price == bid

    # then a market buy on top: entry becomes the size-weighted average of the fills
    m = only(await driver.run(adapter.create_orders([market("0.030", cid="bm-fill-2")])))
    assert m.status is CommandStatus.ACCEPTED
    assert m.order is not None
    assert m.order.status is OrderStatus.FILLED
    assert m.order.average_price is not None
    expected_entry = (D("0.050") * bid + D("0.030") * m.order.average_price) / D("0.080")

    (pos,) = await driver.run(adapter.fetch_positions([SYM]))
    assert pos.symbol == UNIFIED
    assert pos.position_side is PositionSide.BOTH
    assert pos.size == D("0.080")
    assert pos.entry_price is not None
    assert abs(pos.entry_price - expected_entry) < D("0.0001")
    engine_pos = sim.engine.position(key, SYM, SimPositionSide.BOTH)
    assert pos.entry_price == engine_pos.entry_price.quantize(pos.entry_price)
    assert pos.leverage == D(20)
    assert pos.margin_mode is MarginMode.CROSS

    trades = await driver.run(adapter.fetch_my_trades(SYM, None, 10))
    assert sum((t.amount for t in trades), D(0)) == D("0.080")
    assert {t.order_id for t in trades} == {r.order_id, m.order_id}
    fees = sum((t.fee or D(0) for t in trades), D(0))
    assert fees == sum((f.fee for f in sim.engine.fills(key, SYM)), D(0))
    (usdt,) = await driver.run(adapter.fetch_balance())
    assert usdt.asset == "USDT"
    assert usdt.wallet_balance == D("100000") - fees

    # reduce-only market sell closes the position exactly
    close = only(
        await driver.run(adapter.create_orders([market("0.080", side=Side.SELL, reduce_only=True)]))
    )
    assert close.status is CommandStatus.ACCEPTED
    assert driver.sent_params()["reduceOnly"] == "true"
    assert await driver.run(adapter.fetch_positions([SYM])) == []
    # reduce-only with nothing left to reduce: a business rejection
    extra = only(
        await driver.run(adapter.create_orders([market("0.010", side=Side.SELL, reduce_only=True)]))
    )
    assert extra.status is CommandStatus.REJECTED
    assert isinstance(extra.error, ExchangeReject)
    assert extra.error.code == -2022


async def test_batch_create_with_one_invalid_element(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    bid, _ = best(sim)
    requests = [
        limit(str(bid - 400), cid="bm-b-1"),
        limit(str(bid - 400 + D("0.05")), cid="bm-b-2"),  # off the 0.10 tick: venue rejects
        limit(str(bid - 410), cid="bm-b-3"),
    ]
    receipts = await driver.run(adapter.create_orders(requests))
    assert [t.target for t in driver.sent[-1:]] == ["/fapi/v1/batchOrders"]
    assert [r.status for r in receipts] == [
        CommandStatus.ACCEPTED,
        CommandStatus.REJECTED,
        CommandStatus.ACCEPTED,
    ]
    assert [r.client_order_id for r in receipts] == ["bm-b-1", "bm-b-2", "bm-b-3"]
    bad = receipts[1].error
    assert isinstance(bad, ExchangeReject)
    assert bad.code == -4014
    opens = await driver.run(adapter.fetch_open_orders(SYM))
    assert sorted((o.client_order_id, o.price) for o in opens) == [
        ("bm-b-1", bid - 400),
        ("bm-b-3", bid - 410),
    ]

    # more than 5 creates: a batch of five, then the sixth alone; cancel by ids in one batch
    n0 = len(driver.sent)
    six = await driver.run(adapter.create_orders([limit(str(bid - 500 - i)) for i in range(6)]))
    assert [x.target for x in driver.sent[n0:]] == ["/fapi/v1/batchOrders", "/fapi/v1/order"]
    assert all(x.ok for x in six)
    ids = [x.order_id or "" for x in six]
    n0 = len(driver.sent)
    cancelled = await driver.run(
        adapter.cancel_orders([CancelRequest(symbol=SYM, id=i) for i in ids])
    )
    assert all(x.ok for x in cancelled)
    assert [x.order_id for x in cancelled] == ids
    (batch_cancel,) = driver.sent[n0:]
    assert json.loads(driver.sent_params(n0)["orderIdList"]) == [int(i) for i in ids]
    assert batch_cancel.method == "DELETE"

    # batch edit (one unknown id) and batch cancel by client ids (one unknown)
    edits = await driver.run(
        adapter.edit_orders(
            [
                EditRequest(
                    symbol=SYM,
                    client_order_id="bm-b-1",
                    amount=D("0.011"),
                    price=bid - 401,
                    side=Side.BUY,
                ),
                EditRequest(
                    symbol=SYM,
                    client_order_id="bm-nope",
                    amount=D("0.011"),
                    price=bid - 401,
                    side=Side.BUY,
                ),
            ]
        )
    )
    assert driver.sent[-1].method == "PUT"
    assert driver.sent[-1].target == "/fapi/v1/batchOrders"
    assert [r.status for r in edits] == [CommandStatus.ACCEPTED, CommandStatus.REJECTED]
    assert edits[0].order is not None
    assert edits[0].order.price == bid - 401
    assert isinstance(edits[1].error, StateDivergence)

    n0 = len(driver.sent)
    cancels = await driver.run(
        adapter.cancel_orders(
            [
                CancelRequest(symbol=SYM, client_order_id="bm-b-1"),
                CancelRequest(symbol=SYM, client_order_id="bm-b-3"),
                CancelRequest(symbol=SYM, client_order_id="bm-nope"),
            ]
        )
    )
    assert driver.sent[n0].method == "DELETE"
    assert driver.sent[n0].target.startswith("/fapi/v1/batchOrders?")
    assert [r.status for r in cancels] == [
        CommandStatus.ACCEPTED,
        CommandStatus.ACCEPTED,
        CommandStatus.REJECTED,
    ]
    assert isinstance(cancels[2].error, StateDivergence)
    # the unknown client id was also tried on the algo service before giving up
    assert driver.sent[-1].target.startswith("/fapi/v1/algoOrder?")
    assert await driver.run(adapter.fetch_open_orders(SYM)) == []


async def test_validate_order_never_creates(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    bid, _ = best(sim)
    ok = await driver.run(adapter.validate_order(limit(str(bid - 100))))
    assert ok.status is CommandStatus.ACCEPTED
    assert driver.sent[-1].target == "/fapi/v1/order/test"
    tiny = await driver.run(adapter.validate_order(limit(str(bid - 100), amount="0.001")))
    assert tiny.status is CommandStatus.REJECTED
    assert isinstance(tiny.error, ExchangeReject)
    assert tiny.error.code == -4164  # notional below the simulator's 100 USDT minimum
    assert sim.engine.all_orders(sim.credentials.api_key) == []


async def test_algo_stop_order_place_query_cancel(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    bid, ask = best(sim)
    stop = OrderRequest(
        symbol=SYM,
        side=Side.BUY,
        type=OrderType.STOP_MARKET,
        amount=D("0.010"),
        trigger_price=ask + 1000,
        client_order_id="bm-stop-1",
    )
    take = OrderRequest(
        symbol=SYM,
        side=Side.SELL,
        type=OrderType.TAKE_PROFIT_LIMIT,
        amount=D("0.010"),
        price=ask + 1500,
        trigger_price=ask + 1400,
        trigger_by=TriggerBy.MARK_PRICE,
        client_order_id="bm-tp-1",
    )
    receipts = await driver.run(adapter.create_orders([stop, take]))
    assert [s.target for s in driver.sent[-2:]] == ["/fapi/v1/algoOrder", "/fapi/v1/algoOrder"]
    assert all(r.status is CommandStatus.ACCEPTED for r in receipts)
    stop_id, tp_id = receipts[0].order_id, receipts[1].order_id
    assert stop_id is not None
    assert stop_id.startswith("algo:")
    assert tp_id is not None
    assert tp_id.startswith("algo:")
    conds = sim.engine.open_conditionals(sim.credentials.api_key, SYM)
    assert sorted(f"algo:{c.cond_id}" for c in conds) == sorted([stop_id, tp_id])

    opens = {o.client_order_id: o for o in await driver.run(adapter.fetch_open_orders(SYM))}
    assert set(opens) == {"bm-stop-1", "bm-tp-1"}
    assert opens["bm-stop-1"].type is OrderType.STOP_MARKET
    assert opens["bm-stop-1"].trigger_price == ask + 1000
    assert opens["bm-tp-1"].type is OrderType.TAKE_PROFIT_LIMIT
    assert opens["bm-tp-1"].price == ask + 1500
    assert opens["bm-tp-1"].trigger_by is not None
    assert opens["bm-tp-1"].trigger_by.value == ("mark_price")
    # query by algo id, and by client id (not in the matching engine: falls back to the algo service)
    q1 = await driver.run(adapter.fetch_order(SYM, stop_id, None))
    q2 = await driver.run(adapter.fetch_order(SYM, None, "bm-tp-1"))
    assert (q1.id, q2.id) == (stop_id, tp_id)

    # cancel one by algo id, the other by client id
    c1 = only(await driver.run(adapter.cancel_orders([CancelRequest(symbol=SYM, id=stop_id)])))
    c2 = only(
        await driver.run(
            adapter.cancel_orders([CancelRequest(symbol=SYM, client_order_id="bm-tp-1")])
        )
    )
    assert c1.status is CommandStatus.ACCEPTED
    assert c1.order_id == stop_id
    assert c2.status is CommandStatus.ACCEPTED
    assert c2.order_id == tp_id
    assert await driver.run(adapter.fetch_open_orders(SYM)) == []
    # editing an algo order is refused locally, nothing sent
    n = len(driver.sent)
    e = only(
        await driver.run(
            adapter.edit_orders(
                [EditRequest(symbol=SYM, id=stop_id, amount=D("0.02"), price=bid, side=Side.BUY)]
            )
        )
    )
    assert e.status is CommandStatus.REJECTED
    assert isinstance(e.error, Unsupported)
    assert len(driver.sent) == n


async def test_algo_stop_triggers_into_an_order(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    _, ask = best(sim)
    trigger = max(ask, sim.engine.markets[SYM].last_price) + 1
    stop = OrderRequest(
        symbol=SYM,
        side=Side.BUY,
        type=OrderType.STOP_MARKET,
        amount=D("0.010"),
        trigger_price=trigger,
        client_order_id="bm-trig-1",
    )
    r = only(await driver.run(adapter.create_orders([stop])))
    assert r.status is CommandStatus.ACCEPTED
    # someone buys through the trigger price
    sim.engine.taker(SYM, SimSide.BUY, 200_000)
    assert sim.engine.markets[SYM].last_price >= trigger
    q = await driver.run(adapter.fetch_order(SYM, r.order_id, None))
    assert q.venue_status in ("TRIGGERED", "FINISHED")
    (pos,) = await driver.run(adapter.fetch_positions([SYM]))
    assert pos.size == D("0.010")


async def test_cancel_all_orders_covers_regular_and_algo(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    bid, ask = best(sim)
    await driver.run(
        adapter.create_orders(
            [
                limit(str(bid - 100)),
                limit(str(bid - 101)),
                OrderRequest(
                    symbol=SYM,
                    side=Side.BUY,
                    type=OrderType.STOP_MARKET,
                    amount=D("0.01"),
                    trigger_price=ask + 999,
                ),
            ]
        )
    )
    assert len(await driver.run(adapter.fetch_open_orders(SYM))) == 3
    receipts = await driver.run(adapter.cancel_all_orders(SYM))
    assert [r.status for r in receipts] == [CommandStatus.ACCEPTED] * 2
    assert [s.target.split("?")[0] for s in driver.sent[-2:]] == [
        "/fapi/v1/allOpenOrders",
        "/fapi/v1/algoOpenOrders",
    ]
    assert await driver.run(adapter.fetch_open_orders(None)) == []
    # without a symbol: every symbol with open orders is listed, then cancelled
    eth_bid, _ = best(sim, "ETHUSDT")
    eth = OrderRequest(
        symbol="ETHUSDT", side=Side.BUY, type=OrderType.LIMIT, amount=D("1"), price=eth_bid - 50
    )
    assert all(x.ok for x in await driver.run(adapter.create_orders([eth, limit(str(bid - 99))])))
    receipts = await driver.run(adapter.cancel_all_orders(None))
    assert [(x.symbol, x.status) for x in receipts] == [
        ("BTC/USDT:USDT", CommandStatus.ACCEPTED),
        ("BTC/USDT:USDT", CommandStatus.ACCEPTED),
        ("ETH/USDT:USDT", CommandStatus.ACCEPTED),
        ("ETH/USDT:USDT", CommandStatus.ACCEPTED),
    ]
    assert sim.engine.open_orders(sim.credentials.api_key) == []
    # nothing open anywhere: a no-op
    (noop,) = await driver.run(adapter.cancel_all_orders(None))
    assert noop.status is CommandStatus.ACCEPTED
    assert noop.noop


# -- settings ------------------------------------------------------------------------------------------


async def test_leverage_margin_and_position_mode_then_noop(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    key = sim.credentials.api_key
    lev = await driver.run(adapter.set_leverage(LeverageRequest(symbol=SYM, leverage=D(7))))
    assert lev.status is CommandStatus.ACCEPTED
    assert not lev.noop
    assert sim.engine.symbol_config(key, SYM).leverage == 7
    (cfg,) = await driver.run(adapter.fetch_symbol_config(SYM))
    assert cfg.leverage == 7
    again = await driver.run(adapter.set_leverage(LeverageRequest(symbol=SYM, leverage=D(7))))
    assert again.status is CommandStatus.ACCEPTED
    bad = await driver.run(adapter.set_leverage(LeverageRequest(symbol=SYM, leverage=D(126))))
    assert bad.status is CommandStatus.REJECTED  # refused before sending

    mm = MarginModeRequest(symbol=SYM, margin_mode=MarginMode.ISOLATED)
    first = await driver.run(adapter.set_margin_mode(mm))
    assert first.status is CommandStatus.ACCEPTED
    assert not first.noop
    assert sim.engine.symbol_config(key, SYM).margin_type.value == "ISOLATED"
    second = await driver.run(adapter.set_margin_mode(mm))
    assert second.status is CommandStatus.ACCEPTED
    assert second.noop
    assert second.error is not None
    assert second.error.code == -4046

    hedge = PositionModeRequest(symbol=None, position_mode=PositionMode.HEDGE)
    p1 = await driver.run(adapter.set_position_mode(hedge))
    assert p1.status is CommandStatus.ACCEPTED
    assert not p1.noop
    assert await driver.run(adapter.fetch_position_mode()) is PositionMode.HEDGE
    assert sim.engine.accounts[key].dual_side is True
    p2 = await driver.run(adapter.set_position_mode(hedge))
    assert p2.status is CommandStatus.ACCEPTED
    assert p2.noop
    assert p2.error is not None
    assert p2.error.code == -4059
    cfg2 = await driver.run(adapter.fetch_account_config())
    assert cfg2.dualSidePosition is True

    # switching mode with an open order is refused (-4067), not a no-op
    bid, _ = best(sim)
    await driver.run(
        adapter.create_orders([limit(str(bid - 100), position_side=PositionSide.LONG)])
    )
    one_way = PositionModeRequest(symbol=None, position_mode=PositionMode.ONE_WAY)
    blocked = await driver.run(adapter.set_position_mode(one_way))
    assert blocked.status is CommandStatus.REJECTED
    assert blocked.error is not None
    assert blocked.error.code == -4067


async def test_hedge_mode_open_and_close_without_reduce_only(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    hedge = PositionModeRequest(symbol=None, position_mode=PositionMode.HEDGE)
    assert (await driver.run(adapter.set_position_mode(hedge))).ok
    long_open = market("0.020", side=Side.BUY, position_side=PositionSide.LONG)
    short_open = market("0.015", side=Side.SELL, position_side=PositionSide.SHORT)
    receipts = await driver.run(adapter.create_orders([long_open, short_open]))
    assert all(r.status is CommandStatus.ACCEPTED for r in receipts)
    positions = {p.position_side: p for p in await driver.run(adapter.fetch_positions([SYM]))}
    assert positions[PositionSide.LONG].size == D("0.020")
    assert positions[PositionSide.SHORT].size == D("0.015")  # hedge legs are unsigned

    # close the long leg: SELL + LONG, reduce_only asked for but never sent (-1106 otherwise)
    close = market("0.020", side=Side.SELL, position_side=PositionSide.LONG, reduce_only=True)
    r = only(await driver.run(adapter.create_orders([close])))
    assert r.status is CommandStatus.ACCEPTED, r.error
    sent = driver.sent_params()
    assert sent["positionSide"] == "LONG"
    assert "reduceOnly" not in sent
    positions = {p.position_side: p for p in await driver.run(adapter.fetch_positions([SYM]))}
    assert PositionSide.LONG not in positions or positions[PositionSide.LONG].size == 0
    assert positions[PositionSide.SHORT].size == D("0.015")
    # an opening side with reduce_only is refused locally in hedge mode
    wrong = market("0.015", side=Side.SELL, position_side=PositionSide.SHORT, reduce_only=True)
    n = len(driver.sent)
    w = only(await driver.run(adapter.create_orders([wrong])))
    assert w.status is CommandStatus.REJECTED
    assert len(driver.sent) == n
    # a BOTH order in hedge mode: the venue says the position side does not match
    both = only(await driver.run(adapter.create_orders([market("0.010")])))
    assert both.status is CommandStatus.REJECTED
    assert isinstance(both.error, StateDivergence)
    assert both.error.code == -4061


# -- public websocket --------------------------------------------------------------------------------


class BookFeed:
    """Feeds one depth-diff connection into ``sync``, fetching REST snapshots whenever it asks
    (NEED_SNAPSHOT / GAP), exactly as the runtime's book lane does."""

    def __init__(self, driver: FlowDriver, ws: ClientConnection, sync: Any) -> None:
        self.driver = driver
        self.adapter = adapter_of(driver)
        self.ws = ws
        self.sync = sync
        self.seen = 0  # highest ``u`` received

    async def feed(self, frame: str | bytes, statuses: list[SyncStatus]) -> None:
        decoded = self.adapter.decode_public(frame)
        if isinstance(decoded, Control):
            return
        for event in decoded.events:
            assert isinstance(event, BookDeltaEvent)
            self.seen = max(self.seen, event.last_id)
            status = self.sync.on_event(event)
            statuses.append(status)
            while status in (SyncStatus.NEED_SNAPSHOT, SyncStatus.GAP):
                snap = await self.driver.run(
                    self.adapter.fetch_order_book(SYM, self.sync.snapshot_limit)
                )
                status = self.sync.on_event(snap)
                statuses.append(status)

    async def step(self, sim: BinanceSim, steps: int) -> list[SyncStatus]:
        """Move the market ``steps`` times; return once the diff carrying the engine's current
        update id has been fed."""
        statuses: list[SyncStatus] = []
        for _ in range(steps):
            sim.step(1)
            target = sim.engine.books[SYM].update_id
            while self.seen < target:
                await self.feed(await asyncio.wait_for(self.ws.recv(), 3.0), statuses)
        return statuses

    async def step_with_barrier(self, sim: BinanceSim, steps: int) -> list[SyncStatus]:
        """Like ``step`` but waits on a request barrier (when a diff may never be sent)."""
        statuses: list[SyncStatus] = []
        for _ in range(steps):
            sim.step(1)
            for frame in await until_barrier(self.ws):
                await self.feed(frame, statuses)
        return statuses


async def _assert_book_equals_rest(driver: FlowDriver, sync: Any, depth: int = 500) -> None:
    adapter = adapter_of(driver)
    fresh = await driver.run(adapter.fetch_order_book(SYM, 1000))
    assert sync.synced
    assert sync.book.update_id == fresh.update_id
    local = sync.book.snapshot(depth)
    assert [(lv.price, lv.amount) for lv in local.bids] == levels(fresh.bids, depth)
    assert [(lv.price, lv.amount) for lv in local.asks] == levels(fresh.asks, depth)


async def test_depth_diff_book_sync_equals_fresh_snapshot(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    spec = adapter.markets.resolve(SYM)
    sync = adapter.book_sync(spec, None)
    (topic,) = adapter.public_topics(Channel.ORDER_BOOK, SYM)
    assert topic.name == "btcusdt@depth@100ms"
    assert topic.route == "public"
    url = adapter.public_ws_url(sim.endpoints, topic.route)
    assert url == f"{sim.endpoints.public_ws}/public/stream"
    async with connect(url) as ws:
        await ws.send(adapter.subscribe_frame([topic.name], 1))
        ack = adapter.decode_public(await ws.recv())
        assert isinstance(ack, Control)
        assert ack.kind == "ack"
        assert ack.req_id == "1"
        feed = BookFeed(driver, ws, sync)
        statuses = await feed.step(sim, 3)
        assert statuses[0] is SyncStatus.NEED_SNAPSHOT
        assert SyncStatus.APPLIED in statuses
        assert SyncStatus.GAP not in statuses
        statuses = await feed.step(sim, 12)
        assert statuses
        assert set(statuses) == {SyncStatus.APPLIED}
        await _assert_book_equals_rest(driver, sync)

        # a diff the venue never sent: the sync sees the pu break, resyncs, and is exact again
        sim.faults.skip_sequence(SYM)
        statuses = await feed.step_with_barrier(sim, 3)
        assert SyncStatus.GAP in statuses
        assert set(await feed.step(sim, 2)) == {SyncStatus.APPLIED}
        await _assert_book_equals_rest(driver, sync)


async def test_malformed_frame_is_a_typed_error_and_the_stream_goes_on(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    (topic,) = adapter.public_topics(Channel.TRADES, SYM)
    async with connect(adapter.public_ws_url(sim.endpoints, topic.route)) as ws:
        await ws.send(adapter.subscribe_frame([topic.name], 3))
        await ws.recv()
        sim.faults.malformed_frames(1)
        sim.step(3)
        frames = await until_barrier(ws)
    errors = 0
    trades: list[Trade] = []
    for frame in frames:
        try:
            decoded = adapter.decode_public(frame)
        except DecodeError:
            errors += 1
            continue
        assert isinstance(decoded, StreamData)
        for event in decoded.events:
            assert isinstance(event, Trade)
            trades.append(event)
    assert errors == 1
    assert "ws:malformed" in sim.faults.fired
    assert trades
    assert trades[-1].id == str(sim.engine.markets[SYM].agg_trades[-1].agg_id)


async def test_partial_depth_stream_replaces_the_book(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    spec = adapter.markets.resolve(SYM)
    sync = adapter.book_sync(spec, 10)
    (topic,) = adapter.public_topics(Channel.ORDER_BOOK, SYM, depth=10)
    async with connect(adapter.public_ws_url(sim.endpoints, topic.route)) as ws:
        await ws.send(adapter.subscribe_frame([topic.name], 2))
        await ws.recv()
        sim.step(3)
        frames = await until_barrier(ws)
    statuses = []
    for frame in frames:
        decoded = adapter.decode_public(frame)
        assert isinstance(decoded, StreamData)
        assert decoded.topic == topic.name
        for ev in decoded.events:
            assert isinstance(ev, BookSnapshotEvent)
            assert len(ev.bids) == 10
            statuses.append(sync.on_event(ev))
    assert statuses
    assert set(statuses) == {SyncStatus.APPLIED}
    inst = sim.engine.instruments[SYM]
    bids, asks = sim.engine.books[SYM].depth(10)
    local = sync.book.snapshot(10)
    assert [(lv.price, lv.amount) for lv in local.bids] == [
        (inst.price_of(t), inst.qty_of(s)) for t, s in bids
    ]
    assert [(lv.price, lv.amount) for lv in local.asks] == [
        (inst.price_of(t), inst.qty_of(s)) for t, s in asks
    ]


async def test_every_public_stream_decodes_into_typed_events(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    expected: dict[Channel, type] = {
        Channel.ORDER_BOOK: BookDeltaEvent,
        Channel.BOOK_TOP: BookTop,
        Channel.TRADES: Trade,
        Channel.TICKER: Ticker,
        Channel.OHLCV: OHLCV,
        Channel.MARK_PRICE: MarkPrice,
        Channel.FUNDING_RATE: FundingRate,
        Channel.LIQUIDATIONS: Liquidation,
    }
    wanted: dict[str, dict[str, type]] = {}  # route -> topic -> event type
    for channel, tp in expected.items():
        kwargs: dict[str, Any] = {"interval": "1m"} if channel is Channel.OHLCV else {}
        for topic in adapter.public_topics(channel, SYM, **kwargs):
            wanted.setdefault(topic.route, {})[topic.name] = tp
    for depth in (5, 20):
        (t,) = adapter.public_topics(Channel.ORDER_BOOK, SYM, depth=depth)
        wanted[t.route][t.name] = BookSnapshotEvent
    with pytest.raises(Unsupported):
        adapter.public_topics(Channel.OPEN_INTEREST, SYM)
    assert set(wanted) == {"public", "market"}

    seen: dict[str, list[Any]] = {}
    sockets = {
        route: await connect(adapter.public_ws_url(sim.endpoints, route)) for route in wanted
    }
    try:
        for i, (route, topics) in enumerate(wanted.items()):
            await sockets[route].send(adapter.subscribe_frame(list(topics), 10 + i))
            ack = adapter.decode_public(await sockets[route].recv())
            assert isinstance(ack, Control)
            assert ack.kind == "ack"
        sim.step(4)
        sim.engine.print_liquidation(SYM, SimSide.SELL, 50)
        sim.step(1)
        for ws in sockets.values():
            for frame in await until_barrier(ws):
                decoded = adapter.decode_public(frame)
                assert isinstance(decoded, StreamData), decoded
                seen.setdefault(decoded.topic, []).extend(decoded.events)
    finally:
        for ws in sockets.values():
            await ws.close()

    all_topics = {name: tp for topics in wanted.values() for name, tp in topics.items()}
    assert set(seen) == set(all_topics), set(all_topics) - set(seen)
    for name, events in seen.items():
        tp = all_topics[name]
        # markPrice carries both MarkPrice and FundingRate
        assert any(isinstance(e, tp) for e in events), (name, events[:2])
        assert all(getattr(e, "symbol", UNIFIED) == UNIFIED for e in events)
    mkt = sim.engine.markets[SYM]
    marks = [e for e in seen["btcusdt@markPrice@1s"] if isinstance(e, MarkPrice)]
    assert marks[-1].mark_price == mkt.mark_price
    rates = [e for e in seen["btcusdt@markPrice@1s"] if isinstance(e, FundingRate)]
    assert rates[-1].funding_rate == mkt.funding_rate
    trades = [e for e in seen["btcusdt@aggTrade"] if isinstance(e, Trade)]
    assert trades[-1].id == str(mkt.agg_trades[-1].agg_id)
    assert trades[-1].price == mkt.agg_trades[-1].price
    (liq,) = seen["btcusdt@forceOrder"]
    assert isinstance(liq, Liquidation)
    assert liq.side.value == "sell"
    assert not liq.complete_feed
    tops = [e for e in seen["btcusdt@bookTicker"] if isinstance(e, BookTop)]
    assert (tops[-1].bid, tops[-1].ask) == best(sim)
    candles = [e for e in seen["btcusdt@kline_1m"] if isinstance(e, OHLCV)]
    ref = mkt.candles[candles[-1].open_time]
    assert (candles[-1].close, candles[-1].volume) == (ref.close, ref.volume)
    tickers = [e for e in seen["btcusdt@ticker"] if isinstance(e, Ticker)]
    assert tickers[-1].last == mkt.last_price


# -- private stream ----------------------------------------------------------------------------------


async def test_private_session_sees_order_and_account_updates_for_a_fill(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    session = await driver.run(
        adapter.private_session(sim.endpoints, sim.credentials, now_ms(), 5000)
    )
    assert driver.sent[-1].method == "POST"
    assert driver.sent[-1].target == "/fapi/v1/listenKey"
    assert "X-MBX-APIKEY" in driver.sent[-1].headers
    assert session.keepalive is not None
    assert session.keepalive_interval_s == 1800.0
    (listen_key,) = sim.users.keys
    assert session.url.endswith(f"/private/ws?listenKey={listen_key}")
    async with connect(session.url) as ws:
        r = only(await driver.run(adapter.create_orders([market("0.025", cid="bm-priv-1")])))
        assert r.status is CommandStatus.ACCEPTED
        assert r.order is not None
        fill_price = r.order.average_price
        frames = await until_barrier(ws)
        topics: dict[str, list[Any]] = {}
        for frame in frames:
            decoded = adapter.decode_private(frame)
            assert isinstance(decoded, PrivateData), decoded
            topics.setdefault(decoded.topic, []).extend(decoded.events)
        assert {"ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"} <= set(topics)
        orders = [e for e in topics["ORDER_TRADE_UPDATE"] if isinstance(e, Order)]
        assert all(o.client_order_id == "bm-priv-1" and o.id == r.order_id for o in orders)
        assert orders[-1].status is OrderStatus.FILLED
        assert orders[-1].filled == D("0.025")
        fills = [e for e in topics["ORDER_TRADE_UPDATE"] if isinstance(e, MyTrade)]
        assert sum((f.amount for f in fills), D(0)) == D("0.025")
        key = sim.credentials.api_key
        assert {f.id for f in fills} == {str(f.trade_id) for f in sim.engine.fills(key, SYM)}
        positions = [e for e in topics["ACCOUNT_UPDATE"] if isinstance(e, Position)]
        assert positions[-1].symbol == UNIFIED
        assert positions[-1].size == D("0.025")
        assert positions[-1].entry_price == fill_price
        balances = [e for e in topics["ACCOUNT_UPDATE"] if isinstance(e, Balance)]
        fee = sum((f.fee or D(0) for f in fills), D(0))
        assert balances[-1].asset == "USDT"
        assert balances[-1].wallet_balance == D(100000) - fee
        # TRADE_LITE reports the same fills (dedupe key: symbol + trade id)
        lite = [e for e in topics["TRADE_LITE"] if isinstance(e, MyTrade)]
        assert {(t.id, t.price, t.amount) for t in lite} == {
            (f.id, f.price, f.amount) for f in fills
        }

        # a leverage change is pushed as ACCOUNT_CONFIG_UPDATE
        await driver.run(adapter.set_leverage(LeverageRequest(symbol=SYM, leverage=D(9))))
        frame = await recv_until(ws, lambda f: b"ACCOUNT_CONFIG_UPDATE" in _b(f))
        cfg = adapter.decode_private(frame)
        assert isinstance(cfg, PrivateData)
        (event,) = cfg.events
        assert isinstance(event, AccountConfigEvent)
        assert event.symbol == UNIFIED
        assert event.leverage == 9

        # keepalive is the PUT the session describes; then the venue expires the key
        assert session.keepalive is not None
        resp = await driver.send(session.keepalive)
        assert resp.status == 200
        assert json.loads(resp.body) == {"listenKey": listen_key}
        sim.faults.expire_listen_key()
        frame = await recv_until(ws, lambda f: b"listenKeyExpired" in _b(f))
        expired = adapter.decode_private(frame)
        assert isinstance(expired, PrivateData)
        assert isinstance(expired.events[0], StreamExpired)
    # the expired key can be neither kept alive nor closed: -1125 (recreate the key)
    assert session.keepalive is not None
    gone = adapter.classify_http_error(await driver.send(session.keepalive))
    assert isinstance(gone, StateDivergence)
    assert gone.code == -1125
    with pytest.raises(StateDivergence) as err:
        await driver.run(adapter.close_listen_key())
    assert err.value.code == -1125


def _b(frame: str | bytes) -> bytes:
    return frame.encode() if isinstance(frame, str) else frame


async def test_private_session_algo_update(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    session = await driver.run(
        adapter.private_session(sim.endpoints, sim.credentials, now_ms(), 5000)
    )
    _, ask = best(sim)
    async with connect(session.url) as ws:
        stop = OrderRequest(
            symbol=SYM,
            side=Side.BUY,
            type=OrderType.STOP_MARKET,
            amount=D("0.010"),
            trigger_price=ask + 700,
            client_order_id="bm-algo-ws",
        )
        r = only(await driver.run(adapter.create_orders([stop])))
        frame = await recv_until(ws, lambda f: b"ALGO_UPDATE" in _b(f))
        decoded = adapter.decode_private(frame)
        assert isinstance(decoded, PrivateData)
        assert decoded.topic == "ALGO_UPDATE"
        (order,) = decoded.events
        assert isinstance(order, Order)
        assert (order.id, order.client_order_id) == (r.order_id, "bm-algo-ws")
        assert order.trigger_price == ask + 700
        assert order.status is OrderStatus.NEW


# -- order websocket (ws-fapi) ---------------------------------------------------------------------


async def test_ws_api_place_edit_cancel_with_matching_reply_ids(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    creds = sim.credentials
    session = adapter.ws_command_session(sim.endpoints, creds, now_ms())
    assert session.url == sim.endpoints.command_ws
    assert session.auth_frame is None
    bid, _ = best(sim)
    async with connect(session.url) as ws:
        place = adapter.ws_command(
            CommandKind.CREATE_ORDER,
            [limit(str(bid - 200), cid="bm-ws-1")],
            "req-1",
            creds,
            now_ms(),
            5000,
        )
        await ws.send(place.frame)
        reply = await ws.recv()
        assert adapter.ws_reply_id(reply) == place.req_id == "req-1"
        r = only(place.decode(_b(reply)))
        assert r.status is CommandStatus.ACCEPTED
        assert r.order is not None
        assert (r.order.client_order_id, r.order.price) == ("bm-ws-1", bid - 200)
        (o,) = sim.engine.open_orders(creds.api_key, SYM)
        assert str(o.order_id) == r.order_id

        edit = adapter.ws_command(
            CommandKind.EDIT_ORDER,
            [
                EditRequest(
                    symbol=SYM, id=r.order_id, amount=D("0.02"), price=bid - 150, side=Side.BUY
                )
            ],
            "req-2",
            creds,
            now_ms(),
            5000,
        )
        await ws.send(edit.frame)
        reply = await ws.recv()
        assert adapter.ws_reply_id(reply) == "req-2"
        e = only(edit.decode(_b(reply)))
        assert e.status is CommandStatus.ACCEPTED
        assert e.order is not None
        assert (e.order.price, e.order.amount) == (bid - 150, D("0.020"))

        # a venue rejection travels back as a REJECTED receipt with the venue code
        bad = adapter.ws_command(
            CommandKind.CREATE_ORDER,
            [limit(str(bid - 200 + D("0.03")))],
            "req-3",
            creds,
            now_ms(),
            5000,
        )
        await ws.send(bad.frame)
        reply = await ws.recv()
        assert adapter.ws_reply_id(reply) == "req-3"
        b = only(bad.decode(_b(reply)))
        assert b.status is CommandStatus.REJECTED
        assert isinstance(b.error, ExchangeReject)
        assert b.error.code == -4014

        cancel = adapter.ws_command(
            CommandKind.CANCEL_ORDER,
            [CancelRequest(symbol=SYM, client_order_id="bm-ws-1")],
            "req-4",
            creds,
            now_ms(),
            5000,
        )
        await ws.send(cancel.frame)
        reply = await ws.recv()
        assert adapter.ws_reply_id(reply) == "req-4"
        c = only(cancel.decode(_b(reply)))
        assert c.status is CommandStatus.ACCEPTED
        assert c.order is not None
        assert c.order.status is OrderStatus.CANCELED
        assert sim.engine.open_orders(creds.api_key, SYM) == []

        # algo orders go to algoOrder.place / algoOrder.cancel
        stop = OrderRequest(
            symbol=SYM,
            side=Side.SELL,
            type=OrderType.STOP_MARKET,
            amount=D("0.010"),
            trigger_price=bid - 900,
            client_order_id="bm-ws-stop",
        )
        aplace = adapter.ws_command(
            CommandKind.CREATE_ORDER, [stop], "req-5", creds, now_ms(), 5000
        )
        assert json.loads(aplace.frame)["method"] == "algoOrder.place"
        await ws.send(aplace.frame)
        reply = await ws.recv()
        assert adapter.ws_reply_id(reply) == "req-5"
        a = only(aplace.decode(_b(reply)))
        assert a.status is CommandStatus.ACCEPTED
        assert a.order_id is not None
        assert a.order_id.startswith("algo:")
        acancel = adapter.ws_command(
            CommandKind.CANCEL_ORDER,
            [CancelRequest(symbol=SYM, id=a.order_id)],
            "req-6",
            creds,
            now_ms(),
            5000,
        )
        await ws.send(acancel.frame)
        reply = await ws.recv()
        assert adapter.ws_reply_id(reply) == "req-6"
        ac = only(acancel.decode(_b(reply)))
        assert ac.status is CommandStatus.ACCEPTED
        assert ac.order_id == a.order_id
        assert sim.engine.open_conditionals(creds.api_key, SYM) == []

        # no batch and no cancel-all on ws-fapi
        with pytest.raises(Unsupported):
            adapter.ws_command(CommandKind.CANCEL_ALL_ORDERS, [], "req-7", creds, now_ms(), 5000)


async def test_ws_api_lost_reply_is_unknown_and_the_order_exists(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    creds = sim.credentials
    bid, _ = best(sim)
    sim.faults.drop_response("ws-fapi:order.place")
    async with connect(sim.endpoints.command_ws or "") as ws:
        cmd = adapter.ws_command(
            CommandKind.CREATE_ORDER,
            [limit(str(bid - 200), cid="bm-ws-lost")],
            "req-lost",
            creds,
            now_ms(),
            5000,
        )
        await ws.send(cmd.frame)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
    r = only(cmd.unknown(Timeout("no reply from ws-fapi", venue="binance")))
    assert r.status is CommandStatus.UNKNOWN
    assert r.client_order_id == "bm-ws-lost"
    # reconciliation by client id finds what the venue did
    found = await driver.run(adapter.fetch_order(SYM, None, "bm-ws-lost"))
    assert found.status is OrderStatus.NEW
    assert found.price == bid - 200


async def test_ws_api_ed25519_session_logon(sim: BinanceSim, driver: FlowDriver) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    adapter = adapter_of(driver)
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    api_key = "Ed25519Key" + "x" * 54
    sim.add_account(api_key=api_key, secret="unused", key_type="ed25519", public_key=public_pem)
    creds = Credentials.of(api_key, private_pem, "ed25519")
    session = adapter.ws_command_session(sim.endpoints, creds, now_ms())
    assert session.auth_frame is not None
    assert session.auth_req_id is not None
    bid, _ = best(sim)
    async with connect(session.url) as ws:
        await ws.send(session.auth_frame)
        reply = await ws.recv()
        assert adapter.ws_reply_id(reply) == session.auth_req_id
        auth = adapter.decode_private(reply)
        assert isinstance(auth, Control)
        assert auth.kind == "auth"
        assert auth.ok
        cmd = adapter.ws_command(
            CommandKind.CREATE_ORDER, [limit(str(bid - 50))], "ed-1", creds, now_ms(), 5000
        )
        await ws.send(cmd.frame)
        reply = await ws.recv()
        r = only(cmd.decode(_b(reply)))
        assert r.status is CommandStatus.ACCEPTED
    # the same Ed25519 key signs REST requests too
    async with FlowDriver(adapter, sim.endpoints, creds) as ed:
        (o,) = await ed.run(adapter.fetch_open_orders(SYM))
        assert o.id == r.order_id


async def test_rsa_key_signs_rest_requests(sim: BinanceSim, driver: FlowDriver) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    adapter = adapter_of(driver)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    api_key = "RsaKey" + "y" * 58
    sim.add_account(api_key=api_key, secret="unused", key_type="rsa", public_key=public_pem)
    creds = Credentials.of(api_key, private_pem, "rsa")
    bid, _ = best(sim)
    async with FlowDriver(adapter, sim.endpoints, creds) as rsa_driver:
        r = only(await rsa_driver.run(adapter.create_orders([limit(str(bid - 70), cid="bm-rsa")])))
        assert r.status is CommandStatus.ACCEPTED, r.error
        assert [o.client_id for o in sim.engine.open_orders(api_key, SYM)] == ["bm-rsa"]
        # the base64 signature is percent-encoded as the last parameter
        body = (rsa_driver.sent[-1].body or b"").decode()
        assert body.rsplit("&", 1)[1].startswith("signature=")
        assert "%" in body.rsplit("&", 1)[1]


# -- faults ------------------------------------------------------------------------------------------


async def test_dropped_create_response_is_unknown_and_the_order_executed(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    bid, _ = best(sim)
    sim.faults.drop_response("/fapi/v1/order", method="POST")
    r = only(await driver.run(adapter.create_orders([limit(str(bid - 300), cid="bm-drop-1")])))
    assert len(driver.thrown) == 1  # the transport error was thrown into the flow
    assert r.status is CommandStatus.UNKNOWN
    assert isinstance(r.error, UnknownExecution)
    assert r.client_order_id == "bm-drop-1"
    assert r.symbol == UNIFIED
    # the venue did execute it: reconciliation by client id finds it
    found = await driver.run(adapter.fetch_order(SYM, None, "bm-drop-1"))
    assert found.status is OrderStatus.NEW
    assert found.price == bid - 300

    # a dropped batch: every item is unknown
    sim.faults.drop_response("/fapi/v1/batchOrders")
    rs = await driver.run(adapter.create_orders([limit(str(bid - 301)), limit(str(bid - 302))]))
    assert [x.status for x in rs] == [CommandStatus.UNKNOWN] * 2
    # a dropped cancel: unknown too, and the cancel did happen
    sim.faults.drop_response("/fapi/v1/order", method="DELETE")
    c = only(
        await driver.run(
            adapter.cancel_orders([CancelRequest(symbol=SYM, client_order_id="bm-drop-1")])
        )
    )
    assert c.status is CommandStatus.UNKNOWN
    gone = await driver.run(adapter.fetch_order(SYM, None, "bm-drop-1"))
    assert gone.status is OrderStatus.CANCELED


async def test_venue_unknown_error_and_timeout_are_unknown(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    bid, _ = best(sim)
    sim.faults.unknown_error("/fapi/v1/order", method="POST")
    r = only(await driver.run(adapter.create_orders([limit(str(bid - 300), cid="bm-503")])))
    assert r.status is CommandStatus.UNKNOWN
    assert isinstance(r.error, UnknownExecution)
    assert r.error.http_status == 503
    assert (await driver.run(adapter.fetch_order(SYM, None, "bm-503"))).status is OrderStatus.NEW
    # a hung answer: the client times out (Timeout thrown in), outcome unknown
    sim.faults.timeout("/fapi/v1/order", method="POST")
    async with FlowDriver(adapter, sim.endpoints, sim.credentials, timeout_s=0.3) as short:
        h = only(await short.run(adapter.create_orders([limit(str(bid - 301), cid="bm-hang")])))
        assert isinstance(short.thrown[0], Timeout)
    assert h.status is CommandStatus.UNKNOWN
    # a read that times out raises (reads are not commands)
    sim.faults.timeout("/fapi/v1/openOrders")
    async with FlowDriver(adapter, sim.endpoints, sim.credentials, timeout_s=0.3) as short:
        with pytest.raises(Timeout):
            await short.run(adapter.fetch_open_orders(SYM))


async def test_rate_limit_and_ban_give_retry_after(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    sim.faults.rate_limit(1)
    with pytest.raises(RateLimited) as err:
        await driver.run(adapter.fetch_ticker(SYM))
    assert err.value.http_status == 429
    assert err.value.code == -1003
    assert err.value.retry_after is not None
    assert 0 < err.value.retry_after <= 60
    assert driver.responses[-1].headers.get("retry-after") == str(int(err.value.retry_after))
    # continuing inside the window earns the 418 ban (with its own Retry-After)
    with pytest.raises(RateLimited) as ban:
        await driver.run(adapter.fetch_ticker(SYM))
    assert ban.value.http_status == 418
    assert ban.value.retry_after is not None
    assert ban.value.retry_after >= 60
    # commands under a ban are rejected (nothing executed), not unknown
    r = only(await driver.run(adapter.create_orders([market("0.01")])))
    assert r.status is CommandStatus.REJECTED
    assert isinstance(r.error, RateLimited)
    sim.limiter.banned_until = 0
    sim.faults.ban(3)
    with pytest.raises(RateLimited) as short_ban:
        await driver.run(adapter.fetch_ticker(SYM))
    assert short_ban.value.http_status == 418
    assert short_ban.value.retry_after == 3
    # the order-count limit: -1015 with Retry-After, a rejection (nothing executed)
    sim.limiter.banned_until = 0
    sim.limits.orders_10s = 0
    bid, _ = best(sim)
    r2 = only(await driver.run(adapter.create_orders([limit(str(bid - 101))])))
    assert r2.status is CommandStatus.REJECTED
    assert isinstance(r2.error, RateLimited)
    assert r2.error.code == -1015
    assert r2.error.http_status == 429
    assert r2.error.retry_after is not None
    assert 0 < r2.error.retry_after <= 10
    orders = [
        u for u in adapter.parse_rate_limits(driver.responses[-1].headers) if u.key == "orders"
    ]
    assert {u.window_s for u in orders} == {10.0, 60.0}
    assert sim.engine.open_orders(sim.credentials.api_key, SYM) == []
    # the usage headers parse into the adapter's limit model
    await driver.run(adapter.fetch_ticker(SYM))
    usage = adapter.parse_rate_limits(driver.responses[-1].headers)
    assert [(u.key, u.window_s, u.limit) for u in usage] == [("weight", 60.0, 2400)]
    assert usage[0].used == sim.limiter.used_weight(sim.server_time_ms())


async def test_clock_skew_is_a_clock_error(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    sim.faults.clock_skew(-20_000)  # the server is 20 s behind us: our timestamps are "ahead"
    with pytest.raises(AuthError) as err:
        await driver.run(adapter.fetch_balance())
    assert err.value.code == -1021
    assert adapter.is_clock_error(err.value)
    r = only(await driver.run(adapter.create_orders([market("0.01")])))
    assert r.status is CommandStatus.REJECTED
    assert r.error is not None
    assert adapter.is_clock_error(r.error)
    # resync from the venue clock (public, unsigned) and the same call succeeds
    server = await driver.run(adapter.server_time())
    driver.clock_offset_ms = server - now_ms()
    (usdt,) = await driver.run(adapter.fetch_balance())
    assert usdt.asset == "USDT"
    sim.faults.clock_skew(+20_000)  # now the request is older than recvWindow
    with pytest.raises(AuthError) as late:
        await driver.run(adapter.fetch_open_orders(SYM))
    assert adapter.is_clock_error(late.value)


async def test_bad_signature_and_unknown_key_are_auth_errors(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    wrong_secret = Credentials.of(sim.credentials.api_key, "not-the-secret")
    async with FlowDriver(adapter, sim.endpoints, wrong_secret) as bad:
        with pytest.raises(AuthError) as err:
            await bad.run(adapter.fetch_balance())
        assert err.value.code == -1022
        assert not adapter.is_clock_error(err.value)
        r = only(await bad.run(adapter.create_orders([market("0.01")])))
        assert r.status is CommandStatus.REJECTED
        assert isinstance(r.error, AuthError)
    unknown = Credentials.of("A" * 64, "whatever")
    async with FlowDriver(adapter, sim.endpoints, unknown) as anon:
        with pytest.raises(AuthError) as err2:
            await anon.run(adapter.fetch_positions(None))
        assert err2.value.code == -2015
        assert err2.value.http_status == 401
        with pytest.raises(AuthError):  # listenKey needs a valid key too
            await anon.run(adapter.private_session(sim.endpoints, unknown, now_ms(), 5000))
    # no credentials at all: refused before anything is sent
    async with FlowDriver(adapter, sim.endpoints, None) as none:
        with pytest.raises(AuthError):
            await none.run(adapter.fetch_balance())
        assert none.sent == []
    assert sim.engine.all_orders(sim.credentials.api_key) == []


# -- account reads, order variants, venue error bodies, legacy layout -----------------------------


async def test_account_reads_after_fills(
    sim: BinanceSim, driver: FlowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bat_markets.binance import _rest_private as binance_rest_private

    adapter = adapter_of(driver)
    key = sim.credentials.api_key
    await driver.run(adapter.ping())
    assert driver.responses[-1].status == 200
    assert await driver.run(adapter.fetch_position_mode()) is PositionMode.ONE_WAY
    for amount in ("0.010", "0.011", "0.012", "0.013"):
        assert only(await driver.run(adapter.create_orders([market(amount)]))).ok
    fills = sim.engine.fills(key, SYM)
    assert len(fills) >= 4

    balances, positions = await driver.run(adapter.fetch_account())
    (usdt,) = balances
    summary = sim.engine.summary(key)
    fees = sum((f.fee for f in fills), D(0))
    assert usdt.wallet_balance == D(100000) - fees
    assert usdt.equity is not None
    assert usdt.unrealized_pnl is not None
    assert usdt.equity == usdt.wallet_balance + usdt.unrealized_pnl
    assert usdt.unrealized_pnl == summary.unrealized.quantize(usdt.unrealized_pnl)
    assert usdt.available == summary.available.quantize(usdt.wallet_balance)
    (pos,) = positions
    assert pos.symbol == UNIFIED
    assert pos.size == D("0.046")

    income = await driver.run(adapter.fetch_income(SYM))
    commissions = [i for i in income if i.incomeType == "COMMISSION"]
    assert sum((-i.income for i in commissions), D(0)) == fees
    assert {i.tradeId for i in commissions} == {str(f.trade_id) for f in fills}

    # userTrades pagination: startTime first, then fromId pages of (here) 2
    monkeypatch.setattr(binance_rest_private, "_TRADES_PAGE", 2)
    n0 = len(driver.sent)
    trades = await driver.run(adapter.fetch_my_trades(SYM, fills[0].ts, None))
    assert [t.id for t in trades] == [str(f.trade_id) for f in fills]
    assert "startTime" in driver.sent_params(n0)
    assert "fromId" in driver.sent_params(n0 + 1)
    newest = await driver.run(adapter.fetch_my_trades(SYM, None, 2))
    assert [t.id for t in newest] == [str(f.trade_id) for f in fills[-2:]]
    with pytest.raises(Unsupported):
        await driver.run(adapter.fetch_my_trades(None, None, None))

    rate = await driver.run(adapter.fetch_commission_rate(SYM))
    assert (rate.makerCommissionRate, rate.takerCommissionRate) == (D("0.0002"), D("0.0004"))
    (brackets,) = await driver.run(adapter.fetch_leverage_brackets(SYM))
    assert brackets.symbol == SYM
    assert brackets.brackets[0].initialLeverage == 125
    caps = [b.notionalCap for b in brackets.brackets]
    assert caps == sorted(caps)
    assert brackets.brackets[1].notionalFloor == caps[0]
    every = await driver.run(adapter.fetch_leverage_brackets(None))
    assert {b.symbol for b in every} == set(sim.engine.instruments)
    (cfg,) = await driver.run(adapter.fetch_symbol_config(SYM))
    assert (cfg.marginType, cfg.leverage) == ("CROSSED", 20)

    # own liquidations: none yet; a venue autoclose order shows up
    assert await driver.run(adapter.fetch_my_liquidations(SYM)) == []
    from bat_markets.testing.sim import OrderKind, OrderParams

    sim.engine.place_order(
        key,
        OrderParams(
            symbol=SYM,
            side=SimSide.SELL,
            kind=OrderKind.MARKET,
            qty=D("0.046"),
            client_id="autoclose-1795000000000",
            reduce_only=True,
        ),
    )
    (liq,) = await driver.run(adapter.fetch_my_liquidations(SYM, 10))
    assert liq.client_order_id == "autoclose-1795000000000"
    assert liq.status is OrderStatus.FILLED
    assert liq.filled == D("0.046")
    assert await driver.run(adapter.fetch_positions(None)) == []


async def test_time_in_force_and_conditional_variants(sim: BinanceSim, driver: FlowDriver) -> None:
    adapter = adapter_of(driver)
    bid, ask = best(sim)
    cross = limit(str(ask), time_in_force=TimeInForce.POST_ONLY)
    rest = limit(str(bid), cid="bm-po", time_in_force=TimeInForce.POST_ONLY)
    expiry = now_ms() + 3_600_000
    gtd = limit(str(bid - 10), cid="bm-gtd", time_in_force=TimeInForce.GTD, good_till=expiry)
    ioc = limit(str(bid - 10), cid="bm-ioc", time_in_force=TimeInForce.IOC)
    fok = limit(str(ask), amount="100", cid="bm-fok", time_in_force=TimeInForce.FOK)
    receipts = [only(await driver.run(adapter.create_orders([r]))) for r in (cross, rest, gtd, ioc)]
    assert receipts[0].status is CommandStatus.REJECTED
    assert receipts[0].error is not None
    assert receipts[0].error.code == -5022
    assert sent_tif(driver, -4) == "GTX"
    assert receipts[1].order is not None
    assert receipts[1].order.time_in_force is TimeInForce.POST_ONLY
    assert receipts[1].order.status is OrderStatus.NEW
    assert receipts[2].order is not None
    assert receipts[2].order.time_in_force is TimeInForce.GTD
    assert driver.sent_params(-2)["goodTillDate"] == str(expiry)
    assert receipts[3].order is not None
    assert receipts[3].order.status is OrderStatus.EXPIRED
    # FOK that cannot fill at once is rejected (not recorded) — set generous leverage first
    await driver.run(adapter.set_leverage(LeverageRequest(symbol=SYM, leverage=D(125))))
    f = only(await driver.run(adapter.create_orders([fok])))
    assert f.status is CommandStatus.REJECTED
    assert f.error is not None
    assert f.error.code == -5021
    opens = {o.client_order_id for o in await driver.run(adapter.fetch_open_orders(SYM))}
    assert opens == {"bm-po", "bm-gtd"}

    trail = OrderRequest(
        symbol=SYM,
        side=Side.SELL,
        type=OrderType.TRAILING_STOP_MARKET,
        amount=D("0.010"),
        callback_rate=D("1.5"),
        trigger_price=ask + 100,
        client_order_id="bm-trail",
    )
    close_all = OrderRequest(
        symbol=SYM,
        side=Side.SELL,
        type=OrderType.STOP_MARKET,
        amount=None,
        close_position=True,
        trigger_price=bid - 1000,
        client_order_id="bm-closeall",
    )
    t, c = await driver.run(adapter.create_orders([trail, close_all]))
    assert t.ok
    assert c.ok
    assert driver.sent_params(-2)["callbackRate"] == "1.5"
    assert "quantity" not in driver.sent_params()
    assert driver.sent_params()["closePosition"] == "true"
    algo = {
        o.client_order_id: o
        for o in await driver.run(adapter.fetch_open_orders(SYM))
        if o.id.startswith("algo:")
    }
    assert algo["bm-trail"].type is OrderType.TRAILING_STOP_MARKET
    assert algo["bm-trail"].trigger_price == ask + 100
    assert algo["bm-closeall"].close_position
    assert algo["bm-closeall"].trigger_price == bid - 1000


def sent_tif(driver: FlowDriver, index: int) -> str:
    return str(driver.sent_params(index)["timeInForce"])


@pytest.mark.parametrize(
    ("status", "error", "execute", "outcome", "taxonomy"),
    [
        (503, "unavailable", False, CommandStatus.REJECTED, "TemporaryUnavailable"),
        (503, "internal", False, CommandStatus.REJECTED, "TemporaryUnavailable"),
        (503, "overload", False, CommandStatus.REJECTED, "TemporaryUnavailable"),
        (503, "timeout", True, CommandStatus.UNKNOWN, "UnknownExecution"),
        (408, "unavailable", True, CommandStatus.UNKNOWN, "UnknownExecution"),
    ],
)
async def test_venue_error_bodies_on_create(
    sim: BinanceSim,
    driver: FlowDriver,
    status: int,
    error: str,
    execute: bool,
    outcome: CommandStatus,
    taxonomy: str,
) -> None:
    adapter = adapter_of(driver)
    bid, _ = best(sim)
    sim.faults.http_error(status, "/fapi/v1/order", method="POST", error=error, execute=execute)
    r = only(await driver.run(adapter.create_orders([limit(str(bid - 300), cid="bm-err")])))
    assert driver.responses[-1].status == status
    assert r.status is outcome
    assert type(r.error).__name__ == taxonomy
    assert r.error is not None
    assert r.error.retryable is (taxonomy == "TemporaryUnavailable")
    created = sim.engine.open_orders(sim.credentials.api_key, SYM)
    assert [o.client_id for o in created] == (["bm-err"] if execute else [])


async def test_ws_api_order_status_and_raw_command_classification(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    adapter = adapter_of(driver)
    creds = sim.credentials
    bid, _ = best(sim)
    r = only(await driver.run(adapter.create_orders([limit(str(bid - 250), cid="bm-status")])))
    async with connect(sim.endpoints.command_ws or "") as ws:
        frame = adapter.ws_order_status_frame(SYM, None, "bm-status", "st-1", creds, now_ms(), 5000)
        await ws.send(frame)
        reply = await ws.recv()
        assert adapter.ws_reply_id(reply) == "st-1"
        order = adapter.decode_ws_order(reply)
        assert (order.id, order.price, order.status) == (r.order_id, bid - 250, OrderStatus.NEW)
        await ws.send(
            adapter.ws_order_status_frame(SYM, "999", None, "st-2", creds, now_ms(), 5000)
        )
        missing = await ws.recv()
        assert adapter.ws_reply_id(missing) == "st-2"
        with pytest.raises(StateDivergence):
            adapter.decode_ws_order(missing)
        # a raw WS API answer classifies like the command's own decoder
        cancel = adapter.ws_command(
            CommandKind.CANCEL_ORDER,
            [CancelRequest(symbol=SYM, id=r.order_id)],
            "st-3",
            creds,
            now_ms(),
            5000,
        )
        await ws.send(cancel.frame)
        answer = _b(await ws.recv())
    (raw,) = adapter.classify_command_json(CommandKind.CANCEL_ORDER, answer)
    assert raw.status is CommandStatus.ACCEPTED
    assert raw.order_id == r.order_id
    # and a raw REST batch body (one order, one error element)
    flow = adapter.create_orders([limit(str(bid - 260)), limit(str(bid - 260 + D("0.01")))])
    body = await driver.send(next(flow))  # the batch request, answered outside the flow
    flow.close()
    first, second = adapter.classify_command_json(CommandKind.CREATE_ORDER, body.body)
    assert first.status is CommandStatus.ACCEPTED
    assert second.status is CommandStatus.REJECTED
    assert adapter.classify_command_json(CommandKind.CREATE_ORDER, None)[0].status is (
        CommandStatus.UNKNOWN
    )


async def test_legacy_single_path_layout_serves_streams(
    sim: BinanceSim, driver: FlowDriver
) -> None:
    """The testnet/demo layout (``/stream``, ``/ws/<listenKey>``) against the same simulator."""
    from bat_markets.binance._endpoints import LEGACY_PATHS

    adapter = adapter_of(driver)
    ep = sim.endpoints
    legacy = Endpoints(
        rest=ep.rest,
        public_ws=ep.public_ws,
        private_ws=ep.private_ws,
        command_ws=ep.command_ws,
        extra=dict(LEGACY_PATHS),
    )
    url = adapter.public_ws_url(legacy, "market")
    assert url.endswith("/stream")
    session = await driver.run(adapter.private_session(legacy, sim.credentials, now_ms(), 5000))
    assert "/ws/" in session.url
    async with connect(url) as pub, connect(session.url) as priv:
        (trades,) = adapter.public_topics(Channel.TRADES, SYM)
        (depth,) = adapter.public_topics(Channel.ORDER_BOOK, SYM)
        await pub.send(adapter.subscribe_frame([trades.name, depth.name], 5))
        assert isinstance(adapter.decode_public(await pub.recv()), Control)
        sim.step(2)
        kinds: set[str] = set()
        for frame in await until_barrier(pub):
            decoded = adapter.decode_public(frame)
            assert isinstance(decoded, StreamData)
            kinds.update(type(e).__name__ for e in decoded.events)
        assert {"Trade", "BookDeltaEvent"} <= kinds
        # unsubscribing stops the flow
        await pub.send(adapter.unsubscribe_frame([trades.name, depth.name], 6))
        ack = adapter.decode_public(await recv_until(pub, lambda f: b'"id":6' in _b(f)))
        assert isinstance(ack, Control)
        assert ack.req_id == "6"
        sim.step(2)
        assert await until_barrier(pub) == []
        assert only(await driver.run(adapter.create_orders([market("0.01")]))).ok
        frame = await recv_until(priv, lambda f: b"ORDER_TRADE_UPDATE" in _b(f))
        decoded_private = adapter.decode_private(frame)
        assert isinstance(decoded_private, PrivateData)
        assert decoded_private.topic == "ORDER_TRADE_UPDATE"
