"""Deferred application of checked book deltas (``StagedDeltas``).

A book sync that has checked a delta's sequence can stage it here instead of applying it at once
(staging keeps a reference: O(1) per delta); the staged levels reach the ``OrderBook`` in one
atomic ``apply_delta`` when the book is read. Levels carry absolute amounts, so only the last
amount staged per price matters. At the flush:

* with few deltas, or little overlap between them, every staged level is applied in arrival
  order (the book validates each one);
* otherwise each side is merged (price string -> last amount string, C-level), every staged amount,
  overwritten ones included, is validated in one byte-level pass (a malformed level is never
  hidden by a later one), and the merged levels are applied, which is exactly the book of
  applying every delta in turn as long as the merged price strings are all different prices
  (always, unless the venue spells one price two ways; then the in-order path is taken).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from operator import itemgetter

from ._book import OrderBook, _Malformed, _OffGrid, _parse
from ._errors import DecodeError
from ._events import BookDeltaEvent, RawLevel

__all__ = ["StagedDeltas", "MAX_STAGED_FRAMES"]

MAX_STAGED_FRAMES = 128
"""Deltas staged before a flush is due (bounds memory and the work of one read)."""

_MERGE_FROM = 3  # staged deltas from which merging is tried
_amount = itemgetter(1)


class StagedDeltas:
    """Checked deltas kept in order and applied, merged when that pays, on ``flush``."""

    __slots__ = ("_levels", "_sides", "frames", "timestamp", "update_id")

    def __init__(self) -> None:
        self._sides: list[Sequence[RawLevel]] = []  # bids, asks, bids, asks... as staged
        self._levels = 0
        self.frames = 0
        self.update_id: int | None = None
        self.timestamp: int | None = None

    def clear(self) -> None:
        """Drop everything staged."""
        if self.frames:
            self._sides = []
            self._levels = 0
            self.frames = 0
            self.update_id = None
            self.timestamp = None

    def add(self, event: BookDeltaEvent, update_id: int | None) -> bool:
        """Stage ``event``; ``True`` when ``MAX_STAGED_FRAMES`` are staged (flush due).

        Raises ``DecodeError`` when a side is not a sequence (the stage is then cleared); a bad
        level inside one is found at the flush.
        """
        bids = event.bids
        asks = event.asks
        try:
            self._levels += len(bids) + len(asks)
        except TypeError:
            self.frames = 1
            self.clear()
            raise DecodeError("malformed book update: a side is not a list of levels") from None
        sides = self._sides
        sides.append(bids)
        sides.append(asks)
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
        sides, levels, frames = self._sides, self._levels, self.frames
        update_id, timestamp = self.update_id, self.timestamp
        self._sides = []
        self._levels = 0
        self.frames = 0
        self.update_id = None
        self.timestamp = None
        if frames >= _MERGE_FROM:
            bids: dict[str, str] = {}
            asks: dict[str, str] = {}
            try:
                for i in range(0, len(sides), 2):
                    bids.update(sides[i])
                    asks.update(sides[i + 1])
            except (TypeError, ValueError) as exc:
                raise DecodeError(f"malformed book level: {exc}") from None
            if (
                (len(bids) + len(asks)) * 4 < levels * 3  # merging saves a quarter
                and book.distinct_prices(list(bids))
                and book.distinct_prices(list(asks))
            ):
                _validate_amounts(book, sides, levels)  # overwritten amounts included
                book.apply_delta(
                    list(bids.items()),
                    list(asks.items()),
                    update_id=update_id,
                    timestamp=timestamp,
                )
                return
        book.apply_delta(  # every level in arrival order: exact for any spelling, atomic
            list(chain.from_iterable(sides[0::2])),
            list(chain.from_iterable(sides[1::2])),
            update_id=update_id,
            timestamp=timestamp,
        )


_DIGITS = b"0123456789"


def _plain_decimals(joined: str, count: int) -> bool:
    """True when ``joined`` is ``count`` comma-separated plain non-negative decimals.

    Exactly the amounts ``_parse`` accepts (or finds off the grid, which only widens the book):
    ASCII digits with at most one dot and at least one digit. Byte-level ``translate`` and
    substring searches, several times faster than a regular expression.
    """
    try:
        raw = joined.encode("ascii")
    except UnicodeEncodeError:
        return False
    marks = raw.translate(None, _DIGITS)  # what is left of each amount: "" or "."
    if marks.translate(None, b".,") or marks.count(b",") != count - 1 or b".." in marks:
        return False
    framed = b"," + raw + b","
    return b",," not in framed and b",.," not in framed  # no empty amount, no lone dot


def _validate_amounts(book: OrderBook, sides: list[Sequence[RawLevel]], levels: int) -> None:
    """Raise ``DecodeError`` when one of the ``levels`` staged amounts is malformed."""
    try:
        joined = ",".join(map(_amount, chain.from_iterable(sides)))
        if _plain_decimals(joined, levels):
            return  # the usual case: C-level work only
    except TypeError:
        pass  # not all strings: find the culprit below
    known = book._qcache
    for amount in map(_amount, chain.from_iterable(sides)):
        if amount.__class__ is str and amount in known:
            continue
        try:
            _parse(amount, book._qs, book._qm, False)
        except _OffGrid:
            continue  # a finer step only widens the book's units: not malformed
        except _Malformed as exc:
            raise DecodeError(f"malformed book amount {amount!r}: {exc}") from None
