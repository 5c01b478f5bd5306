"""Binance depth sync: the exact bridge rules, and property tests against a reference book."""

from __future__ import annotations

import random
from decimal import Decimal

from binance_kit import raw
from hypothesis import given, settings
from hypothesis import strategies as st

from bat_markets.binance import BinanceAdapter
from bat_markets.binance._book_sync import BinanceBookSync, PartialBookSync
from bat_markets.core import (
    BookDeltaEvent,
    BookSnapshotEvent,
    BookSync,
    StreamData,
    SyncStatus,
)

SPEC = BinanceAdapter().markets.resolve("BTCUSDT")
S = SyncStatus
SYM = SPEC.symbol


def delta(
    U: int,
    u: int,
    pu: int,
    bids: list[tuple[str, str]] | None = None,
    asks: list[tuple[str, str]] | None = None,
) -> BookDeltaEvent:
    return BookDeltaEvent(
        symbol=SYM, bids=bids or [], asks=asks or [], first_id=U, last_id=u, prev_id=pu
    )


def snap(
    L: int, bids: list[tuple[str, str]] | None = None, asks: list[tuple[str, str]] | None = None
) -> BookSnapshotEvent:
    return BookSnapshotEvent(
        symbol=SYM,
        bids=bids if bids is not None else [("100.0", "1.000")],
        asks=asks if asks is not None else [("101.0", "1.000")],
        update_id=L,
        source="rest",
    )


def synced(sync: BookSync) -> bool:
    """``sync.synced`` through a call, so mypy does not narrow it across events."""
    return sync.synced


def levels(
    sync: BookSync,
) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    s = sync.book.snapshot()
    return ({lv.price: lv.amount for lv in s.bids}, {lv.price: lv.amount for lv in s.asks})


# -- exact rules


def test_events_before_the_snapshot_are_buffered() -> None:
    sync = BinanceBookSync(SPEC)
    assert sync.resync == "rest_snapshot"
    assert sync.snapshot_limit == 1000
    assert sync.on_event(delta(90, 95, 80)) is S.NEED_SNAPSHOT
    assert sync.on_event(delta(96, 99, 95)) is S.BUFFERED
    assert not synced(sync)
    assert sync.book.bid_depth == 0


def test_bridge_drops_old_events_and_applies_from_U_le_L_le_u() -> None:
    sync = BinanceBookSync(SPEC)
    sync.on_event(delta(90, 95, 80, bids=[("99.0", "5.000")]))  # u < L: dropped
    sync.on_event(delta(96, 105, 95, bids=[("100.0", "2.000")]))  # U <= 100 <= u: bridge
    sync.on_event(delta(106, 110, 105, asks=[("101.0", "0")]))
    assert sync.on_event(snap(100)) is S.APPLIED
    assert synced(sync)
    bids, asks = levels(sync)
    assert bids == {Decimal("100.0"): Decimal("2.000")}  # 99.0 from the dropped event is absent
    assert asks == {}
    assert sync.book.update_id == 110
    assert sync.on_event(delta(111, 112, 110, bids=[("98.0", "1.000")])) is S.APPLIED
    assert sync.on_event(delta(111, 112, 110)) is S.IGNORED  # duplicate


def test_stale_snapshot_needs_another_one() -> None:
    sync = BinanceBookSync(SPEC)
    sync.on_event(delta(120, 125, 110))
    assert sync.on_event(snap(100)) is S.NEED_SNAPSHOT  # U=120 > L=100
    assert not synced(sync)
    assert sync.book.bid_depth == 0
    sync.on_event(delta(126, 130, 125))
    assert sync.on_event(snap(127)) is S.APPLIED  # 126 <= 127 <= 130
    assert sync.book.update_id == 130


def test_pu_mismatch_is_a_gap_and_resync_recovers() -> None:
    sync = BinanceBookSync(SPEC)
    sync.on_event(delta(1, 10, 0))
    assert sync.on_event(snap(5)) is S.APPLIED
    assert sync.on_event(delta(12, 15, 11)) is S.GAP  # pu 11 != 10
    assert not synced(sync)
    assert sync.book.bid_depth == 0
    assert sync.on_event(delta(16, 20, 15)) is S.BUFFERED  # the GAP already asked for a snapshot
    assert sync.on_event(snap(17, bids=[("90.0", "1.000")])) is S.APPLIED
    assert synced(sync)
    assert levels(sync)[0] == {Decimal("90.0"): Decimal("1.000")}


def test_snapshot_first_then_bridge_from_the_stream() -> None:
    sync = BinanceBookSync(SPEC)
    assert sync.on_event(snap(50)) is S.APPLIED  # a true state at L=50
    assert sync.on_event(delta(40, 49, 39)) is S.IGNORED  # u < L
    assert sync.on_event(delta(45, 55, 49, asks=[("102.0", "3.000")])) is S.APPLIED
    assert sync.on_event(delta(56, 60, 55)) is S.APPLIED
    fresh = BinanceBookSync(SPEC)
    fresh.on_event(snap(50))
    assert fresh.on_event(delta(52, 55, 51)) is S.NEED_SNAPSHOT  # U > L while bridging
    assert not synced(fresh)


def test_pending_events_after_a_break_stay_buffered() -> None:
    sync = BinanceBookSync(SPEC)
    sync.on_event(delta(1, 10, 0))
    sync.on_event(delta(11, 20, 10))
    sync.on_event(delta(25, 30, 21))  # pu 21 != 20: a gap inside the buffer
    sync.on_event(delta(31, 40, 30))
    assert sync.on_event(snap(5)) is S.GAP
    assert sync.on_event(snap(27)) is S.APPLIED  # 25 <= 27 <= 30, then 31..40 chains
    assert sync.book.update_id == 40


def test_old_or_ws_snapshots_do_not_disturb_a_synced_book() -> None:
    sync = BinanceBookSync(SPEC)
    sync.on_event(snap(10))
    sync.on_event(delta(5, 12, 4))
    assert sync.on_event(snap(8)) is S.IGNORED
    ws = BookSnapshotEvent(symbol=SYM, bids=[], asks=[], update_id=99, source="ws")
    assert sync.on_event(ws) is S.IGNORED
    assert synced(sync)


def test_malformed_levels_are_a_gap() -> None:
    sync = BinanceBookSync(SPEC)
    sync.on_event(snap(10))
    assert sync.on_event(delta(5, 12, 4, bids=[("abc", "1")])) is S.GAP
    assert not synced(sync)
    assert sync.on_event(snap(11, bids=[("bad", "x")])) is S.NEED_SNAPSHOT


def test_reset_forgets_everything() -> None:
    sync = BinanceBookSync(SPEC)
    sync.on_event(snap(10))
    sync.reset()
    assert not synced(sync)
    assert sync.on_event(delta(11, 12, 10)) is S.NEED_SNAPSHOT


def test_partial_depth_sync() -> None:
    adapter = BinanceAdapter()
    sync = adapter.book_sync(SPEC, 5)
    assert isinstance(sync, PartialBookSync)
    assert sync.resync == "resubscribe"
    assert sync.snapshot_limit is None
    import json

    frame = json.dumps(
        {"stream": "btcusdt@depth5@100ms", "data": json.loads(raw("ws/depth_partial.json"))}
    )
    out = adapter.decode_public(frame)
    assert isinstance(out, StreamData)
    (event,) = out.events
    assert sync.on_event(event) is S.APPLIED  # type: ignore[arg-type]
    assert synced(sync)
    assert sync.book.best_bid() == (Decimal("7405.43"), Decimal("2.562"))
    assert sync.book.best_ask() == (Decimal("7405.96"), Decimal("3.340"))
    assert sync.on_event(delta(1, 2, 0)) is S.IGNORED


def test_adapter_book_sync_choice() -> None:
    adapter = BinanceAdapter()
    full = adapter.book_sync(SPEC, None)
    assert isinstance(full, BinanceBookSync)
    assert full.snapshot_limit == 1000
    assert isinstance(adapter.book_sync(SPEC, 500), BinanceBookSync)


def test_fixture_frames_through_the_sync() -> None:
    adapter = BinanceAdapter()
    sync = adapter.book_sync(SPEC, None)
    out = adapter.decode_public(raw("ws/combined_depth_update.json"))
    assert isinstance(out, StreamData)
    (event,) = out.events
    assert isinstance(event, BookDeltaEvent)
    assert sync.on_event(event) is S.NEED_SNAPSHOT
    # a snapshot inside [U, u] of the buffered event bridges it
    assert sync.on_event(snap(1801732832000, bids=[("24427.70", "1.000")], asks=[])) is S.APPLIED
    bids, asks = levels(sync)
    assert bids[Decimal("24427.70")] == Decimal("4.350")  # overwritten by the event
    assert Decimal("2467.10") not in bids  # "0.000" deletes (unknown level: no-op)
    assert asks[Decimal("24671.00")] == Decimal("20.812")
    assert sync.book.update_id == 1801732832589


# -- property: random streams against a reference book


def _price(i: int) -> str:
    return f"{i // 10}.{i % 10}"


class Venue:
    """A reference venue: a chain of diff events with U/u/pu and the book after each."""

    def __init__(self, rng: random.Random, n: int) -> None:
        self.rng = rng
        book: tuple[dict[str, str], dict[str, str]] = ({}, {})
        for _ in range(30):
            book[0][_price(rng.randrange(900, 1000))] = f"{rng.randrange(1, 9)}.000"
            book[1][_price(rng.randrange(1000, 1100))] = f"{rng.randrange(1, 9)}.000"
        u = rng.randrange(1000, 5000)
        self.states: dict[int, tuple[dict[str, str], dict[str, str]]] = {u: _copy(book)}
        self.events: list[BookDeltaEvent] = []
        self.first_u = u
        for _ in range(n):
            U = u + rng.randrange(1, 4)
            new_u = U + rng.randrange(0, 5)
            bids = [
                (_price(rng.randrange(900, 1000)), self._qty()) for _ in range(rng.randrange(0, 5))
            ]
            asks = [
                (_price(rng.randrange(1000, 1100)), self._qty()) for _ in range(rng.randrange(0, 5))
            ]
            for side, changes in ((book[0], bids), (book[1], asks)):
                for p, q in changes:
                    if Decimal(q):
                        side[p] = q
                    else:
                        side.pop(p, None)
            self.events.append(delta(U, new_u, u, bids, asks))
            u = new_u
            self.states[u] = _copy(book)

    def _qty(self) -> str:
        return (
            "0"
            if self.rng.random() < 0.3
            else f"{self.rng.randrange(1, 20)}.{self.rng.randrange(0, 1000):03d}"
        )

    def snapshot_after(self, index: int) -> BookSnapshotEvent:
        """The venue book after event ``index`` (-1: before any), maybe mid-way into the next."""
        if index < 0:
            L = self.first_u
        else:
            L = self.events[index].last_id
        bids, asks = _copy(self.states[L])
        nxt = self.events[index + 1] if index + 1 < len(self.events) else None
        if (
            nxt is not None
            and nxt.first_id is not None
            and nxt.first_id < nxt.last_id
            and self.rng.random() < 0.5
        ):
            # a snapshot taken inside the next event's id range: part of its changes are in
            L = self.rng.randrange(nxt.first_id, nxt.last_id)
            for side, changes in ((bids, nxt.bids), (asks, nxt.asks)):
                for p, q in changes[: self.rng.randrange(0, len(changes) + 1)]:
                    if Decimal(q):
                        side[p] = q
                    else:
                        side.pop(p, None)
            self.states[L] = (bids, asks)
        return BookSnapshotEvent(
            symbol=SYM,
            bids=sorted(bids.items(), reverse=True),
            asks=sorted(asks.items()),
            update_id=L,
            source="rest",
        )


def _copy(book: tuple[dict[str, str], dict[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    return dict(book[0]), dict(book[1])


def _same(sync: BinanceBookSync, state: tuple[dict[str, str], dict[str, str]]) -> bool:
    bids, asks = levels(sync)
    want_b = {Decimal(p): Decimal(q) for p, q in state[0].items()}
    want_a = {Decimal(p): Decimal(q) for p, q in state[1].items()}
    return bids == want_b and asks == want_a


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(5, 80),
    drop=st.floats(0, 0.15),
    swap=st.floats(0, 0.15),
    start=st.integers(0, 10),
    delay=st.integers(0, 6),
)
def test_random_streams_never_show_a_wrong_book(
    seed: int, n: int, drop: float, swap: float, start: int, delay: int
) -> None:
    rng = random.Random(seed)
    venue = Venue(rng, n)
    stream = list(venue.events[min(start, n - 1) :])  # subscribed late: earlier events never seen
    i = 0
    while i < len(stream) - 1:  # drops and adjacent reorders
        r = rng.random()
        if r < drop:
            del stream[i]
            continue
        if r < drop + swap:
            stream[i], stream[i + 1] = stream[i + 1], stream[i]
            i += 1
        i += 1
    sync = BinanceBookSync(SPEC)
    wanted_at: int | None = None  # stream position when a snapshot was asked for
    seen = -1  # index in venue.events of the newest event the venue has published so far
    position = {id(e): k for k, e in enumerate(venue.events)}

    def feed(event: BookDeltaEvent | BookSnapshotEvent) -> None:
        nonlocal wanted_at
        status = sync.on_event(event)
        if status in (S.GAP, S.NEED_SNAPSHOT):
            assert not synced(sync)
            assert sync.book.bid_depth == 0
            assert sync.book.ask_depth == 0
            wanted_at = k
        elif status is S.APPLIED:
            assert synced(sync)
        if synced(sync):
            assert sync.book.update_id is not None
            assert _same(sync, venue.states[sync.book.update_id]), "book differs from the venue"

    for k, event in enumerate(stream):
        seen = max(seen, position[id(event)])
        feed(event)
        if wanted_at is not None and k - wanted_at >= delay:
            wanted_at = None
            feed(venue.snapshot_after(seen))
    # liveness: a snapshot taken after the last event always syncs (every buffered event is older)
    if not synced(sync):
        feed(venue.snapshot_after(len(venue.events) - 1))
        assert synced(sync)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(5, 60))
def test_clean_streams_always_sync_and_track_the_venue(seed: int, n: int) -> None:
    rng = random.Random(seed)
    venue = Venue(rng, n)
    sync = BinanceBookSync(SPEC)
    snapshot_at = rng.randrange(0, n)
    for k, event in enumerate(venue.events):
        status = sync.on_event(event)
        if k == snapshot_at:
            assert status is S.NEED_SNAPSHOT if k == 0 else status is S.BUFFERED
            status = sync.on_event(venue.snapshot_after(rng.randrange(0, k + 1)))
            assert status is S.APPLIED
        if synced(sync):
            assert sync.book.update_id is not None
            assert _same(sync, venue.states[sync.book.update_id])
    assert synced(sync)
    assert sync.book.update_id == venue.events[-1].last_id
