"""Bybit book sync: fixture replays, rule checks and property tests against reference books.

Frames are built as Bybit ``orderbook.50`` JSON, decoded by the adapter and fed to its
``BookSync``: the whole websocket path, not hand-made events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bat_markets.bybit import BybitAdapter, BybitBookSync
from bat_markets.core import BookDeltaEvent, BookSnapshotEvent, StreamData, SyncStatus

TICK = Decimal("0.1")
STEP = Decimal("0.001")
Book = dict[int, int]  # price ticks -> amount steps


def frame(kind: str, bids: Book, asks: Book, u: int, seq: int = 0) -> bytes:
    def levels(side: Book) -> list[list[str]]:
        return [[str(p * TICK), str(q * STEP)] for p, q in side.items()]

    return json.dumps(
        {
            "topic": "orderbook.50.BTCUSDT",
            "type": kind,
            "ts": 1_700_000_000_000 + u,
            "data": {"s": "BTCUSDT", "b": levels(bids), "a": levels(asks), "u": u, "seq": seq},
            "cts": 1_700_000_000_000 + u,
        }
    ).encode()


def feed(adapter: BybitAdapter, sync: BybitBookSync, raw: bytes) -> SyncStatus:
    decoded = adapter.decode_public(raw)
    assert isinstance(decoded, StreamData)
    (event,) = decoded.events
    assert isinstance(event, (BookSnapshotEvent, BookDeltaEvent))
    return sync.on_event(event)


def book_state(sync: BybitBookSync) -> tuple[Book, Book]:
    snap = sync.book.snapshot()
    bids = {int(lv.price / TICK): int(lv.amount / STEP) for lv in snap.bids}
    asks = {int(lv.price / TICK): int(lv.amount / STEP) for lv in snap.asks}
    return bids, asks


def new_sync(adapter: BybitAdapter) -> BybitBookSync:
    return adapter.book_sync(adapter.markets.resolve("BTCUSDT"), 50)


# -- fixtures and rules --------------------------------------------------------------------------


def test_fixture_snapshot_then_delta(adapter: BybitAdapter, h) -> None:
    sync = new_sync(adapter)
    assert sync.resync == "resubscribe"
    assert not sync.synced
    assert sync.depth == 50
    snapshot = h.load_json("ws/orderbook_50_snapshot.json")
    assert feed(adapter, sync, json.dumps(snapshot).encode()) is SyncStatus.APPLIED
    assert sync.book.best_bid() == (Decimal("16493.50"), Decimal("0.006"))
    assert sync.book.best_ask() == (Decimal("16611.00"), Decimal("0.029"))
    # The docs delta belongs to another day's book; re-target it onto this snapshot.
    delta = h.load_json("ws/orderbook_50_delta.json")
    delta["data"]["b"] = [["16493.50", "0"], ["16492.00", "1.5"]]
    delta["data"]["a"] = [["16611.00", "0.5"], ["16700.00", "0"]]
    delta["data"]["u"] = snapshot["data"]["u"] + 1
    assert feed(adapter, sync, json.dumps(delta).encode()) is SyncStatus.APPLIED
    assert sync.book.best_bid() == (Decimal("16493.00"), Decimal("0.100"))
    assert sync.book.best_ask() == (Decimal("16611.00"), Decimal("0.5"))
    assert sync.last_update_id == snapshot["data"]["u"] + 1
    assert sync.book.update_id == snapshot["data"]["u"] + 1
    # The same delta again is stale.
    assert feed(adapter, sync, json.dumps(delta).encode()) is SyncStatus.IGNORED


def test_delta_before_snapshot_is_gap(adapter: BybitAdapter, h) -> None:
    sync = new_sync(adapter)
    assert feed(adapter, sync, h.load_bytes("ws/orderbook_50_delta.json")) is SyncStatus.GAP
    assert not sync.synced


def test_crossed_book_is_gap_and_clears(adapter: BybitAdapter) -> None:
    sync = new_sync(adapter)
    feed(adapter, sync, frame("snapshot", {100: 1}, {101: 1}, 10))
    assert feed(adapter, sync, frame("delta", {102: 5}, {}, 11)) is SyncStatus.GAP
    assert not sync.synced
    assert sync.book.bid_depth == 0
    assert sync.book.ask_depth == 0
    # Until the venue's next snapshot, deltas cannot apply.
    assert feed(adapter, sync, frame("delta", {99: 1}, {}, 12)) is SyncStatus.GAP
    assert feed(adapter, sync, frame("snapshot", {99: 1}, {103: 1}, 13)) is SyncStatus.APPLIED
    assert book_state(sync) == ({99: 1}, {103: 1})


def test_malformed_level_is_gap(adapter: BybitAdapter) -> None:
    sync = new_sync(adapter)
    feed(adapter, sync, frame("snapshot", {100: 1}, {101: 1}, 10))
    bad = json.loads(frame("delta", {}, {}, 11))
    bad["data"]["b"] = [["1e3", "1"]]  # exponent form is not a venue level
    assert feed(adapter, sync, json.dumps(bad).encode()) is SyncStatus.GAP


def test_u_equal_one_restarts(adapter: BybitAdapter) -> None:
    sync = new_sync(adapter)
    feed(adapter, sync, frame("snapshot", {100: 1}, {101: 1}, 5000))
    # Venue restart: a u=1 message replaces the book even though u went down.
    assert feed(adapter, sync, frame("delta", {90: 2}, {95: 3}, 1)) is SyncStatus.APPLIED
    assert book_state(sync) == ({90: 2}, {95: 3})
    assert sync.last_update_id == 1
    assert feed(adapter, sync, frame("delta", {91: 1}, {}, 2)) is SyncStatus.APPLIED
    assert book_state(sync) == ({90: 2, 91: 1}, {95: 3})


def test_new_snapshot_replaces_and_reset(adapter: BybitAdapter) -> None:
    sync = new_sync(adapter)
    feed(adapter, sync, frame("snapshot", {100: 1, 99: 1}, {101: 1}, 10))
    assert feed(adapter, sync, frame("snapshot", {50: 7}, {60: 8}, 11)) is SyncStatus.APPLIED
    assert book_state(sync) == ({50: 7}, {60: 8})
    sync.reset()
    assert not sync.synced
    assert sync.last_update_id is None
    assert sync.book.bid_depth == 0


def test_depth_one_resends_same_u(adapter: BybitAdapter, h) -> None:
    sync = adapter.book_sync(adapter.markets.resolve("BTCUSDT"), 1)
    assert sync.depth == 1
    raw = h.load_bytes("ws/orderbook_1_snapshot.json")
    assert feed(adapter, sync, raw) is SyncStatus.APPLIED
    assert feed(adapter, sync, raw) is SyncStatus.APPLIED  # snapshots always replace
    assert sync.book.best_bid() == (Decimal("45195.00"), Decimal("7.794"))


# -- properties ----------------------------------------------------------------------------------


@dataclass
class Venue:
    """The venue's true book and its stream of frames (u contiguous, never crossed)."""

    bids: Book = field(default_factory=dict)
    asks: Book = field(default_factory=dict)
    u: int = 0

    def snapshot(self, restart: bool = False) -> tuple[str, bytes, Book, Book, int]:
        self.u = 1 if restart else self.u + 1
        # A restart arrives as a u=1 message of either type; both must reset the book.
        kind = "delta" if restart and self.u % 2 else "snapshot"
        return (
            kind,
            frame(kind, self.bids, self.asks, self.u),
            dict(self.bids),
            dict(self.asks),
            self.u,
        )

    def delta(self, changes: list[tuple[bool, int, int]]) -> tuple[str, bytes, Book, Book, int]:
        db: Book = {}
        da: Book = {}
        for is_bid, price, amount in changes:
            side, other, d_side, d_other = (
                (self.bids, self.asks, db, da) if is_bid else (self.asks, self.bids, da, db)
            )
            if amount:
                # Keep the true book uncrossed: remove opposite levels the new one would cross.
                crossing = [p for p in other if (p <= price if is_bid else p >= price)]
                for p in crossing:
                    del other[p]
                    d_other[p] = 0
                side[price] = amount
                d_side[price] = amount
            elif price in side:
                del side[price]
                d_side[price] = 0
        self.u += 1
        return "delta", frame("delta", db, da, self.u), dict(self.bids), dict(self.asks), self.u


class Reference:
    """The documented rules on plain dicts: what the sync must produce from what it received."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.bids: Book = {}
        self.asks: Book = {}
        self.synced = False
        self.u: int | None = None

    def gap(self) -> SyncStatus:
        self.bids, self.asks, self.synced, self.u = {}, {}, False, None
        return SyncStatus.GAP

    def apply(self, kind: str, bids: Book, asks: Book, u: int) -> SyncStatus:
        if kind == "snapshot" or u == 1:
            self.bids = {p: q for p, q in bids.items() if q}
            self.asks = {p: q for p, q in asks.items() if q}
        else:
            if not self.synced:
                return self.gap()
            if self.strict and self.u is not None and u != self.u + 1:
                return SyncStatus.IGNORED if u == self.u else self.gap()
            if self.u is not None and u <= self.u:
                return SyncStatus.IGNORED
            for book, changes in ((self.bids, bids), (self.asks, asks)):
                for p, q in changes.items():
                    if q:
                        book[p] = q
                    else:
                        book.pop(p, None)
        if self.bids and self.asks and max(self.bids) >= min(self.asks):
            return self.gap()
        self.synced, self.u = True, u
        return SyncStatus.APPLIED


change = st.tuples(st.booleans(), st.integers(1, 20), st.integers(0, 3))
step = st.one_of(
    st.tuples(st.just("delta"), st.lists(change, min_size=0, max_size=6)),
    st.tuples(st.just("snapshot"), st.just([])),
    st.tuples(st.just("restart"), st.just([])),
)
delivery = st.sampled_from(["deliver", "deliver", "deliver", "deliver", "drop", "duplicate"])


@settings(max_examples=150, deadline=None)
@given(
    initial=st.lists(change, max_size=10),
    steps=st.lists(st.tuples(step, delivery), min_size=1, max_size=40),
    deliver_first=st.booleans(),
    strict=st.booleans(),
)
def test_random_streams_follow_the_rules(initial, steps, deliver_first, strict) -> None:
    adapter = BybitAdapter(book_strict_sequence=strict)
    sync = new_sync(adapter)
    venue = Venue()
    venue.delta(initial)
    reference = Reference(strict)
    lossless = False  # True while every frame since the last applied snapshot was delivered
    # A dropped u == 1 restart makes u values repeat: no u rule can see that (a live socket does
    # not drop frames; a reconnect resubscribes), so strict mode only promises the venue's book
    # while no restart frame was lost.
    restart_lost = False
    last_raw: tuple[str, bytes, Book, Book, int] | None = None
    stream = [(("snapshot", []), "deliver" if deliver_first else "drop"), *steps]
    for (what, changes), fate in stream:
        if what == "delta":
            produced = venue.delta(changes)
        else:
            produced = venue.snapshot(restart=what == "restart")
        kind, raw, true_bids, true_asks, u = produced
        if fate == "drop":
            lossless = False
            restart_lost = restart_lost or what == "restart"
            last_raw = produced
            continue
        sends = [produced, produced] if fate == "duplicate" else [produced]
        for kind, raw, _, _, u in sends:
            parsed = json.loads(raw)["data"]
            ref_status = reference.apply(
                kind,
                {int(Decimal(p) / TICK): int(Decimal(q) / STEP) for p, q in parsed["b"]},
                {int(Decimal(p) / TICK): int(Decimal(q) / STEP) for p, q in parsed["a"]},
                u,
            )
            status = feed(adapter, sync, raw)
            assert status is ref_status
            if status is SyncStatus.APPLIED and (kind == "snapshot" or u == 1):
                lossless = True
                restart_lost = False
            if status is SyncStatus.GAP:
                lossless = False
                assert not sync.synced
                assert sync.book.bid_depth == sync.book.ask_depth == 0
            else:
                assert sync.synced is reference.synced
            if sync.synced:
                assert book_state(sync) == (reference.bids, reference.asks)
                assert not sync.book.is_crossed()
                if lossless or (strict and not restart_lost):
                    # Nothing lost since the last snapshot (strict mode turns any loss into a
                    # GAP): the book is the venue's book.
                    assert book_state(sync) == (true_bids, true_asks)
        last_raw = produced
    assert last_raw is not None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(change, max_size=8), min_size=1, max_size=30))
def test_lossless_stream_equals_venue_book(deltas) -> None:
    adapter = BybitAdapter()
    sync = new_sync(adapter)
    venue = Venue()
    venue.delta([(True, 10, 1), (False, 50, 1)])
    _, raw, *_ = venue.snapshot()
    assert feed(adapter, sync, raw) is SyncStatus.APPLIED
    for changes in deltas:
        _, raw, bids, asks, u = venue.delta(changes)
        assert feed(adapter, sync, raw) is SyncStatus.APPLIED
        assert book_state(sync) == (bids, asks)
        assert sync.last_update_id == u
        best_bid = sync.book.best_bid()
        assert best_bid == ((max(bids) * TICK, bids[max(bids)] * STEP) if bids else None)
