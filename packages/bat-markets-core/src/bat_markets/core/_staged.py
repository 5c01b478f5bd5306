"""Deferred application of checked book deltas (``StagedDeltas``).

A book sync that has checked a delta's sequence can stage its levels here instead of applying
them at once; the merged levels are applied to the ``OrderBook`` in one ``apply_delta`` when the
book is read. Levels carry absolute amounts, so merging keeps the last amount per price string,
moved to the end of the merge order on every write: applying the merged levels in that order
gives exactly the book of applying every staged delta in turn (also when one price is spelled
two ways). An amount overwritten before the flush is still validated at the flush, so a
malformed level is never hidden by a later one.
"""

from __future__ import annotations

import re

from ._book import OrderBook, _Malformed, _OffGrid, _parse
from ._errors import DecodeError
from ._events import BookDeltaEvent

__all__ = ["StagedDeltas", "MAX_STAGED_FRAMES"]

MAX_STAGED_FRAMES = 128
"""Deltas merged before a flush is due (bounds memory and the work of one read)."""


class StagedDeltas:
    """Checked deltas merged per side (price string -> last amount string), applied on ``flush``."""

    __slots__ = ("_asks", "_bids", "_replaced", "frames", "timestamp", "update_id")

    def __init__(self) -> None:
        self._bids: dict[str, str] = {}
        self._asks: dict[str, str] = {}
        self._replaced: list[object] = []  # amounts overwritten before the flush (to validate)
        self.frames = 0
        self.update_id: int | None = None
        self.timestamp: int | None = None

    def clear(self) -> None:
        """Drop everything staged."""
        if self.frames:
            self._bids = {}
            self._asks = {}
            self._replaced = []
            self.frames = 0
            self.update_id = None
            self.timestamp = None

    def add(self, event: BookDeltaEvent, update_id: int | None) -> bool:
        """Merge ``event``'s levels; ``True`` when ``MAX_STAGED_FRAMES`` are staged (flush due).

        Raises ``DecodeError`` when a level is not a (price, amount) pair; the stage is then
        cleared (the caller discards the book).
        """
        replaced = self._replaced
        try:
            side = self._bids
            for price, amount in event.bids:  # inlined twice: this runs for every level
                old = side.pop(price, None)
                if old is not None:
                    replaced.append(old)
                side[price] = amount
            side = self._asks
            for price, amount in event.asks:
                old = side.pop(price, None)
                if old is not None:
                    replaced.append(old)
                side[price] = amount
        except (TypeError, ValueError) as exc:
            self.frames = 1
            self.clear()
            raise DecodeError(f"malformed book level: {exc}") from None
        if update_id is not None:
            self.update_id = update_id
        if event.timestamp is not None:
            self.timestamp = event.timestamp
        self.frames += 1
        return self.frames >= MAX_STAGED_FRAMES

    def flush(self, book: OrderBook) -> None:
        """Apply the staged levels to ``book`` (one ``apply_delta``) and clear the stage.

        Raises ``DecodeError`` (book untouched) when a staged level is malformed; the stage is
        cleared either way.
        """
        if not self.frames:
            return
        bids = list(self._bids.items())
        asks = list(self._asks.items())
        replaced = self._replaced
        update_id, timestamp = self.update_id, self.timestamp
        self._bids = {}
        self._asks = {}
        self._replaced = []
        self.frames = 0
        self.update_id = None
        self.timestamp = None
        if replaced:
            _validate_amounts(book, replaced)
        book.apply_delta(bids, asks, update_id=update_id, timestamp=timestamp)


_PLAIN_AMOUNTS = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:,(?:[0-9]+\.?[0-9]*|\.[0-9]+))*")
"""Comma-joined plain non-negative decimals: exactly the amounts ``_parse`` accepts (or finds
off the grid, which only widens the book)."""


def _validate_amounts(book: OrderBook, amounts: list[object]) -> None:
    try:
        joined = ",".join(amounts)  # type: ignore[arg-type]
        # the count rules out an amount that itself holds the separator
        if joined.count(",") == len(amounts) - 1 and _PLAIN_AMOUNTS.fullmatch(joined):
            return  # the usual case: one C-level scan for the whole flush
    except TypeError:
        pass  # not all strings: find the culprit below
    known = book._qcache
    for amount in amounts:
        if amount.__class__ is str and amount in known:
            continue
        try:
            _parse(amount, book._qs, book._qm, False)
        except _OffGrid:
            continue  # a finer step only widens the book's units: not malformed
        except _Malformed as exc:
            raise DecodeError(f"malformed book amount {amount!r}: {exc}") from None
