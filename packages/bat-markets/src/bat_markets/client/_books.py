"""Order-book streams: the adapter's sync rules run here, consumers read lazily.

One ``BookFeed`` per (symbol, depth) is shared by every watcher of that book. It feeds the topic's
events through the adapter's ``BookSync`` (Binance ``U/u/pu`` bridging with a REST snapshot, Bybit
snapshot/delta with resubscribe), fetches REST snapshots in its own task when the sync asks for one
(never inside the socket read loop), and resyncs on a gap, a malformed update or a reconnect. The
first view after a resync carries ``resynced=True``.

Consumers never pay per diff: a diff only bumps the feed's version and wakes a waiting reader. The
book is materialised (``OrderBook.snapshot(depth)``) when the consumer reads it. When the adapter's
sync offers ``stage``/``flush`` (optional, beyond the ``BookSync`` protocol), every stream event
is still checked on arrival but the level changes of checked deltas are merged and applied to the
book in one go, by ``BookFeed.flush`` before any read (or when the sync's stage is full); other
syncs apply every event on arrival.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal
from types import TracebackType

import anyio

from bat_markets.core import (
    BatMarketsError,
    BookDeltaEvent,
    BookLevel,
    BookSnapshotEvent,
    BookSync,
    BookTop,
    DecodeError,
    InstrumentSpec,
    OrderBookSnapshot,
    PublicEvent,
    RateLimited,
    SyncStatus,
    Topic,
    VenueAdapter,
)

from ._handles import Sink, Watch
from ._hub import Lease, PublicHub
from ._options import ClientOptions
from ._rest import RestExecutor
from ._status import BookDiagnostics

__all__ = ["BookFeed", "BookSink", "BookView", "OrderBookWatch"]

log = logging.getLogger("bat_markets.client.books")
_APPLIED = SyncStatus.APPLIED  # enum attribute access is slow on the per-event path


class BookFeed:
    """The shared, synchronised book of one (symbol, depth) and its watchers."""

    def __init__(
        self,
        *,
        adapter: VenueAdapter,
        hub: PublicHub,
        rest: RestExecutor,
        options: ClientOptions,
        spawn: Callable[..., anyio.CancelScope],
        emit: Callable[[str, str | None], None],
        spec: InstrumentSpec,
        depth: int | None,
        topics: list[Topic],
        on_idle: Callable[[BookFeed], None],
    ) -> None:
        self.adapter = adapter
        self.hub = hub
        self.rest = rest
        self.options = options
        self._spawn = spawn
        self._emit = emit
        self.spec = spec
        self.depth = depth
        self.topics = topics
        self._on_idle = on_idle
        self.sync: BookSync = adapter.book_sync(spec, depth)
        stage = getattr(self.sync, "stage", None)
        flush = getattr(self.sync, "flush", None)
        deferred = callable(stage) and callable(flush)
        self._handle: Callable[[BookSnapshotEvent | BookDeltaEvent], SyncStatus] = (
            stage if deferred else self.sync.on_event  # type: ignore[assignment]
        )
        self._flush: Callable[[], SyncStatus] | None = flush if deferred else None
        self.sinks: list[BookSink] = []
        self.version = 0
        self.generation = 0
        self.resyncs = 0
        self.snapshots = 0
        self.invalid = 0
        self.closed = False
        self.last_error: str | None = None
        self.resyncing_since: float | None = None  # a resubscribe is under way
        self._snapshot_scope: anyio.CancelScope | None = None
        self.lease: Lease | None = None

    def start(self) -> None:
        self.lease = self.hub.acquire(self.topics, self)

    @property
    def synced(self) -> bool:
        self.flush()
        return self.sync.synced

    def flush(self) -> None:
        """Apply the sync's staged deltas before a read; a rejected one resyncs the book."""
        flush = self._flush
        if flush is not None and flush() is SyncStatus.GAP and not self.closed:
            self._resync("book update rejected (malformed or crossed)", reset=False)

    # -- watchers
    def attach(self, sink: BookSink) -> None:
        self.sinks.append(sink)

    def detach(self, sink: BookSink) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)
        if not self.sinks:
            self.close()
            self._on_idle(self)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.lease is not None:
            self.lease.release()
        if self._snapshot_scope is not None:
            self._snapshot_scope.cancel()

    # -- Listener
    def on_events(self, topic: str, events: list[PublicEvent]) -> None:
        handle = self._handle
        applied = False
        for event in events:
            kind = type(event)
            if kind is not BookDeltaEvent and kind is not BookSnapshotEvent:
                continue
            try:
                status = handle(event)  # type: ignore[arg-type]
            except DecodeError as exc:
                self.invalid += 1
                self.last_error = exc.message
                self._resync(f"malformed book update: {exc.message}", reset=True)
                applied = False
                continue
            if status is _APPLIED:
                applied = True
                if self.resyncing_since is not None:
                    self.resyncing_since = None
            elif status is SyncStatus.NEED_SNAPSHOT:
                self._request_snapshot()
            elif status is SyncStatus.GAP:
                applied = False
                self._resync("sequence gap", reset=False)
        if applied:  # ``_publish``, inlined: this runs for every frame
            self.version += 1
            for sink in self.sinks:
                if sink._waiter is not None:
                    sink._wake()

    def on_disconnect(self, topic: str) -> None:
        self.sync.reset()
        self.generation += 1
        self.resyncing_since = time.monotonic()  # the resubscription after reconnect resyncs
        if self.version:
            for sink in self.sinks:
                sink.resync_pending = True

    def on_failed(self, topic: str, error: BatMarketsError) -> None:
        for sink in list(self.sinks):
            sink.fail(error)
        # A dead feed must not be joined by later watchers: they get a fresh attempt.
        self.close()
        self._on_idle(self)

    # -- internals
    def _publish(self) -> None:
        self.version += 1
        for sink in self.sinks:
            if sink._waiter is not None:
                sink._wake()

    def _resync(self, reason: str, *, reset: bool) -> None:
        since = self.resyncing_since
        if (
            self.sync.resync == "resubscribe"
            and since is not None
            and time.monotonic() - since < self.options.resync_retry_s
        ):
            # Frames sent before our resubscription took effect: the fresh snapshot is coming.
            self.sync.reset()
            return
        self.resyncing_since = time.monotonic()
        self.resyncs += 1
        self.generation += 1
        for sink in self.sinks:
            sink.resync_pending = True
        self._emit("book_resync", f"{self.spec.symbol}: {reason}")
        if reset:
            self.sync.reset()
        if self.sync.resync == "resubscribe":
            self.sync.reset()
            for topic in self.topics:
                self.hub.resubscribe(topic.name, topic.route)
        else:
            self._request_snapshot()

    def _request_snapshot(self) -> None:
        if self.closed or self._snapshot_scope is not None:
            return
        self._snapshot_scope = self._spawn(
            self._snapshot_task, name=f"bat-markets book snapshot {self.spec.symbol}"
        )

    async def _snapshot_task(self) -> None:
        try:
            while not self.closed:
                try:
                    snapshot = await self.rest.run(
                        self.adapter.fetch_order_book(self.spec.id, self.sync.snapshot_limit)
                    )
                except RateLimited as exc:
                    self.last_error = str(exc)
                    await anyio.sleep(max(exc.retry_after or 0.0, self.options.snapshot_retry_s))
                    continue
                except BatMarketsError as exc:
                    self.last_error = str(exc)
                    await anyio.sleep(self.options.snapshot_retry_s)
                    continue
                self.snapshots += 1
                try:
                    status = self.sync.on_event(snapshot)
                except DecodeError as exc:
                    self.invalid += 1
                    self.last_error = exc.message
                    await anyio.sleep(self.options.snapshot_retry_s)
                    continue
                if status is SyncStatus.APPLIED:
                    self._publish()
                    return
                if status in (SyncStatus.NEED_SNAPSHOT, SyncStatus.GAP):
                    # The snapshot is older than the buffered stream: fetch a newer one.
                    await anyio.sleep(self.options.snapshot_retry_s)
                    continue
                return  # BUFFERED / IGNORED: the sync keeps it until stream events bridge it
        finally:
            self._snapshot_scope = None

    def diagnostics(self) -> BookDiagnostics:
        self.flush()
        book = self.sync.book
        return BookDiagnostics(
            symbol=self.spec.symbol,
            depth=self.depth,
            synced=self.sync.synced,
            update_id=book.update_id,
            bid_levels=book.bid_depth,
            ask_levels=book.ask_depth,
            resyncs=self.resyncs,
            snapshots=self.snapshots,
            invalid_events=self.invalid,
            watchers=len(self.sinks),
        )


class BookSink(Sink[OrderBookSnapshot]):
    """One watcher's cursor on a shared ``BookFeed``: the version it saw and its resync flag."""

    __slots__ = ("depth", "feed", "reads", "resync_pending", "seen")

    def __init__(self, feed: BookFeed, depth: int | None) -> None:
        super().__init__(f"order book {feed.spec.symbol}", feed.adapter.id)
        self.feed = feed
        self.depth = depth
        self.seen = -1
        self.resync_pending = False
        self.reads = 0

    async def next_update(self) -> bool:
        """Wait for a synced version newer than the last read; returns the ``resynced`` flag."""
        feed = self.feed
        while True:
            if self._error is not None:
                raise self._error
            feed.flush()
            if feed.version != self.seen and feed.sync.synced:
                self.seen = feed.version
                self.reads += 1
                flag, self.resync_pending = self.resync_pending, False
                return flag
            await self._wait()

    async def get(self) -> OrderBookSnapshot:
        resynced = await self.next_update()
        return self.feed.sync.book.snapshot(self.depth, resynced=resynced)


class BookView:
    """A cheap notification of a book update; levels are materialised only when read.

    ``update_id``, ``timestamp`` and ``resynced`` are those of the update that produced the view.
    ``snapshot()``, ``bids``, ``asks``, ``best_bid`` and ``best_ask`` read the live book: always a
    consistent, gap-free state, which is newer than the header when ``stale`` is true (the stream
    moved on while you held the view).
    """

    __slots__ = ("_depth", "_feed", "_version", "resynced", "symbol", "timestamp", "update_id")

    def __init__(self, feed: BookFeed, depth: int | None, resynced: bool) -> None:
        book = feed.sync.book
        self._feed = feed
        self._depth = depth
        self._version = feed.version
        self.symbol = feed.spec.symbol
        self.update_id = book.update_id
        self.timestamp = book.timestamp
        self.resynced = resynced

    @property
    def stale(self) -> bool:
        self._feed.flush()
        return self._feed.version != self._version or not self._feed.sync.synced

    def snapshot(self, depth: int | None = None) -> OrderBookSnapshot:
        """The book at ``depth`` levels (default: the watched depth)."""
        d = self._depth if depth is None else depth
        self._feed.flush()
        return self._feed.sync.book.snapshot(d, resynced=self.resynced)

    @property
    def bids(self) -> list[BookLevel]:
        return self.snapshot().bids

    @property
    def asks(self) -> list[BookLevel]:
        return self.snapshot().asks

    @property
    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        self._feed.flush()
        return self._feed.sync.book.best_bid()

    @property
    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        self._feed.flush()
        return self._feed.sync.book.best_ask()

    def top(self) -> BookTop:
        self._feed.flush()
        return self._feed.sync.book.book_top()


class OrderBookWatch(Watch[OrderBookSnapshot]):
    """A live, synchronised order book (conflated: each read is the latest consistent book).

    ``recv()`` materialises the book at the watched depth. ``recv_view()`` only waits for the next
    update and returns a ``BookView`` whose levels are materialised on access, for consumers that
    look at a few levels per update.
    """

    _sink: BookSink

    def __init__(self, sink: BookSink, release: Callable[[], None], *, description: str) -> None:
        super().__init__(sink, release, description=description)

    async def recv_view(self) -> BookView:
        """Wait for the next book update; a ``BookView`` that materialises levels lazily."""
        resynced = await self._sink.next_update()
        return BookView(self._sink.feed, self._sink.depth, resynced)

    def current(self, depth: int | None = None) -> OrderBookSnapshot | None:
        """The latest synchronised book now, without waiting (``None`` while (re)syncing).

        Does not consume an update: ``recv()`` still returns the next one.
        """
        feed = self._sink.feed
        feed.flush()
        if not feed.sync.synced or self._sink.error is not None:
            return None
        d = self._sink.depth if depth is None else depth
        return feed.sync.book.snapshot(d)

    @property
    def synced(self) -> bool:
        return self._sink.feed.synced

    @property
    def resyncs(self) -> int:
        """Resyncs of the shared book since it was opened (gaps, malformed updates)."""
        return self._sink.feed.resyncs

    async def __aenter__(self) -> OrderBookWatch:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()
