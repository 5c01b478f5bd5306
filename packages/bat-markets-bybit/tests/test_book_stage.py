"""Deferred apply (``stage``/``flush``): same statuses and the same book as ``on_event``."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bat_markets.bybit import BybitAdapter, BybitBookSync
from bat_markets.core import BookDeltaEvent, BookSnapshotEvent, SyncStatus

SPEC = BybitAdapter().markets.resolve("BTCUSDT")
SYM = SPEC.symbol
S = SyncStatus
Event = BookDeltaEvent | BookSnapshotEvent
Levels = list[tuple[str, str]]

amounts = st.sampled_from(["0", "0.000", "0.001", "1.000", "1.5", "2.250", "10"])
# bids below 1000, asks above: a lossless stream never crosses
step = st.tuples(
    st.sampled_from(["next", "next", "next", "next", "dup", "skip", "snap", "restart"]),
    st.lists(
        st.tuples(st.integers(9_980, 9_999).map(lambda t: f"{t / 10:.1f}"), amounts), max_size=5
    ),
    st.lists(
        st.tuples(st.integers(10_001, 10_020).map(lambda t: f"{t / 10:.1f}"), amounts), max_size=5
    ),
    st.booleans(),  # flush (read) after this event
)


def state(sync: BybitBookSync) -> tuple[list[tuple[Decimal, Decimal]], ...]:
    s = sync.book.snapshot()
    return [(x.price, x.amount) for x in s.bids], [(x.price, x.amount) for x in s.asks]


def snapshot(u: int, bids: Levels, asks: Levels) -> BookSnapshotEvent:
    return BookSnapshotEvent(
        symbol=SYM,
        bids=[("998.0", "5.000"), *bids],
        asks=[("1002.0", "5.000"), *asks],
        update_id=u,
        timestamp=u,
    )


def delta(u: int, bids: Levels, asks: Levels) -> BookDeltaEvent:
    return BookDeltaEvent(symbol=SYM, bids=bids, asks=asks, last_id=u, timestamp=u)


def build(steps: list[tuple[str, Levels, Levels, bool]]) -> list[tuple[Event, bool]]:
    out: list[tuple[Event, bool]] = [(snapshot(100, [], []), False)]
    u = 100
    for kind, bids, asks, read in steps:
        if kind == "snap":
            u += 1
            out.append((snapshot(u, bids, asks), read))
        elif kind == "restart":  # u == 1: the venue restarted the stream, a full book
            u = 1
            out.append((delta(1, [("998.0", "5.000"), *bids], [("1002.0", "5.000"), *asks]), read))
        elif kind == "dup":
            out.append((delta(u, bids, asks), read))
        else:
            u += 2 if kind == "skip" else 1
            out.append((delta(u, bids, asks), read))
    return out


@settings(max_examples=250, deadline=None)
@given(steps=st.lists(step, min_size=1, max_size=60), strict=st.booleans())
def test_deferred_stream_matches_per_event_apply(
    steps: list[tuple[str, Levels, Levels, bool]], strict: bool
) -> None:
    plain = BybitBookSync(SPEC, 50, strict_sequence=strict)
    deferred = BybitBookSync(SPEC, 50, strict_sequence=strict)
    for event, read in build(steps):
        expected = plain.on_event(event)
        got = deferred.stage(event)
        assert got is expected  # sequence checks run on every event as it arrives
        if read:
            assert deferred.flush() is S.APPLIED
            assert deferred.synced == plain.synced
            assert deferred.last_update_id == plain.last_update_id
            if plain.synced:
                assert state(deferred) == state(plain)
                assert deferred.book.update_id == plain.book.update_id
                assert deferred.book.timestamp == plain.book.timestamp
    assert deferred.flush() is S.APPLIED
    assert deferred.synced == plain.synced
    assert state(deferred) == state(plain)


def synced() -> BybitBookSync:
    sync = BybitBookSync(SPEC, 50, strict_sequence=True)
    assert sync.stage(snapshot(100, [], [])) is S.APPLIED
    return sync


def test_a_crossed_book_found_at_flush_is_a_gap() -> None:
    sync = synced()
    assert sync.stage(delta(101, [("1003.0", "1.000")], [])) is S.APPLIED  # crosses the ask
    assert sync.flush() is S.GAP
    assert not sync.synced
    assert sync.book.bid_depth == 0
    assert sync.stage(delta(102, [], [])) is S.GAP  # a delta without a snapshot: resubscribe
    assert sync.stage(snapshot(5, [], [])) is S.APPLIED
    assert sync.synced


def test_a_malformed_level_found_at_flush_is_a_gap() -> None:
    sync = synced()
    assert sync.stage(delta(101, [("999.0", "1.0.0")], [])) is S.APPLIED
    assert sync.stage(delta(102, [("999.0", "1.000")], [])) is S.APPLIED  # hides the bad amount
    assert sync.flush() is S.GAP
    assert not sync.synced
    assert sync.book.ask_depth == 0


def test_a_staged_gap_before_a_snapshot_is_still_reported() -> None:
    sync = synced()
    assert sync.stage(delta(101, [("999.0", "bad")], [])) is S.APPLIED
    assert sync.stage(snapshot(200, [], [])) is S.GAP  # flushed first: the GAP is not lost
    assert not sync.synced
