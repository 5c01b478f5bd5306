"""AccountState: regression guards, hedge keys, fill dedupe, scoped snapshots."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bat_markets.core import (
    AccountConfigEvent,
    Balance,
    MarginCallEvent,
    MyTrade,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
    StreamExpired,
)
from bat_markets.core._state import AccountState

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
D = Decimal


def order(
    status: OrderStatus = OrderStatus.NEW,
    filled: str = "0",
    *,
    id: str = "8886774",
    cid: str | None = "bm-abc",
    symbol: str = BTC,
    amount: str = "0.010",
    price: str = "50000",
    ts: int | None = 1_700_000_000_000,
) -> Order:
    return Order(
        symbol=symbol,
        id=id,
        client_order_id=cid,
        side=Side.BUY,
        type=OrderType.LIMIT,
        status=status,
        amount=D(amount),
        filled=D(filled),
        price=D(price),
        updated_at=ts,
        created_at=1_700_000_000_000,
    )


def fill(tid: str, *, symbol: str = BTC, fee: str | None = None) -> MyTrade:
    return MyTrade(
        symbol=symbol,
        id=tid,
        order_id="8886774",
        client_order_id="bm-abc",
        side=Side.BUY,
        price=D("50000"),
        amount=D("0.004"),
        timestamp=1_700_000_000_500,
        fee=None if fee is None else D(fee),
    )


def pos(
    size: str, side: PositionSide = PositionSide.BOTH, *, symbol: str = BTC, ts: int = 1
) -> Position:
    return Position(
        symbol=symbol, position_side=side, size=D(size), entry_price=D("50000"), timestamp=ts
    )


# -- orders


def test_order_progression_and_duplicates() -> None:
    st_ = AccountState()
    new = order()
    assert st_.apply(new) is new
    assert st_.apply(new) is None  # exact duplicate
    part = order(OrderStatus.PARTIALLY_FILLED, "0.004", ts=1_700_000_000_500)
    assert st_.apply(part) is part
    done = order(OrderStatus.FILLED, "0.010", ts=1_700_000_000_900)
    assert st_.apply(done) is done
    assert st_.order("8886774") == done
    assert st_.order(client_order_id="bm-abc") == done
    assert st_.open_orders() == []


def test_older_or_less_filled_never_overwrites() -> None:
    st_ = AccountState()
    st_.apply(order(OrderStatus.PARTIALLY_FILLED, "0.006", ts=2000))
    assert st_.apply(order(OrderStatus.PARTIALLY_FILLED, "0.004", ts=3000)) is None  # less filled
    assert st_.apply(order(OrderStatus.NEW, "0", ts=1000)) is None  # reordered older NEW
    held = st_.order("8886774")
    assert held is not None
    assert held.filled == D("0.006")


def test_final_order_never_reopens_but_may_gain_fills() -> None:
    st_ = AccountState()
    st_.apply(order(OrderStatus.CANCELED, "0.004", ts=5000))
    assert st_.apply(order(OrderStatus.NEW, "0", ts=9000)) is None
    assert st_.apply(order(OrderStatus.PARTIALLY_FILLED, "0.004", ts=9000)) is None
    # Bybit: a cancel racing a fill ends as Filled with more quantity.
    late = order(OrderStatus.FILLED, "0.010", ts=5001)
    assert st_.apply(late) is late
    assert st_.apply(order(OrderStatus.CANCELED, "0.004", ts=6000)) is None
    assert st_.order("8886774") == late


def test_amendment_with_same_fill_is_applied_when_newer() -> None:
    st_ = AccountState()
    st_.apply(order(price="50000", ts=1000))
    amended = order(price="49900", ts=2000)
    assert st_.apply(amended) is amended
    assert st_.apply(order(price="50000", ts=1000)) is None  # the older view comes late
    held = st_.order("8886774")
    assert held is not None
    assert held.price == D("49900")


@settings(max_examples=200, deadline=None)
@given(st.permutations(range(4)), st.lists(st.integers(0, 3), max_size=4))
def test_any_order_of_updates_converges(perm: list[int], dups: list[int]) -> None:
    seq = [
        order(OrderStatus.NEW, "0", ts=1000),
        order(OrderStatus.PARTIALLY_FILLED, "0.002", ts=2000),
        order(OrderStatus.PARTIALLY_FILLED, "0.007", ts=3000),
        order(OrderStatus.FILLED, "0.010", ts=4000),
    ]
    st_ = AccountState()
    for i in [*perm, *dups]:
        st_.apply(seq[i])
    assert st_.order("8886774") == seq[3]
    assert st_.open_orders() == []


def test_client_id_index_prefers_live_order() -> None:
    st_ = AccountState()
    st_.apply(order(OrderStatus.FILLED, "0.010", id="1", cid="reuse"))
    st_.apply(order(OrderStatus.NEW, id="2", cid="reuse"))
    got = st_.order(client_order_id="reuse")
    assert got is not None
    assert got.id == "2"
    st_.apply(order(OrderStatus.CANCELED, id="3", cid="reuse"))  # a final one does not steal it
    got = st_.order(client_order_id="reuse")
    assert got is not None
    assert got.id == "2"


def test_closed_orders_are_bounded_and_evicted_ones_never_reopen() -> None:
    st_ = AccountState(max_closed_orders=3)
    for i in range(5):
        st_.apply(order(OrderStatus.FILLED, "0.010", id=str(i), cid=f"c{i}"))
    assert {o.id for o in st_.orders()} == {"2", "3", "4"}
    assert st_.order(client_order_id="c0") is None
    assert st_.apply(order(OrderStatus.NEW, id="0", cid="c0", ts=2**40)) is None


# -- replace_open_orders (ORIGINAL defect #11)


def test_replace_open_orders_only_touches_that_symbol() -> None:
    st_ = AccountState()
    st_.apply(order(id="b1", cid="b1"))
    st_.apply(order(id="b2", cid="b2"))
    st_.apply(order(id="e1", cid="e1", symbol=ETH, price="3000"))
    st_.replace_open_orders([order(id="b1", cid="b1")], symbol=BTC, timestamp=1_700_000_001_000)
    assert {o.id for o in st_.open_orders()} == {"b1", "e1"}
    assert {o.id for o in st_.open_orders(ETH)} == {"e1"}
    # a late stream echo of the vanished order does not bring it back
    assert st_.apply(order(id="b2", cid="b2", ts=1_700_000_000_500)) is None
    # a final update for it is still recorded
    assert (
        st_.apply(order(OrderStatus.CANCELED, id="b2", cid="b2", ts=1_700_000_002_000)) is not None
    )


def test_replace_open_orders_all_symbols_and_newer_stream_state_kept() -> None:
    st_ = AccountState()
    st_.apply(order(id="b1", cid="b1", ts=100))
    st_.apply(order(id="e1", cid="e1", symbol=ETH, ts=5000))  # arrived after the snapshot was taken
    changed = st_.replace_open_orders([order(id="b9", cid="b9", ts=90)], timestamp=1000)
    assert [o.id for o in changed] == ["b9"]
    assert {o.id for o in st_.open_orders()} == {"b9", "e1"}
    # a snapshot still showing an order the stream saw filled does not reopen it
    st_.apply(order(OrderStatus.FILLED, "0.010", id="b9", cid="b9", ts=2000))
    assert st_.replace_open_orders([order(id="b9", cid="b9", ts=90)], symbol=BTC) == []
    assert st_.open_orders(BTC) == []


# -- positions


def test_hedge_legs_are_separate_and_flat_is_kept() -> None:
    st_ = AccountState()
    st_.apply(pos("0.5", PositionSide.LONG, ts=1))
    st_.apply(pos("0.2", PositionSide.SHORT, ts=1))
    long_ = st_.position(BTC, PositionSide.LONG)
    short = st_.position(BTC, PositionSide.SHORT)
    assert long_ is not None
    assert short is not None
    assert (long_.size, short.size) == (D("0.5"), D("0.2"))
    flat = pos("0", PositionSide.LONG, ts=2)
    assert st_.apply(flat) is flat  # zero size is news, not noise (ORIGINAL defect #12)
    assert st_.position(BTC, PositionSide.LONG) == flat
    assert len(st_.positions_for(BTC)) == 2
    assert [p.position_side for p in st_.positions_for(BTC, include_flat=False)] == [
        PositionSide.SHORT
    ]


def test_position_older_update_ignored() -> None:
    st_ = AccountState()
    st_.apply(pos("1", ts=10))
    assert st_.apply(pos("2", ts=5)) is None
    assert st_.apply(pos("1", ts=10)) is None
    held = st_.position(BTC, PositionSide.BOTH)
    assert held is not None
    assert held.size == D("1")


def test_replace_positions_flattens_missing_legs_in_scope() -> None:
    st_ = AccountState()
    st_.apply(pos("0.5", PositionSide.LONG))
    st_.apply(pos("1", symbol=ETH))
    changed = st_.replace_positions([], symbols=[BTC], timestamp=99)
    assert [(p.symbol, p.size) for p in changed] == [(BTC, D(0))]
    eth = st_.position(ETH, PositionSide.BOTH)
    assert eth is not None
    assert eth.size == D("1")
    changed = st_.replace_positions([pos("-3", symbol=ETH, ts=100)])
    assert [(p.symbol, p.size) for p in changed] == [(ETH, D("-3"))]


# -- fills


def test_fills_deduplicated_and_enriched() -> None:
    st_ = AccountState()
    lite = fill("698759")
    assert st_.apply(lite) is lite
    full = fill("698759", fee="0.02")
    assert st_.apply(full) is None  # the same fill again (TRADE_LITE then ORDER_TRADE_UPDATE)
    assert st_.fills(BTC) == [full]  # kept the record with the fee
    other = fill("698759", symbol=ETH)  # trade ids are per symbol
    assert st_.apply(other) is other
    assert st_.fills(order_id="8886774") == [full, other]


def test_fill_window_is_bounded() -> None:
    st_ = AccountState(max_fills=3)
    for i in range(5):
        st_.apply(fill(str(i)))
    assert [f.id for f in st_.fills()] == ["2", "3", "4"]
    assert not st_.has_fill(BTC, "0")


# -- balances and other events


def test_balances_guard_and_snapshot() -> None:
    st_ = AccountState()
    b1 = Balance(asset="USDT", wallet_balance=D("100"), timestamp=10)
    assert st_.apply(b1) is b1
    assert st_.apply(Balance(asset="USDT", wallet_balance=D("90"), timestamp=5)) is None
    assert st_.balances["USDT"].wallet_balance == D("100")
    snap = [
        Balance(asset="USDT", wallet_balance=D("120")),
        Balance(asset="BNB", wallet_balance=D("1")),
    ]
    assert len(st_.replace_balances(snap)) == 2
    assert set(st_.balances) == {"USDT", "BNB"}


def test_config_and_advisory_events() -> None:
    st_ = AccountState()
    ev = AccountConfigEvent(timestamp=1, symbol="BTCUSDT", leverage=25)
    assert st_.apply(ev) is ev
    assert st_.apply(ev) is None
    assert st_.leverage == {"BTCUSDT": 25}
    mc = MarginCallEvent(timestamp=2, positions=[])
    assert st_.apply(mc) is mc
    exp = StreamExpired(timestamp=3, reason="listenKeyExpired")
    assert st_.apply_all([exp, ev]) == [exp]


def test_clear() -> None:
    st_ = AccountState()
    st_.apply(order())
    st_.apply(pos("1"))
    st_.clear()
    assert st_.orders() == []
    assert st_.positions == {}


@pytest.mark.parametrize("status", [OrderStatus.REJECTED, OrderStatus.EXPIRED])
def test_final_statuses_leave_open_set(status: OrderStatus) -> None:
    st_ = AccountState()
    st_.apply(order())
    st_.apply(order(status, ts=1_700_000_000_001))
    assert st_.open_orders() == []
