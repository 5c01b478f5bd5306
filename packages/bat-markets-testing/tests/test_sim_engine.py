"""The venue-neutral matching engine and market generator (no sockets)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bat_markets.testing.sim import (
    AccountUpdate,
    BookDiff,
    ConditionalUpdate,
    CondParams,
    CondStatus,
    Engine,
    ExecType,
    ManualClock,
    MarginType,
    MarketGenerator,
    OrderKind,
    OrderParams,
    OrderRejected,
    OrderStatus,
    OrderUpdate,
    PositionSide,
    PublicTrade,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
    TriggerBy,
    TriggerDirection,
)

D = Decimal
SYM = "BTCUSDT"


@pytest.fixture
def eng() -> Engine:
    """An engine with an empty book (no generator) and two accounts."""
    e = Engine(clock=ManualClock())
    e.add_account("alice", "s1", balance=D(1_000_000))
    e.add_account("bob", "s2", balance=D(1_000_000))
    e.set_prices(SYM, mark=D("65000"), index=D("65000"))
    return e


def limit(side: Side, qty: str, price: str, **kw: object) -> OrderParams:
    return OrderParams(SYM, side, OrderKind.LIMIT, D(qty), price=D(price), **kw)  # type: ignore[arg-type]


def market(side: Side, qty: str, **kw: object) -> OrderParams:
    return OrderParams(SYM, side, OrderKind.MARKET, D(qty), **kw)  # type: ignore[arg-type]


def events_of(e: Engine) -> list[object]:
    out: list[object] = []
    e.subscribe(out.append)
    return out


def test_price_time_priority_and_partial_fills(eng: Engine) -> None:
    inst = eng.instruments[SYM]
    eng.mm_set_level(SYM, Side.SELL, inst.ticks(D("65001.0")) or 0, 1000)  # 1.000 at 65001
    a = eng.place_order("alice", limit(Side.SELL, "0.5", "65001.0"))  # behind the market maker
    b = eng.place_order("bob", limit(Side.SELL, "0.5", "65000.5"))  # better price
    taker = eng.place_order("alice", market(Side.BUY, "1.2"))
    assert taker.status is OrderStatus.FILLED
    # best price first (bob), then time priority at 65001: market maker before alice
    assert eng.get_order("bob", SYM, b.order_id).status is OrderStatus.FILLED
    assert a.executed_qty == D("0")
    taker2 = eng.place_order("bob", market(Side.BUY, "0.6"))
    assert taker2.executed_qty == D("0.6")
    assert a.executed_qty == D("0.3")
    assert a.status is OrderStatus.PARTIALLY_FILLED
    assert a.maker_qty == D("0.3")
    fills = eng.fills("alice", SYM)
    assert [f.maker for f in fills if f.order_id == a.order_id] == [True]
    assert taker.avg_price == (D("0.5") * D("65000.5") + D("0.7") * D("65001.0")) / D("1.2")


def test_market_order_walks_and_expires_when_book_runs_out(eng: Engine) -> None:
    eng.place_order("bob", limit(Side.SELL, "0.2", "65002.0"))
    ev = events_of(eng)
    o = eng.place_order("alice", market(Side.BUY, "0.5"))
    assert o.status is OrderStatus.EXPIRED
    assert o.executed_qty == D("0.2")
    kinds = [
        x.exec_type for x in ev if isinstance(x, OrderUpdate) and x.order.order_id == o.order_id
    ]
    assert kinds == [ExecType.NEW, ExecType.TRADE, ExecType.EXPIRED]


def test_post_only_rejects_or_expires(eng: Engine) -> None:
    eng.place_order("bob", limit(Side.SELL, "0.1", "65001.0"))
    with pytest.raises(OrderRejected) as exc:
        eng.place_order("alice", limit(Side.BUY, "0.1", "65001.0", tif=TimeInForce.GTX))
    assert exc.value.reason is RejectReason.POST_ONLY_WOULD_TAKE
    assert not eng.open_orders("alice")
    o = eng.place_order(
        "alice", limit(Side.BUY, "0.1", "65001.0", tif=TimeInForce.GTX, post_only_action="expire")
    )
    assert o.status is OrderStatus.EXPIRED
    assert o.executed_qty == 0
    ok = eng.place_order("alice", limit(Side.BUY, "0.1", "65000.9", tif=TimeInForce.GTX))
    assert ok.status is OrderStatus.NEW


def test_ioc_and_fok(eng: Engine) -> None:
    eng.place_order("bob", limit(Side.SELL, "0.3", "65001.0"))
    with pytest.raises(OrderRejected) as exc:
        eng.place_order("alice", limit(Side.BUY, "0.5", "65001.0", tif=TimeInForce.FOK))
    assert exc.value.reason is RejectReason.FOK_NOT_FILLABLE
    ioc = eng.place_order("alice", limit(Side.BUY, "0.5", "65001.0", tif=TimeInForce.IOC))
    assert ioc.executed_qty == D("0.3")
    assert ioc.status is OrderStatus.EXPIRED
    eng.place_order("bob", limit(Side.SELL, "0.3", "65001.0"))
    fok = eng.place_order("alice", limit(Side.BUY, "0.3", "65001.0", tif=TimeInForce.FOK))
    assert fok.status is OrderStatus.FILLED


def test_reduce_only_one_way(eng: Engine) -> None:
    with pytest.raises(OrderRejected) as exc:
        eng.place_order("alice", market(Side.SELL, "0.1", reduce_only=True))
    assert exc.value.reason is RejectReason.REDUCE_ONLY_REJECTED
    eng.place_order("bob", limit(Side.SELL, "0.4", "65001.0"))
    eng.place_order("alice", market(Side.BUY, "0.4"))
    # a resting reduce-only sell larger than the position only fills up to the position
    ro = eng.place_order("alice", limit(Side.SELL, "1.0", "65010.0", reduce_only=True))
    eng.place_order("bob", limit(Side.BUY, "2.0", "65010.0", tif=TimeInForce.IOC))
    assert ro.executed_qty == D("0.4")
    assert ro.status is OrderStatus.EXPIRED  # nothing left to reduce
    assert eng.position("alice", SYM, PositionSide.BOTH).amount == 0
    # increasing side with reduce-only is refused
    with pytest.raises(OrderRejected):
        eng.place_order("alice", market(Side.BUY, "0.1", reduce_only=True))


def test_realised_pnl_fees_and_flip(eng: Engine) -> None:
    eng.place_order("bob", limit(Side.SELL, "1", "65000.0"))
    eng.place_order("alice", market(Side.BUY, "1"))
    pos = eng.position("alice", SYM, PositionSide.BOTH)
    assert pos.amount == 1
    assert pos.entry_price == D("65000.0")
    wallet0 = eng.accounts["alice"].balances["USDT"].wallet
    eng.place_order("bob", limit(Side.BUY, "1.5", "65100.0"))
    sell = eng.place_order("alice", market(Side.SELL, "1.5"))
    assert sell.realized_pnl == D("100.0")  # closes 1 @ +100
    assert pos.amount == D("-0.5")
    assert pos.entry_price == D("65100.0")
    fee = D("1.5") * D("65100.0") * D("0.0004")
    assert eng.accounts["alice"].balances["USDT"].wallet == wallet0 + D("100.0") - fee
    assert pos.realized_pnl == D("100.0")
    # maker got maker fee
    bob_fill = [f for f in eng.fills("bob") if f.maker][-1]
    assert bob_fill.fee == bob_fill.price * bob_fill.qty * D("0.0002")


def test_hedge_mode_positions(eng: Engine) -> None:
    eng.set_position_mode("alice", True)
    with pytest.raises(OrderRejected) as exc:
        eng.place_order("alice", market(Side.BUY, "0.1"))
    assert exc.value.reason is RejectReason.POSITION_SIDE_MISMATCH
    with pytest.raises(OrderRejected) as exc:
        eng.place_order(
            "alice", market(Side.BUY, "0.1", position_side=PositionSide.LONG, reduce_only=True)
        )
    assert exc.value.reason is RejectReason.REDUCE_ONLY_NOT_ALLOWED
    eng.place_order("bob", limit(Side.SELL, "1", "65000.0"))
    eng.place_order("bob", limit(Side.BUY, "1", "64990.0"))
    eng.place_order("alice", market(Side.BUY, "0.3", position_side=PositionSide.LONG))
    eng.place_order("alice", market(Side.SELL, "0.2", position_side=PositionSide.SHORT))
    rows = {p.position_side: p.amount for p in eng.positions("alice", SYM)}
    assert rows == {PositionSide.LONG: D("0.3"), PositionSide.SHORT: D("-0.2")}
    # closing the long with SELL+LONG cannot go beyond the long
    close = eng.place_order("alice", market(Side.SELL, "0.5", position_side=PositionSide.LONG))
    assert close.executed_qty == D("0.3")
    assert eng.position("alice", SYM, PositionSide.LONG).amount == 0
    assert eng.position("alice", SYM, PositionSide.SHORT).amount == D("-0.2")
    with pytest.raises(OrderRejected) as exc:
        eng.set_position_mode("alice", False)
    assert (
        exc.value.reason is RejectReason.HAS_OPEN_ORDERS
        or exc.value.reason is RejectReason.HAS_POSITION
    )


def test_settings_rules(eng: Engine) -> None:
    with pytest.raises(OrderRejected) as exc:
        eng.set_position_mode("alice", False)
    assert exc.value.reason is RejectReason.POSITION_MODE_UNCHANGED
    with pytest.raises(OrderRejected) as exc:
        eng.set_margin_type("alice", SYM, MarginType.CROSSED)
    assert exc.value.reason is RejectReason.MARGIN_TYPE_UNCHANGED
    with pytest.raises(OrderRejected) as exc:
        eng.set_leverage("alice", SYM, 126)
    assert exc.value.reason is RejectReason.INVALID_LEVERAGE
    eng.place_order("alice", limit(Side.BUY, "0.1", "64000.0"))
    with pytest.raises(OrderRejected) as exc:
        eng.set_margin_type("alice", SYM, MarginType.ISOLATED)
    assert exc.value.reason is RejectReason.HAS_OPEN_ORDERS
    eng.cancel_all("alice", SYM)
    assert eng.set_margin_type("alice", SYM, MarginType.ISOLATED).margin_type is MarginType.ISOLATED
    assert eng.set_leverage("alice", SYM, 10).leverage == 10
    # isolated margin follows the position
    eng.place_order("bob", limit(Side.SELL, "1", "65000.0"))
    eng.place_order("alice", market(Side.BUY, "1"))
    assert eng.position("alice", SYM, PositionSide.BOTH).isolated_wallet == D("6500")


def test_margin_check(eng: Engine) -> None:
    eng.add_account("poor", "s", balance=D("100"))
    eng.set_leverage("poor", SYM, 1)
    with pytest.raises(OrderRejected) as exc:
        eng.place_order("poor", limit(Side.BUY, "0.01", "64000.0"))
    assert exc.value.reason is RejectReason.INSUFFICIENT_MARGIN
    eng.set_leverage("poor", SYM, 20)
    assert eng.place_order("poor", limit(Side.BUY, "0.01", "64000.0")).status is OrderStatus.NEW


def test_filters(eng: Engine) -> None:
    cases = [
        (limit(Side.BUY, "0.0015", "64000.0"), RejectReason.INVALID_QTY),
        (limit(Side.BUY, "0.001", "64000.05"), RejectReason.INVALID_PRICE),
        (limit(Side.BUY, "0.001", "64000.0"), RejectReason.MIN_NOTIONAL),
        (limit(Side.BUY, "0.01", "99999.0"), RejectReason.PRICE_OUT_OF_RANGE),
        (market(Side.BUY, "121"), RejectReason.QTY_TOO_LARGE),
        (OrderParams("NOPE", Side.BUY, OrderKind.MARKET, D(1)), RejectReason.UNKNOWN_SYMBOL),
    ]
    for params, reason in cases:
        with pytest.raises(OrderRejected) as exc:
            eng.place_order("alice", params)
        assert exc.value.reason is reason, params
    eng.place_order("alice", limit(Side.BUY, "0.01", "64000.0", client_id="dup"))
    with pytest.raises(OrderRejected) as exc:
        eng.place_order("alice", limit(Side.BUY, "0.01", "64000.0", client_id="dup"))
    assert exc.value.reason is RejectReason.DUPLICATE_CLIENT_ID


def test_self_trade_prevention(eng: Engine) -> None:
    maker = eng.place_order("alice", limit(Side.SELL, "0.1", "65001.0"))
    taker = eng.place_order("alice", limit(Side.BUY, "0.1", "65001.0", stp=StpMode.EXPIRE_MAKER))
    assert maker.status is OrderStatus.EXPIRED_IN_MATCH
    assert taker.status is OrderStatus.NEW
    assert taker.executed_qty == 0
    eng.cancel_all("alice")
    maker = eng.place_order("alice", limit(Side.SELL, "0.1", "65001.0"))
    taker = eng.place_order("alice", limit(Side.BUY, "0.1", "65001.0", stp=StpMode.EXPIRE_TAKER))
    assert taker.status is OrderStatus.EXPIRED_IN_MATCH
    assert maker.status is OrderStatus.NEW


def test_amend_loses_priority_and_cancels_below_executed(eng: Engine) -> None:
    a = eng.place_order("alice", limit(Side.SELL, "0.2", "65001.0"))
    b = eng.place_order("bob", limit(Side.SELL, "0.2", "65001.0"))
    ev = events_of(eng)
    eng.amend_order("alice", SYM, order_id=a.order_id, qty=D("0.3"))
    assert [x.exec_type for x in ev if isinstance(x, OrderUpdate)] == [ExecType.AMENDMENT]
    eng.place_order("alice", market(Side.BUY, "0.25"))
    assert b.executed_qty == D("0.2")
    assert a.executed_qty == D("0.05")
    with pytest.raises(OrderRejected) as exc:
        eng.amend_order("alice", SYM, order_id=a.order_id, qty=D("0.3"), price=D("65001.0"))
    assert exc.value.reason is RejectReason.AMEND_NO_CHANGE
    eng.amend_order("alice", SYM, order_id=a.order_id, qty=D("0.05"))
    assert a.status is OrderStatus.CANCELED


def test_cancel_rules(eng: Engine) -> None:
    o = eng.place_order("alice", limit(Side.BUY, "0.1", "64000.0", client_id="c1"))
    assert eng.cancel_order("alice", SYM, client_id="c1").status is OrderStatus.CANCELED
    with pytest.raises(OrderRejected) as exc:
        eng.cancel_order("alice", SYM, order_id=o.order_id)
    assert exc.value.reason is RejectReason.ORDER_NOT_OPEN
    with pytest.raises(OrderRejected) as exc:
        eng.cancel_order("alice", SYM, order_id=123)
    assert exc.value.reason is RejectReason.ORDER_NOT_FOUND
    with pytest.raises(OrderRejected):
        eng.cancel_order("bob", SYM, order_id=o.order_id)  # not bob's order


def test_conditional_triggers_on_last_and_mark(eng: Engine) -> None:
    eng.place_order("bob", limit(Side.SELL, "5", "65010.0"))
    eng.place_order("bob", limit(Side.BUY, "5", "64990.0"))
    ev = events_of(eng)
    # stop-market buy when the last price rises to 65010
    stop = eng.place_conditional(
        "alice",
        CondParams(SYM, Side.BUY, OrderKind.MARKET, D("0.1"), D("65010.0"), TriggerDirection.RISE),
    )
    # take-profit style sell by mark price at 65050
    tp = eng.place_conditional(
        "alice",
        CondParams(
            SYM,
            Side.SELL,
            OrderKind.LIMIT,
            D("0.1"),
            D("65050.0"),
            TriggerDirection.RISE,
            trigger_by=TriggerBy.MARK,
            price=D("64990.0"),
        ),
    )
    with pytest.raises(OrderRejected) as exc:  # would trigger at once
        eng.place_conditional(
            "alice",
            CondParams(
                SYM, Side.BUY, OrderKind.MARKET, D("0.1"), D("64000.0"), TriggerDirection.RISE
            ),
        )
    assert exc.value.reason is RejectReason.TRIGGER_IMMEDIATELY
    assert eng.get_conditional("alice", stop.cond_id).status is CondStatus.NEW
    eng.place_order("bob", market(Side.BUY, "0.1"))  # last price -> 65010
    assert eng.get_conditional("alice", stop.cond_id).status is CondStatus.FINISHED
    assert stop.order_id
    real = eng.get_order("alice", SYM, stop.order_id)
    assert real.status is OrderStatus.FILLED
    assert real.cond_id == stop.cond_id
    assert eng.get_conditional("alice", tp.cond_id).status is CondStatus.NEW  # mark did not move
    eng.set_prices(SYM, mark=D("65060"))
    assert eng.get_conditional("alice", tp.cond_id).status is CondStatus.FINISHED
    assert eng.get_order("alice", SYM, tp.order_id).executed_qty == D("0.1")
    statuses = [
        x.cond.status
        for x in ev
        if isinstance(x, ConditionalUpdate) and x.cond.cond_id == stop.cond_id
    ]
    assert statuses == [
        CondStatus.NEW,
        CondStatus.TRIGGERING,
        CondStatus.TRIGGERED,
        CondStatus.FINISHED,
    ]


def test_close_position_and_trailing_stop(eng: Engine) -> None:
    eng.place_order("bob", limit(Side.SELL, "1", "65000.0"))
    eng.place_order("alice", market(Side.BUY, "0.7"))
    close = eng.place_conditional(
        "alice",
        CondParams(
            SYM,
            Side.SELL,
            OrderKind.MARKET,
            D(0),
            D("64000.0"),
            TriggerDirection.FALL,
            trigger_by=TriggerBy.MARK,
            close_position=True,
        ),
    )
    trail = eng.place_conditional(
        "bob",
        CondParams(
            SYM,
            Side.BUY,
            OrderKind.MARKET,
            D("0.1"),
            D("65000.0"),
            TriggerDirection.RISE,
            trigger_by=TriggerBy.MARK,
            callback_rate=D("1"),
            orig_type="TRAILING_STOP_MARKET",
        ),
    )
    eng.place_order("bob", limit(Side.BUY, "2", "63000.0"))
    eng.place_order("bob", limit(Side.SELL, "2", "70000.0"))
    eng.set_prices(SYM, mark=D("63900"))
    assert close.status is CondStatus.FINISHED
    assert eng.position("alice", SYM, PositionSide.BOTH).amount == 0
    # trailing buy: activated at the first check, triggers after a 1% bounce from the low
    eng.set_prices(SYM, mark=D("63800"))
    eng.set_prices(SYM, mark=D("64400"))  # < 63800 * 1.01
    assert eng.get_conditional("bob", trail.cond_id).status is CondStatus.NEW
    eng.set_prices(SYM, mark=D("64450"))
    assert eng.get_conditional("bob", trail.cond_id).status is CondStatus.FINISHED
    assert eng.get_order("bob", SYM, trail.order_id).executed_qty == D("0.1")


def test_book_diffs_are_contiguous_and_replay_to_the_book() -> None:
    e = Engine(clock=ManualClock())
    diffs: list[BookDiff] = []
    e.subscribe(
        lambda ev: diffs.append(ev) if isinstance(ev, BookDiff) and ev.symbol == SYM else None
    )
    gen = MarketGenerator(e, seed=3, depth_levels=200, history_minutes=10)
    inst = e.instruments[SYM]
    replica: dict[tuple[str, Decimal], Decimal] = {}
    for t, s in e.books[SYM].depth()[0]:
        replica[("b", inst.price_of(t))] = inst.qty_of(s)
    for t, s in e.books[SYM].depth()[1]:
        replica[("a", inst.price_of(t))] = inst.qty_of(s)
    last = e.books[SYM].update_id
    diffs.clear()
    e.add_account("acct", "s")
    e.place_order(
        "acct",
        OrderParams(
            SYM,
            Side.BUY,
            OrderKind.LIMIT,
            D("0.5"),
            price=inst.price_of(e.books[SYM].best_bid() or 0),
        ),
    )
    gen.step(50)
    for d in diffs:
        assert d.prev_last_id == last
        assert d.first_id == last + 1
        assert d.last_id >= d.first_id
        last = d.last_id
        for side, levels in (("b", d.bids), ("a", d.asks)):
            for price, qty in levels:
                if qty == 0:
                    replica.pop((side, price), None)
                else:
                    replica[(side, price)] = qty
    assert last == e.books[SYM].update_id
    bids, asks = e.books[SYM].depth()
    expect = {("b", inst.price_of(t)): inst.qty_of(s) for t, s in bids}
    expect.update({("a", inst.price_of(t)): inst.qty_of(s) for t, s in asks})
    assert replica == expect
    assert e.books[SYM].best_bid() < e.books[SYM].best_ask()  # type: ignore[operator]


def _tape(seed: int) -> list[tuple[object, ...]]:
    e = Engine(clock=ManualClock())
    out: list[tuple[object, ...]] = []

    def record(ev: object) -> None:
        if isinstance(ev, PublicTrade):
            out.append(("t", ev.symbol, ev.trade_id, ev.price, ev.qty, ev.buyer_is_maker))
        elif isinstance(ev, BookDiff):
            out.append(("d", ev.symbol, ev.last_id, ev.bids[:3], ev.asks[:3]))

    e.subscribe(record)
    gen = MarketGenerator(e, seed=seed, depth_levels=300, history_minutes=30)
    gen.step(40)
    out.append(("m", e.markets[SYM].mark_price, e.markets["ETHUSDT"].funding_rate))
    out.append(("h", tuple(sorted((k, c.close) for k, c in e.markets[SYM].candles.items()))[:5]))
    return out


def test_same_seed_same_market_data() -> None:
    a, b, c = _tape(11), _tape(11), _tape(12)
    assert a == b
    assert a != c
    assert any(x[0] == "t" for x in a)
    assert any(x[0] == "d" for x in a)


def test_generator_fills_resting_orders_and_keeps_depth() -> None:
    e = Engine()
    gen = MarketGenerator(e, seed=5)
    e.add_account("k", "s")
    book = e.books[SYM]
    ev = events_of(e)
    inst = e.instruments[SYM]
    bb, ba = book.best_bid(), book.best_ask()
    assert bb is not None
    assert ba is not None
    bid = e.place_order(
        "k", OrderParams(SYM, Side.BUY, OrderKind.LIMIT, D("0.01"), price=inst.price_of(bb))
    )
    ask = e.place_order(
        "k", OrderParams(SYM, Side.SELL, OrderKind.LIMIT, D("0.01"), price=inst.price_of(ba))
    )
    for _ in range(1000):
        gen.step()
        if not (bid.is_open and ask.is_open):
            break
    assert OrderStatus.FILLED in (bid.status, ask.status)
    assert all(f.maker for f in e.fills("k"))
    assert any(isinstance(x, AccountUpdate) and x.account == "k" for x in ev)
    assert book.level_count(Side.BUY) >= 1000
    assert book.level_count(Side.SELL) >= 1000
    assert e.markets[SYM].funding_history
    assert e.markets[SYM].candles


def test_funding_settlement_charges_longs(eng: Engine) -> None:
    eng.place_order("bob", limit(Side.SELL, "1", "65000.0"))
    eng.place_order("alice", market(Side.BUY, "1"))
    eng.set_prices(SYM, mark=D("65000"), funding_rate=D("0.0001"))
    before = eng.accounts["alice"].balances["USDT"].wallet
    ev = events_of(eng)
    eng.settle_funding(SYM)
    assert eng.accounts["alice"].balances["USDT"].wallet == before - D("6.5")
    assert any(isinstance(x, AccountUpdate) and x.reason == "FUNDING_FEE" for x in ev)
