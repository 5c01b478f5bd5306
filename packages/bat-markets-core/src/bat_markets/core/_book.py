"""Order-book engine: levels held as integer ticks/steps, ``Decimal`` only on demand.

Numbers arrive as the venue's decimal strings (``RawLevel``: a 2-item tuple or list of ``str``)
and are converted exactly to integers of the book's price unit (``tick_size``) and amount unit
(``step_size``); nothing is ever rounded.

**Off-grid values widen the unit.** When a price (or amount) is not a multiple of the current unit
(stale instrument metadata, a venue quoting finer than its filter, a docs example), the book
switches that unit transparently to the finest power of ten the value needs (``10**-k``) and
rescales every stored level; ``tick_size``/``step_size`` then report the new unit and ``widened``
is true. The integer API (``best_bid_ticks``...) is therefore always "ticks of ``tick_size``".
Scales finer than ``10**-24`` are refused with ``DecodeError``.

**Malformed input leaves the book unchanged.** A whole update is converted before anything is
mutated; any bad level (non-numeric, negative, empty, NaN/Infinity, exponent form, a zero price,
not a 2-item sequence) raises ``DecodeError``. Accepted number syntax: ASCII digits with at most
one ``.`` (``"123"``, ``"123.40"``, ``".5"``, ``"5."``).

**Speed.** Layout per side: ``dict`` price -> amount plus a sorted ``list`` of price keys kept
with ``bisect``; both sides keep their best level at the *end* of the list (asks are stored
negated), because venue updates cluster at the top of the book and edits near the end of a list
are cheap. A deleted level only leaves its dict: its key stays in the list as a tombstone (a
``set`` per side records which prices the list holds), so a price that comes back, as prices near
the top constantly do, needs no list edit at all; a tombstone that reaches the best end is popped
at once, so the best level is always ``keys[-1]``, and tombstones are swept when they outnumber
half the live levels. Price strings repeat constantly (the same levels churn), so each book caches
string -> ticks; amounts are cached too while they repeat often enough to pay (measured per book,
switched off and re-probed otherwise). A delta is applied in two passes: the first makes sure
every string of the update has a cache entry, parsing the new ones (this is where bad input
raises, before anything is mutated); the second converts through the now-warm caches and applies.
Caches are emptied when they outgrow ``_CACHE_LIMIT`` (checked every ``_QCACHE_PROBE`` levels).
"""

from __future__ import annotations

import zlib
from bisect import insort
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import cast

from ._errors import ConfigError, DecodeError
from ._events import RawLevel
from ._models import BookLevel, BookTop, OrderBookSnapshot

__all__ = ["OrderBook"]

_MAX_SCALE = 24
_POW10: tuple[int, ...] = tuple(10**i for i in range(2 * _MAX_SCALE + 2))
_CACHE_LIMIT = 8192  # per-book parse and Decimal caches are emptied when they outgrow this
_QCACHE_PROBE = 4096  # levels per bookkeeping window (amount-cache hit rate, cache bounds, sweep)
_QCACHE_RETRY = 65536  # amount levels parsed without the cache before probing it again

TickLevel = tuple[int, int]


class _Malformed(Exception):
    """Internal: a value is not a valid non-negative decimal string."""


class _OffGrid(Exception):
    """Internal: a value is valid but not a multiple of the current unit."""

    def __init__(self, is_price: bool, scale: int) -> None:
        super().__init__()
        self.is_price = is_price
        self.scale = scale  # decimal scale that represents the value exactly


def _unit_of(step: object, what: str) -> tuple[int, int]:
    """``(scale, multiplier)`` with ``step == multiplier * 10**-scale`` and ``scale >= 0``."""
    if not isinstance(step, Decimal):
        if isinstance(step, (str, int)) and not isinstance(step, bool):
            try:
                step = Decimal(step)
            except ArithmeticError:
                raise ConfigError(f"{what} is not a decimal number: {step!r}") from None
        else:
            raise ConfigError(f"{what} must be a Decimal, got {type(step).__name__}")
    if not step.is_finite() or step <= 0:
        raise ConfigError(f"{what} must be a positive finite Decimal, got {step}")
    _, digits, exponent = step.as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)))
    if exponent >= 0:
        return 0, mantissa * 10**exponent
    scale = -exponent
    while scale > 0 and mantissa % 10 == 0:  # Decimal("0.10") -> (1, 1)
        mantissa //= 10
        scale -= 1
    if scale > _MAX_SCALE:
        raise ConfigError(f"{what} {step} is finer than 1e-{_MAX_SCALE}")
    return scale, mantissa


def _parse(text: object, scale: int, mul: int, is_price: bool) -> int:
    """Exact ``text`` -> integer count of ``mul * 10**-scale`` units."""
    if not isinstance(text, str):
        raise _Malformed(f"expected a decimal string, got {type(text).__name__}")
    whole, _, frac = text.partition(".")
    digits = whole + frac
    if not (digits.isascii() and digits.isdigit()):
        raise _Malformed(f"{text!r} is not a plain non-negative decimal")
    n = len(frac)
    if n <= scale:
        value = int(digits) * _POW10[scale - n]
    else:
        value, rest = divmod(int(digits), int(10 ** (n - scale)))
        if rest:
            raise _OffGrid(is_price, len(frac.rstrip("0")))
    if mul != 1:
        value, rest = divmod(value, mul)
        if rest:
            raise _OffGrid(is_price, scale)
    if is_price and not value:
        raise _Malformed(f"price {text!r} is zero")
    return value


def _dot_slice(qs: int, qm: int) -> slice:
    """``amount[_dot_slice(qs, qm)]`` is the character where the dot of a fixed-format amount sits.

    Fixed format means exactly ``qs`` decimals (``"12.345"`` for a step of 0.001), the usual venue
    form, which converts with one ``int`` call. The slice is empty (fast path disabled) for integer
    steps and steps that are not a power of ten.
    """
    return slice(-qs - 1, -qs) if qs and qm == 1 else slice(0, 0)


def _parse_amount(text: str, qs: int, qm: int) -> int:
    """``_parse`` for an amount, with a fast path for the usual fixed format (``"12.345"``)."""
    if text[_dot_slice(qs, qm)] == ".":
        digits = text.replace(".", "", 1)
        if digits.isdigit() and digits.isascii():
            return int(digits)
    return _parse(text, qs, qm, False)


def _convert(
    levels: Sequence[RawLevel],
    ps: int,
    pm: int,
    qs: int,
    qm: int,
    pcache: dict[str, int],
    qcache: dict[str, int] | None,
) -> list[TickLevel]:
    """Convert one side; raises ``_OffGrid`` or ``_Malformed``/``ValueError``/``TypeError``.

    Prices always go through ``pcache`` (they repeat: the same levels churn); amounts go through
    ``qcache`` unless it is ``None`` (the book turns it off while amounts rarely repeat).
    """
    out: list[TickLevel] = []
    append = out.append
    pget = pcache.get
    qdot = _dot_slice(qs, qm)  # see there
    q: int | None
    if qcache is None:
        for price, amount in levels:
            p = pget(price)
            if p is None:
                p = _parse(price, ps, pm, True)
                pcache[price] = p
            q = None
            # Inlined fast path for the usual fixed format (exactly ``qs`` decimals, "12.345").
            if amount[qdot] == ".":
                digits = amount.replace(".", "", 1)
                if digits.isdigit() and digits.isascii():
                    q = int(digits)
            if q is None:
                q = _parse(amount, qs, qm, False)
            append((p, q))
        return out
    qget = qcache.get
    for price, amount in levels:
        p = pget(price)
        if p is None:
            p = _parse(price, ps, pm, True)
            pcache[price] = p
        q = qget(amount)
        if q is None:
            if amount[qdot] == ".":  # same fast path as above
                digits = amount.replace(".", "", 1)
                if digits.isdigit() and digits.isascii():
                    q = int(digits)
            if q is None:
                q = _parse(amount, qs, qm, False)
            qcache[amount] = q
        append((p, q))
    return out


def _canonical(units: int, scale: int) -> str:
    """Plain decimal string of ``units * 10**-scale`` without trailing zeros."""
    if not scale:
        return str(units)
    text = str(units).rjust(scale + 1, "0")
    frac = text[-scale:].rstrip("0")
    return f"{text[:-scale]}.{frac}" if frac else text[:-scale]


class OrderBook:
    """A full-depth L2 book for one instrument.

    ``apply_snapshot`` replaces everything; ``apply_delta`` applies absolute amounts (zero deletes,
    deleting an unknown level is a no-op). Reads of the best level are O(1), top-N is O(n).
    ``update_id``/``timestamp`` are those of the last applied update (a delta without them keeps
    the previous values).
    """

    __slots__ = (
        "_ak",
        "_aset",
        "_asks",
        "_bids",
        "_bk",
        "_bset",
        "_pcache",
        "_pdec",
        "_pm",
        "_ps",
        "_qbudget",
        "_qcache",
        "_qcache_on",
        "_qdec",
        "_qdot",
        "_qlen0",
        "_qm",
        "_qoff",
        "_qs",
        "_unit0",
        "step_size",
        "symbol",
        "tick_size",
        "timestamp",
        "update_id",
    )

    def __init__(self, symbol: str, tick_size: Decimal, step_size: Decimal) -> None:
        self.symbol = symbol
        self._ps, self._pm = _unit_of(tick_size, "tick_size")
        self._qs, self._qm = _unit_of(step_size, "step_size")
        self._unit0 = (self._ps, self._pm, self._qs, self._qm)
        self._qdot = _dot_slice(self._qs, self._qm)
        self.tick_size = _unit_decimal(self._ps, self._pm)
        self.step_size = _unit_decimal(self._qs, self._qm)
        self.update_id: int | None = None
        self.timestamp: int | None = None
        self._bids: dict[int, int] = {}
        self._asks: dict[int, int] = {}
        self._bk: list[int] = []  # bid prices ascending (best last), tombstones included
        self._ak: list[int] = []  # negated ask prices ascending (best last), tombstones included
        self._bset: set[int] = set()  # the bid prices in ``_bk`` (live or tombstone)
        self._aset: set[int] = set()  # the ask prices in ``_ak`` (live or tombstone), not negated
        self._pcache: dict[str, int] = {}
        self._qcache: dict[str, int] = {}
        self._qcache_on = True
        self._qbudget = _QCACHE_PROBE  # levels left in the current bookkeeping window
        self._qlen0 = 0  # amount-cache size at the start of the window (growth = misses)
        self._qoff = 0  # levels parsed since the amount cache was switched off
        self._pdec: dict[int, Decimal] = {}
        self._qdec: dict[int, Decimal] = {}

    # -- updates -------------------------------------------------------------------------------

    def clear(self) -> None:
        """Remove every level and forget ``update_id``/``timestamp`` (the units are kept)."""
        self._bids = {}
        self._asks = {}
        self._bk = []
        self._ak = []
        self._bset = set()
        self._aset = set()
        self.update_id = None
        self.timestamp = None

    def apply_snapshot(
        self,
        bids: Iterable[RawLevel],
        asks: Iterable[RawLevel],
        *,
        update_id: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Replace the whole book. Zero amounts are skipped; a repeated price keeps its last amount."""
        qmap = self._learn_update(bids, asks)
        if qmap is None:
            cb, ca = self._convert_update(bids, asks)
            bd = dict(cb)
            ad = dict(ca)
        else:
            pcache = self._pcache
            bd = {pcache[p]: qmap[q] for p, q in cast("list[RawLevel]", bids)}
            ad = {pcache[p]: qmap[q] for p, q in cast("list[RawLevel]", asks)}
        self._count(len(bd) + len(ad))
        if 0 in bd.values():
            bd = {p: q for p, q in bd.items() if q}
        if 0 in ad.values():
            ad = {p: q for p, q in ad.items() if q}
        self._bids = bd
        self._asks = ad
        self._bk = sorted(bd)
        self._ak = sorted([-p for p in ad])
        self._bset = set(bd)
        self._aset = set(ad)
        self.update_id = update_id
        self.timestamp = timestamp

    def apply_delta(
        self,
        bids: Iterable[RawLevel],
        asks: Iterable[RawLevel],
        *,
        update_id: int | None = None,
        timestamp: int | None = None,
    ) -> None:
        """Apply absolute level amounts; an amount of zero deletes the level (unknown: no-op)."""
        # Pass 1 (``_learn_update``, inlined for the usual case: lists, amount cache on): every
        # price and amount string gets a cache entry. Misses are parsed; anything unusual raises
        # here, before a single level is touched, and takes the general path.
        if bids.__class__ is not list or asks.__class__ is not list:
            return self._apply_general(bids, asks, update_id, timestamp)
        pcache = self._pcache
        qmap = self._qcache
        try:
            if self._qcache_on:
                for price, amount in bids:
                    if price not in pcache:
                        pcache[price] = _parse(price, self._ps, self._pm, True)
                    if amount not in qmap:
                        if amount[self._qdot] == ".":  # fixed format "12.345"
                            digits = amount.replace(".", "", 1)
                            if digits.isdigit() and digits.isascii():
                                qmap[amount] = int(digits)
                                continue
                        qmap[amount] = _parse(amount, self._qs, self._qm, False)
                for price, amount in asks:  # same as above
                    if price not in pcache:
                        pcache[price] = _parse(price, self._ps, self._pm, True)
                    if amount not in qmap:
                        if amount[self._qdot] == ".":
                            digits = amount.replace(".", "", 1)
                            if digits.isdigit() and digits.isascii():
                                qmap[amount] = int(digits)
                                continue
                        qmap[amount] = _parse(amount, self._qs, self._qm, False)
            else:
                qmap = self._parse_amounts(bids, asks)
        except (_OffGrid, _Malformed, ValueError, TypeError, AttributeError):
            return self._apply_general(bids, asks, update_id, timestamp)
        # Pass 2: apply; nothing below can fail. Most levels only change the amount of a known
        # price (one dict store). A deleted price only leaves the dict (its key stays listed as a
        # tombstone), so a returning price usually finds its key still in place.
        book = self._bids
        keys = self._bk
        listed = self._bset
        for price, amount in bids:
            p = pcache[price]
            q = qmap[amount]
            if q:
                if p not in book and p not in listed:
                    insort(keys, p)
                    listed.add(p)
                book[p] = q
            elif p in book:
                del book[p]
        if keys and keys[-1] not in book:
            _pop_dead(keys, book, listed, 1)
        book = self._asks
        keys = self._ak
        listed = self._aset
        for price, amount in asks:
            p = pcache[price]
            q = qmap[amount]
            if q:
                if p not in book and p not in listed:
                    insort(keys, -p)
                    listed.add(p)
                book[p] = q
            elif p in book:
                del book[p]
        if keys and -keys[-1] not in book:
            _pop_dead(keys, book, listed, -1)
        if update_id is not None:
            self.update_id = update_id
        if timestamp is not None:
            self.timestamp = timestamp
        self._qbudget -= len(bids) + len(asks)
        if self._qbudget <= 0:
            self._window()
        return None

    def _learn_update(
        self, bids: Iterable[RawLevel], asks: Iterable[RawLevel]
    ) -> dict[str, int] | None:
        """Pass 1 of an update: cache every price, map every amount; ``None``: general path."""
        if bids.__class__ is not list or asks.__class__ is not list:
            return None
        pcache = self._pcache
        qmap = self._qcache
        try:
            if not self._qcache_on:
                return self._parse_amounts(bids, asks)
            for levels in (bids, asks):
                for price, amount in levels:
                    if price not in pcache or amount not in qmap:
                        self._learn(price, amount)
        except (_OffGrid, _Malformed, ValueError, TypeError, AttributeError):
            return None
        return qmap

    def _learn(self, price: str, amount: str) -> None:
        """Pass-1 cache miss: parse whichever of ``price``/``amount`` is new and cache it."""
        pcache = self._pcache
        if price not in pcache:
            pcache[price] = _parse(price, self._ps, self._pm, True)
        qcache = self._qcache
        if amount not in qcache:
            qcache[amount] = _parse_amount(amount, self._qs, self._qm)

    def _parse_amounts(self, bids: list[RawLevel], asks: list[RawLevel]) -> dict[str, int]:
        """Pass 1 with the amount cache off: prices cached, amounts parsed into a one-off map."""
        pcache = self._pcache
        qs, qm, qdot = self._qs, self._qm, self._qdot
        out: dict[str, int] = {}
        for levels in (bids, asks):
            for price, amount in levels:
                if price not in pcache:
                    pcache[price] = _parse(price, self._ps, self._pm, True)
                if amount[qdot] == ".":  # inlined ``_parse_amount`` fast path
                    digits = amount.replace(".", "", 1)
                    if digits.isdigit() and digits.isascii():
                        out[amount] = int(digits)
                        continue
                out[amount] = _parse(amount, qs, qm, False)
        return out

    def distinct_prices(self, prices: list[str]) -> bool:
        """True when no two strings of ``prices`` are the same price on this book's grid.

        Also ``False`` when one is malformed or off the grid (the caller then takes a path that
        handles it). Parsed prices are cached, so the apply that usually follows finds them.
        """
        pcache = self._pcache
        ticks = list(map(pcache.get, prices))
        if None in ticks:
            try:
                for i, tick in enumerate(ticks):
                    if tick is None:
                        ticks[i] = pcache[prices[i]] = _parse(prices[i], self._ps, self._pm, True)
            except (_OffGrid, _Malformed, ValueError, TypeError, AttributeError):
                return False
        return len(set(ticks)) == len(ticks)

    def _apply_general(
        self,
        bids: Iterable[RawLevel],
        asks: Iterable[RawLevel],
        update_id: int | None,
        timestamp: int | None,
    ) -> None:
        """``apply_delta`` for any iterable, off-grid values (widening) and malformed updates."""
        cb, ca = self._convert_update(bids, asks)
        self._count(len(cb) + len(ca))
        for levels, book, keys, listed, sign in (
            (cb, self._bids, self._bk, self._bset, 1),
            (ca, self._asks, self._ak, self._aset, -1),
        ):
            for p, q in levels:
                if q:
                    if p not in book and p not in listed:
                        insort(keys, sign * p)
                        listed.add(p)
                    book[p] = q
                elif p in book:
                    del book[p]
            if keys and sign * keys[-1] not in book:
                _pop_dead(keys, book, listed, sign)
        if update_id is not None:
            self.update_id = update_id
        if timestamp is not None:
            self.timestamp = timestamp

    def _convert_update(
        self, bids: Iterable[RawLevel], asks: Iterable[RawLevel]
    ) -> tuple[list[TickLevel], list[TickLevel]]:
        """Convert both sides without touching the book, widening units if a value needs it."""
        try:
            bids = bids if isinstance(bids, (list, tuple)) else list(bids)
            asks = asks if isinstance(asks, (list, tuple)) else list(asks)
        except TypeError as exc:
            raise DecodeError(f"{self.symbol} book update sides must be lists of levels") from exc
        ps, pm, qs, qm = self._ps, self._pm, self._qs, self._qm
        pcache, qcache = self._pcache, self._qcache
        use_qcache = self._qcache_on
        while True:
            try:
                cb = _convert(bids, ps, pm, qs, qm, pcache, qcache if use_qcache else None)
                ca = _convert(asks, ps, pm, qs, qm, pcache, qcache if use_qcache else None)
                break
            except _OffGrid as exc:
                if exc.is_price:
                    ps, pm, pcache = max(ps, exc.scale), 1, {}
                else:
                    qs, qm, qcache = max(qs, exc.scale), 1, {}
                if max(ps, qs) > _MAX_SCALE:
                    raise self._bad_update(bids, asks) from None
            except (_Malformed, ValueError, TypeError, AttributeError) as exc:
                raise self._bad_update(bids, asks) from exc
        if ps != self._ps or pm != self._pm:
            self._widen_prices(ps, pcache)
        if qs != self._qs or qm != self._qm:
            self._widen_amounts(qs, qcache)
        return cb, ca

    def _count(self, levels: int) -> None:
        self._qbudget -= levels
        if self._qbudget <= 0:
            self._window()

    def _window(self) -> None:
        """End of a bookkeeping window of ``_QCACHE_PROBE`` levels.

        Bounds the caches, sweeps tombstones that outnumber half the live levels of their side,
        and decides whether caching amounts pays off for this stream: new cache entries are the
        amount misses; while more than 60 % of amounts are new strings, the lookup and insertion
        cost more than they save, so caching is switched off, and probed again after
        ``_QCACHE_RETRY`` levels.
        """
        self._qbudget = _QCACHE_PROBE
        misses = len(self._qcache) - self._qlen0
        if len(self._pcache) > _CACHE_LIMIT:
            self._pcache.clear()
        if len(self._qcache) > _CACHE_LIMIT:
            self._qcache.clear()
        bids, asks = self._bids, self._asks
        if len(self._bk) > 16 + len(bids) * 3 // 2:
            self._bk = [k for k in self._bk if k in bids]
            self._bset = set(bids)
        if len(self._ak) > 16 + len(asks) * 3 // 2:
            self._ak = [k for k in self._ak if -k in asks]
            self._aset = set(asks)
        if self._qcache_on:
            if misses * 10 > _QCACHE_PROBE * 6:
                self._qcache_on = False
                self._qcache.clear()
                self._qoff = 0
        else:
            self._qoff += _QCACHE_PROBE
            if self._qoff >= _QCACHE_RETRY:
                self._qcache_on = True
        self._qlen0 = len(self._qcache)

    def _widen_prices(self, scale: int, cache: dict[str, int]) -> None:
        factor = self._pm * _POW10[scale - self._ps]
        self._bids = {p * factor: q for p, q in self._bids.items()}
        self._asks = {p * factor: q for p, q in self._asks.items()}
        self._bk = [p * factor for p in self._bk]
        self._ak = [p * factor for p in self._ak]
        self._bset = {p * factor for p in self._bset}
        self._aset = {p * factor for p in self._aset}
        self._ps, self._pm, self._pcache, self._pdec = scale, 1, cache, {}
        self.tick_size = _unit_decimal(scale, 1)

    def _widen_amounts(self, scale: int, cache: dict[str, int]) -> None:
        factor = self._qm * _POW10[scale - self._qs]
        self._bids = {p: q * factor for p, q in self._bids.items()}
        self._asks = {p: q * factor for p, q in self._asks.items()}
        self._qs, self._qm, self._qcache, self._qdec = scale, 1, cache, {}
        self._qdot = _dot_slice(scale, 1)
        self.step_size = _unit_decimal(scale, 1)

    def _bad_update(self, bids: Sequence[object], asks: Sequence[object]) -> DecodeError:
        """Locate the first bad level (slow path, only on error) and describe it."""
        for side, levels in (("bid", bids), ("ask", asks)):
            for level in levels:
                reason = _level_problem(level)
                if reason is not None:
                    shown = repr(level)
                    shown = shown if len(shown) <= 80 else shown[:77] + "..."
                    return DecodeError(
                        f"malformed {side} level {shown} in {self.symbol} book update: {reason}; "
                        "the book was left unchanged"
                    )
        return DecodeError(f"malformed {self.symbol} book update; the book was left unchanged")

    # -- reads ---------------------------------------------------------------------------------

    @property
    def bid_depth(self) -> int:
        """Number of bid levels."""
        return len(self._bids)

    @property
    def ask_depth(self) -> int:
        """Number of ask levels."""
        return len(self._asks)

    @property
    def widened(self) -> bool:
        """True once an off-grid value made the book switch to a finer price or amount unit."""
        return (self._ps, self._pm, self._qs, self._qm) != self._unit0

    def best_bid_ticks(self) -> tuple[int, int] | None:
        """``(price ticks, amount steps)`` of the best bid, or ``None`` when there is none."""
        keys = self._bk
        if not keys:
            return None
        p = keys[-1]
        return p, self._bids[p]

    def best_ask_ticks(self) -> tuple[int, int] | None:
        """``(price ticks, amount steps)`` of the best ask, or ``None`` when there is none."""
        keys = self._ak
        if not keys:
            return None
        p = -keys[-1]
        return p, self._asks[p]

    def best_bid(self) -> tuple[Decimal, Decimal] | None:
        """``(price, amount)`` of the best bid as ``Decimal``."""
        keys = self._bk
        if not keys:
            return None
        p = keys[-1]
        q = self._bids[p]
        price = self._pdec.get(p)
        amount = self._qdec.get(q)
        return (
            self.price_of(p) if price is None else price,
            self.amount_of(q) if amount is None else amount,
        )

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """``(price, amount)`` of the best ask as ``Decimal``."""
        keys = self._ak
        if not keys:
            return None
        p = -keys[-1]
        q = self._asks[p]
        price = self._pdec.get(p)
        amount = self._qdec.get(q)
        return (
            self.price_of(p) if price is None else price,
            self.amount_of(q) if amount is None else amount,
        )

    def top_ticks(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The best ``n`` levels per side as ticks: bids descending, asks ascending."""
        if n < 0:
            raise ValueError("n must be >= 0")
        bd, ad = self._bids, self._asks
        return (
            [(p, bd[p]) for p in _best_keys(self._bk, bd, 1, n)],
            [(-p, ad[-p]) for p in _best_keys(self._ak, ad, -1, n)],
        )

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask (a locked book counts as crossed)."""
        return bool(self._bk and self._ak and self._bk[-1] >= -self._ak[-1])

    def price_of(self, ticks: int) -> Decimal:
        """``ticks * tick_size`` as an exact ``Decimal`` with ``tick_size``'s decimal places."""
        cache = self._pdec
        value = cache.get(ticks)
        if value is None:
            value = Decimal(f"{ticks * self._pm}E-{self._ps}")
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[ticks] = value
        return value

    def amount_of(self, steps: int) -> Decimal:
        """``steps * step_size`` as an exact ``Decimal`` with ``step_size``'s decimal places."""
        cache = self._qdec
        value = cache.get(steps)
        if value is None:
            value = Decimal(f"{steps * self._qm}E-{self._qs}")
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[steps] = value
        return value

    def snapshot(self, depth: int | None = None, *, resynced: bool = False) -> OrderBookSnapshot:
        """Materialise the book (full depth unless ``depth`` is given) as ``Decimal`` levels."""
        n = max(len(self._bids), len(self._asks)) if depth is None else depth
        bids, asks = self.top_ticks(n)
        price, amount = self.price_of, self.amount_of
        return OrderBookSnapshot(
            symbol=self.symbol,
            timestamp=self.timestamp,
            bids=[BookLevel(price(p), amount(q)) for p, q in bids],
            asks=[BookLevel(price(p), amount(q)) for p, q in asks],
            sequence=self.update_id,
            resynced=resynced,
        )

    def book_top(self) -> BookTop:
        """Best bid and ask as a ``BookTop`` (``None`` fields for an empty side)."""
        bid = self.best_bid()
        ask = self.best_ask()
        return BookTop(
            symbol=self.symbol,
            timestamp=self.timestamp,
            bid=None if bid is None else bid[0],
            bid_size=None if bid is None else bid[1],
            ask=None if ask is None else ask[0],
            ask_size=None if ask is None else ask[1],
            sequence=self.update_id,
        )

    def checksum(self, depth: int = 25) -> int:
        """CRC-32 (unsigned) of the top ``depth`` levels, independent of the internal units.

        The checksummed text is ASCII: levels interleaved best-first as bid 1, ask 1, bid 2,
        ask 2, ... (a side that runs out is skipped), each written ``price:amount``, all joined
        with ``:``. Numbers are plain decimals without exponent or trailing zeros (``50000.1``,
        ``0.25``, ``3``). Example: bids ``[(100.50, 1.000)]``, asks ``[(101, 0.250), (102, 2)]``
        hash ``"100.5:1:101:0.25:102:2"``. Equal books always give equal checksums.
        """
        bids, asks = self.top_ticks(depth)
        ps, pm, qs, qm = self._ps, self._pm, self._qs, self._qm
        parts: list[str] = []
        for i in range(max(len(bids), len(asks))):
            if i < len(bids):
                p, q = bids[i]
                parts.append(f"{_canonical(p * pm, ps)}:{_canonical(q * qm, qs)}")
            if i < len(asks):
                p, q = asks[i]
                parts.append(f"{_canonical(p * pm, ps)}:{_canonical(q * qm, qs)}")
        return zlib.crc32(":".join(parts).encode("ascii"))

    def copy(self) -> OrderBook:
        """An independent copy (later updates to either book do not affect the other)."""
        other = OrderBook.__new__(OrderBook)
        other.symbol = self.symbol
        other.tick_size = self.tick_size
        other.step_size = self.step_size
        other.update_id = self.update_id
        other.timestamp = self.timestamp
        other._ps, other._pm, other._qs, other._qm = self._ps, self._pm, self._qs, self._qm
        other._unit0 = self._unit0
        other._qdot = self._qdot
        other._bids = self._bids.copy()
        other._asks = self._asks.copy()
        other._bk = self._bk.copy()
        other._ak = self._ak.copy()
        other._bset = self._bset.copy()
        other._aset = self._aset.copy()
        # Caches map immutable inputs to values at a given unit; a book that widens replaces its
        # own cache objects, so sharing them is safe.
        other._pcache, other._qcache = self._pcache, self._qcache
        other._qcache_on, other._qbudget = self._qcache_on, _QCACHE_PROBE
        other._qlen0 = len(self._qcache)
        other._qoff = self._qoff
        other._pdec, other._qdec = self._pdec, self._qdec
        return other

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol!r}, bids={len(self._bids)}, asks={len(self._asks)}, "
            f"best_bid={self.best_bid()}, best_ask={self.best_ask()}, update_id={self.update_id})"
        )


def _pop_dead(keys: list[int], book: dict[int, int], listed: set[int], sign: int) -> None:
    """Pop tombstones off the best end of ``keys`` so that ``keys[-1]`` is a live level again."""
    while keys and sign * keys[-1] not in book:
        listed.remove(sign * keys.pop())


def _best_keys(keys: list[int], book: dict[int, int], sign: int, n: int) -> list[int]:
    """The ``n`` best live keys (as stored: asks negated) of one side, best first."""
    if len(keys) == len(book):  # no tombstones
        return keys[: -n - 1 : -1]
    out: list[int] = []
    if n:
        append = out.append
        for k in reversed(keys):
            if sign * k in book:
                append(k)
                if len(out) == n:
                    break
    return out


def _unit_decimal(scale: int, mul: int) -> Decimal:
    return Decimal(f"{mul}E-{scale}")


def _level_problem(level: object) -> str | None:
    """Why ``level`` is unacceptable, or ``None`` if it converts (at some unit)."""
    try:
        price, amount = cast("Sequence[object]", level)
    except (TypeError, ValueError):
        return "a level must be a [price, amount] pair"
    for what, text in (("price", price), ("amount", amount)):
        try:
            _parse(text, _MAX_SCALE, 1, what == "price")
        except _Malformed as exc:
            return f"{what}: {exc}"
        except _OffGrid:
            return f"{what} {text!r} needs more than {_MAX_SCALE} decimal places"
        except ValueError as exc:
            return f"{what}: {exc}"
    return None
