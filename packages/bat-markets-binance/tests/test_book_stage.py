"""Deferred apply (``stage``/``flush``): same statuses and the same book as ``on_event``."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bat_markets.binance import BinanceAdapter
from bat_markets.binance._book_sync import BinanceBookSync
from bat_markets.core import MAX_STAGED_FRAMES, BookDeltaEvent, BookSnapshotEvent, SyncStatus

SPEC = BinanceAdapter().markets.resolve("BTCUSDT")
SYM = SPEC.symbol
S = SyncStatus
Event = BookDeltaEvent | BookSnapshotEvent

prices = st.integers(9_990, 10_010).map(lambda t: f"{t // 10}.{t % 10}")
amounts = st.sampled_from(["0", "0.000", "0.001", "1.000", "1.5", "2.250", "10"])
side = st.lists(st.tuples(prices, amounts), max_size=5)
step = st.tuples(
    st.sampled_from(["next", "next", "next", "next", "dup", "gap", "snap"]),
    st.integers(1, 3),  # ids per event
    side,
    side,
    st.booleans(),  # flush (read) after this event
)


def state(sync: BinanceBookSync) -> tuple[list[tuple[Decimal, Decimal]], ...]:
    s = sync.book.snapshot()
    return [(x.price, x.amount) for x in s.bids], [(x.price, x.amount) for x in s.asks]


def build(
    steps: list[tuple[str, int, list[tuple[str, str]], list[tuple[str, str]], bool]],
) -> list[tuple[Event, bool]]:
    """A diff stream from ``steps`` (chained ``pu``; duplicates, breaks and REST snapshots)."""
    out: list[tuple[Event, bool]] = []
    u = 100
    last: BookDeltaEvent | None = None
    for kind, n, bids, asks, read in steps:
        if kind == "dup" and last is not None:
            out.append((last, read))
            continue
        if kind == "snap":
            snap = BookSnapshotEvent(
                symbol=SYM,
                bids=[("999.0", "5.000"), *bids],
                asks=[("1001.0", "5.000"), *asks],
                update_id=u,
                source="rest",
            )
            out.append((snap, read))
            continue
        pu = u + 1 if kind == "gap" else u
        event = BookDeltaEvent(
            symbol=SYM,
            bids=bids,
            asks=asks,
            first_id=u + 1,
            last_id=u + n,
            prev_id=pu,
            timestamp=u + n,
        )
        u += n
        last = event
        out.append((event, read))
    return out


@settings(max_examples=250, deadline=None)
@given(steps=st.lists(step, min_size=1, max_size=60))
def test_deferred_stream_matches_per_event_apply(
    steps: list[tuple[str, int, list[tuple[str, str]], list[tuple[str, str]], bool]],
) -> None:
    plain = BinanceBookSync(SPEC)
    deferred = BinanceBookSync(SPEC)
    seed = BookSnapshotEvent(
        symbol=SYM,
        bids=[("999.5", "1.000")],
        asks=[("1000.5", "1.000")],
        update_id=100,
        source="rest",
    )
    assert deferred.stage(seed) is plain.on_event(seed) is S.APPLIED
    for event, read in build(steps):
        expected = plain.on_event(event)
        got = deferred.stage(event)
        assert got is expected  # sequence checks run on every event as it arrives
        if read:
            assert deferred.flush() is S.APPLIED
            assert deferred.synced == plain.synced
            if plain.synced:
                assert state(deferred) == state(plain)
                assert deferred.book.update_id == plain.book.update_id
                assert deferred.book.timestamp == plain.book.timestamp
    assert deferred.flush() is S.APPLIED
    assert deferred.synced == plain.synced
    assert state(deferred) == state(plain)


def synced_pair() -> tuple[BinanceBookSync, BinanceBookSync]:
    syncs = BinanceBookSync(SPEC), BinanceBookSync(SPEC)
    for sync in syncs:
        sync.on_event(
            BookDeltaEvent(symbol=SYM, bids=[], asks=[], first_id=99, last_id=101, prev_id=98)
        )
        sync.on_event(
            BookSnapshotEvent(
                symbol=SYM,
                bids=[("999.0", "1.000")],
                asks=[("1001.0", "1.000")],
                update_id=100,
                source="rest",
            )
        )
        assert sync.synced
    return syncs


def d(u: int, bids: list[tuple[str, str]]) -> BookDeltaEvent:
    return BookDeltaEvent(symbol=SYM, bids=bids, asks=[], first_id=u, last_id=u, prev_id=u - 1)


def test_a_malformed_level_found_at_flush_is_a_gap_and_recovers() -> None:
    _, sync = synced_pair()
    assert sync.stage(d(102, [("999.5", "1.000")])) is S.APPLIED
    assert sync.stage(d(103, [("999.6", "x1")])) is S.APPLIED  # accepted: checked, not applied
    assert sync.stage(d(104, [("999.6", "2.000")])) is S.APPLIED  # hides the bad amount
    assert sync.flush() is S.GAP
    assert not sync.synced
    assert sync.book.bid_depth == 0  # discarded, never a half-applied book
    # the next diff is buffered for the REST snapshot, which rebuilds the book
    assert sync.stage(d(105, [("999.7", "1.000")])) is S.BUFFERED
    snap = BookSnapshotEvent(
        symbol=SYM,
        bids=[("999.0", "3.000")],
        asks=[("1001.0", "1.000")],
        update_id=105,
        source="rest",
    )
    assert sync.on_event(snap) is S.APPLIED
    assert sync.flush() is S.APPLIED
    assert state(sync)[0] == [(Decimal("999.7"), Decimal("1")), (Decimal("999.0"), Decimal("3"))]


def test_a_pu_break_is_reported_on_arrival_and_drops_staged_levels() -> None:
    _, sync = synced_pair()
    assert sync.stage(d(102, [("999.5", "1.000")])) is S.APPLIED
    assert sync.stage(d(104, [("999.6", "1.000")])) is S.GAP  # pu 103 != 102
    assert not sync.synced
    assert sync.flush() is S.APPLIED  # nothing staged any more
    assert sync.book.bid_depth == 0


def test_a_stage_flushes_itself_when_full() -> None:
    _, sync = synced_pair()
    last = 101 + MAX_STAGED_FRAMES
    for u in range(102, last):
        assert sync.stage(d(u, [("999.5", f"{u - 100}.000")])) is S.APPLIED
    assert sync.book.update_id == 101  # still staged (101: the bridging diff)
    assert sync.stage(d(last, [("999.5", "7.000")])) is S.APPLIED  # the stage is full: applied
    assert sync.book.update_id == last
    assert state(sync)[0][0] == (Decimal("999.5"), Decimal("7"))


def test_reset_forgets_staged_levels() -> None:
    _, sync = synced_pair()
    sync.stage(d(102, [("999.5", "1.000")]))
    sync.reset()
    assert sync.flush() is S.APPLIED
    assert sync.book.bid_depth == 0
