"""Binance USD-M local order book synchronisation (PROTOCOLS §6.B, exact).

1. Buffer every diff event; ask for a REST snapshot (``NEED_SNAPSHOT``).
2. Snapshot with ``lastUpdateId`` L: drop buffered events with ``u < L``. If the oldest remaining
   event has ``U > L`` the snapshot is stale: ask for another one and keep buffering.
3. The first event applied must satisfy ``U <= L <= u``; every later one ``pu == u`` of the
   previous applied event. Any break discards the book (``GAP``) and starts again at step 1.

``stage`` runs the same checks on a stream event but defers the level changes of a checked delta
(merged in a core ``StagedDeltas``) until ``flush``: the runtime calls it before every read.

Partial-depth streams (``@depth5/10/20``) carry a full top-N snapshot per frame and need no sync.
"""

from __future__ import annotations

from typing import Literal

from bat_markets.core import (
    BookDeltaEvent,
    BookSnapshotEvent,
    DecodeError,
    InstrumentSpec,
    OrderBook,
    StagedDeltas,
    SyncStatus,
)

__all__ = ["BinanceBookSync", "PartialBookSync", "MAX_BUFFER"]

MAX_BUFFER = 10_000
"""Buffered diffs kept while waiting for a snapshot (oldest dropped: they would be stale anyway)."""
_APPLIED, _IGNORED = SyncStatus.APPLIED, SyncStatus.IGNORED  # enum attribute access is slow


class BinanceBookSync:
    """Diff-stream book: REST snapshot + ``U/u/pu`` bridge, then ``pu`` continuity."""

    resync: Literal["rest_snapshot", "resubscribe"] = "rest_snapshot"

    __slots__ = (
        "_bridging",
        "_buffer",
        "_last_u",
        "_requested",
        "_staged",
        "book",
        "snapshot_limit",
    )

    def __init__(self, spec: InstrumentSpec, snapshot_limit: int = 1000) -> None:
        self.book = OrderBook(spec.symbol, spec.tick_size, spec.step_size)
        self.snapshot_limit: int | None = snapshot_limit
        self._buffer: list[BookDeltaEvent] = []
        self._last_u: int | None = None  # u of the last applied event (L right after a snapshot)
        self._requested = False  # a snapshot has been asked for and not yet received
        self._bridging = False  # snapshot applied, waiting for the event with U <= L <= u
        self._staged = StagedDeltas()  # checked deltas not yet applied to ``book``

    @property
    def synced(self) -> bool:
        return self._last_u is not None

    def reset(self) -> None:
        self.book.clear()
        self._staged.clear()
        self._buffer.clear()
        self._last_u = None
        self._requested = False
        self._bridging = False

    def stage(self, event: BookSnapshotEvent | BookDeltaEvent) -> SyncStatus:
        """``on_event`` whose checked in-sequence deltas are applied at the next ``flush``.

        ``APPLIED`` means accepted: the book shows it once flushed. Anything but an in-sequence
        delta on a synced book flushes first and then takes the ``on_event`` path.
        """
        if type(event) is BookDeltaEvent:
            last = self._last_u
            if last is not None and not self._bridging:
                u = event.last_id
                if u <= last:
                    return _IGNORED
                if event.prev_id != last:
                    return self._gap(event)
                try:
                    due = self._staged.add(event, u)
                except DecodeError:
                    return self._lost()
                self._last_u = u
                return self.flush() if due else _APPLIED
        return self.on_event(event)

    def flush(self) -> SyncStatus:
        """Apply staged deltas: ``GAP`` (book discarded) if one was malformed, else ``APPLIED``."""
        staged = self._staged
        if staged.frames:
            try:
                staged.flush(self.book)
            except DecodeError:
                return self._lost()
        return SyncStatus.APPLIED

    def on_event(self, event: BookSnapshotEvent | BookDeltaEvent) -> SyncStatus:
        if self._staged.frames and self.flush() is SyncStatus.GAP:
            if type(event) is BookDeltaEvent:
                self._buffer.append(event)
            return SyncStatus.GAP
        if type(event) is BookDeltaEvent:
            last = self._last_u
            if last is None:
                return self._buffer_event(event)
            if self._bridging:
                if event.last_id < last:
                    return SyncStatus.IGNORED  # u < L: already in the snapshot
                if event.first_id is not None and event.first_id > last:
                    return self._stale(event)  # U > L: updates between L and U are missing
                self._bridging = False
                return self._apply(event)
            if event.last_id <= last:
                return SyncStatus.IGNORED  # duplicate or older than the book
            if event.prev_id == last:
                return self._apply(event)
            return self._gap(event)
        if isinstance(event, BookSnapshotEvent):
            if event.source != "rest":
                return SyncStatus.IGNORED  # a top-N ws snapshot cannot seed a diff book
            return self._snapshot(event)
        return SyncStatus.IGNORED

    # -- internals
    def _apply(self, event: BookDeltaEvent) -> SyncStatus:
        try:
            self.book.apply_delta(
                event.bids, event.asks, update_id=event.last_id, timestamp=event.timestamp
            )
        except DecodeError:
            return self._lost()
        self._last_u = event.last_id
        return SyncStatus.APPLIED

    def _lost(self) -> SyncStatus:
        """A malformed update: the book is untouched but it is lost, continuity is broken."""
        self._discard()
        self._requested = True
        return SyncStatus.GAP

    def _discard(self) -> None:
        self.book.clear()
        self._staged.clear()
        self._buffer.clear()
        self._last_u = None
        self._bridging = False

    def _stale(self, event: BookDeltaEvent) -> SyncStatus:
        """The snapshot is older than the stream: keep buffering and fetch a fresher one."""
        self._discard()
        self._buffer.append(event)
        self._requested = True
        return SyncStatus.NEED_SNAPSHOT

    def _gap(self, event: BookDeltaEvent) -> SyncStatus:
        self._discard()
        self._buffer.append(event)
        self._requested = True  # GAP tells the runtime to fetch a snapshot
        return SyncStatus.GAP

    def _buffer_event(self, event: BookDeltaEvent) -> SyncStatus:
        buf = self._buffer
        if len(buf) >= MAX_BUFFER:
            del buf[: len(buf) // 2]
        buf.append(event)
        if self._requested:
            return SyncStatus.BUFFERED
        self._requested = True
        return SyncStatus.NEED_SNAPSHOT

    def _snapshot(self, snap: BookSnapshotEvent) -> SyncStatus:
        if snap.update_id is None:
            self._discard()
            self._requested = True
            return SyncStatus.NEED_SNAPSHOT
        lid = snap.update_id
        if self._last_u is not None and not self._bridging and lid <= self._last_u:
            return SyncStatus.IGNORED  # already synced past this snapshot
        self._requested = False
        pending = [e for e in self._buffer if e.last_id >= lid]
        if pending and pending[0].first_id is not None and pending[0].first_id > lid:
            # the snapshot is older than everything buffered: fetch a fresher one
            self.book.clear()
            self._buffer = pending
            self._last_u = None
            self._bridging = False
            self._requested = True
            return SyncStatus.NEED_SNAPSHOT
        try:
            self.book.apply_snapshot(snap.bids, snap.asks, update_id=lid, timestamp=snap.timestamp)
        except DecodeError:
            self._discard()
            self._buffer = pending
            self._requested = True
            return SyncStatus.NEED_SNAPSHOT
        self._buffer = []
        self._last_u = lid
        self._bridging = True
        for i, event in enumerate(pending):
            status = self.on_event(event)
            if status is SyncStatus.GAP or status is SyncStatus.NEED_SNAPSHOT:
                self._buffer.extend(pending[i + 1 :])  # keep what followed the break
                return status
        return SyncStatus.APPLIED


class PartialBookSync:
    """Top-N partial depth: every frame replaces the book; nothing to bridge."""

    resync: Literal["rest_snapshot", "resubscribe"] = "resubscribe"

    __slots__ = ("_synced", "book", "depth", "snapshot_limit")

    def __init__(self, spec: InstrumentSpec, depth: int) -> None:
        self.book = OrderBook(spec.symbol, spec.tick_size, spec.step_size)
        self.depth = depth
        self.snapshot_limit: int | None = None
        self._synced = False

    @property
    def synced(self) -> bool:
        return self._synced

    def reset(self) -> None:
        self.book.clear()
        self._synced = False

    def on_event(self, event: BookSnapshotEvent | BookDeltaEvent) -> SyncStatus:
        if not isinstance(event, BookSnapshotEvent):
            return SyncStatus.IGNORED
        try:
            self.book.apply_snapshot(
                event.bids, event.asks, update_id=event.update_id, timestamp=event.timestamp
            )
        except DecodeError:
            self.reset()
            return SyncStatus.GAP
        self._synced = True
        return SyncStatus.APPLIED
