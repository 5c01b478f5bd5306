"""Order books whose sync stages checked deltas (``stage``/``flush``): the runtime applies them
in one go when the consumer reads, and a delta rejected at that point still resyncs the book."""

from __future__ import annotations

from decimal import Decimal

import anyio
from bm_client_fake import FakeAdapter, FakeBookSync, FakeWsServer, MakeClient

from bat_markets.client import OrderBookWatch
from bat_markets.core import (
    BookDeltaEvent,
    BookSnapshotEvent,
    DecodeError,
    InstrumentSpec,
    OrderBookSnapshot,
    StagedDeltas,
    SyncStatus,
)

TOPIC = "book50.BTCUSDT"


class StagedFakeSync(FakeBookSync):
    """The fake resubscribe sync, with deferred apply of in-sequence deltas."""

    def __init__(self, spec: InstrumentSpec, depth: int | None) -> None:
        super().__init__(spec, depth, "resubscribe")
        self.staged = StagedDeltas()
        self.flushes = 0

    def reset(self) -> None:
        super().reset()
        self.staged.clear()

    def stage(self, event: BookSnapshotEvent | BookDeltaEvent) -> SyncStatus:
        if isinstance(event, BookDeltaEvent) and self._synced:
            if event.last_id != self.last_id + 1:
                self.reset()
                return SyncStatus.GAP
            try:
                due = self.staged.add(event, event.last_id)
            except DecodeError:
                self.reset()
                return SyncStatus.GAP
            self.last_id = event.last_id
            return self.flush() if due else SyncStatus.APPLIED
        if self.flush() is SyncStatus.GAP:
            return SyncStatus.GAP
        return self.on_event(event)

    def flush(self) -> SyncStatus:
        if self.staged.frames:
            self.flushes += 1
            try:
                self.staged.flush(self.book)
            except DecodeError:
                self.reset()
                return SyncStatus.GAP
        return SyncStatus.APPLIED


class StagedAdapter(FakeAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.syncs: list[StagedFakeSync] = []

    def book_sync(self, spec: InstrumentSpec, depth: int | None) -> StagedFakeSync:
        sync = StagedFakeSync(spec, depth)
        self.syncs.append(sync)
        return sync


def bids(book: OrderBookSnapshot) -> list[tuple[Decimal, Decimal]]:
    return [(b.price, b.amount) for b in book.bids]


async def recv(w: OrderBookWatch) -> OrderBookSnapshot:
    with anyio.fail_after(3):
        return await w.recv()


def d(u: int, *levels: tuple[str, str]) -> dict[str, object]:
    return {"type": "delta", "u": u, "b": [list(lv) for lv in levels], "a": []}


async def test_staged_deltas_are_applied_once_on_read(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    adapter = StagedAdapter()
    bm = await make_client(adapter)
    w = bm.watch_order_book("BTCUSDT", depth=50)
    await ws_server.wait_for(lambda: ws_server.subscribed(TOPIC))
    snap = {"type": "snapshot", "u": 10, "b": [["100.0", "1"]], "a": [["101.0", "1"]]}
    await ws_server.publish(TOPIC, snap)
    assert bids(await recv(w)) == [(Decimal("100.0"), Decimal("1"))]
    (sync,) = adapter.syncs
    await ws_server.publish(TOPIC, d(11, ("100.0", "2"), ("99.0", "5")))
    await ws_server.publish(TOPIC, d(12, ("99.0", "0"), ("98.0", "3")))
    await ws_server.publish(TOPIC, d(13, ("100.0", "4")))
    await ws_server.wait_for(lambda: sync.last_id == 13)
    assert sync.book.update_id == 10  # checked and staged, not applied yet
    assert sync.flushes == 0
    book = await recv(w)
    assert bids(book) == [(Decimal("100.0"), Decimal("4")), (Decimal("98.0"), Decimal("3"))]
    assert book.sequence == 13
    assert sync.flushes == 1  # three deltas, one apply
    await ws_server.publish(TOPIC, d(14, ("97.0", "1")))
    await ws_server.wait_for(lambda: sync.last_id == 14)
    current = w.current()  # reading without waiting also sees every staged delta
    assert current is not None
    assert bids(current)[-1] == (Decimal("97.0"), Decimal("1"))
    await w.shutdown()


async def test_a_delta_rejected_at_flush_resyncs(
    make_client: MakeClient, ws_server: FakeWsServer
) -> None:
    adapter = StagedAdapter()
    bm = await make_client(adapter)
    w = bm.watch_order_book("BTCUSDT", depth=50)
    await ws_server.wait_for(lambda: ws_server.subscribed(TOPIC))
    snap = {"type": "snapshot", "u": 1, "b": [["100.0", "1"]], "a": []}
    await ws_server.publish(TOPIC, snap)
    await recv(w)
    (sync,) = adapter.syncs
    await ws_server.publish(TOPIC, d(2, ("99.0", "abc")))
    await ws_server.publish(TOPIC, d(3, ("99.0", "2")))  # hides the malformed amount
    await ws_server.wait_for(lambda: sync.last_id == 3)
    assert w.current() is None  # the flush found it: the book is discarded, never shown
    assert w.resyncs == 1
    await ws_server.wait_for(lambda: ws_server.topics_sent("subscribe").count(TOPIC) == 2)
    await ws_server.publish(TOPIC, {"type": "snapshot", "u": 5, "b": [["100.0", "4"]], "a": []})
    book = await recv(w)
    assert book.resynced
    assert bids(book) == [(Decimal("100.0"), Decimal("4"))]
    assert bm.advanced().diagnostics().book_resyncs == 1
    await w.shutdown()
