"""Bybit order-book synchronisation (§6.Y): websocket snapshot + deltas, reset by resubscribing.

Rules: a ``snapshot`` frame (first after subscribe, or a venue recovery) replaces the book; a
delta with ``u == 1`` means the venue restarted the stream and is applied as a snapshot; a delta
whose ``u`` is not above the last applied ``u`` is stale and ignored; a delta before any snapshot,
a malformed level or a crossed book after applying is a GAP: the book is discarded and the
runtime resubscribes (the venue then sends a fresh snapshot).

Bybit documents no gap rule for ``u`` (PROTOCOLS §6.Y, unverified). With ``strict_sequence=True``
(the adapter's default) the stream's ``u`` is taken to count up by exactly one per message and any
skip is a GAP: a resync costs one snapshot, a lost delta would leave a stale level. With
``strict_sequence=False`` a delta whose ``u`` skips ahead is applied and a lost delta is only
noticed if it leaves the book crossed.

``stage`` runs the same checks but defers a checked delta's level changes (merged in a core
``StagedDeltas``) until ``flush``, which the runtime calls before every read; the crossed-book
check then runs once per flush.
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

__all__ = ["BybitBookSync", "WS_DEPTHS", "ws_depth_for"]

WS_DEPTHS = (1, 50, 200, 1000)
_APPLIED, _IGNORED = SyncStatus.APPLIED, SyncStatus.IGNORED  # enum attribute access is slow


def ws_depth_for(depth: int | None) -> int:
    """The venue stream depth that covers ``depth`` levels (``None`` = the deepest, 1000).

    Raises ``ValueError`` for depths outside 1..1000 (the caller turns it into a typed error).
    """
    if depth is None:
        return 1000
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1 or depth > 1000:
        raise ValueError(depth)
    for candidate in WS_DEPTHS:
        if depth <= candidate:
            return candidate
    raise ValueError(depth)  # unreachable: 1000 is the last candidate


class BybitBookSync:
    """``BookSync`` for one Bybit ``orderbook.{depth}.{symbol}`` stream."""

    resync: Literal["rest_snapshot", "resubscribe"] = "resubscribe"
    snapshot_limit: int | None = None

    __slots__ = ("_last_u", "_staged", "_synced", "book", "depth", "strict_sequence")

    def __init__(self, spec: InstrumentSpec, depth: int, *, strict_sequence: bool = False) -> None:
        self.book = OrderBook(spec.symbol, spec.tick_size, spec.step_size)
        self.depth = depth
        self.strict_sequence = strict_sequence
        self._synced = False
        self._last_u: int | None = None
        self._staged = StagedDeltas()  # checked deltas not yet applied to ``book``

    @property
    def synced(self) -> bool:
        return self._synced

    @property
    def last_update_id(self) -> int | None:
        return self._last_u

    def reset(self) -> None:
        self.book.clear()
        self._staged.clear()
        self._synced = False
        self._last_u = None

    def _gap(self) -> SyncStatus:
        self.reset()
        return SyncStatus.GAP

    def _snapshot(
        self, event: BookSnapshotEvent | BookDeltaEvent, update_id: int | None
    ) -> SyncStatus:
        try:
            self.book.apply_snapshot(
                event.bids, event.asks, update_id=update_id, timestamp=event.timestamp
            )
        except DecodeError:
            return self._gap()
        if self.book.is_crossed():
            return self._gap()
        self._synced = True
        self._last_u = update_id
        return SyncStatus.APPLIED

    def stage(self, event: BookSnapshotEvent | BookDeltaEvent) -> SyncStatus:
        """``on_event`` whose checked in-sequence deltas are applied at the next ``flush``.

        ``APPLIED`` means accepted: the book shows it once flushed. Anything but an in-sequence
        delta on a synced book flushes first and then takes the ``on_event`` path.
        """
        if isinstance(event, BookDeltaEvent) and self._synced:
            u = event.last_id
            if u != 1:
                last = self._last_u
                if last is not None and u != last + 1 and self.strict_sequence:
                    return _IGNORED if u == last else self._gap()
                if last is not None and u <= last:
                    return _IGNORED
                try:
                    due = self._staged.add(event, u)
                except DecodeError:
                    return self._gap()
                self._last_u = u
                return self.flush() if due else _APPLIED
        return self.on_event(event)

    def flush(self) -> SyncStatus:
        """Apply staged deltas: ``GAP`` (book discarded) if malformed or crossed, else ``APPLIED``."""
        staged = self._staged
        if staged.frames:
            try:
                staged.flush(self.book)
            except DecodeError:
                return self._gap()
            if self.book.is_crossed():
                return self._gap()
        return _APPLIED

    def on_event(self, event: BookSnapshotEvent | BookDeltaEvent) -> SyncStatus:
        if self._staged.frames and self.flush() is SyncStatus.GAP:
            return SyncStatus.GAP
        if isinstance(event, BookDeltaEvent):
            u = event.last_id
            if u == 1:  # venue stream restart: the frame carries a full book
                return self._snapshot(event, u)
            if not self._synced:
                return self._gap()
            last = self._last_u
            if last is not None and u != last + 1 and self.strict_sequence:
                # A repeat of the last frame is harmless; any other jump (a lost delta, or u
                # restarting below us after a missed u == 1 snapshot) means the book is stale.
                return _IGNORED if u == last else self._gap()
            if last is not None and u <= last:
                return _IGNORED
            book = self.book
            try:
                book.apply_delta(event.bids, event.asks, update_id=u, timestamp=event.timestamp)
            except DecodeError:
                return self._gap()
            if book.is_crossed():
                return self._gap()
            self._last_u = u
            return _APPLIED
        return self._snapshot(event, event.update_id)
