"""``StagedDeltas``: merged deferred deltas give exactly the book of applying each one in turn."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bat_markets.core import MAX_STAGED_FRAMES, BookDeltaEvent, DecodeError, OrderBook, StagedDeltas

TICK = Decimal("0.1")
STEP = Decimal("0.001")
# several spellings of the same tick, so the merge order matters
PRICES = ["100.0", "100.00", "100", "100.1", "100.10", "100.2", "99.9", "99.90", "99.8", "101"]
AMOUNTS = ["0", "0.000", "1.000", "1.5", "1.500", "2", "0.001", "12.345"]


def ev(bids: list[tuple[str, str]], asks: list[tuple[str, str]], u: int = 1) -> BookDeltaEvent:
    return BookDeltaEvent(symbol="X", bids=bids, asks=asks, last_id=u, timestamp=1000 + u)


def state(book: OrderBook) -> tuple[list[tuple[Decimal, Decimal]], ...]:
    s = book.snapshot()
    return (
        [(lv.price, lv.amount) for lv in s.bids],
        [(lv.price, lv.amount) for lv in s.asks],
    )


level = st.tuples(st.sampled_from(PRICES), st.sampled_from(AMOUNTS))
side = st.lists(level, max_size=6)


@settings(max_examples=300, deadline=None)
@given(
    deltas=st.lists(st.tuples(side, side), min_size=1, max_size=40),
    flush_at=st.sets(st.integers(0, 40)),
)
def test_staged_equals_per_event_apply(
    deltas: list[tuple[list[tuple[str, str]], list[tuple[str, str]]]], flush_at: set[int]
) -> None:
    # bids and asks share prices here: the book does not police crossing, the sync does
    plain = OrderBook("X", TICK, STEP)
    deferred = OrderBook("X", TICK, STEP)
    for book in (plain, deferred):
        book.apply_snapshot([("99.5", "3.000")], [("100.5", "3.000")], update_id=0)
    staged = StagedDeltas()
    for u, (bids, asks) in enumerate(deltas, 1):
        plain.apply_delta(bids, asks, update_id=u, timestamp=1000 + u)
        if staged.add(ev(bids, asks, u), u) or u in flush_at:
            staged.flush(deferred)
            assert state(deferred) == state(plain)
            assert deferred.update_id == plain.update_id == u
            assert deferred.timestamp == plain.timestamp
    staged.flush(deferred)
    assert staged.frames == 0
    assert state(deferred) == state(plain)
    assert deferred.update_id == plain.update_id
    assert deferred.timestamp == plain.timestamp


def test_mixed_spellings_keep_the_last_write() -> None:
    book = OrderBook("X", TICK, STEP)
    staged = StagedDeltas()
    staged.add(ev([("100.00", "2.000")], []), 1)
    staged.add(ev([("100.0", "1.000")], []), 2)
    staged.add(ev([("100.00", "0")], []), 3)  # the last write deletes the level
    staged.flush(book)
    assert book.bid_depth == 0
    assert book.update_id == 3


def test_flush_is_due_after_max_frames() -> None:
    staged = StagedDeltas()
    due = [staged.add(ev([("100.0", "1.000")], [], u), u) for u in range(1, MAX_STAGED_FRAMES + 1)]
    assert due[-1]
    assert not any(due[:-1])


@pytest.mark.parametrize("bad", ["abc", "-1.000", "1.0.0", "", "1,5", "\uff11.000"])
def test_a_malformed_amount_hidden_by_a_later_write_is_still_rejected(bad: str) -> None:
    book = OrderBook("X", TICK, STEP)
    book.apply_snapshot([("99.0", "1.000")], [("101.0", "1.000")], update_id=0)
    before = state(book)
    staged = StagedDeltas()
    staged.add(ev([("100.0", bad)], []), 1)
    staged.add(ev([("100.0", "1.000")], []), 2)  # overwrites the bad amount
    with pytest.raises(DecodeError):
        staged.flush(book)
    assert state(book) == before  # untouched
    assert staged.frames == 0


def test_a_malformed_price_is_rejected_at_flush() -> None:
    book = OrderBook("X", TICK, STEP)
    staged = StagedDeltas()
    staged.add(ev([("1x0.0", "1.000")], []), 1)
    with pytest.raises(DecodeError):
        staged.flush(book)
    assert book.bid_depth == 0


@pytest.mark.parametrize("frames", [1, 2, 5])  # the in-order path and the merging path
def test_a_level_that_is_not_a_pair_is_rejected_at_flush(frames: int) -> None:
    book = OrderBook("X", TICK, STEP)
    book.apply_snapshot([("99.0", "1.000")], [("101.0", "1.000")], update_id=0)
    before = state(book)
    staged = StagedDeltas()
    for u in range(1, frames):
        staged.add(ev([("100.0", "1.000")], [], u), u)
    bad = BookDeltaEvent(symbol="X", bids=[("100.0", "1.000", "x")], asks=[], last_id=frames)  # type: ignore[list-item]
    staged.add(bad, frames)
    with pytest.raises(DecodeError):
        staged.flush(book)
    assert staged.frames == 0
    assert state(book) == before  # untouched


def test_a_side_that_is_not_a_list_is_rejected_when_staged() -> None:
    staged = StagedDeltas()
    staged.add(ev([("100.0", "1.000")], []), 1)
    bad = BookDeltaEvent(symbol="X", bids=None, asks=[], last_id=2)  # type: ignore[arg-type]
    with pytest.raises(DecodeError):
        staged.add(bad, 2)
    assert staged.frames == 0


@pytest.mark.parametrize(
    "bad", ["abc", "-1.000", "1.0.0", "", ".", "1,5", "1e3", " 1", "\uff11.000"]
)
def test_a_malformed_amount_is_rejected_on_the_merging_path(bad: str) -> None:
    book = OrderBook("X", TICK, STEP)
    book.apply_snapshot([("99.0", "1.000")], [("101.0", "1.000")], update_id=0)
    before = state(book)
    staged = StagedDeltas()
    for u in range(1, 9):  # many overlapping deltas: the merge pays, so it is taken
        staged.add(ev([("100.0", bad if u == 2 else f"{u}.000")], [("100.5", "1.000")], u), u)
    with pytest.raises(DecodeError):
        staged.flush(book)
    assert state(book) == before


def test_overlapping_deltas_are_merged_to_the_same_book() -> None:
    plain = OrderBook("X", TICK, STEP)
    deferred = OrderBook("X", TICK, STEP)
    staged = StagedDeltas()
    for u in range(1, 50):
        bids = [
            (f"{100 - (u * 7 + i) % 10 / 10:.1f}", f"{(u + i) % 4}.{u % 10}00") for i in range(6)
        ]
        asks = [
            (f"{101 + (u * 3 + i) % 10 / 10:.1f}", "0" if (u + i) % 5 == 0 else "1.000")
            for i in range(6)
        ]
        plain.apply_delta(bids, asks, update_id=u)
        staged.add(ev(bids, asks, u), u)
    staged.flush(deferred)
    assert state(deferred) == state(plain)
    assert deferred.update_id == 49


def test_off_grid_overwritten_amount_is_not_malformed() -> None:
    plain = OrderBook("X", TICK, STEP)
    deferred = OrderBook("X", TICK, STEP)
    staged = StagedDeltas()
    plain.apply_delta([("100.0", "1.0005")], [])
    plain.apply_delta([("100.0", "2.000")], [])
    staged.add(ev([("100.0", "1.0005")], []), 1)
    staged.add(ev([("100.0", "2.000")], []), 2)
    staged.flush(deferred)
    assert state(deferred) == state(plain)
