"""Contract suite: the Bybit v5 adapter against the Bybit simulator over real loopback sockets.

Both were written independently from PROTOCOLS.md; nothing here uses the client runtime. REST
flows run through ``_flowdriver.FlowDriver`` (prepare → httpx → ``RestResponse`` →
``flow.send``, transport failures thrown into the flow); websocket work uses the adapter's own
frames (``subscribe_frame``, ``private_session``, ``ws_command``...) on plain ``websockets``
connections and its decoders on every frame received. Values are checked against the simulator's
engine state (its books, tape, accounts), never against constants.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import pathlib
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from _flowdriver import FlowDriver, now_ms

from bat_markets.bybit import BybitAdapter
from bat_markets.core import (
    OHLCV,
    AuthError,
    Balance,
    BookDeltaEvent,
    BookSnapshotEvent,
    CancelRequest,
    Channel,
    CommandKind,
    CommandReceipt,
    CommandStatus,
    ConfigError,
    Control,
    Credentials,
    DecodeError,
    EditRequest,
    ExchangeReject,
    FundingRate,
    LeverageRequest,
    Liquidation,
    MarginMode,
    MarginModeRequest,
    MarkPrice,
    MyTrade,
    OpenInterest,
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
    SyncStatus,
    TemporaryUnavailable,
    Ticker,
    Trade,
    TransportError,
    TriggerBy,
    UnknownExecution,
    Unsupported,
)
from bat_markets.testing.sim import FundingRecord
from bat_markets.testing.sim import Side as SimSide
from bat_markets.testing.sim.bybit import BybitSim

D = Decimal
SYM = "BTCUSDT"
USYM = "BTC/USDT:USDT"
ETH = "ETHUSDT"
QTY = D("0.010")


# -- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
async def sim() -> AsyncIterator[BybitSim]:
    async with BybitSim(seed=7, auto_tick=None, depth_levels=300, bbo_repush=None) as s:
        yield s


@pytest.fixture
async def client(sim: BybitSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.endpoints.rest, timeout=5.0) as c:
        yield c


@pytest.fixture
async def adapter(sim: BybitSim, client: httpx.AsyncClient) -> BybitAdapter:
    """An adapter whose catalog was loaded from the simulator (as the runtime does at start)."""
    ad = BybitAdapter()
    ad.markets.replace(await FlowDriver(ad, sim.endpoints, client=client).run(ad.load_markets()))
    return ad


@pytest.fixture
def rest(adapter: BybitAdapter, client: httpx.AsyncClient, sim: BybitSim) -> FlowDriver:
    return FlowDriver(adapter, sim.endpoints, sim.credentials, client=client)


def top(sim: BybitSim, symbol: str = SYM) -> tuple[Decimal, Decimal]:
    """Best bid and ask of the engine book."""
    inst = sim.engine.instruments[symbol]
    book = sim.engine.books[symbol]
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None
    assert ask is not None
    return inst.price_of(bid), inst.price_of(ask)


def below(sim: BybitSim, ticks: int, symbol: str = SYM) -> Decimal:
    """A buy price ``ticks`` below the best bid (rests, never fills on an idle market)."""
    inst = sim.engine.instruments[symbol]
    return top(sim, symbol)[0] - ticks * inst.tick_size


def limit_buy(price: Decimal, amount: Decimal = QTY, **kw: Any) -> OrderRequest:
    return OrderRequest(
        symbol=kw.pop("symbol", SYM),
        side=Side.BUY,
        type=OrderType.LIMIT,
        amount=amount,
        price=price,
        **kw,
    )


def market(side: Side, amount: Decimal = QTY, **kw: Any) -> OrderRequest:
    return OrderRequest(
        symbol=kw.pop("symbol", SYM), side=side, type=OrderType.MARKET, amount=amount, **kw
    )


def statuses(receipts: Sequence[CommandReceipt]) -> list[CommandStatus]:
    return [r.status for r in receipts]


def levels(side: Sequence[Any]) -> list[tuple[Decimal, Decimal]]:
    """Levels (raw string pairs or ``BookLevel``) as Decimal pairs."""
    out: list[tuple[Decimal, Decimal]] = []
    for level in side:
        price, amount = (level.price, level.amount) if hasattr(level, "price") else level
        out.append((D(price), D(amount)))
    return out


def engine_levels(sim: BybitSim, n: int, symbol: str = SYM) -> tuple[list[Any], list[Any]]:
    inst = sim.engine.instruments[symbol]
    bids, asks = sim.engine.books[symbol].depth(n)
    return (
        [(inst.price_of(t), inst.qty_of(s)) for t, s in bids],
        [(inst.price_of(t), inst.qty_of(s)) for t, s in asks],
    )


async def open_orders(rest: FlowDriver, symbol: str | None = SYM) -> list[Order]:
    return await rest.run(rest_adapter(rest).fetch_open_orders(symbol))


def rest_adapter(rest: FlowDriver) -> BybitAdapter:
    assert isinstance(rest.adapter, BybitAdapter)
    return rest.adapter


async def position_legs(rest: FlowDriver, symbol: str = SYM) -> dict[PositionSide, Position]:
    rows = await rest.run(rest_adapter(rest).fetch_positions([symbol]))
    return {p.position_side: p for p in rows}


# -- websocket helpers ----------------------------------------------------------------------------


class Socket:
    """One client websocket; ``decode`` is the adapter decoder for this connection's frames."""

    def __init__(self, conn: ClientConnection, decode: Callable[[bytes], Any]) -> None:
        self.conn = conn
        self.decode = decode

    async def send(self, frame: bytes) -> None:
        await self.conn.send(frame.decode())

    async def raw(self, timeout: float = 3.0) -> bytes:
        msg = await asyncio.wait_for(self.conn.recv(), timeout)
        return msg.encode() if isinstance(msg, str) else msg

    async def until(
        self, pred: Callable[[Any], bool], timeout: float = 3.0
    ) -> tuple[Any, list[Any]]:
        """The first decoded frame matching ``pred`` and every decoded frame before it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        before: list[Any] = []
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no matching frame; got {before!r:.2000}")
            out = self.decode(await self.raw(left))
            if pred(out):
                return out, before
            before.append(out)

    async def sync(self, ping: bytes) -> list[Any]:
        """Everything the server pushed before it answered ``ping`` (a barrier)."""
        await self.send(ping)
        _, before = await self.until(lambda f: isinstance(f, Control) and f.kind == "pong")
        return before


PING = BybitAdapter().heartbeat().frame or b""  # the application ping, on every Bybit socket


@contextlib.asynccontextmanager
async def private_socket(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> AsyncIterator[Socket]:
    """An authenticated private stream opened from ``adapter.private_session``."""
    session = await rest.run(
        adapter.private_session(sim.endpoints, sim.credentials, now_ms(), 5000)
    )
    async with connect(session.url) as conn:
        sock = Socket(conn, adapter.decode_private)
        for frame in session.frames:
            await sock.send(frame)
        auth, _ = await sock.until(is_control("auth"))
        assert auth.ok, auth
        ack, _ = await sock.until(is_control("ack"))
        assert (ack.ok, ack.req_id) == (True, "private"), ack
        yield sock


def is_control(kind: str) -> Callable[[Any], bool]:
    return lambda f: isinstance(f, Control) and f.kind == kind


def events_of(frames: Sequence[Any], cls: type[Any]) -> list[Any]:
    return [
        e
        for f in frames
        if isinstance(f, (StreamData, PrivateData))
        for e in f.events
        if isinstance(e, cls)
    ]


# -- public REST ------------------------------------------------------------------------------------


async def test_server_time_follows_the_venue_clock(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    before = now_ms()
    server = await rest.run(adapter.server_time())
    assert before - 2 <= server <= now_ms() + 2  # the same wall clock, read in between
    sim.faults.clock_skew(7_000)
    before = now_ms()
    skewed = await rest.run(adapter.server_time())
    assert before + 7_000 - 2 <= skewed <= now_ms() + 7_000 + 2
    assert rest.paths() == ["/v5/market/time", "/v5/market/time"]


@pytest.mark.parametrize("page_size", [1000, 1])
async def test_load_markets_follows_the_cursor_and_equals_the_sim_instruments(
    sim: BybitSim, client: httpx.AsyncClient, page_size: int
) -> None:
    with pytest.raises(ConfigError):
        BybitAdapter(markets_page_size=page_size * 1001)
    ad = BybitAdapter(markets_page_size=page_size)
    driver = FlowDriver(ad, sim.endpoints, client=client)
    specs = await driver.run(ad.load_markets())
    assert sorted(s.id for s in specs) == sorted(sim.engine.instruments)
    for spec in specs:
        inst = sim.engine.instruments[spec.id]
        assert spec.symbol == f"{inst.base}/USDT:USDT"
        assert (spec.base, spec.quote, spec.settle) == (inst.base, inst.quote, inst.settle)
        assert spec.tick_size == inst.tick_size
        assert spec.step_size == inst.step_size
        assert spec.min_qty == inst.min_qty
        assert spec.max_qty == inst.max_qty
        assert spec.market_max_qty == inst.max_market_qty
        assert spec.min_notional == inst.min_notional
        assert spec.min_price == inst.min_price
        assert spec.max_price == inst.max_price
        assert spec.max_leverage == inst.max_leverage
        assert spec.onboard_time == inst.onboard_ms
        assert spec.funding_interval_hours == inst.funding_interval_hours
    queries = [h.target for h in driver.sent]
    assert all(q.startswith("/v5/market/instruments-info?category=linear") for q in queries)
    if page_size == 1:
        # Trading: two one-row pages joined by the venue's cursor; PreLaunch and Delivering: one
        # empty page each.
        assert len(queries) == 4
        cursor = msgspec.json.decode(driver.responses[0].body)["result"]["nextPageCursor"]
        assert cursor
        assert f"cursor={cursor}" in queries[1]
        assert "cursor=" not in queries[0]
        assert "status=PreLaunch" in queries[2]
        assert "status=Delivering" in queries[3]
    else:
        assert len(queries) == 3


async def test_tickers_mark_funding_and_open_interest_match_the_engine(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    sim.step(3)
    mkt = sim.engine.markets[SYM]
    inst = sim.engine.instruments[SYM]
    bid, ask = top(sim)
    ticker = await rest.run(adapter.fetch_ticker(SYM))
    assert ticker.symbol == USYM
    assert ticker.last == mkt.last_price
    assert (ticker.bid, ticker.ask) == (bid, ask)
    assert ticker.mark_price == mkt.mark_price.quantize(inst.tick_size)
    assert ticker.index_price == mkt.index_price.quantize(inst.tick_size)
    assert ticker.funding_rate == mkt.funding_rate
    assert ticker.next_funding_time == mkt.next_funding_ms
    assert ticker.open_interest == sim.engine.open_interest(SYM)
    everything = await rest.run(adapter.fetch_tickers(None))
    assert sorted(t.symbol for t in everything) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    chosen = await rest.run(adapter.fetch_tickers([ETH, SYM]))
    assert [t.symbol for t in chosen] == ["ETH/USDT:USDT", USYM]
    assert chosen[0].last == sim.engine.markets[ETH].last_price
    mark = await rest.run(adapter.fetch_mark_price(SYM))
    assert mark.mark_price == ticker.mark_price
    assert mark.index_price == ticker.index_price
    funding = await rest.run(adapter.fetch_funding_rate(SYM))
    assert funding.funding_rate == mkt.funding_rate
    assert funding.funding_time == mkt.next_funding_ms
    assert funding.interval_hours == inst.funding_interval_hours
    oi = await rest.run(adapter.fetch_open_interest(SYM))
    assert oi.amount == sim.engine.open_interest(SYM)
    assert oi.value is not None
    assert oi.value > 0


async def test_rest_order_book_equals_the_engine_book(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    sim.step(2)
    snap = await rest.run(adapter.fetch_order_book(SYM, 50))
    bids, asks = engine_levels(sim, 50)
    assert snap.symbol == USYM
    assert snap.source == "rest"
    assert levels(snap.bids) == bids
    assert levels(snap.asks) == asks
    assert len(bids) == 50
    assert snap.update_id is not None
    default = await rest.run(adapter.fetch_order_book(SYM, None))
    assert len(default.bids) == len(default.asks) == 25  # the venue default depth
    with pytest.raises(Unsupported):
        next(adapter.fetch_order_book(SYM, 1001))


async def test_ohlcv_pages_backward_and_forward(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    candles = sim.engine.markets[SYM].candles
    latest = await rest.run(adapter.fetch_ohlcv(SYM, "1m", None, None, 1200))
    assert len(latest) == 1200
    assert rest.paths().count("/v5/market/kline") == 2  # 1000 + 200, newest first
    times = [c.open_time for c in latest]
    assert [c.closed for c in latest[-2:]] == [True, False]  # the current minute is still open
    assert times == list(range(times[0], times[0] + 1200 * 60_000, 60_000))
    now = sim.engine.now()
    assert times[-1] == now - now % 60_000
    for c in latest:
        ref = candles.get(c.open_time)
        if ref is not None and c.closed:
            assert (c.open, c.high, c.low, c.close, c.volume) == (
                ref.open,
                ref.high,
                ref.low,
                ref.close,
                ref.volume,
            )
            assert c.close_time == c.open_time + 59_999
    rest.clear()
    since = min(candles) + 30 * 60_000
    window = await rest.run(adapter.fetch_ohlcv(SYM, "1m", since, None, 1100))
    assert [c.open_time for c in window] == list(range(since, since + 1100 * 60_000, 60_000))
    assert rest.paths().count("/v5/market/kline") >= 2
    assert all(c.open == candles[c.open_time].open for c in window)
    hourly = await rest.run(adapter.fetch_ohlcv(SYM, "1h", None, None, 10))
    assert len(hourly) == 10
    assert all(b.open_time - a.open_time == 3_600_000 for a, b in itertools.pairwise(hourly))
    assert {c.interval for c in hourly} == {"1h"}


async def test_funding_history_pages_backward_and_forward(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    history = sim.engine.markets[SYM].funding_history
    interval = 8 * 3_600_000
    oldest = history[0]
    # The venue has 450 settlements: seed older ones before the generator's 30.
    older = [
        FundingRecord(SYM, D(k) / D(1_000_000), oldest.time_ms - k * interval, oldest.mark_price)
        for k in range(420, 0, -1)
    ]
    history[:0] = older
    assert len(history) == 450
    expected = [(r.time_ms, r.rate) for r in history]

    newest = await rest.run(adapter.fetch_funding_rate_history(SYM, None, None))
    assert [(f.timestamp, f.funding_rate) for f in newest] == expected[-200:]
    assert rest.paths() == ["/v5/market/funding/history"]
    rest.clear()
    everything = await rest.run(adapter.fetch_funding_rate_history(SYM, None, 450))
    assert [(f.timestamp, f.funding_rate) for f in everything] == expected
    assert len(rest.sent) == 3  # 200 + 200 + 50, walking endTime backward
    assert all(f.interval_hours == 8 and f.symbol == USYM for f in everything)
    rest.clear()
    since = expected[10][0]
    forward = await rest.run(adapter.fetch_funding_rate_history(SYM, since, None))
    assert [(f.timestamp, f.funding_rate) for f in forward] == expected[10:]
    assert len(rest.sent) >= 3  # 200-settlement windows from ``since`` up to now
    assert all("startTime=" in h.target and "endTime=" in h.target for h in rest.sent)


async def test_recent_trades_match_the_tape(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    sim.step(5)
    tape = list(sim.engine.markets[SYM].trades)[-20:]
    trades = await rest.run(adapter.fetch_trades(SYM, None, 20))
    assert [t.id for t in trades] == [sim.bridge.ids.trade(SYM, t.trade_id) for t in tape]
    assert [(t.price, t.amount, t.timestamp) for t in trades] == [
        (t.price, t.qty, t.ts) for t in tape
    ]
    assert [t.side for t in trades] == [Side.SELL if t.buyer_is_maker else Side.BUY for t in tape]


async def test_open_interest_history_and_no_liquidation_rest(
    adapter: BybitAdapter, rest: FlowDriver, sim: BybitSim
) -> None:
    history = await rest.run(adapter.fetch_open_interest_history(SYM, "1h", 5))
    assert len(history) == 5
    assert all(b.timestamp - a.timestamp == 3_600_000 for a, b in itertools.pairwise(history))
    assert history[-1].amount == sim.engine.open_interest(SYM)
    with pytest.raises(Unsupported):
        adapter.fetch_liquidations(SYM, None, None)
    assert rest.paths() == ["/v5/market/open-interest"]


# -- orders and account (REST) --------------------------------------------------------------------


async def test_limit_order_create_amend_cancel_round_trip(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    price = below(sim, 40)
    [created] = await rest.run(
        adapter.create_orders([limit_buy(price, client_order_id="j-life-1")])
    )
    assert created.status is CommandStatus.ACCEPTED
    assert created.kind is CommandKind.CREATE_ORDER
    assert created.client_order_id == "j-life-1"
    assert created.symbol == USYM
    assert created.order_id
    assert rest.requests[-1].json is not None
    assert rest.requests[-1].json["positionIdx"] == 0

    [listed] = await open_orders(rest)
    assert (listed.id, listed.client_order_id) == (created.order_id, "j-life-1")
    assert (listed.price, listed.amount, listed.filled) == (price, QTY, D(0))
    assert (listed.side, listed.type, listed.status) == (Side.BUY, OrderType.LIMIT, OrderStatus.NEW)
    assert listed.position_side is PositionSide.BOTH
    by_client = await rest.run(adapter.fetch_order(SYM, None, "j-life-1"))
    by_id = await rest.run(adapter.fetch_order(SYM, created.order_id, None))
    assert by_client == by_id == listed

    new_price = price - 10 * sim.engine.instruments[SYM].tick_size
    [edited] = await rest.run(
        adapter.edit_orders([EditRequest(symbol=SYM, client_order_id="j-life-1", price=new_price)])
    )
    assert edited.status is CommandStatus.ACCEPTED
    assert edited.order_id == created.order_id
    [moved] = await open_orders(rest)
    assert (moved.id, moved.price, moved.amount) == (created.order_id, new_price, QTY)

    [cancelled] = await rest.run(
        adapter.cancel_orders([CancelRequest(symbol=SYM, id=created.order_id)])
    )
    assert cancelled.status is CommandStatus.ACCEPTED
    assert cancelled.order_id == created.order_id
    assert await open_orders(rest) == []
    final = await rest.run(adapter.fetch_order(SYM, created.order_id, None))
    assert final.status is OrderStatus.CANCELED
    assert final.venue_status == "Cancelled"
    [again] = await rest.run(
        adapter.cancel_orders([CancelRequest(symbol=SYM, id=created.order_id)])
    )
    assert again.status is CommandStatus.REJECTED
    assert isinstance(again.error, StateDivergence)
    assert again.error.code == 110001
    history = await rest.run(adapter.fetch_orders_history(SYM, None, None))
    assert [(o.id, o.status) for o in history] == [(created.order_id, OrderStatus.CANCELED)]
    with pytest.raises(StateDivergence):
        await rest.run(adapter.fetch_order(SYM, None, "j-never-sent"))
    assert rest.paths()[-2:] == ["/v5/order/realtime", "/v5/order/history"]


async def test_market_fills_move_position_entry_balance_and_trades(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    legs = await position_legs(rest)
    assert legs[PositionSide.BOTH].size == 0
    assert legs[PositionSide.BOTH].entry_price is None
    [first] = await rest.run(adapter.create_orders([market(Side.BUY, D("0.010"))]))
    [second] = await rest.run(adapter.create_orders([market(Side.BUY, D("0.005"))]))
    assert statuses([first, second]) == [CommandStatus.ACCEPTED] * 2
    fills = await rest.run(adapter.fetch_my_trades(SYM, None, None))
    assert {f.order_id for f in fills} == {first.order_id, second.order_id}
    assert sum(f.amount for f in fills) == D("0.015")
    assert all(f.side is Side.BUY and f.fee is not None and f.fee > 0 for f in fills)
    vwap = sum(f.price * f.amount for f in fills) / D("0.015")
    pos = (await position_legs(rest))[PositionSide.BOTH]
    assert pos.size == D("0.015")
    assert pos.entry_price is not None
    assert abs(pos.entry_price - vwap) < D("0.01")
    assert pos.symbol == USYM
    [usdt] = [b for b in await rest.run(adapter.fetch_balance()) if b.asset == "USDT"]
    fees = sum(f.fee or 0 for f in fills)
    assert usdt.wallet_balance == D(100000) - fees
    assert usdt.available is not None
    assert usdt.available < usdt.wallet_balance  # position margin is in use
    filled = await rest.run(adapter.fetch_order(SYM, first.order_id, None))
    assert (filled.status, filled.filled, filled.type) == (
        OrderStatus.FILLED,
        D("0.010"),
        OrderType.MARKET,
    )
    assert filled.average_price == sum(
        f.price * f.amount for f in fills if f.order_id == first.order_id
    ) / D("0.010")

    # Selling 0.025 closes the long and opens a 0.010 short (one-way: the size turns negative).
    [flip] = await rest.run(adapter.create_orders([market(Side.SELL, D("0.025"))]))
    assert flip.status is CommandStatus.ACCEPTED
    short = (await position_legs(rest))[PositionSide.BOTH]
    assert short.size == D("-0.010")
    assert short.side is Side.SELL
    flip_fills = [
        f
        for f in await rest.run(adapter.fetch_my_trades(SYM, None, None))
        if f.order_id == flip.order_id
    ]
    assert sum(f.amount for f in flip_fills) == D("0.025")
    assert short.entry_price == flip_fills[-1].price
    to_close, expected_pnl = D("0.015"), D(0)
    for f in flip_fills:  # the first 0.015 sold closes the long at its entry price
        closing = min(to_close, f.amount)
        expected_pnl += (f.price - pos.entry_price) * closing
        to_close -= closing
    assert sum(f.realized_pnl or 0 for f in flip_fills) == expected_pnl

    [close] = await rest.run(
        adapter.create_orders([market(Side.BUY, D("0.010"), reduce_only=True)])
    )
    assert close.status is CommandStatus.ACCEPTED
    assert rest.requests[-1].json is not None
    assert rest.requests[-1].json["reduceOnly"] is True
    flat = (await position_legs(rest))[PositionSide.BOTH]
    assert flat.size == 0
    assert flat.entry_price is None
    everything = await rest.run(adapter.fetch_my_trades(None, now_ms() - 8 * 86_400_000, None))
    assert [f.order_id for f in everything] == [
        first.order_id,
        second.order_id,
        flip.order_id,
        close.order_id,
    ]
    [usdt] = [b for b in await rest.run(adapter.fetch_balance()) if b.asset == "USDT"]
    assert usdt.wallet_balance == D(100000) + sum(
        (f.realized_pnl or 0) - (f.fee or 0) for f in everything
    )
    history = await rest.run(adapter.fetch_orders_history(SYM, now_ms() - 8 * 86_400_000, None))
    assert [(o.id, o.status) for o in history] == [
        (r.order_id, OrderStatus.FILLED) for r in (first, second, flip, close)
    ]
    # A reduce-only order with nothing to reduce is refused by the venue.
    [refused] = await rest.run(
        adapter.create_orders([market(Side.SELL, D("0.001"), reduce_only=True)])
    )
    assert refused.status is CommandStatus.REJECTED
    assert isinstance(refused.error, ExchangeReject)


async def test_cancel_all_orders_per_symbol_and_for_every_contract(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    btc = await rest.run(
        adapter.create_orders([limit_buy(below(sim, 30)), limit_buy(below(sim, 31))])
    )
    [eth] = await rest.run(
        adapter.create_orders([limit_buy(below(sim, 30, ETH), D("0.100"), symbol=ETH)])
    )
    assert statuses([*btc, eth]) == [CommandStatus.ACCEPTED] * 3
    cancelled = await rest.run(adapter.cancel_all_orders(SYM))
    assert sorted((r.order_id, r.client_order_id) for r in cancelled) == sorted(
        (r.order_id, r.client_order_id) for r in btc
    )
    assert all(r.status is CommandStatus.ACCEPTED and r.symbol == USYM for r in cancelled)
    assert await open_orders(rest, SYM) == []
    assert [o.id for o in await open_orders(rest, None)] == [eth.order_id]
    [rest_of_them] = await rest.run(adapter.cancel_all_orders(None))
    assert (rest_of_them.order_id, rest_of_them.client_order_id) == (
        eth.order_id,
        eth.client_order_id,
    )
    assert rest.requests[-1].json == {"category": "linear", "settleCoin": "USDT"}
    assert await open_orders(rest, None) == []
    [nothing] = await rest.run(adapter.cancel_all_orders(None))
    assert nothing.status is CommandStatus.ACCEPTED
    assert nothing.order_id is None


async def test_batches_give_per_item_receipts_and_chunk_at_twenty(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    tick = sim.engine.instruments[SYM].tick_size
    good1, good2 = below(sim, 50), below(sim, 51)
    off_tick = below(sim, 52) + tick / 2  # not a multiple of the tick: the venue refuses it
    receipts = await rest.run(
        adapter.create_orders(
            [
                limit_buy(good1, client_order_id="j-b-1"),
                limit_buy(off_tick, client_order_id="j-b-2"),
                limit_buy(good2, client_order_id="j-b-3"),
            ]
        )
    )
    assert rest.paths()[-1] == "/v5/order/create-batch"
    assert statuses(receipts) == [
        CommandStatus.ACCEPTED,
        CommandStatus.REJECTED,
        CommandStatus.ACCEPTED,
    ]
    assert [r.client_order_id for r in receipts] == ["j-b-1", "j-b-2", "j-b-3"]
    assert isinstance(receipts[1].error, ExchangeReject)
    assert receipts[1].error.code == 10001
    assert receipts[1].order_id is None
    live = {o.client_order_id: o for o in await open_orders(rest)}
    assert set(live) == {"j-b-1", "j-b-3"}
    assert live["j-b-1"].id == receipts[0].order_id
    assert live["j-b-3"].price == good2

    edits = await rest.run(
        adapter.edit_orders(
            [
                EditRequest(symbol=SYM, client_order_id="j-b-1", price=good1 - tick),
                EditRequest(symbol=SYM, client_order_id="j-b-2", price=good1 - tick),
                EditRequest(symbol=SYM, id=receipts[2].order_id, amount=D("0.020")),
            ]
        )
    )
    assert rest.paths()[-1] == "/v5/order/amend-batch"
    assert statuses(edits) == [
        CommandStatus.ACCEPTED,
        CommandStatus.REJECTED,
        CommandStatus.ACCEPTED,
    ]
    assert isinstance(edits[1].error, StateDivergence)  # 110001: never existed
    live = {o.client_order_id: o for o in await open_orders(rest)}
    assert live["j-b-1"].price == good1 - tick
    assert live["j-b-3"].amount == D("0.020")

    cancels = await rest.run(
        adapter.cancel_orders(
            [
                CancelRequest(symbol=SYM, client_order_id="j-b-3"),
                CancelRequest(symbol=SYM, client_order_id="j-b-2"),
                CancelRequest(symbol=SYM, id=receipts[0].order_id),
            ]
        )
    )
    assert rest.paths()[-1] == "/v5/order/cancel-batch"
    assert statuses(cancels) == [
        CommandStatus.ACCEPTED,
        CommandStatus.REJECTED,
        CommandStatus.ACCEPTED,
    ]
    assert await open_orders(rest) == []

    rest.clear()
    sim.limits.endpoint["/v5/order/create-batch"] = 100  # batches are charged per order
    many = await rest.run(adapter.create_orders([limit_buy(below(sim, 60 + i)) for i in range(55)]))
    assert rest.paths() == ["/v5/order/create-batch"] * 3  # 20 + 20 + 15
    assert statuses(many) == [CommandStatus.ACCEPTED] * 55
    rest.clear()
    listed = await open_orders(rest)
    assert sorted(o.id for o in listed) == sorted(r.order_id or "" for r in many)
    assert rest.paths() == ["/v5/order/realtime"] * 2  # 50 + 5, following the cursor
    assert "cursor=" in rest.sent[1].target
    cancelled = await rest.run(adapter.cancel_all_orders(SYM))
    assert sorted(r.order_id or "" for r in cancelled) == sorted(o.id for o in listed)


async def test_leverage_is_set_then_a_repeat_is_a_noop(
    adapter: BybitAdapter, rest: FlowDriver
) -> None:
    first = await rest.run(adapter.set_leverage(LeverageRequest(symbol=SYM, leverage=D(7))))
    assert (first.status, first.noop, first.symbol) == (CommandStatus.ACCEPTED, False, USYM)
    assert rest.requests[-1].json == {
        "category": "linear",
        "symbol": SYM,
        "buyLeverage": "7",
        "sellLeverage": "7",
    }
    repeat = await rest.run(adapter.set_leverage(LeverageRequest(symbol=SYM, leverage=D(7))))
    assert (repeat.status, repeat.noop) == (CommandStatus.ACCEPTED, True)
    assert (await position_legs(rest))[PositionSide.BOTH].leverage == 7
    too_high = await rest.run(adapter.set_leverage(LeverageRequest(symbol=SYM, leverage=D(500))))
    assert too_high.status is CommandStatus.REJECTED
    assert isinstance(too_high.error, ExchangeReject)
    assert (await position_legs(rest))[PositionSide.BOTH].leverage == 7


async def test_hedge_mode_orders_open_and_close_both_legs(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    hedge = PositionModeRequest(symbol=SYM, position_mode=PositionMode.HEDGE)
    switched = await rest.run(adapter.set_position_mode(hedge))
    assert (switched.status, switched.noop) == (CommandStatus.ACCEPTED, False)
    assert rest.requests[-1].json == {"category": "linear", "symbol": SYM, "mode": 3}
    repeat = await rest.run(adapter.set_position_mode(hedge))
    assert (repeat.status, repeat.noop) == (CommandStatus.ACCEPTED, True)

    [one_way] = await rest.run(adapter.create_orders([market(Side.BUY)]))
    assert one_way.status is CommandStatus.REJECTED
    assert isinstance(one_way.error, StateDivergence)  # 10001 position idx not match
    opened = await rest.run(
        adapter.create_orders(
            [
                market(Side.BUY, D("0.020"), position_side=PositionSide.LONG),
                market(Side.SELL, D("0.010"), position_side=PositionSide.SHORT),
            ]
        )
    )
    assert statuses(opened) == [CommandStatus.ACCEPTED] * 2
    sent = rest.requests[-1].json
    assert sent is not None
    request: list[dict[str, Any]] = sent["request"]  # type: ignore[assignment]
    assert [item["positionIdx"] for item in request] == [1, 2]
    legs = await position_legs(rest)
    assert set(legs) == {PositionSide.LONG, PositionSide.SHORT}
    assert (legs[PositionSide.LONG].size, legs[PositionSide.SHORT].size) == (D("0.020"), D("0.010"))
    assert legs[PositionSide.LONG].side is Side.BUY
    assert legs[PositionSide.SHORT].side is Side.SELL

    [close_long] = await rest.run(
        adapter.create_orders(
            [market(Side.SELL, D("0.020"), position_side=PositionSide.LONG, reduce_only=True)]
        )
    )
    assert close_long.status is CommandStatus.ACCEPTED
    legs = await position_legs(rest)
    assert (legs[PositionSide.LONG].size, legs[PositionSide.SHORT].size) == (D(0), D("0.010"))
    [close_short] = await rest.run(
        adapter.create_orders(
            [market(Side.BUY, D("0.010"), position_side=PositionSide.SHORT, reduce_only=True)]
        )
    )
    assert close_short.status is CommandStatus.ACCEPTED
    legs = await position_legs(rest)
    assert (legs[PositionSide.LONG].size, legs[PositionSide.SHORT].size) == (D(0), D(0))
    back = await rest.run(
        adapter.set_position_mode(
            PositionModeRequest(symbol=SYM, position_mode=PositionMode.ONE_WAY)
        )
    )
    assert (back.status, back.noop) == (CommandStatus.ACCEPTED, False)
    assert set(await position_legs(rest)) == {PositionSide.BOTH}


async def test_position_mode_switch_is_refused_with_a_position(
    adapter: BybitAdapter, rest: FlowDriver
) -> None:
    await rest.run(adapter.create_orders([market(Side.BUY)]))
    refused = await rest.run(
        adapter.set_position_mode(
            PositionModeRequest(symbol=None, position_mode=PositionMode.HEDGE)
        )
    )
    assert rest.requests[-1].json == {"category": "linear", "coin": "USDT", "mode": 3}
    assert refused.status is CommandStatus.REJECTED
    assert isinstance(refused.error, ExchangeReject)
    assert refused.error.code == 110024


async def test_conditional_orders_are_placed_amended_and_triggered(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    inst = sim.engine.instruments[SYM]
    last = sim.engine.markets[SYM].last_price
    stop_price = last + 200 * inst.tick_size
    tp_price = last + 300 * inst.tick_size
    async with private_socket(sim, adapter, rest) as sock:
        placed = await rest.run(
            adapter.create_orders(
                [
                    OrderRequest(
                        symbol=SYM,
                        side=Side.BUY,
                        type=OrderType.STOP_MARKET,
                        amount=QTY,
                        trigger_price=stop_price,
                        client_order_id="j-stop",
                    ),
                    OrderRequest(
                        symbol=SYM,
                        side=Side.SELL,
                        type=OrderType.TAKE_PROFIT_LIMIT,
                        amount=QTY,
                        price=tp_price,
                        trigger_price=tp_price,
                        trigger_by=TriggerBy.MARK_PRICE,
                        client_order_id="j-tp",
                    ),
                ]
            )
        )
        assert statuses(placed) == [CommandStatus.ACCEPTED] * 2
        body = rest.requests[-1].json
        assert body is not None
        items: list[dict[str, Any]] = body["request"]  # type: ignore[assignment]
        assert [(i["triggerDirection"], i["triggerBy"], i["orderType"]) for i in items] == [
            (1, "LastPrice", "Market"),
            (1, "MarkPrice", "Limit"),
        ]
        live = {o.client_order_id: o for o in await open_orders(rest)}
        stop, tp = live["j-stop"], live["j-tp"]
        assert (stop.type, stop.status, stop.venue_status) == (
            OrderType.STOP_MARKET,
            OrderStatus.NEW,
            "Untriggered",
        )
        assert (stop.trigger_price, stop.trigger_by, stop.id) == (
            stop_price,
            TriggerBy.LAST_PRICE,
            placed[0].order_id,
        )
        assert (tp.type, tp.trigger_price, tp.price, tp.trigger_by) == (
            OrderType.TAKE_PROFIT_LIMIT,
            tp_price,
            tp_price,
            TriggerBy.MARK_PRICE,
        )
        pushed = events_of(await sock.sync(PING), Order)
        assert {(o.client_order_id, o.venue_status) for o in pushed} == {
            ("j-stop", "Untriggered"),
            ("j-tp", "Untriggered"),
        }
        [moved] = await rest.run(
            adapter.edit_orders([EditRequest(symbol=SYM, id=tp.id, trigger_price=tp_price + 1)])
        )
        assert moved.status is CommandStatus.ACCEPTED
        amended = await rest.run(adapter.fetch_order(SYM, tp.id, None))
        # still the same venue order: id, client id and creation time are kept
        assert (amended.id, amended.client_order_id, amended.created_at) == (
            tp.id,
            "j-tp",
            tp.created_at,
        )
        assert amended.trigger_price == tp_price + 1
        [gone] = await rest.run(adapter.cancel_orders([CancelRequest(symbol=SYM, id=tp.id)]))
        assert gone.status is CommandStatus.ACCEPTED
        pushed = events_of(await sock.sync(PING), Order)
        assert [(o.id, o.trigger_price, o.status) for o in pushed] == [
            (tp.id, tp_price + 1, OrderStatus.NEW),
            (tp.id, tp_price + 1, OrderStatus.CANCELED),
        ]
        assert pushed[-1].venue_status == "Deactivated"

        # Someone buys through the stop: it triggers and its market order fills.
        ask = top(sim)[1]
        steps = 0
        book = sim.engine.books[SYM]
        for ticks in range(inst.ticks(ask) or 0, (inst.ticks(stop_price) or 0) + 5):
            level = book.asks.get(ticks)
            steps += level.total if level is not None else 0
        sim.engine.taker(SYM, SimSide.BUY, steps + 1)
        assert sim.engine.markets[SYM].last_price >= stop_price
        pushed = events_of(await sock.sync(PING), Order)
        assert [(o.id, o.status) for o in pushed] == [
            (stop.id, OrderStatus.TRIGGERED),
            (stop.id, OrderStatus.NEW),
            (stop.id, OrderStatus.FILLED),
        ]
    done = await rest.run(adapter.fetch_order(SYM, None, "j-stop"))
    assert (done.id, done.created_at, done.type) == (
        stop.id,
        stop.created_at,
        OrderType.STOP_MARKET,
    )
    assert (done.status, done.filled) == (OrderStatus.FILLED, QTY)
    assert (await position_legs(rest))[PositionSide.BOTH].size == QTY
    assert await open_orders(rest) == []


async def test_margin_mode_is_account_wide(adapter: BybitAdapter, rest: FlowDriver) -> None:
    with pytest.raises(Unsupported):
        adapter.set_margin_mode(MarginModeRequest(symbol=SYM, margin_mode=MarginMode.ISOLATED))
    isolated = await rest.run(
        adapter.set_margin_mode(MarginModeRequest(symbol=None, margin_mode=MarginMode.ISOLATED))
    )
    assert isolated.status is CommandStatus.ACCEPTED
    assert rest.requests[-1].json == {"setMarginMode": "ISOLATED_MARGIN"}
    assert (await position_legs(rest))[PositionSide.BOTH].margin_mode is MarginMode.ISOLATED
    assert (await position_legs(rest, ETH))[PositionSide.BOTH].margin_mode is MarginMode.ISOLATED
    await rest.run(adapter.create_orders([market(Side.BUY)]))
    refused = await rest.run(
        adapter.set_margin_mode(MarginModeRequest(symbol=None, margin_mode=MarginMode.CROSS))
    )
    assert refused.status is CommandStatus.REJECTED
    assert isinstance(refused.error, ExchangeReject)
    assert "3400214" in refused.error.message  # the venue's ``result.reasons`` are kept


async def test_validate_order_is_local(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    tick = sim.engine.instruments[SYM].tick_size
    ok = await rest.run(adapter.validate_order(limit_buy(below(sim, 10))))
    bad = await rest.run(adapter.validate_order(limit_buy(below(sim, 10) + tick / 2, D("0.0005"))))
    small = await rest.run(adapter.validate_order(limit_buy(below(sim, 10), D("0.001"))))
    assert ok.status is CommandStatus.ACCEPTED
    assert bad.status is CommandStatus.REJECTED
    assert isinstance(bad.error, ConfigError)
    assert "tick" in bad.error.message
    assert "step" in bad.error.message
    assert small.status is CommandStatus.REJECTED  # 0.001 BTC is below the 100 USDT minimum
    assert "notional" in str(small.error)
    assert rest.sent == []


# -- faults (REST) -------------------------------------------------------------------------------


async def test_lost_write_responses_give_unknown_receipts_while_the_orders_execute(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    sim.faults.drop_response("/v5/order/create")  # executes, then the connection is reset
    [lost] = await rest.run(
        adapter.create_orders([limit_buy(below(sim, 20), client_order_id="j-drop")])
    )
    assert lost.status is CommandStatus.UNKNOWN
    assert isinstance(lost.error, UnknownExecution)
    assert isinstance(lost.error.__cause__, TransportError)
    assert (lost.client_order_id, lost.symbol) == ("j-drop", USYM)
    found = await rest.run(adapter.fetch_order(SYM, None, "j-drop"))
    assert (found.status, found.client_order_id) == (OrderStatus.NEW, "j-drop")

    # 10016 after the venue executed the order: also UNKNOWN, never REJECTED.
    sim.faults.http_error(200, "/v5/order/create", error="internal", execute=True)
    [internal] = await rest.run(
        adapter.create_orders([limit_buy(below(sim, 21), client_order_id="j-10016")])
    )
    assert internal.status is CommandStatus.UNKNOWN
    assert isinstance(internal.error, UnknownExecution)
    assert internal.error.code == 10016
    assert (await rest.run(adapter.fetch_order(SYM, None, "j-10016"))).status is OrderStatus.NEW

    # One failed chunk of a large batch does not lose the others' outcomes.
    sim.limits.endpoint["/v5/order/create-batch"] = 100
    sim.faults.drop_response("/v5/order/create-batch", count=1)
    chunked = await rest.run(
        adapter.create_orders([limit_buy(below(sim, 30 + i)) for i in range(21)])
    )
    assert statuses(chunked) == [CommandStatus.UNKNOWN] * 20 + [CommandStatus.ACCEPTED]
    assert all(r.client_order_id for r in chunked)
    assert len(await open_orders(rest)) == 23  # every order reached the book

    # A read that fails in transport propagates (reads are retried by the runtime, not here).
    sim.faults.drop_response("/v5/order/realtime")
    with pytest.raises(TransportError):
        await open_orders(rest)
    sim.faults.http_error(503, "/v5/position/list")
    with pytest.raises(TemporaryUnavailable):
        await position_legs(rest)


async def test_a_write_that_times_out_is_unknown(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    [order] = await rest.run(adapter.create_orders([limit_buy(below(sim, 20))]))
    sim.faults.timeout("/v5/order/cancel")  # executed, never answered
    async with FlowDriver(adapter, sim.endpoints, sim.credentials, timeout_s=0.3) as driver:
        [cancel] = await driver.run(
            adapter.cancel_orders([CancelRequest(symbol=SYM, id=order.order_id)])
        )
    assert cancel.status is CommandStatus.UNKNOWN
    assert isinstance(cancel.error, UnknownExecution)
    assert cancel.order_id == order.order_id
    assert await open_orders(rest) == []  # it did execute


async def test_rate_limits_become_rate_limited_with_retry_after(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    sim.faults.rate_limit(1)
    with pytest.raises(RateLimited) as read_err:
        await open_orders(rest)
    assert read_err.value.code == 10006
    assert read_err.value.retry_after is not None
    assert 0.5 <= read_err.value.retry_after <= 1.0  # the venue's reset timestamp, 1 s window

    sim.faults.rate_limit(1)
    [limited] = await rest.run(adapter.create_orders([limit_buy(below(sim, 20))]))
    assert limited.status is CommandStatus.REJECTED  # 10006 is a definite refusal
    assert isinstance(limited.error, RateLimited)
    assert limited.error.retry_after is not None
    assert limited.error.retry_after > 0
    assert await open_orders(rest) == []

    # The real per-UID budget: a batch over it succeeds for its first orders only.
    sim.limits.endpoint["/v5/order/create-batch"] = 5
    batch = await rest.run(adapter.create_orders([limit_buy(below(sim, 30 + i)) for i in range(8)]))
    assert statuses(batch) == [CommandStatus.ACCEPTED] * 5 + [CommandStatus.REJECTED] * 3
    assert all(isinstance(r.error, RateLimited) for r in batch[5:])
    usage = adapter.parse_rate_limits(rest.responses[-1].headers, "POST /v5/order/create-batch")
    assert [(u.key, u.limit, u.remaining) for u in usage] == [("POST /v5/order/create-batch", 5, 0)]
    assert len(await open_orders(rest)) == 5

    # The IP limit: HTTP 403 "access too frequent", no request goes through for a long time.
    sim.faults.ban(1.0)
    with pytest.raises(RateLimited) as banned:
        await rest.run(adapter.server_time())
    assert banned.value.http_status == 403
    assert banned.value.retry_after is not None
    assert banned.value.retry_after >= 600


async def test_clock_skew_gives_a_clock_error_until_the_offset_is_applied(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    sim.faults.clock_skew(-30_000)  # the venue is 30 s behind: our timestamps are in its future
    with pytest.raises(AuthError) as read_err:
        await rest.run(adapter.fetch_balance())
    assert read_err.value.code == 10002
    assert adapter.is_clock_error(read_err.value)
    assert read_err.value.retryable
    [write] = await rest.run(adapter.create_orders([limit_buy(below(sim, 20))]))
    assert write.status is CommandStatus.REJECTED
    assert write.error is not None
    assert adapter.is_clock_error(write.error)
    assert adapter.is_clock_error(adapter.classify_http_error(rest.responses[-1]) or AuthError("x"))

    server = await rest.run(adapter.server_time())
    rest.clock_offset_ms = server - now_ms()
    [usdt] = await rest.run(adapter.fetch_balance())
    assert usdt.wallet_balance == D(100000)
    [placed] = await rest.run(adapter.create_orders([limit_buy(below(sim, 20))]))
    assert placed.status is CommandStatus.ACCEPTED


async def test_bad_credentials_are_auth_errors(
    sim: BybitSim, adapter: BybitAdapter, client: httpx.AsyncClient
) -> None:
    key = sim.credentials.api_key
    wrong_secret = FlowDriver(
        adapter, sim.endpoints, Credentials.of(key, "not-the-secret"), client=client
    )
    with pytest.raises(AuthError) as bad_sign:
        await wrong_secret.run(adapter.fetch_balance())
    assert bad_sign.value.code == 10004
    assert not adapter.is_clock_error(bad_sign.value)
    [refused] = await wrong_secret.run(adapter.create_orders([limit_buy(below(sim, 20))]))
    assert refused.status is CommandStatus.REJECTED
    assert isinstance(refused.error, AuthError)
    assert refused.error.code == 10004
    assert sim.engine.open_orders(key) == []

    unknown_key = FlowDriver(
        adapter, sim.endpoints, Credentials.of("nosuchkey123456789", "x"), client=client
    )
    with pytest.raises(AuthError) as bad_key:
        await unknown_key.run(adapter.fetch_positions(None))
    assert bad_key.value.code == 10003

    anonymous = FlowDriver(adapter, sim.endpoints, None, client=client)
    with pytest.raises(AuthError):
        await anonymous.run(adapter.fetch_balance())
    assert anonymous.sent == []  # refused before anything left

    read_only = FlowDriver(
        adapter, sim.endpoints, sim.add_account(permissions={"read"}), client=client
    )
    assert len(await read_only.run(adapter.fetch_balance())) == 1
    [denied] = await read_only.run(adapter.create_orders([limit_buy(below(sim, 20))]))
    assert denied.status is CommandStatus.REJECTED
    assert denied.error is not None
    assert denied.error.code == 10005


# -- public websocket ---------------------------------------------------------------------------


async def subscribe(
    sock: Socket, adapter: BybitAdapter, topics: Sequence[str], req_id: int
) -> list[Any]:
    """Subscribe and return the frames that arrived before the ack."""
    await sock.send(adapter.subscribe_frame(topics, req_id))
    ack, before = await sock.until(is_control("ack"))
    assert ack.ok, ack
    assert ack.req_id == str(req_id)
    return before


async def test_orderbook_200_sync_over_websocket_equals_a_fresh_rest_snapshot(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    [topic] = adapter.public_topics(Channel.ORDER_BOOK, SYM, depth=200)
    assert topic.name == "orderbook.200.BTCUSDT"
    spec = adapter.markets.resolve(USYM)
    sync = adapter.book_sync(spec, 200)
    url = adapter.public_ws_url(sim.endpoints, topic.route)
    async with connect(url) as conn:
        sock = Socket(conn, adapter.decode_public)
        frames = await subscribe(sock, adapter, [topic.name], 1)
        snapshot, _ = await sock.until(lambda f: isinstance(f, StreamData))
        frames.append(snapshot)
        statuses_seen = [sync.on_event(e) for f in frames for e in f.events]
        assert statuses_seen == [SyncStatus.APPLIED]
        assert sync.synced
        for _ in range(4):
            sim.step(3)
            pushed = await sock.sync(adapter.heartbeat().frame or b"")
            deltas = events_of(pushed, BookDeltaEvent)
            assert deltas, "the market moved but no delta arrived"
            assert all(d.symbol == USYM for d in deltas)
            for delta in deltas:
                assert sync.on_event(delta) is SyncStatus.APPLIED
            fresh = await rest.run(adapter.fetch_order_book(SYM, 200))
            ours = sync.book.snapshot(200)
            assert levels(ours.bids) == levels(fresh.bids)
            assert levels(ours.asks) == levels(fresh.asks)
            assert len(ours.bids) == len(ours.asks) == 200
    assert sync.last_update_id == deltas[-1].last_id


async def test_orderbook_restart_recovery_snapshot_stale_and_early_deltas(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    spec = adapter.markets.resolve(USYM)
    [topic] = adapter.public_topics(Channel.ORDER_BOOK, SYM, depth=50)
    sync = adapter.book_sync(spec, 50)
    ping = adapter.heartbeat().frame or b""
    async with connect(adapter.public_ws_url(sim.endpoints, topic.route)) as conn:
        sock = Socket(conn, adapter.decode_public)
        await subscribe(sock, adapter, [topic.name], 7)
        sim.step(2)
        frames = await sock.sync(ping)
        events = [e for f in frames for e in f.events]
        assert isinstance(events[0], BookSnapshotEvent)
        deltas = [e for e in events if isinstance(e, BookDeltaEvent)]
        assert deltas

        # A delta before any snapshot: the sync cannot use it and asks for a resubscribe.
        early = adapter.book_sync(spec, 50)
        assert early.on_event(deltas[0]) is SyncStatus.GAP
        assert early.resync == "resubscribe"
        assert not early.synced

        assert [sync.on_event(e) for e in events] == [SyncStatus.APPLIED] * len(events)
        # A replayed (stale) delta changes nothing.
        before = sync.book.snapshot(50)
        assert sync.on_event(deltas[-1]) is SyncStatus.IGNORED
        assert sync.book.snapshot(50) == before

        # Venue service restart: the stream restarts with a u=1 snapshot that replaces the book.
        sim.service_restart(SYM)
        sim.step(1)
        frames = await sock.sync(ping)
        [restart] = [e for f in frames for e in f.events]
        assert isinstance(restart, BookSnapshotEvent)
        assert restart.update_id == 1
        assert sync.on_event(restart) is SyncStatus.APPLIED
        assert sync.last_update_id == 1
        sim.step(1)
        after = events_of(await sock.sync(ping), BookDeltaEvent)
        assert [d.last_id for d in after] == list(range(2, 2 + len(after)))  # counts on from 1
        assert [sync.on_event(d) for d in after] == [SyncStatus.APPLIED] * len(after)
        fresh = await rest.run(adapter.fetch_order_book(SYM, 50))
        assert levels(sync.book.snapshot(50).bids) == levels(fresh.bids)
        assert levels(sync.book.snapshot(50).asks) == levels(fresh.asks)

        # A recovery snapshot mid-stream replaces the book as well.
        sim.resend_snapshot(SYM, 50)
        frames = await sock.sync(ping)
        recovery = events_of(frames, BookSnapshotEvent)
        assert len(recovery) == 1
        assert sync.on_event(recovery[0]) is SyncStatus.APPLIED
        assert sync.last_update_id == recovery[0].update_id
        assert levels(sync.book.snapshot(50).bids) == levels(recovery[0].bids)


async def test_orderbook_lost_delta_and_resubscribe(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    """A delta the venue never delivered (``u`` skips one). The default (strict) sync reports the
    skip as a GAP, and a resubscribe (the documented resync) brings a snapshot that matches the
    venue again; with ``book_strict_sequence=False`` the next delta is applied and the lost change
    stays in the book until a snapshot."""
    spec = adapter.markets.resolve(USYM)
    lenient = BybitAdapter(book_strict_sequence=False).book_sync(spec, 50)
    strict = adapter.book_sync(spec, 50)
    assert strict.resync == "resubscribe"
    inst = sim.engine.instruments[SYM]
    ping = adapter.heartbeat().frame or b""
    [topic] = adapter.public_topics(Channel.ORDER_BOOK, SYM, depth=50)
    async with connect(adapter.public_ws_url(sim.endpoints, topic.route)) as conn:
        sock = Socket(conn, adapter.decode_public)
        await subscribe(sock, adapter, [topic.name], 1)
        [snapshot] = events_of(await sock.sync(ping), BookSnapshotEvent)
        assert lenient.on_event(snapshot) is strict.on_event(snapshot) is SyncStatus.APPLIED
        assert snapshot.update_id is not None

        bid = sim.engine.books[SYM].best_bid()
        assert bid is not None
        lost_at, seen_at = bid - 30, bid - 31
        sim.faults.skip_sequence(SYM)
        sim.engine.mm_set_level(SYM, SimSide.BUY, lost_at, 7)
        assert events_of(await sock.sync(ping), BookDeltaEvent) == []  # never delivered
        sim.engine.mm_set_level(SYM, SimSide.BUY, seen_at, 9)
        [delta] = events_of(await sock.sync(ping), BookDeltaEvent)
        assert delta.last_id == snapshot.update_id + 2
        assert levels(delta.bids) == [(inst.price_of(seen_at), inst.qty_of(9))]

        assert lenient.on_event(delta) is SyncStatus.APPLIED
        fresh = dict(levels((await rest.run(adapter.fetch_order_book(SYM, 50))).bids))
        ours = dict(levels(lenient.book.snapshot(50).bids))
        assert ours[inst.price_of(seen_at)] == fresh[inst.price_of(seen_at)] == inst.qty_of(9)
        assert ours[inst.price_of(lost_at)] != fresh[inst.price_of(lost_at)]  # undetected

        assert strict.on_event(delta) is SyncStatus.GAP
        assert not strict.synced
        assert strict.book.bid_depth == 0

        await sock.send(adapter.unsubscribe_frame([topic.name], 2))
        await sock.until(is_control("ack"))
        await subscribe(sock, adapter, [topic.name], 3)
        resent, _ = await sock.until(lambda f: isinstance(f, StreamData))
        [again] = resent.events
        assert isinstance(again, BookSnapshotEvent)
        assert strict.on_event(again) is SyncStatus.APPLIED
        fresh_book = await rest.run(adapter.fetch_order_book(SYM, 50))
        assert levels(strict.book.snapshot(50).bids) == levels(fresh_book.bids)
        assert levels(strict.book.snapshot(50).asks) == levels(fresh_book.asks)


async def test_tickers_stream_serves_ticker_mark_funding_and_open_interest(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    channels = (Channel.TICKER, Channel.MARK_PRICE, Channel.FUNDING_RATE, Channel.OPEN_INTEREST)
    names = {t.name for c in channels for t in adapter.public_topics(c, SYM)}
    assert names == {"tickers.BTCUSDT"}
    ping = adapter.heartbeat().frame or b""
    async with connect(adapter.public_ws_url(sim.endpoints, "public")) as conn:
        sock = Socket(conn, adapter.decode_public)
        frames = await subscribe(sock, adapter, sorted(names), 5)
        frames += await sock.sync(ping)
        first = next(f for f in frames if isinstance(f, StreamData))
        assert first.topic == "tickers.BTCUSDT"
        kinds = [type(e) for e in first.events]
        assert kinds == [Ticker, MarkPrice, FundingRate, OpenInterest]
        ticker, mark, funding, oi = first.events
        assert isinstance(ticker, Ticker)
        assert isinstance(mark, MarkPrice)
        assert isinstance(funding, FundingRate)
        assert isinstance(oi, OpenInterest)
        ref = await rest.run(adapter.fetch_ticker(SYM))
        for field in ("last", "bid", "ask", "mark_price", "index_price", "funding_rate"):
            assert getattr(ticker, field) == getattr(ref, field), field
        assert ticker.next_funding_time == ref.next_funding_time
        assert (mark.mark_price, funding.funding_rate, oi.amount) == (
            ref.mark_price,
            ref.funding_rate,
            ref.open_interest,
        )
        assert funding.interval_hours == 8

        for _ in range(3):
            sim.step(2)
            pushed = await sock.sync(ping)
            tickers = events_of(pushed, Ticker)
            assert tickers, "the market moved but no ticker delta arrived"
            latest = tickers[-1]
            mkt = sim.engine.markets[SYM]
            # deltas carry only changed fields; the merged view is always complete
            assert latest.last == mkt.last_price
            assert latest.mark_price == mkt.mark_price.quantize(
                sim.engine.instruments[SYM].tick_size
            )
            assert latest.funding_rate == mkt.funding_rate
            assert latest.open_interest == sim.engine.open_interest(SYM)
            assert (latest.bid, latest.ask) == top(sim)
            assert latest.volume is not None
            assert events_of(pushed, MarkPrice)[-1].mark_price == latest.mark_price
            assert events_of(pushed, OpenInterest)[-1].amount == latest.open_interest


async def test_every_public_topic_decodes_into_typed_events(
    sim: BybitSim, adapter: BybitAdapter
) -> None:
    topics = {
        Channel.TRADES: adapter.public_topics(Channel.TRADES, SYM)[0].name,
        Channel.OHLCV: adapter.public_topics(Channel.OHLCV, SYM, interval="1m")[0].name,
        Channel.LIQUIDATIONS: adapter.public_topics(Channel.LIQUIDATIONS, SYM)[0].name,
        Channel.BOOK_TOP: adapter.public_topics(Channel.BOOK_TOP, SYM)[0].name,
        Channel.ORDER_BOOK: adapter.public_topics(Channel.ORDER_BOOK, SYM, depth=1000)[0].name,
    }
    assert topics == {
        Channel.TRADES: "publicTrade.BTCUSDT",
        Channel.OHLCV: "kline.1.BTCUSDT",
        Channel.LIQUIDATIONS: "allLiquidation.BTCUSDT",
        Channel.BOOK_TOP: "orderbook.1.BTCUSDT",
        Channel.ORDER_BOOK: "orderbook.1000.BTCUSDT",
    }
    with pytest.raises(Unsupported):
        adapter.public_topics(Channel.OHLCV, SYM, interval="7m")
    ping = adapter.heartbeat().frame or b""
    inst = sim.engine.instruments[SYM]
    async with connect(adapter.public_ws_url(sim.endpoints, "public")) as conn:
        sock = Socket(conn, adapter.decode_public)
        frames = await subscribe(sock, adapter, list(topics.values()), 11)
        frames += await sock.sync(ping)
        first_trade = sim.engine.markets[SYM].next_trade_id
        sim.step(3)
        sim.inject_liquidation(SYM, "Sell", 500)  # a long is force-sold
        frames += await sock.sync(ping)
        by_topic: dict[str, list[Any]] = {}
        for f in frames:
            if isinstance(f, StreamData):
                by_topic.setdefault(f.topic, []).extend(f.events)
        assert set(by_topic) == set(topics.values())

        trades = by_topic["publicTrade.BTCUSDT"]
        tape = [t for t in sim.engine.markets[SYM].trades if t.trade_id >= first_trade]
        assert all(isinstance(t, Trade) for t in trades)
        assert [t.id for t in trades] == [sim.bridge.ids.trade(SYM, t.trade_id) for t in tape]
        assert [(t.price, t.amount) for t in trades] == [(t.price, t.qty) for t in tape]

        candles = by_topic["kline.1.BTCUSDT"]
        assert all(isinstance(c, OHLCV) and c.interval == "1m" for c in candles)
        now = sim.engine.now()
        assert candles[-1].open_time == now - now % 60_000
        assert candles[-1].close == sim.engine.markets[SYM].last_price
        assert not candles[-1].closed

        [liquidation] = by_topic["allLiquidation.BTCUSDT"][-1:]
        assert isinstance(liquidation, Liquidation)
        assert liquidation.side is Side.SELL  # Bybit S=Buy: the liquidated position was long
        assert liquidation.amount == inst.qty_of(500)

        tops = by_topic["orderbook.1.BTCUSDT"]
        assert all(isinstance(e, BookSnapshotEvent) for e in tops)
        best = tops[-1]
        assert levels(best.bids) == [(top(sim)[0], engine_levels(sim, 1)[0][0][1])]
        assert levels(best.asks) == [(top(sim)[1], engine_levels(sim, 1)[1][0][1])]

        deep = by_topic["orderbook.1000.BTCUSDT"]
        assert isinstance(deep[0], BookSnapshotEvent)
        assert len(deep[0].bids) == 300  # everything the simulated book holds
        assert all(isinstance(e, BookDeltaEvent) for e in deep[1:])

        await sock.send(adapter.unsubscribe_frame(list(topics.values()), 12))
        ack, _ = await sock.until(is_control("ack"))
        assert (ack.ok, ack.req_id) == (True, "12")
        sim.step(2)
        assert [f for f in await sock.sync(ping) if isinstance(f, StreamData)] == []
        await sock.send(adapter.subscribe_frame(["orderbook.7.BTCUSDT"], 13))
        nack, _ = await sock.until(is_control("ack"))
        assert not nack.ok
        assert adapter.unknown_frames == 0


async def test_a_malformed_frame_is_a_typed_error_and_the_stream_goes_on(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    spec = adapter.markets.resolve(USYM)
    sync = adapter.book_sync(spec, 50)
    async with connect(adapter.public_ws_url(sim.endpoints, "public")) as conn:
        sock = Socket(conn, adapter.decode_public)
        await subscribe(sock, adapter, ["orderbook.50.BTCUSDT"], 1)
        [snapshot] = events_of(await sock.sync(PING), BookSnapshotEvent)
        assert sync.on_event(snapshot) is SyncStatus.APPLIED
        sim.faults.malformed_frames(1, path="/v5/public/linear")
        sim.step(1)
        with pytest.raises(DecodeError):
            adapter.decode_public(await sock.raw())  # half a frame
        # the real frame follows on the same connection and still applies
        deltas = events_of(await sock.sync(PING), BookDeltaEvent)
        assert [sync.on_event(d) for d in deltas] == [SyncStatus.APPLIED] * len(deltas)
        fresh = await rest.run(adapter.fetch_order_book(SYM, 50))
        assert levels(sync.book.snapshot(50).bids) == levels(fresh.bids)

    async with private_socket(sim, adapter, rest) as psock:
        sim.faults.malformed_frames(1, path="/v5/private")
        [order] = await rest.run(adapter.create_orders([limit_buy(below(sim, 20))]))
        with pytest.raises(DecodeError):
            adapter.decode_private(await psock.raw())
        frames = await psock.sync(PING)
        assert any(o.id == order.order_id for o in events_of(frames, Order))


async def test_unchanged_best_bid_offer_is_repushed_with_the_same_update_id(
    adapter: BybitAdapter,
) -> None:
    async with BybitSim(seed=7, auto_tick=None, depth_levels=50, bbo_repush=0.2) as quiet:
        spec = adapter.markets.resolve(USYM)
        sync = adapter.book_sync(spec, 1)
        [topic] = adapter.public_topics(Channel.BOOK_TOP, SYM)
        async with connect(adapter.public_ws_url(quiet.endpoints, topic.route)) as conn:
            sock = Socket(conn, adapter.decode_public)
            await subscribe(sock, adapter, [topic.name], 1)
            first, _ = await sock.until(lambda f: isinstance(f, StreamData))
            again, _ = await sock.until(lambda f: isinstance(f, StreamData), timeout=2.0)
            [a], [b] = first.events, again.events
            assert isinstance(a, BookSnapshotEvent)
            assert isinstance(b, BookSnapshotEvent)
            assert (b.update_id, b.bids, b.asks) == (a.update_id, a.bids, a.asks)
            assert sync.on_event(a) is SyncStatus.APPLIED
            view = sync.book.snapshot(1)
            assert sync.on_event(b) in (SyncStatus.APPLIED, SyncStatus.IGNORED)
            assert sync.book.snapshot(1).bids == view.bids
            assert levels(view.bids) == [engine_levels(quiet, 1)[0][0]]


# -- private websocket --------------------------------------------------------------------------


async def test_private_session_streams_order_execution_position_and_wallet_for_a_fill(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    session = await rest.run(
        adapter.private_session(sim.endpoints, sim.credentials, now_ms(), 5000)
    )
    assert rest.sent == []  # Bybit needs no REST call (no listen key)
    assert session.auth_required
    assert session.url == sim.endpoints.private_ws
    ping = adapter.ws_ping_frame() or b""
    async with connect(session.url) as conn:
        sock = Socket(conn, adapter.decode_private)
        auth_frame, subscribe_frame = session.frames
        await sock.send(auth_frame)
        auth, _ = await sock.until(is_control("auth"))
        assert auth.ok, auth
        await sock.send(subscribe_frame)
        ack, _ = await sock.until(is_control("ack"))
        assert ack.ok, ack

        [order] = await rest.run(
            adapter.create_orders([market(Side.BUY, client_order_id="j-priv")])
        )
        assert order.status is CommandStatus.ACCEPTED
        frames = await sock.sync(ping)
        topics = {f.topic for f in frames if isinstance(f, PrivateData)}
        assert topics == {"order", "execution", "position", "wallet"}

        orders = [o for o in events_of(frames, Order) if o.client_order_id == "j-priv"]
        assert orders[-1].id == order.order_id
        assert (orders[-1].status, orders[-1].filled, orders[-1].symbol) == (
            OrderStatus.FILLED,
            QTY,
            USYM,
        )
        fills = events_of(frames, MyTrade)
        rest_fills = await rest.run(adapter.fetch_my_trades(SYM, None, None))
        assert sorted(f.id for f in fills) == sorted(f.id for f in rest_fills)
        assert {(f.order_id, f.client_order_id) for f in fills} == {(order.order_id, "j-priv")}
        assert sum(f.amount for f in fills) == QTY
        assert [(f.price, f.fee) for f in sorted(fills, key=lambda f: f.id)] == [
            (f.price, f.fee) for f in sorted(rest_fills, key=lambda f: f.id)
        ]
        [position] = [p for p in events_of(frames, Position) if p.symbol == USYM][-1:]
        rest_position = (await position_legs(rest))[PositionSide.BOTH]
        assert (position.size, position.entry_price) == (QTY, rest_position.entry_price)
        [wallet] = [b for b in events_of(frames, Balance) if b.asset == "USDT"][-1:]
        [rest_wallet] = await rest.run(adapter.fetch_balance())
        assert (
            wallet.wallet_balance
            == rest_wallet.wallet_balance
            == D(100000) - sum(f.fee or 0 for f in fills)
        )

        # A resting order's life: New, then Cancelled, each pushed as an order event.
        [resting] = await rest.run(adapter.create_orders([limit_buy(below(sim, 25))]))
        await rest.run(adapter.cancel_orders([CancelRequest(symbol=SYM, id=resting.order_id)]))
        frames = await sock.sync(ping)
        life = [o.status for o in events_of(frames, Order) if o.id == resting.order_id]
        assert life == [OrderStatus.NEW, OrderStatus.CANCELED]
        assert adapter.unknown_frames == 0


async def test_private_auth_with_a_bad_signature_is_refused(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    wrong = Credentials.of(sim.credentials.api_key, "not-the-secret")
    session = await rest.run(adapter.private_session(sim.endpoints, wrong, now_ms(), 5000))
    async with connect(session.url) as conn:
        sock = Socket(conn, adapter.decode_private)
        await sock.send(session.frames[0])
        auth, _ = await sock.until(is_control("auth"))
        assert not auth.ok
        await sock.send(session.frames[1])
        ack, _ = await sock.until(is_control("ack"))
        assert not ack.ok  # nothing is streamed to an unauthenticated connection


# -- order websocket --------------------------------------------------------------------------


class TradeSocket:
    """The ``/v5/trade`` connection: replies are matched to requests by ``ws_reply_id``."""

    def __init__(self, conn: ClientConnection, adapter: BybitAdapter) -> None:
        self.conn = conn
        self.adapter = adapter

    async def reply(self, req_id: str, timeout: float = 3.0) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await asyncio.wait_for(self.conn.recv(), max(0.0, deadline - loop.time()))
            frame = msg.encode() if isinstance(msg, str) else msg
            if self.adapter.ws_reply_id(frame) == req_id:
                return frame

    async def login(self, sim: BybitSim, credentials: Credentials) -> Control:
        session = self.adapter.ws_command_session(sim.endpoints, credentials, now_ms())
        assert session.auth_frame is not None
        assert session.auth_req_id is not None
        await self.conn.send(session.auth_frame.decode())
        reply = self.adapter.decode_private(await self.reply(session.auth_req_id))
        assert isinstance(reply, Control)
        assert reply.kind == "auth"
        return reply

    async def command(
        self,
        kind: CommandKind,
        requests: Sequence[Any],
        req_id: str,
        credentials: Credentials,
        *,
        clock_offset_ms: int = 0,
    ) -> list[CommandReceipt]:
        cmd = self.adapter.ws_command(
            kind, requests, req_id, credentials, now_ms() + clock_offset_ms, 5000
        )
        assert cmd.req_id == req_id
        await self.conn.send(cmd.frame.decode())
        return cmd.decode(await self.reply(req_id))


async def test_trade_websocket_create_amend_cancel_and_batch(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    creds = sim.credentials
    session = adapter.ws_command_session(sim.endpoints, creds, now_ms())
    assert session.url == sim.endpoints.command_ws
    tick = sim.engine.instruments[SYM].tick_size
    async with connect(session.url) as conn:
        ws = TradeSocket(conn, adapter)
        assert (await ws.login(sim, creds)).ok
        price = below(sim, 40)
        [created] = await ws.command(
            CommandKind.CREATE_ORDER, [limit_buy(price, client_order_id="j-ws-1")], "c-1", creds
        )
        assert (created.status, created.client_order_id) == (CommandStatus.ACCEPTED, "j-ws-1")
        assert created.timestamp is not None
        [live] = await open_orders(rest)
        assert (live.id, live.client_order_id, live.price) == (created.order_id, "j-ws-1", price)

        [amended] = await ws.command(
            CommandKind.EDIT_ORDER,
            [EditRequest(symbol=SYM, id=created.order_id, price=price - tick)],
            "a-1",
            creds,
        )
        assert (amended.status, amended.order_id) == (CommandStatus.ACCEPTED, created.order_id)
        assert (await open_orders(rest))[0].price == price - tick

        [cancelled] = await ws.command(
            CommandKind.CANCEL_ORDER,
            [CancelRequest(symbol=SYM, client_order_id="j-ws-1")],
            "x-1",
            creds,
        )
        assert cancelled.status is CommandStatus.ACCEPTED
        assert cancelled.order_id == created.order_id
        assert await open_orders(rest) == []

        batch = await ws.command(
            CommandKind.CREATE_ORDER,
            [
                limit_buy(below(sim, 41), client_order_id="j-ws-2"),
                limit_buy(below(sim, 42) + tick / 2, client_order_id="j-ws-3"),
                limit_buy(below(sim, 43), client_order_id="j-ws-4"),
            ],
            "cb-1",
            creds,
        )
        assert statuses(batch) == [
            CommandStatus.ACCEPTED,
            CommandStatus.REJECTED,
            CommandStatus.ACCEPTED,
        ]
        assert isinstance(batch[1].error, ExchangeReject)
        assert {o.client_order_id for o in await open_orders(rest)} == {"j-ws-2", "j-ws-4"}
        amends = await ws.command(
            CommandKind.EDIT_ORDER,
            [
                EditRequest(symbol=SYM, client_order_id="j-ws-2", amount=D("0.020")),
                EditRequest(symbol=SYM, client_order_id="j-ws-3", amount=D("0.020")),
                EditRequest(symbol=SYM, client_order_id="j-ws-4", amount=D("0.030")),
            ],
            "ab-1",
            creds,
        )
        assert statuses(amends) == [
            CommandStatus.ACCEPTED,
            CommandStatus.REJECTED,  # j-ws-3 was never placed
            CommandStatus.ACCEPTED,
        ]
        assert {o.client_order_id: o.amount for o in await open_orders(rest)} == {
            "j-ws-2": D("0.020"),
            "j-ws-4": D("0.030"),
        }
        cancels = await ws.command(
            CommandKind.CANCEL_ORDER,
            [
                CancelRequest(symbol=SYM, id=batch[0].order_id),
                CancelRequest(symbol=SYM, id=batch[2].order_id),
            ],
            "xb-1",
            creds,
        )
        assert statuses(cancels) == [CommandStatus.ACCEPTED] * 2
        assert await open_orders(rest) == []

        # the application ping is answered (its reply carries no request id)
        await conn.send((adapter.ws_ping_frame() or b"").decode())
        pong = await asyncio.wait_for(conn.recv(), 3.0)
        assert adapter.ws_reply_id(pong) is None
        assert msgspec.json.decode(pong)["op"] == "pong"
        with pytest.raises(Unsupported):
            adapter.ws_command(CommandKind.CANCEL_ALL_ORDERS, [], "ca-1", creds, now_ms(), 5000)


async def test_trade_websocket_faults(
    sim: BybitSim, adapter: BybitAdapter, rest: FlowDriver
) -> None:
    creds = sim.credentials
    url = adapter.ws_command_session(sim.endpoints, creds, now_ms()).url
    async with connect(url) as conn:
        ws = TradeSocket(conn, adapter)
        wrong = await ws.login(sim, Credentials.of(creds.api_key, "not-the-secret"))
        assert not wrong.ok
        assert (await ws.login(sim, creds)).ok

        # Our clock 30 s ahead of the venue: 10002, a clock error, nothing placed.
        [early] = await ws.command(
            CommandKind.CREATE_ORDER,
            [limit_buy(below(sim, 20))],
            "skew-1",
            creds,
            clock_offset_ms=30_000,
        )
        assert early.status is CommandStatus.REJECTED
        assert early.error is not None
        assert adapter.is_clock_error(early.error)
        # A reused reqId (20006): the outcome of the duplicate is unknown.
        [dup] = await ws.command(
            CommandKind.CREATE_ORDER, [limit_buy(below(sim, 20))], "skew-1", creds
        )
        assert dup.status is CommandStatus.UNKNOWN
        assert await open_orders(rest) == []
        # The per-UID budget is shared with REST: over it, a definite 10006 refusal.
        sim.limits.endpoint["/v5/order/create"] = 0
        [limited] = await ws.command(
            CommandKind.CREATE_ORDER, [limit_buy(below(sim, 20))], "rl-1", creds
        )
        assert limited.status is CommandStatus.REJECTED
        assert isinstance(limited.error, RateLimited)
        assert limited.error.code == 10006
        sim.limits.endpoint["/v5/order/create"] = 10

        # The connection dies after the venue executed the create: no reply will come.
        sim.faults.drop_response("/v5/trade", method="order.create")
        cmd = adapter.ws_command(
            CommandKind.CREATE_ORDER,
            [limit_buy(below(sim, 20), client_order_id="j-ws-lost")],
            "lost-1",
            creds,
            now_ms(),
            5000,
        )
        await conn.send(cmd.frame.decode())
        with pytest.raises(ConnectionClosed):
            await ws.reply("lost-1")
    [receipt] = cmd.unknown(TransportError("order websocket closed before the reply"))
    assert receipt.status is CommandStatus.UNKNOWN
    assert receipt.client_order_id == "j-ws-lost"
    assert isinstance(receipt.error, UnknownExecution)
    [placed] = await open_orders(rest)
    assert placed.client_order_id == "j-ws-lost"
