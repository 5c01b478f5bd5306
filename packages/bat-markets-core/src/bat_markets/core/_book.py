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
are cheap. Price strings repeat constantly (the same levels churn), so each book caches
string -> ticks; amounts are cached too while they repeat often enough to pay (measured per book,
switched off and re-probed otherwise). Caches hold at most ``_CACHE_LIMIT`` entries each.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left, insort
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
_QCACHE_PROBE = 4096  # amount levels over which the amount-cache hit rate is judged
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
    # amount[qcut:qdot] is the character where the dot of a fixed-format amount sits; an empty
    # slice (integer steps, or a step that is not a power of ten) disables the fast path.
    qcut, qdot = (-qs - 1, -qs) if qs and qm == 1 else (0, 0)
    q: int | None
    if qcache is None:
        for price, amount in levels:
            p = pget(price)
            if p is None:
                p = _parse(price, ps, pm, True)
                pcache[price] = p
            q = None
            # Inlined fast path for the usual fixed format (exactly ``qs`` decimals, "12.345").
            if amount[qcut:qdot] == ".":
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
            if amount[qcut:qdot] == ".":  # same fast path as above
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
        "_asks",
        "_bids",
        "_bk",
        "_pcache",
        "_pdec",
        "_pm",
        "_ps",
        "_qcache",
        "_qcache_on",
        "_qdec",
        "_qm",
        "_qmiss",
        "_qs",
        "_qseen",
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
        self.tick_size = _unit_decimal(self._ps, self._pm)
        self.step_size = _unit_decimal(self._qs, self._qm)
        self.update_id: int | None = None
        self.timestamp: int | None = None
        self._bids: dict[int, int] = {}
        self._asks: dict[int, int] = {}
        self._bk: list[int] = []  # bid prices ascending (best last)
        self._ak: list[int] = []  # negated ask prices ascending (best last)
        self._pcache: dict[str, int] = {}
        self._qcache: dict[str, int] = {}
        self._qcache_on = True
        self._qseen = 0
        self._qmiss = 0
        self._pdec: dict[int, Decimal] = {}
        self._qdec: dict[int, Decimal] = {}

    # -- updates -------------------------------------------------------------------------------

    def clear(self) -> None:
        """Remove every level and forget ``update_id``/``timestamp`` (the units are kept)."""
        self._bids = {}
        self._asks = {}
        self._bk = []
        self._ak = []
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
        cb, ca = self._convert_update(bids, asks)
        bd = {p: q for p, q in dict(cb).items() if q}
        ad = {p: q for p, q in dict(ca).items() if q}
        self._bids = bd
        self._asks = ad
        self._bk = sorted(bd)
        self._ak = sorted([-p for p in ad])
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
        cb, ca = self._convert_update(bids, asks)
        book = self._bids
        keys = self._bk
        for p, q in cb:
            if q:
                if p not in book:
                    insort(keys, p)
                book[p] = q
            elif p in book:
                del book[p]
                del keys[bisect_left(keys, p)]
        book = self._asks
        keys = self._ak
        for p, q in ca:
            if q:
                if p not in book:
                    insort(keys, -p)
                book[p] = q
            elif p in book:
                del book[p]
                del keys[bisect_left(keys, -p)]
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
        before = len(qcache)
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
                    before = 0
                if max(ps, qs) > _MAX_SCALE:
                    raise self._bad_update(bids, asks) from None
            except (_Malformed, ValueError, TypeError, AttributeError) as exc:
                raise self._bad_update(bids, asks) from exc
        if ps != self._ps or pm != self._pm:
            self._widen_prices(ps, pcache)
        if qs != self._qs or qm != self._qm:
            self._widen_amounts(qs, qcache)
        self._account(len(cb) + len(ca), len(qcache) - before)
        return cb, ca

    def _account(self, levels: int, misses: int) -> None:
        """Bound the caches and decide whether caching amounts pays off for this stream.

        New cache entries are the amount misses. While more than 60 % of amounts are new strings,
        the lookup and insertion cost more than they save: caching is switched off, and probed
        again after ``_QCACHE_RETRY`` levels.
        """
        if len(self._pcache) > _CACHE_LIMIT:
            self._pcache.clear()
        if len(self._qcache) > _CACHE_LIMIT:
            self._qcache.clear()
        self._qseen += levels
        if self._qcache_on:
            self._qmiss += misses
            if self._qseen >= _QCACHE_PROBE:
                if self._qmiss * 10 > self._qseen * 6:
                    self._qcache_on = False
                    self._qcache.clear()
                self._qseen = self._qmiss = 0
        elif self._qseen >= _QCACHE_RETRY:
            self._qcache_on = True
            self._qseen = self._qmiss = 0

    def _widen_prices(self, scale: int, cache: dict[str, int]) -> None:
        factor = self._pm * _POW10[scale - self._ps]
        self._bids = {p * factor: q for p, q in self._bids.items()}
        self._asks = {p * factor: q for p, q in self._asks.items()}
        self._bk = [p * factor for p in self._bk]
        self._ak = [p * factor for p in self._ak]
        self._ps, self._pm, self._pcache, self._pdec = scale, 1, cache, {}
        self.tick_size = _unit_decimal(scale, 1)

    def _widen_amounts(self, scale: int, cache: dict[str, int]) -> None:
        factor = self._qm * _POW10[scale - self._qs]
        self._bids = {p: q * factor for p, q in self._bids.items()}
        self._asks = {p: q * factor for p, q in self._asks.items()}
        self._qs, self._qm, self._qcache, self._qdec = scale, 1, cache, {}
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
        return len(self._bk)

    @property
    def ask_depth(self) -> int:
        """Number of ask levels."""
        return len(self._ak)

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
        top = self.best_bid_ticks()
        return None if top is None else (self.price_of(top[0]), self.amount_of(top[1]))

    def best_ask(self) -> tuple[Decimal, Decimal] | None:
        """``(price, amount)`` of the best ask as ``Decimal``."""
        top = self.best_ask_ticks()
        return None if top is None else (self.price_of(top[0]), self.amount_of(top[1]))

    def top_ticks(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The best ``n`` levels per side as ticks: bids descending, asks ascending."""
        if n < 0:
            raise ValueError("n must be >= 0")
        bd, ad = self._bids, self._asks
        stop = -n - 1
        return (
            [(p, bd[p]) for p in self._bk[:stop:-1]],
            [(-p, ad[-p]) for p in self._ak[:stop:-1]],
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
        n = max(len(self._bk), len(self._ak)) if depth is None else depth
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
        other._bids = self._bids.copy()
        other._asks = self._asks.copy()
        other._bk = self._bk.copy()
        other._ak = self._ak.copy()
        # Caches map immutable inputs to values at a given unit; a book that widens replaces its
        # own cache objects, so sharing them is safe.
        other._pcache, other._qcache = self._pcache, self._qcache
        other._qcache_on, other._qseen, other._qmiss = self._qcache_on, 0, 0
        other._pdec, other._qdec = self._pdec, self._qdec
        return other

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol!r}, bids={len(self._bk)}, asks={len(self._ak)}, "
            f"best_bid={self.best_bid()}, best_ask={self.best_ask()}, update_id={self.update_id})"
        )


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
